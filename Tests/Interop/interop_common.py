"""Shared by the Python interop peers: options, the message sequence, checks.

The sequence is deterministic: for each size in SEQUENCES[name] (--sequence) it
holds a text message of repeated multi-byte UTF-8, a text message of pseudo-random
characters (1 to 4 bytes each), a pseudo-random binary message (sent twice in a row
up to AGAIN_LIMIT) and a highly compressible binary message, each exactly that many bytes.
Above 1 MiB (the 16 MiB size) only the repeated text and the random binary message are
sent, to keep the run short (deflating 16 MiB of random text takes seconds per hop).
"""

import argparse
import random
import sys

from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)

MIB = 1024 * 1024
SIZES = [0, 1, 125, 126, 65535, 65536, MIB, 16 * MIB]
SEQUENCES = {
    "full": SIZES,
    "medium": [0, 1, 125, 126, 65535, 65536, MIB],
    "short": [0, 1, 125, 126, 65535, 65536, 256 * 1024],
}
# The same random message twice in a row, up to this size: a sender that skips compressing
# the first (it would not shrink) must not keep it in its compression history either.
AGAIN_LIMIT = 65536
MAX_SIZE = 64 * MIB  # largest message the peers accept (the sequence needs 16 MiB)

# Sized so that every repetition is valid UTF-8 on its own: 1-, 2-, 3- and 4-byte characters.
TEXT_UNIT = "wscope é ж € 中文 😀 ok\n".encode("utf-8")
# Characters of every UTF-8 length, including the edges of each length class.
TEXT_CHARS = [c.encode("utf-8") for c in "aZ~ \t\u0080éж߿\u0800€中\ufffd\U00010000😀\U0010ffff"]


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


def repeated_text(size):
    data = TEXT_UNIT * (size // len(TEXT_UNIT))
    return data + b"x" * (size - len(data))


def random_text(size, rng):
    # Random characters until there are enough bytes, then cut at a character boundary
    # and pad the last 0-3 bytes with ASCII.
    data = bytearray()
    while len(data) < size:
        data += b"".join(rng.choices(TEXT_CHARS, k=4096))
    cut = size
    while cut > 0 and cut < len(data) and 0x80 <= data[cut] < 0xC0:
        cut -= 1
    return bytes(data[:cut]) + b"y" * (size - cut)


def compressible_binary(size):
    unit = bytes(range(256)) + bytes(256) + b"\xff" * 64
    data = unit * (size // len(unit) + 1)
    return data[:size]


def message_sequence(name="full"):
    """[(name, is_text, payload bytes)], the same on every run."""
    rng = random.Random(6455)
    out = []
    for size in SEQUENCES[name]:
        big = size > MIB
        out.append((f"text-repeated-{size}", True, repeated_text(size)))
        if not big:
            out.append((f"text-random-{size}", True, random_text(size, rng)))
        out.append((f"binary-random-{size}", False, rng.randbytes(size)))
        if size <= AGAIN_LIMIT:
            out.append((f"binary-random-again-{size}", False, out[-1][2]))
        if not big:
            out.append((f"binary-compressible-{size}", False, compressible_binary(size)))
    for label, is_text, payload in out:
        assert len(payload) == int(label.rsplit("-", 1)[1]), label
        if is_text:
            payload.decode("utf-8")  # raises if the generator is wrong
    return out


def parse_deflate_params(text):
    """'server_no_context_takeover; client_max_window_bits=10' -> dict for the factories."""
    params = {}
    for item in filter(None, (p.strip() for p in text.split(";"))):
        name, _, value = item.partition("=")
        name = name.strip()
        if name in ("server_no_context_takeover", "client_no_context_takeover"):
            params[name] = True
        elif name in ("server_max_window_bits", "client_max_window_bits"):
            params[name] = int(value)
        else:
            raise SystemExit(f"unknown deflate parameter {name!r}")
    return params


def add_common_options(parser):
    parser.add_argument("--deflate", action="store_true", help="offer/accept permessage-deflate")
    parser.add_argument("--deflate-params", default=None, metavar="PARAMS",
                        help="permessage-deflate parameters, e.g. 'server_no_context_takeover; "
                             "client_max_window_bits=10' (implies --deflate)")
    parser.add_argument("--expect", default=None, metavar="HEADER",
                        help="the Sec-WebSocket-Extensions value that must be negotiated "
                             "('' for none); compared ignoring parameter order and spaces")
    parser.add_argument("--sequence", choices=SEQUENCES, default="full",
                        help="full (largest 16 MiB, default), medium (1 MiB) or short (256 KiB)")
    parser.add_argument("--timeout", type=float, default=60, help="seconds per message")


def deflate_kwargs(args, server):
    """Keyword arguments for serve()/connect(): compression off, or one explicit factory."""
    if not args.deflate and args.deflate_params is None:
        return {"compression": None}
    params = parse_deflate_params(args.deflate_params or "")
    factory = ServerPerMessageDeflateFactory if server else ClientPerMessageDeflateFactory
    return {"compression": None, "extensions": [factory(**params)]}


def normalize_extensions(value):
    """'permessage-deflate; b=1;a' -> 'permessage-deflate; a; b=1' (per extension, sorted params)."""
    if value is None or value.strip() == "":
        return ""
    out = []
    for ext in value.split(","):
        parts = [p.strip().replace(" ", "") for p in ext.split(";") if p.strip()]
        out.append("; ".join([parts[0].lower()] + sorted(p.lower() for p in parts[1:])))
    return ", ".join(out)


def check_extensions(negotiated, expect):
    """Prints what was negotiated; returns an error string when --expect disagrees."""
    print(f"negotiated: {negotiated if negotiated else '(none)'}", flush=True)
    if expect is None:
        return None
    if normalize_extensions(negotiated) != normalize_extensions(expect):
        return f"negotiated extensions {negotiated!r}, expected {expect!r}"
    return None


def describe_mismatch(name, is_text, payload, got):
    got_text = isinstance(got, str)
    if got_text != is_text:
        return f"{name}: echo came back as {'text' if got_text else 'binary'}"
    got_bytes = got.encode("utf-8") if got_text else bytes(got)
    if got_bytes == payload:
        return None
    if len(got_bytes) != len(payload):
        return f"{name}: echo has {len(got_bytes)} bytes, sent {len(payload)}"
    first = next(i for i in range(len(payload)) if got_bytes[i] != payload[i])
    return f"{name}: echo differs from byte {first} on"


def parser(description):
    return argparse.ArgumentParser(description=description)
