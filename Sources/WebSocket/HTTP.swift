/// In-place parsing of an HTTP/1.1 request or response head (RFC 9112) in a caller-owned
/// buffer, for the WebSocket opening handshake. Nothing is copied: every name, value and
/// token is an `UnsafeRawBufferPointer` slice of the caller's buffer, valid as long as
/// that buffer is.
///
/// Lines may end in CRLF or, leniently, a bare LF. Obsolete line folding, whitespace
/// between a field name and its colon, non-token bytes in names and control bytes in
/// values are rejected, as RFC 9112 section 5 asks of a server.

// MARK: - Version

public struct HTTPVersion: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var major: Int
    public var minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)

    public static func < (lhs: HTTPVersion, rhs: HTTPVersion) -> Bool {
        (lhs.major, lhs.minor) < (rhs.major, rhs.minor)
    }

    public var description: String { "HTTP/\(major).\(minor)" }

    /// Parses exactly `HTTP/D.D`.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> HTTPVersion? {
        guard bytes.count == 8,
            bytes[0] == UInt8(ascii: "H"), bytes[1] == UInt8(ascii: "T"), bytes[2] == UInt8(ascii: "T"),
            bytes[3] == UInt8(ascii: "P"), bytes[4] == UInt8(ascii: "/"), bytes[6] == UInt8(ascii: "."),
            ASCII.isDigit(bytes[5]), ASCII.isDigit(bytes[7])
        else { return nil }
        return HTTPVersion(major: Int(bytes[5] &- UInt8(ascii: "0")), minor: Int(bytes[7] &- UInt8(ascii: "0")))
    }
}

// MARK: - Errors

/// Why a head is not valid HTTP/1.1. Line numbers count from 1 at the start line.
public enum HTTPHeadError: Error, Hashable, Sendable, CustomStringConvertible {
    case malformedRequestLine
    case malformedStatusLine
    case headerLineWithoutColon(line: Int)
    case whitespaceBeforeColon(line: Int)
    case invalidHeaderName(line: Int)
    /// A control byte (or a bare CR) in a field value.
    case invalidHeaderValue(line: Int)
    /// A line starting with whitespace: obs-fold, which RFC 9112 section 5.2 lets a server reject.
    case obsoleteLineFolding(line: Int)

    public var description: String {
        switch self {
        case .malformedRequestLine: return "malformed request line"
        case .malformedStatusLine: return "malformed status line"
        case .headerLineWithoutColon(let line): return "header line \(line) has no colon"
        case .whitespaceBeforeColon(let line): return "header line \(line) has whitespace before the colon"
        case .invalidHeaderName(let line): return "header line \(line) has an invalid field name"
        case .invalidHeaderValue(let line): return "header line \(line) has a control character in its value"
        case .obsoleteLineFolding(let line): return "header line \(line) is folded (starts with whitespace)"
        }
    }
}

/// The result of parsing a head that may not have fully arrived.
public enum HTTPParseResult<Head> {
    /// The empty line that ends the head has not arrived yet, and what did arrive is not
    /// (yet) known to be malformed.
    case incomplete
    case complete(Head)
    case malformed(HTTPHeadError)
}

// MARK: - Byte helpers

/// Byte-level helpers shared by the head parsers and their callers.
public enum HTTPHead {
    /// The length of the head at the start of `buffer` (start line, header lines and the
    /// empty line that ends them, terminators included), or nil when the empty line has
    /// not arrived. Whatever follows the head is body or, after an upgrade, WebSocket bytes.
    public static func length(in buffer: UnsafeRawBufferPointer) -> Int? {
        let count = buffer.count
        var searchFrom = 0
        while let lf = firstIndex(of: ASCII.lf, in: buffer, from: searchFrom) {
            // A line just ended; the head ends if the next line is empty.
            let next = lf &+ 1
            guard next < count else { return nil }
            switch buffer[next] {
            case ASCII.lf: return next &+ 1
            case ASCII.cr:
                guard next &+ 1 < count else { return nil }
                if buffer[next &+ 1] == ASCII.lf { return next &+ 2 }
            default: break
            }
            searchFrom = next
        }
        return nil
    }

