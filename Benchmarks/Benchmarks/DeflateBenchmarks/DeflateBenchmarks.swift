// permessage-deflate (RFC 7692) through WebSocketDeflate.PerMessageDeflate, against zlib
// called directly on the same messages with the same settings (raw deflate, 15 window
// bits, level 6, memLevel 8, default strategy, Z_SYNC_FLUSH, context takeover).
// One operation = one message.
//
//   Deflate compress/<case>     PerMessageDeflate.compress into a reused [UInt8]
//   zlib deflate/<case>         deflate(Z_SYNC_FLUSH) into a fixed buffer (tail left in)
//   Deflate decompress/<case>   PerMessageDeflate.decompress(isFinal: true) into a reused [UInt8]
//   zlib inflate/<case>         inflate(Z_SYNC_FLUSH) of message + 00 00 ff ff into a fixed buffer
//   Deflate round/<case>        client Connection.send (compress, frame, mask) -> takeOutput ->
//                               server Connection.receive (unmask, inflate, UTF-8 check, .message)
//   zlib round/<case>           deflate then inflate of the same message, nothing else
//
// Every codec is warm: built once, before the first measured iteration, and used by every
// iteration, so the compression contexts carry over as on a long-lived connection. The
// messages come from a pool larger than the 32 KiB window, cycled, so the history never
// holds an exact copy of the message being compressed.
//
// Decompression needs a stream produced by a compressor whose context matches the
// decompressor's: each iteration first compresses its batch with a direct-zlib compressor
// (outside the measured region), then decompresses it (measured). Both decompression
// benchmarks therefore inflate byte-identical input.
//
//   Paired deflate <kind>/<case>  ours and zlib on the same batch of messages back to back
//                                 in every iteration (order alternating), each timed on its
//                                 own: custom metrics "paired wscope (ns/op)" and "paired zlib
//                                 (ns/op)", whose ratio does not move with the machine's load
//                                 the way ratios of separately run benchmarks do.

import Benchmark
import BenchmarkSupport
import CZlib
import WebSocket
import WebSocketDeflate
import WebSocketUtil

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Messages

/// SplitMix64: deterministic messages, identical in every benchmark process.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
    mutating func pick<T>(_ options: [T]) -> T { options[below(options.count)] }
}

let symbols = ["BTC-USD", "ETH-USD", "SOL-USD", "ETH-BTC", "DOGE-USD", "ADA-EUR", "XRP-USDT", "LTC-GBP"]
let alphanumerics = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)

func decimal(_ random: inout SplitMix64, _ integerDigits: Int, _ fractionDigits: Int) -> String {
    let integer = String(random.below(Int(pow10(integerDigits))))
    let fraction = String(random.below(Int(pow10(fractionDigits))))
    return integer + "." + String(repeating: "0", count: fractionDigits - fraction.count) + fraction
}

func pow10(_ n: Int) -> Int { (0..<n).reduce(1) { r, _ in r * 10 } }

func token(_ random: inout SplitMix64, _ count: Int) -> String {
    String(decoding: (0..<count).map { _ in random.pick(alphanumerics) }, as: UTF8.self)
}

