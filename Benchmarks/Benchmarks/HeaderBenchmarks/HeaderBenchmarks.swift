// Header decode and encode, per operation (1000 operations per iteration: the reported
// per-iteration numbers divided by 1000 are ns/op and mallocs/op; `--scale` shows them).
//
// Decode walks a stream of 1000 consecutive masked frame headers (payload length 0, the
// length written in the named form), exactly what a reader does: decode, skip the frame,
// decode the next. NIO decodes the same bytes with WebSocketFrameDecoder.decode(context:buffer:)
// on one ByteBuffer (see NIODecoderRig).
//
// Encode writes 1000 headers (fields read from a prebuilt array, so nothing is loop
// invariant) back to back into a preallocated buffer. NIO encodes unmasked frames whose
// payloads are zero-copy slices of one buffer (so it never touches payload bytes either)
// with WebSocketFrameEncoder.write(context:data:promise:).

import Benchmark
import BenchmarkSupport
import NIOCore
import NIOWebSocket
import WebSocket

let opsPerIteration = 1000

/// 0 or 1 without a branch, so that folding flags into the checksum costs no mispredicts.
@inline(__always) func bit(_ value: Bool) -> UInt8 { unsafeBitCast(value, to: UInt8.self) }

/// Payload length that needs the given form minimally (used for encode).
func minimalLength(_ form: LengthForm, index: Int) -> UInt64 {
    switch form {
    case .short: return UInt64(index % 126)
    case .medium: return UInt64(126 + index % 60_000)
    case .long: return UInt64(65_536 + index % 100_000)
    }
}

let benchmarks: @Sendable () -> Void = {
    // Measures the harness itself: an empty measured region (its mallocs are the floor
    // every other result includes once per iteration).
    Benchmark("Harness/empty", configuration: configuration(ops: .kilo)) { benchmark in
        benchmark.startMeasurement()
        benchmark.stopMeasurement()
    }

    for form in LengthForm.allCases {
        let stream = Lazy {
            copyToBuffer(frameStream(count: opsPerIteration, payloadSize: 0, form: form, masked: true))
        }
        Benchmark("Header.decode/\(form.rawValue) masked", configuration: configuration(ops: .kilo)) { benchmark in
            let bytes = UnsafeRawBufferPointer(stream.value)
            var checksum: UInt64 = 0
            var offset = 0
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                switch Header.decode(UnsafeRawBufferPointer(rebasing: bytes[offset...])) {
                case .header(let header, let size):
                    checksum &+= UInt64(header.maskKey) ^ header.length ^ UInt64(header.opcode.rawValue)
                        ^ UInt64(bit(header.fin)) << 8 ^ UInt64(bit(header.rsv1)) << 9 ^ UInt64(bit(header.masked)) << 10
                    offset &+= size &+ Int(truncatingIfNeeded: header.length)
                case .needMore:
                    fatalError("stream is complete")
                }
            }
            benchmark.stopMeasurement()
            precondition(offset == bytes.count)
            blackHole(checksum)
        }

        let nioStream = Lazy {
            byteBuffer(frameStream(count: opsPerIteration, payloadSize: 0, form: form, masked: true))
        }
        let decoder = Lazy { NIODecoderRig(unmask: false) }
        Benchmark("NIO decode/\(form.rawValue) masked", configuration: configuration(ops: .kilo)) { benchmark in
            let rig = decoder.value
            let buffer = nioStream.value
            let before = rig.sink.frames
            benchmark.startMeasurement()
            rig.decodeAll(buffer)
            benchmark.stopMeasurement()
            precondition(rig.sink.frames - before == opsPerIteration)
            blackHole(rig.sink.checksum)
        }
    }

    for form in LengthForm.allCases {
        for masked in [true, false] {
            let headers = Lazy { () -> UnsafeMutableBufferPointer<Header> in
                let headers = UnsafeMutableBufferPointer<Header>.allocate(capacity: opsPerIteration)
                for index in 0..<opsPerIteration {
                    headers[index] = Header(
                        fin: index % 7 != 0, opcode: index % 2 == 0 ? .binary : .text, masked: masked,
                        maskKey: masked ? UInt32(truncatingIfNeeded: index &* 0x9E37_79B9) : 0,
                        length: minimalLength(form, index: index))
                }
                return headers
            }
            let output = Lazy { makeBuffer(count: opsPerIteration * Header.maximumSize) }
            let role = masked ? "masked" : "unmasked"
            Benchmark("Header.encode/\(form.rawValue) \(role)", configuration: configuration(ops: .kilo)) { benchmark in
                let headers = UnsafeBufferPointer(headers.value)
                let output = output.value
                var offset = 0
                benchmark.startMeasurement()
                for index in benchmark.scaledIterations {
                    let written = headers[index].encode(into: UnsafeMutableRawBufferPointer(rebasing: output[offset...]))
                    offset &+= written
                }
                benchmark.stopMeasurement()
                precondition(offset > 0)
                blackHole(output.baseAddress)
                blackHole(offset)
            }
        }

        let frames = Lazy { () -> [WebSocketFrame] in
            let longest = (0..<opsPerIteration).map { Int(minimalLength(form, index: $0)) }.max()!
            let payload = byteBuffer([UInt8](repeating: 0x41, count: longest))
            return (0..<opsPerIteration).map { index in
                WebSocketFrame(
                    fin: index % 7 != 0, opcode: index % 2 == 0 ? .binary : .text,
                    data: payload.getSlice(at: 0, length: Int(minimalLength(form, index: index)))!)
            }
        }
        let encoder = Lazy { NIOEncoderRig() }
        Benchmark("NIO encode/\(form.rawValue) unmasked", configuration: configuration(ops: .kilo)) { benchmark in
            let rig = encoder.value
            let frames = frames.value
            benchmark.startMeasurement()
            for index in benchmark.scaledIterations {
                rig.write(frames[index])
            }
            benchmark.stopMeasurement()
            blackHole(rig.sink.bytes)
        }
    }
}
