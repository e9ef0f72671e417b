#!/usr/bin/env bash
# Runs every wscope benchmark in one go (release build, as the plugin always does) and
# prints a compact table: ns/op, operations/s, GB/s and MB/s, mallocs/op, followed by the
# ratios that must be quoted from a single run (ours vs SwiftNIO, Cipher.mask vs memcpy,
# permessage-deflate vs zlib called directly).
#
#   Benchmarks/run.sh                        # everything
#   Benchmarks/run.sh --target MaskBenchmarks  # extra arguments go to `swift package benchmark`
#   KEEP=dir Benchmarks/run.sh               # keep the raw JMH export in dir
#
# Needs python3 for the summary. Full percentiles: `swift package --disable-sandbox benchmark`.
set -euo pipefail
cd "$(dirname "$0")"

out="${KEEP:-$(mktemp -d)}"
mkdir -p "$out"
log="$out/benchmark.log"

echo "Building and running benchmarks (log: $log) ..." >&2
if ! swift package --disable-sandbox benchmark --no-progress --format jmh --path "$out" "$@" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "benchmark run failed; see $log" >&2
    exit 1
fi
if grep -q "failed during runtime" "$log"; then
    grep -B2 -A3 "Failed to run" "$log" >&2 || true
    echo "warning: some benchmark targets crashed (see $log); their rows are missing" >&2
fi