/// Pads a JSON object (ending in `}`) to exactly `size` bytes with a trailing string field.
func padded(_ object: String, to size: Int, _ random: inout SplitMix64) -> [UInt8] {
    var body = Array(object.utf8.dropLast())
    let field = Array(#","pad":""}"#.utf8)
    precondition(body.count + field.count <= size, "message too long for \(size) bytes")
    let padding = token(&random, size - body.count - field.count)
    body += Array(#","pad":""#.utf8) + Array(padding.utf8) + Array(#""}"#.utf8)
    precondition(body.count == size)
    return body
}

/// A trading-feed tick: about 128 bytes of JSON, as streamed by exchanges and dashboards.
func tick(_ index: Int, _ random: inout SplitMix64) -> [UInt8] {
    let object = #"{"type":"trade","seq":\#(1_000_000 + index),"pair":"\#(random.pick(symbols))","#
        + #""price":"\#(decimal(&random, 5, 2))","size":"\#(decimal(&random, 1, 6))","#
        + #""side":"\#(random.below(2) == 0 ? "buy" : "sell")","ts":\#(1_709_296_496_000 + index * 37)}"#
    return padded(object, to: 128, &random)
}

/// A page of user records, 4 KiB of JSON (an API response pushed over the socket).
func page(_ index: Int, _ random: inout SplitMix64) -> [UInt8] {
    var object = #"{"type":"users","page":\#(index),"items":["#
    var id = index * 100
    let names = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]
    let tags = ["admin", "beta", "ops", "sales", "support", "dev", "qa", "design"]
    while true {
        id += 1
        let name = random.pick(names) + "_" + token(&random, 4)
        let record = #"{"id":\#(id),"name":"\#(name)","email":"\#(name)@example.com","#
            + #""score":\#(decimal(&random, 3, 2)),"active":\#(random.below(4) != 0),"#
            + #""tags":["\#(random.pick(tags))","\#(random.pick(tags))"],"#
            + #""created":"2024-0\#(1 + random.below(9))-1\#(random.below(10))T0\#(random.below(10)):\#(10 + random.below(50)):00Z"}"#
        if object.utf8.count + record.utf8.count + 40 > 4096 { break }
        object += (object.hasSuffix("[") ? "" : ",") + record
    }
    return padded(object + "]}", to: 4096, &random)
}

/// 64 KiB of mixed binary: telemetry-like records (counters, small-range readings, a few
/// random bytes each) with a random blob every 4 KiB. Compresses to roughly a third.
func blob(_ index: Int, _ random: inout SplitMix64) -> [UInt8] {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(65_536)
    var counter = UInt32(truncatingIfNeeded: index &* 7919)
    while bytes.count < 65_536 {
        if bytes.count % 4096 == 0 {
            for _ in 0..<256 { bytes.append(UInt8(truncatingIfNeeded: random.next())) }
            continue
        }
        counter &+= 1
        withUnsafeBytes(of: counter.littleEndian) { bytes += $0 }
        bytes += [0x01, 0x00, UInt8(truncatingIfNeeded: index), 0x7F]
        for _ in 0..<16 { bytes.append(UInt8(random.below(12))) }  // readings
        for _ in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: random.next())) }  // noise
        bytes += Array(repeating: 0, count: 4)
    }
    return Array(bytes.prefix(65_536))
}

struct MessageCase: Sendable {
    let name: String
    let opcode: OpCode
    let size: Int
    /// Distinct messages cycled (their total exceeds the 32 KiB window several times).
    let poolSize: Int
    /// Messages per measured iteration (1 or 1000).
    let ops: Int
    var scaling: BenchmarkScalingFactor { BenchmarkScalingFactor(rawValue: ops)! }
    let make: @Sendable (Int, inout SplitMix64) -> [UInt8]
}

let messageCases = [
    MessageCase(name: "text 128B", opcode: .text, size: 128, poolSize: 1024, ops: 1000, make: tick),
    MessageCase(name: "text 4KiB", opcode: .text, size: 4096, poolSize: 64, ops: 1, make: page),
    MessageCase(name: "binary 64KiB", opcode: .binary, size: 65_536, poolSize: 8, ops: 1, make: blob),
]

/// The messages of a case, each in its own page-aligned buffer that lives for the process.
func messagePool(_ testCase: MessageCase) -> [UnsafeRawBufferPointer] {
    var random = SplitMix64(state: UInt64(testCase.size))
    return (0..<testCase.poolSize).map { index in
        let message = testCase.make(index, &random)
        precondition(message.count == testCase.size)
        if testCase.opcode == .text { precondition(String(validating: message, as: UTF8.self) != nil) }
        return UnsafeRawBufferPointer(copyToBuffer(message))
    }
}

/// Cycles through a pool.
final class Cursor: @unchecked Sendable {
    let pool: [UnsafeRawBufferPointer]
    var index = 0
    init(_ pool: [UnsafeRawBufferPointer]) { self.pool = pool }
    @inline(__always) func next() -> UnsafeRawBufferPointer {
        let message = pool[index]
        index = index &+ 1 == pool.count ? 0 : index &+ 1
        return message
    }
}

// MARK: - zlib called directly

@inline(__always)
func zlibInput(_ bytes: UnsafeRawBufferPointer) -> UnsafeMutablePointer<Bytef> {
    UnsafeMutablePointer(mutating: bytes.baseAddress!.assumingMemoryBound(to: Bytef.self))
}

