#!/usr/bin/env python3
"""Interop echo server (Python websockets): echoes every message as the same type.
Prints the listening port as its first stdout line (use --port 0 for a free port).

    py_echo_server.py [--port N] [--deflate] [--deflate-params P]
"""

import asyncio

from websockets.asyncio.server import serve

import interop_common as common


async def echo(ws):
    common.log(f"connection, extensions: {ws.response.headers.get('Sec-WebSocket-Extensions')}")
    async for message in ws:
        await ws.send(message)


async def run(args):
    async with serve(
        echo,
        "127.0.0.1",
        args.port,
        max_size=common.MAX_SIZE,
        ping_interval=None,
        **common.deflate_kwargs(args, server=True),
    ) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()


def main():
    parser = common.parser("Python websockets interop echo server")
    parser.add_argument("--port", type=int, default=0)
    common.add_common_options(parser)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
