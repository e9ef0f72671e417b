import Testing
import WebSocket
import WebSocketUtil

// Shared helpers for the message-layer tests: an event recorder that copies borrowed
// buffers into owned values, output decoding, frame builders and a seeded RNG.

/// A `ConnectionEvent` with owned copies of its buffers, so it can be compared after the
/// callback returned.
enum Event: Equatable, CustomStringConvertible {
    case frameReceived(Header, wire: [UInt8], payload: [UInt8])
    case frameSent(Header, wire: [UInt8], payload: [UInt8])
    case message(OpCode, [UInt8])
    case ping([UInt8])
    case pong([UInt8])
    case closeReceived(code: CloseCode?, reason: String)
    case violation(ProtocolViolation, wire: [UInt8])
    case closingHandshakeDone

    init(_ event: ConnectionEvent) {
        switch event {
        case .frameReceived(let h, let wire, let payload): self = .frameReceived(h, wire: Array(wire), payload: Array(payload))
        case .frameSent(let h, let wire, let payload): self = .frameSent(h, wire: Array(wire), payload: Array(payload))
        case .message(let op, let bytes): self = .message(op, Array(bytes))
        case .ping(let bytes): self = .ping(Array(bytes))
        case .pong(let bytes): self = .pong(Array(bytes))
        case .closeReceived(let code, let reason): self = .closeReceived(code: code, reason: reason)
        case .violation(let v, let wire): self = .violation(v, wire: Array(wire))
        case .closingHandshakeDone: self = .closingHandshakeDone
        }
    }

    var description: String {
        switch self {
        case .frameReceived(let h, let wire, let payload): return "frameReceived(\(h.opcode) fin=\(h.fin) len=\(h.length) wire=\(wire.count)B payload=\(payload.count)B)"
        case .frameSent(let h, let wire, let payload): return "frameSent(\(h.opcode) fin=\(h.fin) len=\(h.length) wire=\(wire.count)B payload=\(payload.count)B)"
        case .message(let op, let bytes): return "message(\(op), \(bytes.count)B)"
        case .ping(let b): return "ping(\(b))"
        case .pong(let b): return "pong(\(b))"
        case .closeReceived(let code, let reason): return "closeReceived(\(code.map { "\($0)" } ?? "nil"), \"\(reason)\")"
        case .violation(let v, _): return "violation(\(v))"
        case .closingHandshakeDone: return "closingHandshakeDone"
        }
    }

    var isFrameEvent: Bool {
        switch self {
        case .frameReceived, .frameSent: return true
        default: return false
        }
    }
}

/// Records every event of a connection and what it writes.
final class Harness {
    let connection: Connection
    var events: [Event] = []
    /// Every byte ever taken from the connection's output.
    var written: [UInt8] = []

    init(_ connection: Connection) {
        self.connection = connection
        connection.onEvent = { [unowned self] event in self.events.append(Event(event)) }
    }

    convenience init(
        role: Role, maxMessageBytes: Int = 64 << 20, messageExtension: MessageExtension? = nil,
        fragmentSize: Int? = nil, captureWire: Bool = false
    ) {
        let connection = Connection(
            role: role, maxMessageBytes: maxMessageBytes, messageExtension: messageExtension,
            fragmentSize: fragmentSize)
        connection.captureWire = captureWire
        self.init(connection)
    }

    func feed(_ bytes: [UInt8]) { connection.receive(bytes) }

    /// Feeds `bytes` cut at the given chunk sizes (the rest in one final chunk).
    func feed(_ bytes: [UInt8], chunks: [Int]) {
        var offset = 0
        for size in chunks where offset < bytes.count {
            let end = min(bytes.count, offset + size)
            connection.receive(Array(bytes[offset..<end]))
            offset = end
        }
        if offset < bytes.count { connection.receive(Array(bytes[offset...])) }
    }

    /// Drains the output queue.
    func take() -> [UInt8] {
        var out: [UInt8] = []
        connection.takeOutput { out.append(contentsOf: $0) }
        written += out
        return out
    }

    /// Drains the output queue and decodes it into frames.
    func takeFrames() throws -> [DecodedFrame] { try decodeFrames(take()) }

    /// Events other than `.frameReceived` / `.frameSent`.
    var semanticEvents: [Event] { events.filter { !$0.isFrameEvent } }

    var messages: [(OpCode, [UInt8])] {
        events.compactMap { if case .message(let op, let bytes) = $0 { return (op, bytes) } else { return nil } }
    }

    var violations: [ProtocolViolation] {
        events.compactMap { if case .violation(let v, _) = $0 { return v } else { return nil } }
    }
}

struct DecodedFrame: Equatable {
    var header: Header
    /// Unmasked payload.
    var payload: [UInt8]
    /// The frame's exact bytes.
    var wire: [UInt8]

    var closeCode: CloseCode? {
        guard header.opcode == .close, case .success(let body) = CloseBody.decode(payload) else { return nil }
        return body.code
    }
}

struct DecodeError: Error, CustomStringConvertible {
    var description: String
}

/// Splits a byte stream into frames (minimal length encodings only, as our writers produce).
func decodeFrames(_ bytes: [UInt8]) throws -> [DecodedFrame] {
    var frames: [DecodedFrame] = []
    var offset = 0
    while offset < bytes.count {
        let rest = Array(bytes[offset...])
        guard case .header(let header, let size) = Header.decode(rest) else {
            throw DecodeError(description: "truncated header at \(offset)")
        }
        let end = size + Int(header.length)
        guard end <= rest.count else { throw DecodeError(description: "truncated payload at \(offset)") }
        var payload = Array(rest[size..<end])
        if header.masked { payload.withUnsafeMutableBytes { Cipher.mask($0, key: header.maskKey) } }
        frames.append(DecodedFrame(header: header, payload: payload, wire: Array(rest[..<end])))
        offset += end
    }
    return frames
}