/// A raw deflate stream with the settings PerMessageDeflate uses by default.
final class ZlibDeflater: @unchecked Sendable {
    let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    /// Room for any message of these cases: incompressible 64 KiB plus zlib's worst case.
    let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 17, alignment: 64)

    init() {
        stream.initialize(to: z_stream())
        precondition(deflateInit2_(stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY,
                                   zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK)
    }

    /// Compresses one message with Z_SYNC_FLUSH into `output`; returns the byte count,
    /// the trailing 00 00 ff ff included.
    @inline(__always)
    func deflateMessage(_ message: UnsafeRawBufferPointer) -> Int {
        stream.pointee.next_in = zlibInput(message)
        stream.pointee.avail_in = UInt32(message.count)
        stream.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = UInt32(output.count)
        let status = deflate(stream, Z_SYNC_FLUSH)
        precondition(status == Z_OK && stream.pointee.avail_in == 0 && stream.pointee.avail_out != 0)
        return output.count - Int(stream.pointee.avail_out)
    }
}

/// A raw inflate stream, output into a fixed buffer.
final class ZlibInflater: @unchecked Sendable {
    let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 17, alignment: 64)

    init() {
        stream.initialize(to: z_stream())
        precondition(inflateInit2_(stream, -15, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK)
    }

    /// Inflates one whole message (its tail included); returns the decompressed size.
    @inline(__always)
    func inflateMessage(_ compressed: UnsafeRawBufferPointer) -> Int {
        stream.pointee.next_in = zlibInput(compressed)
        stream.pointee.avail_in = UInt32(compressed.count)
        stream.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = UInt32(output.count)
        let status = inflate(stream, Z_SYNC_FLUSH)
        precondition(status == Z_OK && stream.pointee.avail_in == 0)
        return output.count - Int(stream.pointee.avail_out)
    }
}

/// A batch of compressed messages for the decompression benchmarks, produced by a
/// direct-zlib compressor that runs ahead of the decompressor (one batch per iteration).
/// Every message is stored with its 00 00 ff ff tail; `withoutTail` drops it.
final class CompressedBatch: @unchecked Sendable {
    let cursor: Cursor
    let compressor = ZlibDeflater()
    let bytes: UnsafeMutableRawBufferPointer
    var ends: [Int]
    var count = 0

    init(_ pool: [UnsafeRawBufferPointer], capacity: Int) {
        cursor = Cursor(pool)
        let largest = pool.map(\.count).max()!
        bytes = .allocate(byteCount: capacity * (largest + 1024), alignment: 64)
        ends = Array(repeating: 0, count: capacity)
    }

    /// Compresses the next `count` messages of the pool (not measured).
    func refill(_ count: Int) {
        var end = 0
        for index in 0..<count {
            let size = compressor.deflateMessage(cursor.next())
            UnsafeMutableRawBufferPointer(rebasing: bytes[end..<end + size])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: compressor.output[..<size]))
            end += size
            ends[index] = end
        }
        self.count = count
    }

    @inline(__always)
    func message(_ index: Int, withTail: Bool) -> UnsafeRawBufferPointer {
        let start = index == 0 ? 0 : ends[index - 1]
        let end = ends[index] - (withTail ? 0 : 4)
        return UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[start..<end])
    }
}

// MARK: - Benchmarks

/// Reported by the compression benchmarks: the average compressed size of a message
/// (without the 4-byte tail), so that the table can show what the messages compress to.
let compressedSize = BenchmarkMetric.custom("compressed bytes per message", polarity: .prefersSmaller, useScalingFactor: false)

final class Received: @unchecked Sendable {
    var messages = 0
    var bytes = 0
}

let pairedOurs = BenchmarkMetric.custom("paired wscope (ns/op)", polarity: .prefersSmaller, useScalingFactor: false)
let pairedZlib = BenchmarkMetric.custom("paired zlib (ns/op)", polarity: .prefersSmaller, useScalingFactor: false)

@inline(__always) func monotonicNanoseconds() -> Int {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return time.tv_sec &* 1_000_000_000 &+ time.tv_nsec
}

/// Alternates which side of a paired benchmark goes first.
final class Turn: @unchecked Sendable {
    var oursFirst = true
}

