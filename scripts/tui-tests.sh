#!/usr/bin/env bash
# Drives the real wscope binary in tmux and reads the screen back:
#
#   scripts/tui-tests.sh            build (.build-tui) and run every case
#   WSCOPE=path/to/wscope scripts/tui-tests.sh    test that binary instead
#
# Each case prints PASS or FAIL (with the screen on failure); the last line is
# "N passed, M failed" and the exit status is non-zero when a case failed. tmux runs on a
# private socket (-L), so the user's own tmux sessions are not touched.
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
PASSED=0
FAILED=0

summary() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}

if ! command -v tmux >/dev/null; then
    echo "FAIL tmux is not installed (apt-get install tmux)"
    FAILED=1
    summary
    exit 1
fi

if [ -z "${WSCOPE:-}" ]; then
    if ! swift build --scratch-path .build-tui --product wscope >&2; then
        echo "FAIL build"
        FAILED=1
        summary
        exit 1
    fi
    WSCOPE=$ROOT/.build-tui/debug/wscope
fi

export LANG=C.UTF-8 LC_ALL=C.UTF-8
SOCKET=wscope-tui-tests-$$
TMP=$(mktemp -d /tmp/wscope-tui-tests.XXXXXX)
T() { tmux -L "$SOCKET" -f /dev/null "$@"; }
cleanup() {
    T kill-server >/dev/null 2>&1
    rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$SOCKET"
    rm -rf "$TMP"
}
trap cleanup EXIT
# A session that lives for the whole run, so that the server stays up between cases.
T start-server \; set-option -g default-terminal tmux-256color \; set-option -g exit-empty off \; \
    new-session -d -s keep -x 120 -y 40 'sleep 100000'

SCREEN=""

pass() { echo "PASS $1"; PASSED=$((PASSED + 1)); }
fail() {
    echo "FAIL $1${2:+: $2}"
    printf '%s\n' "$SCREEN" | sed 's/^/    | /'
    FAILED=$((FAILED + 1))
}

capture() { SCREEN=$(T capture-pane -p -t tui 2>/dev/null); }

# settle: captures until two captures 0.15 s apart are equal (at most ~0.6 s), so that the
# checks after a wait see a whole frame, not one caught while ncurses is still drawing.
settle() {
    local previous i
    for ((i = 0; i < 4; i++)); do
        previous=$SCREEN
        sleep 0.15
        capture
        [ "$SCREEN" = "$previous" ] && return 0
    done
    return 0
}

# wait_for TEXT [SECONDS]: polls the screen until it shows TEXT (fixed string).
wait_for() {
    local text=$1 limit=${2:-6} start
    start=$(date +%s%N)
    while :; do
        capture
        if grep -qF -- "$text" <<<"$SCREEN"; then settle; if grep -qF -- "$text" <<<"$SCREEN"; then return 0; fi; fi
        if [ $(( ($(date +%s%N) - start) / 1000000 )) -ge $((limit * 1000)) ]; then return 1; fi
        sleep 0.1
    done
}

# wait_for_regex REGEX [SECONDS]
wait_for_regex() {
    local regex=$1 limit=${2:-6} start
    start=$(date +%s%N)
    while :; do
        capture
        if grep -qE -- "$regex" <<<"$SCREEN"; then settle; if grep -qE -- "$regex" <<<"$SCREEN"; then return 0; fi; fi
        if [ $(( ($(date +%s%N) - start) / 1000000 )) -ge $((limit * 1000)) ]; then return 1; fi
        sleep 0.1
    done
}

count() { grep -cF -- "$1" <<<"$SCREEN"; }

# wait_for_count TEXT N [SECONDS]: until TEXT is on N or more rows.
wait_for_count() {
    local text=$1 wanted=$2 limit=${3:-8} start
    start=$(date +%s%N)
    while :; do
        capture
        if [ "$(count "$text")" -ge "$wanted" ]; then settle; if [ "$(count "$text")" -ge "$wanted" ]; then return 0; fi; fi
        if [ $(( ($(date +%s%N) - start) / 1000000 )) -ge $((limit * 1000)) ]; then return 1; fi
        sleep 0.1
    done
}

# start [ENV=VALUE...] -- [wscope demo arguments...]: a fresh 120x40 session running the
# demo; when it exits, the shell prints its status and the terminal modes that matter.
start() {
    local env=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do env+=("$1"); shift; done
    [ "${1:-}" = "--" ] && shift
    T kill-session -t tui >/dev/null 2>&1
    local args=""
    for arg in "$@"; do args+=" '$arg'"; done
    T new-session -d -s tui -x 120 -y 40 \
        "env ${env[*]:-} '$WSCOPE' demo$args; echo EXIT=\$?; echo STTY=\$(stty -a | tr ' ;' '\n\n' | grep -E '^-?(icanon|echo|isig|icrnl)\$' | tr '\n' ' '); sleep 600"
}

flag() { T display-message -p -t tui "#{$1}"; }

