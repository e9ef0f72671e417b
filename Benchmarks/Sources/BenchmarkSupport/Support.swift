// Shared helpers for the benchmark targets: input builders (run before the measured region)
// and the NIO plumbing used for the comparisons. Hot loops live in the benchmark targets
// themselves so that the library's @inlinable code is specialised there.

import Benchmark
import NIOCore
import NIOEmbedded
import NIOWebSocket
import WebSocket

// MARK: - Metrics

/// Every benchmark reports time, throughput and allocations; `run.sh` reads these.
public let standardMetrics: [BenchmarkMetric] = [.wallClock, .throughput, .mallocCountTotal]

/// One iteration runs `scalingFactor` operations; results are reported per iteration and
/// `run.sh` divides by the factor (also recorded in the benchmark's `ops` tag).
public func configuration(
    ops: BenchmarkScalingFactor, maxDuration: Duration = .seconds(1), bytesPerOp: Int = 0
) -> Benchmark.Configuration {
    .init(
        metrics: standardMetrics,
        tags: ["ops": "\(ops.rawValue)", "bytes": "\(bytesPerOp)"],
        timeUnits: .nanoseconds,
        warmupIterations: 20,
        scalingFactor: ops,
        maxDuration: maxDuration,
        maxIterations: 1_000_000
    )
}

// MARK: - Buffers

/// A page-aligned buffer that lives for the whole process (inputs are built once, outside
/// the measured region, and never freed while benchmarks run).
public func makeBuffer(count: Int, fill: (Int) -> UInt8 = { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
    -> UnsafeMutableRawBufferPointer
{
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 4096)
    for index in 0..<count { buffer[index] = fill(index) }
    return UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
}

public let benchmarkMaskKey = Header.maskKey(0x37, 0xFA, 0x21, 0x3D)

/// How the length field of generated frames is written.
public enum LengthForm: String, CaseIterable, Sendable {
    /// 7-bit length in the second byte.
    case short = "7bit"
    /// 126 + 16-bit length.
    case medium = "16bit"
    /// 127 + 64-bit length.
    case long = "64bit"

    public var encoding: LengthEncoding {
        switch self {
        case .short: return .minimal
        case .medium: return .extended16
        case .long: return .extended64
        }
    }
}

/// The wire bytes of `count` consecutive binary frames with `payloadSize`-byte payloads
/// whose length field uses `form` (non-minimal when the payload is smaller than the form
/// requires: header decoders in both libraries are lenient about that, and it lets a
/// "64-bit header" stream stay small and cache resident). Masked with `benchmarkMaskKey`
/// when `masked`.
public func frameStream(count: Int, payloadSize: Int, form: LengthForm, masked: Bool) -> [UInt8] {
    var bytes: [UInt8] = []
    for index in 0..<count {
        let payload = (0..<payloadSize).map { UInt8(truncatingIfNeeded: $0 &+ index) }
        let frame = Frame(
            header: Header(opcode: .binary, masked: masked, maskKey: masked ? benchmarkMaskKey : 0,
                           length: UInt64(payloadSize)),
            payload: payload
        )
        bytes += frame.wireBytes(lengthEncoding: form.encoding)
    }
    return bytes
}

public func copyToBuffer(_ bytes: [UInt8]) -> UnsafeMutableRawBufferPointer {
    let buffer = makeBuffer(count: bytes.count)
    bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
    return buffer
}

// MARK: - NIO plumbing

/// Terminates the inbound side: consumes decoded frames without storing them, so that
/// nothing accumulates in the EmbeddedChannel. Optionally unmasks the payload through
/// NIO's public `WebSocketFrame.unmaskedData`.
public final class FrameSink: ChannelInboundHandler {
    public typealias InboundIn = WebSocketFrame
    public var frames = 0
    public var bytes = 0
    /// Folds in the decoded fields (same idea as the checksum in our own loops) so that the
    /// work is observable without an opaque call per frame.
    public var checksum: UInt64 = 0
    public var unmask = false

    public init(unmask: Bool = false) { self.unmask = unmask }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = Self.unwrapInboundIn(data)
        frames &+= 1
        var key: UInt64 = 0
        if let maskKey = frame.maskKey { key = UInt64(maskKey[0]) | UInt64(maskKey[3]) << 24 }
        checksum &+= UInt64(UInt8(webSocketOpcode: frame.opcode)) ^ (frame.fin ? 0x80 : 0) ^ UInt64(frame.length) ^ key
        if unmask {
            let payload = frame.unmaskedData
            bytes &+= payload.readableBytes
            if let last = payload.getInteger(at: payload.readerIndex &+ payload.readableBytes &- 1, as: UInt8.self) {
                checksum &+= UInt64(last)
            }
        } else {
            bytes &+= frame.length
        }
    }
}

