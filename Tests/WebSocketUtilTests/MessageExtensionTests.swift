import Testing
import WebSocket
import WebSocketUtil

/// RSV1 plumbing with a fake extension that "compresses" by reversing the message bytes.
@Suite("Message extension (RSV1)")
struct MessageExtensionTests {
    @Test func compressedMessageIsDecompressed() throws {
        let ext = ReverseExtension()
        let h = Harness(role: .server, messageExtension: ext)
        h.feed(frame(.text, ReverseExtension.encode(bytes("hello")), rsv1: true, from: .client))
        #expect(h.semanticEvents == [.message(.text, bytes("hello"))])
        #expect(ext.decompressCalls.last?.isFinal == true)
        #expect(ext.decompressCalls.allSatisfy { $0.limit == h.connection.maxMessageBytes })
        guard case .frameReceived(let header, _, _) = h.events.first else { Issue.record("no frame event"); return }
        #expect(header.rsv1)
    }

    @Test func fragmentedCompressedMessageHasRSV1OnlyOnItsFirstFrame() throws {
        let ext = ReverseExtension()
        let h = Harness(role: .server, messageExtension: ext)
        let compressed = ReverseExtension.encode(bytes("fragmented message"))
        h.feed(frame(.binary, Array(compressed[..<5]), fin: false, rsv1: true, from: .client)
            + frame(.ping, [1], from: .client)
            + frame(.continuation, Array(compressed[5..<12]), fin: false, from: .client)
            + frame(.continuation, Array(compressed[12...]), from: .client))
        #expect(h.semanticEvents == [.ping([1]), .message(.binary, bytes("fragmented message"))])
        // The extension saw every payload chunk, unmasked, then the final call.
        #expect(ext.decompressCalls.flatMap(\.input) == compressed)
        #expect(ext.decompressCalls.filter(\.isFinal).count == 1)
        #expect(ext.decompressCalls.last?.isFinal == true)
    }

    @Test func uncompressedMessagesBypassTheExtension() {
        let ext = ReverseExtension()
        let h = Harness(role: .client, messageExtension: ext)
        h.feed(frame(.text, "plain", from: .server))
        #expect(h.messages.map(\.1) == [bytes("plain")])
        #expect(ext.decompressCalls.isEmpty)
    }

    /// Messages alternate between compressed and plain; each is handled on its own.
    @Test func compressionIsPerMessage() {
        let ext = ReverseExtension()
        let h = Harness(role: .client, messageExtension: ext)
        h.feed(frame(.text, ReverseExtension.encode(bytes("abc")), rsv1: true, from: .server)
            + frame(.text, "def", from: .server)
            + frame(.binary, ReverseExtension.encode([1, 2, 3]), rsv1: true, from: .server))
        #expect(h.messages.map(\.1) == [bytes("abc"), bytes("def"), [1, 2, 3]])
    }

    @Test func rsv1OnAContinuationFails1002() throws {
        let h = Harness(role: .server, messageExtension: ReverseExtension())
        h.feed(frame(.text, [0x61], fin: false, rsv1: true, from: .client)
            + frame(.continuation, [0x62], rsv1: true, from: .client))
        #expect(h.violations == [.compressedContinuation])
        #expect(try h.takeFrames().map(\.closeCode) == [.protocolError])
    }

    @Test func rsv1OnAContinuationOfAnUncompressedMessageFails1002() throws {
        let h = Harness(role: .client, messageExtension: ReverseExtension())
        h.feed(frame(.text, [0x61], fin: false, from: .server) + frame(.continuation, [0x62], rsv1: true, from: .server))
        #expect(h.violations == [.compressedContinuation])
        #expect(try h.takeFrames().map(\.closeCode) == [.protocolError])
    }

    @Test(arguments: [OpCode.ping, .pong, .close])
    func rsv1OnAControlFrameFails1002(opcode: OpCode) throws {
        let h = Harness(role: .server, messageExtension: ReverseExtension())
        h.feed(frame(opcode, opcode == .close ? [0x03, 0xE8] : [], rsv1: true, from: .client))
        #expect(h.violations == [.reservedBitsSet(0b100)])
        #expect(try h.takeFrames().map(\.closeCode) == [.protocolError])
    }

    @Test(arguments: [Role.server, .client])
    func rsv1WithoutAnExtensionFails1002(role: Role) throws {
        let h = Harness(role: role)
        h.feed(frame(.binary, [1], rsv1: true, from: role.peer))
        #expect(h.violations == [.reservedBitsSet(0b100)])
        #expect(try h.takeFrames().map(\.closeCode) == [.protocolError])
    }