quit_and_check() {
    local name=$1 keys=$2
    local expected=${3:-EXIT=0}
    if [[ "$keys" == SIG* ]]; then
        local shell child
        shell=$(T display-message -p -t tui '#{pane_pid}')
        child=$(pgrep -P "$shell" | head -1)
        if [ -z "$child" ]; then fail "$name" "no wscope process under the pane's shell"; return; fi
        kill -"${keys#SIG}" "$child"
    else
        T send-keys -t tui "$keys"
    fi
    if ! wait_for "STTY=" 8; then fail "$name" "wscope did not exit"; return; fi
    local status modes alternate mouse cursor
    status=$(grep -o 'EXIT=[0-9]*' <<<"$SCREEN")
    modes=$(grep -o 'STTY=.*' <<<"$SCREEN")
    alternate=$(flag alternate_on)
    mouse=$(flag mouse_sgr_flag)$(flag mouse_any_flag)$(flag mouse_button_flag)
    cursor=$(flag cursor_flag)
    # Cooked mode again: icanon, echo, isig, icrnl all on (stty prints "-echo" when off).
    if [ "$status" = "$expected" ] && [ "$(wc -w <<<"${modes#STTY=}")" -eq 4 ] && [[ "$modes" != *-* ]]; then
        if [ "$alternate" = 0 ] && [ "$mouse" = 000 ] && [ "$cursor" = 1 ]; then
            pass "$name"
        else
            fail "$name" "alternate_on=$alternate mouse flags=$mouse cursor_flag=$cursor"
        fi
    else
        fail "$name" "$status $modes"
    fi
}

# ---------------------------------------------------------------------------------------

start --
if wait_for_count '{\"type\":\"json\",\"ok\":true}"' 2 10 \
    && grep -qF '→  text    FIN --- MASK       22  "Hello from wscope 👋"' <<<"$SCREEN" \
    && grep -qF '←  text    FIN --- ----       22  "Hello from wscope 👋"' <<<"$SCREEN" \
    && grep -qF '←  binary  FIN --- ----        5  hex:000102feff' <<<"$SCREEN" \
    && grep -qF '→  ping    FIN --- MASK       14  "are you there?"' <<<"$SCREEN" \
    && grep -qF '←  pong    FIN --- ----       14  "are you there?"' <<<"$SCREEN" \
    && grep -qF '→  text    --- --- MASK       10  "a message "' <<<"$SCREEN" \
    && grep -qF '→  cont    FIN --- MASK        8  "ragments"' <<<"$SCREEN" \
    && grep -qF '←  text    FIN --- ----       28  "a message in three fragments"' <<<"$SCREEN"; then
    pass "demo start shows the exchanged frames"
else
    fail "demo start shows the exchanged frames"
fi

if grep -qE '^ wscope demo  ws://127\.0\.0\.1:[0-9]+/demo │ open │ in 5 fr 104 B │ out 7 fr 136 B' <<<"$SCREEN" \
    && grep -qF 'FOLLOW' <<<"$SCREEN" && grep -qF '○ rec' <<<"$SCREEN" \
    && [ "$(flag alternate_on)" = 1 ] && [ "$(flag mouse_sgr_flag)" = 1 ]; then
    pass "status bar: endpoint, state, counters; alternate screen and SGR mouse on"
else
    fail "status bar: endpoint, state, counters; alternate screen and SGR mouse on"
fi

# Select the binary frame we sent with a filter, read its Header pane, then the Hex pane.
T send-keys -t tui / ; T send-keys -t tui -l 'op:binary dir:out'; T send-keys -t tui Enter
if wait_for 'opcode     0x2 binary' \
    && grep -qF 'direction  → out (sent)' <<<"$SCREEN" \
    && grep -qF 'FIN        1' <<<"$SCREEN" \
    && grep -qF 'MASK       1' <<<"$SCREEN" \
    && grep -qE 'mask key   [0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2}' <<<"$SCREEN" \
    && grep -qF 'length     5 (7-bit field)' <<<"$SCREEN" \
    && grep -qE 'header     82 85 [0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2}  \(6 bytes\)' <<<"$SCREEN" \
    && grep -qF 'filter 1/' <<<"$SCREEN"; then
    pass "filter selects a frame; Header pane shows its fields and raw header bytes"
else
    fail "filter selects a frame; Header pane shows its fields and raw header bytes"
fi

T send-keys -t tui 3
if wait_for '00000000  00 01 02 fe ff' && grep -qF '|.....|' <<<"$SCREEN" \
    && grep -qF 'payload, 5 bytes (unmasked)' <<<"$SCREEN"; then
    T send-keys -t tui w
    if wait_for_regex '00000000  82 85 ([0-9a-f]{2} ){4}' && grep -qF 'wire bytes, 11 (payload masked)' <<<"$SCREEN"; then
        pass "Hex pane: payload and wire bytes with offsets and ASCII column"
    else
        fail "Hex pane: payload and wire bytes with offsets and ASCII column" "wire view"
    fi
else
    fail "Hex pane: payload and wire bytes with offsets and ASCII column"
fi
T send-keys -t tui w Escape
sleep 0.2
T send-keys -t tui 2

# Compose a text message; the echo server sends it back.
T send-keys -t tui i; T send-keys -t tui -l 'hello from tmux'; T send-keys -t tui Enter
if wait_for '←  text    FIN --- ----       15  "hello from tmux"' \
    && grep -qF '→  text    FIN --- MASK       15  "hello from tmux"' <<<"$SCREEN" \
    && grep -qF 'sent text, 15 bytes' <<<"$SCREEN"; then
    pass "compose and send a text frame: sent and echoed rows"
else
    fail "compose and send a text frame: sent and echoed rows"
fi

# A crafted frame spec: a ping with a payload, answered by a pong.
T send-keys -t tui -l 'ping:tmux?'; T send-keys -t tui Enter
if wait_for '←  pong    FIN --- ----        5  "tmux?"' && grep -qF '→  ping    FIN --- MASK        5  "tmux?"' <<<"$SCREEN"; then
    pass "compose a frame spec (ping:tmux?) and see the pong"
else
    fail "compose a frame spec (ping:tmux?) and see the pong"
fi

# History: Up recalls the last line sent.
T send-keys -t tui Up
if wait_for 'send> ping:tmux?'; then
    pass "composer history: Up recalls the last frame sent"
else
    fail "composer history: Up recalls the last frame sent"
fi
T send-keys -t tui C-u

# Escape sequences from the peer are shown, not executed: OSC 2 (window title), ED 2.
T send-keys -t tui -l 'text:\x1b]2\;pwned\x07 \x1b[2J'; T send-keys -t tui Enter
if wait_for '←  text    FIN --- ----       15  "\x1b]2;pwned\u{7} \x1b[2J"' \
    && [ "$(flag pane_title)" != "pwned" ] && grep -qE '^ wscope demo ' <<<"$SCREEN"; then
    pass "escape sequences in payloads are shown as \\x1b ... \\u{7}, not executed"
else
    fail "escape sequences in payloads are shown as \\x1b ... \\u{7}, not executed" "pane_title=$(flag pane_title)"
fi
T send-keys -t tui Escape

# A click selects a row (an SGR mouse report typed into the pane): after g (the first
# row), a click on the fourth row selects the echoed "Hello" frame.
T send-keys -t tui g
sleep 0.2
T send-keys -t tui -l $'\e[<0;10;6M'
# Wait for the pane's last line: a capture may land while ncurses is still drawing rows.
if wait_for 'length     22 (7-bit field)' && grep -qF 'direction  ← in (received)' <<<"$SCREEN"; then
    pass "mouse click selects a timeline row"
else
    fail "mouse click selects a timeline row"
fi

T send-keys -t tui '?'
if wait_for 'wscope keys' && grep -qF 'q  Ctrl-C      quit' <<<"$SCREEN"; then
    T send-keys -t tui x
    sleep 0.3
    capture
    if ! grep -qF 'wscope keys' <<<"$SCREEN"; then pass "help overlay opens with ? and closes with any key"
    else fail "help overlay opens with ? and closes with any key" "did not close"; fi
else
    fail "help overlay opens with ? and closes with any key"
fi

# Resizing: a narrower layout, then too small, then back.
T resize-window -t tui -x 80 -y 24
if wait_for ' Header   Payload   Hex   Close' && grep -qE '^ wscope demo ' <<<"$SCREEN" \
    && [ "$(wc -L <<<"$SCREEN")" -le 80 ] \
    && [ "$(wc -l <<<"$SCREEN")" -le 24 ]; then
    pass "resize to 80x24: narrow layout with pane tabs"
else
    fail "resize to 80x24: narrow layout with pane tabs"
fi
T resize-window -t tui -x 40 -y 10
if wait_for 'terminal too small' && grep -qF '40x10, need 60x12' <<<"$SCREEN"; then
    pass "resize to 40x10: terminal too small"
else
    fail "resize to 40x10: terminal too small"
fi
T resize-window -t tui -x 120 -y 40
if wait_for '│ Payload   Hex   Close' && grep -qE '^ wscope demo ' <<<"$SCREEN" && ! grep -qF 'too small' <<<"$SCREEN"; then
    pass "resize back to 120x40: wide layout again"
else
    fail "resize back to 120x40: wide layout again"
fi

quit_and_check "q quits and restores the terminal (modes, normal screen, mouse off, cursor on)" q

start --
wait_for '"are you there?"' 8 >/dev/null
quit_and_check "Ctrl-C quits and restores the terminal" C-c

start --
wait_for '"are you there?"' 8 >/dev/null
quit_and_check "SIGTERM quits and restores the terminal" SIGTERM

# A crash: the handler restores the terminal, then the signal takes its course (the
# Swift runtime's backtracer is off so that the default action ends the process).
start SWIFT_BACKTRACE=enable=no --
wait_for '"are you there?"' 8 >/dev/null
quit_and_check "a crash (SIGSEGV) restores the terminal before the process dies" SIGSEGV EXIT=139

# --- Composer form and flows against a real server: Python `websockets` echo server ------
# (Tests/CLI/py_peer.py echo) and `wscope connect ws://127.0.0.1:PORT/`. The form builds
# frames field by field; the server answers a malformed one (reserved opcode, RSV1) with
# close 1002. `r` records into $TMP (the session's directory) and `q` then asks first.
# The README's capture of the demo screen is what the demo draws at 100x30 (times, the
# port and the Header pane's time aside).
normalize_capture() { sed -E -e 's/[[:space:]]+$//' -e 's/^ +[0-9]+\.[0-9]{3}  /  T  /' -e 's/127\.0\.0\.1:[0-9]+/HOST:PORT/g' -e 's/time       [0-9.]+ s/time       T s/'; }
readme_capture=$(awk '/^The demo.s screen at 100x30/ { found = 1 } found && /^```text$/ { inside = 1; next } inside && /^```$/ { exit } inside' README.md | normalize_capture)
start --
T resize-window -t tui -x 100 -y 30
if wait_for_count '{\"type\":\"json\",\"ok\":true}"' 2 10 && sleep 0.5 && capture \
    && [ -n "$readme_capture" ] && [ "$(normalize_capture <<<"$SCREEN")" = "$readme_capture" ]; then
    pass "README's capture of the demo screen matches the demo at 100x30"
else
    SCREEN=$(diff <(echo "$readme_capture") <(normalize_capture <<<"$SCREEN"))
    fail "README's capture of the demo screen matches the demo at 100x30" "diff README live"
fi
T send-keys -t tui q

PYTHON=$ROOT/.build-venv/bin/python
if [ -x "$PYTHON" ] && "$PYTHON" -c 'import websockets' 2>/dev/null; then
    "$PYTHON" "$ROOT/Tests/CLI/py_peer.py" echo --port 0 >"$TMP/echo.out" 2>&1 &
    ECHO_PID=$!
    for _ in $(seq 50); do [ -s "$TMP/echo.out" ] && break; sleep 0.1; done
    ECHO_PORT=$(head -1 "$TMP/echo.out")
    T kill-session -t tui >/dev/null 2>&1
    T new-session -d -s tui -x 120 -y 40 -c "$TMP" \
        "'$(realpath "$WSCOPE")' connect 'ws://127.0.0.1:$ECHO_PORT/'; echo EXIT=\$?; echo STTY=\$(stty -a | tr ' ;' '\n\n' | grep -E '^-?(icanon|echo|isig|icrnl)\$' | tr '\n' ' '); sleep 600"
    TITLE_BEFORE=$(flag pane_title)
    if wait_for_regex "^ wscope connect  ws://127\.0\.0\.1:$ECHO_PORT/ │ open │" 10 && wait_for '#1 open 127.0.0.1:'; then
        pass "connect to a Python websockets echo server opens the TUI"
    else
        fail "connect to a Python websockets echo server opens the TUI" "port '$ECHO_PORT'"
    fi

    # The form: m opens it on the opcode; Shift-Tab wraps to the payload field.
    T send-keys -t tui m; T send-keys -t tui BTab; T send-keys -t tui -l 'hello from the form'
    if wait_for ' spec  text:hello from the form' \
        && wait_for ' opcode ‹0x1 text  ›  FIN [x]  RSV1 [ ]  RSV2 [ ]  RSV3 [ ]  MASK [x]' \
        && wait_for ' wire  81 93 ·· ·· ·· ··  + 19 payload bytes, masked'; then
        T send-keys -t tui Enter
        if wait_for '←  text    FIN --- ----       19  "hello from the form"' \
            && wait_for '→  text    FIN --- MASK       19  "hello from the form"' \
            && wait_for 'form> sent text frame, 19 bytes'; then
            pass "form: compose and send a text frame; the sent and the echoed rows"
        else
            fail "form: compose and send a text frame; the sent and the echoed rows"
        fi
    else
        fail "form: compose and send a text frame; the sent and the echoed rows" "form before Enter"
    fi

    # Close the form, select the sent frame (k from the echo), read Header, then Hex.
    T send-keys -t tui Escape; sleep 0.2; T send-keys -t tui k
    if wait_for 'direction  → out (sent)' \
        && wait_for 'opcode     0x1 text' \
        && wait_for 'length     19 (7-bit field)' \
        && wait_for_regex 'mask key   [0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2}' \
        && wait_for_regex 'header     81 93 ([0-9a-f]{2} ){3}[0-9a-f]{2}  \(6 bytes\)'; then
        T send-keys -t tui 3
        if wait_for '00000000  68 65 6c 6c 6f 20 66 72  6f 6d 20 74 68 65 20 66  |hello from the f|' \
            && wait_for '00000010  6f 72 6d'; then
            pass "select the sent frame: Header and Hex panes"
        else
            fail "select the sent frame: Header and Hex panes" "Hex pane"
        fi
    else
        fail "select the sent frame: Header and Hex panes" "Header pane"
    fi
    T send-keys -t tui 2; T send-keys -t tui G

    # Escape sequences typed as the form's text escapes; the server sends them back. They
    # show as escapes, the title stays, the screen is not cleared.
    T send-keys -t tui m; T send-keys -t tui C-u; T send-keys -t tui -l '\x1b]2;pwned\x07 \x1b[2J'
    wait_for ' spec  text:\x1b]2\;pwned\x07 \x1b[2J' >/dev/null
    T send-keys -t tui Enter
    if wait_for '←  text    FIN --- ----       15  "\x1b]2;pwned\u{7} \x1b[2J"' \
        && [ "$(flag pane_title)" = "$TITLE_BEFORE" ] && wait_for_regex '^ wscope connect ' \
        && wait_for '     TIME DIR OPCODE'; then
        pass "escape sequences from the server are shown as escapes; title and screen unchanged"
    else
        fail "escape sequences from the server are shown as escapes; title and screen unchanged" "pane_title='$(flag pane_title)' before='$TITLE_BEFORE'"
    fi
    T send-keys -t tui Escape

    T send-keys -t tui p
    if wait_for '←  pong    FIN --- ----        6  "wscope"' && wait_for '→  ping    FIN --- MASK        6  "wscope"'; then
        pass "p sends a ping; the server's pong shows"
    else
        fail "p sends a ping; the server's pong shows"
    fi

    # Recording on: a file in the session's directory, from the start of the session.
    T send-keys -t tui r
    if wait_for '● REC' && wait_for 'recording to wscope-connect-' \
        && ls "$TMP"/wscope-connect-*.jsonl >/dev/null 2>&1 \
        && grep -qF '"hello from the form"' <<<"$("$WSCOPE" replay "$TMP"/wscope-connect-*.jsonl 2>&1)"; then
        pass "r starts a recording that holds the session from its start"
    else
        fail "r starts a recording that holds the session from its start"
    fi

    # A malformed frame from the form: reserved opcode 0x3 and RSV1. The server closes
    # with 1002; the Close pane says so.
    T send-keys -t tui m; T send-keys -t tui C-r; T send-keys -t tui 3 Tab Tab Space Up Up Up
    T send-keys -t tui -l 'bad'
    if wait_for ' spec  op3:bad;rsv1=1' && wait_for ' opcode ‹0x3 op3   ›  FIN [x]  RSV1 [x]'; then
        T send-keys -t tui Enter
        if wait_for '│ closed 1002' 8 && wait_for '→  op3     FIN 1-- MASK        3  hex:626164'; then
            T send-keys -t tui Escape; sleep 0.2
            T send-keys -t tui / ; T send-keys -t tui -l 'op:close dir:in'; T send-keys -t tui Enter; T send-keys -t tui 4
            if wait_for 'close frame received' && wait_for 'code       1002' \
                && wait_for 'meaning    protocol error' && wait_for 'filter 1/'; then
                pass "form: reserved opcode + RSV1 is answered with close 1002, shown in the Close pane (via filter)"
            else
                fail "form: reserved opcode + RSV1 is answered with close 1002, shown in the Close pane (via filter)" "Close pane"
            fi
        else
            fail "form: reserved opcode + RSV1 is answered with close 1002, shown in the Close pane (via filter)" "no close 1002"
        fi
    else
        fail "form: reserved opcode + RSV1 is answered with close 1002, shown in the Close pane (via filter)" "form"
    fi

    # Search on the same session: Esc clears the filter, s finds the op3 frame, n wraps.
    T send-keys -t tui Escape; sleep 0.2
    T send-keys -t tui s; T send-keys -t tui -l 'op:3 rsv1'; T send-keys -t tui Enter
    if wait_for_regex 'match: row [0-9]+ of [0-9]+' && T send-keys -t tui 1 \
        && wait_for 'opcode     0x3 op3 (reserved)' \
        && grep -qF '*' <<<"$(grep -F '→  op3 ' <<<"$SCREEN")" && ! grep -qF 'filter ' <<<"$(head -1 <<<"$SCREEN")"; then
        pass "filter cleared, search finds the malformed frame and marks it"
    else
        fail "filter cleared, search finds the malformed frame and marks it"
    fi

    # q asks while recording: n stays, q y quits; the recording holds the malformed frame
    # and the 1002 close.
    T send-keys -t tui q
    if wait_for 'a recording is open: quit? (y/n)'; then
        T send-keys -t tui n
        if wait_for 'not quitting'; then
            T send-keys -t tui q
            wait_for 'quit? (y/n)' >/dev/null
            quit_and_check "q asks while recording; y quits and restores the terminal" y
            recording=$(cat "$TMP"/wscope-connect-*.jsonl)
            if grep -qE '"dir":"out"[^}]*"rsv1":true[^}]*"opcode":3' <<<"$recording" \
                && grep -qE '"type":"close"[^}]*"code":1002' <<<"$recording"; then
                pass "the recording holds the malformed frame and the 1002 close"
            else
                SCREEN=$(cut -c1-160 <<<"$recording")
                fail "the recording holds the malformed frame and the 1002 close"
            fi
        else
            fail "q asks while recording; y quits and restores the terminal" "n did not keep it running"
        fi
    else
        fail "q asks while recording; y quits and restores the terminal"
    fi

    # c closes with the code and reason typed; the server echoes the code.
    T kill-session -t tui >/dev/null 2>&1
    T new-session -d -s tui -x 120 -y 40 -c "$TMP" \
        "'$(realpath "$WSCOPE")' connect 'ws://127.0.0.1:$ECHO_PORT/'; echo EXIT=\$?; echo STTY=\$(stty -a | tr ' ;' '\n\n' | grep -E '^-?(icanon|echo|isig|icrnl)\$' | tr '\n' ' '); sleep 600"
    if wait_for "│ open │" 10; then
        T send-keys -t tui c
        wait_for 'close code [reason]: 1000' >/dev/null
        T send-keys -t tui C-u; T send-keys -t tui -l '4000 done here'; T send-keys -t tui Enter; T send-keys -t tui 4
        if wait_for '│ closed 4000 │' 8 && wait_for '→  close   FIN --- MASK       11  4000 (private use) "done here"' \
            && wait_for '←  close   FIN --- ----       11  4000 (private use) "done here"' \
            && wait_for 'connection #1 closed' && wait_for 'code       4000'; then
            pass "c closes with a chosen code and reason; the Close pane shows it"
        else
            fail "c closes with a chosen code and reason; the Close pane shows it"
        fi
    else
        fail "c closes with a chosen code and reason; the Close pane shows it" "no connection"
    fi
    quit_and_check "q without a recording quits at once" q
    kill "$ECHO_PID" 2>/dev/null
    wait "$ECHO_PID" 2>/dev/null
else
    echo "FAIL composer against a real server: $PYTHON with websockets is missing (scripts/bootstrap.sh)"
    FAILED=$((FAILED + 1))
fi

# Themes: each built-in starts; colours show in the captured escape sequences.
for theme in default light high-contrast monochrome; do
    start -- --theme "$theme"
    if wait_for '"are you there?"' 8; then
        status_line=$(T capture-pane -p -e -t tui | head -1)
        case $theme in
            default) want='48;5;24' ;;
            light) want='48;5;25' ;;
            high-contrast) want='107m' ;;  # bright-white background
            monochrome) want='7m' ;;  # reverse
        esac
        colours=$(grep -oE '\[[0-9;]*(38|48);5;[0-9]+[0-9;]*m' <<<"$status_line" | head -1)
        if [[ "$status_line" == *"$want"* ]] && { [ "$theme" != monochrome ] || [ -z "$colours" ]; }; then
            pass "theme $theme starts and draws its colours"
        else
            SCREEN=$status_line
            fail "theme $theme starts and draws its colours" "wanted $want"
        fi
    else
        fail "theme $theme starts and draws its colours"
    fi
    T send-keys -t tui q
    wait_for "EXIT=" 5 >/dev/null
