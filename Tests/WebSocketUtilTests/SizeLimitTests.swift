import Testing
import WebSocket
import WebSocketUtil

@Suite("Message size limit")
struct SizeLimitTests {
    /// The header of an oversized frame is enough: 1009 is queued before any payload arrives.
    @Test(arguments: [Role.server, .client])
    func oversizedFrameFailsAtItsHeader(role: Role) throws {
        let h = Harness(role: role, maxMessageBytes: 100)
        let input = frame(.binary, [UInt8](repeating: 1, count: 101), from: role.peer)
        let headerSize = input.count - 101
        h.feed(Array(input[..<headerSize]))
        #expect(h.violations == [.messageTooBig(limit: 100)])
        #expect(try h.takeFrames().map(\.closeCode) == [.messageTooBig])
        #expect(h.connection.closeState == .closed)
        let count = h.events.count
        h.feed(Array(input[headerSize...]))
        #expect(h.events.count == count)
    }

    @Test func frameExactlyAtTheLimitIsAccepted() {
        let h = Harness(role: .server, maxMessageBytes: 100)
        let payload = [UInt8](repeating: 0x61, count: 100)
        h.feed(frame(.text, payload, from: .client))
        h.feed(frame(.binary, payload, from: .client))
        #expect(h.messages.map(\.1) == [payload, payload])
        #expect(h.violations.isEmpty)
    }

    @Test func limitIsPerMessageNotPerConnection() {
        let h = Harness(role: .server, maxMessageBytes: 10)
        for _ in 0..<20 { h.feed(frame(.binary, [UInt8](repeating: 0, count: 10), from: .client)) }
        #expect(h.messages.count == 20)
        #expect(h.violations.isEmpty)
    }

    /// Fragments add up: the fragment that would carry the message past the limit fails at
    /// its header.
    @Test func accumulatedFragmentsFailAtTheHeaderOfTheFragmentThatCrossesTheLimit() throws {
        let h = Harness(role: .server, maxMessageBytes: 100)
        h.feed(frame(.text, [UInt8](repeating: 0x61, count: 60), fin: false, from: .client))
        h.feed(frame(.continuation, [UInt8](repeating: 0x62, count: 30), fin: false, from: .client))
        #expect(h.violations.isEmpty)
        let third = frame(.continuation, [UInt8](repeating: 0x63, count: 11), from: .client)
        h.feed(Array(third[..<6]))  // 2-byte header + 4-byte mask: the header only
        #expect(h.violations == [.messageTooBig(limit: 100)])
        #expect(try h.takeFrames().map(\.closeCode) == [.messageTooBig])
        #expect(h.messages.isEmpty)
    }

    @Test func accumulatedFragmentsExactlyAtTheLimitAreAccepted() {
        let h = Harness(role: .client, maxMessageBytes: 100)
        h.feed(frame(.binary, [UInt8](repeating: 1, count: 60), fin: false, from: .server))
        h.feed(frame(.continuation, [UInt8](repeating: 2, count: 40), from: .server))
        #expect(h.messages.map(\.1.count) == [100])
    }

    /// Control frames between fragments do not count towards the message.
    @Test func controlFramesDoNotCountTowardsTheMessage() throws {
        let h = Harness(role: .server, maxMessageBytes: 100)
        h.feed(frame(.binary, [UInt8](repeating: 1, count: 100), fin: false, from: .client))
        h.feed(frame(.ping, [UInt8](repeating: 9, count: 125), from: .client))
        h.feed(frame(.continuation, [], from: .client))
        #expect(h.messages.map(\.1.count) == [100])
        #expect(try h.takeFrames().map(\.header.opcode) == [.pong])
    }

    /// A 64-bit length far beyond memory fails at the header without allocating anything.
    @Test func hugeDeclaredLengthFailsAtTheHeader() throws {
        let h = Harness(role: .server, maxMessageBytes: 1 << 20)
        var header = Header(opcode: .binary, masked: true, maskKey: rfcKey, length: 1 << 62)
        h.feed(header.encoded())
        #expect(h.violations == [.messageTooBig(limit: 1 << 20)])
        #expect(try h.takeFrames().map(\.closeCode) == [.messageTooBig])
        // Also for a continuation of a message in progress.
        let h2 = Harness(role: .server, maxMessageBytes: 1 << 20)
        h2.feed(frame(.binary, [1], fin: false, from: .client))
        header.opcode = .continuation
        h2.feed(header.encoded())
        #expect(h2.violations == [.messageTooBig(limit: 1 << 20)])
    }

    @Test func limitCanBeLoweredOnALiveConnection() throws {
        let h = Harness(role: .server, maxMessageBytes: 1000)
        h.feed(frame(.binary, [UInt8](repeating: 0, count: 500), from: .client))
        h.connection.maxMessageBytes = 100
        h.feed(frame(.binary, [UInt8](repeating: 0, count: 500), from: .client))
        #expect(h.messages.count == 1)
        #expect(h.violations == [.messageTooBig(limit: 100)])
    }
}
