#!/usr/bin/env bash
# End-to-end tests of the wscope command line, against real peers and real captures.
#
#   WSCOPE=.build-cli/debug/wscope scripts/cli-tests.sh
#
# Builds nothing: takes the binary from $WSCOPE (default .build/debug/wscope). Needs
# scripts/bootstrap.sh's packages (tshark, node-ws, openssl, the .build-venv with
# websockets). Runs with no stdin (CI=true) and as root (tshark captures on lo).
#
# Sections (each check prints "PASS name" or "FAIL name: reason" and relevant output):
#   1. tshark/...     crafted frames (`wscope send`) captured on loopback and dissected by
#                     tshark: FIN, RSV bits, opcode, MASK, length fields as the spec says
#   2. bad-input/...  one clear error line and the documented exit code, never a crash
#   3. recordings/... the sample recordings (made by Tests/CLI/make-recordings.sh):
#                     dump, dump --json, HAR round trip, a DevTools HAR
#   4. kill9/...      a recording survives kill -9 of the recorder
#   5. json/...       connect --json: valid JSON Lines, flushed per line
#   6. peers/...      connect to Node ws, listen with Python websockets clients
#   7. replay/..., tls/...  replay --to (sessions recorded against Python websockets and
#                     Node ws replayed to fresh servers: same answers, client frames byte
#                     for byte; pacing at --speed/--asap; malformed frames), --serve
#                     (Python and Node clients, one after another and two at once), replay
#                     without a terminal, replay's bad input; wss:// against Python websockets and Node
#                     ws servers and clients (certificates made with openssl here), the tls
#                     event, crafted frames and a recording replayed over wss, client
#                     certificates, verification failures, bad certificate files; a part
#                     whose feature the help texts no longer show fails as "missing/..."
# Ends with one line "N passed, M failed"; exits 1 if M > 0. Logs: .build-cli-logs/.
set -uo pipefail

cd "$(dirname "$0")/.."
source scripts/env.sh

WSCOPE=${WSCOPE:-.build/debug/wscope}
if [ ! -x "$WSCOPE" ]; then
    echo "cli-tests: no wscope binary at '$WSCOPE' (build it, or set WSCOPE=path/to/wscope)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
WSCOPE=$(cd "$(dirname "$WSCOPE")" && pwd)/$(basename "$WSCOPE")
CLI=$ROOT/Tests/CLI
LOGS=$ROOT/.build-cli-logs
rm -rf "$LOGS"
mkdir -p "$LOGS"
TMP=$(mktemp -d /tmp/wscope-cli-tests.XXXXXX)
BG_TIMEOUT=90   # seconds any background process may live
CMD_TIMEOUT=20  # seconds any foreground command may take (unless a check says otherwise)

PASSED=0
FAILED=0
BACKGROUND=()
STARTED=$(date +%s.%N)

cleanup() {
    local pid
    exec 7>&- 2>/dev/null
    for pid in "${BACKGROUND[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${BACKGROUND[@]}"; do wait "$pid" 2>/dev/null; done
    BACKGROUND=()
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- reporting ---------------------------------------------------------------------------

show() {  # FILE...: the last lines of each, indented
    local f
    for f in "$@"; do
        [ -s "$f" ] || continue
        echo "    --- ${f#"$ROOT"/} (last lines)"
        tail -n 8 "$f" | cut -c 1-220 | sed 's/^/    /'
    done
}

pass() {  # NAME [NOTE]
    PASSED=$((PASSED + 1))
    echo "PASS $1${2:+ ($2)}"
}

fail() {  # NAME REASON [LOG...]
    local name=$1 reason=$2
    shift 2
    FAILED=$((FAILED + 1))
    echo "FAIL $name: $reason"
    show "$@"
}

# The replay and TLS features exist now: a feature that the detection below no longer
# finds is a failure, not a skip.
skip() {  # WHAT WHY
    fail "missing/$1" "$2"
}

# tally FILE: counts the "PASS ..."/"FAIL ..." lines a helper printed, and prints them.
tally() {
    local line
    while IFS= read -r line; do
        case $line in
            PASS\ *) PASSED=$((PASSED + 1)); echo "$line" ;;
            FAIL\ *) FAILED=$((FAILED + 1)); echo "$line" ;;
            *) echo "    $line" ;;
        esac
    done <"$1"
}

section() {
    echo
    echo "== $1 ($(elapsed) s)"
}

elapsed() {
    awk -v s="$STARTED" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'
}

logname() {
    local name=${1//\//_}
    echo "$LOGS/${name// /_}"
}

# --- processes ---------------------------------------------------------------------------

# bg NAME CMD...: runs CMD in the background under timeout, stdin /dev/null, output in
# the log NAME.log; LAST_PID is timeout's pid (killing it stops CMD).
bg() {
    local log
    log=$(logname "$1").log
    shift
    timeout -k 2 "$BG_TIMEOUT" "$@" </dev/null >"$log" 2>&1 &
    LAST_PID=$!
    BACKGROUND+=("$LAST_PID")
}

forget() {  # PID: drop from BACKGROUND
    local keep=() pid
    for pid in "${BACKGROUND[@]}"; do [ "$pid" = "$1" ] || keep+=("$pid"); done
    BACKGROUND=("${keep[@]}")
}

stop() {  # PID: TERM it, wait; STOPPED_RC
    kill "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    STOPPED_RC=$?
    forget "$1"
}

# run NAME [-t SECONDS] [-i INPUTFILE] CMD...: foreground, under timeout; stdout in
# NAME.out, stderr in NAME.err; sets RC, OUT, ERR.
run() {
    local name=$1 t=$CMD_TIMEOUT input=/dev/null
    shift
    while true; do
        case $1 in
            -t) t=$2; shift 2 ;;
            -i) input=$2; shift 2 ;;
            *) break ;;
        esac
    done
    OUT=$(logname "$name").out
    ERR=$(logname "$name").err
    timeout -k 2 "$t" "$@" <"$input" >"$OUT" 2>"$ERR"
    RC=$?
}

# crash_reason RC FILE...: non-empty when the process crashed or hung.
crash_reason() {
    local rc=$1
    shift
    if [ "$rc" -eq 124 ]; then
        echo "timed out"
        return
    fi
    if [ "$rc" -ge 125 ]; then
        echo "exit status $rc (signal or timeout)"
        return
    fi
    if grep -q -E 'Fatal error|Stack dump|[Bb]acktrace|Segmentation fault|Illegal instruction|Current stack trace|Crash|💣' "$@" 2>/dev/null; then
        echo "crash text in the output: $(grep -h -m 1 -E 'Fatal error|Stack dump|[Bb]acktrace|Segmentation fault|Illegal instruction|Current stack trace|Crash|💣' "$@" | cut -c 1-160)"
    fi
}