done

start NO_COLOR=1 --
if wait_for '"are you there?"' 8; then
    all=$(T capture-pane -p -e -t tui)
    # 39 and 49 (default colours) are fine; 30-37, 40-47, 90-97, 100-107, 38;5 and 48;5 are not.
    if ! grep -qE '\[([0-9;]*;)?(3[0-7]|4[0-7]|9[0-7]|10[0-7]|38;5|48;5)(;[0-9;]*)?m' <<<"$all" && grep -qF '7m' <<<"$all"; then
        pass "NO_COLOR: no colours, attributes only"
    else
        SCREEN=$(head -3 <<<"$all" | cat -v)
        fail "NO_COLOR: no colours, attributes only"
    fi
else
    fail "NO_COLOR: no colours, attributes only"
fi
T send-keys -t tui q

# An 8-colour terminal: palette colours are mapped to the basic eight.
start TERM=screen --
if wait_for '"are you there?"' 8; then
    status_line=$(T capture-pane -p -e -t tui | head -1)
    if ! grep -qE '(38|48);5;' <<<"$status_line" && grep -qE '\[([0-9;]*;)?4[0-7](;[0-9;]*)?m' <<<"$status_line"; then
        pass "8-colour terminal (TERM=screen): basic colours only"
    else
        SCREEN=$(cat -v <<<"$status_line")
        fail "8-colour terminal (TERM=screen): basic colours only"
    fi
