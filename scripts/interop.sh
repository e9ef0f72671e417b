#!/usr/bin/env bash
# Interoperability matrix: wscope against Python `websockets` and Node `ws`.
#
#   WSCOPE=.build-interop/debug/wscope scripts/interop.sh [FILTER]
#
# Builds nothing: takes the binary from $WSCOPE (default .build/debug/wscope). The peers
# come from scripts/bootstrap.sh (the .build-venv with websockets, Debian's node-ws).
# FILTER, if given, is a bash glob matched against case names (e.g. 'connect/node/*').
#
# Two roles, each against both peers:
#   listen/PEER/...   `wscope listen --echo`; the peer's client (Tests/Interop/*_client.*)
#                     sends the sequence and checks the echoes. Deflate variants come
#                     from the client's offer.
#   connect/PEER/...  `wscope connect --echo`; the peer's driver server
#                     (Tests/Interop/*_driver_server.*) sends the sequence to wscope and
#                     checks the echoes. Deflate variants come from the server's
#                     configuration (peer-config) or from wscope's offer (wscope-offer).
# Two more cases run the peers against each other, without wscope.
# Every case checks each echo byte for byte and by type, the negotiated
# Sec-WebSocket-Extensions (exactly), a closing handshake with 1000 seen by the peer,
# and wscope's own "closed 1000 ... cleanly" line.
#
# Sequences (Tests/Interop/interop_common.*): full has messages up to 16 MiB, medium up
# to 1 MiB, short up to 256 KiB; each size as repeated and random UTF-8 text, random
# and compressible binary. full runs without deflate and with default deflate, medium
# for the context-takeover variants, short for the window-bits sweep.
#
# Prints one line per case (PASS/FAIL with seconds, a FAIL followed by the last lines
# of its logs; SKIP for what a peer cannot do, not counted), then `N passed, M failed`;
# exits 1 if M > 0, 2 if wscope or a peer is missing. Logs go to
# .build-interop-logs/CASE.{wscope,peer,client,server}.log. CASE_TIMEOUT (seconds,
# default 60) bounds each process of a case. Every process is killed on exit.
set -uo pipefail

WSCOPE=${WSCOPE:-}
if [ -n "$WSCOPE" ] && [ -x "$WSCOPE" ]; then
    WSCOPE=$(cd "$(dirname "$WSCOPE")" && pwd)/$(basename "$WSCOPE")  # relative to the caller
fi
cd "$(dirname "$0")/.."
source scripts/env.sh

WSCOPE=${WSCOPE:-.build/debug/wscope}
if [ ! -x "$WSCOPE" ]; then
    echo "interop: no wscope binary at '$WSCOPE' (build it, or set WSCOPE=path/to/wscope)" >&2
    exit 2
fi
WSCOPE=$(cd "$(dirname "$WSCOPE")" && pwd)/$(basename "$WSCOPE")
require_peers || exit 2

FILTER=${1:-*}
CASE_TIMEOUT=${CASE_TIMEOUT:-60}
PEER_TIMEOUT=30  # seconds the peers wait for each echo (they fail with a clear message)
INTEROP=$ROOT/Tests/Interop
LOGS=$ROOT/.build-interop-logs
rm -rf "$LOGS"
mkdir -p "$LOGS"

PASSED=0
FAILED=0
BACKGROUND=()  # pids (of `timeout`, which passes signals on) that may still be running

cleanup() {
    local pid
    for pid in "${BACKGROUND[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${BACKGROUND[@]}"; do
        wait "$pid" 2>/dev/null
    done
    BACKGROUND=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

peer_client() {  # py|node -> command of the peer's client
    case $1 in
        py) echo "$PYTHON $INTEROP/py_client.py" ;;
        node) echo "node $INTEROP/node_client.js" ;;
    esac
}

peer_echo() {  # py|node -> command of the peer's echo server
    case $1 in
        py) echo "$PYTHON $INTEROP/py_echo_server.py" ;;
        node) echo "node $INTEROP/node_echo_server.js" ;;
    esac
}

peer_driver() {  # py|node -> command of the peer's driver server
    case $1 in
        py) echo "$PYTHON $INTEROP/py_driver_server.py" ;;
        node) echo "node $INTEROP/node_driver_server.js" ;;
    esac
}

# start_background LOG CMD...: runs CMD (under timeout) in the background, output to LOG.
start_background() {
    local log=$1
    shift
    timeout "$CASE_TIMEOUT" "$@" </dev/null >"$log" 2>&1 &
    BACKGROUND+=($!)
    LAST_PID=$!
}

