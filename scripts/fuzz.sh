#!/usr/bin/env bash
# Builds and runs the libFuzzer targets of the core library and the Inspector.
#
#   scripts/fuzz.sh [--time SECONDS | --smoke] [--build-only] [TARGET...]
#
# Targets: frame-decoder (Fuzz/FrameDecoderFuzz), handshake (Fuzz/HandshakeFuzz),
# inflate (Fuzz/InflateFuzz, built only when that file exists), frame-spec
# (Fuzz/FrameSpecFuzz: the Inspector's frame-spec parser) and recording
# (Fuzz/RecordingFuzz: recording reader, dump, HAR import). Without TARGETs, all.
# --time N runs each target for N seconds (default 300); --smoke is --time 30.
#
# Everything goes to .build-fuzz/ (gitignored): each library as its own static module
# (so the fuzz mains keep their `import WebSocket` lines, as under SwiftPM), the fuzzer
# binaries, corpora in .build-fuzz/corpus/NAME (seeded from Fuzz/NAME/seeds/), crash
# artifacts in .build-fuzz/crashes/NAME/ and logs in .build-fuzz/logs/NAME.log.
#
# Prints one summary line per target and exits non-zero if any target crashed (the
# crash file is printed; reproduce with `.build-fuzz/NAME CRASHFILE`).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/.build-fuzz
SECONDS_PER_TARGET=300
BUILD_ONLY=0
TARGETS=()

usage() {
    sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}

while [ $# -gt 0 ]; do
    case "$1" in
        --time)
            [ $# -ge 2 ] || usage
            SECONDS_PER_TARGET=$2
            shift 2
            ;;
        --time=*) SECONDS_PER_TARGET=${1#--time=}; shift ;;
        --smoke) SECONDS_PER_TARGET=30; shift ;;
        --build-only) BUILD_ONLY=1; shift ;;
        -h|--help) usage ;;
        frame-decoder|handshake|inflate|frame-spec|recording) TARGETS+=("$1"); shift ;;
        *) echo "fuzz.sh: unknown argument '$1'" >&2; usage ;;
    esac
done
case "$SECONDS_PER_TARGET" in
    ''|*[!0-9]*) echo "fuzz.sh: --time needs a whole number of seconds" >&2; exit 2 ;;
esac
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(frame-decoder handshake inflate frame-spec recording)

mkdir -p "$OUT"
# The Swift runtime's crash backtracer reads the stack in a way ASan reports as a
# stack-buffer-underflow, burying the real failure; libFuzzer prints its own stack.
export SWIFT_BACKTRACE=enable=no
FLAGS=(-parse-as-library -sanitize=fuzzer,address -O -g -I "$OUT")
# lld only silences gold's "cannot export local symbol __asan_*" warnings.
LINK_FLAGS=()
if swiftc -use-ld=lld --version >/dev/null 2>&1 && command -v ld.lld >/dev/null 2>&1; then
    LINK_FLAGS=(-use-ld=lld)
fi

# Whether $1 is missing or older than any of the remaining files.
stale() {
    local target=$1
    shift
    [ -e "$target" ] || return 0
    local file
    for file in "$@"; do
        [ "$file" -nt "$target" ] && return 0
    done
    return 1
}

# build_library NAME EXTRA_FLAGS... -- SOURCES...: a static library and its module.
build_library() {
    local name=$1
    shift
    local extra=()
    while [ "$1" != "--" ]; do extra+=("$1"); shift; done
    shift
    local library=$OUT/lib$name.a
    if stale "$library" "$@" "$0"; then
        echo "fuzz.sh: building module $name" >&2
        swiftc "${FLAGS[@]}" ${extra[@]+"${extra[@]}"} -module-name "$name" -emit-module \
            -emit-module-path "$OUT/$name.swiftmodule" -emit-library -static -o "$library" "$@"
    fi
}

# build_fuzzer NAME MAIN MODULE EXTRA_FLAGS...: links the fuzzer binary $OUT/NAME.
build_fuzzer() {
    local name=$1 main=$2 module=$3
    shift 3
    local binary=$OUT/$name
    local libraries=("$OUT"/lib*.a)
    if stale "$binary" "$main" "${libraries[@]}" "$0"; then
        echo "fuzz.sh: building fuzzer $name" >&2
        swiftc "${FLAGS[@]}" ${LINK_FLAGS[@]+"${LINK_FLAGS[@]}"} -module-name "$module" "$main" -L "$OUT" "$@" -o "$binary"
    fi
}