else
    fail "8-colour terminal (TERM=screen): basic colours only"
fi
T send-keys -t tui q
wait_for "EXIT=" 5 >/dev/null

# A user's copy of a theme, edited; and a broken one.
cp themes/light.theme "$TMP/mine.theme"
sed -i 's/^status *=.*/status = black on yellow/' "$TMP/mine.theme"
start -- --theme "$TMP/mine.theme"
if wait_for '"are you there?"' 8 && T capture-pane -p -e -t tui | head -1 | grep -qE '\[[0-9;]*(30;43|43;30)|43m'; then
    pass "--theme FILE: an edited copy of a shipped theme"
else
    fail "--theme FILE: an edited copy of a shipped theme"
fi
T send-keys -t tui q
printf 'status = white on blue\nselected = reverse\nerror = reed bold\n' >"$TMP/bad.theme"
output=$("$WSCOPE" demo --theme "$TMP/bad.theme" 2>&1 </dev/null)
status=$?
if [ $status -ne 0 ] && grep -qF "bad.theme:3: unknown colour or attribute 'reed'" <<<"$output"; then
    pass "--theme with a bad file names the line"
else
    SCREEN=$output
    fail "--theme with a bad file names the line" "exit $status"
fi

# --- replay: browsing a recording, and the live session of --to ---------------------------
# (wscope replay FILE [--to URL]; the recordings are the committed ones in recordings/)

