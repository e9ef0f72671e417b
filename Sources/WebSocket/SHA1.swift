/// SHA-1 (FIPS 180-4), just enough for the Sec-WebSocket-Accept key of RFC 6455 section
/// 4.2.2. SHA-1 is broken for collision resistance; the handshake uses it only to prove
/// that the server read the key, which is all this is for.
///
/// All state lives in the struct (five words, one pending 64-byte block), so hashing a
/// fixed input never touches the heap.
public struct SHA1 {
    public static let digestSize = 20
    public static let blockSize = 64

    private var state: (UInt32, UInt32, UInt32, UInt32, UInt32) =
        (0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0)
    /// The bytes of an incomplete block, waiting for more input or for `finalize`.
    private var pending: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
        (0, 0, 0, 0, 0, 0, 0, 0)
    private var pendingCount = 0
    private var totalByteCount: UInt64 = 0

    public init() {}

    /// Feeds more message bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var input = bytes.baseAddress, bytes.count > 0 else { return }
        var remaining = bytes.count
        totalByteCount &+= UInt64(remaining)

        if pendingCount > 0 {
            let taken = min(remaining, Self.blockSize &- pendingCount)
            let offset = pendingCount
            withUnsafeMutableBytes(of: &pending) { block in
                block.baseAddress.unsafelyUnwrapped.advanced(by: offset).copyMemory(from: input, byteCount: taken)
            }
            pendingCount &+= taken
            input += taken
            remaining &-= taken
            guard pendingCount == Self.blockSize else { return }
            compressPending()
            pendingCount = 0
        }
        // Whole blocks are hashed straight from the caller's memory.
        while remaining >= Self.blockSize {
            Self.compress(&state, input)
            input += Self.blockSize
            remaining &-= Self.blockSize
        }
        if remaining > 0 {
            withUnsafeMutableBytes(of: &pending) { block in
                block.baseAddress.unsafelyUnwrapped.copyMemory(from: input, byteCount: remaining)
            }
            pendingCount = remaining
        }
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Feeds the UTF-8 bytes of `text`.
    public mutating func update(_ text: StaticString) {
        update(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    public mutating func update(_ text: String) {
        var text = text
        text.withUTF8 { update(UnsafeRawBufferPointer($0)) }
    }

    /// Pads the message, hashes the last block(s) and returns the digest. The hasher is
    /// spent afterwards; start a new one for another message.
    public mutating func finalize() -> Digest {
        let bitLength = totalByteCount &* 8
        let offset = pendingCount
        withUnsafeMutableBytes(of: &pending) { block in
            block[offset] = 0x80
            for index in (offset &+ 1)..<Self.blockSize { block[index] = 0 }
        }
        if pendingCount >= Self.blockSize &- 8 {
            // No room for the 64-bit length: it goes in one more block of zeros.
            compressPending()
            pending = (0, 0, 0, 0, 0, 0, 0, 0)
        }
        pending.7 = bitLength.bigEndian
        compressPending()
        pendingCount = 0
        return Digest(state: state)
    }

    /// Hashes `bytes` in one go.
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> Digest {
        var hasher = SHA1()
        hasher.update(bytes)
        return hasher.finalize()
    }

    public static func hash(_ bytes: [UInt8]) -> Digest {
        bytes.withUnsafeBytes { hash($0) }
    }

    public static func hash(_ text: String) -> Digest {
        var hasher = SHA1()
        hasher.update(text)
        return hasher.finalize()
    }

    private mutating func compressPending() {
        withUnsafeBytes(of: pending) { block in
            Self.compress(&state, block.baseAddress.unsafelyUnwrapped)
        }
    }

    @inline(__always)
    private static func rotateLeft(_ value: UInt32, _ amount: UInt32) -> UInt32 {
        (value &<< amount) | (value &>> (32 &- amount))
    }

    /// One application of the compression function to the 64 bytes at `block`. The
    /// message schedule is kept as a 16-word ring (on the stack) instead of 80 words.
    private static func compress(
        _ state: inout (UInt32, UInt32, UInt32, UInt32, UInt32), _ block: UnsafeRawPointer
    ) {
        var ring: (
            UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32,
            UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32
        ) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var a = state.0, b = state.1, c = state.2, d = state.3, e = state.4
        withUnsafeMutableBytes(of: &ring) { raw in
            let w = raw.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: UInt32.self)
            for t in 0..<16 {
                w[t] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: t &* 4, as: UInt32.self))
            }
            for t in 0..<16 {
                step(&a, &b, &c, &d, &e, f: d ^ (b & (c ^ d)), k: 0x5A82_7999, w: w[t])
            }
            for t in 16..<20 {
                step(&a, &b, &c, &d, &e, f: d ^ (b & (c ^ d)), k: 0x5A82_7999, w: expand(w, t))
            }
            for t in 20..<40 {
                step(&a, &b, &c, &d, &e, f: b ^ c ^ d, k: 0x6ED9_EBA1, w: expand(w, t))
            }
            for t in 40..<60 {
                step(&a, &b, &c, &d, &e, f: (b & c) | (d & (b | c)), k: 0x8F1B_BCDC, w: expand(w, t))
            }
            for t in 60..<80 {
                step(&a, &b, &c, &d, &e, f: b ^ c ^ d, k: 0xCA62_C1D6, w: expand(w, t))
            }
        }
        state.0 &+= a
        state.1 &+= b
        state.2 &+= c
        state.3 &+= d
        state.4 &+= e
    }

    /// Schedule word `t` (16 or more), computed in place over the word 16 steps back.
    @inline(__always)
    private static func expand(_ w: UnsafeMutablePointer<UInt32>, _ t: Int) -> UInt32 {
        let slot = t & 15
        let word = rotateLeft(w[(t &+ 13) & 15] ^ w[(t &+ 8) & 15] ^ w[(t &+ 2) & 15] ^ w[slot], 1)
        w[slot] = word
        return word
    }

    @inline(__always)
    private static func step(
        _ a: inout UInt32, _ b: inout UInt32, _ c: inout UInt32, _ d: inout UInt32, _ e: inout UInt32,
        f: UInt32, k: UInt32, w: UInt32
    ) {
        let temp = rotateLeft(a, 5) &+ f &+ e &+ k &+ w
        e = d
        d = c
        c = rotateLeft(b, 30)
        b = a
        a = temp
    }
}

