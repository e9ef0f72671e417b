#!/usr/bin/env python3
"""Checks a loopback capture of `wscope send` runs against what each frame spec says.

    check_capture.py PCAP PORT EXPECT_TSV [TSHARK]

EXPECT_TSV has one row per `wscope send` run, in the order they ran (each run is its own
TCP connection, so row i is tcp.stream i of the capture). Columns, tab separated, "-"
meaning "not checked":

    name  fin  rsv  opcode  mask  len7  ext  maskkey  payload_hex  min_segments  mode

fin/mask are 0|1, rsv is the three RSV bits as a number (RSV1=4, RSV2=2, RSV3=1), len7
is the 7-bit payload length field (126/127 announce the 16/64-bit extended field), ext is
the extended length value, payload_hex the unmasked payload, min_segments the least
number of TCP segments the frame must be spread over. mode "reassembled" reads the
fields from tshark's normal dissection; mode "per-segment" reads them with TCP
reassembly off: a frame whose length field lies (says 200, carries 3 bytes) is never
completed, so reassembling tshark waits for bytes that never come and shows no frame at
all, while per segment it dissects the header it can see (length field 126 + 16-bit 200)
and marks the rest as missing.

Two independent views are compared with the expectation: tshark's WebSocket dissector
(fin, rsv, opcode, mask, length fields, masking key) and our own decoding of the raw
client-to-server TCP payload (unmasked payload bytes, segment count). Prints one line per
row: "PASS tshark/NAME" or "FAIL tshark/NAME: reason".
"""

import subprocess
import sys

FIELDS = [
    "websocket.fin",
    "websocket.rsv",
    "websocket.opcode",
    "websocket.mask",
    "websocket.payload_length",
    "websocket.payload_length_ext_16",
    "websocket.payload_length_ext_64",
    "websocket.masking_key",
]


def tshark_rows(tshark, pcap, port, display_filter, fields, extra=()):
    # -d ...,http: the HTTP dissector parses the upgrade and hands the rest of the
    # stream to the WebSocket dissector. (Decoding the port as websocket directly would
    # also dissect the HTTP request as if it were frames.)
    command = [tshark, "-n", "-r", pcap, *extra, "-d", f"tcp.port=={port},http",
               "-Y", display_filter, "-T", "fields", "-E", "separator=/t",
               "-E", "occurrence=a", "-E", "aggregator=,"]
    for field in fields:
        command += ["-e", field]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise SystemExit(f"FAIL tshark/read: {' '.join(command)}: {result.stderr.strip()}")
    rows = []
    for line in result.stdout.splitlines():
        rows.append(line.split("\t"))
    return rows


def first_frames(rows):
    """tcp.stream -> dict of the first WebSocket PDU's fields in that stream."""
    frames = {}
    for row in rows:
        stream = int(row[0])
        if stream in frames:
            continue
        values = {}
        for name, cell in zip(FIELDS, row[1:]):
            # Several PDUs in one segment give comma-separated values; take the first.
            values[name] = cell.split(",")[0] if cell else ""
        frames[stream] = values
    return frames


def as_int(text):
    if text in ("", None):
        return None
    lowered = text.lower()
    if lowered in ("true", "false"):
        return 1 if lowered == "true" else 0
    return int(text, 0)


