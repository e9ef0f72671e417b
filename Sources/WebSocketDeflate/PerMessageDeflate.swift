import CZlib
import WebSocket
import WebSocketUtil

/// The permessage-deflate codec (RFC 7692 section 7.2) over zlib raw deflate, for one
/// connection. Not thread-safe: the connection that owns it calls it from one thread.
///
/// Memory: each direction's zlib state is created on first use (a connection that only
/// receives never pays for a compressor, about 256 KiB with the default settings) and then
/// lives as long as this object, reset rather than re-created between messages. Together
/// with two fixed buffers (32 KiB of zlib output, 1 KiB of input) this means a warm codec
/// does not allocate per message (DeflateBenchmarks measures it); the output arrays are the
/// caller's, and only their capacity is reused.
public final class PerMessageDeflate: MessageExtension {
    public let parameters: DeflateParameters
    public let role: Role
    /// When true (the default), `compress` gives up on a message that would not shrink so
    /// that it is sent as is. Turn off to always compress (tests, crafted traffic).
    public var compressesOnlyWhenSmaller = true

    private let compressionLevel: Int32
    private let memoryLevel: Int32
    /// zlib keeps a back-pointer to its `z_stream` and rejects calls through a moved copy,
    /// so each stream lives at a fixed heap address rather than in a Swift stored property.
    private let deflater: UnsafeMutablePointer<z_stream>
    private let inflater: UnsafeMutablePointer<z_stream>
    private var deflaterReady = false
    private var inflaterReady = false
    /// zlib writes here and we append to the caller's array: Swift arrays cannot expose
    /// their spare capacity for writing, and a bounded chunk is what caps bomb output.
    private let scratch: UnsafeMutablePointer<UInt8>
    /// As large as the largest window: inflate copies matches that reach back past the
    /// start of its output buffer from its window, a slower path; with 16 KiB, a 64 KiB
    /// message inflated about 10% slower than with zlib writing into one large buffer
    /// (DeflateBenchmarks), with 32 KiB within a few percent.
    private static let scratchSize = 32 << 10
    /// The last fragment of a small message is copied here with the RFC 7692 tail after it,
    /// so that it takes one inflate call instead of two (the second, for 4 bytes, costs
    /// about a third of inflating a 128-byte message).
    private let joined: UnsafeMutablePointer<UInt8>
    private static let joinLimit = 1024
    /// The decompression window saved across a BFINAL restart; allocated the first time a
    /// peer sends a final block (rare), sized for the largest window.
    private var savedWindow: UnsafeMutablePointer<UInt8>?
    private static let largestWindow = 1 << 15

    // State of the message being decompressed.
    /// The deflate stream ended (BFINAL) exactly at the end of the input seen so far.
    private var endedOnFinalBlock = false
    private var compressedBytesThisMessage = 0
    private var decompressedBytesThisMessage = 0
    private var restartsThisMessage = 0

    // RFC 7692 section 7.2.1: a flushed message ends with an empty stored block, whose
    // `00 00 ff ff` the sender strips and the receiver puts back. (Written out where used:
    // a stored static would be a lazily initialised global, checked on every message.)

    /// - Parameters:
    ///   - parameters: the negotiated parameters.
    ///   - role: which end we are: our compressor follows `role`'s limits, our
    ///     decompressor the peer's.
    ///   - compressionLevel: zlib level 0...9, or -1 for zlib's default (6).
    ///   - memoryLevel: zlib memLevel 1...9 (compressor memory vs. speed), default 8.
    public init(parameters: DeflateParameters, role: Role, compressionLevel: Int = -1, memoryLevel: Int = 8) {
        self.parameters = parameters
        self.role = role
        self.compressionLevel = Int32(min(max(compressionLevel, -1), 9))
        self.memoryLevel = Int32(min(max(memoryLevel, 1), 9))
        deflater = .allocate(capacity: 1)
        deflater.initialize(to: z_stream())
        inflater = .allocate(capacity: 1)
        inflater.initialize(to: z_stream())
        scratch = .allocate(capacity: Self.scratchSize)
        joined = .allocate(capacity: Self.joinLimit + 4)
    }

    deinit {
        if deflaterReady { deflateEnd(deflater) }
        if inflaterReady { inflateEnd(inflater) }
        deflater.deinitialize(count: 1)
        deflater.deallocate()
        inflater.deinitialize(count: 1)
        inflater.deallocate()
        scratch.deallocate()
        joined.deallocate()
        savedWindow?.deallocate()
    }

