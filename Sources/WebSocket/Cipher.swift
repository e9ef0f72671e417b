/// Payload masking (RFC 6455 section 5.3). Masking is its own inverse, so the same call
/// masks and unmasks.

public enum Cipher {
    /// XORs `buffer` in place with the mask key, as if the buffer began `offset` bytes into
    /// the payload (so a payload that arrives in pieces can be unmasked piece by piece).
    ///
    /// Works a 32-byte block at a time through SIMD registers after the key is rotated to
    /// the buffer's starting offset; the bytes before the end are handled a word and then a
    /// byte at a time.
    @inlinable
    public static func mask(_ buffer: UnsafeMutableRawBufferPointer, key: UInt32, offset: Int = 0) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        let count = buffer.count
        let rotated = rotate(key: key, by: offset & 3)
        let key64 = UInt64(rotated) | UInt64(rotated) << 32
        var index = 0

        if count >= 32 {
            let half = unsafeBitCast(SIMD2<UInt64>(repeating: key64), to: SIMD16<UInt8>.self)
            let key32 = SIMD32<UInt8>(lowHalf: half, highHalf: half)
            let end = count &- 32
            while index <= end {
                let pointer = base + index
                let block = pointer.loadUnaligned(as: SIMD32<UInt8>.self)
                pointer.storeBytes(of: block ^ key32, as: SIMD32<UInt8>.self)
                index &+= 32
            }
        }
        while index &+ 8 <= count {
            let pointer = base + index
            pointer.storeBytes(of: pointer.loadUnaligned(as: UInt64.self) ^ key64, as: UInt64.self)
            index &+= 8
        }
        var tailKey = key64
        while index < count {
            let pointer = base + index
            pointer.storeBytes(of: pointer.load(as: UInt8.self) ^ UInt8(truncatingIfNeeded: tailKey), as: UInt8.self)
            tailKey >>= 8
            index &+= 1
        }
    }

    /// Reference implementation, byte by byte, used to check `mask` in tests.
    public static func maskBytewise(_ buffer: UnsafeMutableRawBufferPointer, key: UInt32, offset: Int = 0) {
        withUnsafeBytes(of: key) { keyBytes in
            for index in buffer.indices {
                buffer[index] ^= keyBytes[(index &+ offset) & 3]
            }
        }
    }

    /// The key as seen from a buffer that starts `shift` (0...3) bytes into the payload.
    @inlinable
    static func rotate(key: UInt32, by shift: Int) -> UInt32 {
        guard shift != 0 else { return key }
        // The key's bytes sit in memory order; rotating the memory image by `shift` bytes
        // is a right rotation on little-endian machines and a left one on big-endian.
        #if _endian(little)
        return key >> UInt32(shift * 8) | key << UInt32(32 - shift * 8)
        #else
        return key << UInt32(shift * 8) | key >> UInt32(32 - shift * 8)
        #endif
    }

    /// A fresh random mask key (clients must use an unpredictable key per frame).
    @inlinable
    public static func randomKey() -> UInt32 {
        var generator = SystemRandomNumberGenerator()
        return generator.next()
    }
}
