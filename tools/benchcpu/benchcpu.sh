#!/usr/bin/env bash
# Measure `mqttx bench` against Debian's mosquitto in the same run: CPU time of the bench
# process per delivered message beside mosquitto's (fan-in 10->1 and fan-out 1->10, QoS 0
# and 1, 256-byte payloads), messages/s from 10 publishing connections, and resident
# memory per idle bench connection. The bench must cost less CPU per message than the
# broker it measures. Run from the repository root:
#
#   tools/benchcpu/benchcpu.sh [MESSAGES] [IDLE_CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/../.."
msgs=${1:-200000}
conns=${2:-10000}
make build >/dev/null
ulimit -n $((conns * 2 + 1000)) 2>/dev/null || ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d)
trap 'kill $mpid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

port=$((20000 + RANDOM % 20000))
cat >"$work/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
max_queued_messages 1000000
max_connections -1
CONF
/usr/sbin/mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
mpid=$!
for _ in $(seq 50); do grep -q "running" "$work/mosquitto.log" && break; sleep 0.1; done

# cpu PID: utime+stime in seconds.
cpu() { awk '{ sub(/.*\) /, ""); printf "%.2f\n", ($12 + $13) / 100 }' "/proc/$1/stat"; }
rss() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$1/status"; }

printf '%-24s %12s %12s %14s %14s %8s\n' scenario delivered "msg/s" "bench us/msg" "mosq us/msg" ratio
run() { # label, bench pub arguments
	local label=$1
	shift
	local before after
	before=$(cpu $mpid)
	bin/mqttx bench pub -h 127.0.0.1 -p $port -s 256 -o json "$@" >"$work/out.jsonl"
	after=$(cpu $mpid)
	jq -r --arg name "$label" --argjson mcpu "$(echo "$after - $before" | bc)" 'select(.type=="summary") |
		(.received) as $d |
		[$name, $d, (.receive_rate|floor), (.cpu_s*1e6/$d*100|round/100), ($mcpu*1e6/$d*100|round/100), ((.cpu_s/$mcpu)*100|round/100)] |
		@tsv' "$work/out.jsonl" | awk -F'\t' '{ printf "%-24s %12s %12s %14s %14s %7sx\n", $1, $2, $3, $4, $5, $6 }'
}
run "fan-in 10->1 QoS 0" -c 10 --sub 1 -t 'bench/%i' -q 0 -L "$msgs" --rate 100000
run "fan-in 10->1 QoS 1" -c 10 --sub 1 -t 'bench/%i' -q 1 -L "$msgs"
run "fan-out 1->10 QoS 0" -c 1 --sub 10 -t 'bench/x' -q 0 -L $((msgs / 10)) --rate 10000
run "fan-out 1->10 QoS 1" -c 1 --sub 10 -t 'bench/x' -q 1 -L $((msgs / 10))

# Messages per second from 10 publishing connections (no subscriber), QoS 0 and 1, to
# mosquitto and to mqttx serve: the broker sets the pace, not the bench.
sport=$((port + 1))
bin/mqttx serve -h 127.0.0.1 -p $sport 2>"$work/serve.log" &
spid=$!
trap 'kill $mpid $spid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do grep -q "Listening" "$work/serve.log" && break; sleep 0.1; done
for target in "mosquitto $port" "serve $sport"; do
	set -- $target
	for q in 0 1; do
		bin/mqttx bench pub -h 127.0.0.1 -p "$2" -c 10 -t 'bench/%i' -s 256 -q $q -L "$msgs" -o json |
			jq -r --arg q $q --arg b "$1" 'select(.type=="summary") | "10 publishers to \($b) QoS \($q): \(.publish_rate|floor) msg/s, bench \(.cpu_s*1e6/.published*100|round/100) us CPU/msg"'
	done
done

# Resident memory per idle bench connection: RSS with $conns connections minus with 10.
idle() {
	bin/mqttx bench conn -h 127.0.0.1 -p $port -c "$1" -R 20000 -k 0 -o json >"$work/conn.jsonl" &
	local bpid=$!
	for _ in $(seq 600); do grep -q "\"connected\":$1," "$work/conn.jsonl" 2>/dev/null && break; sleep 0.1; done
	rss $bpid
	kill -INT $bpid
	wait $bpid
}
small=$(idle 10)
big=$(idle "$conns")
echo "idle connections: bench RSS $((small / 1024)) KiB with 10, $((big / 1024)) KiB with $conns: $(((big - small) / (conns - 10))) bytes per connection"
