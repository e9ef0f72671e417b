#!/usr/bin/env python3
"""Interop client (Python websockets): sends the message sequence to URL, checks that
every echo is byte-identical and of the same type, closes with 1000 and checks that the
server answered the close with 1000. Prints the negotiated Sec-WebSocket-Extensions.
Exit 0 on success, 1 with a FAIL line on any mismatch.

    py_client.py ws://127.0.0.1:PORT/ [--deflate] [--deflate-params P] [--expect H] [--sequence full|medium|short]
"""

import asyncio
import sys
import time

from websockets.asyncio.client import connect

import interop_common as common


async def run(args):
    messages = common.message_sequence(args.sequence)
    async with connect(
        args.url,
        max_size=common.MAX_SIZE,
        ping_interval=None,
        open_timeout=args.timeout,
        close_timeout=args.timeout,
        **common.deflate_kwargs(args, server=False),
    ) as ws:
        error = common.check_extensions(ws.response.headers.get("Sec-WebSocket-Extensions"), args.expect)
        if error:
            return error
        for name, is_text, payload in messages:
            start = time.monotonic()
            await ws.send(payload.decode("utf-8") if is_text else payload)
            try:
                got = await asyncio.wait_for(ws.recv(), args.timeout)
            except asyncio.TimeoutError:
                return f"{name}: no echo within {args.timeout:g} s"
            error = common.describe_mismatch(name, is_text, payload, got)
            if error:
                return error
            common.log(f"ok {name} ({time.monotonic() - start:.3f} s)")
        await ws.close(1000)
        rcvd = ws.protocol.close_rcvd
        if rcvd is None:
            return "closing handshake: the server sent no close frame"
        if rcvd.code != 1000:
            return f"closing handshake: the server answered with {rcvd.code} {rcvd.reason!r}"
    return None


def main():
    parser = common.parser("Python websockets interop client")
    parser.add_argument("url")
    common.add_common_options(parser)
    args = parser.parse_args()
    try:
        error = asyncio.run(run(args))
    except Exception as e:  # connection refused, handshake or protocol errors
        error = f"{type(e).__name__}: {e}"
    if error:
        print(f"FAIL: {error}", flush=True)
        sys.exit(1)
    print("PASS", flush=True)


if __name__ == "__main__":
    main()