# run_logged LOG CMD...: runs CMD (under timeout) to completion, output to LOG; sets
# STOPPED_RC. In the background plus `wait`, so that Ctrl-C stops the run at once.
run_logged() {
    start_background "$@"
    wait_background "$LAST_PID"
}

# stop_background PID: kills it if still running; sets STOPPED_RC to its exit status.
stop_background() {
    kill "$1" 2>/dev/null
    wait_background "$1"
}

# wait_background PID: waits for it to exit by itself; sets STOPPED_RC.
wait_background() {
    wait "$1" 2>/dev/null
    STOPPED_RC=$?
    local keep=() pid
    for pid in "${BACKGROUND[@]}"; do
        [ "$pid" = "$1" ] || keep+=("$pid")
    done
    BACKGROUND=("${keep[@]}")
}

# reason_from LOG RC WHO: a short reason for a failed process.
reason_from() {
    local log=$1 rc=$2 who=$3 line
    if [ "$rc" = 124 ]; then
        echo "$who timed out after ${CASE_TIMEOUT}s"
        return
    fi
    line=$(grep -m 1 '^FAIL' "$log" 2>/dev/null)
    if [ -n "$line" ]; then
        echo "$who: ${line#FAIL: }"
    else
        echo "$who exited $rc"
    fi
}

wscope_closed_cleanly() {  # LOG
    grep -q 'closed 1000 .*cleanly' "$1"
}

report() {  # NAME START_SECONDS REASON(empty = pass)
    local name=$1 start=$2 reason=$3 elapsed log
    elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
    if [ -z "$reason" ]; then
        PASSED=$((PASSED + 1))
        echo "PASS $name (${elapsed}s)"
    else
        FAILED=$((FAILED + 1))
        echo "FAIL $name (${elapsed}s) ($reason)"
        for log in "$LOGS/${name//\//_}".*.log; do
            [ -f "$log" ] || continue
            echo "    --- ${log#"$ROOT"/} (last lines)"
            tail -n 6 "$log" | cut -c 1-200 | sed 's/^/    /'
        done
    fi
}

selected() {  # NAME: matches FILTER?
    # shellcheck disable=SC2053
    [[ $1 == $FILTER ]]
}

skip() {  # NAME WHY: a case a peer cannot do (documented where it is listed)
    selected "$1" && echo "SKIP $1 ($2)"
}

