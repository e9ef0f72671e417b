#!/usr/bin/env bash
# Makes the sample recordings in recordings/ with wscope itself.
#
#   WSCOPE=.build-cli/debug/wscope Tests/CLI/make-recordings.sh [OUTDIR]
#
# OUTDIR defaults to recordings/ (scripts/cli-tests.sh also runs this into a temporary
# folder to check that recording still works). Needs scripts/bootstrap.sh's venv.
#
#   echo.jsonl            client side (`wscope connect --record`) of a session with
#                         `wscope listen --echo`: text, binary, ping, a message in two
#                         fragments, close 1000
#   echo-listen.jsonl     the same session recorded by the listener (`listen --record`)
#   close-handshake.jsonl client side of a session where the server (Python websockets,
#                         Tests/CLI/py_peer.py close-after) echoes one message and then
#                         starts the closing handshake with 1001 "going away"
#   malformed.jsonl       client side of `wscope send --record` with a valid text and
#                         then malformed frames (RSV1 without extension, reserved
#                         opcode 3, unmasked frame) against `wscope listen --echo`,
#                         which echoes the text and closes with 1002
#   malformed-utf8.jsonl  the same with invalid UTF-8 in a text frame: close 1007
#
# Timestamps vary from run to run; the events and frames do not (the masking keys are
# random, so the wire bytes of client frames vary too).
set -uo pipefail

cd "$(dirname "$0")/../.."
source scripts/env.sh
WSCOPE=${WSCOPE:-.build/debug/wscope}
[ -x "$WSCOPE" ] || { echo "make-recordings: no wscope binary at '$WSCOPE'" >&2; exit 2; }
WSCOPE=$(cd "$(dirname "$WSCOPE")" && pwd)/$(basename "$WSCOPE")
OUT=${1:-recordings}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d /tmp/wscope-make-recordings.XXXXXX)
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "make-recordings: $*" >&2; for f in "$WORK"/*.log; do echo "--- $f" >&2; tail -n 20 "$f" >&2; done; exit 1; }

# start NAME CMD...: runs CMD in the background (bounded by timeout), output in NAME.log,
# and prints the port from its first line.
start() {
    local name=$1 port
    shift
    timeout 60 "$@" </dev/null >"$WORK/$name.log" 2>&1 &
    PIDS+=($!)
    LAST=$!
    port=$(wait_for_port "$WORK/$name.log" 20) || die "$name printed no port"
    PORT=$port
}

stop() {  # PID: TERM and wait
    kill "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

# wait_for_line FILE PATTERN: up to 10 s
wait_for_line() {
    local i
    for ((i = 0; i < 100; i++)); do
        grep -q -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# connect_slowly URL RECORD LINE...: wscope connect --no-tui --record RECORD, typing
# each LINE after the previous one's answer had time to arrive; stdin stays open until
# wscope exits by itself (a /close line or the server's close).
connect_slowly() {
    local url=$1 record=$2 line rc
    shift 2
    rm -f "$WORK/in" "$record"
    mkfifo "$WORK/in"
    timeout 30 "$WSCOPE" connect "$url" --no-tui --record "$record" <"$WORK/in" >"$WORK/connect.log" 2>&1 &
    local pid=$!
    exec 7>"$WORK/in"
    for line in "$@"; do
        sleep 0.2
        printf '%s\n' "$line" >&7
    done
    wait "$pid"
    rc=$?
    exec 7>&-
    [ "$rc" = 0 ] || die "wscope connect exited $rc"
}

# 1. echo session, both sides recorded.
start listen "$WSCOPE" listen 0 --echo --no-tui --record "$OUT/echo-listen.jsonl"
listener=$LAST
connect_slowly "ws://127.0.0.1:$PORT/echo" "$OUT/echo.jsonl" \
    "hello, echo" "/frame binary:hex:00ff10fe" "/ping are you there" \
    "/frame text:frag;fin=0" "/frame cont:ment" "/close 1000 done"
wait_for_line "$WORK/listen.log" 'closed' || die "listener did not log the close"
stop "$listener"

# 2. the server starts the closing handshake (1001 going away) after one message.
start peer "$PYTHON" Tests/CLI/py_peer.py close-after --code 1001 --reason "going away"
peer=$LAST
connect_slowly "ws://127.0.0.1:$PORT/" "$OUT/close-handshake.jsonl" "hello, server"
stop "$peer"

# 3. malformed frames and the server's answers.
start listen2 "$WSCOPE" listen 0 --echo --no-tui
listener=$LAST
timeout 20 "$WSCOPE" send "ws://127.0.0.1:$PORT/" 'text:hello' 'text:hi;rsv1=1' 'op3:x' 'binary:abc;mask=none' \
    --timeout 0.5 --record "$OUT/malformed.jsonl" </dev/null >"$WORK/send.log" 2>&1 || die "wscope send exited $?"
timeout 20 "$WSCOPE" send "ws://127.0.0.1:$PORT/" 'text:hello' 'text:\xff\xfe' \
    --timeout 0.5 --record "$OUT/malformed-utf8.jsonl" </dev/null >"$WORK/send2.log" 2>&1 || die "wscope send exited $?"
stop "$listener"

for f in echo echo-listen close-handshake malformed malformed-utf8; do
    echo "wrote ${OUT}/$f.jsonl ($(wc -l <"$OUT/$f.jsonl") lines)"
done
