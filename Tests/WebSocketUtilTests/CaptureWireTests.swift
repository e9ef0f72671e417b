import Testing
import WebSocket
import WebSocketUtil

@Suite("Wire capture")
struct CaptureWireTests {
    /// The frames of a little conversation, each with its own bytes and unmasked payload.
    static func frames(from sender: Role) -> [(wire: [UInt8], payload: [UInt8])] {
        var list: [(OpCode, [UInt8], Bool)] = [
            (.text, bytes("héllo "), false),
            (.ping, bytes("ping!"), true),
            (.continuation, bytes("wörld"), true),
            (.binary, (0..<300).map { UInt8(truncatingIfNeeded: $0) }, true),
            (.binary, [], true),
            (.pong, [], true),
            (.binary, (0..<66_000).map { UInt8(truncatingIfNeeded: $0 &* 3) }, false),
            (.continuation, [1], true),
        ]
        list.append((.close, CloseBody.encode(code: .normalClosure, reason: "end"), true))
        return list.enumerated().map { i, f in
            let key = Header.maskKey(UInt8(i), 0x5A, 0xC3, UInt8(0xFF - i))
            return (frame(f.0, f.1, fin: f.2, from: sender, key: key), f.1)
        }
    }

    @Test(arguments: [Role.server, .client], [0, 1, 3, 64, 100_000])
    func frameReceivedCarriesTheExactBytesFedForThatFrame(role: Role, chunk: Int) throws {
        let expected = Self.frames(from: role.peer)
        let input = expected.flatMap(\.wire)
        let h = Harness(role: role, captureWire: true)
        if chunk == 0 { h.feed(input) } else { h.feed(input, chunks: Array(repeating: chunk, count: input.count / chunk + 1)) }
        let received = h.events.compactMap { e -> (Header, [UInt8], [UInt8])? in
            if case .frameReceived(let header, let wire, let payload) = e { return (header, wire, payload) } else { return nil }
        }
        #expect(received.count == expected.count)
        for (index, ((header, wire, payload), want)) in zip(received, expected).enumerated() {
            #expect(wire == want.wire, "frame \(index) wire")
            #expect(payload == want.payload, "frame \(index) payload is this frame's, unmasked")
            guard case .header(let decoded, _) = Header.decode(want.wire) else { Issue.record("undecodable"); continue }
            #expect(header == decoded)
        }
        // Masked frames really were masked on the wire (the payload differs from the capture).
        if role == .server {
            #expect(received[3].1.suffix(300) != received[3].2[...])
        }
    }

    @Test func withoutCaptureDataFramesCarryNoBytesButControlFramesTheirPayload() {
        let h = Harness(role: .server)
        h.feed(frame(.text, "abc", from: .client) + frame(.ping, bytes("pp"), from: .client))
        let received = h.events.compactMap { e -> (OpCode, [UInt8], [UInt8])? in
            if case .frameReceived(let header, let wire, let payload) = e { return (header.opcode, wire, payload) } else { return nil }
        }
        #expect(received.map(\.0) == [.text, .ping])
        #expect(received.map(\.1) == [[], []])
        #expect(received.map(\.2) == [[], bytes("pp")])
    }

    @Test func captureCanBeSwitchedOnBetweenFrames() {
        let h = Harness(role: .client)
        h.feed(frame(.text, "one", from: .server))
        h.connection.captureWire = true
        let second = frame(.text, "two", from: .server)
        h.feed(second)
        let wires = h.events.compactMap { e -> [UInt8]? in
            if case .frameReceived(_, let wire, _) = e { return wire } else { return nil }
        }
        #expect(wires == [[], second])
    }

    /// A frame event arrives before the message it completes, and control frames' events
    /// before their own `.ping` / `.pong` / `.closeReceived`.
    @Test func frameEventsPrecedeTheirMessageEvents() {
        let h = Harness(role: .server, captureWire: true)
        h.feed(frame(.text, "a", fin: false, from: .client) + frame(.ping, [], from: .client)
            + frame(.continuation, "b", from: .client) + closeFrame(.normalClosure, from: .client))
        let kinds = h.events.map { e -> String in
            switch e {
            case .frameReceived(let header, _, _): return "frame:\(header.opcode)"
            case .message: return "message"
            case .ping: return "ping"
            case .closeReceived: return "close"
            case .closingHandshakeDone: return "done"
            default: return "other"
            }
        }
        #expect(kinds == ["frame:text", "frame:ping", "ping", "frame:cont", "message", "frame:close", "close", "done"])
    }
}
