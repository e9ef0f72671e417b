import CZlib
import WebSocket
import WebSocketDeflate
import WebSocketUtil

/// Bytes from a hex string with optional spaces: "f2 48 cd".
func hex(_ text: String) -> [UInt8] {
    let digits = Array(text.utf8.filter { $0 != UInt8(ascii: " ") })
    return stride(from: 0, to: digits.count, by: 2).map {
        UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)!
    }
}

func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
}

extension PerMessageDeflate {
    /// Compresses one message; nil when the codec declined.
    func compressed(_ message: [UInt8]) -> [UInt8]? {
        var output: [UInt8] = []
        let done = message.withUnsafeBytes { compress($0, into: &output) }
        return done ? output : nil
    }

    /// Decompresses one message delivered as `fragments`.
    func decompressed(fragments: [[UInt8]], limit: Int = 1 << 30) -> Result<[UInt8], ExtensionFailure> {
        var output: [UInt8] = []
        for (index, fragment) in fragments.enumerated() {
            let failure = fragment.withUnsafeBytes {
                decompress($0, isFinal: index == fragments.count - 1, into: &output, limit: limit)
            }
            if let failure { return .failure(failure) }
        }
        return .success(output)
    }

    func decompressed(_ payload: [UInt8], limit: Int = 1 << 30) -> Result<[UInt8], ExtensionFailure> {
        decompressed(fragments: [payload], limit: limit)
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let failure) = self { return failure }
        return nil
    }
}

/// zlib called directly: one raw deflate stream shared by all messages (context takeover),
/// each message flushed with Z_SYNC_FLUSH and stripped of its 00 00 ff ff.
func zlibCompressMessages(_ messages: [[UInt8]], windowBits: Int32, level: Int32 = Z_DEFAULT_COMPRESSION) -> [[UInt8]] {
    let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    stream.initialize(to: z_stream())
    defer { deflateEnd(stream); stream.deallocate() }
    precondition(deflateInit2_(stream, level, Z_DEFLATED, -windowBits, 8, Z_DEFAULT_STRATEGY,
                               zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK)
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    return messages.map { message in
        var output: [UInt8] = []
        var message = message
        message.withUnsafeMutableBufferPointer { input in
            stream.pointee.next_in = input.baseAddress
            stream.pointee.avail_in = UInt32(input.count)
            repeat {
                chunk.withUnsafeMutableBufferPointer { out in
                    stream.pointee.next_out = out.baseAddress
                    stream.pointee.avail_out = UInt32(out.count)
                    precondition(deflate(stream, Z_SYNC_FLUSH) != Z_STREAM_ERROR)
                    output.append(contentsOf: out[0..<(out.count - Int(stream.pointee.avail_out))])
                }
            } while stream.pointee.avail_out == 0
        }
        precondition(output.suffix(4) == [0, 0, 0xFF, 0xFF])
        return Array(output.dropLast(4))
    }
}

/// zlib called directly: one raw inflate stream for all messages, each given the tail back.
/// Nil when zlib rejects the data.
func zlibDecompressMessages(_ messages: [[UInt8]], windowBits: Int32) -> [[UInt8]]? {
    let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    stream.initialize(to: z_stream())
    defer { inflateEnd(stream); stream.deallocate() }
    precondition(inflateInit2_(stream, -windowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK)
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    var results: [[UInt8]] = []
    for message in messages {
        var input = message + [0, 0, 0xFF, 0xFF]
        var output: [UInt8] = []
        var status: Int32 = Z_OK
        input.withUnsafeMutableBufferPointer { input in
            stream.pointee.next_in = input.baseAddress
            stream.pointee.avail_in = UInt32(input.count)
            repeat {
                chunk.withUnsafeMutableBufferPointer { out in
                    stream.pointee.next_out = out.baseAddress
                    stream.pointee.avail_out = UInt32(out.count)
                    status = inflate(stream, Z_SYNC_FLUSH)
                    output.append(contentsOf: out[0..<(out.count - Int(stream.pointee.avail_out))])
                }
            } while status == Z_OK && (stream.pointee.avail_out == 0 || stream.pointee.avail_in > 0)
        }
        guard status == Z_OK || status == Z_BUF_ERROR else { return nil }
        results.append(output)
    }
    return results
}

/// Deterministic pseudo-random bytes (xorshift64*), fast enough for megabytes in debug builds.
struct TestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed | 1 }

    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var index = 0
            while index < count {
                var word = next()
                for _ in 0..<min(8, count - index) {
                    buffer[index] = UInt8(truncatingIfNeeded: word)
                    word >>= 8
                    index += 1
                }
            }
            initialized = count
        }
    }

    /// Text-like data: words from a small vocabulary, so it compresses and repeats at
    /// many distances.
    mutating func text(_ count: Int) -> [UInt8] {
        let words = ["the", "frame", "message", "deflate", "window", "context", "takeover", "server", "client",
                     "websocket", "payload", "fragment", "compress", "inflate", "zlib", "bits", "\n", "{\"id\":"]
            .map { Array($0.utf8) }
        var output: [UInt8] = []
        output.reserveCapacity(count + 16)
        while output.count < count {
            output += words[Int(next() % UInt64(words.count))]
            output.append(next() % 7 == 0 ? UInt8(ascii: ",") : UInt8(ascii: " "))
            if next() % 5 == 0 { output += Array(String(next() % 1000).utf8) }
        }
        return Array(output.prefix(count))
    }
}

/// A server and a client codec sharing `parameters`, always compressing.
func codecPair(_ parameters: DeflateParameters = DeflateParameters()) -> (server: PerMessageDeflate, client: PerMessageDeflate) {
    let server = PerMessageDeflate(parameters: parameters, role: .server)
    let client = PerMessageDeflate(parameters: parameters, role: .client)
    server.compressesOnlyWhenSmaller = false
    client.compressesOnlyWhenSmaller = false
    return (server, client)
}

/// Splits `bytes` into fragments of `size` (the last may be shorter; at least one fragment).
func fragments(_ bytes: [UInt8], size: Int) -> [[UInt8]] {
    guard !bytes.isEmpty else { return [[]] }
    return stride(from: 0, to: bytes.count, by: size).map { Array(bytes[$0..<min($0 + size, bytes.count)]) }
}