# wait_for_line FILE PATTERN [SECONDS]: until an egrep PATTERN appears in FILE.
wait_for_line() {
    local file=$1 pattern=$2 limit=${3:-10} i
    for ((i = 0; i < limit * 20; i++)); do
        grep -q -E -- "$pattern" "$file" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

free_port() {  # a port nothing listens on (bound, then released)
    "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_server NAME CMD...: bg, then PORT from its first line ("N" or "listening on H:N",
# as scripts/env.sh's wait_for_port reads it); fails at once when CMD exits instead.
start_server() {
    local name=$1 log i
    shift
    bg "$name" "$@"
    SERVER_PID=$LAST_PID
    log=$(logname "$name").log
    PORT=""
    for ((i = 0; i < 400; i++)); do
        if [ -s "$log" ]; then
            PORT=$(head -n 1 "$log" | sed -n -E 's/^(listening on .*:)?([0-9]+)[[:space:]]*$/\2/p')
            [ -n "$PORT" ] && return 0
        fi
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.05
    done
    PORT=""
    # Counted here, so that a check whose server never came up cannot vanish unnoticed.
    fail "start/$name" "the server printed no port" "$log"
    return 1
}

# --- detection of the features colleagues are building ----------------------------------

# The help is read whole before grep looks at it: `wscope ... --help | grep -q` under
# pipefail fails when grep exits first and wscope's next write gets SIGPIPE.
help_has() {  # COMMAND PATTERN
    local text
    text=$(timeout 10 "$WSCOPE" "$1" --help </dev/null 2>&1)
    grep -q -- "$2" <<<"$text"
}
HAS_REPLAY=0
if help_has replay 'USAGE: wscope replay'; then HAS_REPLAY=1; fi
HAS_WSS=0
if help_has connect '--cacert'; then HAS_WSS=1; fi
HAS_TLS_LISTEN=0
if help_has listen '--tls-cert'; then HAS_TLS_LISTEN=1; fi

echo "cli-tests: $WSCOPE, logs in ${LOGS#"$ROOT"/}/ (replay: $HAS_REPLAY, wss client: $HAS_WSS, tls listen: $HAS_TLS_LISTEN)"
require_peers || { echo "0 passed, 1 failed"; exit 1; }

# =========================================================================================
section "1. tshark dissection of crafted frames"
# Each spec goes out on its own connection (`wscope send URL SPEC`), so tcp.stream i of
# the capture is spec i and its first client frame is the crafted one (wscope's own close
# follows it --timeout later). The server (Tests/CLI/raw_ws_server.py) completes the
# handshake and then only reads, so no frame is cut short by a close from the server.
#
# Columns: name spec fin rsv opcode mask len7 ext maskkey payload_hex min_segments mode
#   rsv: RSV1=4 RSV2=2 RSV3=1 (tshark's websocket.rsv); len7: the 7-bit length field
#   (126: 16-bit extended length follows, 127: 64-bit); ext: the extended length;
#   "-": not checked. mode per-segment: see Tests/CLI/check_capture.py (lying length).
PING126=$(printf 'p%.0s' $(seq 126))
PING126_HEX=$(printf '70%.0s' $(seq 126))
TSHARK_CASES=(
    "reserved-opcode-3|op3:x|1|0|3|1|1|-|-|78|-|reassembled"
    "reserved-opcode-b|opb:y|1|0|11|1|1|-|-|79|-|reassembled"
    "reserved-opcode-f|op0xf:zz|1|0|15|1|2|-|-|7a7a|-|reassembled"
    "text-as-opcode-3|text:hi;op=0x3|1|0|3|1|2|-|-|6869|-|reassembled"
    "rsv1|text:hi;rsv1=1|1|4|1|1|2|-|-|6869|-|reassembled"
    "rsv-all|text:hi;rsv=7|1|7|1|1|2|-|-|6869|-|reassembled"
    "rsv2-rsv3|binary:abc;rsv2=1;rsv3=1|1|3|2|1|3|-|-|616263|-|reassembled"
    "unmasked-client-frame|text:abc;mask=none|1|0|1|0|3|-|-|616263|-|reassembled"
    "ping-126-bytes|ping:$PING126|1|0|9|1|126|126|-|$PING126_HEX|-|reassembled"
    "fragmented-ping|ping:x;fin=0|0|0|9|1|1|-|-|78|-|reassembled"
    "fragmented-close|close:1000;fin=0|0|0|8|1|2|-|-|03e8|-|reassembled"
    "close-with-rsv1|close:1000:bye;rsv1=1|1|4|8|1|5|-|-|03e8627965|-|reassembled"
    "lying-length-200|text:abc;len=200|1|0|1|1|126|200|-|-|-|per-segment"
    "non-minimal-len16|text:abc;len16|1|0|1|1|126|3|-|616263|-|reassembled"
    "non-minimal-len64|text:abc;len64|1|0|1|1|127|3|-|616263|-|reassembled"
    "invalid-utf8|text:\\xff\\xfe|1|0|1|1|2|-|-|fffe|-|reassembled"
    "orphan-continuation|cont:abc|1|0|0|1|3|-|-|616263|-|reassembled"
    "unfinished-text|text:part;fin=0|0|0|1|1|4|-|-|70617274|-|reassembled"
    "chopped-1-byte-writes|text:abcdef;chop=1|1|0|1|1|6|-|-|616263646566|2|reassembled"
    "zero-mask-key-pong|pong:;mask=00000000|1|0|10|1|0|-|00000000|-|-|reassembled"
    "unmasked-binary-rsv-5|binary:hex:00ff10;mask=none;rsv=5|1|5|2|0|3|-|-|00ff10|-|reassembled"
)
tshark_section() {
    local pcap=$TMP/frames.pcap expect=$TMP/expect.tsv tslog raw_log port tspid i line name spec rest rc reason
    if ! command -v tshark >/dev/null; then
        fail "tshark/setup" "tshark not installed (scripts/bootstrap.sh)"
        return
    fi
    if ! start_server tshark.server "$PYTHON" "$CLI/raw_ws_server.py" --idle 10; then
        fail "tshark/setup" "raw_ws_server.py printed no port" "$(logname tshark.server).log"
        return
    fi
    port=$PORT
    raw_log=$(logname tshark.server).log
    tslog=$(logname tshark.capture).log
    timeout -k 2 120 tshark -n -i lo -f "tcp port $port" -w "$pcap" </dev/null >"$tslog" 2>&1 &
    tspid=$!
    BACKGROUND+=("$tspid")
    if ! wait_for_line "$tslog" 'Capturing on' 20; then
        fail "tshark/setup" "tshark did not start capturing within 20 s" "$tslog"
        stop "$tspid"
        return
    fi
    : >"$expect"
    local send_failed=()
    for i in "${!TSHARK_CASES[@]}"; do
        IFS='|' read -r name spec rest <<<"${TSHARK_CASES[$i]}"
        printf '%s\t%s\n' "$name" "${rest//|/$'\t'}" >>"$expect"
        run "tshark.send.$name" "$WSCOPE" send "ws://127.0.0.1:$port/" "$spec" --timeout 0.3 --close-timeout 0.1
        reason=$(crash_reason "$RC" "$OUT" "$ERR")
        if [ -n "$reason" ] || [ "$RC" -ne 0 ] || ! grep -q -- '-> ' "$OUT"; then
            send_failed+=("$name")
            fail "tshark/send/$name" "wscope send '$spec' exited $RC ${reason:+($reason)}" "$OUT" "$ERR"
        fi
    done
    sleep 0.5  # the last segments reach the capture
    kill -INT "$tspid" 2>/dev/null
    wait "$tspid" 2>/dev/null
    forget "$tspid"
    stop "$SERVER_PID"
    if [ ! -s "$pcap" ]; then
        fail "tshark/capture" "no capture file" "$tslog"
        return
    fi
    cp "$pcap" "$LOGS/tshark.frames.pcap"
    timeout 120 "$PYTHON" "$CLI/check_capture.py" "$pcap" "$port" "$expect" >"$TMP/check.out" 2>&1
    rc=$?
    tally "$TMP/check.out"
    if [ "$rc" -ne 0 ]; then
        fail "tshark/check" "check_capture.py exited $rc" "$TMP/check.out" "$raw_log"
    fi
}
tshark_section

# =========================================================================================
section "2. bad input: one clear line, a non-zero exit, never a crash"

# error_lines FILE...: the lines that state an error (ArgumentParser's "Error: ", our
# "wscope: ..." on stderr, the "error: ..." event line on stdout); warnings excluded.
error_lines() {
    grep -h -E '^(Error: |error: |wscope: )' "$@" 2>/dev/null | grep -v -E '^wscope: [^ ]*:? ?warning: '
}

# bad_input NAME EXPECT_RC PATTERN CMD...: CMD must exit EXPECT_RC ("nonzero": any code
# 1..123), print exactly one error line, matching the egrep PATTERN, and not crash.
bad_input() {
    local name=$1 want=$2 pattern=$3 reason lines count
    shift 3
    run "$name" "$@"
    reason=$(crash_reason "$RC" "$OUT" "$ERR")
    lines=$(error_lines "$ERR" "$OUT")
    count=$(printf '%s' "$lines" | grep -c '')
    if [ -n "$reason" ]; then
        fail "$name" "$reason" "$OUT" "$ERR"
    elif [ "$want" = nonzero ] && [ "$RC" -eq 0 ]; then
        fail "$name" "exit 0, expected a failure" "$OUT" "$ERR"
    elif [ "$want" != nonzero ] && [ "$RC" -ne "$want" ]; then
        fail "$name" "exit $RC, expected $want" "$OUT" "$ERR"
    elif [ "$count" -ne 1 ]; then
        fail "$name" "$count error lines, expected exactly one" "$OUT" "$ERR"
    elif ! printf '%s\n' "$lines" | grep -q -i -E -- "$pattern"; then
        fail "$name" "the error line does not match /$pattern/: $lines" "$OUT" "$ERR"
    else
        pass "$name" "exit $RC: $(printf '%s' "$lines" | cut -c 1-150)"
    fi
}

REFUSED=$(free_port)
bad_input bad-input/connect-http-scheme 1 'http|ws://' "$WSCOPE" connect http://x --no-tui
bad_input bad-input/connect-foo-scheme 1 "scheme.*foo|foo.*scheme" "$WSCOPE" connect foo://x --no-tui
bad_input bad-input/connect-unresolvable-host 1 'resolve|nonexistent\.invalid' "$WSCOPE" connect ws://nonexistent.invalid/ --no-tui
bad_input bad-input/connect-refused-port 1 "refused.*$REFUSED" "$WSCOPE" connect "ws://127.0.0.1:$REFUSED/" --no-tui
bad_input bad-input/send-refused-port 1 "refused.*$REFUSED" "$WSCOPE" send "ws://127.0.0.1:$REFUSED/" text:hi
if [ "$HAS_WSS" = 0 ]; then
    bad_input bad-input/connect-wss-without-tls 1 'wss|TLS' "$WSCOPE" connect "wss://127.0.0.1:$REFUSED/" --no-tui
else
    bad_input bad-input/connect-wss-refused-port 1 "refused.*$REFUSED" "$WSCOPE" connect "wss://127.0.0.1:$REFUSED/" --no-tui
    # Certificate files are loaded before connecting: a missing one is the error, not the port.
    bad_input bad-input/connect-missing-cacert 1 "CA file.*/nonexistent/ca\.pem" \
        "$WSCOPE" connect "wss://127.0.0.1:$REFUSED/" --no-tui --cacert /nonexistent/ca.pem
    bad_input bad-input/send-missing-client-cert 1 "/nonexistent/client\.pem" \
        "$WSCOPE" send "wss://127.0.0.1:$REFUSED/" text:hi --tls-cert /nonexistent/client.pem --tls-key /nonexistent/client.key
    bad_input bad-input/connect-tls-cert-without-key 2 'tls-key' "$WSCOPE" connect "wss://127.0.0.1:$REFUSED/" --no-tui --tls-cert x.pem
fi
if [ "$HAS_TLS_LISTEN" = 1 ]; then
    bad_input bad-input/listen-missing-certificate 1 "/nonexistent/cert\.pem" \
        "$WSCOPE" listen 0 --echo --no-tui --tls-cert /nonexistent/cert.pem --tls-key /nonexistent/key.pem
    bad_input bad-input/listen-tls-key-without-cert 2 'tls-cert' "$WSCOPE" listen 0 --no-tui --tls-key key.pem
    bad_input bad-input/listen-cacert-without-cert 2 'cacert.*tls-cert|tls-cert.*cacert' "$WSCOPE" listen 0 --no-tui --cacert ca.pem
fi

if start_server bad-input.port-holder "$PYTHON" -c '
import socket, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
print(s.getsockname()[1], flush=True)
time.sleep(80)'; then
    bad_input bad-input/listen-busy-port 1 "in use|$PORT" "$WSCOPE" listen "$PORT" --echo --no-tui
    stop "$SERVER_PID"
else
    fail bad-input/listen-busy-port "the port holder printed no port" "$(logname bad-input.port-holder).log"
fi
# 203.0.113.1 (TEST-NET-3) is on no interface here: bind fails, nothing is sent anywhere.
bad_input bad-input/listen-foreign-address 1 '203\.0\.113\.1' "$WSCOPE" listen 203.0.113.1:9 --no-tui
bad_input bad-input/listen-bad-port nonzero '99999|port' "$WSCOPE" listen 99999 --no-tui

# A bad frame spec: the error names the column (ArgumentParser's usage lines may follow).
bad_input bad-input/send-bad-spec-rsv1-value nonzero 'column 14' "$WSCOPE" send "ws://127.0.0.1:$REFUSED/" 'text:hi;rsv1=2'
bad_input bad-input/send-bad-spec-kind nonzero 'column 1\b' "$WSCOPE" send "ws://127.0.0.1:$REFUSED/" 'txt:hi'
bad_input bad-input/send-bad-spec-hex nonzero 'column 12' "$WSCOPE" send "ws://127.0.0.1:$REFUSED/" 'binary:hex:zz'
# DESIGN.md: exit codes 0 ok, 1 runtime failure, 2 usage. A bad frame spec is a usage error.
run bad-input/usage-exit-code "$WSCOPE" send "ws://127.0.0.1:$REFUSED/" 'op16:x'
if [ "$RC" -eq 2 ]; then
    pass bad-input/usage-exit-code "a bad frame spec exits 2"
else
    fail bad-input/usage-exit-code "'wscope send URL op16:x' exits $RC; DESIGN.md says usage errors exit 2" "$ERR"
fi

# Recordings. Built from the committed echo.jsonl.
REC=$ROOT/recordings/echo.jsonl
if [ -s "$REC" ]; then
    total=$(wc -l <"$REC")
    run bad-input.dump-good "$WSCOPE" dump "$REC"
    cp "$OUT" "$TMP/good.txt"
    good_events=$(grep -c '' "$TMP/good.txt")

    # A corrupt line in the middle (line 6).
    awk 'NR == 6 { print "{\"type\":\"frame\",\"conn\":1,\"dir\":"; next } { print }' "$REC" >"$TMP/corrupt.jsonl"
    bad_input bad-input/dump-corrupt-line 1 'line 6' "$WSCOPE" dump "$TMP/corrupt.jsonl"
    if [ "$RC" -eq 1 ] && [ "$(grep -c '' "$OUT")" -eq 5 ] && diff -q <(head -n 5 "$TMP/good.txt") "$OUT" >/dev/null; then
        pass bad-input/dump-corrupt-line-prints-lines-before "lines 1-5 printed"
    else
        fail bad-input/dump-corrupt-line-prints-lines-before "expected exactly the 5 events before line 6 on stdout" "$OUT"
    fi
    run bad-input.dump-skip "$WSCOPE" dump "$TMP/corrupt.jsonl" --skip-bad-lines
    reason=$(crash_reason "$RC" "$OUT" "$ERR")
    if [ -n "$reason" ] || [ "$RC" -ne 0 ]; then
        fail bad-input/dump-skip-bad-lines "exit $RC ${reason}" "$OUT" "$ERR"
    elif ! grep -q 'line 6' "$ERR"; then
        fail bad-input/dump-skip-bad-lines "stderr does not name the skipped line 6" "$ERR"
    elif ! diff -q <(sed 6d "$TMP/good.txt") "$OUT" >/dev/null; then
        fail bad-input/dump-skip-bad-lines "stdout is not every other event" "$OUT"
    else
        pass bad-input/dump-skip-bad-lines "$(cut -c 1-120 "$ERR" | head -1)"
    fi

    # A truncated last line: a warning, exit 0, the earlier events printed.
    head -c -25 "$REC" >"$TMP/truncated.jsonl"
    run bad-input.dump-truncated "$WSCOPE" dump "$TMP/truncated.jsonl"
    reason=$(crash_reason "$RC" "$OUT" "$ERR")
    if [ -n "$reason" ] || [ "$RC" -ne 0 ]; then
        fail bad-input/dump-truncated-last-line "exit $RC ${reason}" "$OUT" "$ERR"
    elif ! grep -q -i "warning.*line $total.*truncated\|warning.*truncated.*line $total" "$ERR"; then
        fail bad-input/dump-truncated-last-line "no warning naming line $total as truncated" "$ERR"
    elif ! diff -q <(head -n $((good_events - 1)) "$TMP/good.txt") "$OUT" >/dev/null; then
        fail bad-input/dump-truncated-last-line "stdout is not every event before the last" "$OUT"
    else
        pass bad-input/dump-truncated-last-line "$(cut -c 1-120 "$ERR" | head -1)"
    fi
else
    fail bad-input/dump-recordings "recordings/echo.jsonl missing (Tests/CLI/make-recordings.sh)"
fi

: >"$TMP/empty.jsonl"
bad_input bad-input/dump-empty-file 1 'empty' "$WSCOPE" dump "$TMP/empty.jsonl"
cp "$(command -v ls)" "$TMP/ls.bin"
bad_input bad-input/dump-binary-file 1 'not a wscope recording|binary' "$WSCOPE" dump "$TMP/ls.bin"
bad_input bad-input/convert-binary-file 1 'neither|not a' "$WSCOPE" convert "$TMP/ls.bin" "$TMP/ls.har"
bad_input bad-input/dump-missing-file 1 'No such file|not found|does not exist' "$WSCOPE" dump "$TMP/missing.jsonl"
mkdir -p "$TMP/a-directory"
bad_input bad-input/dump-directory 1 'directory' "$WSCOPE" dump "$TMP/a-directory"
bad_input bad-input/dump-har-file 1 'HAR|convert' "$WSCOPE" dump "$CLI/devtools.har"

# A 1 GiB line (sparse file: the header, then one line that never ends): fails fast with
# a clear message, in bounded memory.
big=$TMP/one-gib-line.jsonl
if [ -s "$REC" ]; then head -n 1 "$REC" >"$big"; fi
printf '{"type":"frame","conn":1,"payload":"' >>"$big"
truncate -s 1G "$big"
printf '\n' >>"$big"
if [ -x /usr/bin/time ]; then
    t0=$(date +%s.%N)
    bad_input bad-input/dump-1gib-line 1 'line 2' /usr/bin/time -f 'maxrss_kb=%M' -o "$TMP/time.out" "$WSCOPE" dump "$big"
    seconds=$(awk -v s="$t0" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
    rss=$(sed -n 's/^maxrss_kb=//p' "$TMP/time.out")
    cat "$TMP/time.out" >>"$ERR"
else
    # Fallback: sample the process's RSS with ps while it runs.
    t0=$(date +%s.%N)
    timeout 30 "$WSCOPE" dump "$big" </dev/null >"$LOGS/bad-input_dump-1gib-line.out" 2>"$LOGS/bad-input_dump-1gib-line.err" &
    pid=$!
    rss=0
    while kill -0 "$pid" 2>/dev/null; do
        r=$(ps -o rss= -p "$(pgrep -P "$pid" | head -1)" 2>/dev/null | tr -d ' ')
        [ -n "$r" ] && [ "$r" -gt "$rss" ] && rss=$r
        sleep 0.05
    done
    wait "$pid"
    seconds=$(awk -v s="$t0" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
    OUT=$LOGS/bad-input_dump-1gib-line.out ERR=$LOGS/bad-input_dump-1gib-line.err
fi
rm -f "$big"
if [ -z "$rss" ]; then
    fail bad-input/dump-1gib-line-memory "could not measure the max RSS" "$ERR"
elif [ "$rss" -ge 204800 ]; then
    fail bad-input/dump-1gib-line-memory "max RSS $((rss / 1024)) MB, expected < 200 MB" "$ERR"
elif awk -v s="$seconds" 'BEGIN { exit !(s > 15) }'; then
    fail bad-input/dump-1gib-line-memory "took ${seconds}s, expected to fail fast (< 15 s)" "$ERR"
else
    pass bad-input/dump-1gib-line-memory "max RSS $((rss / 1024)) MB, ${seconds}s"
fi

# =========================================================================================
section "3. sample recordings"
# The committed files are checked; the generator also runs into a temporary folder, so a
# broken --record shows up here.
run recordings.generate -t 60 env WSCOPE="$WSCOPE" "$CLI/make-recordings.sh" "$TMP/generated"
if [ "$RC" -eq 0 ] && [ "$(ls "$TMP/generated"/*.jsonl 2>/dev/null | wc -l)" -eq 5 ]; then
    pass recordings/generator "Tests/CLI/make-recordings.sh wrote 5 recordings"
else
    fail recordings/generator "make-recordings.sh exited $RC" "$OUT" "$ERR"
fi

# dump_shows NAME FILE PATTERN...: `wscope dump FILE` exits 0 without warnings and shows
# every egrep PATTERN (in that order).
dump_shows() {
    local name=$1 file=$2 pattern missing="" from=1 at
    shift 2
    run "$name" "$WSCOPE" dump "$file"
    if [ "$RC" -ne 0 ] || [ -s "$ERR" ]; then
        fail "$name" "dump exited $RC" "$OUT" "$ERR"
        return
    fi
    for pattern in "$@"; do
        at=$(tail -n +"$from" "$OUT" | grep -n -m 1 -E -- "$pattern" | cut -d: -f1)
        if [ -z "$at" ]; then
            missing=$pattern
            break
        fi
        from=$((from + at))
    done
    if [ -n "$missing" ]; then
        fail "$name" "no line /$missing/ (in order)" "$OUT"
    else
        pass "$name" "$(grep -c '' "$OUT") lines"
    fi
}

for dir in "$ROOT/recordings" "$TMP/generated"; do
    label=committed
    [ "$dir" = "$ROOT/recordings" ] || label=generated
    dump_shows "recordings/$label/dump-echo" "$dir/echo.jsonl" \
        '^# wscope-recording v1.*connect ws://' '#1 open' \
        '-> text +FIN MASK=[0-9a-f]{8} len=11 "hello, echo"' '<- text +FIN len=11 "hello, echo"' \
        '-> binary +FIN MASK=.* len=4 hex:00ff10fe' '<- binary +FIN len=4 hex:00ff10fe' \
        '-> ping .*"are you there"' '<- pong .*"are you there"' \
        '-> text +--- MASK=.* "frag"' '-> cont +FIN MASK=.* "ment"' '<- text +FIN len=8 "fragment"' \
        '-> close .*1000' '<- close .*1000' '#1 closed 1000 .*cleanly'
    dump_shows "recordings/$label/dump-echo-listen" "$dir/echo-listen.jsonl" \
        '^# wscope-recording v1.*listen' 'listening on' '#1 open' \
        '<- text +FIN MASK=.*"hello, echo"' '-> text +FIN len=11 "hello, echo"' \
        '<- ping .*"are you there"' '-> pong .*"are you there"' '-> text +FIN len=8 "fragment"' \
        '<- close .*1000' '#1 closed 1000'
    dump_shows "recordings/$label/dump-close-handshake" "$dir/close-handshake.jsonl" \
        '-> text .*"hello, server"' '<- text .*"hello, server"' \
        '<- close .*1001 \(going away\) "going away"' '-> close .*1001' '#1 closed 1001 .*"going away".*cleanly'
    dump_shows "recordings/$label/dump-malformed" "$dir/malformed.jsonl" \
        '-> text +FIN MASK=.*"hello"' '-> text +FIN RSV1 MASK=' '-> op3 ' '-> binary +FIN len=3' \
        '<- close .*1002' '#1 closed 1002'
    dump_shows "recordings/$label/dump-malformed-utf8" "$dir/malformed-utf8.jsonl" \
        '-> text +FIN MASK=.* hex:fffe' '<- close .*1007' '#1 closed 1007'
done

for rec in echo echo-listen close-handshake malformed malformed-utf8; do
    file=$ROOT/recordings/$rec.jsonl
    run "recordings.json.$rec" "$WSCOPE" dump --json "$file"
    if [ "$RC" -ne 0 ]; then
        fail "recordings/dump-json/$rec" "dump --json exited $RC" "$ERR"
        continue
    fi
    if "$PYTHON" "$CLI/jsonl_tool.py" check "$OUT" 1 >"$TMP/check.out" 2>&1; then
        pass "recordings/dump-json/$rec" "$(cat "$TMP/check.out")"
    else
        fail "recordings/dump-json/$rec" "$(head -c 300 "$TMP/check.out")"
    fi

    # HAR round trip keeps every text and binary message (direction, type, bytes).
    if run "recordings.har.$rec" "$WSCOPE" convert "$file" "$TMP/$rec.har" && [ "$RC" -eq 0 ] &&
        run "recordings.back.$rec" "$WSCOPE" convert "$TMP/$rec.har" "$TMP/$rec.back.jsonl" && [ "$RC" -eq 0 ] &&
        run "recordings.backjson.$rec" "$WSCOPE" dump --json "$TMP/$rec.back.jsonl" && [ "$RC" -eq 0 ]; then
        if [ "$rec" = echo ]; then
            if "$PYTHON" "$CLI/jsonl_tool.py" har-check "$TMP/$rec.har" >"$TMP/check.out" 2>&1; then
                pass "recordings/har-devtools-shape/$rec" "$(cat "$TMP/check.out")"
            else
                fail "recordings/har-devtools-shape/$rec" "$(head -c 300 "$TMP/check.out")"
            fi
        fi
        # HAR's "data" is a JSON string: a text message that is not valid UTF-8 can only
        # come back with U+FFFD replacements, accepted when convert said so in a note.
        lossy=()
        if grep -q -i 'not valid UTF-8' "$LOGS/recordings.har.$rec.err"; then lossy=(--utf8-replaced); fi
        if "$PYTHON" "$CLI/jsonl_tool.py" compare "$file" "$TMP/$rec.back.jsonl" ${lossy[@]+"${lossy[@]}"} >"$TMP/check.out" 2>&1; then
            pass "recordings/har-round-trip/$rec" "$(cat "$TMP/check.out")"
        else
            fail "recordings/har-round-trip/$rec" "$(head -c 400 "$TMP/check.out")" "$LOGS/recordings.har.$rec.err"
        fi
    else
        fail "recordings/har-round-trip/$rec" "a convert or dump step exited $RC" "$OUT" "$ERR"
    fi
done

# A HAR saved by Chrome DevTools (hand-written in its style: _webSocketMessages with
# type/time/opcode/data, binary data base64, a non-WebSocket entry before it).
run recordings.devtools.convert "$WSCOPE" convert "$CLI/devtools.har" "$TMP/devtools.jsonl"
if [ "$RC" -ne 0 ]; then
    fail recordings/devtools-har "convert exited $RC" "$OUT" "$ERR"
else
    dump_shows recordings/devtools-har "$TMP/devtools.jsonl" \
        'connect ws://localhost:8080/ticker' '#1 open' \
        '-> text +FIN MASK=[0-9a-f]{8} len=37 "\{\\"op\\":\\"subscribe\\",\\"channel\\":\\"ticker\\"\}"' \
        '<- text +FIN len=38 "\{\\"op\\":\\"subscribed\\"' \
        '<- binary +FIN len=4 hex:000102ff' \
        '-> text +FIN MASK=.* len=10 "héllo ✓"' '<- text +FIN len=10 "héllo ✓"'
fi

# =========================================================================================
section "4. a recording survives kill -9"
kill9_section() {
    local rec=$TMP/kill9.jsonl log lpid fpid port lines i rc recorded received
    log=$(logname kill9.listen).log
    "$WSCOPE" listen 0 --echo --no-tui --record "$rec" </dev/null >"$log" 2>&1 &
    lpid=$!
    BACKGROUND+=("$lpid")
    if ! port=$(wait_for_port "$log" 20); then
        fail kill9/listen "wscope listen printed no port" "$log"
        stop "$lpid"
        return
    fi
    bg kill9.flood "$PYTHON" "$CLI/py_peer.py" flood "ws://127.0.0.1:$port/" 1000
    fpid=$LAST_PID
    # Kill when the recording holds some hundreds of events (a client message and its
    # echo are two), well before the flood's 1000 messages and 1000 echoes are done.
    for ((i = 0; i < 400; i++)); do
        lines=$(wc -l <"$rec" 2>/dev/null || echo 0)
        [ "$lines" -ge 400 ] && break
        sleep 0.02
    done
    kill -9 "$lpid" 2>/dev/null
    wait "$lpid" 2>/dev/null
    rc=$?
    forget "$lpid"
    wait "$fpid" 2>/dev/null
    forget "$fpid"
    if [ "$rc" -ne 137 ]; then
        fail kill9/killed "wscope listen exited $rc before the kill -9 (expected 137)" "$log"
    fi
    run kill9.dump "$WSCOPE" dump "$rec"
    local reason
    reason=$(crash_reason "$RC" "$OUT" "$ERR")
    if [ -n "$reason" ] || [ "$RC" -ne 0 ]; then
        fail kill9/dump "dump of the killed recording exited $RC $reason" "$OUT" "$ERR"
        return
    fi
    if [ -s "$ERR" ] && ! grep -q -i 'truncated' "$ERR"; then
        fail kill9/dump "unexpected stderr (only a truncated-last-line warning is fine)" "$ERR"
        return
    fi
    pass kill9/dump "exit 0, $(grep -c '' "$OUT") lines$([ -s "$ERR" ] && printf ', %s' "$(head -c 120 "$ERR")")"
    run kill9.json "$WSCOPE" dump --json "$rec"
    if "$PYTHON" "$CLI/jsonl_tool.py" prefix "$OUT" 50 >"$TMP/prefix.out" 2>&1; then
        recorded=$(sed -n 's/^ok: \([0-9]*\) .*/\1/p' "$TMP/prefix.out")
        if [ "${recorded:-0}" -ge 1000 ]; then
            fail kill9/prefix "all 1000 messages were recorded: the kill came too late to test anything" "$(logname kill9.flood).log"
        else
            pass kill9/prefix "the first $recorded of 1000 messages, in order"
        fi
    else
        fail kill9/prefix "$(cat "$TMP/prefix.out")" "$OUT"
    fi
    # Nothing the listener did is missing from its record: every echo the client got
    # was recorded (the record is written per event, not buffered).
    received=$(sed -n 's/.*received \([0-9]*\) echoes.*/\1/p' "$(logname kill9.flood).log")
    recorded=$(grep -c '"dir":"out".*"opcode":1,' "$OUT")
    if [ -z "$received" ]; then
        fail kill9/record-not-buffered "the flood client did not report its echoes" "$(logname kill9.flood).log"
    elif [ "$recorded" -ge $((received - 1)) ]; then
        pass kill9/record-not-buffered "client received $received echoes, $recorded recorded as sent"
    else
        fail kill9/record-not-buffered "client received $received echoes but only $recorded are in the record" "$(logname kill9.flood).log"
    fi
}
kill9_section

# =========================================================================================
section "5. connect --json"
if start_server json.peer "$PYTHON" "$CLI/py_peer.py" echo; then
    run json.flush -t 40 "$PYTHON" "$CLI/json_flush.py" "$WSCOPE" "ws://127.0.0.1:$PORT/" "$LOGS/json.flush.lines"
    if [ "$RC" -eq 0 ]; then
        pass json/flushed-per-line "$(cat "$OUT")"
    else
        fail json/flushed-per-line "$(head -c 300 "$OUT")" "$LOGS/json.flush.lines" "$ERR"
    fi
    if "$PYTHON" "$CLI/jsonl_tool.py" check "$LOGS/json.flush.lines" 8 >"$TMP/check.out" 2>&1; then
        pass json/valid-lines-and-frame-fields "$(cat "$TMP/check.out")"
    else
        fail json/valid-lines-and-frame-fields "$(head -c 300 "$TMP/check.out")" "$LOGS/json.flush.lines"
    fi
    stop "$SERVER_PID"
else
    fail json/peer "py_peer.py echo printed no port" "$(logname json.peer).log"
fi

# =========================================================================================
section "6. connect and listen against peers"

# typed NAME URL LINE... -- wscope connect URL --no-tui with a FIFO for stdin; each LINE
# is typed when the previous one's answer arrived (a line "wait:PATTERN" waits for
# PATTERN in the output instead of typing). stdin stays open until wscope exits.
typed() {
    local name=$1 url=$2 line pid out err
    shift 2
    out=$(logname "$name").out
    err=$(logname "$name").err
    rm -f "$TMP/in"
    mkfifo "$TMP/in"
    timeout -k 2 "$CMD_TIMEOUT" "$WSCOPE" connect "$url" --no-tui <"$TMP/in" >"$out" 2>"$err" &
    pid=$!
    BACKGROUND+=("$pid")
    exec 7>"$TMP/in"
    for line in "$@"; do
        case $line in
            wait:*) wait_for_line "$out" "${line#wait:}" 10 ;;
            *) printf '%s\n' "$line" >&7 ;;
        esac
    done
    wait "$pid"
    RC=$?
    forget "$pid"
    exec 7>&-
    OUT=$out
    ERR=$err
}

if start_server peers.node "node" "$ROOT/Tests/Interop/node_echo_server.js" --port 0; then
    node_pid=$SERVER_PID
    typed peers.node.connect "ws://127.0.0.1:$PORT/" \
        'wait:#1 open' 'hello node' 'second line ✓' 'wait:<- text .*second line' '/frame op3:x'
    reason=$(crash_reason "$RC" "$OUT" "$ERR")
    if [ -n "$reason" ]; then
        fail peers/node-connect-echo "$reason" "$OUT" "$ERR"
    elif grep -q -E '<- text +FIN len=10 "hello node"' "$OUT" && grep -q -E '<- text +FIN len=15 "second line ✓"' "$OUT"; then
        pass peers/node-connect-echo "both typed lines came back"
    else
        fail peers/node-connect-echo "the typed lines did not come back as '<- text' lines" "$OUT" "$ERR"
    fi
    if [ -z "$reason" ] && grep -q -E '^#1 -> op3 ' "$OUT" && grep -q -E '^#1 <- close .*1002' "$OUT"; then
        pass peers/node-connect-op3-1002 "$(grep -E '<- close' "$OUT" | head -1)"
    else
        fail peers/node-connect-op3-1002 "no '-> op3' and '<- close ... 1002' lines (exit $RC)" "$OUT" "$ERR" "$(logname peers.node).log"
    fi
    stop "$node_pid"
else
    fail peers/node "node_echo_server.js printed no port" "$(logname peers.node).log"
fi

if start_server peers.listen "$WSCOPE" listen 0 --echo --no-tui; then
    listen_pid=$SERVER_PID
    listen_log=$(logname peers.listen).log
    run peers.listen.client "$PYTHON" "$CLI/py_peer.py" send "ws://127.0.0.1:$PORT/" one "two ✓" three
    wait_for_line "$listen_log" '#1 closed' 5
    incoming=$(grep -c -E '^#1 <- text +FIN MASK=' "$listen_log")
    outgoing=$(grep -c -E '^#1 -> text +FIN len=' "$listen_log")
    if [ "$RC" -ne 0 ]; then
        fail peers/listen-python-client "the Python client failed (exit $RC)" "$OUT" "$listen_log"
    elif [ "$incoming" -ne 3 ] || [ "$outgoing" -ne 3 ]; then
        fail peers/listen-python-client "$incoming incoming and $outgoing outgoing text lines, expected 3 and 3" "$listen_log"
    elif ! grep -q -E '^#1 <- text .*"two ✓"' "$listen_log" || ! grep -q -E '^#1 closed 1000 .*cleanly' "$listen_log"; then
        fail peers/listen-python-client "no '\"two ✓\"' line or no clean close 1000" "$listen_log"
    else
        pass peers/listen-python-client "3 in, 3 out, $(grep -E '^#1 closed' "$listen_log")"
    fi
    stop "$listen_pid"
else
    fail peers/listen "wscope listen printed no port" "$(logname peers.listen).log"
fi

if start_server peers.listen2 "$WSCOPE" listen 0 --echo --no-tui; then
    listen_pid=$SERVER_PID
    listen_log=$(logname peers.listen2).log
    bg peers.listen2.client-a "$PYTHON" "$CLI/py_peer.py" send "ws://127.0.0.1:$PORT/" "from a" --hold 1
    a=$LAST_PID
    bg peers.listen2.client-b "$PYTHON" "$CLI/py_peer.py" send "ws://127.0.0.1:$PORT/" "from b" --hold 1
    b=$LAST_PID
    wait "$a"; rca=$?; forget "$a"
    wait "$b"; rcb=$?; forget "$b"
    wait_for_line "$listen_log" '#2 closed' 5
    wait_for_line "$listen_log" '#1 closed' 5
    ids_ok=1
    for id in 1 2; do
        grep -q "^#$id open" "$listen_log" || ids_ok=0
        grep -q -E "^#$id <- text .*\"from [ab]\"" "$listen_log" || ids_ok=0
        grep -q -E "^#$id closed 1000 .*cleanly" "$listen_log" || ids_ok=0
    done
    # At once: #2 opened before #1 closed.
    open2=$(grep -n -m 1 '^#2 open' "$listen_log" | cut -d: -f1)
    closed1=$(grep -n -m 1 '^#1 closed' "$listen_log" | cut -d: -f1)
    if [ "$rca" -ne 0 ] || [ "$rcb" -ne 0 ]; then
        fail peers/listen-two-clients "a client failed ($rca, $rcb)" "$(logname peers.listen2.client-a).log" "$(logname peers.listen2.client-b).log" "$listen_log"
    elif [ "$ids_ok" = 0 ] || grep -q '^#3 ' "$listen_log"; then
        fail peers/listen-two-clients "expected connections #1 and #2 (open, text, clean close) and no #3" "$listen_log"
    elif [ -z "$open2" ] || [ -z "$closed1" ] || [ "$open2" -gt "$closed1" ]; then
        fail peers/listen-two-clients "the two connections were not open at the same time" "$listen_log"
    else
        pass peers/listen-two-clients "#1 and #2 open at once, both closed 1000 cleanly"
    fi
    stop "$listen_pid"
else
    fail peers/listen-two "wscope listen printed no port" "$(logname peers.listen2).log"
fi

# Terminal safety (DESIGN.md): peer bytes never reach the terminal raw. A CSI clear
# screen, an OSC title with BEL, a C1 CSI (U+009B), a right-to-left override and a close
# reason with an escape sequence go both ways; neither side's output may hold a C0/C1
# control byte (other than the newline) and the escapes must be visible.
if start_server peers.safety.listen "$WSCOPE" listen 0 --echo --no-tui; then
    listen_pid=$SERVER_PID
    listen_log=$(logname peers.safety.listen).log
    run peers.safety.send "$WSCOPE" send "ws://127.0.0.1:$PORT/" \
        'text:hex:1b5b324a1b5d303b70776e656407726564c29b' 'text:hex:61e280ae62' 'binary:hex:1b5b324a' \
        'close:hex:03e81b5b33316d' --timeout 0.5
    wait_for_line "$listen_log" '#1 closed' 5
    stop "$listen_pid"
    raw=$(LC_ALL=C grep -c -P '[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]' "$OUT" "$listen_log" | awk -F: '{ n += $2 } END { print n }')
    if [ "$RC" -ne 0 ]; then
        fail peers/terminal-safety "wscope send exited $RC" "$OUT" "$ERR"
    elif [ "$raw" -ne 0 ]; then
        fail peers/terminal-safety "$raw output line(s) with raw control bytes" "$OUT" "$listen_log"
    elif ! grep -q -F '"\x1b[2J\x1b]0;pwned\u{7}red\u{9b}"' "$OUT" || ! grep -q -F '"\x1b[2J\x1b]0;pwned\u{7}red\u{9b}"' "$listen_log" ||
        ! grep -q -F 'a\u{202e}b' "$listen_log" || ! grep -q -F '\x1b[31m' "$listen_log"; then
        fail peers/terminal-safety "the escapes are not shown as visible escapes (\\x1b, \\u{7}, \\u{9b}, \\u{202e})" "$OUT" "$listen_log"
    else
        pass peers/terminal-safety "no raw control bytes; $(grep -m 1 -o -F '"\x1b[2J\x1b]0;pwned\u{7}red\u{9b}"' "$OUT")"
    fi
else
    fail peers/terminal-safety "wscope listen printed no port" "$(logname peers.safety.listen).log"
fi

run peers.demo "$WSCOPE" demo --no-tui
if [ "$RC" -eq 0 ] && grep -q -E '^#1 <- text .*"a message in three fragments"' "$OUT" && grep -q -E '^#1 closed 1000 .*cleanly' "$OUT"; then
    pass peers/demo "$(grep -c '' "$OUT") lines, closed cleanly"
else
    fail peers/demo "demo --no-tui exited $RC without its reassembled message or a clean close" "$OUT" "$ERR"
fi

# =========================================================================================
section "7. replay, wss:// and TLS listen"

if [ "$HAS_REPLAY" = 1 ]; then
    # Replay (issue 4): --to re-sends the recorded client frames byte for byte and shows
    # today's answers; --serve plays the recorded server frames to every client. Checks of
    # the records: Tests/CLI/replay_check.py; clients for --serve: py_peer.py, node_peer.js.

    # replay_record NAME URL RECORD: `wscope connect URL --no-tui --record RECORD` typing a
    # text, a binary, a ping, a message in two fragments and a close 1000, each line 0.3 s
    # after the previous one's answer: the recorded gaps are at least 0.3 s.
    replay_record() {
        local name=$1 url=$2 record=$3 out err pid line
        out=$(logname "$name").out
        err=$(logname "$name").err
        rm -f "$TMP/replay.in" "$record"
        mkfifo "$TMP/replay.in"
        timeout -k 2 "$CMD_TIMEOUT" "$WSCOPE" connect "$url" --no-tui --record "$record" <"$TMP/replay.in" >"$out" 2>"$err" &
        pid=$!
        BACKGROUND+=("$pid")
        exec 7>"$TMP/replay.in"
        wait_for_line "$out" '#1 open' 10
        for line in 'hello, replay' 'wait:<- text .*"hello, replay"' '/frame binary:hex:00ff10fe' 'wait:<- binary' \
            '/ping are you there' 'wait:<- pong' '/frame text:frag;fin=0' '/frame cont:ment' 'wait:<- text .*"fragment"' \
            '/close 1000 done'; do
            case $line in
                wait:*) wait_for_line "$out" "${line#wait:}" 10 ;;
                *) sleep 0.3; printf '%s\n' "$line" >&7 ;;
            esac
        done
        wait "$pid"
        RC=$?
        forget "$pid"
        exec 7>&-
        OUT=$out ERR=$err
    }

    # A session recorded against each kind of server, replayed (recorded timing) to a
    # fresh server of the same kind: the same answers, every frame (pong and close
    # included), and the client frames on the wire byte for byte.
    for kind in python node; do
        case $kind in
            python) server=("$PYTHON" "$CLI/py_peer.py" echo) ;;
            node) server=(node "$ROOT/Tests/Interop/node_echo_server.js" --port 0) ;;
        esac
        rec=$TMP/replay-$kind.jsonl replayed=$TMP/replay-$kind-again.jsonl
        if ! start_server "replay.$kind.first" "${server[@]}"; then
            fail "replay/to-fresh-$kind" "the $kind echo server printed no port" "$(logname "replay.$kind.first").log"
            continue
        fi
        replay_record "replay.$kind.record" "ws://127.0.0.1:$PORT/replay" "$rec"
        stop "$SERVER_PID"
        if [ "$RC" -ne 0 ] || ! grep -q -E '^#1 closed 1000 .*cleanly' "$OUT"; then
            fail "replay/to-fresh-$kind" "recording the session failed (connect exited $RC)" "$OUT" "$ERR"
            continue
        fi
        if ! start_server "replay.$kind.second" "${server[@]}"; then
            fail "replay/to-fresh-$kind" "the second $kind echo server printed no port" "$(logname "replay.$kind.second").log"
            continue
        fi
        run "replay.$kind.to" -t 30 "$WSCOPE" replay "$rec" --to "ws://127.0.0.1:$PORT/replay" --no-tui --record "$replayed"
        stop "$SERVER_PID"
        reason=$(crash_reason "$RC" "$OUT" "$ERR")
        if [ -n "$reason" ] || [ "$RC" -ne 0 ]; then
            fail "replay/to-fresh-$kind" "wscope replay --to exited $RC $reason" "$OUT" "$ERR"
        elif ! grep -q -E '^#1 <- pong .*"are you there"' "$OUT" || ! grep -q -E '^#1 closed 1000 .*"done" cleanly' "$OUT"; then
            fail "replay/to-fresh-$kind" "no pong or no clean close 1000 \"done\" in the replay's output" "$OUT" "$ERR"
        elif "$PYTHON" "$CLI/replay_check.py" answers "$rec" "$replayed" >"$TMP/check.out" 2>&1; then
            pass "replay/to-fresh-$kind" "$(sed 's/^ok: //' "$TMP/check.out")"
        else
            fail "replay/to-fresh-$kind" "$(head -c 400 "$TMP/check.out")" "$OUT" "$ERR"
        fi
    done

    # A `listen` recording (wscope listen --echo's side of echo.jsonl): its incoming
    # frames are the client's, replayed to a fresh server of the same kind.
    if start_server replay.from-listen.server "$WSCOPE" listen 0 --echo --no-tui; then
        run replay.from-listen "$WSCOPE" replay "$ROOT/recordings/echo-listen.jsonl" --to "ws://127.0.0.1:$PORT/" --no-tui \
            --record "$TMP/replay-from-listen.jsonl"
        stop "$SERVER_PID"
        if [ "$RC" -ne 0 ]; then
            fail replay/to-from-listen-recording "wscope replay --to exited $RC" "$OUT" "$ERR"
        elif "$PYTHON" "$CLI/replay_check.py" answers "$ROOT/recordings/echo-listen.jsonl" "$TMP/replay-from-listen.jsonl" >"$TMP/check.out" 2>&1; then
            pass replay/to-from-listen-recording "$(sed 's/^ok: //' "$TMP/check.out")"
        else
            fail replay/to-from-listen-recording "$(head -c 400 "$TMP/check.out")" "$OUT" "$ERR"
        fi
    else
        fail replay/to-from-listen-recording "wscope listen printed no port" "$(logname replay.from-listen.server).log"
    fi

    # Timing, seen by the server (`wscope listen --record`): at --speed X every client frame
    # arrives no sooner after the open than its recorded distance / X (lower bounds only,
    # as the replay waits at least that long); --asap sends the whole session (recorded
    # over 1 s) in much less than that. The live server's own record must also hold the
    # recorded client side and answers.
    echo_span=$("$PYTHON" -c '
import json, sys
t = [e["t_ns"] for e in map(json.loads, open(sys.argv[1])) if e.get("type") == "frame" and e["dir"] == "out"]
print(f"{(t[-1] - t[0]) / 1e9:.3f}")' "$ROOT/recordings/echo.jsonl")
    for mode in "--speed 1" "--speed 4" --asap; do
        label=replay/to${mode// /-}
        record=$TMP/replay-to.jsonl
        rm -f "$record"
        if ! start_server "replay.to.listen$mode" "$WSCOPE" listen 0 --echo --no-tui --record "$record"; then
            fail "$label" "wscope listen printed no port" "$(logname "replay.to.listen$mode").log"
            continue
        fi
        listen_pid=$SERVER_PID
        started=$(date +%s%N)
        # shellcheck disable=SC2086
        run "replay.to$mode" -t 30 "$WSCOPE" replay "$ROOT/recordings/echo.jsonl" --to "ws://127.0.0.1:$PORT/echo" $mode --no-tui
        took=$(awk -v s="$started" -v e="$(date +%s%N)" 'BEGIN { printf "%.3f", (e - s) / 1e9 }')
        replay_rc=$RC replay_out=$OUT replay_err=$ERR
        wait_for_line "$(logname "replay.to.listen$mode").log" '#1 closed' 5
        stop "$listen_pid"
        if [ "$replay_rc" -ne 0 ]; then
            fail "$label" "wscope replay --to exited $replay_rc" "$replay_out" "$replay_err"
        elif ! "$PYTHON" "$CLI/jsonl_tool.py" compare "$ROOT/recordings/echo.jsonl" "$record" >"$TMP/check.out" 2>&1; then
            fail "$label" "the live server's record: $(head -c 400 "$TMP/check.out")" "$replay_out" "$replay_err"
        elif [ "$mode" = --asap ]; then
            span=$("$PYTHON" "$CLI/replay_check.py" span "$record")
            if awk -v a="$span" -v r="$echo_span" 'BEGIN { exit !(a < r / 2) }'; then
                pass "$label" "recorded over $echo_span s, arrived within $span s"
            else
                fail "$label" "the frames arrived over $span s, not much less than the recorded $echo_span s" "$record"
            fi
        elif ! "$PYTHON" "$CLI/replay_check.py" pacing "$ROOT/recordings/echo.jsonl" "$record" "${mode#--speed }" >"$TMP/check.out" 2>&1; then
            fail "$label" "$(head -c 400 "$TMP/check.out")" "$record"
        elif ! awk -v t="$took" -v r="$echo_span" -v x="${mode#--speed }" 'BEGIN { exit !(t >= r / x) }'; then
            fail "$label" "the replay took $took s, less than the recorded $echo_span s / ${mode#--speed }"
        else
            pass "$label" "$(sed 's/^ok: //' "$TMP/check.out"); the command took $took s"
        fi
    done

    # Recorded malformed frames (RSV1 without an extension, opcode 3, an unmasked frame)
    # go out as they were recorded; the servers fail the connection with 1002 today too.
    for kind in python node; do
        case $kind in
            python) server=("$PYTHON" "$CLI/py_peer.py" echo) ;;
            node) server=(node "$ROOT/Tests/Interop/node_echo_server.js" --port 0) ;;
        esac
        if start_server "replay.malformed.$kind" "${server[@]}"; then
            run "replay.malformed.$kind.to" "$WSCOPE" replay "$ROOT/recordings/malformed.jsonl" --to "ws://127.0.0.1:$PORT/" --no-tui \
                --record "$TMP/replay-malformed-$kind.jsonl"
            stop "$SERVER_PID"
            reason=$(crash_reason "$RC" "$OUT" "$ERR")
            # At least the valid text and the RSV1 frame went out (the ones after it race
            # the server's close), each byte for byte.
            if [ -n "$reason" ] || [ "$RC" -ne 0 ]; then
                fail "replay/malformed-$kind-1002" "wscope replay --to exited $RC $reason" "$OUT" "$ERR"
            elif ! grep -q -E '^#1 -> text +FIN RSV1 ' "$OUT" || ! grep -q -E '^#1 <- close .*1002' "$OUT" || ! grep -q -E '^#1 closed 1002' "$OUT"; then
                fail "replay/malformed-$kind-1002" "no RSV1 frame sent, or no close 1002 from the server" "$OUT" "$ERR"
            elif "$PYTHON" "$CLI/replay_check.py" sent "$ROOT/recordings/malformed.jsonl" "$TMP/replay-malformed-$kind.jsonl" 2 >"$TMP/check.out" 2>&1; then
                pass "replay/malformed-$kind-1002" "$(sed 's/^ok: //' "$TMP/check.out"); $(grep -m 1 -E '^#1 <- close' "$OUT" | cut -c 1-100)"
            else
                fail "replay/malformed-$kind-1002" "$(head -c 400 "$TMP/check.out")" "$OUT" "$ERR"
            fi
        else
            fail "replay/malformed-$kind-1002" "the $kind echo server printed no port" "$(logname "replay.malformed.$kind").log"
        fi
    done

    # The mock server: the recorded answers for a Python client, then a Node client (one
    # after the other), then two Node clients at once (each holds its connection open for
    # two seconds before its first message); each gets the whole script.
    "$PYTHON" "$CLI/jsonl_tool.py" steps <("$WSCOPE" dump --json "$ROOT/recordings/echo.jsonl") >"$TMP/echo.steps"
    port=$(free_port)
    bg replay.serve "$WSCOPE" replay "$ROOT/recordings/echo.jsonl" --serve "127.0.0.1:$port" --no-tui
    serve_pid=$LAST_PID
    serve_log=$(logname replay.serve).log
    # Wait for the port to accept (without connecting to it: a probe would be a client).
    wait_for_line "$serve_log" "listening on 127\.0\.0\.1:$port" 10
    run replay.serve.client -t 30 "$PYTHON" "$CLI/py_peer.py" expect "ws://127.0.0.1:$port/echo" "$TMP/echo.steps"
    if [ "$RC" -eq 0 ]; then
        pass replay/serve "$(tail -n 1 "$OUT")"
    else
        fail replay/serve "the Python client did not get the recorded answers (exit $RC)" "$OUT" "$ERR" "$serve_log"
    fi
    run replay.serve.node -t 30 node "$CLI/node_peer.js" expect "ws://127.0.0.1:$port/echo" "$TMP/echo.steps"
    if [ "$RC" -eq 0 ] && wait_for_line "$serve_log" '^#2 closed' 5; then
        pass replay/serve-node-client-next "$(tail -n 1 "$OUT"); client #2 of the mock"
    else
        fail replay/serve-node-client-next "the Node client did not get the recorded answers (exit $RC)" "$OUT" "$ERR" "$serve_log"
    fi
    bg replay.serve.at-once-a node "$CLI/node_peer.js" expect "ws://127.0.0.1:$port/echo" "$TMP/echo.steps" --hold 2
    a=$LAST_PID
    bg replay.serve.at-once-b node "$CLI/node_peer.js" expect "ws://127.0.0.1:$port/echo" "$TMP/echo.steps" --hold 2
    b=$LAST_PID
    wait "$a"; rca=$?; forget "$a"
    wait "$b"; rcb=$?; forget "$b"
    wait_for_line "$serve_log" '^#3 closed' 5
    wait_for_line "$serve_log" '^#4 closed' 5
    # At once: #4 opened before #3 closed.
    open4=$(grep -n -m 1 '^#4 open' "$serve_log" | cut -d: -f1)
    closed3=$(grep -n -m 1 '^#3 closed' "$serve_log" | cut -d: -f1)
    if [ "$rca" -ne 0 ] || [ "$rcb" -ne 0 ]; then
        fail replay/serve-two-at-once "a client did not get the recorded answers ($rca, $rcb)" \
            "$(logname replay.serve.at-once-a).log" "$(logname replay.serve.at-once-b).log" "$serve_log"
    elif [ -z "$open4" ] || [ -z "$closed3" ] || [ "$open4" -gt "$closed3" ]; then
        fail replay/serve-two-at-once "the two clients were not served at the same time" "$serve_log"
    else
        pass replay/serve-two-at-once "#3 and #4 open at once, each got the whole script"
    fi
    stop "$serve_pid"

    # Without --to or --serve and without a terminal: what `dump` prints.
    run replay.print "$WSCOPE" replay "$ROOT/recordings/malformed.jsonl"
    "$WSCOPE" dump "$ROOT/recordings/malformed.jsonl" >"$TMP/dump.out" 2>&1
    if [ "$RC" -eq 0 ] && [ -s "$OUT" ] && cmp -s "$OUT" "$TMP/dump.out"; then
        pass replay/print-without-terminal "$(grep -c '' "$OUT") lines, as dump prints them"
    else
        fail replay/print-without-terminal "exit $RC, or not what dump prints" "$OUT" "$ERR"
    fi

    # Bad input: one clear line, a non-zero exit.
    head -n 4 "$ROOT/recordings/echo.jsonl" >"$TMP/corrupt.jsonl"
    printf '{"type":"frame","conn":1,"dir":"out",oops}\n' >>"$TMP/corrupt.jsonl"
    tail -n +5 "$ROOT/recordings/echo.jsonl" >>"$TMP/corrupt.jsonl"
    : >"$TMP/empty.jsonl"
    head -n 2 "$ROOT/recordings/echo.jsonl" >"$TMP/no-connection.jsonl"
    refused=$(free_port)
    bad_input replay/bad-missing-file 1 "cannot open.*/nonexistent/rec\.jsonl" "$WSCOPE" replay /nonexistent/rec.jsonl --to "ws://127.0.0.1:$refused/"
    bad_input replay/bad-corrupt-line 1 'corrupt\.jsonl: line 5.*--skip-bad-lines' "$WSCOPE" replay "$TMP/corrupt.jsonl" --to "ws://127.0.0.1:$refused/"
    bad_input replay/bad-corrupt-line-browse 1 'corrupt\.jsonl: line 5' "$WSCOPE" replay "$TMP/corrupt.jsonl" --no-tui
    bad_input replay/bad-empty-file 1 'empty\.jsonl: empty recording' "$WSCOPE" replay "$TMP/empty.jsonl" --serve 0
    bad_input replay/bad-no-connection-to 1 'no connection' "$WSCOPE" replay "$TMP/no-connection.jsonl" --to "ws://127.0.0.1:$refused/"
    bad_input replay/bad-no-connection-serve 1 'no connection' "$WSCOPE" replay "$TMP/no-connection.jsonl" --serve 0
    bad_input replay/bad-refused-to 1 "refused.*$refused" "$WSCOPE" replay "$ROOT/recordings/echo-listen.jsonl" --to "ws://127.0.0.1:$refused/" --no-tui
    bad_input replay/bad-unresolvable-to 1 'resolve|nonexistent\.invalid' "$WSCOPE" replay "$ROOT/recordings/echo.jsonl" --to ws://nonexistent.invalid/ --no-tui
    bad_input replay/bad-to-and-serve 2 'together' "$WSCOPE" replay "$ROOT/recordings/echo.jsonl" --to ws://x/ --serve 0
    # Seconds become milliseconds: an infinite or huge value is a usage error, not a trap.
    bad_input replay/bad-idle-timeout-inf 2 'idle-timeout' "$WSCOPE" replay "$ROOT/recordings/echo.jsonl" --serve 0 --idle-timeout inf
    bad_input replay/bad-close-timeout-huge 2 'close-timeout' "$WSCOPE" replay "$ROOT/recordings/echo.jsonl" --to "ws://127.0.0.1:$refused/" --close-timeout 1e300
    bad_input replay/bad-speed-zero 2 'speed' "$WSCOPE" replay "$ROOT/recordings/echo.jsonl" --to "ws://127.0.0.1:$refused/" --speed 0
    if start_server replay.port-holder "$PYTHON" -c '