    @Test func rsv2AndRsv3StayReservedWithAnExtension() throws {
        let h = Harness(role: .server, messageExtension: ReverseExtension())
        h.feed(frame(.binary, [1], rsv1: true, rsv2: true, from: .client))
        #expect(h.violations == [.reservedBitsSet(0b010)])
        #expect(try h.takeFrames().map(\.closeCode) == [.protocolError])
    }

    @Test func extensionMessageTooBigFails1009() throws {
        let ext = ReverseExtension()
        ext.forcedFailure = .messageTooBig
        let h = Harness(role: .server, messageExtension: ext)
        h.feed(frame(.binary, [1, 2, 3], rsv1: true, from: .client) + frame(.text, "after", from: .client))
        #expect(h.violations == [.messageTooBig(limit: h.connection.maxMessageBytes)])
        #expect(try h.takeFrames().map(\.closeCode) == [.messageTooBig])
        #expect(h.messages.isEmpty)
    }

    @Test func extensionInvalidDataFails1007() throws {
        let ext = ReverseExtension()
        ext.poison = 0xEE
        let h = Harness(role: .client, messageExtension: ext)
        h.feed(frame(.binary, [1, 0xEE, 3], rsv1: true, from: .server))
        #expect(h.violations == [.invalidCompressedData("poison byte")])
        #expect(try h.takeFrames().map(\.closeCode) == [.invalidPayloadData])
    }

    /// The failure is reported with the chunk that caused it, not at the end of the frame.
    @Test func extensionFailureIsReportedAsSoonAsItHappens() throws {
        let ext = ReverseExtension()
        ext.poison = 0xEE
        let h = Harness(role: .server, messageExtension: ext)
        let input = frame(.binary, [1, 2, 0xEE] + [UInt8](repeating: 0, count: 100), rsv1: true, from: .client)
        h.feed(Array(input[..<8]))  // header + 2 bytes
        #expect(h.violations.isEmpty)
        h.feed(Array(input[8..<9]))
        #expect(h.violations == [.invalidCompressedData("poison byte")])
        #expect(try h.takeFrames().map(\.closeCode) == [.invalidPayloadData])
    }

    /// The decompressed size is bounded by maxMessageBytes through the extension.
    @Test func decompressedSizeOverTheLimitFails1009() throws {
        let ext = ReverseExtension()
        let h = Harness(role: .server, maxMessageBytes: 10, messageExtension: ext)
        h.feed(frame(.binary, [UInt8](repeating: 7, count: 10), rsv1: true, from: .client))
        #expect(h.messages.map(\.1.count) == [10])
        h.feed(frame(.binary, [UInt8](repeating: 7, count: 11), rsv1: true, from: .client))
        #expect(h.violations == [.messageTooBig(limit: 10)])
        #expect(try h.takeFrames().map(\.closeCode) == [.messageTooBig])
    }

    /// Decompressed text is validated as it comes out of the extension.
    @Test func invalidUTF8InsideACompressedTextFailsFast() throws {
        let ext = ReverseExtension(mode: .streaming)
        let h = Harness(role: .server, messageExtension: ext)
        let plain: [UInt8] = bytes("ok ") + [0xFF] + [UInt8](repeating: 0x61, count: 50)
        let input = frame(.text, ReverseExtension.encode(plain, mode: .streaming), rsv1: true, from: .client)
        h.feed(Array(input[..<(6 + 3)]))
        #expect(h.violations.isEmpty)
        h.feed(Array(input[(6 + 3)..<(6 + 4)]))
        #expect(h.violations == [.invalidUTF8])
        #expect(try h.takeFrames().map(\.closeCode) == [.invalidPayloadData])
    }

    @Test func validUTF8SplitAcrossCompressedFragments() {
        let ext = ReverseExtension(mode: .streaming)
        let h = Harness(role: .server, messageExtension: ext)
        let encoded = ReverseExtension.encode(bytes("€𝄞"), mode: .streaming)
        h.feed(frame(.text, Array(encoded[..<2]), fin: false, rsv1: true, from: .client)
            + frame(.continuation, Array(encoded[2..<5]), fin: false, from: .client)
            + frame(.continuation, Array(encoded[5...]), from: .client))
        #expect(h.messages.map(\.1) == [bytes("€𝄞")])
    }

    @Test func truncatedUTF8AtTheEndOfACompressedTextFails1007() throws {
        let ext = ReverseExtension()
        let h = Harness(role: .server, messageExtension: ext)
        h.feed(frame(.text, ReverseExtension.encode(bytes("a") + [0xE2, 0x82]), rsv1: true, from: .client))
        #expect(h.violations == [.invalidUTF8])
        #expect(try h.takeFrames().map(\.closeCode) == [.invalidPayloadData])
    }