/// Times `ours` and `zlib` (each running `ops` operations on the same messages) back to
/// back inside one measured region and reports each side's ns per operation.
@inline(__always)
func paired(_ benchmark: Benchmark, ops: Int, turn: Turn, ours: () -> Void, zlib: () -> Void) {
    turn.oursFirst.toggle()
    benchmark.startMeasurement()
    let start = monotonicNanoseconds()
    if turn.oursFirst { ours() } else { zlib() }
    let middle = monotonicNanoseconds()
    if turn.oursFirst { zlib() } else { ours() }
    let end = monotonicNanoseconds()
    benchmark.stopMeasurement()
    let (oursTime, zlibTime) = turn.oursFirst ? (middle &- start, end &- middle) : (end &- middle, middle &- start)
    benchmark.measurement(pairedOurs, oursTime / ops)
    benchmark.measurement(pairedZlib, zlibTime / ops)
}

/// A client and a server Connection with permessage-deflate, the server counting what it
/// delivers; warmed up over `pool`.
func connectionPair(_ testCase: MessageCase, _ pool: [UnsafeRawBufferPointer]) -> (Connection, Connection, Received) {
    let client = Connection(
        role: .client, messageExtension: PerMessageDeflate(parameters: DeflateParameters(), role: .client))
    let server = Connection(
        role: .server, messageExtension: PerMessageDeflate(parameters: DeflateParameters(), role: .server))
    let received = Received()
    server.onEvent = { event in
        switch event {
        case .message(_, let payload):
            received.messages &+= 1
            received.bytes &+= payload.count
        case .violation(let violation, _):
            fatalError("unexpected violation \(violation)")
        default:
            break
        }
    }
    for message in pool {
        client.send(testCase.opcode, payload: message)
        client.takeOutput { server.receive($0) }
    }
    precondition(received.messages == pool.count && received.bytes == pool.count * testCase.size)
    return (client, server, received)
}

