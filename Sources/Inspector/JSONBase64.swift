/// Base64 (RFC 4648 section 4) and hex for the recording format, the frame-spec language
/// and HAR files. Hand-rolled for speed: recordings carry every payload in base64, and
/// `wscope dump --json` aims at a million frames per second.
///
/// Encoding writes the standard alphabet with `=` padding. Decoding accepts padded or
/// unpadded input; `urlSafe` also accepts `-` and `_` (RFC 4648 section 5). Whitespace is
/// never accepted.
enum Base64Codec {
    /// The 64 characters of the standard alphabet.
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Every 12-bit value as its two base64 characters (first in the low byte), so that
    /// three input bytes become four characters with two table lookups.
    static let pairs: [UInt16] = {
        var table = [UInt16](repeating: 0, count: 4096)
        for value in 0..<4096 {
            table[value] = UInt16(alphabet[value >> 6]) | UInt16(alphabet[value & 63]) << 8
        }
        return table
    }()

    /// Character to 6-bit value; 0xFF for characters outside the standard alphabet.
    static let values: [UInt8] = table(urlSafe: false)
    /// Same, also accepting `-` (62) and `_` (63).
    static let urlSafeValues: [UInt8] = table(urlSafe: true)

    private static func table(urlSafe: Bool) -> [UInt8] {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, char) in alphabet.enumerated() { table[Int(char)] = UInt8(index) }
        if urlSafe {
            table[Int(UInt8(ascii: "-"))] = 62
            table[Int(UInt8(ascii: "_"))] = 63
        }
        return table
    }

    /// Characters `count` bytes take when encoded (with padding).
    @inline(__always)
    static func encodedCount(_ count: Int) -> Int { (count + 2) / 3 * 4 }

    /// Encodes `input` into `output`, which must have room for `encodedCount(input.count)`
    /// bytes. Returns the number of characters written.
    @discardableResult
    static func encode(_ input: UnsafeRawBufferPointer, into output: UnsafeMutablePointer<UInt8>) -> Int {
        let count = input.count
        guard count > 0, let source = input.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return 0 }
        return pairs.withUnsafeBufferPointer { pairs in
            let pairs = pairs.baseAddress!
            var i = 0
            var o = 0
            let whole = count - count % 3
            while i < whole {
                let v = UInt32(source[i]) << 16 | UInt32(source[i + 1]) << 8 | UInt32(source[i + 2])
                let hi = pairs[Int(v >> 12)]
                let lo = pairs[Int(v & 0xFFF)]
                UnsafeMutableRawPointer(output + o).storeBytes(of: (UInt32(hi) | UInt32(lo) << 16).littleEndian, as: UInt32.self)
                i += 3
                o += 4
            }
            let rest = count - whole
            if rest > 0 {
                let b0 = UInt32(source[i])
                let b1 = rest == 2 ? UInt32(source[i + 1]) : 0
                let v = b0 << 16 | b1 << 8
                alphabet.withUnsafeBufferPointer { table in
                    output[o] = table[Int(v >> 18)]
                    output[o + 1] = table[Int(v >> 12 & 63)]
                    output[o + 2] = rest == 2 ? table[Int(v >> 6 & 63)] : UInt8(ascii: "=")
                    output[o + 3] = UInt8(ascii: "=")
                }
                o += 4
            }
            return o
        }
    }

    static func encode(_ bytes: [UInt8]) -> String {
        let size = encodedCount(bytes.count)
        if size == 0 { return "" }
        return String(unsafeUninitializedCapacity: size) { buffer in
            bytes.withUnsafeBytes { encode($0, into: buffer.baseAddress!) }
        }
    }

    /// Bytes that `count` characters of base64 decode to, or nil when no valid input has
    /// that shape (a single dangling character).
    static func decodedCount(_ chars: UnsafeRawBufferPointer) -> Int? {
        var count = chars.count
        if count >= 1 && chars[count - 1] == UInt8(ascii: "=") {
            count -= 1
            if count >= 1 && chars[count - 1] == UInt8(ascii: "=") { count -= 1 }
            // Padding only completes a four-character group.
            guard chars.count % 4 == 0 else { return nil }
        }
        switch count % 4 {
        case 0: return count / 4 * 3
        case 2: return count / 4 * 3 + 1
        case 3: return count / 4 * 3 + 2
        default: return nil
        }
    }

    /// Where decoding failed: the offset of the offending character, or `count` when the
    /// length is impossible.
    struct DecodeError: Error, Equatable {
        var offset: Int
        var reason: String
    }

    /// Decodes into `output` (room for `decodedCount(input)` bytes). Returns the number of
    /// bytes written, or the first problem.
    static func decode(
        _ input: UnsafeRawBufferPointer, into output: UnsafeMutablePointer<UInt8>, urlSafe: Bool = false
    ) -> Result<Int, DecodeError> {
        guard let total = decodedCount(input) else {
            return .failure(DecodeError(offset: input.count, reason: "base64 text cannot be \(input.count) characters long"))
        }
        guard total > 0, let base = input.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return .success(0) }
        var count = input.count
        while count > 0 && base[count - 1] == UInt8(ascii: "=") { count -= 1 }
        let table = urlSafe ? urlSafeValues : values
        return table.withUnsafeBufferPointer { table -> Result<Int, DecodeError> in
            let t = table.baseAddress!
            var i = 0
            var o = 0
            let whole = count - count % 4
            while i < whole {
                let a = t[Int(base[i])], b = t[Int(base[i + 1])], c = t[Int(base[i + 2])], d = t[Int(base[i + 3])]
                if (a | b | c | d) & 0xC0 != 0 {
                    for k in 0..<4 where t[Int(base[i + k])] == 0xFF {
                        return .failure(DecodeError(offset: i + k, reason: "invalid base64 character"))
                    }
                }
                let v = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                output[o] = UInt8(truncatingIfNeeded: v >> 16)
                output[o + 1] = UInt8(truncatingIfNeeded: v >> 8)
                output[o + 2] = UInt8(truncatingIfNeeded: v)
                i += 4
                o += 3
            }
            let rest = count - whole
            if rest > 0 {
                var v: UInt32 = 0
                for k in 0..<rest {
                    let x = t[Int(base[i + k])]
                    if x == 0xFF { return .failure(DecodeError(offset: i + k, reason: "invalid base64 character")) }
                    v |= UInt32(x) << (18 - 6 * UInt32(k))
                }
                output[o] = UInt8(truncatingIfNeeded: v >> 16)
                o += 1
                if rest == 3 {
                    output[o] = UInt8(truncatingIfNeeded: v >> 8)
                    o += 1
                }
            }
            return .success(o)
        }
    }

    /// Decodes to a new array.
    static func decode(_ input: UnsafeRawBufferPointer, urlSafe: Bool = false) -> Result<[UInt8], DecodeError> {
        guard let size = decodedCount(input) else {
            return .failure(DecodeError(offset: input.count, reason: "base64 text cannot be \(input.count) characters long"))
        }
        var failure: DecodeError?
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            switch decode(input, into: buffer.baseAddress ?? UnsafeMutablePointer(bitPattern: 1)!, urlSafe: urlSafe) {
            case .success(let n): initialized = n
            case .failure(let error):
                // Give the array defined contents before reporting.
                buffer.initialize(repeating: 0)
                initialized = size
                failure = error
            }
        }
        if let failure { return .failure(failure) }
        return .success(bytes)
    }

    static func decode(_ text: String, urlSafe: Bool = false) -> [UInt8]? {
        var text = text
        return text.withUTF8 { utf8 in
            try? decode(UnsafeRawBufferPointer(utf8), urlSafe: urlSafe).get()
        }
    }

    /// Whether `input` is well-formed base64 of the standard alphabet, without decoding it.
    static func isValid(_ input: UnsafeRawBufferPointer) -> Bool {
        guard decodedCount(input) != nil, let base = input.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            return input.isEmpty
        }
        var count = input.count
        while count > 0 && base[count - 1] == UInt8(ascii: "=") { count -= 1 }
        return values.withUnsafeBufferPointer { table in
            let t = table.baseAddress!
            var bad: UInt8 = 0
            for i in 0..<count { bad |= t[Int(base[i])] }
            return bad & 0xC0 == 0
        }
    }
}

/// Lowercase hex.
enum HexCodec {
    static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        if bytes.isEmpty { return "" }
        return String(unsafeUninitializedCapacity: bytes.count * 2) { buffer in
            digits.withUnsafeBufferPointer { digits in
                for (i, byte) in bytes.enumerated() {
                    buffer[2 * i] = digits[Int(byte >> 4)]
                    buffer[2 * i + 1] = digits[Int(byte & 15)]
                }
            }
            return bytes.count * 2
        }
    }

    /// The value of one hex digit, or nil.
    @inline(__always)
    static func value(_ char: UInt8) -> UInt8? {
        switch char {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return char - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return char - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return char - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// Decodes an even number of hex digits, or nil.
    static func decode(_ text: Substring.UTF8View) -> [UInt8]? {
        guard text.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(text.count / 2)
        var iterator = text.makeIterator()
        while let a = iterator.next(), let b = iterator.next() {
            guard let hi = value(a), let lo = value(b) else { return nil }
            out.append(hi << 4 | lo)
        }
        return out
    }

    static func decode(_ text: String) -> [UInt8]? { decode(text[...].utf8) }
}