    /// Captured frames of a compressed message report their own payload, unmasked (the
    /// compressed bytes, which is what the wire carried).
    @Test(arguments: [Role.server, .client])
    func capturedCompressedFramesReportUnmaskedPayload(role: Role) throws {
        let ext = ReverseExtension()
        let h = Harness(role: role, messageExtension: ext, captureWire: true)
        let compressed = ReverseExtension.encode(bytes("compressed payload"))
        let first = frame(.text, Array(compressed[..<7]), fin: false, rsv1: true, from: role.peer)
        let second = frame(.continuation, Array(compressed[7...]), from: role.peer, key: Header.maskKey(1, 2, 3, 4))
        h.feed(first + second)
        let received = h.events.compactMap { e -> ([UInt8], [UInt8])? in
            if case .frameReceived(_, let wire, let payload) = e { return (wire, payload) } else { return nil }
        }
        #expect(received.map(\.0) == [first, second])
        #expect(received.map(\.1) == [Array(compressed[..<7]), Array(compressed[7...])])
        #expect(h.messages.map(\.1) == [bytes("compressed payload")])
    }

    // MARK: Writing

    @Test(arguments: [Role.server, .client])
    func writerSetsRSV1OnTheFirstFrameOnly(role: Role) throws {
        let ext = ReverseExtension()
        let h = Harness(role: role, messageExtension: ext, fragmentSize: 4)
        h.connection.sendText("abcdefghij")
        h.connection.sendControl(.ping, payload: [1])
        let frames = try h.takeFrames()
        #expect(frames.map(\.header.opcode) == [.text, .continuation, .continuation, .ping])
        #expect(frames.map(\.header.rsv1) == [true, false, false, false])
        #expect(frames.allSatisfy { !$0.header.rsv2 && !$0.header.rsv3 })
        #expect(frames.prefix(3).flatMap(\.payload) == ReverseExtension.encode(bytes("abcdefghij")))
        #expect(ext.compressCalls == 1)
    }

    @Test func writerSendsPlainWhenCompressionDeclines() throws {
        let ext = ReverseExtension()
        ext.minimumCompressSize = 10
        let h = Harness(role: .client, messageExtension: ext)
        h.connection.sendText("short")
        h.connection.sendText("long enough!")
        let frames = try h.takeFrames()
        #expect(frames.map(\.header.rsv1) == [false, true])
        #expect(frames.map(\.payload) == [bytes("short"), ReverseExtension.encode(bytes("long enough!"))])
    }

    @Test func closeAndPongNeverCarryRSV1() throws {
        let h = Harness(role: .server, messageExtension: ReverseExtension())
        h.feed(frame(.ping, bytes("p"), from: .client) + closeFrame(.normalClosure, from: .client))
        let frames = try h.takeFrames()
        #expect(frames.map(\.header.opcode) == [.pong, .close])
        #expect(frames.allSatisfy { $0.header.rsv == 0 })
    }

    @Test func observedCompressedFramesReportTheCompressedPayload() throws {
        let h = Harness(role: .client, messageExtension: ReverseExtension(), fragmentSize: 3)
        h.connection.observesSent = true
        h.connection.sendText("abcde")
        let sent = h.events.compactMap { e -> (Header, [UInt8])? in
            if case .frameSent(let header, _, let payload) = e { return (header, payload) } else { return nil }
        }
        #expect(sent.map(\.0.rsv1) == [true, false])
        #expect(sent.map(\.1) == [bytes("edc"), bytes("ba")])
    }

    /// Both ends with the extension, wired back to back, fragmented and not.
    @Test(arguments: [nil, 1, 4, 100])
    func backToBackRoundTrip(fragmentSize: Int?) throws {
        let clientExt = ReverseExtension()
        let serverExt = ReverseExtension()
        clientExt.minimumCompressSize = 3
        serverExt.minimumCompressSize = 3
        let pair = Pair(
            client: Connection(role: .client, messageExtension: clientExt, fragmentSize: fragmentSize),
            server: Connection(role: .server, messageExtension: serverExt, fragmentSize: fragmentSize))
        let texts = ["", "ab", "hello, wörld", String(repeating: "€", count: 300)]
        for t in texts {
            pair.client.connection.sendText(t)
            pair.server.connection.sendText(t)
        }
        pair.client.connection.send(.binary, payload: Array(0..<255))
        pair.pump()
        #expect(pair.server.messages.map(\.1) == texts.map(bytes) + [Array(0..<255)])
        #expect(pair.client.messages.map(\.1) == texts.map(bytes))
        #expect(pair.server.violations.isEmpty && pair.client.violations.isEmpty)
        // Compressed messages went out with RSV1 on their first frame only.
        let clientFrames = try decodeFrames(pair.client.written)
        #expect(clientFrames.filter(\.header.rsv1).allSatisfy { $0.header.opcode != .continuation })
        #expect(clientFrames.filter(\.header.rsv1).count == 3)  // "hello…", "€…", binary
    }
}