import socket, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
print(s.getsockname()[1], flush=True)
time.sleep(80)'; then
        bad_input replay/bad-busy-serve-port 1 "in use|$PORT" "$WSCOPE" replay "$ROOT/recordings/echo.jsonl" --serve "127.0.0.1:$PORT"
        stop "$SERVER_PID"
    else
        fail replay/bad-busy-serve-port "the port holder printed no port" "$(logname replay.port-holder).log"
    fi
    # --skip-bad-lines: the bad line is a warning naming it, the rest replays.
    if start_server replay.skip.listen "$WSCOPE" listen 0 --echo --no-tui; then
        run replay.skip "$WSCOPE" replay "$TMP/corrupt.jsonl" --skip-bad-lines --asap --to "ws://127.0.0.1:$PORT/" --no-tui
        stop "$SERVER_PID"
        if [ "$RC" -eq 0 ] && grep -q -E 'warning: .*line 5' "$ERR" && grep -q -E '^#1 closed 1000 .*cleanly' "$OUT" &&
            [ "$(grep -c -E '^#1 -> ' "$OUT")" -eq 6 ]; then
            pass replay/skip-bad-lines "$(grep -m 1 'line 5' "$ERR" | cut -c 1-120)"
        else
            fail replay/skip-bad-lines "exit $RC, no warning naming line 5, or not the 6 recorded client frames" "$OUT" "$ERR"
        fi
    else
        fail replay/skip-bad-lines "wscope listen printed no port" "$(logname replay.skip.listen).log"
    fi