# start_replay ARGS...: like `start`, running `wscope replay ARGS` instead of the demo.
start_replay() {
    T kill-session -t tui >/dev/null 2>&1
    local args=""
    for arg in "$@"; do args+=" '$arg'"; done
    T new-session -d -s tui -x 120 -y 40 -c "$ROOT" \
        "'$WSCOPE' replay$args; echo EXIT=\$?; echo STTY=\$(stty -a | tr ' ;' '\n\n' | grep -E '^-?(icanon|echo|isig|icrnl)\$' | tr '\n' ' '); sleep 600"
}

# replay_filter TERMS: replaces the timeline filter (Escape clears the one before).
replay_filter() {
    T send-keys -t tui Escape
    sleep 0.2
    T send-keys -t tui / ; T send-keys -t tui -l "$1"; T send-keys -t tui Enter
}

# recorded FILE WHAT...: facts of a recording as the panes show them (the recordings can
# be made again with Tests/CLI/make-recordings.sh: endpoints, times and mask keys change).
#   endpoint, start: the header's; frame DIR OPCODE: "MASKKEY HEADERBYTES" of the first
#   such frame, both as spaced hex ("b6 91 a8 32" "82 84 b6 91 a8 32")
recorded() {
    python3 - "$@" <<'PY'
import base64, json, sys
path, what = sys.argv[1], sys.argv[2:]
events = [json.loads(line) for line in open(path)]
spaced = lambda data: " ".join(f"{b:02x}" for b in data)
if what[0] in ("endpoint", "start"):
    print(events[0][what[0]])
else:
    frame = next(e for e in events if e.get("type") == "frame" and e["dir"] == what[1] and e["opcode"] == int(what[2]))
    wire = base64.b64decode(frame["wire"])
    size = 2 + {126: 2, 127: 8}.get(wire[1] & 0x7F, 0) + (4 if wire[1] & 0x80 else 0)
    print(f"{spaced(bytes.fromhex(frame['mask'] or ''))}|{spaced(wire[:size])}")
PY
}
replay_endpoint_re=$(recorded recordings/echo.jsonl endpoint | sed 's/[.]/\\./g')

start_replay recordings/echo.jsonl
if [ -n "$replay_endpoint_re" ] && wait_for '#1 closed 1000 (normal closure) cleanly' 8 \
    && grep -qE "^ wscope replay  $replay_endpoint_re │ closed 1000 │ in 5 fr 48 B │ out 6 fr 78 B" <<<"$SCREEN" \
    && grep -qF '→  text    FIN --- MASK       11  "hello, echo"' <<<"$SCREEN" \
    && grep -qF '←  text    FIN --- ----       11  "hello, echo"' <<<"$SCREEN" \
    && grep -qF '→  binary  FIN --- MASK        4  hex:00ff10fe' <<<"$SCREEN" \
    && grep -qF '→  ping    FIN --- MASK       13  "are you there"' <<<"$SCREEN" \
    && grep -qF '←  pong    FIN --- ----       13  "are you there"' <<<"$SCREEN" \
    && grep -qF '→  text    --- --- MASK        4  "frag"' <<<"$SCREEN" \
    && grep -qF '→  cont    FIN --- MASK        4  "ment"' <<<"$SCREEN" \
    && grep -qF '←  text    FIN --- ----        8  "fragment"' <<<"$SCREEN" \
    && grep -qF '→  close   FIN --- MASK        6  1000 (normal closure) "done"' <<<"$SCREEN" \
    && grep -qF "recordings/echo.jsonl: connect recording of $(recorded recordings/echo.jsonl start), 14 events (read-only)" <<<"$SCREEN"; then
    pass "replay browsing echo.jsonl: every recorded frame is a row; status bar: replay, the recorded endpoint"
else
    fail "replay browsing echo.jsonl: every recorded frame is a row; status bar: replay, the recorded endpoint"
fi

# The recorded binary frame: its header fields and mask key, then its payload and wire bytes.
IFS='|' read -r mask header_bytes <<<"$(recorded recordings/echo.jsonl frame out 2)"
replay_filter 'op:binary dir:out'
if [ -n "$mask" ] && wait_for 'opcode     0x2 binary' \
    && grep -qF 'direction  → out (sent)' <<<"$SCREEN" \
    && grep -qF "mask key   $mask" <<<"$SCREEN" \
    && grep -qF 'length     4 (7-bit field)' <<<"$SCREEN" \
    && grep -qF "header     $header_bytes  (6 bytes)" <<<"$SCREEN"; then
    pass "replay browsing: a selected frame's Header pane shows the recorded fields and mask key"
else
    fail "replay browsing: a selected frame's Header pane shows the recorded fields and mask key"
fi
T send-keys -t tui 3
if wait_for '00000000  00 ff 10 fe' && grep -qF 'payload, 4 bytes (unmasked)' <<<"$SCREEN"; then
    T send-keys -t tui w
    if wait_for "00000000  $header_bytes" && grep -qF 'wire bytes, 10 (payload masked)' <<<"$SCREEN"; then
        pass "replay browsing: the Hex pane shows the recorded payload and wire bytes"
    else
        fail "replay browsing: the Hex pane shows the recorded payload and wire bytes" "wire view"
    fi
    T send-keys -t tui w
else
    fail "replay browsing: the Hex pane shows the recorded payload and wire bytes"
fi

replay_filter 'op:close dir:in'
T send-keys -t tui 4
if wait_for 'close frame received' && grep -qF 'code       1000' <<<"$SCREEN" \
    && grep -qF 'meaning    normal closure' <<<"$SCREEN"; then
    pass "replay browsing: the Close pane shows the recorded close code"
else
    fail "replay browsing: the Close pane shows the recorded close code"
fi

# Nothing is sent from a recording, nor recorded again.
T send-keys -t tui Escape
sleep 0.2
T send-keys -t tui i
if wait_for 'this timeline is read-only'; then
    T send-keys -t tui Escape
    sleep 0.2
    T send-keys -t tui r
    if wait_for 'this is a recording already: nothing new to record' && grep -qF '○ rec' <<<"$SCREEN"; then
        pass "replay browsing: the sending keys say the timeline is read-only; r records nothing"
    else
        fail "replay browsing: the sending keys say the timeline is read-only; r records nothing" "r"
    fi