// MARK: Frame builders

/// A fixed, recognisable mask key (wire octets 0x37 0xFA 0x21 0x3D, as in RFC 6455 5.7).
let rfcKey = Header.maskKey(0x37, 0xFA, 0x21, 0x3D)

/// Wire bytes of a frame as `sender` sends it: masked (with `key`, or a fixed one) when the
/// sender is a client, unless `masked` overrides it.
func frame(
    _ opcode: OpCode, _ payload: [UInt8], fin: Bool = true, rsv1: Bool = false, rsv2: Bool = false,
    rsv3: Bool = false, from sender: Role, masked: Bool? = nil, key: UInt32 = rfcKey,
    length: UInt64? = nil, lengthEncoding: LengthEncoding = .minimal
) -> [UInt8] {
    let isMasked = masked ?? sender.masksOutgoing
    let header = Header(
        fin: fin, rsv1: rsv1, rsv2: rsv2, rsv3: rsv3, opcode: opcode, masked: isMasked,
        maskKey: isMasked ? key : 0, length: length ?? UInt64(payload.count))
    return Frame(header: header, payload: payload).wireBytes(lengthEncoding: lengthEncoding)
}

func frame(_ opcode: OpCode, _ text: String, fin: Bool = true, from sender: Role, key: UInt32 = rfcKey) -> [UInt8] {
    frame(opcode, Array(text.utf8), fin: fin, from: sender, key: key)
}

func closeFrame(_ code: CloseCode?, reason: String = "", from sender: Role) -> [UInt8] {
    frame(.close, CloseBody.encode(code: code, reason: reason), from: sender)
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

/// Deterministic RNG (SplitMix64) so failures reproduce.
struct SeededRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random chunk sizes (1...maxChunk) covering `total` bytes.
func randomChunks(total: Int, maxChunk: Int, rng: inout SeededRNG) -> [Int] {
    var chunks: [Int] = []
    var covered = 0
    while covered < total {
        let size = Int.random(in: 1...maxChunk, using: &rng)
        chunks.append(size)
        covered += size
    }
    return chunks
}

/// Two connections wired back to back: what one writes the other reads.
final class Pair {
    let client: Harness
    let server: Harness

    init(client: Connection, server: Connection) {
        self.client = Harness(client)
        self.server = Harness(server)
    }

    convenience init(fragmentSize: Int? = nil, maxMessageBytes: Int = 64 << 20) {
        self.init(
            client: Connection(role: .client, maxMessageBytes: maxMessageBytes, fragmentSize: fragmentSize),
            server: Connection(role: .server, maxMessageBytes: maxMessageBytes, fragmentSize: fragmentSize))
    }

    /// Moves bytes both ways until neither side has output left.
    func pump(maxRounds: Int = 100) {
        for _ in 0..<maxRounds {
            let c = client.take()
            let s = server.take()
            if c.isEmpty && s.isEmpty { return }
            if !c.isEmpty { server.feed(c) }
            if !s.isEmpty { client.feed(s) }
        }
    }
}

// MARK: A fake per-message extension

/// "Compresses" by reversing the message's bytes. Decompression buffers the frames of a
/// message and appends them reversed at the end; or, in `streaming` mode, XORs every byte
/// with 0xFF as it arrives (compression does the same), which lets incremental paths
/// (UTF-8 fail-fast inside compressed messages) be exercised.
final class ReverseExtension: MessageExtension {
    enum Mode { case reverse, streaming }
    var mode: Mode
    /// Return false from `compress` (send uncompressed) for messages shorter than this.
    var minimumCompressSize = 0
    /// Fail the next decompression call with this.
    var forcedFailure: ExtensionFailure?
    /// Bytes that make decompression report `.invalidData` when seen in the input.
    var poison: UInt8? = nil
    private var pending: [UInt8] = []
    var decompressCalls: [(input: [UInt8], isFinal: Bool, limit: Int)] = []
    var compressCalls = 0

    init(mode: Mode = .reverse) { self.mode = mode }

    func decompress(
        _ input: UnsafeRawBufferPointer, isFinal: Bool, into output: inout [UInt8], limit: Int
    ) -> ExtensionFailure? {
        decompressCalls.append((Array(input), isFinal, limit))
        if let forcedFailure { return forcedFailure }
        if let poison, input.contains(poison) { return .invalidData("poison byte") }
        switch mode {
        case .streaming:
            if output.count + input.count > limit { return .messageTooBig }
            output.append(contentsOf: input.map { $0 ^ 0xFF })
        case .reverse:
            pending.append(contentsOf: input)
            if output.count + pending.count > limit { pending.removeAll(); return .messageTooBig }
            if isFinal {
                output.append(contentsOf: pending.reversed())
                pending.removeAll()
            }
        }
        return nil
    }

    func compress(_ message: UnsafeRawBufferPointer, into output: inout [UInt8]) -> Bool {
        compressCalls += 1
        guard message.count >= minimumCompressSize else { return false }
        switch mode {
        case .reverse: output = message.reversed()
        case .streaming: output = message.map { $0 ^ 0xFF }
        }
        return true
    }

    static func encode(_ bytes: [UInt8], mode: Mode = .reverse) -> [UInt8] {
        mode == .reverse ? bytes.reversed() : bytes.map { $0 ^ 0xFF }
    }
}