build_core() {
    build_library WebSocket -- Sources/WebSocket/*.swift
}

# The Inspector module as the fuzzers need it: the frame-spec language, recordings, HAR
# and what they use. Of the transport, events only name TLSInfo (a recording's "tls"
# event), which is plain data: a WebSocketTransport module of that file alone keeps
# OpenSSL and the event loop out of the fuzzers.
build_inspector() {
    build_core
    build_library WebSocketTransport -- Sources/WebSocketTransport/TLSInfo.swift
    local I=Sources/Inspector
    build_library Inspector -- $I/FrameSpec.swift $I/Recording*.swift $I/HAR.swift $I/JSON*.swift \
        $I/SafeText.swift $I/SessionEvent.swift $I/EventLine.swift
}

# Seeds for the inflate target when it has none of its own: option byte, limit byte,
# then control byte + fragment (RFC 7692 7.2.3.1 "Hello", and it split in two).
seed_inflate() {
    local corpus=$1
    printf '\x00\x40\x06\xf2\x48\xcd\xc9\xc9\x07\x00' >"$corpus/hello"
    printf '\x00\x40\x02\xf2\x48\xcd\x03\xc9\xc9\x07\x00' >"$corpus/hello-split"
    printf '\xc3\x10\x06\xf2\x48\xcd\xc9\xc9\x07\x00\xf6\xf2\x48\xcd\xc9\xc9\x07\x00' >"$corpus/two-messages"
}

# run_fuzzer NAME [LIBFUZZER_FLAGS...]: runs $OUT/NAME and prints its summary line.
# Returns 1 on a crash.
run_fuzzer() {
    local name=$1
    shift
    local binary=$OUT/$name corpus=$OUT/corpus/$name crashes=$OUT/crashes/$name log=$OUT/logs/$name.log
    mkdir -p "$corpus" "$crashes" "$OUT/logs"
    local seeds=()
    case $name in
        frame-decoder) [ -d Fuzz/FrameDecoderFuzz/seeds ] && seeds=(Fuzz/FrameDecoderFuzz/seeds) ;;
        handshake) [ -d Fuzz/HandshakeFuzz/seeds ] && seeds=(Fuzz/HandshakeFuzz/seeds) ;;
        frame-spec) [ -d Fuzz/FrameSpecFuzz/seeds ] && seeds=(Fuzz/FrameSpecFuzz/seeds) ;;
        recording) [ -d Fuzz/RecordingFuzz/seeds ] && seeds=(Fuzz/RecordingFuzz/seeds) ;;
        inflate)
            if [ -d Fuzz/InflateFuzz/seeds ]; then
                seeds=(Fuzz/InflateFuzz/seeds)
            elif [ -z "$(ls -A "$corpus")" ]; then
                seed_inflate "$corpus"
            fi
            ;;
    esac
    echo "fuzz.sh: running $name for ${SECONDS_PER_TARGET}s (log: ${log#"$ROOT"/})" >&2
    local status=0
    # The corpus directory comes first: new inputs are written there, seeds stay as they are.
    "$binary" -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 -artifact_prefix="$crashes/" \
        "$@" "$corpus" ${seeds[@]+"${seeds[@]}"} >"$log" 2>&1 || status=$?

    local runs execs cov ft units
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
    units=$(find "$corpus" -type f | wc -l | tr -d ' ')
    if [ "$status" -eq 0 ]; then
        printf '%-14s OK     runs=%s exec/s=%s cov=%s ft=%s corpus=%s time=%ss\n' \
            "$name" "${runs:-?}" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$units" "$SECONDS_PER_TARGET"
        return 0
    fi
    local artifact
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    printf '%-14s CRASH  runs=%s exec/s=%s cov=%s ft=%s exit=%s crash=%s\n' \
        "$name" "${runs:-?}" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$status" "${artifact:-"(none; see $log)"}"
    grep -m1 -E 'Fatal error|ERROR: AddressSanitizer|ERROR: libFuzzer|invariant' "$log" | sed 's/^/    /' || true
    return 1
}

SUMMARY=()
FAILED=0
for target in "${TARGETS[@]}"; do
    case $target in
        frame-decoder)
            build_core
            build_fuzzer frame-decoder Fuzz/FrameDecoderFuzz/main.swift FrameDecoderFuzz -lWebSocket
            [ $BUILD_ONLY -eq 1 ] && continue
            line=$(run_fuzzer frame-decoder -max_len=8192) || FAILED=1
            ;;
        handshake)
            if [ ! -f Fuzz/HandshakeFuzz/main.swift ]; then
                line="handshake      SKIPPED: Fuzz/HandshakeFuzz/main.swift does not exist"
            else
                build_core
                build_fuzzer handshake Fuzz/HandshakeFuzz/main.swift HandshakeFuzz -lWebSocket
                [ $BUILD_ONLY -eq 1 ] && continue
                dict=()
                [ -f Fuzz/HandshakeFuzz/handshake.dict ] && dict=(-dict=Fuzz/HandshakeFuzz/handshake.dict)
                line=$(run_fuzzer handshake -max_len=4096 ${dict[@]+"${dict[@]}"}) || FAILED=1
            fi
            ;;
        inflate)
            if [ ! -f Fuzz/InflateFuzz/main.swift ]; then
                line="inflate        SKIPPED: Fuzz/InflateFuzz/main.swift does not exist (not written yet)"
            else
                build_core
                build_library WebSocketUtil -- Sources/WebSocketUtil/*.swift
                build_library WebSocketDeflate -I Sources/CZlib -- Sources/WebSocketDeflate/*.swift
                build_fuzzer inflate Fuzz/InflateFuzz/main.swift InflateFuzz -I Sources/CZlib \
                    -lWebSocketDeflate -lWebSocketUtil -lWebSocket -lz
                [ $BUILD_ONLY -eq 1 ] && continue
                line=$(run_fuzzer inflate -max_len=4096) || FAILED=1
            fi
            ;;
        frame-spec)
            build_inspector
            build_fuzzer frame-spec Fuzz/FrameSpecFuzz/main.swift FrameSpecFuzz -lInspector -lWebSocketTransport -lWebSocket
            [ $BUILD_ONLY -eq 1 ] && continue
            line=$(run_fuzzer frame-spec -max_len=512 -dict=Fuzz/FrameSpecFuzz/framespec.dict) || FAILED=1
            ;;
        recording)
            build_inspector
            build_fuzzer recording Fuzz/RecordingFuzz/main.swift RecordingFuzz -lInspector -lWebSocketTransport -lWebSocket
            [ $BUILD_ONLY -eq 1 ] && continue
            line=$(run_fuzzer recording -max_len=8192 -dict=Fuzz/RecordingFuzz/recording.dict) || FAILED=1
            ;;
    esac
    echo "$line"
    SUMMARY+=("$line")
done

if [ ${#SUMMARY[@]} -gt 0 ]; then
    echo
    echo "fuzz.sh summary:"
    printf '  %s\n' "${SUMMARY[@]}"
fi
exit $FAILED
