#!/usr/bin/env bash
# The project's test command (the README's second command, and what .ci/run runs):
#   1. installs system packages and the Python peer (scripts/bootstrap.sh)
#   2. builds wscope and runs the unit tests (swift test)
#   3. interoperability against Python websockets and Node ws (scripts/interop.sh)
#   4. command-line tests: crafted frames checked by tshark, bad input, recordings, peers
#      (scripts/cli-tests.sh)
#   5. the terminal UI driven in tmux (scripts/tui-tests.sh)
#   6. the wsconform conformance suite in both roles, with and without deflate
#      (scripts/conformance.sh)
#   7. every libFuzzer target for 30 seconds (scripts/fuzz.sh --smoke)
#
#   scripts/test.sh [--quick]    (--quick: unit tests, interop and conformance without deflate; no fuzzing)
#
# Every step runs even when an earlier one failed; the last line is "N passed, M failed"
# over the unit tests, interop cases, conformance cases and fuzz targets, and the exit
# status is non-zero when anything failed.
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1
LOGS=$ROOT/.build-test-logs
mkdir -p "$LOGS"
PASSED=0
FAILED=0
STEPS=()
started=$SECONDS

# Adds the "N passed, M failed" line of a step's log to the totals.
count() {
    local name=$1 log=$2 status=$3
    local line passed failed
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -1)
    if [ -z "$line" ]; then
        # A step that died before its summary counts as one failure.
        passed=0
        failed=1
    else
        passed=${line%% passed*}
        failed=${line#*, }
        failed=${failed%% failed}
        if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
    fi
    PASSED=$((PASSED + passed))
    FAILED=$((FAILED + failed))
    STEPS+=("$(printf '%-12s %5d passed, %d failed  (%s)' "$name" "$passed" "$failed" "${log#"$ROOT"/}")")
}

step() {
    echo
    echo "== $1 ($((SECONDS - started)) s)"
}

step "bootstrap: system packages and peers"
if ! scripts/bootstrap.sh; then
    echo "bootstrap failed; the later steps need its packages" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

step "build"
swift build --build-tests >"$LOGS/build.log" 2>&1
status=$?
grep -E 'warning: ' "$LOGS/build.log" | grep -v 'prohibited flag' | sort -u | head -20
if [ "$status" -ne 0 ] || ! [ -x .build/debug/wscope ]; then
    echo "build failed:"
    grep -E 'error:' -A3 "$LOGS/build.log" | head -40
    echo "0 passed, 1 failed"
    exit 1
fi
echo "built ($(tail -1 "$LOGS/build.log"))"

step "unit tests"
swift test --skip-build 2>&1 | tee "$LOGS/unit.log" | grep -E '✘|error:|Test run with|Executed [0-9]+ tests' 
status=${PIPESTATUS[0]}
# Swift Testing: "Test run with N tests in S suites passed|failed ... (with M issues)".
tests=$(sed -n 's/.*Test run with \([0-9]*\) tests\{0,1\} .*/\1/p' "$LOGS/unit.log" | tail -1)
failures=$(grep -c '✘ Test .* failed' "$LOGS/unit.log")
xctests=$(sed -n 's/.*Executed \([0-9]*\) tests\{0,1\}, with \([0-9]*\) failures.*/\1 \2/p' "$LOGS/unit.log" | tail -1)
total=${tests:-0}
if [ -n "$xctests" ]; then
    set -- $xctests
    total=$((total + $1))
    failures=$((failures + $2))
fi
if [ "$status" -ne 0 ] && [ "$failures" -eq 0 ]; then failures=1; fi
echo "$((total - failures)) passed, $failures failed" >>"$LOGS/unit.log"
count "unit" "$LOGS/unit.log" "$status"

step "interoperability (Python websockets, Node ws)"
WSCOPE=$ROOT/.build/debug/wscope scripts/interop.sh 2>&1 | tee "$LOGS/interop.log"
count "interop" "$LOGS/interop.log" "${PIPESTATUS[0]}"

step "command line (tshark dissection, bad input, recordings, peers)"
WSCOPE=$ROOT/.build/debug/wscope scripts/cli-tests.sh 2>&1 | tee "$LOGS/cli.log"
count "cli" "$LOGS/cli.log" "${PIPESTATUS[0]}"

step "terminal UI in tmux"
WSCOPE=$ROOT/.build/debug/wscope scripts/tui-tests.sh 2>&1 | tee "$LOGS/tui.log"
count "tui" "$LOGS/tui.log" "${PIPESTATUS[0]}"

step "conformance (wsconform)"
conformance_flags=()
[ $QUICK -eq 1 ] && conformance_flags=(--quick)
WSCOPE=$ROOT/.build/debug/wscope scripts/conformance.sh ${conformance_flags[@]+"${conformance_flags[@]}"} 2>&1 | tee "$LOGS/conformance.log"
count "conformance" "$LOGS/conformance.log" "${PIPESTATUS[0]}"

if [ $QUICK -eq 0 ]; then
    step "fuzzing (30 s per target)"
    scripts/fuzz.sh --smoke 2>&1 | tee "$LOGS/fuzz.log"
    status=${PIPESTATUS[0]}
    ok=$(grep -cE '^[a-z-]+ +OK ' "$LOGS/fuzz.log")
    crashed=$(grep -cE '^[a-z-]+ +CRASH ' "$LOGS/fuzz.log")
    echo "$ok passed, $crashed failed" >>"$LOGS/fuzz.log"
    count "fuzz" "$LOGS/fuzz.log" "$status"
fi

echo
echo "== summary ($((SECONDS - started)) s)"
for line in "${STEPS[@]}"; do echo "$line"; done
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