else
    skip "replay --to/--serve" "'wscope replay --help' shows no replay command"
fi

make_certs() {  # DIR: ca, server (IP:127.0.0.1), wrong (SAN for another host), expired, client
    local d=$1 ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    mkdir -p "$d"
    (
        cd "$d" || exit 1
        openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem -days 2 -subj "/CN=wscope test CA" \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign &&
            openssl req "${ec[@]}" -keyout server.key -out server.csr -subj "/CN=127.0.0.1" &&
            openssl req "${ec[@]}" -keyout wrong.key -out wrong.csr -subj "/CN=wrong.example" &&
            printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >server.ext &&
            printf 'subjectAltName=DNS:wrong.example,IP:127.0.0.2\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >wrong.ext &&
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out server.pem &&
            openssl x509 -req -in wrong.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile wrong.ext -out wrong.pem &&
            cp server.key expired.key &&
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days -1 -extfile server.ext -out expired.pem &&
            openssl req "${ec[@]}" -keyout client.key -out client.csr -subj "/CN=wscope test client" &&
            printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n' >client.ext &&
            openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile client.ext -out client.pem &&
            printf 'not a certificate\n' >garbage.pem
    ) >"$LOGS/tls.certs.log" 2>&1
}

if [ "$HAS_WSS" = 1 ] || [ "$HAS_TLS_LISTEN" = 1 ]; then
    CERTS=$TMP/certs
    if ! make_certs "$CERTS"; then
        fail tls/certificates "openssl failed" "$LOGS/tls.certs.log"
        HAS_WSS=0 HAS_TLS_LISTEN=0
    fi
