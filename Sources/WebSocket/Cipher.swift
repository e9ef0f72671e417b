/// Payload masking (RFC 6455 section 5.3). Masking is its own inverse, so the same call
/// masks and unmasks.

public enum Cipher {
    /// XORs `buffer` in place with the mask key, as if the buffer began `offset` bytes into
    /// the payload (so a payload that arrives in pieces can be unmasked piece by piece).
    ///
    /// Runs at memory speed (about memcpy's): buffers of 64 bytes or more are first brought
    /// to a 16-byte boundary a byte at a time, then XORed 64 bytes per iteration with aligned
    /// 16-byte vectors; what is left goes 16, 8 and then 1 byte at a time.
    ///
    /// Performance notes (measured with Swift 6.3 on x86-64, see Benchmarks/):
    /// - 16-byte vectors are the widest that lower to single instructions on the x86-64
    ///   (SSE2) and arm64 (NEON) baselines. `SIMD32<UInt8>`'s `^` does not: it compiles to a
    ///   per-byte loop through the stack, about 1000 times slower than this.
    /// - Aligning matters: in-place unaligned 16-byte loads and stores on a misaligned
    ///   buffer ran 2 to 4 times slower than the aligned loop.
    @inlinable
    public static func mask(_ buffer: UnsafeMutableRawBufferPointer, key: UInt32, offset: Int = 0) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        let count = buffer.count
        var index = 0
        var phase = offset & 3
        if count >= 64 {
            // Bytes up to the next 16-byte boundary (0...15 of them).
            let head = Int(bitPattern: 0 &- UInt(bitPattern: base)) & 15
            if head != 0 {
                maskBytes(base, from: 0, to: head, key: rotate(key: key, by: phase))
                index = head
                phase = (phase &+ head) & 3
            }
        }
        let rotated = rotate(key: key, by: phase)
        // The key repeated: the same memory image on either endianness.
        let key64 = UInt64(rotated) | UInt64(rotated) << 32
        let key16 = unsafeBitCast(SIMD2<UInt64>(repeating: key64), to: SIMD16<UInt8>.self)
        if count &- index >= 64 {
            // `base + index` is 16-byte aligned here.
            let end = count &- 64
            while index <= end {
                let pointer = base + index
                let a = pointer.load(as: SIMD16<UInt8>.self)
                let b = pointer.load(fromByteOffset: 16, as: SIMD16<UInt8>.self)
                let c = pointer.load(fromByteOffset: 32, as: SIMD16<UInt8>.self)
                let d = pointer.load(fromByteOffset: 48, as: SIMD16<UInt8>.self)
                pointer.storeBytes(of: a ^ key16, as: SIMD16<UInt8>.self)
                pointer.storeBytes(of: b ^ key16, toByteOffset: 16, as: SIMD16<UInt8>.self)
                pointer.storeBytes(of: c ^ key16, toByteOffset: 32, as: SIMD16<UInt8>.self)
                pointer.storeBytes(of: d ^ key16, toByteOffset: 48, as: SIMD16<UInt8>.self)
                index &+= 64
            }
        }
        while index &+ 16 <= count {
            let pointer = base + index
            pointer.storeBytes(of: pointer.loadUnaligned(as: SIMD16<UInt8>.self) ^ key16, as: SIMD16<UInt8>.self)
            index &+= 16
        }
        if index &+ 8 <= count {
            let pointer = base + index
            pointer.storeBytes(of: pointer.loadUnaligned(as: UInt64.self) ^ key64, as: UInt64.self)
            index &+= 8
        }
        if index < count {
            maskBytes(base, from: index, to: count, key: rotated)
        }
    }

    /// XORs `base[start..<end]` byte by byte with `key`, whose first memory byte applies to
    /// `base[start]`.
    @inlinable @inline(__always)
    static func maskBytes(_ base: UnsafeMutableRawPointer, from start: Int, to end: Int, key: UInt32) {
        // The key's first memory byte in the low bits, on either endianness.
        var pattern = key.littleEndian
        var index = start
        while index < end {
            let byte = base.load(fromByteOffset: index, as: UInt8.self) ^ UInt8(truncatingIfNeeded: pattern)
            base.storeBytes(of: byte, toByteOffset: index, as: UInt8.self)
            pattern = pattern >> 8 | pattern << 24
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