else
    fail "replay browsing: the sending keys say the timeline is read-only; r records nothing"
fi
T send-keys -t tui Escape
quit_and_check "replay browsing: q quits and restores the terminal" q

start_replay recordings/malformed.jsonl
if wait_for '#1 closed 1002 (protocol error) cleanly' 8 \
    && grep -qE "^ wscope replay  $(recorded recordings/malformed.jsonl endpoint | sed 's/[.]/\\./g') │ closed 1002 " <<<"$SCREEN" \
    && grep -qF '→  text    FIN 1-- MASK        2  hex:6869' <<<"$SCREEN" \
    && grep -qF '→  op3     FIN --- MASK        1  "x"' <<<"$SCREEN" \
    && grep -qF '→  binary  FIN --- ----        3  hex:616263' <<<"$SCREEN" \
    && grep -qF '←  close   FIN --- ----        2  1002 (protocol error)' <<<"$SCREEN"; then
    pass "replay browsing malformed.jsonl: RSV1, reserved opcode and unmasked frames are rows"
else
    fail "replay browsing malformed.jsonl: RSV1, reserved opcode and unmasked frames are rows"
fi
IFS='|' read -r mask header_bytes <<<"$(recorded recordings/malformed.jsonl frame out 3)"
replay_filter 'op:3'
if [ -n "$mask" ] && wait_for 'opcode     0x3 op3 (reserved)' && grep -qF "mask key   $mask" <<<"$SCREEN" \
    && grep -qF "header     $header_bytes  (6 bytes)" <<<"$SCREEN"; then
    pass "replay browsing: the reserved-opcode frame's Header pane"
else
    fail "replay browsing: the reserved-opcode frame's Header pane"
fi
replay_filter 'op:close dir:in'
T send-keys -t tui 4
if wait_for 'close frame received' && grep -qF 'code       1002' <<<"$SCREEN" \
    && grep -qF 'meaning    protocol error' <<<"$SCREEN"; then
    pass "replay browsing: the Close pane shows the server's recorded 1002"
else
    fail "replay browsing: the Close pane shows the server's recorded 1002"
fi
quit_and_check "replay browsing malformed.jsonl: q quits and restores the terminal" q

# --to in the terminal UI: the malformed frames go to a live server (wscope listen --echo),
# which fails the connection with 1002 after the RSV1 frame now as it did then (the frames
# recorded after it may or may not go out before that close arrives); the UI stays up.
# Under timeout: it cannot outlive the run, whatever happens to this script.
timeout 120 "$WSCOPE" listen 127.0.0.1:0 --echo --no-tui </dev/null >"$TMP/replay-listen.log" 2>&1 &
replay_server_pid=$!
port=""
for _ in $(seq 100); do
    port=$(head -n 1 "$TMP/replay-listen.log" 2>/dev/null | sed -n -E 's/^listening on 127\.0\.0\.1:([0-9]+)$/\1/p')
    [ -n "$port" ] && break
    sleep 0.1
done
if [ -n "$port" ]; then
    start_replay recordings/malformed.jsonl --to "ws://127.0.0.1:$port/" --record "$TMP/replay-to.jsonl"
    if wait_for 'replay of 1 connection done (q quits)' 8 && grep -qF '● REC' <<<"$SCREEN" \
        && grep -qE "^ wscope replay  ws://127\.0\.0\.1:$port/ │ closed 1002 " <<<"$SCREEN" \
        && grep -qF '→  text    FIN 1-- MASK        2  hex:6869' <<<"$SCREEN" \
        && grep -qE '←  close   FIN --- ----       [ 0-9]{2}  1002 \(protocol error\)' <<<"$SCREEN"; then
        pass "replay --to in the UI: the live server's 1002 is shown; the UI stays up"
    else
        fail "replay --to in the UI: the live server's 1002 is shown; the UI stays up"
    fi
    T send-keys -t tui q
    if wait_for 'a recording is open: quit? (y/n)'; then
        quit_and_check "replay --to --record in the UI: q asks, y quits and restores the terminal" y
        if "$WSCOPE" dump "$TMP/replay-to.jsonl" 2>&1 | grep -qE '#1 <- close .*1002 \(protocol error\)'; then
            pass "replay --to --record in the UI: the recording holds the live 1002"
        else
            SCREEN=$("$WSCOPE" dump "$TMP/replay-to.jsonl" 2>&1)
            fail "replay --to --record in the UI: the recording holds the live 1002"
        fi
    else
        fail "replay --to --record in the UI: q asks, y quits and restores the terminal" "no question"
    fi
else
    SCREEN=$(cat "$TMP/replay-listen.log")
    fail "replay --to in the UI: the live server's 1002 is shown; the UI stays up" "wscope listen printed no port"
fi
kill "$replay_server_pid" 2>/dev/null
wait "$replay_server_pid" 2>/dev/null

# Without a terminal the TUI refuses to start; --no-tui keeps the line output.
output=$("$WSCOPE" demo </dev/null 2>&1 | cat)
if grep -qF 'needs a terminal' <<<"$output"; then
    pass "without a terminal: a clear error instead of a garbled screen"
else
    SCREEN=$output
    fail "without a terminal: a clear error instead of a garbled screen"
fi
output=$(timeout 20 "$WSCOPE" demo --no-tui </dev/null 2>&1)
status=$?
if [ $status -eq 0 ] && grep -qF '#1 -> text   FIN MASK=' <<<"$output" && grep -qF '#1 closed 1000 (normal closure) cleanly' <<<"$output"; then
    pass "--no-tui prints the line output and exits"
else
    SCREEN=$output
    fail "--no-tui prints the line output and exits" "exit $status"
fi

