#!/usr/bin/env python3
"""A Python `websockets` client that reports what a server sends it (scripts/tui-tests.sh
drives `wscope listen` in tmux and checks which client got what).

    listen_client.py URL FILE

Connects to URL and appends to FILE, one line each, flushed at once:
    open                      the opening handshake completed
    text: MESSAGE             a text message (repr, so control characters stay visible)
    binary: HEX               a binary message
    closed: CODE REASON       the server closed the connection (its code and reason)
It sends nothing and answers pings (websockets does). Exit status 0 once closed; a failed
connection writes "failed: REASON" and exits 1.
"""

import asyncio
import sys

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed


async def main(url, path):
    with open(path, "a", encoding="utf-8") as out:
        def note(line):
            out.write(line + "\n")
            out.flush()

        try:
            async with connect(url, ping_interval=None, close_timeout=5) as ws:
                note("open")
                try:
                    async for message in ws:
                        if isinstance(message, str):
                            note(f"text: {message!r}")
                        else:
                            note(f"binary: {message.hex()}")
                except ConnectionClosed:
                    pass
                note(f"closed: {ws.close_code} {ws.close_reason}")
        except (OSError, ConnectionClosed) as error:
            note(f"failed: {error}")
            return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2])))
