#!/usr/bin/env python3
"""JSON Lines helpers for scripts/cli-tests.sh (stdlib only).

    jsonl_tool.py check FILE [MIN_FRAMES]
        every line is a JSON object with a "type"; every frame line has the fields
        type conn dir t_ns fin rsv1 rsv2 rsv3 opcode masked mask length payload wire with
        the right types, and its base64 "wire" bytes agree with the decoded header fields
        and the payload. Prints "ok: L lines, F frames" or "FAIL: line N: reason".
    jsonl_tool.py messages FILE
        the data messages (text/binary, fragments reassembled per connection and
        direction; a continuation with no message started is not a message), one per
        line: "DIR OPCODE HEXPAYLOAD", DIR as the client sees it ("out": client to
        server), whatever side made the recording (the header's mode; HAR, like
        DevTools, is always the client's view).
    jsonl_tool.py compare FILE1 FILE2 [--utf8-replaced]
        FILE1 and FILE2 have the same messages (as above). With --utf8-replaced, a text
        message that is not valid UTF-8 in FILE1 may appear in FILE2 with U+FFFD
        replacements (what a HAR's JSON string can carry). Prints "ok: ..." or "FAIL: ...".
    jsonl_tool.py har-check FILE
        FILE is a HAR in Chrome DevTools' shape: log.entries with a "websocket" entry
        whose _webSocketMessages have type send|receive, a numeric time, opcode 1|2
        and string data. Prints "ok: ..." or "FAIL: ...".
    jsonl_tool.py steps FILE
        the messages as steps for `py_peer.py expect`: out -> {"send": ...}, in -> {"recv": ...}
    jsonl_tool.py prefix FILE [MIN]
        the text messages the client sent must be "msg 00000", "msg 00001", ... in
        order, at least MIN of them (default 1). Prints "ok: N messages" or "FAIL: reason".
FILE "-" reads standard input.
"""

import base64
import difflib
import json
import sys

FRAME_FIELDS = {
    "type": str, "conn": int, "dir": str, "t_ns": int, "fin": bool, "rsv1": bool,
    "rsv2": bool, "rsv3": bool, "opcode": int, "masked": bool, "mask": (str, type(None)),
    "length": int, "payload": str, "wire": str,
}


def lines(path):
    stream = sys.stdin if path == "-" else open(path, encoding="utf-8", errors="surrogateescape")
    for number, line in enumerate(stream, 1):
        yield number, line.rstrip("\n")


def fail(message):
    print(f"FAIL: {message}")
    sys.exit(1)


def check_frame(event):
    for name, kind in FRAME_FIELDS.items():
        if name not in event:
            return f"frame without '{name}'"
        value = event[name]
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            return f"'{name}' is {value!r}, not an integer"
        if not isinstance(value, kind):
            return f"'{name}' is {value!r}, wrong type"
    if event["dir"] not in ("in", "out"):
        return f"dir {event['dir']!r}"
    if not 0 <= event["opcode"] <= 15:
        return f"opcode {event['opcode']}"
    if event["masked"] != (event["mask"] is not None):
        return f"masked={event['masked']} but mask={event['mask']!r}"
    try:
        wire = base64.b64decode(event["wire"], validate=True)
        payload = base64.b64decode(event["payload"], validate=True)
    except ValueError as error:
        return f"bad base64: {error}"
    if len(wire) < 2:
        return "wire shorter than a header"
    b0, b1 = wire[0], wire[1]
    seen = {"fin": bool(b0 & 0x80), "rsv1": bool(b0 & 0x40), "rsv2": bool(b0 & 0x20),
            "rsv3": bool(b0 & 0x10), "opcode": b0 & 0x0F, "masked": bool(b1 & 0x80)}
    for name, value in seen.items():
        if event[name] != value:
            return f"'{name}' is {event[name]!r} but the wire bytes say {value!r}"
    length, pos = b1 & 0x7F, 2
    if length == 126:
        length, pos = int.from_bytes(wire[2:4], "big"), 4
    elif length == 127:
        length, pos = int.from_bytes(wire[2:10], "big"), 10
    if event["length"] != length:
        return f"length {event['length']} but the wire's length field says {length}"
    key = b"\0\0\0\0"
    if seen["masked"]:
        key = wire[pos:pos + 4]
        if key.hex() != event["mask"].lower():
            return f"mask {event['mask']} but the wire's key is {key.hex()}"
        pos += 4
    body = bytes(c ^ key[i % 4] for i, c in enumerate(wire[pos:]))
    # The payload is what the frame carries: equal to the unmasked wire body, unless a
    # transformation (deflate) or a lying length field is involved, where it is a prefix.
    if body != payload and not body.startswith(payload) and not payload.startswith(body):
        return f"payload {payload[:16].hex()}... does not match the unmasked wire body {body[:16].hex()}..."
    return None