fi

# tls_typed NAME URL 'OPTION...' LINE...: `typed` (section 6) with connect OPTIONs (split
# on spaces): "wait:PATTERN" waits for an output line, other LINEs are typed; then end of input.
tls_typed() {
    local name=$1 url=$2 options=$3 line pid out err
    shift 3
    out=$(logname "$name").out
    err=$(logname "$name").err
    rm -f "$TMP/tls-in"
    mkfifo "$TMP/tls-in"
    # shellcheck disable=SC2086
    timeout -k 2 "$CMD_TIMEOUT" "$WSCOPE" connect "$url" --no-tui $options <"$TMP/tls-in" >"$out" 2>"$err" &
    pid=$!
    BACKGROUND+=("$pid")
    exec 8>"$TMP/tls-in"
    for line in "$@"; do
        case $line in
            wait:*) wait_for_line "$out" "${line#wait:}" 10 ;;
            *) printf '%s\n' "$line" >&8 ;;
        esac
    done
    exec 8>&-
    wait "$pid"
    RC=$?
    forget "$pid"
    OUT=$out
    ERR=$err
}

# wss_echo NAME URL [OPTIONS...]: `wscope connect URL --no-tui OPTIONS` typing one line and
# waiting for it to come back (a peer may drop an echo that crosses our close); passes
# when it came back, the connection closed cleanly and the tls event line was printed.
wss_echo() {
    local name=$1 url=$2 reason
    shift 2
    tls_typed "$name" "$url" "$*" 'wait:#1 open' 'over tls' 'wait:<- text .*"over tls"'
    reason=$(crash_reason "$RC" "$OUT" "$ERR")
    if [ -n "$reason" ] || [ "$RC" -ne 0 ]; then
        fail "$name" "exit $RC $reason" "$OUT" "$ERR"
        return 1
    elif ! grep -q -E '<- text .*"over tls"' "$OUT" || ! grep -q -E 'closed 1000 .*cleanly' "$OUT"; then
        fail "$name" "the line did not come back over TLS, or no clean close" "$OUT" "$ERR"
        return 1
    elif ! grep -q -E '^#1 tls TLSv1\.[23] [A-Z0-9_-]+ .*peer="CN=127\.0\.0\.1" (verified|NOT VERIFIED)$' "$OUT"; then
        fail "$name" "no '#1 tls VERSION CIPHER ... peer=\"CN=127.0.0.1\" verified' line" "$OUT" "$ERR"
        return 1
    fi
    pass "$name" "echo over TLS, closed cleanly; $(grep -m 1 '^#1 tls ' "$OUT")"
}