    /// zlib window bits for our compressor. zlib's raw deflate rejects 8; 9 is safe for an
    /// agreed 8 because zlib never emits distances above 250 with a 512-byte window.
    private var compressorWindowBits: Int32 {
        Int32(max(9, clampedBits(parameters.maxWindowBits(of: role))))
    }

    /// zlib window bits for our decompressor: exactly what the peer's compressor may use.
    private var decompressorWindowBits: Int32 {
        Int32(clampedBits(parameters.maxWindowBits(of: role.peer)))
    }

    private func clampedBits(_ bits: Int) -> Int {
        min(max(bits, DeflateParameters.windowBitsRange.lowerBound), DeflateParameters.windowBitsRange.upperBound)
    }

    // MARK: Compression

    public func compress(_ message: UnsafeRawBufferPointer, into output: inout [UInt8]) -> Bool {
        output.removeAll(keepingCapacity: true)
        guard prepareDeflater() else { return false }
        var remaining = message
        var succeeded = true
        repeat {
            // avail_in is 32-bit; a larger message goes in several helpings.
            let sliceCount = min(remaining.count, Int(UInt32.max))
            deflater.pointee.next_in = Self.zlibInput(remaining.baseAddress)
            deflater.pointee.avail_in = UInt32(sliceCount)
            let isLast = sliceCount == remaining.count
            succeeded = runDeflate(flush: isLast ? Z_SYNC_FLUSH : Z_NO_FLUSH, into: &output)
            remaining = UnsafeRawBufferPointer(rebasing: remaining[sliceCount...])
        } while succeeded && !remaining.isEmpty
        deflater.pointee.next_in = nil
        deflater.pointee.avail_in = 0

        // Z_SYNC_FLUSH always ends with an empty stored block; its last four bytes are
        // implied on the wire (7.2.1).
        let endsWithTail = output.count >= 4
            && output[output.count - 4] == 0x00 && output[output.count - 3] == 0x00
            && output[output.count - 2] == 0xFF && output[output.count - 1] == 0xFF
        guard succeeded, endsWithTail else {
            abandonCompressedMessage(&output)
            return false
        }
        output.removeLast(4)

        if compressesOnlyWhenSmaller && output.count >= message.count {
            // The peer will never see these bytes, so our window must not remember them:
            // start afresh (a compressor may always drop its context, RFC 7692 7.2.1).
            abandonCompressedMessage(&output)
            return false
        }
        if parameters.noContextTakeover(of: role) {
            deflateReset(deflater)
        }
        return true
    }

