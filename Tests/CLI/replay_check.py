#!/usr/bin/env python3
"""Checks of `wscope replay` for scripts/cli-tests.sh (stdlib only). Recordings are the
JSON Lines of DESIGN.md; directions are taken as the client sees them (a `listen`
recording's "in" frames are the client's).

    replay_check.py answers ORIGINAL REPLAYED
        REPLAYED (the `--record` of `replay ORIGINAL --to URL`) holds the recorded server
        answers again: the server's frames (opcode, FIN, RSV bits, payload; every frame,
        control frames and the close included, masks and times ignored) are the same in
        the same order; and the client frames that went out are the recorded ones byte
        for byte (wire bytes, mask keys included), in order, as far as they were sent.
        Prints "ok: ..." or "FAIL: ...".
    replay_check.py sent ORIGINAL REPLAYED MIN
        only the client half of "answers": at least MIN client frames went out, each the
        recorded one byte for byte (for servers that answer differently, or close early).
    replay_check.py pacing ORIGINAL SERVER_RECORDING SPEED
        SERVER_RECORDING is the `listen --record` of the server that the replay reached:
        every client frame k arrived no sooner after the connection opened than the
        recording's distance from the first client frame to frame k, divided by SPEED
        (the replay sends the first frame once the connection is open, so this holds
        however loaded the machine is). Prints "ok: ..." with the recorded and replayed
        spans.
    replay_check.py span SERVER_RECORDING
        the seconds between the first and the last client frame that arrived.
"""

import base64
import json
import sys


def fail(message):
    print(f"FAIL: {message}")
    sys.exit(1)


def read(path):
    events = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    if not events or events[0].get("type") != "header":
        fail(f"{path}: no recording header")
    return events


def frames(events, side):
    """The frames of one side ("client" or "server") of the first connection."""
    listen = events[0].get("mode") == "listen"
    client_dir = "in" if listen else "out"
    result = []
    conn = None
    for event in events:
        if event.get("type") != "frame":
            continue
        conn = event["conn"] if conn is None else conn
        if event["conn"] != conn:
            continue
        is_client = event["dir"] == client_dir
        if is_client == (side == "client"):
            result.append(event)
    return result


def opened_at(events):
    for event in events:
        if event.get("type") == "open":
            return event["t_ns"]
    fail("no open event")


def show(frame):
    payload = base64.b64decode(frame["payload"])
    flags = ("F" if frame["fin"] else "-") + "".join("1" if frame[f"rsv{i}"] else "-" for i in (1, 2, 3))
    return f"op{frame['opcode']} {flags} {payload[:20].hex() or '(empty)'}"


def answers(original_path, replayed_path):
    original, replayed = read(original_path), read(replayed_path)
    want, got = frames(original, "server"), frames(replayed, "server")

    def key(frame):
        return (frame["opcode"], frame["fin"], frame["rsv1"], frame["rsv2"], frame["rsv3"], frame["payload"])

    for n, (a, b) in enumerate(zip(want, got), 1):
        if key(a) != key(b):
            fail(f"server frame {n}: recorded {show(a)}, now {show(b)}")
    if len(want) != len(got):
        extra = got[len(want):] or want[len(got):]
        fail(f"{len(want)} recorded server frames, {len(got)} now (first difference: {show(extra[0])})")
    sent, recorded = same_client_frames(original, replayed, 1)
    kinds = sorted({f"op{f['opcode']}" for f in got})
    print(f"ok: {len(got)} server frames as recorded ({', '.join(kinds)}), "
          f"{sent}/{recorded} client frames byte for byte")


def same_client_frames(original, replayed, minimum):
    """The client frames of REPLAYED are the first ones of ORIGINAL, wire bytes equal. A
    close sent after the server's close is the connection's own answer, made anew (a new
    mask key), not a replayed frame: it is left out."""
    sent, recorded = frames(replayed, "client"), frames(original, "client")
    server_close = next((f["t_ns"] for f in frames(replayed, "server") if f["opcode"] == 8), None)
    if server_close is not None:
        sent = [f for f in sent if not (f["opcode"] == 8 and f["t_ns"] >= server_close)]
    if len(sent) < minimum:
        fail(f"the replay sent {len(sent)} client frame(s), expected at least {minimum}")
    for n, (a, b) in enumerate(zip(recorded, sent), 1):
        if a["wire"] != b["wire"]:
            fail(f"client frame {n}: wire bytes {base64.b64decode(b['wire'])[:16].hex()} differ from the recorded "
                 f"{base64.b64decode(a['wire'])[:16].hex()}")
    if len(sent) > len(recorded):
        fail(f"the replay sent {len(sent)} client frames, the recording has {len(recorded)}")
    return len(sent), len(recorded)


def pacing(original_path, server_path, speed):
    original, server = read(original_path), read(server_path)
    recorded = frames(original, "client")
    arrived = frames(server, "client")
    if len(arrived) < len(recorded):
        fail(f"{len(arrived)} client frames arrived, the recording has {len(recorded)}")
    start = opened_at(server)
    first = recorded[0]["t_ns"]
    # The server stamps its open event just after writing the 101 that starts the
    # replay's clock: allow for that moment.
    tolerance = 20_000_000
    for n, (want, got) in enumerate(zip(recorded, arrived), 1):
        due = (want["t_ns"] - first) / speed
        if got["t_ns"] - start + tolerance < due:
            fail(f"client frame {n} arrived {(got['t_ns'] - start) / 1e9:.3f} s after the open, "
                 f"sooner than its recorded {due / 1e9:.3f} s at --speed {speed:g}")
    recorded_span = (recorded[-1]["t_ns"] - first) / 1e9
    replayed_span = (arrived[len(recorded) - 1]["t_ns"] - arrived[0]["t_ns"]) / 1e9
    # Faster than recorded must be nearer the sped-up span than the recorded one (else
    # --speed would pass by being ignored); generous, since load only delays frames.
    if speed > 1 and replayed_span >= (recorded_span / speed + recorded_span) / 2:
        fail(f"the frames arrived over {replayed_span:.3f} s: --speed {speed:g} of a {recorded_span:.3f} s "
             f"recording should take about {recorded_span / speed:.3f} s")
    print(f"ok: recorded span {recorded_span:.3f} s, replayed at --speed {speed:g} in {replayed_span:.3f} s")


def span(server_path):
    arrived = frames(read(server_path), "client")
    if not arrived:
        fail("no client frame arrived")
    print(f"{(arrived[-1]['t_ns'] - arrived[0]['t_ns']) / 1e9:.3f}")


def main():
    if len(sys.argv) < 3:
        fail(__doc__)
    command = sys.argv[1]
    if command == "answers" and len(sys.argv) == 4:
        answers(sys.argv[2], sys.argv[3])
    elif command == "sent" and len(sys.argv) == 5:
        sent, recorded = same_client_frames(read(sys.argv[2]), read(sys.argv[3]), int(sys.argv[4]))
        print(f"ok: {sent}/{recorded} client frames byte for byte")
    elif command == "pacing" and len(sys.argv) == 5:
        pacing(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    elif command == "span" and len(sys.argv) == 3:
        span(sys.argv[2])
    else:
        fail(f"usage: see {sys.argv[0]}'s docstring")


if __name__ == "__main__":
    main()
