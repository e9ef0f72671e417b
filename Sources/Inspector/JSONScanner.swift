/// A strict JSON (RFC 8259) scanner over borrowed bytes. It finds values in place —
/// strings come back as byte ranges, decoded only when asked — so the recording reader can
/// walk a line's fields without allocating. `JSONValue` builds full trees on top of it.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
#if canImport(WebSocket)
import WebSocket
#endif

/// A string value found in place: the bytes between the quotes.
struct JSONStringRef {
    var start: Int
    var end: Int
    /// The string contains backslash escapes, so its bytes are not its value.
    var escaped: Bool
    /// The string contains bytes >= 0x80 (checked as UTF-8 when decoded).
    var nonASCII: Bool

    var count: Int { end - start }
}

struct JSONScanner {
    /// Where and why the text is not JSON (or not the JSON we expected).
    struct Failure: Error, Equatable {
        var offset: Int
        var message: String
    }

    /// Nesting deeper than this is refused rather than risking the stack.
    static let maximumDepth = 512

    let bytes: UnsafeRawBufferPointer
    var pos: Int

    init(_ bytes: UnsafeRawBufferPointer, position: Int = 0) {
        self.bytes = bytes
        self.pos = position
    }

    var isAtEnd: Bool { pos >= bytes.count }

    @inline(__always)
    func byte(at index: Int) -> UInt8 { bytes[index] }

    @inline(__always)
    mutating func skipWhitespace() {
        while pos < bytes.count {
            switch bytes[pos] {
            case 0x20, 0x09, 0x0A, 0x0D: pos &+= 1
            default: return
            }
        }
    }

    /// The next non-whitespace byte, or nil at the end.
    @inline(__always)
    mutating func peek() -> UInt8? {
        skipWhitespace()
        return pos < bytes.count ? bytes[pos] : nil
    }

    func fail(_ message: String, at offset: Int? = nil) -> Failure {
        Failure(offset: offset ?? pos, message: message)
    }

    static func describe(_ byte: UInt8?) -> String {
        guard let byte else { return "end of line" }
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x" + HexCodec.encode([byte])
    }

    @inline(__always)
    mutating func expect(_ expected: UInt8, _ what: String) throws(Failure) {
        guard peek() == expected else {
            throw fail("expected \(what), found \(Self.describe(pos < bytes.count ? bytes[pos] : nil))")
        }
        pos &+= 1
    }

    /// Scans a string starting at the opening quote (whitespace allowed before it).
    mutating func scanString() throws(Failure) -> JSONStringRef {
        try expect(0x22, "'\"'")
        let start = pos
        var escaped = false
        var high: UInt8 = 0
        let n = bytes.count
        while pos < n {
            let byte = bytes[pos]
            if byte == 0x22 {
                pos &+= 1
                return JSONStringRef(start: start, end: pos - 1, escaped: escaped, nonASCII: high >= 0x80)
            }
            if byte == 0x5C {
                escaped = true
                pos &+= 1
                guard pos < n else { break }
                switch bytes[pos] {
                case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74: pos &+= 1
                case 0x75:
                    guard pos + 4 < n,
                          HexCodec.value(bytes[pos + 1]) != nil, HexCodec.value(bytes[pos + 2]) != nil,
                          HexCodec.value(bytes[pos + 3]) != nil, HexCodec.value(bytes[pos + 4]) != nil
                    else { throw fail("invalid \\u escape in string", at: pos - 1) }
                    pos &+= 5
                default:
                    throw fail("invalid escape '\\\(Character(Unicode.Scalar(bytes[pos])))' in string", at: pos - 1)
                }
                continue
            }
            if byte < 0x20 { throw fail("control character 0x\(HexCodec.encode([byte])) in string (must be escaped)") }
            high |= byte
            pos &+= 1
        }
        throw fail("unterminated string", at: start - 1)
    }