if [ "$HAS_TLS_LISTEN" = 1 ]; then
    if start_server tls.listen "$WSCOPE" listen 0 --echo --no-tui --tls-cert "$CERTS/server.pem" --tls-key "$CERTS/server.key"; then
        tls_listen_pid=$SERVER_PID
        if [ "$HAS_WSS" = 1 ]; then
            wss_echo tls/wscope-to-wscope-cacert "wss://127.0.0.1:$PORT/" --cacert "$CERTS/ca.pem"
        fi
        run tls.listen.python-client "$PYTHON" "$CLI/py_peer.py" tls-client "wss://127.0.0.1:$PORT/" "$CERTS/ca.pem"
        if [ "$RC" -eq 0 ]; then
            pass tls/python-client-to-wscope-listen "$(tail -n 1 "$OUT")"
        else
            fail tls/python-client-to-wscope-listen "Python's verified TLS client failed (exit $RC)" "$OUT" "$(logname tls.listen).log"
        fi
        stop "$tls_listen_pid"
    else
        fail tls/listen "wscope listen --tls-cert printed no port" "$(logname tls.listen).log"
    fi
else
    skip "listen --tls-cert/--tls-key" "'wscope listen --help' has no --tls-cert"
fi

if [ "$HAS_WSS" = 1 ]; then
    # tls_server NAME CERT: the Python websockets echo server over TLS with CERT.
    tls_server() {
        start_server "$1" "$PYTHON" "$CLI/py_peer.py" echo --tls-cert "$CERTS/$2.pem" --tls-key "$CERTS/$2.key"
    }
    if tls_server tls.py.good server; then
        good=$PORT good_pid=$SERVER_PID
        wss_echo tls/python-server-cacert "wss://127.0.0.1:$good/" --cacert "$CERTS/ca.pem"
        bad_input tls/python-server-unknown-ca 1 'unknown (certificate )?authority|unknown ca|local issuer|self[- ]signed|not trusted|untrusted' \
            "$WSCOPE" connect "wss://127.0.0.1:$good/" --no-tui
        tls_typed tls.insecure "wss://127.0.0.1:$good/" --insecure 'wait:#1 open' 'over tls' 'wait:<- text .*"over tls"'
        if [ "$RC" -eq 0 ] && grep -q -E '<- text .*"over tls"' "$OUT" && grep -q -i -E 'warning|insecure|not verif' "$ERR" &&
            grep -q -E '^#1 tls .* NOT VERIFIED$' "$OUT"; then
            pass tls/python-server-insecure "$(grep -i -E 'warning|insecure|not verif' "$ERR" | head -1 | cut -c 1-120)"
        else
            fail tls/python-server-insecure "expected exit 0, the echo, and a loud warning on stderr (exit $RC)" "$OUT" "$ERR"
        fi
        stop "$good_pid"
    else
        fail tls/python-server "py_peer.py echo --tls-cert printed no port" "$(logname tls.py.good).log"
    fi
    if tls_server tls.py.expired expired; then
        bad_input tls/expired-certificate 1 'expired' "$WSCOPE" connect "wss://127.0.0.1:$PORT/" --no-tui --cacert "$CERTS/ca.pem"
        stop "$SERVER_PID"
    fi
    if tls_server tls.py.wrong wrong; then
        bad_input tls/hostname-mismatch 1 'hostname|host name|mismatch|does not match|IP address' \
            "$WSCOPE" connect "wss://127.0.0.1:$PORT/" --no-tui --cacert "$CERTS/ca.pem"
        stop "$SERVER_PID"
    fi