def raw_streams(tshark, pcap, port):
    """tcp.stream -> list of client-to-server segment payloads (bytes), in order."""
    command = [tshark, "-n", "-r", pcap, "-Y", f"tcp.dstport=={port} && tcp.len>0",
               "-T", "fields", "-e", "tcp.stream", "-e", "tcp.payload"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    streams = {}
    for line in result.stdout.splitlines():
        stream, _, payload = line.partition("\t")
        streams.setdefault(int(stream), []).append(bytes.fromhex(payload.replace(":", "")))
    return streams


def decode_first_frame(segments):
    """Our own decoder: (header dict, unmasked payload, segments spanned) of the first
    frame after the HTTP request, or a string describing why it cannot be decoded."""
    data = b"".join(segments)
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return "no HTTP request in the client's bytes"
    start = end + 4
    frame = data[start:]
    if len(frame) < 2:
        return "no frame bytes after the HTTP request"
    b0, b1 = frame[0], frame[1]
    header = {"fin": b0 >> 7, "rsv": (b0 >> 4) & 7, "opcode": b0 & 15, "mask": b1 >> 7, "len7": b1 & 127}
    pos = 2
    length = header["len7"]
    if length == 126:
        length = int.from_bytes(frame[2:4], "big")
        pos = 4
    elif length == 127:
        length = int.from_bytes(frame[2:10], "big")
        pos = 10
    header["ext"] = length if header["len7"] >= 126 else None
    key = b"\0\0\0\0"
    if header["mask"]:
        key = frame[pos:pos + 4]
        header["maskkey"] = key.hex()
        pos += 4
    masked = frame[pos:pos + length]
    payload = bytes(c ^ key[i % 4] for i, c in enumerate(masked))
    frame_end = start + pos + length
    spanned, offset = 0, 0
    for segment in segments:
        seg_start, offset = offset, offset + len(segment)
        if offset > start and seg_start < frame_end:
            spanned += 1
    return header, payload, spanned


def main():
    pcap, port, expect_path = sys.argv[1], sys.argv[2], sys.argv[3]
    tshark = sys.argv[4] if len(sys.argv) > 4 else "tshark"
    expectations = []
    for line in open(expect_path):
        if line.strip() and not line.startswith("#"):
            expectations.append(line.rstrip("\n").split("\t"))
    fields = ["tcp.stream"] + FIELDS
    # Field names differ between Wireshark versions: name the missing ones clearly.
    known = subprocess.run([tshark, "-G", "fields"], capture_output=True, text=True, timeout=60).stdout
    known = {line.split("\t")[2] for line in known.splitlines() if line.startswith("F\t") and line.count("\t") >= 2}
    missing = [field for field in fields + ["tcp.payload", "tcp.len"] if field not in known]
    if missing:
        print(f"FAIL tshark/fields: this tshark has no field(s) {', '.join(missing)} "
              f"(see: tshark -G fields | grep -i websocket)")
        return
    client_filter = f"websocket && tcp.dstport=={port}"
    reassembled = first_frames(tshark_rows(tshark, pcap, port, client_filter, fields))
    per_segment = first_frames(tshark_rows(tshark, pcap, port, client_filter, fields,
                                           extra=("-o", "tcp.desegment_tcp_streams:FALSE")))
    raw = raw_streams(tshark, pcap, port)
    streams = sorted(raw)
    if len(streams) != len(expectations):
        print(f"FAIL tshark/streams: {len(expectations)} wscope send runs but {len(streams)} "
              f"client TCP streams in the capture: {streams}")
    for index, row in enumerate(expectations):
        name, fin, rsv, opcode, mask, len7, ext, maskkey, payload_hex, min_segments, mode = row
        problems = []
        stream = streams[index] if index < len(streams) else None
        dissected = (per_segment if mode == "per-segment" else reassembled).get(stream)
        if dissected is None:
            problems.append(f"tshark dissected no WebSocket frame in tcp.stream {stream} ({mode})")
        else:
            seen = {
                "fin": as_int(dissected["websocket.fin"]),
                "rsv": as_int(dissected["websocket.rsv"]),
                "opcode": as_int(dissected["websocket.opcode"]),
                "mask": as_int(dissected["websocket.mask"]),
                "len7": as_int(dissected["websocket.payload_length"]),
                "ext": as_int(dissected["websocket.payload_length_ext_16"]
                              or dissected["websocket.payload_length_ext_64"]),
                "maskkey": dissected["websocket.masking_key"].replace(":", "").lower() or None,
            }
            wanted = {"fin": fin, "rsv": rsv, "opcode": opcode, "mask": mask, "len7": len7,
                      "ext": ext, "maskkey": maskkey}
            for key, want in wanted.items():
                if want == "-":
                    continue
                want_value = want.lower() if key == "maskkey" else int(want, 0)
                if seen[key] != want_value:
                    problems.append(f"tshark {key}={seen[key]} (expected {want})")
        decoded = decode_first_frame(raw.get(stream, [])) if stream is not None else "no stream"
        if isinstance(decoded, str):
            problems.append(decoded)
        else:
            header, payload, spanned = decoded
            if payload_hex != "-" and payload.hex() != payload_hex.lower():
                problems.append(f"wire payload {payload.hex() or '(empty)'} (expected {payload_hex})")
            if min_segments != "-" and spanned < int(min_segments):
                problems.append(f"frame went out in {spanned} TCP segment(s) (expected >= {min_segments})")
            # tshark and our decoder must agree on the header too.
            if dissected is not None:
                for key in ("fin", "rsv", "opcode", "mask", "len7"):
                    if seen[key] != header[key]:
                        problems.append(f"tshark {key}={seen[key]} but the wire says {header[key]}")
        if problems:
            print(f"FAIL tshark/{name}: " + "; ".join(problems) + f" [tcp.stream {stream}]")
        else:
            extra = ""
            if not isinstance(decoded, str) and min_segments != "-":
                extra = f" ({decoded[2]} segments)"
            print(f"PASS tshark/{name}{extra}")


if __name__ == "__main__":
    main()
