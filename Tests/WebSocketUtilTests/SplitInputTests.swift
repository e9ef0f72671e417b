import Testing
import WebSocket
import WebSocketUtil

/// However the transport cuts the byte stream, the connection must report the same events
/// and queue the same output.
@Suite("Input split at any point")
struct SplitInputTests {
    /// A stream that exercises every header shape: 7-bit, 16-bit and 64-bit lengths, masked
    /// or not, zero-length frames, fragments with control frames between them, multi-byte
    /// UTF-8 cut across fragments, and a close at the end.
    static func stream(from sender: Role, large: Bool) -> [UInt8] {
        let k1 = Header.maskKey(0xDE, 0xAD, 0xBE, 0xEF)
        let k2 = Header.maskKey(0x01, 0x80, 0x7F, 0xFE)
        let euro = Array("€".utf8)  // E2 82 AC
        var s: [UInt8] = []
        s += frame(.text, "hello", from: sender, key: k1)
        s += frame(.text, Array("ab".utf8) + euro[..<1], fin: false, from: sender, key: k2)
        s += frame(.ping, bytes("are you there"), from: sender, key: k1)
        s += frame(.continuation, Array(euro[1...]) + Array("𝄞z".utf8), fin: false, from: sender, key: k2)
        s += frame(.pong, [], from: sender, key: k1)
        s += frame(.continuation, [], fin: true, from: sender, key: k2)
        s += frame(.binary, [], from: sender, key: k1)
        s += frame(.binary, (0..<300).map { UInt8(truncatingIfNeeded: $0) }, from: sender, key: k2)
        if large {
            s += frame(.binary, (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }, fin: false, from: sender, key: k1)
            s += frame(.ping, [7], from: sender, key: k2)
            s += frame(.continuation, [1, 2, 3], from: sender, key: k1)
        }
        s += frame(.text, "ünïcödé", from: sender, key: k2)
        s += closeFrame(.goingAway, reason: "bye", from: sender)
        return s
    }

    struct Outcome: Equatable {
        var events: [Event]
        var output: [DecodedFrame]
        var state: CloseState
    }

    static func run(_ role: Role, _ input: [UInt8], chunks: [Int]?, captureWire: Bool = true) throws -> Outcome {
        let h = Harness(role: role, captureWire: captureWire)
        if let chunks { h.feed(input, chunks: chunks) } else { h.feed(input) }
        var output = try h.takeFrames()
        // Client output is masked with random keys: compare what the frames say.
        for i in output.indices where output[i].header.masked {
            output[i].header.maskKey = 0
            output[i].wire = []
        }
        return Outcome(events: h.events, output: output, state: h.connection.closeState)
    }

    @Test(arguments: [Role.server, .client])
    func referenceRunIsWhatWeExpect(role: Role) throws {
        let reference = try Self.run(role, Self.stream(from: role.peer, large: true), chunks: nil)
        let semantic = reference.events.filter { !$0.isFrameEvent }
        #expect(semantic == [
            .message(.text, bytes("hello")),
            .ping(bytes("are you there")),
            .pong([]),
            .message(.text, bytes("ab€𝄞z")),
            .message(.binary, []),
            .message(.binary, (0..<300).map { UInt8(truncatingIfNeeded: $0) }),
            .ping([7]),
            .message(.binary, (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) } + [1, 2, 3]),
            .message(.text, bytes("ünïcödé")),
            .closeReceived(code: .goingAway, reason: "bye"),
            .closingHandshakeDone,
        ])
        #expect(reference.output.map(\.header.opcode) == [.pong, .pong, .close])
        #expect(reference.output.map(\.payload) == [bytes("are you there"), [7], [0x03, 0xE9]])
        #expect(reference.state == .closed)
    }

    @Test(arguments: [Role.server, .client])
    func byteByByte(role: Role) throws {
        let input = Self.stream(from: role.peer, large: true)
        let reference = try Self.run(role, input, chunks: nil)
        let split = try Self.run(role, input, chunks: Array(repeating: 1, count: input.count))
        #expect(split == reference)
    }

    @Test(arguments: [Role.server, .client], Array(UInt64(1)...25))
    func randomChunkSizes(role: Role, seed: UInt64) throws {
        let input = Self.stream(from: role.peer, large: true)
        let reference = try Self.run(role, input, chunks: nil)
        var rng = SeededRNG(seed: seed)
        // Small chunks for some seeds (header cuts), large for others (many frames per read).
        let maxChunk = seed % 2 == 0 ? 17 : 5000
        let chunks = randomChunks(total: input.count, maxChunk: maxChunk, rng: &rng)
        let split = try Self.run(role, input, chunks: chunks)
        #expect(split == reference, "chunks: \(chunks.prefix(40))")
    }

    /// One cut at every position of the stream (every header position of every frame
    /// included), and without wire capture as well.
    @Test(arguments: [Role.server, .client], [true, false])
    func singleCutAtEveryPosition(role: Role, captureWire: Bool) throws {
        let input = Self.stream(from: role.peer, large: false)
        let reference = try Self.run(role, input, chunks: nil, captureWire: captureWire)
        for cut in 0...input.count {
            let split = try Self.run(role, input, chunks: [cut], captureWire: captureWire)
            #expect(split == reference, "cut at \(cut)")
            if split != reference { break }
        }
    }

    /// Every pair of cuts inside the largest header shape (2 + 8 length bytes + 4 mask
    /// bytes) plus a few payload bytes: the header arrives in three reads at every position.
    @Test func everyDoubleCutInsideA64BitMaskedHeader() throws {
        let payload = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 ^ 0x5A) }
        let input = frame(.binary, payload, from: .client, key: Header.maskKey(9, 8, 7, 6))
            + frame(.ping, bytes("after"), from: .client)
        let reference = try Self.run(.server, input, chunks: nil)
        #expect(reference.events.filter { !$0.isFrameEvent } == [.message(.binary, payload), .ping(bytes("after"))])
        for first in 0...16 {
            for second in 0...(16 - first) {
                let split = try Self.run(.server, input, chunks: [first, second])
                #expect(split == reference, "cuts \(first), \(second)")
            }
        }
    }

    /// Three reads of a sequence of short frames whose headers all straddle read boundaries.
    @Test func headersStraddlingEveryBoundaryOfAFrameTrain() throws {
        var input: [UInt8] = []
        for i in 0..<20 { input += frame(i % 2 == 0 ? .ping : .pong, [UInt8](repeating: UInt8(i), count: i % 4), from: .client) }
        input += frame(.text, "x", from: .client)
        let reference = try Self.run(.server, input, chunks: nil)
        for size in 1...9 {
            let split = try Self.run(.server, input, chunks: Array(repeating: size, count: input.count))
            #expect(split == reference, "chunk size \(size)")
        }
    }
}
