import Testing
import WebSocket

/// `Cipher.mask` (the fast path: alignment head, 64-byte aligned vector loop, 16-, 8- and
/// 1-byte tails) against the byte-by-byte reference `Cipher.maskBytewise`.
struct CipherTests {
    static let keys: [UInt32] = {
        var random = FrameTestRandom(seed: 0xC1FE)
        return [0, 0xFFFF_FFFF, Header.maskKey(0x37, 0xFA, 0x21, 0x3D), Header.maskKey(1, 2, 3, 4)]
            + (0..<4).map { _ in random.maskKey() }
    }()

    /// Masks `count` bytes that start `alignment` bytes into a fresh allocation with both
    /// implementations, checking that the bytes around the buffer are untouched.
    static func check(
        count: Int, alignment: Int, key: UInt32, offset: Int, random: inout FrameTestRandom,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let guardBytes = 16
        let original = random.bytes(count)
        var fast = [UInt8](repeating: 0x5A, count: alignment + count + guardBytes)
        fast.replaceSubrange(alignment..<(alignment + count), with: original)
        var reference = fast
        fast.withUnsafeMutableBytes {
            Cipher.mask(UnsafeMutableRawBufferPointer(rebasing: $0[alignment..<(alignment + count)]), key: key, offset: offset)
        }
        reference.withUnsafeMutableBytes {
            Cipher.maskBytewise(UnsafeMutableRawBufferPointer(rebasing: $0[alignment..<(alignment + count)]), key: key, offset: offset)
        }
        if fast != reference {
            let first = zip(fast, reference).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? -1
            Issue.record(
                "mask differs from maskBytewise: count \(count) alignment \(alignment) key \(key) offset \(offset), first at \(first)",
                sourceLocation: sourceLocation)
        }
    }

    /// Every length 0...200 at every payload offset 0...7 and every address alignment
    /// 0...15 (the vector loop's head depends on the address).
    @Test(arguments: keys)
    func matchesBytewiseForAllSmallLengthsOffsetsAndAlignments(key: UInt32) {
        var random = FrameTestRandom(seed: UInt64(key))
        for alignment in 0..<16 {
            for offset in 0..<8 {
                for count in 0...200 {
                    Self.check(count: count, alignment: alignment, key: key, offset: offset, random: &random)
                }
            }
        }
    }

    @Test func matchesBytewiseForLargeRandomLengths() {
        var random = FrameTestRandom(seed: 0x1A26E)
        var counts = [255, 256, 257, 1023, 4096, 4099, 65535, 65536, 65537, (1 << 20) + 13]
        for _ in 0..<12 { counts.append(Int(random.next() % 300_000)) }
        for count in counts {
            let key = random.maskKey()
            let offset = Int(random.next() % 1000)
            let alignment = Int(random.next() % 16)
            Self.check(count: count, alignment: alignment, key: key, offset: offset, random: &random)
        }
    }

