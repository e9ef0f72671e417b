import Testing
import WebSocket
import WebSocketUtil

@Suite("MessageWriter")
struct MessageWriterTests {
    static func write(
        _ role: Role, fragmentSize: Int?, _ opcode: OpCode, _ payload: [UInt8]
    ) -> (bytes: [UInt8], observed: [(Header, Int)]) {
        var writer = MessageWriter(role: role, fragmentSize: fragmentSize)
        var out: [UInt8] = []
        var observed: [(Header, Int)] = []
        payload.withUnsafeBytes { writer.writeMessage(opcode, payload: $0, into: &out, observe: { observed.append(($0, $1)) }) }
        return (out, observed)
    }

    struct Shape: Sendable, CustomTestStringConvertible {
        var size: Int
        var fragment: Int?
        var expected: [Int]
        var testDescription: String { "\(size) bytes / \(fragment.map(String.init) ?? "nil")" }
    }

    static let shapes: [Shape] = [
        Shape(size: 10, fragment: 4, expected: [4, 4, 2]),
        Shape(size: 8, fragment: 4, expected: [4, 4]),
        Shape(size: 3, fragment: 4, expected: [3]),
        Shape(size: 0, fragment: 4, expected: [0]),
        Shape(size: 0, fragment: nil, expected: [0]),
        Shape(size: 5, fragment: 1, expected: [1, 1, 1, 1, 1]),
        Shape(size: 5, fragment: 0, expected: [1, 1, 1, 1, 1]),  // clamped to 1
        Shape(size: 1000, fragment: nil, expected: [1000]),
        Shape(size: 70_000, fragment: 65_536, expected: [65_536, 4464]),
        Shape(size: 300, fragment: 125, expected: [125, 125, 50]),
    ]

    @Test(arguments: shapes, [Role.server, .client])
    func fragmentsAtTheChosenSize(shape: Shape, role: Role) throws {
        let payload = (0..<shape.size).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        let (out, observed) = Self.write(role, fragmentSize: shape.fragment, .binary, payload)
        let frames = try decodeFrames(out)
        #expect(frames.map(\.payload.count) == shape.expected)
        #expect(frames.map(\.header.opcode) == [.binary] + Array(repeating: .continuation, count: shape.expected.count - 1))
        #expect(frames.map(\.header.fin) == Array(repeating: false, count: shape.expected.count - 1) + [true])
        #expect(frames.allSatisfy { $0.header.rsv == 0 })
        #expect(frames.allSatisfy { $0.header.masked == (role == .client) })
        #expect(frames.flatMap(\.payload) == payload)
        // Headers use the minimal length encoding (decodeFrames would accept any, so check).
        #expect(frames.allSatisfy { $0.wire.count == $0.header.encodedSize + $0.payload.count })
        // The observer sees each frame's header and where it starts in the output.
        var offset = 0
        #expect(observed.count == frames.count)
        for ((header, start), frame) in zip(observed, frames) {
            #expect(header == frame.header)
            #expect(start == offset)
            offset += frame.wire.count
        }
    }

    @Test func clientFramesUseADistinctKeyPerFrameAndServerFramesNone() throws {
        let payload = [UInt8](repeating: 0x41, count: 400)
        let client = try decodeFrames(Self.write(.client, fragmentSize: 4, .text, payload).bytes)
        #expect(client.count == 100)
        #expect(client.allSatisfy { $0.header.masked })
        #expect(Set(client.map(\.header.maskKey)).count == 100)
        // With a non-zero key the wire bytes differ from the payload.
        #expect(client.contains { Array($0.wire.suffix(4)) != [0x41, 0x41, 0x41, 0x41] })

        let server = try decodeFrames(Self.write(.server, fragmentSize: 4, .text, payload).bytes)
        #expect(server.allSatisfy { !$0.header.masked && $0.header.maskKey == 0 })
        #expect(server.allSatisfy { Array($0.wire.suffix(4)) == [0x41, 0x41, 0x41, 0x41] })
    }

    @Test func outputIsAppendedNotReplaced() throws {
        var writer = MessageWriter(role: .server)
        var out: [UInt8] = [0xAA]
        [UInt8](bytes("hi")).withUnsafeBytes { writer.writeMessage(.text, payload: $0, into: &out) }
        #expect(out == [0xAA, 0x81, 0x02, 0x68, 0x69])
    }

    @Test(arguments: [Role.server, .client])
    func controlFramesAreNeverFragmented(role: Role) throws {
        let writer = MessageWriter(role: role, fragmentSize: 1)
        var out: [UInt8] = []
        var observed: [(Header, Int)] = []
        let payload: [UInt8] = Array(0..<125)
        for op in [OpCode.ping, .pong, .close] {
            payload.withUnsafeBytes { writer.writeControl(op, payload: $0, into: &out, observe: { observed.append(($0, $1)) }) }
        }
        let frames = try decodeFrames(out)
        #expect(frames.map(\.header.opcode) == [.ping, .pong, .close])
        #expect(frames.allSatisfy { $0.header.fin && $0.payload == payload && $0.header.masked == (role == .client) })
        #expect(observed.map(\.0) == frames.map(\.header))
        #expect(observed.map(\.1) == [0, frames[0].wire.count, frames[0].wire.count + frames[1].wire.count])
    }