else
    skip "wss:// client (--cacert, --insecure)" "'wscope connect --help' has no --cacert"
fi

# Node's ws both ways, crafted frames over TLS, a recording over wss replayed with
# --to wss://, client certificates, bad certificate files, and the failures that are
# not about certificates (a plain server, a server that never answers the handshake).
if [ "$HAS_WSS" = 1 ] && [ "$HAS_TLS_LISTEN" = 1 ]; then
    tls_listen() {  # NAME [OPTIONS...]: wscope listen --echo over TLS with the server certificate
        local name=$1
        shift
        start_server "$name" "$WSCOPE" listen 0 --echo --no-tui --tls-cert "$CERTS/server.pem" --tls-key "$CERTS/server.key" "$@"
    }

    if start_server tls.node.server node "$CLI/node_tls_peer.js" server "$CERTS/server.pem" "$CERTS/server.key"; then
        node_pid=$SERVER_PID
        wss_echo tls/node-server-cacert "wss://127.0.0.1:$PORT/" --cacert "$CERTS/ca.pem"
        stop "$node_pid"
    else
        fail tls/node-server "node_tls_peer.js server printed no port" "$(logname tls.node.server).log"
    fi

    if tls_listen tls.listen.node; then
        listen_pid=$SERVER_PID
        listen_log=$(logname tls.listen.node).log
        run tls.listen.node-client node "$CLI/node_tls_peer.js" client "wss://127.0.0.1:$PORT/node" "$CERTS/ca.pem" "node over tls ✓"
        wait_for_line "$listen_log" '#1 closed' 5
        stop "$listen_pid"
        if [ "$RC" -ne 0 ]; then
            fail tls/node-client-to-wscope-listen "Node's verified TLS client failed (exit $RC)" "$OUT" "$listen_log"
        elif ! grep -q -E '^#1 tls TLSv1\.[23] [A-Z0-9_-]+ no peer certificate$' "$listen_log" ||
            ! grep -q -E '^#1 <- text .*"node over tls ✓"' "$listen_log"; then
            fail tls/node-client-to-wscope-listen "no '#1 tls ...' line or no message in the listener's output" "$listen_log"
        else
            pass tls/node-client-to-wscope-listen "$(head -n 1 "$OUT"); $(grep -m 1 '^#1 tls' "$listen_log")"
        fi
    else
        fail tls/node-client-to-wscope-listen "wscope listen --tls-cert printed no port" "$(logname tls.listen.node).log"
    fi

    # Crafted frames over TLS: a fragmented message that Python reassembles and echoes;
    # a reserved opcode it must answer with 1002 (on its own connection: websockets fails
    # the connection at once, dropping an echo still on its way).
    if tls_server tls.py.send server; then
        run tls.send-fragments "$WSCOPE" send "wss://127.0.0.1:$PORT/" 'text:over ;fin=0' 'cont:tls' --cacert "$CERTS/ca.pem" --timeout 1
        reason=$(crash_reason "$RC" "$OUT" "$ERR")
        if [ -n "$reason" ] || [ "$RC" -ne 0 ]; then
            fail tls/send-crafted-fragments "exit $RC $reason" "$OUT" "$ERR"
        elif ! grep -q -E '^#1 tls TLSv1\.[23] ' "$OUT" || ! grep -q -E '^#1 -> text +--- MASK=[0-9a-f]{8} len=5 "over "' "$OUT" ||
            ! grep -q -E '^#1 -> cont +FIN MASK=[0-9a-f]{8} len=3 "tls"' "$OUT" || ! grep -q -E '^#1 <- text +FIN len=8 "over tls"' "$OUT"; then
            fail tls/send-crafted-fragments "expected the tls line, the two crafted fragments and the reassembled echo" "$OUT" "$ERR"
        else
            pass tls/send-crafted-fragments "$(grep -E '^#1 <- text' "$OUT" | head -1)"
        fi
        run tls.send-op3 "$WSCOPE" send "wss://127.0.0.1:$PORT/" 'op3:x;rsv2=1' --cacert "$CERTS/ca.pem" --timeout 2
        reason=$(crash_reason "$RC" "$OUT" "$ERR")
        if [ -n "$reason" ] || [ "$RC" -ne 0 ]; then
            fail tls/send-crafted-op3 "exit $RC $reason" "$OUT" "$ERR"
        elif ! grep -q -E '^#1 -> op3 +FIN RSV2 MASK=' "$OUT" || ! grep -q -E '^#1 <- close .*1002' "$OUT"; then
            fail tls/send-crafted-op3 "expected '-> op3 FIN RSV2' and '<- close ... 1002'" "$OUT" "$ERR"
        else
            pass tls/send-crafted-op3 "$(grep -E '^#1 <- close' "$OUT" | head -1)"
        fi
        stop "$SERVER_PID"
    fi

    # A recording made over wss has the tls event (dump shows it) and replays to a fresh
    # wss server with the same answers.
    rec=$TMP/tls-record.jsonl replayed=$TMP/tls-replayed.jsonl
    if tls_listen tls.record.listen; then
        tls_typed tls.record "wss://127.0.0.1:$PORT/rec" "--cacert $CERTS/ca.pem --record $rec" \
            'wait:#1 open' 'first over tls' 'wait:<- text .*"first over tls"' 'second ✓' 'wait:<- text .*"second ✓"'
        stop "$SERVER_PID"
        record_rc=$RC
        run tls.record.dump "$WSCOPE" dump "$rec"
        dump_out=$OUT
        run tls.record.dump-json "$WSCOPE" dump --json "$rec"
        if [ "$record_rc" -ne 0 ] || [ "$RC" -ne 0 ]; then
            fail tls/recording-has-tls-event "connect --record exited $record_rc, dump --json $RC" "$(logname tls.record).out" "$ERR"
        elif ! grep -q -E '^ +[0-9.]+ #1 tls TLSv1\.[23] [A-Z0-9_-]+ peer="CN=127\.0\.0\.1" verified$' "$dump_out" ||
            ! grep -q -E '^\{"type":"tls","conn":1,"t_ns":[0-9]+,"tls_version":"TLSv1\.[23]","cipher":"[A-Z0-9_-]+",.*"verified":true\}$' "$OUT"; then
            fail tls/recording-has-tls-event "no tls line in dump, or no {\"type\":\"tls\",...} in dump --json" "$dump_out" "$OUT"
        else
            pass tls/recording-has-tls-event "$(grep -m 1 '#1 tls' "$dump_out" | sed 's/^ *//')"
        fi
        # HAR has no place for it: convert leaves it out and keeps every message.
        run tls.record.convert "$WSCOPE" convert "$rec" "$TMP/tls-record.har"
        if [ "$RC" -eq 0 ] && "$PYTHON" "$CLI/jsonl_tool.py" har-check "$TMP/tls-record.har" >"$TMP/check.out" 2>&1 &&
            "$WSCOPE" convert "$TMP/tls-record.har" "$TMP/tls-record-back.jsonl" >/dev/null 2>&1 &&
            "$PYTHON" "$CLI/jsonl_tool.py" compare "$rec" "$TMP/tls-record-back.jsonl" >>"$TMP/check.out" 2>&1; then
            pass tls/recording-to-har "$(tail -n 1 "$TMP/check.out")"
        else
            fail tls/recording-to-har "convert exited $RC or the HAR round trip lost messages: $(head -c 300 "$TMP/check.out")" "$OUT" "$ERR"
        fi
        if tls_listen tls.replay.listen --record "$replayed"; then
            listen_pid=$SERVER_PID
            run tls.replay -t 30 "$WSCOPE" replay "$rec" --to "wss://127.0.0.1:$PORT/rec" --cacert "$CERTS/ca.pem" --asap --no-tui
            replay_rc=$RC replay_out=$OUT replay_err=$ERR
            wait_for_line "$(logname tls.replay.listen).log" '#1 closed' 5
            stop "$listen_pid"
            if [ "$replay_rc" -ne 0 ]; then
                fail tls/replay-to-wss "wscope replay --to wss:// exited $replay_rc" "$replay_out" "$replay_err"
            elif ! grep -q -E '^#1 tls TLSv1\.[23] ' "$replay_out"; then
                fail tls/replay-to-wss "no tls line in the replay's output" "$replay_out" "$replay_err"
            elif "$PYTHON" "$CLI/jsonl_tool.py" compare "$rec" "$replayed" >"$TMP/check.out" 2>&1; then
                pass tls/replay-to-wss "the wss server saw and answered $(sed 's/^ok: //' "$TMP/check.out") as recorded"
            else
                fail tls/replay-to-wss "$(head -c 400 "$TMP/check.out")" "$replay_out" "$replay_err" "$(logname tls.replay.listen).log"
            fi
        else
            fail tls/replay-to-wss "wscope listen --tls-cert printed no port" "$(logname tls.replay.listen).log"
        fi
    else
        fail tls/recording "wscope listen --tls-cert printed no port" "$(logname tls.record.listen).log"
    fi

    # listen --cacert: clients must present a certificate from that CA.
    if tls_listen tls.listen.mtls --cacert "$CERTS/ca.pem"; then
        listen_pid=$SERVER_PID
        listen_log=$(logname tls.listen.mtls).log
        if wss_echo tls/client-certificate "wss://127.0.0.1:$PORT/" --cacert "$CERTS/ca.pem" \
            --tls-cert "$CERTS/client.pem" --tls-key "$CERTS/client.key"; then
            wait_for_line "$listen_log" '#1 closed' 5
            if grep -q -E '^#1 tls .* peer="CN=wscope test client" verified$' "$listen_log"; then
                pass tls/client-certificate-verified-by-listen "$(grep -m 1 '^#1 tls' "$listen_log")"
            else
                fail tls/client-certificate-verified-by-listen "no '#1 tls ... peer=\"CN=wscope test client\" verified' line" "$listen_log"
            fi
        fi
        # Without one: the server refuses (TLS 1.3 tells the client after its handshake).
        run tls.client-certificate-missing "$WSCOPE" connect "wss://127.0.0.1:$PORT/" --no-tui --cacert "$CERTS/ca.pem"
        reason=$(crash_reason "$RC" "$OUT" "$ERR")
        problems=$(grep -c -E '^(#[0-9]+ )?(error: |handshake failed )|^wscope: ' "$OUT" "$ERR" | awk -F: '{ n += $2 } END { print n }')
        if [ -n "$reason" ] || [ "$RC" -ne 1 ]; then
            fail tls/client-certificate-missing "exit $RC $reason, expected 1" "$OUT" "$ERR"
        elif [ "$problems" -ne 1 ] || ! grep -q -i -E 'requires a client certificate|certificate required' "$OUT"; then
            fail tls/client-certificate-missing "expected one line saying that the server requires a client certificate" "$OUT" "$ERR"
        else
            pass tls/client-certificate-missing "exit 1: $(grep -h -E 'error: |handshake failed ' "$OUT" | cut -c 1-150)"
        fi
        wait_for_line "$listen_log" '#2 handshake failed' 5
        if grep -q -E '^#2 handshake failed .*certificate' "$listen_log"; then
            pass tls/listen-refuses-client-without-certificate "$(grep -m 1 '^#2 handshake failed' "$listen_log" | cut -c 1-150)"
        else
            fail tls/listen-refuses-client-without-certificate "no '#2 handshake failed ... certificate' line" "$listen_log"
        fi
        stop "$listen_pid"
    else
        fail tls/client-certificate "wscope listen --tls-cert --cacert printed no port" "$(logname tls.listen.mtls).log"
    fi

    # Bad certificate files: one line naming the file or the problem, exit 1.
    bad_input tls/listen-certificate-not-pem 1 'garbage\.pem' \
        "$WSCOPE" listen 0 --no-tui --tls-cert "$CERTS/garbage.pem" --tls-key "$CERTS/server.key"
    bad_input tls/listen-key-does-not-match 1 'does not match|mismatch' \
        "$WSCOPE" listen 0 --no-tui --tls-cert "$CERTS/server.pem" --tls-key "$CERTS/wrong.key"
    bad_input tls/connect-cacert-not-pem 1 'garbage\.pem' "$WSCOPE" connect "wss://127.0.0.1:$REFUSED/" --no-tui \
        --cacert "$CERTS/garbage.pem" --record "$TMP/not-made.jsonl"
    if [ -e "$TMP/not-made.jsonl" ]; then
        fail tls/bad-certificate-file-makes-no-recording "a recording was created although the run could not start"
    else
        pass tls/bad-certificate-file-makes-no-recording
    fi
    bad_input tls/connect-client-key-does-not-match 1 'does not match|mismatch' "$WSCOPE" connect "wss://127.0.0.1:$REFUSED/" --no-tui \
        --cacert "$CERTS/ca.pem" --tls-cert "$CERTS/client.pem" --tls-key "$CERTS/server.key"

    # A plain ws server answering a wss client, and one that never answers the handshake.
    if start_server tls.plain.node node "$ROOT/Tests/Interop/node_echo_server.js" --port 0; then
        bad_input tls/plain-node-server 1 'TLS handshake .*failed: the server does not speak TLS' \
            "$WSCOPE" connect "wss://127.0.0.1:$PORT/" --no-tui --cacert "$CERTS/ca.pem"
        stop "$SERVER_PID"
    fi
    # websockets hangs up on a ClientHello without answering.
    if start_server tls.plain.python "$PYTHON" "$CLI/py_peer.py" echo; then
        bad_input tls/plain-python-server 1 'TLS handshake .*failed: .*closed' \
            "$WSCOPE" connect "wss://127.0.0.1:$PORT/" --no-tui --cacert "$CERTS/ca.pem"
        stop "$SERVER_PID"
    fi
    if start_server tls.silent "$PYTHON" -c '
