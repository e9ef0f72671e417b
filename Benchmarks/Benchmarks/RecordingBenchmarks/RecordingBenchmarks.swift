// Recordings (`--record FILE`, `wscope dump`). One operation = one frame event.
//
// The events: frames alternating sent (masked with a varying key, as a client sends them)
// and received (unmasked), with 16-byte and 4 KiB payloads, text (JSON-like ASCII) or
// binary (pseudo-random bytes, which is the worst case for the base64 in the format).
//
// Write: `RecordingWriter` with the options `--record` uses (one write(2) per event, wire
// bytes compacted to "wire_header" above 1 KiB) into a file under the temporary directory;
// opening the file and writing the header line are not measured, closing it is. Reported
// with the custom metric "disk bytes per 1000 payload bytes". References, same events,
// same file, one write(2) per line: `JSONEncoder` on a Codable struct with the same fields
// (Data payloads become base64; "wire" on every frame, as a plain encoder cannot compact),
// and `plain write(2)` of the very lines our writer produces (the floor: the system calls
// alone).
//
// Read: files written beforehand by `RecordingWriter` with `--record`'s options. Each
// iteration opens the file and goes through all of it (1000 frames, or 1,000,000 for
// the `1M` variants): `Recording read` calls `RecordingReader.next()` (an event with its
// payload and wire arrays per frame); `Recording dump --json` runs exactly what
// `wscope dump FILE --json` runs (`RecordingReader(path:)` + `RecordingDump.writeJSON`) into
// /dev/null. References on the same file: `JSONDecoder` decoding each line into the
// Codable struct (and rebuilding the wire bytes of "wire_header" lines, as our reader
// does), `JSONSerialization` parsing each line and serialising it again into /dev/null (a
// Foundation-based `dump --json` that does nothing else), and `plain read(2)`: the file
// read in 1 MiB chunks, lines counted with memchr, chunks written to /dev/null (`cat`).

import Benchmark
import BenchmarkSupport
import Foundation
import Inspector
import WebSocket

let diskRatio = BenchmarkMetric.custom("disk bytes per 1000 payload bytes", polarity: .prefersSmaller, useScalingFactor: false)

struct Case {
    var name: String
    var size: Int
    var binary: Bool
    var ops: BenchmarkScalingFactor
}

nonisolated(unsafe) let cases: [Case] = [
    Case(name: "16B text", size: 16, binary: false, ops: .kilo),
    Case(name: "16B binary", size: 16, binary: true, ops: .kilo),
    Case(name: "4KiB text", size: 4096, binary: false, ops: .kilo),
    Case(name: "4KiB binary", size: 4096, binary: true, ops: .kilo),
]

/// A benchmark's configuration: few warm-up iterations, since one iteration of the 1M
/// variants takes a good part of a second.
func recordingConfiguration(ops: BenchmarkScalingFactor, bytesPerOp: Int, extra: [BenchmarkMetric] = []) -> Benchmark.Configuration {
    .init(
        metrics: standardMetrics + extra,
        tags: ["ops": "\(ops.rawValue)", "bytes": "\(bytesPerOp)"],
        timeUnits: .nanoseconds,
        warmupIterations: ops == .mega ? 1 : 5,
        scalingFactor: ops,
        maxDuration: .seconds(ops == .mega ? 6 : 2),
        maxIterations: 100_000
    )
}

// MARK: - Inputs

/// Deterministic pseudo-random bytes (xorshift64*).
struct Noise {
    var state: UInt64
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
}