    /// Whatever the writer produces, the reader of the other role reassembles it.
    @Test(arguments: [Role.server, .client], [nil, 1, 2, 3, 7, 125, 126, 1000])
    func roundTripThroughTheReader(role: Role, fragmentSize: Int?) throws {
        var rng = SeededRNG(seed: UInt64(fragmentSize ?? 0) &+ (role == .client ? 100 : 0))
        var writer = MessageWriter(role: role, fragmentSize: fragmentSize)
        var out: [UInt8] = []
        var sent: [(OpCode, [UInt8])] = []
        for i in 0..<30 {
            // Tiny fragments of huge messages only make the test slow.
            let big = (fragmentSize ?? .max) < 100 ? 1000 : 65_536
            let size = [0, 1, 5, 126, 3000, big][i % 6]
            if i % 2 == 0 {
                let characters: [[UInt8]] = ["a", "é", "€", "𝄞"].map(bytes)
                let utf8 = (0..<size).flatMap { _ in characters.randomElement(using: &rng)! }
                sent.append((.text, utf8))
                utf8.withUnsafeBytes { writer.writeMessage(.text, payload: $0, into: &out) }
            } else {
                let payload = (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }
                sent.append((.binary, payload))
                payload.withUnsafeBytes { writer.writeMessage(.binary, payload: $0, into: &out) }
            }
            if i % 5 == 0 { [UInt8(i)].withUnsafeBytes { writer.writeControl(.ping, payload: $0, into: &out) } }
        }
        let reader = Harness(role: role.peer)
        reader.feed(out, chunks: randomChunks(total: out.count, maxChunk: 997, rng: &rng))
        #expect(reader.violations.isEmpty)
        #expect(reader.messages.count == sent.count)
        for (got, want) in zip(reader.messages, sent) {
            #expect(got.0 == want.0)
            #expect(got.1 == want.1)
        }
    }

    /// A writer whose fragment size was changed after creation must still make progress.
    @Test(arguments: [0, -3])
    func fragmentSizeSetAfterInitIsClamped(size: Int) throws {
        var writer = MessageWriter(role: .server)
        writer.fragmentSize = size
        var out: [UInt8] = []
        [UInt8]([1, 2, 3]).withUnsafeBytes { writer.writeMessage(.binary, payload: $0, into: &out) }
        #expect(try decodeFrames(out).map(\.payload) == [[1], [2], [3]])
    }

    @Test(arguments: [Role.server, .client])
    func connectionFragmentsWithItsConfiguredSize(role: Role) throws {
        let h = Harness(role: role, fragmentSize: 3)
        h.connection.sendText("abcdefg")
        let frames = try h.takeFrames()
        #expect(frames.map(\.payload) == [bytes("abc"), bytes("def"), bytes("g")])
        #expect(frames.map(\.header.opcode) == [.text, .continuation, .continuation])
        // The fragment size can be changed through `writer`.
        h.connection.writer.fragmentSize = nil
        h.connection.sendText("abcdefg")
        #expect(try h.takeFrames().map(\.payload) == [bytes("abcdefg")])
    }

    @Test(arguments: [Role.server, .client])
    func observesSentReportsEveryQueuedFrame(role: Role) throws {
        let h = Harness(role: role, fragmentSize: 4)
        h.connection.observesSent = true
        h.connection.sendText("hello world")  // 3 frames
        h.connection.send(.binary, payload: [])  // 1 frame
        h.connection.sendControl(.ping, payload: bytes("p"))
        h.feed(frame(.ping, bytes("auto"), from: role.peer))  // auto pong
        h.connection.sendClose(code: .normalClosure, reason: "x")
        let frames = try h.takeFrames()
        let sent = h.events.compactMap { e -> (Header, [UInt8], [UInt8])? in
            if case .frameSent(let header, let wire, let payload) = e { return (header, wire, payload) } else { return nil }
        }
        #expect(frames.count == 7)
        #expect(sent.count == frames.count)
        for ((header, wire, payload), frame) in zip(sent, frames) {
            #expect(header == frame.header)
            #expect(wire == frame.wire)
            #expect(payload == frame.payload, "payload reported unmasked")
            #expect(header.masked == (role == .client))
        }
        #expect(sent.map(\.0.opcode) == [.text, .continuation, .continuation, .binary, .ping, .pong, .close])
        #expect(sent.map(\.2) == [bytes("hell"), bytes("o wo"), bytes("rld"), [], bytes("p"), bytes("auto"), [0x03, 0xE8, 0x78]])
    }

    @Test func observesSentAlsoReportsTheCloseOfAFailure() throws {
        let h = Harness(role: .client)
        h.connection.observesSent = true
        h.feed(frame(.continuation, [], from: .server))
        let sent = h.events.compactMap { e -> Header? in
            if case .frameSent(let header, _, _) = e { return header } else { return nil }
        }
        #expect(sent.map(\.opcode) == [.close])
        #expect(try h.takeFrames().map(\.closeCode) == [.protocolError])
    }

    @Test func noFrameSentEventsUnlessObserved() {
        let h = Harness(role: .client)
        h.connection.sendText("quiet")
        #expect(h.events.isEmpty)
    }

    /// Client and server wired back to back exchange fragmented messages both ways.
    @Test(arguments: [nil, 1, 5, 64])
    func backToBackExchange(fragmentSize: Int?) throws {
        let pair = Pair(fragmentSize: fragmentSize)
        pair.client.connection.sendText("hello from the client ✓")
        pair.server.connection.send(.binary, payload: Array(0..<200))
        pair.client.connection.sendControl(.ping, payload: bytes("c"))
        pair.server.connection.sendControl(.ping, payload: bytes("s"))
        pair.server.connection.sendText("héllo from the server")
        pair.pump()
        #expect(pair.server.semanticEvents == [.message(.text, bytes("hello from the client ✓")), .ping(bytes("c")), .pong(bytes("s"))])
        #expect(pair.client.semanticEvents == [
            .message(.binary, Array(0..<200)), .ping(bytes("s")), .message(.text, bytes("héllo from the server")),
            .pong(bytes("c")),
        ])
    }
}
