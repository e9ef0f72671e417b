#!/usr/bin/env python3
"""Interop driver server (Python websockets), for testing a client that echoes
(`wscope connect --echo`): prints the listening port as its first stdout line, accepts
one connection, sends it the message sequence, checks that every echo is byte-identical
and of the same type, closes with 1000, checks that the client answered 1000, prints
PASS or FAIL and exits 0 or 1.

    py_driver_server.py [--port N] [--deflate] [--deflate-params P] [--expect H] [--sequence full|medium|short]
"""

import asyncio
import sys
import time

from websockets.asyncio.server import serve

import interop_common as common


async def drive(ws, args, messages):
    error = common.check_extensions(ws.response.headers.get("Sec-WebSocket-Extensions"), args.expect)
    if error:
        await ws.close(1000)
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
        return "closing handshake: the client sent no close frame"
    if rcvd.code != 1000:
        return f"closing handshake: the client answered with {rcvd.code} {rcvd.reason!r}"
    return None


async def run(args):
    messages = common.message_sequence(args.sequence)
    result = asyncio.get_running_loop().create_future()

    async def handler(ws):
        if result.done():  # one connection only
            await ws.close(1013, "driver already used")
            return
        try:
            error = await drive(ws, args, messages)
        except Exception as e:  # connection lost, protocol errors
            error = f"{type(e).__name__}: {e}"
        if not result.done():
            result.set_result(error)

    async with serve(
        handler,
        "127.0.0.1",
        args.port,
        max_size=common.MAX_SIZE,
        ping_interval=None,
        close_timeout=args.timeout,
        **common.deflate_kwargs(args, server=True),
    ) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        return await result


def main():
    parser = common.parser("Python websockets interop driver server")
    parser.add_argument("--port", type=int, default=0)
    common.add_common_options(parser)
    error = asyncio.run(run(parser.parse_args()))
    if error:
        print(f"FAIL: {error}", flush=True)
        sys.exit(1)
    print("PASS", flush=True)


if __name__ == "__main__":
    main()
