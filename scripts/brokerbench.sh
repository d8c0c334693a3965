#!/usr/bin/env bash
# Measure `mqttx serve` against Debian's mosquitto in the same run on this machine:
# broker CPU per delivered message (fan-in 10->1 and fan-out 1->10, QoS 0 and 1, 256-byte
# payloads, closed loop), p50/p99 latency at 1000 msg/s, resident memory per idle
# connection and connections accepted per second. Prints a table with both figures and
# the ratio ours/mosquitto. Extra arguments go to the driver, for example:
#
#   scripts/brokerbench.sh -scenarios fanin-q0,idle -rounds 1 -json /tmp/bench.jsonl
#
# When bin/mqttx cannot be built or has no `serve` command, only mosquitto is measured.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! make build >/tmp/brokerbench-build.log 2>&1; then
	echo "brokerbench: make build failed (see /tmp/brokerbench-build.log): measuring mosquitto only" >&2
	rm -f bin/mqttx
fi
go build -o bin/brokerbench ./tools/brokerbench

# 5,000 idle connections need more descriptors than the usual 1024, on both sides.
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# Hard limit on the whole run: every scenario is bounded in count, each run in time.
# Three rounds per scenario and broker, alternating; the table shows medians. Arguments
# given to the script come later and win (-rounds 1 for a quick look).
exec timeout --foreground -k 10 1500 bin/brokerbench -mqttx bin/mqttx -rounds 3 "$@"
