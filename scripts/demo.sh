#!/usr/bin/env bash
# The mqttx tutorial, end to end: start `mqttx serve` on a free port, then walk through
# wildcards, retained messages, offline messages of a persistent session and the last
# will with the mqttx clients. Every step checks what it printed; the script exits
# non-zero if any step did not show what it should.
#
# Usage: scripts/demo.sh            (builds bin/mqttx first)
#        MQTTX=path/to/mqttx scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${MQTTX:-}" ]]; then
	MQTTX=bin/mqttx
	echo "==> Building $MQTTX"
	CGO_ENABLED=0 go build -trimpath -o "$MQTTX" ./cmd/mqttx
fi

work=$(mktemp -d)
serve_pid=""
bg_pids=()
cleanup() {
	local code=$?
	for pid in "${bg_pids[@]}"; do
		kill -KILL "$pid" 2>/dev/null || true
	done
	if [[ -n "$serve_pid" ]]; then
		kill -INT "$serve_pid" 2>/dev/null || true
		wait "$serve_pid" 2>/dev/null || true
	fi
	if ((code != 0)) && [[ -f "$work/serve.err" ]]; then
		echo "--- serve stderr ---" >&2
		tail -n 20 "$work/serve.err" >&2
		echo "--- serve events ---" >&2
		tail -n 20 "$work/serve.out" >&2
	fi
	rm -rf "$work"
	exit "$code"
}
trap cleanup EXIT

# Narration and echoed commands go to fd 3, the terminal, even while a command's own
# output is redirected to a file.
exec 3>&1
if [[ -t 1 ]]; then
	bold=$'\033[1m' reset=$'\033[0m'
else
	bold='' reset=''
fi
say() { printf '\n%s==> %s%s\n' "$bold" "$*" "$reset" >&3; }
fail() {
	printf '\nDEMO FAILED: %s\n' "$*" >&2
	exit 1
}

# mqttx runs the client, echoing the command line first as a reader would type it.
mqttx() {
	local a line='$ mqttx'
	for a in "$@"; do
		if [[ "$a" =~ ^[A-Za-z0-9_./:=@%+-]+$ ]]; then
			line+=" $a"
		else
			line+=" '${a//\'/\'\\\'\'}'"
		fi
	done
	printf '%s\n' "$line" >&3
	"$MQTTX" "$@" -h 127.0.0.1 -p "$port"
}

# mqttx_bg OUT ERR ARGS...: like mqttx, but in the background with stdout to OUT and
# stderr to ERR; the mqttx process itself is $! afterwards (not a subshell), so that
# kill reaches it.
mqttx_bg() {
	local out=$1 err=$2
	shift 2
	local a line='$ mqttx'
	for a in "$@"; do
		if [[ "$a" =~ ^[A-Za-z0-9_./:=@%+-]+$ ]]; then
			line+=" $a"
		else
			line+=" '${a//\'/\'\\\'\'}'"
		fi
	done
	printf '%s &\n' "$line" >&3
	if [[ "$out" == "$err" ]]; then
		"$MQTTX" "$@" -h 127.0.0.1 -p "$port" >"$out" 2>&1 &
	else
		"$MQTTX" "$@" -h 127.0.0.1 -p "$port" >"$out" 2>"$err" &
	fi
	bg_pids+=($!)
}

# waitfor FILE REGEX: wait up to 10s for a line matching REGEX in FILE.
waitfor() {
	local i
	for ((i = 0; i < 100; i++)); do
		if grep -qE "$2" "$1" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	fail "no line matching '$2' in $1 within 10s: $(tr '\n' '|' <"$1" 2>/dev/null)"
}

# expect FILE CONTENT: FILE must hold exactly CONTENT.
expect() {
	local got
	got=$(cat "$1")
	if [[ "$got" != "$2" ]]; then
		fail "expected:
$2
got:
$got"
	fi
}

