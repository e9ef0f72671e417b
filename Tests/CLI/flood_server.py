#!/usr/bin/env python3
"""A WebSocket server that floods its one client, for scripts/tui-tests.sh (stdlib only).

    flood_server.py [--count N] [--port P] [--until FILE]

Prints its listening port as the first stdout line (--port 0 = a free port), accepts one
client, does the RFC 6455 opening handshake itself, then writes N (default 300,000)
unmasked text frames "f000000", "f000001", ... built beforehand into buffers of 100,000
frames and sent in large writes: as fast as the client reads, far beyond 100,000
frames/s when the client keeps up. With --until FILE it goes on with further batches
until FILE exists (at most 60 s), so that a test can act while the flood is surely still
running however fast the client is. Then a close 1000 "flood done"; it waits (at most
30 s) for the client's close and prints "sent N frames", "client took N frames in S s
(R frames/s)" and "client close: CODE". Exit status 0 when the client answered the close.
"""

import argparse
import base64
import hashlib
import os
import socket
import struct
import sys
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def read_request(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            sys.exit("FAIL: the client left during the handshake")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    return headers, rest


BATCH = 100_000


def frames(first, count):
    # FIN, text, unmasked; payloads "f000000" ... are 7 bytes (8 from f1000000 on).
    return b"".join(b"\x81" + bytes([len(payload)]) + payload
                    for payload in (b"f%06d" % index for index in range(first, first + count)))


def read_close(conn, pending):
    """The client's close frame (masked): its status code, or None when it never came."""
    conn.settimeout(30)
    data = pending
    while True:
        if len(data) >= 2:
            length = data[1] & 0x7F
            if data[0] & 0x0F == 0x8 and length <= 125 and len(data) >= 6 + length:
                mask, body = data[2:6], data[6:6 + length]
                body = bytes(b ^ mask[i % 4] for i, b in enumerate(body))
                return struct.unpack("!H", body[:2])[0] if len(body) >= 2 else 1005
        try:
            chunk = conn.recv(4096)
        except socket.timeout:
            return None
        if not chunk:
            return None
        data += chunk


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=300_000)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--until", help="keep flooding until this file exists")
    args = parser.parse_args()

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # A small send buffer keeps the writes close to what the client has read, so that
    # --until stops the flood soon after the file appears (loopback's default buffers hold
    # hundreds of thousands of these frames).
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 256 * 1024)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(1)
    print(listener.getsockname()[1], flush=True)
    batches = [frames(first, min(BATCH, args.count - first)) for first in range(0, args.count, BATCH)]

    conn, _ = listener.accept()
    headers, pending = read_request(conn)
    key = headers.get(b"sec-websocket-key")
    if key is None:
        sys.exit("FAIL: no Sec-WebSocket-Key")
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")

    start = time.monotonic()
    piece = 1 << 20
    sent = 0
    for batch in batches:
        for offset in range(0, len(batch), piece):
            conn.sendall(batch[offset:offset + piece])
        sent += min(BATCH, args.count - sent)
    while args.until and not os.path.exists(args.until) and time.monotonic() - start < 60:
        conn.sendall(frames(sent, BATCH))
        sent += BATCH
    conn.sendall(b"\x88\x0c" + struct.pack("!H", 1000) + b"flood done")
    code = read_close(conn, pending)
    # The client answers the close after it has read every frame before it, so this is
    # the rate the client took them in (the socket buffers hide how fast the writes went).
    elapsed = time.monotonic() - start
    print(f"sent {sent} frames", flush=True)
    print(f"client took {sent} frames in {elapsed:.2f} s ({sent / max(elapsed, 1e-9):.0f} frames/s)", flush=True)
    print(f"client close: {code}", flush=True)
    conn.close()
    sys.exit(0 if code is not None else 1)


if __name__ == "__main__":
    main()