    /// The first line of `buffer` without its terminator, or nil when no LF has arrived.
    public static func firstLine(in buffer: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        var lines = HTTPLineIterator(buffer)
        return lines.next()
    }

    /// `bytes` without leading and trailing spaces and tabs (OWS).
    public static func trimmed(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var start = 0
        var end = bytes.count
        while start < end, ASCII.isWhitespace(bytes[start]) { start &+= 1 }
        while end > start, ASCII.isWhitespace(bytes[end &- 1]) { end &-= 1 }
        return slice(bytes, start, end)
    }

    /// Whether `bytes` is a non-empty RFC 9110 token (`tchar`s only).
    public static func isToken(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !bytes.isEmpty else { return false }
        for byte in bytes where !ASCII.isTokenCharacter(byte) { return false }
        return true
    }

    /// ASCII case-insensitive comparison with a literal.
    public static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        equalsIgnoringCase(bytes, UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// ASCII case-insensitive comparison.
    public static func equalsIgnoringCase(_ lhs: UnsafeRawBufferPointer, _ rhs: UnsafeRawBufferPointer) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for index in 0..<lhs.count where ASCII.lowercased(lhs[index]) != ASCII.lowercased(rhs[index]) {
            return false
        }
        return true
    }

    /// Byte-for-byte comparison with a literal.
    public static func equals(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        equals(bytes, UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// Byte-for-byte comparison.
    public static func equals(_ lhs: UnsafeRawBufferPointer, _ rhs: UnsafeRawBufferPointer) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for index in 0..<lhs.count where lhs[index] != rhs[index] { return false }
        return true
    }

    /// The bytes as a String, invalid UTF-8 repaired (for display and for APIs that want
    /// strings; allocates).
    public static func string(_ bytes: UnsafeRawBufferPointer) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    /// The standard reason phrase for the statuses a handshake uses, "Unknown" otherwise.
    public static func reasonPhrase(status: Int) -> String {
        switch status {
        case 101: return "Switching Protocols"
        case 200: return "OK"
        case 301: return "Moved Permanently"
        case 302: return "Found"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 409: return "Conflict"
        case 426: return "Upgrade Required"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 505: return "HTTP Version Not Supported"
        default: return "Unknown"
        }
    }

    @inline(__always)
    static func slice(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[start..<end])
    }

    /// The index of the first `byte` at or after `start`. Skips eight bytes at a time
    /// while none of them matches.
    @inline(__always)
    static func firstIndex(of byte: UInt8, in bytes: UnsafeRawBufferPointer, from start: Int = 0) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        let count = bytes.count
        var index = start
        let pattern = UInt64(byte) &* ASCII.ones
        while index &+ 8 <= count {
            if ASCII.hasZeroByte(base.loadUnaligned(fromByteOffset: index, as: UInt64.self) ^ pattern) { break }
            index &+= 8
        }
        while index < count {
            if base.load(fromByteOffset: index, as: UInt8.self) == byte { return index }
            index &+= 1
        }
        return nil
    }
}

enum ASCII {
    static let cr = UInt8(ascii: "\r")
    static let lf = UInt8(ascii: "\n")
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")
    static let colon = UInt8(ascii: ":")
    static let comma = UInt8(ascii: ",")
    static let semicolon = UInt8(ascii: ";")
    static let equals = UInt8(ascii: "=")
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")

    @inline(__always) static func isDigit(_ byte: UInt8) -> Bool { byte &- 0x30 < 10 }
    @inline(__always) static func isWhitespace(_ byte: UInt8) -> Bool { byte == space || byte == tab }

    @inline(__always) static func lowercased(_ byte: UInt8) -> UInt8 {
        byte &- 0x41 < 26 ? byte | 0x20 : byte
    }

    /// RFC 9110 `tchar`: letters, digits and ``!#$%&'*+-.^_`|~``. Bit n of the masks is
    /// set when byte n (0-63 in the low mask, 64-127 in the high one) is a tchar.
    @inline(__always) static func isTokenCharacter(_ byte: UInt8) -> Bool {
        let low: UInt64 = 0x03FF_6CFA_0000_0000
        let high: UInt64 = 0x57FF_FFFF_C7FF_FFFE
        return byte < 128 && ((byte < 64 ? low : high) &>> UInt64(byte & 63)) & 1 != 0
    }

