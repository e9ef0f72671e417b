#!/usr/bin/env python3
"""Raw WebSocket sink for capture tests (stdlib only).

Accepts TCP connections, completes the RFC 6455 opening handshake, then reads and
discards everything the client sends, never answering a frame, so that malformed
frames are not cut short by a close from our side. Each connection ends when the
client closes its side (or after --idle seconds without data).

    raw_ws_server.py [--port N] [--idle S]

Prints the listening port as its first stdout line (port 0 = a free port), and one
line per connection: "conn N: handshake ok, discarded B bytes".
"""

import argparse
import base64
import hashlib
import socket
import sys
import threading

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def handle(conn, number, idle):
    conn.settimeout(idle)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                print(f"conn {number}: closed before the handshake", flush=True)
                return
            data += chunk
            if len(data) > 65536:
                print(f"conn {number}: handshake too large", flush=True)
                return
        head, rest = data.split(b"\r\n\r\n", 1)
        key = None
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"sec-websocket-key":
                key = value.strip()
        if key is None:
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            print(f"conn {number}: no Sec-WebSocket-Key", flush=True)
            return
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        conn.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\n"
            b"Upgrade: websocket\r\n"
            b"Connection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        total = len(rest)
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            total += len(chunk)
        print(f"conn {number}: handshake ok, discarded {total} bytes", flush=True)
    except socket.timeout:
        print(f"conn {number}: idle for {idle}s, closing", flush=True)
    except OSError as error:
        print(f"conn {number}: {error}", flush=True)
    finally:
        conn.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--idle", type=float, default=30.0)
    args = parser.parse_args()
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", args.port))
    server.listen(64)
    print(server.getsockname()[1], flush=True)
    number = 0
    while True:
        conn, _ = server.accept()
        number += 1
        threading.Thread(target=handle, args=(conn, number, args.idle), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