def command_check(path, min_frames):
    count = frames = 0
    for number, line in lines(path):
        count += 1
        try:
            event = json.loads(line)
        except ValueError as error:
            fail(f"line {number}: not JSON ({error}): {line[:120]!r}")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            fail(f"line {number}: not an object with a 'type': {line[:120]!r}")
        if event["type"] == "frame":
            frames += 1
            problem = check_frame(event)
            if problem:
                fail(f"line {number}: {problem}: {line[:160]}")
    if count == 0:
        fail("no lines")
    if frames < min_frames:
        fail(f"{frames} frame lines, expected at least {min_frames}")
    print(f"ok: {count} lines, {frames} frames")


def messages(path):
    partial = {}
    result = []
    swap = False
    for number, line in lines(path):
        event = json.loads(line)
        if event.get("type") == "header":
            swap = event.get("mode") == "listen"
        if event.get("type") != "frame":
            continue
        if swap:
            event["dir"] = {"in": "out", "out": "in"}[event["dir"]]
        key = (event["conn"], event["dir"])
        payload = base64.b64decode(event["payload"])
        opcode = event["opcode"]
        if opcode in (1, 2):
            partial[key] = [opcode, payload]
        elif opcode == 0 and key in partial:
            partial[key][1] += payload
        else:
            continue
        if event["fin"] and key in partial:
            opcode, data = partial.pop(key)
            result.append((event["dir"], opcode, data))
    return result


def main():
    command, path = sys.argv[1], sys.argv[2]
    if command == "check":
        command_check(path, int(sys.argv[3]) if len(sys.argv) > 3 else 0)
    elif command == "messages":
        for direction, opcode, data in messages(path):
            print(direction, opcode, data.hex())
    elif command == "compare":
        first, second = messages(path), messages(sys.argv[3])
        allow = "--utf8-replaced" in sys.argv[4:]

        def key(message):
            direction, opcode, data = message
            if allow and opcode == 1:
                # the form a HAR can carry: invalid UTF-8 replaced by U+FFFD
                data = data.decode("utf-8", "replace").encode()
            return (direction, opcode, data)

        def show(message):
            direction, opcode, data = message
            kind = {1: "text", 2: "binary"}.get(opcode, opcode)
            return f"{direction} {kind} {data[:24].hex() or '(empty)'}"

        matcher = difflib.SequenceMatcher(a=[key(m) for m in first], b=[key(m) for m in second], autojunk=False)
        problems = []
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag in ("delete", "replace"):
                problems += [f"lost message {i + 1} ({show(first[i])})" for i in range(i1, i2)]
            if tag in ("insert", "replace"):
                problems += [f"extra message ({show(second[j])})" for j in range(j1, j2)]
        if problems:
            fail(f"{len(first)} messages, then {len(second)}: " + "; ".join(problems[:6]))
        replaced = sum(1 for m in first if key(m) != m)
        note = f" ({replaced} invalid UTF-8 text(s) with U+FFFD replacements, as noted)" if replaced else ""
        print(f"ok: {len(first)} messages{note}")
    elif command == "har-check":
        try:
            har = json.load(open(path, encoding="utf-8"))
        except ValueError as error:
            fail(f"not JSON: {error}")
        entries = har.get("log", {}).get("entries")
        if not isinstance(entries, list):
            fail("no log.entries list")
        sockets = [e for e in entries if e.get("_resourceType") == "websocket"]
        if not sockets:
            fail("no entry with _resourceType websocket")
        count = 0
        for entry in sockets:
            if not str(entry.get("request", {}).get("url", "")).startswith(("ws://", "wss://")):
                fail(f"request.url {entry.get('request', {}).get('url')!r} is not a ws:// URL")
            if entry.get("response", {}).get("status") != 101:
                fail(f"response.status {entry.get('response', {}).get('status')!r}, expected 101")
            for message in entry.get("_webSocketMessages", []):
                count += 1
                if message.get("type") not in ("send", "receive"):
                    fail(f"message type {message.get('type')!r}")
                if not isinstance(message.get("time"), (int, float)) or isinstance(message.get("time"), bool):
                    fail(f"message time {message.get('time')!r}")
                if message.get("opcode") not in (1, 2) or not isinstance(message.get("data"), str):
                    fail(f"message opcode/data {message.get('opcode')!r}/{type(message.get('data')).__name__}")
        print(f"ok: {len(sockets)} WebSocket entr{'y' if len(sockets) == 1 else 'ies'}, {count} messages")
    elif command == "steps":
        for direction, opcode, data in messages(path):
            step = {"opcode": opcode, "payload": base64.b64encode(data).decode()}
            print(json.dumps({"send" if direction == "out" else "recv": step}))
    elif command == "prefix":
        minimum = int(sys.argv[3]) if len(sys.argv) > 3 else 1
        texts = [data for direction, opcode, data in messages(path) if direction == "out" and opcode == 1]
        for n, data in enumerate(texts):
            if data != f"msg {n:05d}".encode():
                fail(f"message {n} is {data[:40]!r}, expected 'msg {n:05d}' (order broken or data lost)")
        if len(texts) < minimum:
            fail(f"{len(texts)} messages, expected at least {minimum}")
        print(f"ok: {len(texts)} messages in order")
    else:
        fail(f"unknown command {command}")


if __name__ == "__main__":
    main()