let textSource = Array(#"{"id":1234,"event":"trade","symbol":"BTC-USD","price":"67012.50","size":"0.0125","side":"buy","ts":1732500000123} "#.utf8)

func payload(_ testCase: Case, index: Int, noise: inout Noise) -> [UInt8] {
    if testCase.binary {
        return (0..<testCase.size).map { _ in UInt8(truncatingIfNeeded: noise.next() >> 56) }
    }
    let offset = (index &* 7) % textSource.count
    return (0..<testCase.size).map { textSource[(offset + $0) % textSource.count] }
}

/// `count` frame events, even ones sent (masked), odd ones received; their times in ns.
func makeEvents(_ testCase: Case, count: Int) -> [SessionEvent] {
    var noise = Noise(state: 0x9E37_79B9_7F4A_7C15 ^ UInt64(testCase.size))
    return (0..<count).map { index in
        let bytes = payload(testCase, index: index, noise: &noise)
        let outgoing = index % 2 == 0
        let header = Header(
            opcode: testCase.binary ? .binary : .text, masked: outgoing,
            maskKey: outgoing ? UInt32(truncatingIfNeeded: noise.next()) | 1 : 0, length: UInt64(bytes.count))
        return .frame(
            connection: 1, direction: outgoing ? .outgoing : .incoming, header: header, payload: bytes,
            wire: Frame(header: header, payload: bytes).wireBytes())
    }
}

func eventTime(_ index: Int) -> UInt64 { UInt64(index) &* 1_234 &+ 5_000 }

let benchmarkHeader = RecordingHeader(
    mode: "connect", endpoint: "ws://127.0.0.1:9001/", start: "2026-11-25T10:00:00.000000Z")

let directory: String = {
    let path = NSTemporaryDirectory() + "wscope-bench-\(getpid())"
    mkdir(path, 0o755)
    atexit {
        // Remove the recordings this process wrote (hundreds of MB for the 1M variants).
        let path = NSTemporaryDirectory() + "wscope-bench-\(getpid())"
        try? FileManager.default.removeItem(atPath: path)
    }
    return path
}()

func fileName(_ testCase: Case, count: Int, _ what: String) -> String {
    directory + "/" + testCase.name.replacingOccurrences(of: " ", with: "-") + "-\(count)-\(what).jsonl"
}

/// A recording of `count` events written by `RecordingWriter` with `--record`'s options.
func recordingFile(_ testCase: Case, count: Int) -> String {
    let path = fileName(testCase, count: count, "recording")
    if access(path, F_OK) == 0 { return path }
    do {
        let writer = try RecordingWriter(
            path: path, header: benchmarkHeader, startMonotonicNanoseconds: 0,
            options: .init(flush: .interval(milliseconds: 1000)))
        var noise = Noise(state: 0x9E37_79B9_7F4A_7C15 ^ UInt64(testCase.size))
        for index in 0..<count {
            // Built one by one: a million events at once would be the memory of the file.
            let bytes = payload(testCase, index: index, noise: &noise)
            let outgoing = index % 2 == 0
            let header = Header(
                opcode: testCase.binary ? .binary : .text, masked: outgoing,
                maskKey: outgoing ? UInt32(truncatingIfNeeded: noise.next()) | 1 : 0, length: UInt64(bytes.count))
            try writer.write(
                .frame(connection: 1, direction: outgoing ? .outgoing : .incoming, header: header, payload: bytes,
                       wire: Frame(header: header, payload: bytes).wireBytes()),
                tNs: eventTime(index))
        }
        try writer.close()
    } catch {
        fatalError("cannot write \(path): \(error)")
    }
    return path
}

let devNull: Int32 = open("/dev/null", O_WRONLY)

// MARK: - Foundation reference

/// The frame line's fields as a Codable struct, in the format's key order.
struct FrameLine: Codable {
    var type: String
    var conn: Int
    var dir: String
    var t_ns: UInt64
    var fin: Bool
    var rsv1: Bool
    var rsv2: Bool
    var rsv3: Bool
    var opcode: Int
    var masked: Bool
    var mask: String?
    var length: UInt64
    var payload: Data
    var wire: Data?
    var wire_header: Data?
}

let hexDigits = Array("0123456789abcdef".utf8)

func frameLine(_ event: SessionEvent, tNs: UInt64) -> FrameLine {
    guard case .frame(let conn, let direction, let header, let payload, let wire) = event else { fatalError("frames only") }
    var mask: String?
    if header.masked {
        var text: [UInt8] = []
        withUnsafeBytes(of: header.maskKey) { key in
            for byte in key { text += [hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 15)]] }
        }
        mask = String(decoding: text, as: UTF8.self)
    }
    return FrameLine(
        type: "frame", conn: conn, dir: direction.rawValue, t_ns: tNs, fin: header.fin, rsv1: header.rsv1,
        rsv2: header.rsv2, rsv3: header.rsv3, opcode: Int(header.opcode.rawValue), masked: header.masked, mask: mask,
        length: header.length, payload: Data(payload), wire: Data(wire), wire_header: nil)
}

