import Testing
import WebSocket
import WebSocketUtil

/// A protocol violation fails the connection: one event, a close frame with the RFC's code
/// in the output, the state `.closed`, and nothing more read.
@Suite("Protocol violations")
struct ViolationTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var role: Role
        /// Valid frames before the offending one (must produce no violation).
        var prefix: [UInt8] = []
        var offending: [UInt8]
        var violation: ProtocolViolation
        var code: CloseCode
        var testDescription: String { "\(name) (\(role))" }
    }

    static let cases: [Case] = {
        let s = Role.server
        let c = Role.client  // peer of a .server-role connection is a client, and vice versa
        var cases: [Case] = [
            Case(name: "RSV1 set", role: s, offending: frame(.text, bytes("x"), rsv1: true, from: c),
                 violation: .reservedBitsSet(0b100), code: .protocolError),
            Case(name: "RSV2 set", role: s, offending: frame(.binary, [1], rsv2: true, from: c),
                 violation: .reservedBitsSet(0b010), code: .protocolError),
            Case(name: "RSV3 set", role: c, offending: frame(.text, bytes("x"), rsv3: true, from: s),
                 violation: .reservedBitsSet(0b001), code: .protocolError),
            Case(name: "RSV1+RSV3 on ping", role: s, offending: frame(.ping, [], rsv1: true, rsv3: true, from: c),
                 violation: .reservedBitsSet(0b101), code: .protocolError),
            Case(name: "continuation without a message", role: s, offending: frame(.continuation, bytes("x"), from: c),
                 violation: .unexpectedContinuation, code: .protocolError),
            Case(name: "continuation after a finished message", role: c,
                 prefix: frame(.text, "done", from: s), offending: frame(.continuation, bytes("x"), from: s),
                 violation: .unexpectedContinuation, code: .protocolError),
            Case(name: "text during a fragmented message", role: s,
                 prefix: frame(.text, "a", fin: false, from: c), offending: frame(.text, "b", from: c),
                 violation: .expectedContinuation(.text), code: .protocolError),
            Case(name: "binary during a fragmented text message", role: c,
                 prefix: frame(.text, "a", fin: false, from: s) + frame(.ping, [], from: s),
                 offending: frame(.binary, [1], fin: false, from: s),
                 violation: .expectedContinuation(.binary), code: .protocolError),
            Case(name: "fragmented ping", role: s, offending: frame(.ping, bytes("p"), fin: false, from: c),
                 violation: .fragmentedControlFrame(.ping), code: .protocolError),
            Case(name: "fragmented close", role: c, offending: frame(.close, [0x03, 0xE8], fin: false, from: s),
                 violation: .fragmentedControlFrame(.close), code: .protocolError),
            Case(name: "126-byte ping", role: s, offending: frame(.ping, [UInt8](repeating: 0, count: 126), from: c),
                 violation: .controlFrameTooLong(.ping, length: 126), code: .protocolError),
            Case(name: "126-byte pong", role: c, offending: frame(.pong, [UInt8](repeating: 0, count: 126), from: s),
                 violation: .controlFrameTooLong(.pong, length: 126), code: .protocolError),
            Case(name: "oversized close", role: s,
                 offending: frame(.close, [0x03, 0xE8] + [UInt8](repeating: 0x61, count: 200), from: c),
                 violation: .controlFrameTooLong(.close, length: 202), code: .protocolError),
            Case(name: "unmasked client frame", role: s, offending: frame(.text, bytes("hi"), from: c, masked: false),
                 violation: .unmaskedClientFrame, code: .protocolError),
            Case(name: "unmasked client ping", role: s, offending: frame(.ping, [], from: c, masked: false),
                 violation: .unmaskedClientFrame, code: .protocolError),
            Case(name: "masked server frame", role: c, offending: frame(.binary, [1, 2], from: s, masked: true),
                 violation: .maskedServerFrame, code: .protocolError),
            Case(name: "masked server close", role: c, offending: frame(.close, [0x03, 0xE8], from: s, masked: true),
                 violation: .maskedServerFrame, code: .protocolError),
            Case(name: "close with 1-byte body", role: s, offending: frame(.close, [0x03], from: c),
                 violation: .closePayloadTooShort, code: .protocolError),
            Case(name: "invalid UTF-8 close reason", role: s, offending: frame(.close, [0x03, 0xE8, 0xC0, 0xAF], from: c),
                 violation: .invalidUTF8, code: .invalidPayloadData),
            Case(name: "invalid UTF-8 text", role: c, offending: frame(.text, [0xFF], from: s),
                 violation: .invalidUTF8, code: .invalidPayloadData),
            Case(name: "non-minimal 16-bit length", role: s,
                 offending: frame(.binary, [1, 2, 3], from: c, lengthEncoding: .extended16),
                 violation: .nonMinimalLength(3), code: .protocolError),
            Case(name: "non-minimal 64-bit length", role: c,
                 offending: frame(.binary, [UInt8](repeating: 0, count: 200), from: s, lengthEncoding: .extended64),
                 violation: .nonMinimalLength(200), code: .protocolError),
            Case(name: "64-bit length with MSB set", role: s,
                 offending: Header(opcode: .binary, masked: true, maskKey: rfcKey, length: 1 << 63).encoded(),
                 violation: .lengthMostSignificantBitSet, code: .protocolError),
        ]
        for op: UInt8 in [0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF] {
            let opcode = OpCode(nibble: op)
            cases.append(Case(name: "reserved opcode 0x\(String(op, radix: 16))", role: op % 2 == 0 ? s : c,
                              offending: frame(opcode, [1], from: op % 2 == 0 ? c : s),
                              violation: .reservedOpcode(opcode), code: .protocolError))
        }
        for code: UInt16 in [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 0xFFFF] {
            cases.append(Case(name: "close code \(code)", role: code % 2 == 0 ? s : c,
                              offending: frame(.close, [UInt8(code >> 8), UInt8(code & 0xFF)], from: code % 2 == 0 ? c : s),
                              violation: .invalidCloseCode(code), code: .protocolError))
        }
        return cases
    }()

    static func trailer(_ sender: Role) -> [UInt8] {
        frame(.text, "after", from: sender) + frame(.ping, bytes("ignored"), from: sender)
            + closeFrame(.normalClosure, from: sender)
    }

    @Test(arguments: cases)
    func violationClosesWithItsCode(_ c: Case) throws {
        let h = Harness(role: c.role)
        h.feed(c.prefix)
        #expect(h.violations.isEmpty)
        let prefixOutput = try h.takeFrames()
        #expect(prefixOutput.allSatisfy { $0.header.opcode == .pong })
        h.feed(c.offending)

        #expect(h.violations == [c.violation])
        #expect(c.violation.closeCode == c.code)
        let out = try h.takeFrames()
        #expect(out.count == 1)
        let close = try #require(out.first)
        #expect(close.header.opcode == .close)
        #expect(close.header.masked == (c.role == .client))
        #expect(close.closeCode == c.code)
        #expect(h.connection.closeState == .closed)
        #expect(h.connection.isReadingStopped)
        #expect(h.connection.sentClose?.code == c.code)
        #expect(h.semanticEvents.suffix(2) == [.violation(c.violation, wire: []), .closingHandshakeDone])

        // Nothing after the violation is read, nor answered.
        let count = h.events.count
        h.feed(Self.trailer(c.role.peer))
        #expect(h.events.count == count)
        #expect(h.take().isEmpty)
    }

    /// The same, with the valid frames that follow arriving in the same read as the bad one.
    @Test(arguments: cases)
    func framesInTheSameReadAfterAViolationAreNotRead(_ c: Case) throws {
        let h = Harness(role: c.role)
        h.feed(c.prefix + c.offending + Self.trailer(c.role.peer))
        #expect(h.violations == [c.violation])
        #expect(!h.semanticEvents.contains(.message(.text, bytes("after"))))
        #expect(!h.semanticEvents.contains(.ping(bytes("ignored"))))
        let out = try h.takeFrames()
        #expect(!out.contains { $0.header.opcode == .pong && $0.payload == bytes("ignored") })
        #expect(out.last?.closeCode == c.code)
        #expect(out.filter { $0.header.opcode == .close }.count == 1)
        #expect(h.semanticEvents.filter { $0 == .closingHandshakeDone }.count == 1)
    }

    /// Every close code a peer may send is accepted (and echoed).
    @Test(arguments: [UInt16](1000...1003) + [UInt16](1007...1014) + [3000, 3999, 4000, 4999])
    func allowedCloseCodesAreEchoed(code: UInt16) throws {
        let h = Harness(role: .server)
        h.feed(frame(.close, [UInt8(code >> 8), UInt8(code & 0xFF)] + bytes("r"), from: .client))
        #expect(h.violations.isEmpty)
        #expect(h.semanticEvents == [.closeReceived(code: CloseCode(code), reason: "r"), .closingHandshakeDone])
        #expect(try h.takeFrames().map(\.closeCode) == [CloseCode(code)])
    }

    /// A 125-byte ping (the maximum) is fine.
    @Test func maximumControlPayloadIsAccepted() throws {
        let h = Harness(role: .server)
        let payload = [UInt8](repeating: 0x5A, count: 125)
        h.feed(frame(.ping, payload, from: .client))
        #expect(h.violations.isEmpty)
        #expect(try h.takeFrames().map(\.payload) == [payload])
    }

    /// The violation carries the offending frame's bytes seen so far when capturing.
    @Test func violationCarriesTheOffendingBytesWhenCapturing() throws {
        let h = Harness(role: .server, captureWire: true)
        let bad = frame(.text, [0x61, 0x62, 0xFF, 0x63, 0x64], from: .client)
        h.feed(frame(.ping, [], from: .client) + Array(bad[..<9]))  // header (6) + "ab" + 0xFF
        let wire = h.events.compactMap { e -> [UInt8]? in
            if case .violation(_, let wire) = e { return wire } else { return nil }
        }
        #expect(wire == [Array(bad[..<9])])

        let h2 = Harness(role: .server, captureWire: true)
        let reserved = frame(OpCode(nibble: 0xB), [1, 2, 3], from: .client)
        h2.feed(reserved)
        let wire2 = h2.events.compactMap { e -> [UInt8]? in
            if case .violation(_, let wire) = e { return wire } else { return nil }
        }
        #expect(wire2 == [Array(reserved[..<6])])
    }

    /// A violation while our own close is outstanding does not queue a second close.
    @Test func violationAfterWeSentCloseQueuesNoSecondClose() throws {
        let h = Harness(role: .server)
        h.connection.sendClose(code: .goingAway, reason: "shutting down")
        #expect(try h.takeFrames().map(\.closeCode) == [.goingAway])
        h.feed(frame(.continuation, [1], from: .client))
        #expect(h.violations == [.unexpectedContinuation])
        #expect(h.take().isEmpty)
        #expect(h.connection.closeState == .closed)
        #expect(h.semanticEvents.last == .closingHandshakeDone)
    }
}