    /// RFC 9110 field-value bytes: visible ASCII, obs-text, space and tab.
    @inline(__always) static func isFieldValueCharacter(_ byte: UInt8) -> Bool {
        (byte >= 0x20 && byte != 0x7F) || byte == tab
    }

    /// Whether every byte is a field-value byte. Words without a control byte or DEL are
    /// passed eight bytes at a time.
    static func isFieldValue(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var index = 0
        while index &+ 8 <= count {
            let word = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            if hasByteBelow0x20(word) || hasZeroByte(word ^ (0x7F &* ones)) {
                for offset in 0..<8 where !isFieldValueCharacter(base.load(fromByteOffset: index &+ offset, as: UInt8.self)) {
                    return false
                }
            }
            index &+= 8
        }
        while index < count {
            if !isFieldValueCharacter(base.load(fromByteOffset: index, as: UInt8.self)) { return false }
            index &+= 1
        }
        return true
    }

    static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// Whether any byte of `word` is zero (the classic bit trick: exact about whether,
    /// though not about which).
    @inline(__always) static func hasZeroByte(_ word: UInt64) -> Bool {
        (word &- ones) & ~word & highBits != 0
    }

    /// Whether any byte of `word` is below 0x20.
    @inline(__always) static func hasByteBelow0x20(_ word: UInt64) -> Bool {
        (word &- 0x20 &* ones) & ~word & highBits != 0
    }

    /// Bytes allowed in a request-target: anything visible (we leave URI syntax to the
    /// application, but never let whitespace or control bytes through).
    @inline(__always) static func isTargetCharacter(_ byte: UInt8) -> Bool {
        byte > 0x20 && byte != 0x7F
    }
}

// MARK: - Lines

/// Splits bytes into lines ending in LF, handing out each line without its CR LF (or LF).
/// A trailing fragment without LF is not a line.
public struct HTTPLineIterator: IteratorProtocol {
    private let bytes: UnsafeRawBufferPointer
    /// Where the next line starts.
    public private(set) var position = 0

    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    public mutating func next() -> UnsafeRawBufferPointer? {
        guard let lf = HTTPHead.firstIndex(of: ASCII.lf, in: bytes, from: position) else { return nil }
        var end = lf
        if end > position, bytes[end &- 1] == ASCII.cr { end &-= 1 }
        let line = HTTPHead.slice(bytes, position, end)
        position = lf &+ 1
        return line
    }
}

// MARK: - Start lines

/// `method SP request-target SP HTTP-version`.
public struct HTTPRequestLine {
    public let method: UnsafeRawBufferPointer
    public let target: UnsafeRawBufferPointer
    public let version: HTTPVersion

    /// Parses one line (without its terminator); nil when it is not a request line.
    public init?(parsing line: UnsafeRawBufferPointer) {
        guard let firstSpace = HTTPHead.firstIndex(of: ASCII.space, in: line),
            let secondSpace = HTTPHead.firstIndex(of: ASCII.space, in: line, from: firstSpace &+ 1)
        else { return nil }
        let method = HTTPHead.slice(line, 0, firstSpace)
        let target = HTTPHead.slice(line, firstSpace &+ 1, secondSpace)
        guard HTTPHead.isToken(method), !target.isEmpty,
            let version = HTTPVersion.parse(HTTPHead.slice(line, secondSpace &+ 1, line.count))
        else { return nil }
        for byte in target where !ASCII.isTargetCharacter(byte) { return nil }
        self.method = method
        self.target = target
        self.version = version
    }

    /// Whether `partial`, the start of a request whose first line has not ended yet, can
    /// still become a request line. Lets a server turn away garbage (a TLS hello on a
    /// plain port, say) before the head size limit is reached.
    public static func isPlausiblePrefix(_ partial: UnsafeRawBufferPointer) -> Bool {
        for byte in partial {
            if byte == ASCII.space { return true }
            if !ASCII.isTokenCharacter(byte) { return false }
        }
        return true
    }
}

/// `HTTP-version SP status-code SP [reason-phrase]`.
public struct HTTPStatusLine {
    public let version: HTTPVersion
    public let status: Int
    public let reason: UnsafeRawBufferPointer

