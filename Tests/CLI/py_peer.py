#!/usr/bin/env python3
"""Python `websockets` peers for scripts/cli-tests.sh and Tests/CLI/make-recordings.sh.

Servers print their listening port as the first stdout line (--port 0 = a free port):
    py_peer.py echo [--port N] [--tls-cert F --tls-key F]
        echoes every message as the same type (websockets answers malformed frames
        with its own close codes: 1002 protocol error, 1007 invalid UTF-8, ...)
    py_peer.py close-after [--port N] [--code 1001] [--reason 'going away']
        echoes the first message, then closes the connection with CODE REASON
Clients:
    py_peer.py send URL MSG... [--hold S]  sends each MSG as text, expects each echo back,
                                          prints "echo N ok", waits S seconds, closes with 1000
    py_peer.py flood URL COUNT           sends COUNT text messages "msg NNNNN" without
                                          waiting for echoes; prints "... received N echoes"
                                          at the end or when cut off
    py_peer.py expect URL FILE [--cafile F]  FILE: JSON lines {"send": {...}} / {"recv": {...}}
                                          with "opcode" and base64 "payload"; sends and
                                          expects in order (used against replay --serve);
                                          wss:// verified with the CA file F
    py_peer.py tls-client URL CAFILE     connects over wss with CAFILE, sends "tls hello",
                                          expects the echo
Exit status 0 on success; failures print "FAIL: reason" and exit 1.
"""

import argparse
import asyncio
import base64
import json
import ssl
import sys

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed


def fail(message):
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


def server_ssl(args):
    if not args.tls_cert:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.tls_cert, args.tls_key)
    return context


async def run_echo(args):
    async def echo(ws):
        try:
            async for message in ws:
                await ws.send(message)
        except ConnectionClosed:
            pass
        print(f"closed: code={ws.close_code} reason={ws.close_reason!r}", flush=True)

    async with serve(echo, "127.0.0.1", args.port, ping_interval=None, ssl=server_ssl(args)) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()


async def run_close_after(args):
    async def handler(ws):
        try:
            message = await ws.recv()
            await ws.send(message)
            await ws.close(args.code, args.reason)
        except ConnectionClosed:
            pass
        print(f"closed: code={ws.close_code} reason={ws.close_reason!r}", flush=True)

    async with serve(handler, "127.0.0.1", args.port, ping_interval=None) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()


async def run_send(args):
    async with connect(args.url, ping_interval=None, open_timeout=10) as ws:
        for n, message in enumerate(args.messages, 1):
            await ws.send(message)
            answer = await asyncio.wait_for(ws.recv(), 10)
            if answer != message:
                fail(f"echo {n}: sent {message!r}, got {answer!r}")
            print(f"echo {n} ok", flush=True)
        await asyncio.sleep(args.hold)
        await ws.close(1000)
    print("closed cleanly", flush=True)


async def run_flood(args):
    received = 0
    sent = 0
    try:
        async with connect(args.url, ping_interval=None, open_timeout=10) as ws:
            async def drain():
                nonlocal received
                try:
                    async for _ in ws:
                        received += 1
                except ConnectionClosed:
                    pass

            reader = asyncio.create_task(drain())
            for n in range(args.count):
                await ws.send(f"msg {n:05d}")
                sent += 1
                if n % 50 == 49:
                    await asyncio.sleep(0.02)  # spread the flood over some time
            await asyncio.sleep(0.5)
            reader.cancel()
        print(f"sent {sent}, received {received} echoes", flush=True)
    except (ConnectionClosed, OSError) as error:
        print(f"cut off ({type(error).__name__}): sent {sent}, received {received} echoes", flush=True)


async def run_expect(args):
    steps = [json.loads(line) for line in open(args.file) if line.strip()]
    context = ssl.create_default_context(cafile=args.cafile) if args.cafile else None
    async with connect(args.url, ping_interval=None, open_timeout=10, ssl=context) as ws:
        for n, step in enumerate(steps, 1):
            if "send" in step:
                data = base64.b64decode(step["send"]["payload"])
                await ws.send(data.decode() if step["send"]["opcode"] == 1 else data)
            else:
                want = base64.b64decode(step["recv"]["payload"])
                try:
                    got = await asyncio.wait_for(ws.recv(), 5)
                except asyncio.TimeoutError:
                    fail(f"step {n}: no message within 5 s, expected {want!r}")
                got_bytes = got.encode() if isinstance(got, str) else got
                want_text = step["recv"]["opcode"] == 1
                if got_bytes != want or isinstance(got, str) != want_text:
                    fail(f"step {n}: expected {'text' if want_text else 'binary'} {want!r}, got {got!r}")
                print(f"step {n} ok", flush=True)
        try:
            await ws.close(1000)
        except ConnectionClosed:
            pass
    print("all steps ok", flush=True)


async def run_tls_client(args):
    context = ssl.create_default_context(cafile=args.cafile)
    async with connect(args.url, ssl=context, ping_interval=None, open_timeout=10) as ws:
        await ws.send("tls hello")
        answer = await asyncio.wait_for(ws.recv(), 10)
        if answer != "tls hello":
            fail(f"got {answer!r}")
        print("tls echo ok", flush=True)


def main():
    parser = argparse.ArgumentParser(description="websockets peers for the CLI tests")
    sub = parser.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("echo")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p = sub.add_parser("close-after")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--code", type=int, default=1001)
    p.add_argument("--reason", default="going away")
    p = sub.add_parser("send")
    p.add_argument("url")
    p.add_argument("messages", nargs="+")
    p.add_argument("--hold", type=float, default=0.0, help="seconds to stay open after the echoes")
    p = sub.add_parser("flood")
    p.add_argument("url")
    p.add_argument("count", type=int)
    p = sub.add_parser("expect")
    p.add_argument("url")
    p.add_argument("file")
    p.add_argument("--cafile")
    p = sub.add_parser("tls-client")
    p.add_argument("url")
    p.add_argument("cafile")
    args = parser.parse_args()
    runner = {
        "echo": run_echo,
        "close-after": run_close_after,
        "send": run_send,
        "flood": run_flood,
        "expect": run_expect,
        "tls-client": run_tls_client,
    }[args.mode]
    try:
        asyncio.run(runner(args))
    except KeyboardInterrupt:
        pass
    except ConnectionClosed as error:
        fail(f"connection closed: {error}")
    except OSError as error:
        fail(f"{type(error).__name__}: {error}")


if __name__ == "__main__":
    main()