import socket, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
print(s.getsockname()[1], flush=True)
time.sleep(80)'; then
        bad_input tls/handshake-timeout 1 'timed out|timeout' \
            "$WSCOPE" connect "wss://127.0.0.1:$PORT/" --no-tui --cacert "$CERTS/ca.pem" --connect-timeout 1
        stop "$SERVER_PID"
    fi

    # replay --serve with --tls-cert: the mock server speaks wss to a verifying client.
    "$PYTHON" "$CLI/jsonl_tool.py" steps <("$WSCOPE" dump --json "$ROOT/recordings/echo.jsonl") >"$TMP/tls-echo.steps"
    port=$(free_port)
    bg tls.replay.serve "$WSCOPE" replay "$ROOT/recordings/echo.jsonl" --serve "127.0.0.1:$port" --no-tui \
        --tls-cert "$CERTS/server.pem" --tls-key "$CERTS/server.key"
    serve_pid=$LAST_PID
    for ((i = 0; i < 100; i++)); do
        ss -ltn 2>/dev/null | grep -q "127.0.0.1:$port " && break
        kill -0 "$serve_pid" 2>/dev/null || break
        sleep 0.05
    done
    run tls.replay.serve.client -t 30 "$PYTHON" "$CLI/py_peer.py" expect "wss://127.0.0.1:$port/echo" "$TMP/tls-echo.steps" --cafile "$CERTS/ca.pem"
    stop "$serve_pid"
    serve_log=$(logname tls.replay.serve).log
    if [ "$RC" -ne 0 ]; then
        fail tls/replay-serve-wss "the Python wss client did not get the recorded answers (exit $RC)" "$OUT" "$ERR" "$serve_log"
    elif ! grep -q -E '^#1 tls TLSv1\.[23] ' "$serve_log"; then
        fail tls/replay-serve-wss "no '#1 tls' line in the mock server's output" "$serve_log"
    else
        pass tls/replay-serve-wss "$(tail -n 1 "$OUT"); $(grep -m 1 '^#1 tls' "$serve_log")"
    fi

    # --insecure warns on every run, send included.
    if tls_server tls.py.insecure-send expired; then
        run tls.insecure-send "$WSCOPE" send "wss://127.0.0.1:$PORT/" 'text:x' --insecure --timeout 0.5
        if [ "$RC" -eq 0 ] && grep -q -E 'WARNING: --insecure' "$ERR" && grep -q -E '^#1 tls .* NOT VERIFIED$' "$OUT"; then
            pass tls/insecure-warns-on-send "$(grep -m 1 '^#1 tls' "$OUT")"
        else
            fail tls/insecure-warns-on-send "expected exit 0, the warning on stderr and a NOT VERIFIED tls line (exit $RC)" "$OUT" "$ERR"
        fi
        stop "$SERVER_PID"
    fi
else
    skip "wss:// against Node, crafted frames, recording and replay over TLS" "needs both the wss client and listen --tls-cert"
fi

echo
echo "cli-tests: $(elapsed) s"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
