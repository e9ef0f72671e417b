#!/usr/bin/env python3
"""Checks that `wscope connect URL --no-tui --json` writes one JSON object per line and
flushes each line as it happens (stdlib only).

    json_flush.py WSCOPE URL LOG

Runs wscope with pipes for stdin and stdout; types a text line and waits (up to 5 s) for
the echo's frame line to come through the pipe while wscope is still running and stdin
is still open, then does the same with a binary frame (/frame) and a ping (/ping),
then closes stdin and reads the rest. Every line goes to LOG. Prints "ok: ..." or
"FAIL: reason", exits 0 or 1.
"""

import base64
import json
import os
import select
import subprocess
import sys
import time


def main():
    wscope, url, log_path = sys.argv[1:4]
    log = open(log_path, "w")
    process = subprocess.Popen([wscope, "connect", url, "--no-tui", "--json"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log)
    buffer = b""
    seen = []

    def fail(message):
        process.kill()
        process.wait()
        print(f"FAIL: {message}")
        sys.exit(1)

    def read_until(predicate, what, seconds=5.0):
        nonlocal buffer
        deadline = time.monotonic() + seconds
        while True:
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                log.write(line.decode(errors="replace") + "\n")
                log.flush()
                try:
                    event = json.loads(line)
                except ValueError:
                    fail(f"not a JSON line: {line[:120]!r}")
                seen.append(event)
                if predicate(event):
                    return event
            left = deadline - time.monotonic()
            if left <= 0:
                fail(f"no line with {what} within {seconds} s while wscope runs "
                     f"(not flushed per line?); {len(seen)} lines so far")
            ready, _, _ = select.select([process.stdout], [], [], left)
            if ready:
                chunk = os.read(process.stdout.fileno(), 65536)
                if not chunk:
                    fail(f"wscope closed stdout before a line with {what} (exit {process.wait()})")
                buffer += chunk

    def frame(direction, opcode, payload):
        encoded = base64.b64encode(payload).decode()
        return lambda e: (e.get("type") == "frame" and e.get("dir") == direction
                          and e.get("opcode") == opcode and e.get("payload") == encoded)

    read_until(lambda e: e.get("type") == "open", "the open event")
    process.stdin.write(b"flush me\n")
    process.stdin.flush()
    read_until(frame("in", 1, b"flush me"), "the echo of 'flush me'")
    if process.poll() is not None:
        fail("wscope exited early")
    process.stdin.write(b"/frame binary:hex:0001feff\n")
    process.stdin.flush()
    read_until(frame("in", 2, bytes.fromhex("0001feff")), "the echo of the binary frame")
    process.stdin.write(b"/ping hi\n")
    process.stdin.flush()
    read_until(frame("in", 10, b"hi"), "the pong")
    still_running = process.poll() is None
    process.stdin.close()
    read_until(lambda e: e.get("type") == "close", "the close event")
    rest = b""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], deadline - time.monotonic())
        chunk = os.read(process.stdout.fileno(), 65536) if ready else b""
        if not chunk:
            break
        rest += chunk
    try:
        process.wait(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        fail("wscope did not exit within 10 s after its stdin closed")
    for line in (buffer + rest).splitlines():
        log.write(line.decode(errors="replace") + "\n")
        try:
            seen.append(json.loads(line))
        except ValueError:
            fail(f"not a JSON line: {line[:120]!r}")
    if process.returncode != 0:
        fail(f"wscope exited {process.returncode}")
    if not still_running:
        fail("wscope was not running while its lines arrived")
    frames = sum(1 for e in seen if e.get("type") == "frame")
    print(f"ok: {len(seen)} lines ({frames} frames), each echo read through the pipe while wscope ran")


if __name__ == "__main__":
    main()