/// Terminates the outbound side: swallows the encoder's ByteBuffers.
public final class ByteSink: ChannelOutboundHandler {
    public typealias OutboundIn = ByteBuffer
    public var bytes = 0
    public var writes = 0

    public init() {}

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let buffer = Self.unwrapOutboundIn(data)
        bytes &+= buffer.readableBytes
        writes &+= 1
        blackHole(buffer)
        promise?.succeed(())
    }
}

/// A pass-through handler whose context is handed to `WebSocketFrameDecoder.decode`, so
/// that decoded frames flow to the `FrameSink` after it.
public final class Anchor: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public init() {}
}

/// NIO's frame decoder driven directly: `WebSocketFrameDecoder.decode(context:buffer:)`
/// (the public ByteToMessageDecoder entry point) called in a loop on one ByteBuffer, with
/// frames delivered to a `FrameSink`. This skips ByteToMessageHandler's cumulation logic,
/// which is the most favourable public way to run NIO's parser.
public struct NIODecoderRig {
    public let channel: EmbeddedChannel
    public let context: ChannelHandlerContext
    public let decoder: WebSocketFrameDecoder
    public let sink: FrameSink

    public init(unmask: Bool, maxFrameSize: Int = 1 << 20) {
        channel = EmbeddedChannel()
        sink = FrameSink(unmask: unmask)
        try! channel.pipeline.syncOperations.addHandler(Anchor())
        try! channel.pipeline.syncOperations.addHandler(sink)
        context = try! channel.pipeline.syncOperations.context(handlerType: Anchor.self)
        decoder = WebSocketFrameDecoder(maxFrameSize: maxFrameSize)
    }

    /// Decodes every frame in `buffer` (a copy of the ByteBuffer value: reading moves only
    /// the copy's reader index; the storage is shared, not copied).
    @inline(__always)
    public func decodeAll(_ buffer: ByteBuffer) {
        var buffer = buffer
        while buffer.readableBytes > 0 {
            guard case .continue = try! decoder.decode(context: context, buffer: &buffer) else { break }
        }
    }
}

/// NIO's frame encoder driven directly: `WebSocketFrameEncoder.write(context:data:promise:)`
/// with its own pipeline context; the bytes go to a `ByteSink`.
public struct NIOEncoderRig {
    public let channel: EmbeddedChannel
    public let context: ChannelHandlerContext
    public let encoder: WebSocketFrameEncoder
    public let sink: ByteSink

    public init() {
        channel = EmbeddedChannel()
        sink = ByteSink()
        encoder = WebSocketFrameEncoder()
        try! channel.pipeline.syncOperations.addHandler(sink)
        try! channel.pipeline.syncOperations.addHandler(encoder)
        context = try! channel.pipeline.syncOperations.context(handlerType: WebSocketFrameEncoder.self)
    }

    @inline(__always)
    public func write(_ frame: WebSocketFrame) {
        encoder.write(context: context, data: NIOAny(frame), promise: nil)
    }
}

public func byteBuffer(_ bytes: [UInt8]) -> ByteBuffer {
    var buffer = ByteBufferAllocator().buffer(capacity: bytes.count)
    buffer.writeBytes(bytes)
    return buffer
}

public let nioMaskKey: WebSocketMaskingKey = withUnsafeBytes(of: benchmarkMaskKey) { WebSocketMaskingKey($0)! }

/// An input built on first use, outside the measured region (each benchmark runs in its own
/// process, so building every input at registration would waste time).
public final class Lazy<Value>: @unchecked Sendable {
    private let make: () -> Value
    private var stored: Value?
    public init(_ make: @escaping () -> Value) { self.make = make }
    public var value: Value {
        if let stored { return stored }
        let made = make()
        stored = made
        return made
    }
    /// Moves the value out (building it if needed), leaving the box empty until `put`.
    public func take() -> Value {
        let value = self.value
        stored = nil
        return value
    }
    public func put(_ value: Value) { stored = value }
}

/// A mutable value shared by the iterations of one benchmark (e.g. an output array whose
/// capacity must survive from one iteration to the next).
public final class Box<Value>: @unchecked Sendable {
    public var value: Value
    public init(_ value: Value) { self.value = value }
    /// Moves the value out so that it is uniquely referenced while in use.
    public func take() -> Value where Value: RangeReplaceableCollection {
        var taken = Value()
        swap(&taken, &value)
        return taken
    }
}