/// The event a decoded line stands for, wire bytes rebuilt from "wire_header" as the
/// recording reader does.
func event(_ line: FrameLine) -> SessionEvent {
    let payload = [UInt8](line.payload)
    var key: UInt32 = 0
    if let mask = line.mask, let value = UInt32(mask, radix: 16) { key = value.bigEndian }
    let header = Header(
        fin: line.fin, rsv1: line.rsv1, rsv2: line.rsv2, rsv3: line.rsv3, opcode: OpCode(nibble: UInt8(line.opcode & 15)),
        masked: line.masked, maskKey: key, length: line.length)
    var wire: [UInt8]
    if let full = line.wire {
        wire = [UInt8](full)
    } else {
        wire = [UInt8](line.wire_header ?? Data())
        let start = wire.count
        wire += payload
        if header.masked { wire.withUnsafeMutableBytes { Cipher.mask(UnsafeMutableRawBufferPointer(rebasing: $0[start...]), key: key) } }
    }
    return .frame(connection: line.conn, direction: line.dir == "in" ? .incoming : .outgoing, header: header, payload: payload, wire: wire)
}

/// Calls `body` with each line of the file (read in 1 MiB chunks, as our reader does).
func forEachLine(_ path: String, _ body: (UnsafeRawBufferPointer) -> Void) {
    let fd = open(path, O_RDONLY)
    precondition(fd >= 0)
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 2 << 20)
    var start = 0, end = 0
    buffer.withUnsafeMutableBytes { raw in
        let base = raw.baseAddress!
        while true {
            if start > 0 {
                memmove(base, base + start, end - start)
                end -= start
                start = 0
            }
            let n = read(fd, base + end, raw.count - end)
            precondition(n >= 0)
            if n == 0 { break }
            end += n
            while let found = memchr(base + start, 0x0A, end - start) {
                let index = UnsafeMutableRawPointer(found) - base
                body(UnsafeRawBufferPointer(start: base + start, count: index - start))
                start = index + 1
            }
        }
    }
}

final class Sink: @unchecked Sendable {
    var frames = 0
    var checksum = 0
}

// MARK: - Benchmarks