extension SHA1 {
    /// A 20-byte SHA-1 digest, stored inline.
    public struct Digest: Hashable, Sendable, CustomStringConvertible {
        /// The five state words in big-endian byte order, so that the raw bytes of this
        /// tuple are the digest bytes.
        private let words: (UInt32, UInt32, UInt32, UInt32, UInt32)

        init(state: (UInt32, UInt32, UInt32, UInt32, UInt32)) {
            words = (state.0.bigEndian, state.1.bigEndian, state.2.bigEndian, state.3.bigEndian, state.4.bigEndian)
        }

        /// Lends the 20 digest bytes.
        public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
            try Swift.withUnsafeBytes(of: words, body)
        }

        public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

        /// Lowercase hexadecimal, as `sha1sum` prints it.
        public var description: String {
            let digits: StaticString = "0123456789abcdef"
            return withUnsafeBytes { digest in
                String(unsafeUninitializedCapacity: SHA1.digestSize * 2) { out in
                    for (index, byte) in digest.enumerated() {
                        out[index &* 2] = digits.utf8Start[Int(byte >> 4)]
                        out[index &* 2 &+ 1] = digits.utf8Start[Int(byte & 0x0F)]
                    }
                    return SHA1.digestSize * 2
                }
            }
        }

        public static func == (lhs: Digest, rhs: Digest) -> Bool {
            lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1 && lhs.words.2 == rhs.words.2
                && lhs.words.3 == rhs.words.3 && lhs.words.4 == rhs.words.4
        }

        public func hash(into hasher: inout Hasher) {
            withUnsafeBytes { hasher.combine(bytes: $0) }
        }
    }
}