say "Starting the broker: mqttx serve -p 0 -v"
"$MQTTX" serve -p 0 -v >"$work/serve.out" 2>"$work/serve.err" &
serve_pid=$!
waitfor "$work/serve.err" '^Listening on 127\.0\.0\.1:[0-9]+$'
port=$(sed -n 's/^Listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/serve.err")
cat "$work/serve.err"

# 1. Wildcards --------------------------------------------------------------------------
say "Subscribing to sensor/+/temperature (in the background)"
mqttx_bg "$work/wild.out" "$work/wild.err" sub -t 'sensor/+/temperature' -C 2 -W 10 -o text
wild_pid=$!
waitfor "$work/wild.err" 'Subscribed to sensor/\+/temperature'
say "Two sensors publish"
mqttx pub -t sensor/1/temperature -m '{"msg":"17.2"}'
mqttx pub -t sensor/2/temperature -m '{"msg":"18.2"}'
wait "$wild_pid" || fail "the wildcard subscriber exited with $?"
say "The subscriber received both"
cat "$work/wild.out"
expect "$work/wild.out" 'sensor/1/temperature qos=0
{"msg":"17.2"}
sensor/2/temperature qos=0
{"msg":"18.2"}'

# 2. Retained messages ------------------------------------------------------------------
say "Publishing two retained messages to retained_message"
mqttx pub -t retained_message -m first -r -q 1
mqttx pub -t retained_message -m last -r -q 1
say "A new subscriber receives only the last one (waits 2s for more)"
code=0
mqttx sub -t retained_message -q 1 -C 2 -W 2 -o text >"$work/retained.out" 2>/dev/null || code=$?
cat "$work/retained.out"
((code == 0)) || fail "the retained subscriber exited with $code"
expect "$work/retained.out" 'retained_message qos=1 retain
last'

# 3. Offline messages of a persistent session --------------------------------------------
say "Subscribing as demo-v3 with MQTT 3.1.1, clean session off, QoS 1"
mqttx_bg "$work/v3a.out" "$work/v3a.err" sub -V 3.1.1 -i demo-v3 --no-clean -q 1 -t clean_session_false -C 1 -W 10 -o raw
v3_pid=$!
waitfor "$work/v3a.err" 'Subscribed to clean_session_false'
mqttx pub -V 3.1.1 -t clean_session_false -m hello -q 1
wait "$v3_pid" || fail "the first demo-v3 subscriber exited with $?"
expect "$work/v3a.out" hello
say "demo-v3 has disconnected; publishing three QoS 1 messages while it is away"
for m in one two three; do
	mqttx pub -V 3.1.1 -t clean_session_false -m "$m" -q 1
done
say "demo-v3 reconnects and receives all three, in order"
mqttx sub -V 3.1.1 -i demo-v3 --no-clean -q 1 -t clean_session_false -C 3 -W 10 -o raw >"$work/v3b.out" 2>/dev/null ||
	fail "the reconnecting demo-v3 subscriber exited with $?"
cat "$work/v3b.out"
expect "$work/v3b.out" 'one
two
three'

# 4. Last will --------------------------------------------------------------------------
say "demo-device connects with a last will (last_will: offline, QoS 1, retained)"
mqttx_bg "$work/conn.log" "$work/conn.log" conn -i demo-device -k 5 --will-topic last_will \
	--will-message offline --will-qos 1 --will-retain -W 60
conn_pid=$!
waitfor "$work/conn.log" '^Connected$'
say "demo-device dies without DISCONNECT (kill -9)"
echo "\$ kill -9 $conn_pid" >&3
kill -KILL "$conn_pid"
wait "$conn_pid" 2>/dev/null || true
say "A subscriber receives the will, retained"
mqttx sub -t last_will -q 1 -C 1 -W 10 -o text >"$work/will.out" 2>/dev/null ||
	fail "the will subscriber exited with $?"
cat "$work/will.out"
expect "$work/will.out" 'last_will qos=1 retain
offline'

# Stop the broker ----------------------------------------------------------------------
say "Stopping the broker (Ctrl-C)"
kill -INT "$serve_pid"
code=0
wait "$serve_pid" || code=$?
serve_pid=""
((code == 0)) || fail "mqttx serve exited with $code after Ctrl-C"
grep -q '^Stopped$' "$work/serve.err" || fail "mqttx serve did not report Stopped"
say "What the broker logged with -v (last lines)"
tail -n 6 "$work/serve.out"
grep -q '^will published id=demo-device topic=last_will qos=1$' "$work/serve.out" ||
	fail "the broker did not log the will"

say "Demo complete: every step showed what it should"