    private func prepareDeflater() -> Bool {
        if deflaterReady { return true }
        let status = deflateInit2_(
            deflater, compressionLevel, Z_DEFLATED, -compressorWindowBits, memoryLevel, Z_DEFAULT_STRATEGY,
            zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        deflaterReady = status == Z_OK
        return deflaterReady
    }

    /// Runs deflate until it has consumed its input and, for a flush, written everything.
    private func runDeflate(flush: Int32, into output: inout [UInt8]) -> Bool {
        while true {
            deflater.pointee.next_out = scratch
            deflater.pointee.avail_out = UInt32(Self.scratchSize)
            let status = deflate(deflater, flush)
            let produced = Self.scratchSize - Int(deflater.pointee.avail_out)
            if produced > 0 {
                output.append(contentsOf: UnsafeBufferPointer(start: scratch, count: produced))
            }
            switch status {
            case Z_OK, Z_BUF_ERROR:
                // Room left over means deflate had nothing more to say for this flush mode;
                // Z_BUF_ERROR is "no progress possible", which is not a failure here.
                if deflater.pointee.avail_out != 0 || status == Z_BUF_ERROR { return true }
            default:
                return false
            }
        }
    }

    private func abandonCompressedMessage(_ output: inout [UInt8]) {
        output.removeAll(keepingCapacity: true)
        if deflaterReady { deflateReset(deflater) }
    }

    // MARK: Decompression

    public func decompress(
        _ input: UnsafeRawBufferPointer, isFinal: Bool, into output: inout [UInt8], limit: Int
    ) -> ExtensionFailure? {
        guard prepareInflater() else { return .invalidData("zlib could not set up decompression") }
        var failure: ExtensionFailure?
        if isFinal && !input.isEmpty && input.count <= Self.joinLimit {
            failure = inflateWithTail(input, into: &output, limit: limit)
        } else {
            failure = inflate(input, into: &output, limit: limit)
            if failure == nil && isFinal {
                failure = finishMessage(into: &output, limit: limit)
            }
        }
        if failure != nil {
            // The connection fails anyway; resetting keeps this object usable and defined.
            inflateReset(inflater)
            resetMessageState()
        }
        return failure
    }

    private func prepareInflater() -> Bool {
        if inflaterReady { return true }
        let status = inflateInit2_(
            inflater, -decompressorWindowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        inflaterReady = status == Z_OK
        return inflaterReady
    }

    /// The last (non-empty, small) fragment of a message and the tail in one inflate call:
    /// what `inflate` of the fragment followed by `finishMessage` does, with the same
    /// outcome in every case. The one case where the tail must not be fed, a deflate stream
    /// that ended (BFINAL) exactly at the end of the fragment, shows as the stream ending
    /// with exactly the 4 tail bytes left; they are then dropped, as `finishMessage` would.
    private func inflateWithTail(_ input: UnsafeRawBufferPointer, into output: inout [UInt8], limit: Int) -> ExtensionFailure? {
        joined.update(from: input.baseAddress!.assumingMemoryBound(to: UInt8.self), count: input.count)
        (joined + input.count).initialize(to: 0x00)
        (joined + input.count + 1).initialize(to: 0x00)
        (joined + input.count + 2).initialize(to: 0xFF)
        (joined + input.count + 3).initialize(to: 0xFF)
        compressedBytesThisMessage += input.count
        endedOnFinalBlock = false
        inflater.pointee.next_in = joined
        inflater.pointee.avail_in = UInt32(input.count + 4)
        defer {
            inflater.pointee.next_in = nil
            inflater.pointee.avail_in = 0
        }
        if let failure = runInflate(into: &output, limit: limit, tailFollows: true) { return failure }
        let atBlockBoundary = endedOnFinalBlock || inflater.pointee.data_type & 128 != 0
        guard atBlockBoundary else {
            return .invalidData("compressed message does not end at a deflate block boundary")
        }
        return endMessage()
    }

    private func inflate(_ input: UnsafeRawBufferPointer, into output: inout [UInt8], limit: Int) -> ExtensionFailure? {
        var remaining = input
        while !remaining.isEmpty {
            let sliceCount = min(remaining.count, Int(UInt32.max))
            compressedBytesThisMessage += sliceCount
            // Input after a final block continues the message with a new deflate stream.
            endedOnFinalBlock = false
            inflater.pointee.next_in = Self.zlibInput(remaining.baseAddress)
            inflater.pointee.avail_in = UInt32(sliceCount)
            defer {
                inflater.pointee.next_in = nil
                inflater.pointee.avail_in = 0
            }
            if let failure = runInflate(into: &output, limit: limit) { return failure }
            remaining = UnsafeRawBufferPointer(rebasing: remaining[sliceCount...])
        }
        return nil
    }

    /// Ends the message: puts back the stripped tail, checks that the message stopped at a
    /// block boundary, and drops the window if the peer does not take context over.
    private func finishMessage(into output: inout [UInt8], limit: Int) -> ExtensionFailure? {
        // Skip the tail when there is nothing for it to complete: a message whose deflate
        // stream ended with a final block (a Z_FINISH sender), or an empty payload, which
        // some senders use for an empty message. Either way the tail would open a stored
        // block that never ends.
        if !endedOnFinalBlock && compressedBytesThisMessage > 0 {
            var tail: (UInt8, UInt8, UInt8, UInt8) = (0x00, 0x00, 0xFF, 0xFF)
            let failure = withUnsafeBytes(of: &tail) { tailBytes in
                inflate(tailBytes, into: &output, limit: limit)
            }
            if let failure { return failure }
            // 128 in data_type: inflate stopped right before a block header, i.e. the
            // appended empty stored block really was one.
            let atBlockBoundary = endedOnFinalBlock || inflater.pointee.data_type & 128 != 0
            guard atBlockBoundary else {
                return .invalidData("compressed message does not end at a deflate block boundary")
            }
        }
        return endMessage()
    }

    /// Drops the window if the peer does not take context over; readies the next message.
    private func endMessage() -> ExtensionFailure? {
        if parameters.noContextTakeover(of: role.peer) {
            inflateReset(inflater)
        }
        resetMessageState()
        return nil
    }

    /// Runs inflate over the current input until it is consumed, stopping with
    /// `.messageTooBig` before any byte beyond `limit` reaches `output`. With `tailFollows`,
    /// the input's last 4 bytes are the RFC 7692 tail, not fed when the stream ends right
    /// before them.
    private func runInflate(into output: inout [UInt8], limit: Int, tailFollows: Bool = false) -> ExtensionFailure? {
        while true {
            let room = max(limit - output.count, 0)
            // One byte more than fits tells "exactly full" from "too big" without
            // inflating more than a chunk past the limit. (`room + 1` would overflow for
            // an unlimited `Int.max`.)
            let capacity = room < Self.scratchSize ? room + 1 : Self.scratchSize
            inflater.pointee.next_out = scratch
            inflater.pointee.avail_out = UInt32(capacity)
            let status = CZlib.inflate(inflater, Z_SYNC_FLUSH)
            let produced = capacity - Int(inflater.pointee.avail_out)
            if produced > room { return .messageTooBig }
            if produced > 0 {
                output.append(contentsOf: UnsafeBufferPointer(start: scratch, count: produced))
                decompressedBytesThisMessage += produced
            }
            switch status {
            case Z_OK:
                if inflater.pointee.avail_out != 0 && inflater.pointee.avail_in == 0 { return nil }
            case Z_BUF_ERROR:
                // No progress possible: the input ends mid-block, normal at fragment ends.
                // With input and room left zlib always progresses; should it not, failing
                // beats silently dropping the rest of the message.
                if inflater.pointee.avail_in == 0 { return nil }
                return .invalidData("zlib inflate stalled with input left")
            case Z_STREAM_END:
                if let failure = restartAfterFinalBlock() { return failure }
                if inflater.pointee.avail_in == 0 || (tailFollows && inflater.pointee.avail_in == 4) {
                    endedOnFinalBlock = true
                    return nil
                }
            case Z_DATA_ERROR:
                return .invalidData("invalid deflate data: " + zlibMessage(inflater))
            case Z_MEM_ERROR:
                return .invalidData("zlib ran out of memory")
            default:
                return .invalidData("zlib inflate failed with status \(status): " + zlibMessage(inflater))
            }
        }
    }

    /// A block with BFINAL set ends zlib's stream, yet RFC 7692 7.2.3.4 lets a sender
    /// flush that way and go on: the bytes after it are a new stream that may refer to
    /// the same window. So restart inflate with the window carried over.
    private func restartAfterFinalBlock() -> ExtensionFailure? {
        // Copying the window is the cost of a restart; a stream of empty final blocks
        // (2 bytes each) would make it a CPU amplifier, so restarts must be paid for with
        // output: a few free ones, then one per 4 KiB decompressed.
        restartsThisMessage += 1
        guard restartsThisMessage <= 16 + decompressedBytesThisMessage / 4096 else {
            return .invalidData("too many final deflate blocks in one message")
        }
        let window: UnsafeMutablePointer<UInt8>
        if let savedWindow {
            window = savedWindow
        } else {
            window = .allocate(capacity: Self.largestWindow)
            savedWindow = window
        }
        var windowLength: UInt32 = 0
        guard inflateGetDictionary(inflater, window, &windowLength) == Z_OK,
            inflateReset(inflater) == Z_OK,
            windowLength == 0 || inflateSetDictionary(inflater, window, windowLength) == Z_OK
        else { return .invalidData("zlib could not continue after a final deflate block") }
        return nil
    }

    private func resetMessageState() {
        endedOnFinalBlock = false
        compressedBytesThisMessage = 0
        decompressedBytesThisMessage = 0
        restartsThisMessage = 0
    }

    // MARK: zlib helpers

    /// zlib's input pointer is non-const for historical reasons; it never writes through it.
    private static func zlibInput(_ base: UnsafeRawPointer?) -> UnsafeMutablePointer<Bytef>? {
        guard let base else { return nil }
        return UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
    }

    private func zlibMessage(_ stream: UnsafeMutablePointer<z_stream>) -> String {
        guard let message = stream.pointee.msg else { return "no detail" }
        return String(cString: message)
    }
}
