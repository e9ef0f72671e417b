/// Base64 with the standard alphabet and `=` padding (RFC 4648 section 4), writing into
/// caller-owned buffers. The handshake needs it twice: to encode the accept key and the
/// client nonce, and to check that a client's key decodes to exactly 16 bytes.
public enum Base64 {
    private static let alphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    private static let padding = UInt8(ascii: "=")

    /// The encoded size of `byteCount` bytes, padding included.
    @inlinable
    public static func encodedCount(forByteCount byteCount: Int) -> Int {
        (byteCount + 2) / 3 * 4
    }

    /// The most bytes that `encodedCount` characters can decode to (padding makes it less).
    @inlinable
    public static func maximumDecodedCount(forEncodedCount encodedCount: Int) -> Int {
        encodedCount / 4 * 3
    }

    /// Encodes `bytes` into the start of `output` and returns the number of characters
    /// written, or nil (writing nothing) when `output` is shorter than
    /// `encodedCount(forByteCount:)`.
    public static func encode(_ bytes: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
        let needed = encodedCount(forByteCount: bytes.count)
        guard output.count >= needed else { return nil }
        guard needed > 0 else { return 0 }
        let table = alphabet.utf8Start
        var read = 0
        var written = 0
        while read &+ 3 <= bytes.count {
            let group = UInt32(bytes[read]) << 16 | UInt32(bytes[read &+ 1]) << 8 | UInt32(bytes[read &+ 2])
            output[written] = table[Int(group >> 18)]
            output[written &+ 1] = table[Int(group >> 12 & 0x3F)]
            output[written &+ 2] = table[Int(group >> 6 & 0x3F)]
            output[written &+ 3] = table[Int(group & 0x3F)]
            read &+= 3
            written &+= 4
        }
        let tail = bytes.count &- read
        if tail > 0 {
            let second = tail == 2 ? UInt32(bytes[read &+ 1]) : 0
            let group = UInt32(bytes[read]) << 16 | second << 8
            output[written] = table[Int(group >> 18)]
            output[written &+ 1] = table[Int(group >> 12 & 0x3F)]
            output[written &+ 2] = tail == 2 ? table[Int(group >> 6 & 0x3F)] : padding
            output[written &+ 3] = padding
            written &+= 4
        }
        return written
    }

    /// Decodes padded base64 from `encoded` into the start of `output` and returns the
    /// number of bytes written. Returns nil for anything but canonical-length padded
    /// base64 (length a multiple of 4, only alphabet characters, `=` only at the end) and
    /// when `output` is too small. Unused bits before the padding are ignored, as RFC 4648
    /// section 3.5 permits.
    public static func decode(_ encoded: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
        let count = encoded.count
        guard count % 4 == 0 else { return nil }
        guard count > 0 else { return 0 }
        var paddingCount = 0
        if encoded[count &- 1] == padding { paddingCount = encoded[count &- 2] == padding ? 2 : 1 }
        let decodedCount = count / 4 * 3 &- paddingCount
        guard output.count >= decodedCount else { return nil }

        var read = 0
        var written = 0
        while read < count {
            let isLastGroup = read &+ 4 == count
            let padded = isLastGroup ? paddingCount : 0
            var group: UInt32 = 0
            for offset in 0..<(4 &- padded) {
                guard let value = sextet(encoded[read &+ offset]) else { return nil }
                group = group << 6 | UInt32(value)
            }
            group <<= 6 &* UInt32(padded)
            output[written] = UInt8(truncatingIfNeeded: group >> 16)
            if padded < 2 { output[written &+ 1] = UInt8(truncatingIfNeeded: group >> 8) }
            if padded < 1 { output[written &+ 2] = UInt8(truncatingIfNeeded: group) }
            written &+= 3 &- padded
            read &+= 4
        }
        return written
    }

    /// The 6-bit value of one base64 character, or nil for anything outside the alphabet
    /// (padding included).
    @inline(__always)
    private static func sextet(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return character &- UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return character &- UInt8(ascii: "a") &+ 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return character &- UInt8(ascii: "0") &+ 52
        case UInt8(ascii: "+"): return 62
        case UInt8(ascii: "/"): return 63
        default: return nil
        }
    }

    // MARK: - Conveniences (allocate)

    public static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: encodedCount(forByteCount: bytes.count)) { out in
            encode(bytes, into: UnsafeMutableRawBufferPointer(out)) ?? 0
        }
    }

    public static func encode(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { encode($0) }
    }

    /// Encodes the UTF-8 bytes of `text`.
    public static func encode(utf8 text: String) -> String {
        var text = text
        return text.withUTF8 { encode(UnsafeRawBufferPointer($0)) }
    }

    /// Decodes `text`, or returns nil when it is not padded base64.
    public static func decode(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { encoded -> [UInt8]? in
            var failed = false
            let bytes = [UInt8](unsafeUninitializedCapacity: maximumDecodedCount(forEncodedCount: encoded.count)) {
                out, initialized in
                if let written = decode(UnsafeRawBufferPointer(encoded), into: UnsafeMutableRawBufferPointer(out)) {
                    initialized = written
                } else {
                    failed = true
                    initialized = 0
                }
            }
            return failed ? nil : bytes
        }
    }
}