# listen_case NAME PEER EXPECT SEQUENCE WSCOPE_ARGS... -- PEER_ARGS...
#   wscope listen --echo WSCOPE_ARGS; the peer's client connects with PEER_ARGS and must
#   see EXPECT as the negotiated extensions.
listen_case() {
    local name=$1 peer=$2 expect=$3 sequence=$4
    shift 4
    selected "$name" || return 0
    local wargs=() pargs=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do wargs+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    pargs=("$@")
    local base=$LOGS/${name//\//_} start port rc reason=""
    start=$(date +%s.%N)

    start_background "$base.wscope.log" "$WSCOPE" listen 0 --echo --no-tui "${wargs[@]}"
    local server=$LAST_PID
    if ! port=$(wait_for_port "$base.wscope.log" 20); then
        stop_background "$server"
        report "$name" "$start" "wscope listen printed no port"
        return
    fi
    # shellcheck disable=SC2046
    run_logged "$base.peer.log" $(peer_client "$peer") "ws://127.0.0.1:$port/" \
        --expect "$expect" --sequence "$sequence" --timeout "$PEER_TIMEOUT" "${pargs[@]}"
    rc=$STOPPED_RC
    # Give wscope a moment to log the end of the connection before stopping it.
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        wscope_closed_cleanly "$base.wscope.log" && break
        sleep 0.1
    done
    local alive=1
    kill -0 "$server" 2>/dev/null || alive=0
    stop_background "$server"
    if [ "$alive" = 0 ]; then
        reason="wscope listen exited by itself with status $STOPPED_RC"
    elif [ "$rc" != 0 ]; then
        reason=$(reason_from "$base.peer.log" "$rc" "$peer client")
    elif ! wscope_closed_cleanly "$base.wscope.log"; then
        reason="wscope did not log a clean close 1000"
    fi
    report "$name" "$start" "$reason"
}

# connect_case NAME PEER EXPECT SEQUENCE WSCOPE_ARGS... -- PEER_ARGS...
#   The peer's driver server runs with PEER_ARGS; wscope connect --echo WSCOPE_ARGS
#   connects to it; the driver must see EXPECT as the negotiated extensions.
connect_case() {
    local name=$1 peer=$2 expect=$3 sequence=$4
    shift 4
    selected "$name" || return 0
    local wargs=() pargs=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do wargs+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    pargs=("$@")
    local base=$LOGS/${name//\//_} start port rc drc reason=""
    start=$(date +%s.%N)

    # shellcheck disable=SC2046
    start_background "$base.peer.log" $(peer_driver "$peer") \
        --expect "$expect" --sequence "$sequence" --timeout "$PEER_TIMEOUT" "${pargs[@]}"
    local driver=$LAST_PID
    if ! port=$(wait_for_port "$base.peer.log" 20); then
        stop_background "$driver"
        report "$name" "$start" "$peer driver server printed no port"
        return
    fi
    run_logged "$base.wscope.log" "$WSCOPE" connect "ws://127.0.0.1:$port/" --echo --no-tui "${wargs[@]}"
    rc=$STOPPED_RC
    wait_background "$driver"
    drc=$STOPPED_RC
    if [ "$drc" != 0 ]; then
        reason=$(reason_from "$base.peer.log" "$drc" "$peer driver")
    elif [ "$rc" != 0 ]; then
        reason=$(reason_from "$base.wscope.log" "$rc" "wscope connect")
    elif ! wscope_closed_cleanly "$base.wscope.log"; then
        reason="wscope did not log a clean close 1000"
    fi
    report "$name" "$start" "$reason"
}

# peer_case NAME CLIENT SERVER EXPECT SEQUENCE SERVER_ARGS... -- CLIENT_ARGS...
#   No wscope: one peer's client against the other peer's echo server, to show that the
#   peers themselves agree before they judge wscope.
peer_case() {
    local name=$1 client=$2 server=$3 expect=$4 sequence=$5
    shift 5
    selected "$name" || return 0
    local sargs=() cargs=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do sargs+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    cargs=("$@")
    local base=$LOGS/${name//\//_} start port rc reason=""
    start=$(date +%s.%N)
    # shellcheck disable=SC2046
    start_background "$base.server.log" $(peer_echo "$server") "${sargs[@]}"
    local pid=$LAST_PID
    if ! port=$(wait_for_port "$base.server.log" 20); then
        stop_background "$pid"
        report "$name" "$start" "$server echo server printed no port"
        return
    fi
    # shellcheck disable=SC2046
    run_logged "$base.client.log" $(peer_client "$client") "ws://127.0.0.1:$port/" \
        --expect "$expect" --sequence "$sequence" --timeout "$PEER_TIMEOUT" "${cargs[@]}"
    rc=$STOPPED_RC
    stop_background "$pid"
    [ "$rc" = 0 ] || reason=$(reason_from "$base.client.log" "$rc" "$client client")
    report "$name" "$start" "$reason"
}

PMD=permessage-deflate
SNCT=server_no_context_takeover
CNCT=client_no_context_takeover

echo "interop: $WSCOPE, logs in ${LOGS#"$ROOT"/}/"
RUN_START=$(date +%s.%N)

# The peers against each other (cnct: the client compresses without context takeover).
peer_case "peers/py-client+node-echo" py node "$PMD; $CNCT" medium --deflate -- --deflate-params "$CNCT"
peer_case "peers/node-client+py-echo" node py "$PMD; server_max_window_bits=10" medium \
    --deflate -- --deflate-params "server_max_window_bits=10"

for peer in py node; do
    # --- wscope listen --echo; the peer's client offers the variant. -------------------
    # wscope answers an offer with exactly the offered parameters (a valueless
    # client_max_window_bits hint is dropped), which is what EXPECT spells out.
    listen_case "listen/$peer/plain" "$peer" "" full
    listen_case "listen/$peer/deflate-declined" "$peer" "" medium -- --deflate
    listen_case "listen/$peer/deflate-not-offered" "$peer" "" medium --deflate
    listen_case "listen/$peer/deflate" "$peer" "$PMD" full --deflate -- --deflate
    listen_case "listen/$peer/$SNCT" "$peer" "$PMD; $SNCT" medium --deflate -- --deflate-params "$SNCT"
    listen_case "listen/$peer/$CNCT" "$peer" "$PMD; $CNCT" medium --deflate -- --deflate-params "$CNCT"
    listen_case "listen/$peer/both-no-context-takeover" "$peer" "$PMD; $SNCT; $CNCT" medium \
        --deflate -- --deflate-params "$SNCT; $CNCT"
    # wscope splits its echoes into 4 KiB frames (compressed messages: RSV1 on the first only).
    listen_case "listen/$peer/deflate-fragmented" "$peer" "$PMD" medium --deflate --fragment 4096 -- --deflate
    # wscope's own limits (--deflate-params on listen) against the peer's default offer.
    listen_case "listen/$peer/wscope-limits" "$peer" "$PMD; $SNCT; server_max_window_bits=10; client_max_window_bits=11" medium \
        --deflate-params "$SNCT; server_max_window_bits=10; client_max_window_bits=11" -- --deflate
    for bits in 8 9 10 11 12 13 14 15; do
        listen_case "listen/$peer/server_max_window_bits=$bits" "$peer" "$PMD; server_max_window_bits=$bits" short \
            --deflate -- --deflate-params "server_max_window_bits=$bits"
        if [ "$peer" = py ] && [ "$bits" = 8 ]; then
            # websockets refuses to offer client_max_window_bits=8 (its client would have
            # to compress with a 256-byte window, which zlib's raw deflate cannot do).
            skip "listen/$peer/client_max_window_bits=$bits" "websockets clients do not offer client_max_window_bits=8"
        else
            listen_case "listen/$peer/client_max_window_bits=$bits" "$peer" "$PMD; client_max_window_bits=$bits" short \
                --deflate -- --deflate-params "client_max_window_bits=$bits"
        fi
    done

    # --- wscope connect --echo; the peer's driver server sends the sequence. -----------
    # wscope offers `permessage-deflate; client_max_window_bits` for --deflate, or its
    # --deflate-params. Both peers answer with what they are configured to enforce plus
    # what was offered (websockets drops a valueless client_max_window_bits; so does ws).
    connect_case "connect/$peer/plain" "$peer" "" full
    connect_case "connect/$peer/deflate-declined" "$peer" "" medium --deflate
    connect_case "connect/$peer/deflate-not-offered" "$peer" "" medium -- --deflate
    connect_case "connect/$peer/deflate" "$peer" "$PMD" full --deflate -- --deflate
    connect_case "connect/$peer/deflate-fragmented" "$peer" "$PMD" medium --deflate --fragment 4096 -- --deflate
    for params in "$SNCT" "$CNCT" "$SNCT; $CNCT"; do
        label=${params//; /+}
        connect_case "connect/$peer/peer-config/$label" "$peer" "$PMD; $params" medium \
            --deflate -- --deflate-params "$params"
        connect_case "connect/$peer/wscope-offer/$label" "$peer" "$PMD; $params" medium \
            --deflate-params "$params" -- --deflate
    done
    for bits in 8 9 10 11 12 13 14 15; do
        # wscope leaves the default out of its offer: server_max_window_bits=15 is not
        # sent and client_max_window_bits=15 is sent without a value, so the peers
        # answer plain permessage-deflate (the same agreement).
        offered="$PMD; server_max_window_bits=$bits"
        offered_client="$PMD; client_max_window_bits=$bits"
        if [ "$bits" = 15 ]; then
            offered=$PMD
            offered_client=$PMD
        fi
        if [ "$peer" = py ] && [ "$bits" = 8 ]; then
            # websockets servers refuse server_max_window_bits=8, configured or offered
            # (their compressor would need a 256-byte window; zlib's raw deflate has none).
            skip "connect/$peer/peer-config/server_max_window_bits=$bits" "websockets servers do not support server_max_window_bits=8"
            skip "connect/$peer/wscope-offer/server_max_window_bits=$bits" "websockets servers do not support server_max_window_bits=8"
        else
            connect_case "connect/$peer/peer-config/server_max_window_bits=$bits" "$peer" "$PMD; server_max_window_bits=$bits" short \
                --deflate -- --deflate-params "server_max_window_bits=$bits"
            connect_case "connect/$peer/wscope-offer/server_max_window_bits=$bits" "$peer" "$offered" short \
                --deflate-params "server_max_window_bits=$bits" -- --deflate
        fi
        connect_case "connect/$peer/peer-config/client_max_window_bits=$bits" "$peer" "$PMD; client_max_window_bits=$bits" short \
            --deflate -- --deflate-params "client_max_window_bits=$bits"
        connect_case "connect/$peer/wscope-offer/client_max_window_bits=$bits" "$peer" "$offered_client" short \
            --deflate-params "client_max_window_bits=$bits" -- --deflate
    done
done

cleanup
TOTAL=$(awk -v s="$RUN_START" -v e="$(date +%s.%N)" 'BEGIN { printf "%.0f", e - s }')
echo "interop: ${TOTAL}s" >&2
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