let benchmarks: @Sendable () -> Void = {
    for testCase in messageCases {
        let ops = testCase.ops
        let config = configuration(ops: testCase.scaling, bytesPerOp: testCase.size)
        var compressConfig = config
        compressConfig.metrics += [compressedSize]
        let pool = Lazy { messagePool(testCase) }

        // (a) compression, with context takeover
        let compressor = Lazy { () -> (PerMessageDeflate, Cursor, Box<[UInt8]>) in
            let codec = PerMessageDeflate(parameters: DeflateParameters(), role: .server)
            let cursor = Cursor(pool.value)
            let output = Box<[UInt8]>([])
            // Warm up over the whole pool: zlib's state and the output's capacity settle.
            // Same settings as the direct zlib stream: the bytes must be identical.
            let reference = ZlibDeflater()
            for _ in 0..<testCase.poolSize {
                let message = cursor.next()
                precondition(codec.compress(message, into: &output.value))
                let size = reference.deflateMessage(message)
                precondition(output.value.elementsEqual(reference.output[..<(size - 4)]), "not what zlib produces")
            }
            return (codec, cursor, output)
        }
        Benchmark("Deflate compress/\(testCase.name)", configuration: compressConfig) { benchmark in
            let (codec, cursor, box) = compressor.value
            var output = box.take()
            var total = 0
            benchmark.startMeasurement()
            for _ in 0..<ops {
                _ = codec.compress(cursor.next(), into: &output)
                total &+= output.count
            }
            benchmark.stopMeasurement()
            benchmark.measurement(compressedSize, total / ops)
            box.value = output
        }

        let zlibCompressor = Lazy { () -> (ZlibDeflater, Cursor) in
            let deflater = ZlibDeflater()
            let cursor = Cursor(pool.value)
            for _ in 0..<testCase.poolSize { _ = deflater.deflateMessage(cursor.next()) }
            return (deflater, cursor)
        }
        Benchmark("zlib deflate/\(testCase.name)", configuration: config) { benchmark in
            let (deflater, cursor) = zlibCompressor.value
            var total = 0
            benchmark.startMeasurement()
            for _ in 0..<ops {
                total &+= deflater.deflateMessage(cursor.next())
            }
            benchmark.stopMeasurement()
            blackHole(total)
        }

        // (b) decompression of a context-takeover stream
        let decompressor = Lazy { () -> (PerMessageDeflate, CompressedBatch, Box<[UInt8]>) in
            let codec = PerMessageDeflate(parameters: DeflateParameters(), role: .client)
            let batch = CompressedBatch(pool.value, capacity: ops)
            let output = Box<[UInt8]>([])
            for _ in 0..<max(1, testCase.poolSize / ops) {
                batch.refill(ops)
                for index in 0..<ops {
                    let failure = codec.decompress(batch.message(index, withTail: false), isFinal: true,
                                                   into: &output.value, limit: Int.max)
                    precondition(failure == nil && output.value.count == testCase.size)
                    output.value.removeAll(keepingCapacity: true)
                }
            }
            return (codec, batch, output)
        }
        Benchmark("Deflate decompress/\(testCase.name)", configuration: config) { benchmark in
            let (codec, batch, box) = decompressor.value
            var output = box.take()
            batch.refill(ops)
            var total = 0
            benchmark.startMeasurement()
            for index in 0..<ops {
                _ = codec.decompress(batch.message(index, withTail: false), isFinal: true, into: &output, limit: Int.max)
                total &+= output.count
                output.removeAll(keepingCapacity: true)
            }
            benchmark.stopMeasurement()
            precondition(total == ops * testCase.size, "decompressed \(total) bytes")
            box.value = output
        }

        let zlibDecompressor = Lazy { () -> (ZlibInflater, CompressedBatch) in
            let inflater = ZlibInflater()
            let batch = CompressedBatch(pool.value, capacity: ops)
            for _ in 0..<max(1, testCase.poolSize / ops) {
                batch.refill(ops)
                for index in 0..<ops {
                    precondition(inflater.inflateMessage(batch.message(index, withTail: true)) == testCase.size)
                }
            }
            return (inflater, batch)
        }
        Benchmark("zlib inflate/\(testCase.name)", configuration: config) { benchmark in
            let (inflater, batch) = zlibDecompressor.value
            batch.refill(ops)
            var total = 0
            benchmark.startMeasurement()
            for index in 0..<ops {
                total &+= inflater.inflateMessage(batch.message(index, withTail: true))
            }
            benchmark.stopMeasurement()
            precondition(total == ops * testCase.size, "inflated \(total) bytes")
        }

        // (c) a whole round through two Connections
        let connections = Lazy { () -> (Connection, Connection, Cursor, Received) in
            let (client, server, received) = connectionPair(testCase, pool.value)
            return (client, server, Cursor(pool.value), received)
        }
        Benchmark("Deflate round/\(testCase.name)", configuration: config) { benchmark in
            let (client, server, cursor, received) = connections.value
            let before = received.bytes
            benchmark.startMeasurement()
            for _ in 0..<ops {
                client.send(testCase.opcode, payload: cursor.next())
                client.takeOutput { server.receive($0) }
            }
            benchmark.stopMeasurement()
            precondition(received.bytes &- before == ops * testCase.size)
        }

        let zlibPair = Lazy { () -> (ZlibDeflater, ZlibInflater, Cursor) in
            let deflater = ZlibDeflater()
            let inflater = ZlibInflater()
            let cursor = Cursor(pool.value)
            for _ in 0..<testCase.poolSize {
                let size = deflater.deflateMessage(cursor.next())
                precondition(inflater.inflateMessage(UnsafeRawBufferPointer(rebasing: deflater.output[..<size])) == testCase.size)
            }
            return (deflater, inflater, cursor)
        }
        Benchmark("zlib round/\(testCase.name)", configuration: config) { benchmark in
            let (deflater, inflater, cursor) = zlibPair.value
            var total = 0
            benchmark.startMeasurement()
            for _ in 0..<ops {
                let size = deflater.deflateMessage(cursor.next())
                total &+= inflater.inflateMessage(UnsafeRawBufferPointer(rebasing: deflater.output[..<size]))
            }
            benchmark.stopMeasurement()
            precondition(total == ops * testCase.size)
        }

        // (d) the same comparisons, paired
        var pairedConfig = config
        pairedConfig.metrics += [pairedOurs, pairedZlib]

        let compressPair = Lazy { () -> (PerMessageDeflate, Box<[UInt8]>, ZlibDeflater, Cursor, Turn) in
            let codec = PerMessageDeflate(parameters: DeflateParameters(), role: .server)
            let output = Box<[UInt8]>([])
            let deflater = ZlibDeflater()
            for message in pool.value {
                precondition(codec.compress(message, into: &output.value))
                let size = deflater.deflateMessage(message)
                precondition(output.value.elementsEqual(deflater.output[..<(size - 4)]), "not what zlib produces")
            }
            return (codec, output, deflater, Cursor(pool.value), Turn())
        }
        Benchmark("Paired deflate compress/\(testCase.name)", configuration: pairedConfig) { benchmark in
            let (codec, box, deflater, cursor, turn) = compressPair.value
            var output = box.take()
            let first = cursor.index
            var ours = 0, theirs = 0
            paired(benchmark, ops: ops, turn: turn, ours: {
                cursor.index = first
                for _ in 0..<ops {
                    _ = codec.compress(cursor.next(), into: &output)
                    ours &+= output.count
                }
            }, zlib: {
                cursor.index = first
                for _ in 0..<ops { theirs &+= deflater.deflateMessage(cursor.next()) }
            })
            precondition(ours == theirs - 4 * ops, "the two compressors drifted apart")
            box.value = output
        }

        let decompressPair = Lazy { () -> (PerMessageDeflate, Box<[UInt8]>, ZlibInflater, CompressedBatch, Turn) in
            let codec = PerMessageDeflate(parameters: DeflateParameters(), role: .client)
            let output = Box<[UInt8]>([])
            let inflater = ZlibInflater()
            let batch = CompressedBatch(pool.value, capacity: ops)
            for _ in 0..<max(1, testCase.poolSize / ops) {
                batch.refill(ops)
                for index in 0..<ops {
                    let failure = codec.decompress(batch.message(index, withTail: false), isFinal: true,
                                                   into: &output.value, limit: Int.max)
                    precondition(failure == nil && output.value.count == testCase.size)
                    output.value.removeAll(keepingCapacity: true)
                    precondition(inflater.inflateMessage(batch.message(index, withTail: true)) == testCase.size)
                }
            }
            return (codec, output, inflater, batch, Turn())
        }
        Benchmark("Paired deflate decompress/\(testCase.name)", configuration: pairedConfig) { benchmark in
            let (codec, box, inflater, batch, turn) = decompressPair.value
            var output = box.take()
            batch.refill(ops)
            var ours = 0, theirs = 0
            paired(benchmark, ops: ops, turn: turn, ours: {
                for index in 0..<ops {
                    _ = codec.decompress(batch.message(index, withTail: false), isFinal: true, into: &output, limit: Int.max)
                    ours &+= output.count
                    output.removeAll(keepingCapacity: true)
                }
            }, zlib: {
                for index in 0..<ops { theirs &+= inflater.inflateMessage(batch.message(index, withTail: true)) }
            })
            precondition(ours == ops * testCase.size && theirs == ours)
            box.value = output
        }

        let roundPair = Lazy { () -> (Connection, Connection, Received, ZlibDeflater, ZlibInflater, Cursor, Turn) in
            let (client, server, received) = connectionPair(testCase, pool.value)
            let deflater = ZlibDeflater()
            let inflater = ZlibInflater()
            for message in pool.value {
                let size = deflater.deflateMessage(message)
                precondition(inflater.inflateMessage(UnsafeRawBufferPointer(rebasing: deflater.output[..<size])) == testCase.size)
            }
            return (client, server, received, deflater, inflater, Cursor(pool.value), Turn())
        }
        Benchmark("Paired deflate round/\(testCase.name)", configuration: pairedConfig) { benchmark in
            let (client, server, received, deflater, inflater, cursor, turn) = roundPair.value
            let first = cursor.index
            let before = received.bytes
            var theirs = 0
            paired(benchmark, ops: ops, turn: turn, ours: {
                cursor.index = first
                for _ in 0..<ops {
                    client.send(testCase.opcode, payload: cursor.next())
                    client.takeOutput { server.receive($0) }
                }
            }, zlib: {
                cursor.index = first
                for _ in 0..<ops {
                    let size = deflater.deflateMessage(cursor.next())
                    theirs &+= inflater.inflateMessage(UnsafeRawBufferPointer(rebasing: deflater.output[..<size]))
                }
            })
            precondition(received.bytes &- before == ops * testCase.size && theirs == ops * testCase.size)
        }
    }
}