    /// The value of a scanned string. Checks UTF-8 and resolves escapes (surrogate pairs
    /// included; a lone surrogate is refused).
    func decodeString(_ ref: JSONStringRef) throws(Failure) -> String {
        let raw = UnsafeRawBufferPointer(rebasing: bytes[ref.start..<ref.end])
        if ref.nonASCII {
            var validator = UTF8Validator()
            guard validator.validate(raw), validator.isComplete else {
                throw fail("string is not valid UTF-8", at: ref.start)
            }
        }
        if !ref.escaped { return String(decoding: raw, as: UTF8.self) }
        return String(decoding: try decodeEscapes(ref), as: UTF8.self)
    }

    /// The UTF-8 bytes of a scanned string's value.
    func decodeStringBytes(_ ref: JSONStringRef) throws(Failure) -> [UInt8] {
        if !ref.escaped { return Array(UnsafeRawBufferPointer(rebasing: bytes[ref.start..<ref.end])) }
        return try decodeEscapes(ref)
    }

    private func decodeEscapes(_ ref: JSONStringRef) throws(Failure) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(ref.count)
        var i = ref.start
        while i < ref.end {
            let byte = bytes[i]
            guard byte == 0x5C else {
                out.append(byte)
                i += 1
                continue
            }
            let kind = bytes[i + 1]
            switch kind {
            case 0x22: out.append(0x22)
            case 0x5C: out.append(0x5C)
            case 0x2F: out.append(0x2F)
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            case 0x74: out.append(0x09)
            default: // u
                var unit = hex4(at: i + 2)
                i += 6
                if (0xD800...0xDBFF).contains(unit) {
                    guard i + 5 < ref.end, bytes[i] == 0x5C, bytes[i + 1] == 0x75 else {
                        throw fail("lone surrogate \\u\(String(unit, radix: 16)) in string", at: i - 6)
                    }
                    let low = hex4(at: i + 2)
                    guard (0xDC00...0xDFFF).contains(low) else {
                        throw fail("lone surrogate \\u\(String(unit, radix: 16)) in string", at: i - 6)
                    }
                    unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                } else if (0xDC00...0xDFFF).contains(unit) {
                    throw fail("lone surrogate \\u\(String(unit, radix: 16)) in string", at: i - 6)
                }
                UTF8Bytes.append(UInt32(unit), to: &out)
                continue
            }
            i += 2
        }
        return out
    }

    private func hex4(at index: Int) -> Int {
        var value = 0
        for k in 0..<4 { value = value << 4 | Int(HexCodec.value(bytes[index + k]) ?? 0) }
        return value
    }

    /// True when the scanned string's raw bytes equal `literal` (no escapes).
    @inline(__always)
    func equals(_ ref: JSONStringRef, _ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard ref.count == n, !ref.escaped else { return false }
        return memcmp(bytes.baseAddress! + ref.start, literal.utf8Start, n) == 0
    }

    /// A number's text, checked against the JSON grammar.
    mutating func scanNumber() throws(Failure) -> (start: Int, end: Int, isInteger: Bool) {
        skipWhitespace()
        let start = pos
        let n = bytes.count
        var isInteger = true
        if pos < n && bytes[pos] == UInt8(ascii: "-") { pos += 1 }
        guard pos < n, isDigit(bytes[pos]) else { throw fail("invalid number", at: start) }
        if bytes[pos] == UInt8(ascii: "0") {
            pos += 1
            if pos < n && isDigit(bytes[pos]) { throw fail("invalid number (leading zero)", at: start) }
        } else {
            while pos < n && isDigit(bytes[pos]) { pos += 1 }
        }
        if pos < n && bytes[pos] == UInt8(ascii: ".") {
            isInteger = false
            pos += 1
            guard pos < n, isDigit(bytes[pos]) else { throw fail("invalid number", at: start) }
            while pos < n && isDigit(bytes[pos]) { pos += 1 }
        }
        if pos < n && (bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E")) {
            isInteger = false
            pos += 1
            if pos < n && (bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-")) { pos += 1 }
            guard pos < n, isDigit(bytes[pos]) else { throw fail("invalid number", at: start) }
            while pos < n && isDigit(bytes[pos]) { pos += 1 }
        }
        return (start, pos, isInteger)
    }

    @inline(__always)
    private func isDigit(_ byte: UInt8) -> Bool { byte &- 0x30 < 10 }

    /// A non-negative integer that fits in UInt64; nil for anything else (after a
    /// grammatically valid number was consumed).
    mutating func scanUInt64() throws(Failure) -> UInt64? {
        let number = try scanNumber()
        guard number.isInteger, bytes[number.start] != UInt8(ascii: "-") else { return nil }
        var value: UInt64 = 0
        for i in number.start..<number.end {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(bytes[i] &- 0x30))
            if o1 || o2 { return nil }
            value = s
        }
        return value
    }

    /// The text of a number (for values kept losslessly).
    func text(_ start: Int, _ end: Int) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
    }

    /// `true`, `false` or `null`.
    mutating func scanLiteral() throws(Failure) -> Bool? {
        skipWhitespace()
        let rest = bytes.count - pos
        func matches(_ literal: StaticString) -> Bool {
            let n = literal.utf8CodeUnitCount
            return rest >= n && memcmp(bytes.baseAddress! + pos, literal.utf8Start, n) == 0
        }
        if matches("true") { pos += 4; return true }
        if matches("false") { pos += 5; return false }
        if matches("null") { pos += 4; return nil }
        throw fail("expected a value, found \(Self.describe(pos < bytes.count ? bytes[pos] : nil))")
    }

    /// True (and consumes it) when the next value is `null`.
    @inline(__always)
    mutating func scanNull() -> Bool {
        skipWhitespace()
        if bytes.count - pos >= 4 && memcmp(bytes.baseAddress! + pos, "null", 4) == 0 {
            pos += 4
            return true
        }
        return false
    }

    /// A boolean, or nil when the next value is something else (nothing consumed then).
    @inline(__always)
    mutating func scanBool() -> Bool? {
        skipWhitespace()
        let rest = bytes.count - pos
        if rest >= 4 && memcmp(bytes.baseAddress! + pos, "true", 4) == 0 { pos += 4; return true }
        if rest >= 5 && memcmp(bytes.baseAddress! + pos, "false", 5) == 0 { pos += 5; return false }
        return nil
    }

    /// Skips one value of any kind, checking it.
    mutating func skipValue(depth: Int = 0) throws(Failure) {
        guard depth < Self.maximumDepth else { throw fail("nesting deeper than \(Self.maximumDepth) levels") }
        switch peek() {
        case 0x22: _ = try scanString()
        case 0x7B:
            pos += 1
            if peek() == 0x7D { pos += 1; return }
            while true {
                _ = try scanString()
                try expect(0x3A, "':'")
                try skipValue(depth: depth + 1)
                if peek() == 0x2C { pos += 1; continue }
                try expect(0x7D, "',' or '}'")
                return
            }
        case 0x5B:
            pos += 1
            if peek() == 0x5D { pos += 1; return }
            while true {
                try skipValue(depth: depth + 1)
                if peek() == 0x2C { pos += 1; continue }
                try expect(0x5D, "',' or ']'")
                return
            }
        case .some(0x2D), .some(0x30...0x39): _ = try scanNumber()
        default: _ = try scanLiteral()
        }
    }
}

/// UTF-8 encoding of one scalar value (no validity check).
enum UTF8Bytes {
    static func append(_ scalar: UInt32, to out: inout [UInt8]) {
        switch scalar {
        case 0..<0x80: out.append(UInt8(scalar))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | scalar >> 6))
            out.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | scalar >> 12))
            out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            out.append(UInt8(0x80 | scalar & 0x3F))
        default:
            out.append(UInt8(0xF0 | scalar >> 18))
            out.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            out.append(UInt8(0x80 | scalar & 0x3F))
        }
    }
}