    /// Offsets beyond 0...7 and negative ones act modulo 4, as the payload position does.
    @Test func offsetIsTakenModuloFour() {
        var random = FrameTestRandom(seed: 99)
        let payload = random.bytes(150)
        let key = random.maskKey()
        for offset in [0, 1, 2, 3, 4, 5, 103, 1 << 40, Int.max, -1, -2, -3, -4, -5, Int.min] {
            let canonical = ((offset % 4) + 4) % 4
            #expect(
                FrameFixture.unmasked(payload, key: key, offset: offset) == FrameFixture.unmasked(payload, key: key, offset: canonical),
                "offset \(offset)")
        }
    }

    @Test func maskingTwiceRestores() {
        var random = FrameTestRandom(seed: 2)
        for count in [0, 1, 3, 7, 8, 15, 16, 63, 64, 65, 127, 128, 1000, 70_000] {
            let original = random.bytes(count)
            let key = random.maskKey()
            let offset = Int(random.next() % 8)
            let once = FrameFixture.unmasked(original, key: key, offset: offset)
            if count >= 4 && key != 0 { #expect(once != original) }
            let restored = FrameFixture.unmasked(once, key: key, offset: offset) == original
            #expect(restored, "count \(count)")
        }
    }

    @Test func zeroKeyIsTheIdentity() {
        var random = FrameTestRandom(seed: 3)
        let payload = random.bytes(1000)
        let same = FrameFixture.unmasked(payload, key: 0, offset: 3) == payload
        #expect(same)
    }

    /// The byte at payload position i is XORed with key octet i % 4 (RFC 6455 5.3).
    @Test func referenceFollowsTheRFC() {
        let octets: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]
        let key = Header.maskKey(octets[0], octets[1], octets[2], octets[3])
        let payload = (0..<37).map { UInt8($0 * 5) }
        for offset in 0..<4 {
            var reference = payload
            reference.withUnsafeMutableBytes { Cipher.maskBytewise($0, key: key, offset: offset) }
            #expect(reference == payload.indices.map { payload[$0] ^ octets[($0 + offset) % 4] })
        }
    }

    /// A payload unmasked in random pieces, each at its running offset into the payload,
    /// equals the payload unmasked in one go.
    @Test func unmaskingInPiecesEqualsOneShot() {
        var random = FrameTestRandom(seed: 0x91EC)
        for round in 0..<300 {
            let count = round < 100 ? Int(random.next() % 300) : Int(random.next() % 20_000)
            let payload = random.bytes(count)
            let key = random.maskKey()
            let oneShot = FrameFixture.unmasked(payload, key: key)
            var pieces = payload
            var position = 0
            pieces.withUnsafeMutableBytes { buffer in
                while position < count {
                    let maximum = random.next() % 4 == 0 ? 200 : 9
                    let length = min(count - position, 1 + Int(random.next() % UInt64(maximum)))
                    Cipher.mask(UnsafeMutableRawBufferPointer(rebasing: buffer[position..<(position + length)]), key: key, offset: position)
                    position += length
                }
            }
            let same = pieces == oneShot
            #expect(same, "round \(round) count \(count)")
        }
    }

    /// A masked frame whose payload arrives in pieces (as reads deliver it) decodes to the
    /// original payload when each piece is unmasked at its running offset.
    @Test func maskedFrameReadInPieces() {
        var random = FrameTestRandom(seed: 0xF5A)
        for _ in 0..<50 {
            let payload = random.bytes(Int(random.next() % 5000))
            let header = Header(opcode: .binary, masked: true, maskKey: random.maskKey(), length: UInt64(payload.count))
            var wire = Frame(header: header, payload: payload).wireBytes()
            guard case .header(let decoded, let size) = Header.decode(wire) else { Issue.record("header"); continue }
            var offset = 0
            wire.withUnsafeMutableBytes { bytes in
                var position = size
                while position < bytes.count {
                    let length = min(bytes.count - position, 1 + Int(random.next() % 700))
                    Cipher.mask(UnsafeMutableRawBufferPointer(rebasing: bytes[position..<(position + length)]), key: decoded.maskKey, offset: offset)
                    offset += length
                    position += length
                }
            }
            let restored = Array(wire[size...]) == payload
            #expect(restored, "payload of \(payload.count) bytes")
        }
    }

    @Test func emptyBuffersAreFine() {
        Cipher.mask(UnsafeMutableRawBufferPointer(start: nil, count: 0), key: 0x1234_5678, offset: 3)
        Cipher.maskBytewise(UnsafeMutableRawBufferPointer(start: nil, count: 0), key: 0x1234_5678, offset: 3)
        var empty: [UInt8] = []
        empty.withUnsafeMutableBytes { Cipher.mask($0, key: 0xFFFF_FFFF) }
        #expect(empty.isEmpty)
    }

    @Test func randomKeysVary() {
        let keys = Set((0..<64).map { _ in Cipher.randomKey() })
        #expect(keys.count > 60)
    }
}