let benchmarks: @Sendable () -> Void = {
    for testCase in cases {
        let frames = testCase.ops.rawValue
        let payloadBytes = frames * testCase.size
        let events = Lazy { makeEvents(testCase, count: frames) }

        // MARK: Write
        var config = recordingConfiguration(ops: testCase.ops, bytesPerOp: testCase.size, extra: [diskRatio])
        let writePath = fileName(testCase, count: frames, "write")
        Benchmark("Recording write/\(testCase.name)", configuration: config) { benchmark in
            let events = events.value
            let writer = try! RecordingWriter(path: writePath, header: benchmarkHeader, startMonotonicNanoseconds: 0)
            let headerBytes = writer.bytesWritten
            benchmark.startMeasurement()
            for index in benchmark.scaledIterations {
                try! writer.write(events[index], tNs: eventTime(index))
            }
            try! writer.close()
            benchmark.stopMeasurement()
            benchmark.measurement(diskRatio, (writer.bytesWritten - headerBytes) * 1000 / payloadBytes)
        }

        let encoder = Lazy { () -> JSONEncoder in
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes]
            return encoder
        }
        Benchmark("JSONEncoder write/\(testCase.name)", configuration: config) { benchmark in
            let events = events.value
            let encoder = encoder.value
            let fd = open(writePath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0o644)
            var written = 0
            benchmark.startMeasurement()
            for index in benchmark.scaledIterations {
                var data = try! encoder.encode(frameLine(events[index], tNs: eventTime(index)))
                data.append(0x0A)
                written += data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            }
            close(fd)
            benchmark.stopMeasurement()
            benchmark.measurement(diskRatio, written * 1000 / payloadBytes)
        }

        // The lines our writer produces, one buffer each.
        let lines = Lazy { () -> [[UInt8]] in
            events.value.enumerated().map { index, event in
                Array((RecordingFormat.line(for: event, tNs: eventTime(index), wire: .default) + "\n").utf8)
            }
        }
        Benchmark("Plain write/\(testCase.name)", configuration: config) { benchmark in
            let lines = lines.value
            let fd = open(writePath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0o644)
            var written = 0
            benchmark.startMeasurement()
            for index in benchmark.scaledIterations {
                written += lines[index].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            }
            close(fd)
            benchmark.stopMeasurement()
            benchmark.measurement(diskRatio, written * 1000 / payloadBytes)
        }

        // MARK: Read
        config = recordingConfiguration(ops: testCase.ops, bytesPerOp: testCase.size)
        let file = Lazy { recordingFile(testCase, count: frames) }
        Benchmark("Recording read/\(testCase.name)", configuration: config) { benchmark in
            let path = file.value
            var count = 0
            var checksum = 0
            benchmark.startMeasurement()
            let reader = try! RecordingReader(path: path)
            while let recorded = try! reader.next() {
                if case .frame(_, _, _, let payload, let wire) = recorded.event { checksum &+= payload.count &+ wire.count }
                count += 1
            }
            benchmark.stopMeasurement()
            precondition(count == frames)
            blackHole(checksum)
        }

        Benchmark("Recording dump --json/\(testCase.name)", configuration: config) { benchmark in
            let path = file.value
            benchmark.startMeasurement()
            let reader = try! RecordingReader(path: path)
            let summary = try! RecordingDump.writeJSON(from: reader, to: devNull)
            benchmark.stopMeasurement()
            precondition(summary.events == frames && summary.warnings.isEmpty)
        }

        let decoder = Lazy { JSONDecoder() }
        Benchmark("JSONDecoder read/\(testCase.name)", configuration: config) { benchmark in
            let path = file.value
            let decoder = decoder.value
            var count = 0
            var checksum = 0
            var first = true
            benchmark.startMeasurement()
            forEachLine(path) { line in
                if first {
                    first = false  // the header line
                    return
                }
                let decoded = try! decoder.decode(FrameLine.self, from: Data(line))
                if case .frame(_, _, _, let payload, let wire) = event(decoded) { checksum &+= payload.count &+ wire.count }
                count += 1
            }
            benchmark.stopMeasurement()
            precondition(count == frames)
            blackHole(checksum)
        }

        Benchmark("JSONSerialization dump/\(testCase.name)", configuration: config) { benchmark in
            let path = file.value
            var count = 0
            benchmark.startMeasurement()
            forEachLine(path) { line in
                let object = try! JSONSerialization.jsonObject(with: Data(line))
                var data = try! JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])
                data.append(0x0A)
                _ = data.withUnsafeBytes { write(devNull, $0.baseAddress, $0.count) }
                count += 1
            }
            benchmark.stopMeasurement()
            precondition(count == frames + 1)
        }

        Benchmark("Plain read/\(testCase.name)", configuration: config) { benchmark in
            let path = file.value
            var count = 0
            benchmark.startMeasurement()
            count = plainRead(path)
            benchmark.stopMeasurement()
            precondition(count == frames + 1)
        }
    }

    // The goal of issue #4: a million small frames a second through `dump --json`.
    let million = Case(name: "16B text", size: 16, binary: false, ops: .mega)
    let config = recordingConfiguration(ops: .mega, bytesPerOp: million.size)
    let bigFile = Lazy { recordingFile(million, count: million.ops.rawValue) }
    Benchmark("Recording dump --json 1M/\(million.name)", configuration: config) { benchmark in
        let path = bigFile.value
        benchmark.startMeasurement()
        let reader = try! RecordingReader(path: path)
        let summary = try! RecordingDump.writeJSON(from: reader, to: devNull)
        benchmark.stopMeasurement()
        precondition(summary.events == million.ops.rawValue && summary.warnings.isEmpty)
    }
    Benchmark("Plain read 1M/\(million.name)", configuration: config) { benchmark in
        let path = bigFile.value
        benchmark.startMeasurement()
        let count = plainRead(path)
        benchmark.stopMeasurement()
        precondition(count == million.ops.rawValue + 1)
    }
}

/// `cat FILE > /dev/null` that also counts lines: the floor of any reader.
func plainRead(_ path: String) -> Int {
    let fd = open(path, O_RDONLY)
    precondition(fd >= 0)
    defer { close(fd) }
    let chunk = 1 << 20
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 16)
    defer { buffer.deallocate() }
    var lines = 0
    while true {
        let n = read(fd, buffer, chunk)
        precondition(n >= 0)
        if n == 0 { break }
        var position = buffer
        let end = buffer + n
        while let found = memchr(position, 0x0A, end - position) {
            lines += 1
            position = UnsafeMutableRawPointer(found) + 1
        }
        _ = write(devNull, buffer, n)
    }
    return lines
}
