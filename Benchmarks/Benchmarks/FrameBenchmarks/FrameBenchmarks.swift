// Whole frames. One operation = one frame.
//
// Read: a stream of masked client frames (as a server receives them) in one buffer; per
// frame: Header.decode, the RFC checks (Header.violation), Cipher.mask over the payload in
// place. NIO decodes the same bytes with WebSocketFrameDecoder.decode(context:buffer:) and
// unmasks each frame with the public WebSocketFrame.unmaskedData (NIO cannot unmask in
// place: the payload slice shares storage with the input buffer, so unmasking copies).
//
// Write: masked client frames (fixed keys, so key generation is not measured). Ours:
// Header.encode + copy of the payload + Cipher.mask into a preallocated raw buffer, and
// Frame.write appending to a [UInt8] whose capacity is reused. NIO: prebuilt
// WebSocketFrames (payload = zero-copy slice of one buffer, mask key set) through
// WebSocketFrameEncoder.write(context:data:promise:); building the frames is not measured.

import Benchmark
import BenchmarkSupport
import NIOCore
import NIOWebSocket
import WebSocket

nonisolated(unsafe) let payloadSizes: [(name: String, bytes: Int, ops: BenchmarkScalingFactor)] = [
    ("16B", 16, .kilo), ("1KiB", 1 << 10, .kilo), ("64KiB", 64 << 10, .one),
]

let benchmarks: @Sendable () -> Void = {
    for (name, size, ops) in payloadSizes {
        let frames = ops.rawValue
        let config = configuration(ops: ops, bytesPerOp: size)
        let form: LengthForm = size < 126 ? .short : size <= 0xFFFF ? .medium : .long

        // MARK: Read
        let stream = Lazy { copyToBuffer(frameStream(count: frames, payloadSize: size, form: form, masked: true)) }
        Benchmark("Frame read/\(name)", configuration: config) { benchmark in
            let bytes = stream.value
            var checksum: UInt64 = 0
            var offset = 0
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                guard case .header(let header, let size) = Header.decode(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
                else { fatalError("stream is complete") }
                if let violation = header.violation(receivedBy: .server, headerSize: size) {
                    fatalError("\(violation)")
                }
                let start = offset &+ size
                let end = start &+ Int(truncatingIfNeeded: header.length)
                let payload = UnsafeMutableRawBufferPointer(rebasing: bytes[start..<end])
                if header.masked { Cipher.mask(payload, key: header.maskKey) }
                checksum &+= UInt64(payload[payload.count &- 1]) ^ UInt64(header.opcode.rawValue)
                offset = end
            }
            benchmark.stopMeasurement()
            precondition(offset == bytes.count)
            blackHole(checksum)
        }

        let nioStream = Lazy { byteBuffer(frameStream(count: frames, payloadSize: size, form: form, masked: true)) }
        let decoder = Lazy { NIODecoderRig(unmask: true) }
        Benchmark("NIO read/\(name)", configuration: config) { benchmark in
            let rig = decoder.value
            let buffer = nioStream.value
            let before = rig.sink.frames
            benchmark.startMeasurement()
            rig.decodeAll(buffer)
            benchmark.stopMeasurement()
            precondition(rig.sink.frames - before == frames)
            blackHole(rig.sink.checksum)
        }

        // MARK: Write
        let payload = Lazy { makeBuffer(count: size) }
        let keys = Lazy { (0..<frames).map { UInt32(truncatingIfNeeded: $0 &* 0x9E37_79B9 | 1) } }
        let output = Lazy { makeBuffer(count: frames * (size + Header.maximumSize)) }
        Benchmark("Frame write raw/\(name)", configuration: config) { benchmark in
            let payload = UnsafeRawBufferPointer(payload.value)
            let keys = keys.value
            let output = output.value
            var offset = 0
            benchmark.startMeasurement()
            for index in benchmark.scaledIterations {
                let header = Header(opcode: .binary, masked: true, maskKey: keys[index], length: UInt64(payload.count))
                let headerSize = header.encode(into: UnsafeMutableRawBufferPointer(rebasing: output[offset...]))
                let body = UnsafeMutableRawBufferPointer(rebasing: output[(offset &+ headerSize)..<(offset &+ headerSize &+ payload.count)])
                body.copyMemory(from: payload)
                Cipher.mask(body, key: header.maskKey)
                offset &+= headerSize &+ payload.count
            }
            benchmark.stopMeasurement()
            blackHole(output.baseAddress)
            blackHole(offset)
        }

        let array = Lazy { () -> Box<[UInt8]> in
            let box = Box([UInt8]())
            box.value.reserveCapacity(frames * (size + Header.maximumSize))
            return box
        }
        Benchmark("Frame.write [UInt8]/\(name)", configuration: config) { benchmark in
            let payload = UnsafeRawBufferPointer(payload.value)
            let keys = keys.value
            let box = array.value
            var output = box.take()
            output.removeAll(keepingCapacity: true)
            benchmark.startMeasurement()
            for index in benchmark.scaledIterations {
                Frame.write(header: Header(opcode: .binary, masked: true, maskKey: keys[index]), payload: payload, into: &output)
            }
            benchmark.stopMeasurement()
            blackHole(output.count)
            box.value = output
        }

        let nioFrames = Lazy { () -> [WebSocketFrame] in
            let data = byteBuffer([UInt8](repeating: 0x41, count: size))
            return (0..<frames).map { index in
                WebSocketFrame(fin: true, opcode: .binary, maskKey: withUnsafeBytes(of: keys.value[index]) { WebSocketMaskingKey($0)! },
                               data: data.getSlice(at: 0, length: size)!)
            }
        }
        let encoder = Lazy { NIOEncoderRig() }
        Benchmark("NIO write/\(name)", configuration: config) { benchmark in
            let rig = encoder.value
            let frames = nioFrames.value
            benchmark.startMeasurement()
            for index in benchmark.scaledIterations {
                rig.write(frames[index])
            }
            benchmark.stopMeasurement()
            blackHole(rig.sink.bytes)
        }
    }
}