    /// Parses one line (without its terminator); nil when it is not a status line. A
    /// missing space after the status code is tolerated.
    public init?(parsing line: UnsafeRawBufferPointer) {
        guard line.count >= 12, line[8] == ASCII.space,
            let version = HTTPVersion.parse(HTTPHead.slice(line, 0, 8)),
            ASCII.isDigit(line[9]), ASCII.isDigit(line[10]), ASCII.isDigit(line[11])
        else { return nil }
        var reasonStart = 12
        if line.count > 12 {
            guard line[12] == ASCII.space else { return nil }
            reasonStart = 13
        }
        let reason = HTTPHead.slice(line, reasonStart, line.count)
        for byte in reason where !ASCII.isFieldValueCharacter(byte) { return nil }
        self.version = version
        self.status = Int(line[9] &- 0x30) * 100 + Int(line[10] &- 0x30) * 10 + Int(line[11] &- 0x30)
        self.reason = reason
    }
}

// MARK: - Header fields

/// One header field: the name as sent and the value without surrounding whitespace.
public struct HTTPHeaderField {
    public let name: UnsafeRawBufferPointer
    public let value: UnsafeRawBufferPointer

    /// Whether the field's name is `lowercaseName`, ignoring case.
    public func hasName(_ lowercaseName: StaticString) -> Bool {
        HTTPHead.equalsIgnoringCase(name, lowercaseName)
    }

    /// Parses one header line (without its terminator). `lineNumber` only labels the error.
    public static func parse(_ line: UnsafeRawBufferPointer, lineNumber: Int) -> Result<HTTPHeaderField, HTTPHeadError> {
        guard let first = line.first else { return .failure(.headerLineWithoutColon(line: lineNumber)) }
        if ASCII.isWhitespace(first) { return .failure(.obsoleteLineFolding(line: lineNumber)) }
        guard let colon = HTTPHead.firstIndex(of: ASCII.colon, in: line) else {
            return .failure(.headerLineWithoutColon(line: lineNumber))
        }
        let name = HTTPHead.slice(line, 0, colon)
        guard let last = name.last else { return .failure(.invalidHeaderName(line: lineNumber)) }
        if ASCII.isWhitespace(last) { return .failure(.whitespaceBeforeColon(line: lineNumber)) }
        guard HTTPHead.isToken(name) else { return .failure(.invalidHeaderName(line: lineNumber)) }
        let value = HTTPHead.trimmed(HTTPHead.slice(line, colon &+ 1, line.count))
        guard ASCII.isFieldValue(value) else { return .failure(.invalidHeaderValue(line: lineNumber)) }
        return .success(HTTPHeaderField(name: name, value: value))
    }
}

/// The header fields of a parsed head, in order. Iterating is cheap (a scan for line
/// ends); the head parsers have already validated every line.
public struct HTTPHeaderFields: Sequence {
    /// The header lines with their terminators, up to and including the empty line.
    public let bytes: UnsafeRawBufferPointer

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    public struct Iterator: IteratorProtocol {
        var lines: HTTPLineIterator

        public mutating func next() -> HTTPHeaderField? {
            // The lines were validated when the head was parsed: just split them.
            guard let line = lines.next(), !line.isEmpty,
                let colon = HTTPHead.firstIndex(of: ASCII.colon, in: line)
            else { return nil }
            return HTTPHeaderField(
                name: HTTPHead.slice(line, 0, colon),
                value: HTTPHead.trimmed(HTTPHead.slice(line, colon &+ 1, line.count)))
        }
    }

    public func makeIterator() -> Iterator { Iterator(lines: HTTPLineIterator(bytes)) }

    /// The value of the first field named `lowercaseName` (ignoring case).
    public func first(named lowercaseName: StaticString) -> UnsafeRawBufferPointer? {
        for field in self where field.hasName(lowercaseName) { return field.value }
        return nil
    }

    /// How many fields are named `lowercaseName` (ignoring case).
    public func count(named lowercaseName: StaticString) -> Int {
        var count = 0
        for field in self where field.hasName(lowercaseName) { count &+= 1 }
        return count
    }