# --- wscope listen: two Python websockets clients, the connection list, sending to one ----
# Tests/CLI/listen_client.py writes "open", each message it receives and "closed: CODE
# REASON" to its file, so that what reached which client is checked on the client's side.
listen_case() {
    local py=$ROOT/.build-venv/bin/python port pids=() name
    T kill-session -t tui >/dev/null 2>&1
    T new-session -d -s tui -x 120 -y 40 \
        "'$WSCOPE' listen 0; echo EXIT=\$?; echo STTY=\$(stty -a | tr ' ;' '\n\n' | grep -E '^-?(icanon|echo|isig|icrnl)\$' | tr '\n' ' '); sleep 600"
    if ! wait_for 'listening on 127.0.0.1:' 8; then fail "listen: the TUI starts"; return; fi
    port=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' <<<"$SCREEN" | head -1 | sed 's/.*://')
    # One after the other, so that wscope numbers them #1 (A) and #2 (B).
    for name in a b; do
        "$py" "$ROOT/Tests/CLI/listen_client.py" "ws://127.0.0.1:$port/$name" "$TMP/listen-$name.txt" >/dev/null 2>&1 &
        pids+=($!)
        for _ in $(seq 50); do grep -qx open "$TMP/listen-$name.txt" 2>/dev/null && break; sleep 0.1; done
    done
    if wait_for '2 of 2 clients open' 8 \
        && grep -qE '^   #1    127\.0\.0\.1:[0-9]+ +open ' <<<"$SCREEN" \
        && grep -qE '^   #2    127\.0\.0\.1:[0-9]+ +open ' <<<"$SCREEN" \
        && grep -qF ' ▸ all   every connection: 2 open of 2' <<<"$SCREEN" \
        && grep -qF 'DIR CONN OPCODE' <<<"$SCREEN" \
        && grep -qE '•  #2   #2 open 127\.0\.0\.1:[0-9]+ /b' <<<"$SCREEN"; then
        pass "listen: two Python clients in the connection list, connection column in the timeline"
    else
        fail "listen: two Python clients in the connection list, connection column in the timeline"
    fi

    # Pick #2 in the list (l, down past "all" and #1, Enter), then compose a text.
    T send-keys -t tui l j j Enter
    wait_for '#2 only' >/dev/null
    T send-keys -t tui i; T send-keys -t tui -l 'only for B'; T send-keys -t tui Enter
    local got_b=0
    for _ in $(seq 50); do grep -qxF "text: 'only for B'" "$TMP/listen-b.txt" && got_b=1 && break; sleep 0.1; done
    if [ $got_b = 1 ] && wait_for 'sent text, 10 bytes on #2' \
        && grep -qE '→  #2   text    FIN --- ----       10  "only for B"' <<<"$SCREEN" \
        && ! grep -q '^text:' "$TMP/listen-a.txt" \
        && ! grep -qF '#1   ' <<<"$(sed -n '7,$p' <<<"$SCREEN")"; then
        pass "listen: pick #2 in the connection list; the composer's text reaches that client only"
    else
        SCREEN+=$'\n'"client A: $(tr '\n' '|' <"$TMP/listen-a.txt") client B: $(tr '\n' '|' <"$TMP/listen-b.txt")"
        fail "listen: pick #2 in the connection list; the composer's text reaches that client only"
    fi

    # Close the picked connection with 4000 from the TUI.
    T send-keys -t tui Escape c C-u; T send-keys -t tui -l '4000 from the TUI'; T send-keys -t tui Enter
    local closed_b=0
    for _ in $(seq 50); do grep -qxF 'closed: 4000 from the TUI' "$TMP/listen-b.txt" && closed_b=1 && break; sleep 0.1; done
    if [ $closed_b = 1 ] && wait_for_regex '^ ▸ #2    127\.0\.0\.1:[0-9]+ +closed 4000 ' \
        && grep -qF '1 of 2 clients open' <<<"$SCREEN" \
        && ! grep -q '^closed' "$TMP/listen-a.txt"; then
        pass "listen: c closes the picked client with 4000 (the client sees 4000)"
    else
        SCREEN+=$'\n'"client A: $(tr '\n' '|' <"$TMP/listen-a.txt") client B: $(tr '\n' '|' <"$TMP/listen-b.txt")"
        fail "listen: c closes the picked client with 4000 (the client sees 4000)"
    fi

    quit_and_check "listen: q quits and restores the terminal" q
    local closed_a=0
    for _ in $(seq 30); do grep -qxF 'closed: 1001 wscope quit' "$TMP/listen-a.txt" && closed_a=1 && break; sleep 0.1; done
    # Read again once A is over: a text sent to every client would have reached it by now.
    if [ $closed_a = 1 ] && ! grep -q '^text:' "$TMP/listen-a.txt"; then
        pass "listen: quitting closes the other client with 1001 (it never got #2's text)"
    else
        SCREEN="client A: $(tr '\n' '|' <"$TMP/listen-a.txt")"
        fail "listen: quitting closes the other client with 1001 (it never got #2's text)"
    fi
    kill "${pids[@]}" 2>/dev/null
    wait "${pids[@]}" 2>/dev/null
}
listen_case

# --echo with the TUI up: a client's messages come back, the UI shows both directions, and
# --record keeps what the UI shows.
listen_echo_case() {
    local py=$ROOT/.build-venv/bin/python port output
    T kill-session -t tui >/dev/null 2>&1
    T new-session -d -s tui -x 120 -y 40 \
        "'$WSCOPE' listen 0 --echo --record '$TMP/listen-echo.jsonl'; echo EXIT=\$?; sleep 600"
    if ! wait_for 'listening on 127.0.0.1:' 8; then fail "listen --echo: the TUI starts"; return; fi
    port=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' <<<"$SCREEN" | head -1 | sed 's/.*://')
    output=$(timeout 20 "$py" "$ROOT/Tests/CLI/py_peer.py" send "ws://127.0.0.1:$port/echo" 'echo me ✓' 2>&1)
    if grep -qF 'echo 1 ok' <<<"$output" \
        && wait_for '#1 closed 1000' \
        && grep -qF '←  text    FIN --- MASK       11  "echo me ✓"' <<<"$SCREEN" \
        && grep -qF '→  text    FIN --- ----       11  "echo me ✓"' <<<"$SCREEN" \
        && grep -qF '● REC' <<<"$SCREEN"; then
        pass "listen --echo --record: a Python client's message comes back; both rows shown"
    else
        SCREEN+=$'\n'"client: $output"
        fail "listen --echo --record: a Python client's message comes back; both rows shown"
    fi
    # q asks while recording; y quits.
    T send-keys -t tui q
    wait_for 'quit? (y/n)' >/dev/null
    T send-keys -t tui y
    # "echo me ✓" in base64, received and sent back.
    if wait_for 'EXIT=0' 8 && [ "$(grep -cF '"payload":"ZWNobyBtZSDinJM="' "$TMP/listen-echo.jsonl" 2>/dev/null)" = 2 ] \
        && grep -qF '"type":"close","conn":1' "$TMP/listen-echo.jsonl"; then
        pass "listen --echo --record: q, y quits; the recording holds the exchange"
    else
        fail "listen --echo --record: q, y quits; the recording holds the exchange"
    fi
}
listen_echo_case
# --- end of the listen cases ------------------------------------------------------------

# --- live traffic: rates, the decompressed view, a peer that crashes, a flood -------------
# Each case runs `wscope connect` in the TUI against its own Python peer.

# live_connect ARGS...: a fresh 120x40 session running `wscope connect ARGS`; on exit the
# shell prints the status and the terminal modes (for quit_and_check).
live_connect() {
    local args=""
    for arg in "$@"; do args+=" '$arg'"; done
    T kill-session -t tui >/dev/null 2>&1
    T new-session -d -s tui -x 120 -y 40 -c "$TMP" \
        "'$(realpath "$WSCOPE")' connect$args; echo EXIT=\$?; echo STTY=\$(stty -a | tr ' ;' '\n\n' | grep -E '^-?(icanon|echo|isig|icrnl)\$' | tr '\n' ' '); sleep 600"
}

# live_echo_server NAME: starts py_peer.py echo (websockets: permessage-deflate on by
# default) and sets LIVE_PID and LIVE_PORT.
live_echo_server() {
    "$PYTHON" "$ROOT/Tests/CLI/py_peer.py" echo --port 0 >"$TMP/$1.out" 2>&1 &
    LIVE_PID=$!
    for _ in $(seq 50); do [ -s "$TMP/$1.out" ] && break; sleep 0.1; done
    LIVE_PORT=$(head -1 "$TMP/$1.out")
}