python3 - "$out"/*.jmh.json <<'PY'
import json, re, sys

rows = {}
paired = {}
compressed = {}
extras = {}   # benchmark name -> {custom metric: median}
for path in sys.argv[1:]:
    for element in json.load(open(path)):
        # package.benchmark.<Target>.<Name>_(bytes:_N,_ops:_M)  (JMH turns spaces into '_')
        full = element["benchmark"].split(".", 3)[3]
        match = re.match(r"(.*)_\(bytes:_(\d+),_ops:_(\d+)\)$", full)
        if not match:
            continue
        name = match.group(1).replace("_", " ")
        bytes_per_op, ops = int(match.group(2)), int(match.group(3))
        metrics = element["secondaryMetrics"]
        wall = metrics["Time (wall clock)"]["scorePercentiles"]   # microseconds per iteration
        mallocs = metrics["Malloc (total)"]["scorePercentiles"]   # count per iteration
        # (The JMH export carries custom metrics over to later benchmarks: read them only
        # from the paired benchmarks themselves.)
        for metric in ("paired Cipher.mask (ns)", "paired memcpy (ns)"):
            if name.startswith("Paired Cipher") and metric in metrics:
                paired.setdefault(name, {})[metric] = metrics[metric]["scorePercentiles"]["50.0"]
        for metric in ("paired wscope (ns/op)", "paired zlib (ns/op)"):
            if name.startswith("Paired deflate") and metric in metrics:
                paired.setdefault(name, {})[metric] = metrics[metric]["scorePercentiles"]["50.0"]
        for metric in ("disk bytes per 1000 payload bytes", "resident bytes per frame"):
            if (name.startswith(("Recording write", "JSONEncoder write", "Plain write")) or name.startswith("Timeline ingest")) \
                    and metric in metrics:
                extras.setdefault(name, {})[metric] = metrics[metric]["scorePercentiles"]["50.0"]
        if name.startswith("Deflate compress/") and "compressed bytes per message" in metrics:
            compressed[name.split("/", 1)[1]] = (metrics["compressed bytes per message"]["scorePercentiles"]["50.0"], bytes_per_op)
        rows[name] = {
            "ns": wall["50.0"] * 1000.0 / ops,
            "ns90": wall["90.0"] * 1000.0 / ops,
            "bytes": bytes_per_op,
            "mallocs": mallocs["50.0"] / ops,
            "mallocs_max": mallocs["100.0"] / ops,
            "samples": element["measurementIterations"],
        }

def fmt_ns(ns):
    return f"{ns:,.2f}" if ns < 100 else f"{ns:,.0f}"

def fmt_rate(ns):
    per_second = 1e9 / ns
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if per_second >= scale:
            return f"{per_second / scale:.2f} {unit}"
    return f"{per_second:.0f}"

def fmt_mbs(bytes_per_op, ns):
    if not bytes_per_op:
        return "-"
    value = bytes_per_op / ns * 1000.0
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"

def fmt_mallocs(value):
    return "0" if value == 0 else (f"{value:.3f}".rstrip("0").rstrip("."))

order = ["Harness", "Header.decode", "NIO decode", "Header.encode", "NIO encode", "Cipher.mask", "memcpy",
         "NIO webSocketMask", "Frame read", "NIO read", "Frame write raw", "Frame.write", "NIO write",
         "Connection.receive", "Connection.send", "Upgrader", "NIO upgrade",
         "Deflate compress", "zlib deflate", "Deflate decompress", "zlib inflate", "Deflate round", "zlib round",
         "Paired deflate", "Recording write", "JSONEncoder write", "Plain write", "Recording read", "JSONDecoder read",
         "Recording dump", "JSONSerialization dump", "Plain read", "Timeline ingest", "Event build", "Timeline"]
def sort_key(name):
    group = next((i for i, prefix in enumerate(order) if name.startswith(prefix)), len(order))
    return (group, name)

width = max(len(n) for n in rows) if rows else 10
print()
print(f"{'benchmark':<{width}}  {'ns/op p50':>11}  {'ns/op p90':>11}  {'ops/s':>9}  {'GB/s':>7}  {'MB/s':>8}  {'mallocs/op':>10}  {'max':>6}")
print("-" * (width + 76))
for name in sorted(rows, key=sort_key):
    r = rows[name]
    gbs = f"{r['bytes'] / r['ns']:.2f}" if r["bytes"] else "-"
    print(f"{name:<{width}}  {fmt_ns(r['ns']):>11}  {fmt_ns(r['ns90']):>11}  {fmt_rate(r['ns']):>9}  {gbs:>7}"
          f"  {fmt_mbs(r['bytes'], r['ns']):>8}  {fmt_mallocs(r['mallocs']):>10}  {fmt_mallocs(r['mallocs_max']):>6}")

# (label, ours, reference, meaning). ratio = reference time / our time, so > 1 means we are faster.
pairs = []
for form in ("7bit", "16bit", "64bit"):
    pairs.append((f"header decode {form}", f"Header.decode/{form} masked", f"NIO decode/{form} masked"))
    pairs.append((f"header encode {form}", f"Header.encode/{form} unmasked", f"NIO encode/{form} unmasked"))
for size in ("64KiB", "1MiB"):
    pairs.append((f"mask {size}: memcpy / Cipher.mask", f"Cipher.mask/{size}", f"memcpy/{size}"))
    pairs.append((f"mask {size}: memcpy / Cipher.mask unaligned", f"Cipher.mask/{size} unaligned+offset", f"memcpy/{size}"))
    pairs.append((f"mask {size}: NIO webSocketMask / Cipher.mask", f"Cipher.mask/{size}", f"NIO webSocketMask/{size}"))
for size in ("16B", "1KiB", "64KiB"):
    pairs.append((f"frame read {size}", f"Frame read/{size}", f"NIO read/{size}"))
    pairs.append((f"frame write {size} (raw buffer)", f"Frame write raw/{size}", f"NIO write/{size}"))
    pairs.append((f"frame write {size} (Frame.write [UInt8])", f"Frame.write [UInt8]/{size}", f"NIO write/{size}"))
pairs.append(("server upgrade (Chrome request)", "Upgrader.upgrade/Chrome request", "NIO upgrade/Chrome request"))
# permessage-deflate against zlib called directly on the same messages (a ratio near 1 means
# the wrapper adds little; "round" includes framing, masking and UTF-8 validation on our side).
for case in ("text 128B", "text 4KiB", "binary 64KiB"):
    pairs.append((f"deflate compress {case}", f"Deflate compress/{case}", f"zlib deflate/{case}"))
    pairs.append((f"deflate decompress {case}", f"Deflate decompress/{case}", f"zlib inflate/{case}"))
    pairs.append((f"deflate round {case} (Connection pair)", f"Deflate round/{case}", f"zlib round/{case}"))

for case in ("16B text", "16B binary", "4KiB text", "4KiB binary"):
    pairs.append((f"recording write {case} vs JSONEncoder", f"Recording write/{case}", f"JSONEncoder write/{case}"))
    pairs.append((f"recording write {case} vs plain write(2)", f"Recording write/{case}", f"Plain write/{case}"))
    pairs.append((f"recording read {case} vs JSONDecoder", f"Recording read/{case}", f"JSONDecoder read/{case}"))
    pairs.append((f"dump --json {case} vs JSONSerialization", f"Recording dump --json/{case}", f"JSONSerialization dump/{case}"))
    pairs.append((f"dump --json {case} vs plain read(2)", f"Recording dump --json/{case}", f"Plain read/{case}"))
pairs.append(("dump --json 1M 16B text vs plain read(2)", "Recording dump --json 1M/16B text", "Plain read 1M/16B text"))
pairs.append(("timeline ingest vs building the events alone", "Timeline ingest/16B text 1M", "Event build only/16B text 1M"))

print()
print("Ratios from this run: reference ns/op divided by ours (> 1 = ours faster; for memcpy, >= 1 = mask at least as fast as memcpy;"
      " for zlib, 1 = no overhead over zlib itself)")
lwidth = max(len(p[0]) for p in pairs)
for label, ours, reference in pairs:
    if ours in rows and reference in rows:
        a, b = rows[ours], rows[reference]
        print(f"  {label:<{lwidth}}  {b['ns'] / a['ns']:8.2f}x   ({fmt_ns(a['ns'])} vs {fmt_ns(b['ns'])} ns/op;"
              f" mallocs/op {fmt_mallocs(a['mallocs'])} vs {fmt_mallocs(b['mallocs'])})")
for name in sorted(paired):
    values = paired[name]
    ours, zlib = values.get("paired wscope (ns/op)"), values.get("paired zlib (ns/op)")
    if ours and zlib:
        label = name[len("Paired "):].replace("/", " ") + ", paired"
        print(f"  {label:<{lwidth}}  {zlib / ours:8.2f}x   ({fmt_ns(ours)} vs {fmt_ns(zlib)} ns/op, medians of back-to-back batches)")
    mask, copy = values.get("paired Cipher.mask (ns)"), values.get("paired memcpy (ns)")
    if mask and copy:
        size = name.split("/")[-1]
        label = f"mask {size}: memcpy / Cipher.mask, paired"
        print(f"  {label:<{lwidth}}  {copy / mask:8.2f}x   ({fmt_ns(mask)} vs {fmt_ns(copy)} ns, medians of back-to-back calls)")
if extras:
    print()
    print("Sizes (medians):")
    for name in sorted(extras, key=sort_key):
        for metric, value in extras[name].items():
            if metric.startswith("disk"):
                print(f"  {name:<{width}}  {value / 1000:.3f} bytes on disk per payload byte")
            else:
                print(f"  {name:<{width}}  {value:,.0f} resident bytes per stored frame")
if compressed:
    print()
    print("Deflate test messages, compressed (context takeover, level 6, without the 4-byte tail):")
    for case, (size, original) in compressed.items():
        print(f"  {case:<14} {original:>6} B -> {size:,.0f} B per message ({original / size:.1f}:1)" if size else f"  {case}: -")
PY
