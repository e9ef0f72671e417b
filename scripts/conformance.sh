#!/usr/bin/env bash
# Runs ../shared/tools/wsconform (an Autobahn|Testsuite equivalent) against wscope in
# both roles:
#   server mode: wsconform connects to `wscope listen --echo --no-tui --quiet`
#   client mode: wsconform is the fuzzing server; `wscope connect .../runCase?case=N --echo`
#                runs once per case, then /updateReports
# each once without and once with --deflate (sections 12 and 13 need it).
#
#   scripts/conformance.sh [--quick] [--keep-reports]
#
# --quick skips the deflate runs. Reports land in .build-conformance/<run>/index.txt.
# WSCOPE names the binary (default .build/debug/wscope). Ends with "N passed, M failed"
# over all runs and exits non-zero if any case FAILED.
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
WSCOPE=${WSCOPE:-$ROOT/.build/debug/wscope}
WSCONFORM=${WSCONFORM:-$ROOT/../shared/tools/wsconform/wsconform}
OUT=$ROOT/.build-conformance
QUICK=0
for argument in "$@"; do
    case "$argument" in
        --quick) QUICK=1 ;;
        *) echo "usage: scripts/conformance.sh [--quick]" >&2; exit 2 ;;
    esac
done

[ -x "$WSCOPE" ] || { echo "conformance: no wscope binary at $WSCOPE (run swift build)" >&2; exit 2; }
[ -x "$WSCONFORM" ] || { echo "conformance: wsconform not found at $WSCONFORM" >&2; exit 2; }
rm -rf "$OUT"
mkdir -p "$OUT"

PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done; }
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

TOTAL_PASSED=0
TOTAL_FAILED=0
RUN_FAILED=0

# Adds one run's "N passed, M failed" line to the totals and prints a summary.
tally() {
    local name=$1 log=$2
    local summary
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -1)
    if [ -z "$summary" ]; then
        echo "FAIL $name: wsconform printed no summary (see $log)"
        tail -5 "$log" | sed 's/^/    /'
        RUN_FAILED=$((RUN_FAILED + 1))
        return
    fi
    local passed=${summary%% passed*} failed
    failed=${summary#*, }; failed=${failed%% failed}
    TOTAL_PASSED=$((TOTAL_PASSED + passed))
    TOTAL_FAILED=$((TOTAL_FAILED + failed))
    local counts
    counts=$(grep -E '^agent .*: OK' "$log" | tail -1 | sed 's/^agent [^:]*: //')
    if [ "$failed" -eq 0 ]; then echo "PASS $name: $summary ($counts)"; else echo "FAIL $name: $summary ($counts)"; fi
    grep -E '^[0-9.]+ (FAILED|NON-STRICT) ' "$log" | head -20 | sed 's/^/    /'
}

server_mode() {
    local name=$1; shift
    local port log
    port=$(free_port)
    log=$OUT/$name.log
    "$WSCOPE" listen "127.0.0.1:$port" --echo --no-tui --quiet "$@" >"$OUT/$name.wscope.log" 2>&1 &
    local server=$!
    PIDS+=("$server")
    for _ in $(seq 50); do grep -q '^listening on' "$OUT/$name.wscope.log" && break; sleep 0.1; done
    timeout 900 "$WSCONFORM" server-test "ws://127.0.0.1:$port" --agent wscope --report "$OUT/$name" \
        $EXCLUDE >"$log" 2>&1
    kill "$server" 2>/dev/null
    wait "$server" 2>/dev/null
    tally "$name" "$log"
}

client_mode() {
    local name=$1; shift
    local port log
    port=$(free_port)
    log=$OUT/$name.log
    timeout 900 "$WSCONFORM" client-test --listen "127.0.0.1:$port" --report "$OUT/$name" $EXCLUDE >"$log" 2>&1 &
    local harness=$!
    PIDS+=("$harness")
    local count=""
    for _ in $(seq 50); do
        # The case count arrives as the one text message of /getCaseCount.
        count=$("$WSCOPE" connect "ws://127.0.0.1:$port/getCaseCount" --no-tui 2>/dev/null </dev/null \
            | sed -n 's/^#1 <- text .* "\([0-9]*\)"$/\1/p' | head -1)
        [ -n "$count" ] && break
        sleep 0.1
    done
    if [ -z "$count" ]; then
        echo "FAIL $name: could not read the case count from the harness"
        RUN_FAILED=$((RUN_FAILED + 1))
        return
    fi
    for case in $(seq "$count"); do
        timeout 60 "$WSCOPE" connect "ws://127.0.0.1:$port/runCase?case=$case&agent=wscope" \
            --echo --no-tui --quiet "$@" </dev/null >>"$OUT/$name.wscope.log" 2>&1
    done
    "$WSCOPE" connect "ws://127.0.0.1:$port/updateReports?agent=wscope" --no-tui --quiet </dev/null >/dev/null 2>&1
    wait "$harness" 2>/dev/null
    tally "$name" "$log"
}

started=$SECONDS
EXCLUDE="--exclude 12,13"
server_mode server
client_mode client
if [ "$QUICK" -eq 0 ]; then
    EXCLUDE=""
    server_mode server-deflate --deflate
    client_mode client-deflate --deflate
    # 13.2, 13.5 and 13.6 are only offered to clients that declare client_no_context_takeover.
    EXCLUDE="--cases 13"
    client_mode client-deflate-no-context --deflate-params client_no_context_takeover
fi
echo "conformance took $((SECONDS - started)) s; reports in ${OUT#$ROOT/}/"
if [ "$RUN_FAILED" -gt 0 ]; then TOTAL_FAILED=$((TOTAL_FAILED + RUN_FAILED)); fi
echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
[ "$TOTAL_FAILED" -eq 0 ]