    /// Whether any field named `lowercaseName` has `token` in its comma-separated list
    /// (both compared ignoring case), as for `Connection: keep-alive, Upgrade`.
    public func containsToken(_ token: StaticString, inFieldsNamed lowercaseName: StaticString) -> Bool {
        for field in self where field.hasName(lowercaseName) {
            if HTTPTokenList(field.value).containsToken(token) { return true }
        }
        return false
    }

    /// All fields as strings, for display (allocates).
    public var strings: [(String, String)] {
        map { (HTTPHead.string($0.name), HTTPHead.string($0.value)) }
    }

    /// Validates the header lines that follow the start line; `bytes` ends with the empty
    /// line. Returns the first error.
    static func validate(_ bytes: UnsafeRawBufferPointer) -> HTTPHeadError? {
        var lines = HTTPLineIterator(bytes)
        var lineNumber = 2
        while let line = lines.next(), !line.isEmpty {
            if case .failure(let error) = HTTPHeaderField.parse(line, lineNumber: lineNumber) { return error }
            lineNumber &+= 1
        }
        return nil
    }
}

// MARK: - Heads

/// A request head parsed in place.
public struct HTTPRequestHead {
    public let requestLine: HTTPRequestLine
    public let fields: HTTPHeaderFields
    /// Bytes of the buffer that belong to the head, its final empty line included.
    public let length: Int

    public var method: UnsafeRawBufferPointer { requestLine.method }
    public var target: UnsafeRawBufferPointer { requestLine.target }
    public var version: HTTPVersion { requestLine.version }

    /// Parses the request head at the start of `buffer`. An incomplete head whose first
    /// line is already malformed (or cannot become a request line) is reported as
    /// malformed at once.
    public static func parse(_ buffer: UnsafeRawBufferPointer) -> HTTPParseResult<HTTPRequestHead> {
        guard let length = HTTPHead.length(in: buffer) else {
            if let line = HTTPHead.firstLine(in: buffer) {
                if HTTPRequestLine(parsing: line) == nil { return .malformed(.malformedRequestLine) }
            } else if !HTTPRequestLine.isPlausiblePrefix(buffer) {
                return .malformed(.malformedRequestLine)
            }
            return .incomplete
        }
        let head = HTTPHead.slice(buffer, 0, length)
        var lines = HTTPLineIterator(head)
        guard let firstLine = lines.next(), let requestLine = HTTPRequestLine(parsing: firstLine) else {
            return .malformed(.malformedRequestLine)
        }
        let fieldBytes = HTTPHead.slice(head, lines.position, length)
        if let error = HTTPHeaderFields.validate(fieldBytes) { return .malformed(error) }
        return .complete(HTTPRequestHead(requestLine: requestLine, fields: HTTPHeaderFields(bytes: fieldBytes), length: length))
    }
}

/// A response head parsed in place.
public struct HTTPResponseHead {
    public let statusLine: HTTPStatusLine
    public let fields: HTTPHeaderFields
    /// Bytes of the buffer that belong to the head, its final empty line included.
    public let length: Int

    public var version: HTTPVersion { statusLine.version }
    public var status: Int { statusLine.status }
    public var reason: UnsafeRawBufferPointer { statusLine.reason }

    /// Parses the response head at the start of `buffer`.
    public static func parse(_ buffer: UnsafeRawBufferPointer) -> HTTPParseResult<HTTPResponseHead> {
        guard let length = HTTPHead.length(in: buffer) else {
            if let line = HTTPHead.firstLine(in: buffer), HTTPStatusLine(parsing: line) == nil {
                return .malformed(.malformedStatusLine)
            }
            return .incomplete
        }
        let head = HTTPHead.slice(buffer, 0, length)
        var lines = HTTPLineIterator(head)
        guard let firstLine = lines.next(), let statusLine = HTTPStatusLine(parsing: firstLine) else {
            return .malformed(.malformedStatusLine)
        }
        let fieldBytes = HTTPHead.slice(head, lines.position, length)
        if let error = HTTPHeaderFields.validate(fieldBytes) { return .malformed(error) }
        return .complete(HTTPResponseHead(statusLine: statusLine, fields: HTTPHeaderFields(bytes: fieldBytes), length: length))
    }
}

// MARK: - Lists