if [ -x "$PYTHON" ] && "$PYTHON" -c 'import websockets' 2>/dev/null; then
    # permessage-deflate: the echoed frame has RSV1 set; its Payload pane shows the message
    # inflated, with the compressed size.
    live_echo_server deflate-echo
    live_connect "ws://127.0.0.1:$LIVE_PORT/" --deflate
    deflate_text=$(printf 'wscope inflates this line. %.0s' $(seq 12))
    deflate_text=${deflate_text% }
    if wait_for_regex "│ open │" 10 && wait_for "#1 open 127.0.0.1:$LIVE_PORT / extensions=permessage-deflate" 5; then
        T send-keys -t tui i; T send-keys -t tui -l "$deflate_text"; T send-keys -t tui Enter; T send-keys -t tui Escape
        if wait_for "${#deflate_text}  \"wscope inflates this line." 8; then
            # Only the echoed compressed frame passes this filter.
            T send-keys -t tui /; T send-keys -t tui -l 'dir:in rsv1'; T send-keys -t tui Enter
            if wait_for_regex "decompressed \(RSV1, permessage-deflate\): ${#deflate_text} bytes from [0-9]+ compressed bytes" \
                && wait_for 'wscope inflates this line. wscope inflates this line.' \
                && grep -qE '←  text    FIN 1-- ----  +[0-9]+  ' <<<"$SCREEN"; then
                compressed=$(grep -oE 'from [0-9]+ compressed bytes' <<<"$SCREEN" | grep -oE '[0-9]+')
                if [ "$compressed" -lt "${#deflate_text}" ]; then
                    pass "deflate: the echoed RSV1 frame's Payload pane shows the text decompressed ($compressed of ${#deflate_text} bytes)"
                else
                    fail "deflate: the echoed RSV1 frame's Payload pane shows the text decompressed" "compressed size $compressed"
                fi
            else
                fail "deflate: the echoed RSV1 frame's Payload pane shows the text decompressed"
            fi
        else
            fail "deflate: a repetitive text sent with --deflate comes back"
        fi
    else
        fail "deflate: connect --deflate to a Python websockets echo server" "port '$LIVE_PORT'"
    fi
    quit_and_check "deflate: q quits and restores the terminal" q
    kill "$LIVE_PID" 2>/dev/null; wait "$LIVE_PID" 2>/dev/null

    # The peer crashes (kill -9): the TUI stays up and says the connection closed without
    # a closing handshake; keys still work; q quits and gives the terminal back.
    live_echo_server crash-echo
    live_connect "ws://127.0.0.1:$LIVE_PORT/"
    if wait_for_regex "│ open │" 10 && wait_for '#1 open 127.0.0.1:'; then
        T send-keys -t tui i; T send-keys -t tui -l 'before the crash'; T send-keys -t tui Enter; T send-keys -t tui Escape
        wait_for '←  text    FIN --- ----       16  "before the crash"' 8 >/dev/null
        kill -9 "$LIVE_PID"; wait "$LIVE_PID" 2>/dev/null
        if wait_for '│ closed 1006 (unclean)' 8 \
            && wait_for '#1 closed 1006 (abnormal closure' \
            && grep -qF 'without closing handshake' <<<"$SCREEN"; then
            pass "peer killed with -9: the TUI shows closed 1006 without closing handshake"
        else
            fail "peer killed with -9: the TUI shows closed 1006 without closing handshake"
        fi
        T send-keys -t tui '?'
        if wait_for ' wscope keys ' 5 && wait_for 'quit (q asks first while recording)'; then
            pass "peer killed: the TUI still answers keys (? opens the help)"
        else
            fail "peer killed: the TUI still answers keys (? opens the help)"
        fi
        T send-keys -t tui '?'
        wait_for_regex '^ wscope connect ' 5 >/dev/null
    else
        fail "peer crash: connect to a Python websockets echo server" "port '$LIVE_PORT'"
        kill -9 "$LIVE_PID" 2>/dev/null; wait "$LIVE_PID" 2>/dev/null
    fi
    quit_and_check "peer killed: q quits and restores the terminal" q
fi

# A flood: Tests/CLI/flood_server.py writes 300,000 small frames as fast as wscope reads
# them, and goes on (in batches of 100,000) until this test has seen the help answer `?`,
# so the key is surely answered mid-flood whatever the build's speed; then a close 1000.
# The status bar counts every frame and the recording holds every one of them in order.
flood_case() {
    local port server_pid ok=1 shown sent
    python3 "$ROOT/Tests/CLI/flood_server.py" --count 300000 --until "$TMP/flood.stop" >"$TMP/flood.out" 2>&1 &
    server_pid=$!
    for _ in $(seq 100); do [ -s "$TMP/flood.out" ] && break; sleep 0.1; done
    port=$(head -1 "$TMP/flood.out")
    live_connect "ws://127.0.0.1:$port/" --record "$TMP/flood.jsonl"
    if wait_for_regex '│ in [1-9][0-9]* fr' 10; then
        T send-keys -t tui '?'
        if wait_for ' wscope keys ' 10; then
            shown=$(grep -oE '│ in [0-9]+ fr' <<<"$SCREEN" | head -1 | grep -oE '[0-9]+')
            if grep -qF '│ open │' <<<"$SCREEN" && [ -n "$shown" ]; then
                pass "flood: the UI answers ? while the frames pour in (help shown at frame $shown)"
            else
                fail "flood: the UI answers ? while the frames pour in" "not open or no count"
            fi
        else
            fail "flood: the UI answers ? while the frames pour in"
        fi
        T send-keys -t tui '?'
    else
        fail "flood: connect to flood_server.py" "port '$port'"
        ok=0
    fi
    touch "$TMP/flood.stop"
    wait "$server_pid" 2>/dev/null
    sent=$(grep -oE '^sent [0-9]+ frames' "$TMP/flood.out" | grep -oE '[0-9]+')
    if [ "$ok" = 1 ] && [ "${sent:-0}" -ge 300000 ] && wait_for "│ in $((sent + 1)) fr " 60 && wait_for '│ closed 1000' 20; then
        pass "flood: the status bar counts all $sent frames and the close"
    else
        fail "flood: the status bar counts all ${sent:-?} frames and the close" "server: $(tr '\n' ' ' <"$TMP/flood.out")"
    fi
    T send-keys -t tui q
    wait_for 'quit? (y/n)' 5 >/dev/null
    T send-keys -t tui y
    wait_for 'EXIT=0' 15 >/dev/null
    local frames_in closes
    frames_in=$(grep -cF '"type":"frame","conn":1,"dir":"in"' "$TMP/flood.jsonl" 2>/dev/null)
    closes=$(grep -c '"type":"frame","conn":1,"dir":"in",.*"opcode":8,' "$TMP/flood.jsonl" 2>/dev/null)
    # Every text frame, in order: f000000, f000001, ...
    if [ -n "$sent" ] && [ "$frames_in" = $((sent + 1)) ] && [ "$closes" = 1 ] \
        && diff -q <("$PYTHON" "$ROOT/Tests/CLI/jsonl_tool.py" messages "$TMP/flood.jsonl" | grep '^in ') \
                   <(python3 -c "import sys; sys.stdout.writelines('in 1 %s\n' % (b'f%06d' % i).hex() for i in range($sent))") >/dev/null \
        && grep -qF '"type":"close","conn":1' "$TMP/flood.jsonl"; then
        pass "flood: the recording holds all $sent frames in order and the close ($(grep -F 'client took' "$TMP/flood.out"))"
    else
        SCREEN="frames in: $frames_in, close frames in: $closes; server: $(tr '\n' ' ' <"$TMP/flood.out")"
        fail "flood: the recording holds all ${sent:-?} frames in order and the close"
    fi
}
flood_case
# --- end of the live traffic cases --------------------------------------------------------

summary
