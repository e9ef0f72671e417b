/// Header decoding from caller-owned bytes. Nothing here copies or allocates: the caller
/// keeps its buffer, and learns either the decoded header and its size, or how many more
/// bytes it must read before trying again.

public enum HeaderDecodeResult: Equatable, Sendable {
    /// A complete header; `size` bytes of the buffer belong to it, the payload follows.
    case header(Header, size: Int)
    /// The buffer holds only the start of a header; at least this many more bytes are needed.
    case needMore(Int)
}

extension Header {
    /// The smallest header: two bytes.
    public static let minimumSize = 2
    /// The largest header: 2 + 8 (64-bit length) + 4 (mask key).
    public static let maximumSize = 14

    /// Decodes the header at the start of `bytes`. Decoding is lenient: it reports what the
    /// wire says, so that inspectors can show malformed frames; `violation(...)` judges it.
    @inlinable
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> HeaderDecodeResult {
        let available = bytes.count
        guard available >= 2, let base = bytes.baseAddress else { return .needMore(2 - available) }
        let b0 = base.load(as: UInt8.self)
        let b1 = base.load(fromByteOffset: 1, as: UInt8.self)
        let masked = b1 & 0x80 != 0
        let length7 = b1 & 0x7F
        let lengthSize = length7 < 126 ? 0 : (length7 == 126 ? 2 : 8)
        let size = 2 &+ lengthSize &+ (masked ? 4 : 0)
        guard available >= size else { return .needMore(size &- available) }

        let length: UInt64
        switch lengthSize {
        case 0: length = UInt64(length7)
        case 2: length = UInt64(UInt16(bigEndian: base.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
        default: length = UInt64(bigEndian: base.loadUnaligned(fromByteOffset: 2, as: UInt64.self))
        }
        let maskKey = masked ? base.loadUnaligned(fromByteOffset: 2 &+ lengthSize, as: UInt32.self) : 0
        let header = Header(b0: b0, b1: b1, maskKey: maskKey, length: length)
        return .header(header, size: size)
    }

    /// Decodes from a borrowed span of bytes.
    @inlinable
    public static func decode(_ bytes: Span<UInt8>) -> HeaderDecodeResult {
        bytes.withUnsafeBytes { decode($0) }
    }

    /// Decodes from the start of an array (convenience for tests and tools).
    public static func decode(_ bytes: [UInt8]) -> HeaderDecodeResult {
        bytes.withUnsafeBytes { decode($0) }
    }
}