/// One element of a comma-separated list: `token *( ";" parameter )`.
public struct HTTPListElement {
    /// The part before the first `;`, trimmed.
    public let token: UnsafeRawBufferPointer
    /// The `;`-separated parameters after the token.
    public let parameters: HTTPParameters
    /// The whole element, trimmed.
    public let text: UnsafeRawBufferPointer
}

/// The elements of a comma-separated field value (RFC 9110 section 5.6.1), such as
/// `keep-alive, Upgrade` or `permessage-deflate; client_max_window_bits, x-foo`. Empty
/// elements are skipped; commas inside quoted strings do not split.
public struct HTTPTokenList: Sequence {
    public let value: UnsafeRawBufferPointer

    public init(_ value: UnsafeRawBufferPointer) { self.value = value }

    public struct Iterator: IteratorProtocol {
        let value: UnsafeRawBufferPointer
        var position = 0

        public mutating func next() -> HTTPListElement? {
            while position < value.count {
                let start = position
                let end = HTTPTokenList.endOfItem(in: value, from: start, separator: ASCII.comma)
                position = end &+ 1
                let text = HTTPHead.trimmed(HTTPHead.slice(value, start, end))
                if text.isEmpty { continue }
                let semicolon = HTTPHead.firstIndex(of: ASCII.semicolon, in: text) ?? text.count
                let token = HTTPHead.trimmed(HTTPHead.slice(text, 0, semicolon))
                let parameters = semicolon < text.count ? HTTPHead.slice(text, semicolon &+ 1, text.count) : HTTPHead.slice(text, text.count, text.count)
                return HTTPListElement(token: token, parameters: HTTPParameters(parameters), text: text)
            }
            return nil
        }
    }

    public func makeIterator() -> Iterator { Iterator(value: value) }

    /// Whether an element's token equals `lowercaseToken`, ignoring case.
    public func containsToken(_ lowercaseToken: StaticString) -> Bool {
        for element in self where HTTPHead.equalsIgnoringCase(element.token, lowercaseToken) { return true }
        return false
    }

    /// The index of the next unquoted `separator` at or after `start`, or the end.
    static func endOfItem(in bytes: UnsafeRawBufferPointer, from start: Int, separator: UInt8) -> Int {
        var index = start
        var inQuotes = false
        while index < bytes.count {
            let byte = bytes[index]
            if inQuotes {
                if byte == ASCII.backslash {
                    index &+= 1
                } else if byte == ASCII.quote {
                    inQuotes = false
                }
            } else if byte == ASCII.quote {
                inQuotes = true
            } else if byte == separator {
                return index
            }
            index &+= 1
        }
        return bytes.count
    }
}

/// One `name[=value]` parameter. A quoted value is handed out without its quotes; escapes
/// inside it are left as they are.
public struct HTTPParameter {
    public let name: UnsafeRawBufferPointer
    public let value: UnsafeRawBufferPointer?
}

/// The `;`-separated parameters of a list element.
public struct HTTPParameters: Sequence {
    public let bytes: UnsafeRawBufferPointer

    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    public struct Iterator: IteratorProtocol {
        let bytes: UnsafeRawBufferPointer
        var position = 0

        public mutating func next() -> HTTPParameter? {
            while position < bytes.count {
                let start = position
                let end = HTTPTokenList.endOfItem(in: bytes, from: start, separator: ASCII.semicolon)
                position = end &+ 1
                let text = HTTPHead.trimmed(HTTPHead.slice(bytes, start, end))
                if text.isEmpty { continue }
                guard let equals = HTTPHead.firstIndex(of: ASCII.equals, in: text) else {
                    return HTTPParameter(name: text, value: nil)
                }
                let name = HTTPHead.trimmed(HTTPHead.slice(text, 0, equals))
                var value = HTTPHead.trimmed(HTTPHead.slice(text, equals &+ 1, text.count))
                if value.count >= 2, value[0] == ASCII.quote, value[value.count &- 1] == ASCII.quote {
                    value = HTTPHead.slice(value, 1, value.count &- 1)
                }
                return HTTPParameter(name: name, value: value)
            }
            return nil
        }
    }

    public func makeIterator() -> Iterator { Iterator(bytes: bytes) }
}
