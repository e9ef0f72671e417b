import Testing
import WebSocket

// Shared helpers for the frame, cipher, UTF-8, close and violation tests. (The file name
// follows the `Frame*Tests.swift` pattern these tests own; it holds no tests itself.)

/// SplitMix64: a small, fast, seeded generator so that every property test is
/// reproducible; a failure message carries the seed and case.
struct FrameTestRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }

    mutating func bytes(_ count: Int) -> [UInt8] {
        var result = [UInt8]()
        result.reserveCapacity(count)
        while result.count < count {
            var word = next()
            for _ in 0..<min(8, count - result.count) {
                result.append(UInt8(truncatingIfNeeded: word))
                word >>= 8
            }
        }
        return result
    }

    /// A mask key from four random wire octets.
    mutating func maskKey() -> UInt32 {
        Header.maskKey(byte(), byte(), byte(), byte())
    }
}

enum FrameFixture {
    /// Parses "81 05 48" or "0x81 0x05 0x48" into bytes.
    static func hex(_ text: String) -> [UInt8] {
        text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "," }).map { token in
            var digits = Substring(token)
            if digits.hasPrefix("0x") || digits.hasPrefix("0X") { digits = digits.dropFirst(2) }
            guard let value = UInt8(digits, radix: 16) else { fatalError("bad hex token \(token)") }
            return value
        }
    }

    static func hexString(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
    }

    /// The header, if `bytes` start with a complete one.
    static func decodeHeader(_ bytes: [UInt8]) -> (header: Header, size: Int)? {
        if case .header(let header, let size) = Header.decode(bytes) { return (header, size) }
        return nil
    }

    /// Unmasks a copy of `bytes` with `key`, as if they began `offset` bytes into the payload.
    static func unmasked(_ bytes: [UInt8], key: UInt32, offset: Int = 0) -> [UInt8] {
        var copy = bytes
        copy.withUnsafeMutableBytes { Cipher.mask($0, key: key, offset: offset) }
        return copy
    }

    /// The reference encoder: RFC 6455 section 5.2 written out field by field.
    static func referenceEncoding(_ header: Header, lengthEncoding: LengthEncoding = .minimal) -> [UInt8] {
        var first: UInt8 = header.opcode.rawValue
        if header.fin { first |= 0x80 }
        if header.rsv1 { first |= 0x40 }
        if header.rsv2 { first |= 0x20 }
        if header.rsv3 { first |= 0x10 }
        let maskBit: UInt8 = header.masked ? 0x80 : 0
        var bytes = [first]
        let form: LengthEncoding
        if lengthEncoding == .minimal {
            form = header.length < 126 ? .minimal : header.length <= 0xFFFF ? .extended16 : .extended64
        } else {
            form = lengthEncoding
        }
        switch form {
        case .minimal:
            bytes.append(maskBit | UInt8(header.length))
        case .extended16:
            bytes.append(maskBit | 126)
            bytes += [UInt8(header.length >> 8 & 0xFF), UInt8(header.length & 0xFF)]
        case .extended64:
            bytes.append(maskBit | 127)
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(header.length >> UInt64(shift) & 0xFF)) }
        }
        if header.masked { bytes += header.maskKeyBytes }
        return bytes
    }
}
