import Glibc

/// Why a URL or address was rejected: one line meant for the user.
///
/// Note: Foundation also has a `URLError`; a file that imports both must write
/// `WebSocketTransport.URLError`.
public struct URLError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A `ws://` or `wss://` URL (RFC 6455 section 3).
///
/// Parsing accepts what a user types: the scheme and host are case-insensitive, the
/// default ports are 80 and 443, an IPv6 host is written in brackets (`ws://[::1]:8080/`),
/// the path defaults to "/" and the query is kept. Characters that may not appear in a
/// path or query (spaces, non-ASCII) are percent-encoded. Rejected with a clear message:
/// other schemes (with a hint for http/https), user info, fragments (RFC 6455 forbids
/// them), bad ports and malformed hosts.
public struct WebSocketURL: Equatable, Sendable, CustomStringConvertible {
    public var isSecure: Bool
    /// Lowercased; an IPv6 literal without brackets ("::1").
    public var host: String
    public var port: Int
    /// The path and query sent in the request line: "/chat?room=1".
    public var requestTarget: String

    public init(isSecure: Bool, host: String, port: Int, requestTarget: String = "/") {
        self.isSecure = isSecure
        self.host = host
        self.port = port
        self.requestTarget = requestTarget
    }

    public var scheme: String { isSecure ? "wss" : "ws" }
    public var defaultPort: Int { isSecure ? 443 : 80 }

    /// The path part of `requestTarget`.
    public var path: String {
        guard let mark = requestTarget.firstIndex(of: "?") else { return requestTarget }
        return String(requestTarget[..<mark])
    }

    /// The query part of `requestTarget`, without "?"; nil when there is none.
    public var query: String? {
        guard let mark = requestTarget.firstIndex(of: "?") else { return nil }
        return String(requestTarget[requestTarget.index(after: mark)...])
    }

    /// The Host header's value: host[:port], the port only when it is not the default,
    /// an IPv6 host in brackets.
    public var hostHeader: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return port == defaultPort ? shownHost : "\(shownHost):\(port)"
    }

    /// The normalized URL: "ws://example.com:8080/chat?x=1".
    public var description: String { "\(scheme)://\(hostHeader)\(requestTarget)" }

    public static func parse(_ text: String) throws(URLError) -> WebSocketURL {
        let input = trimmed(text)
        if input.isEmpty {
            throw URLError("empty URL: expected something like ws://host:port/path")
        }
        let lowered = input.lowercased()
        let isSecure: Bool
        let rest: Substring
        if lowered.hasPrefix("ws://") {
            isSecure = false
            rest = input.dropFirst(5)
        } else if lowered.hasPrefix("wss://") {
            isSecure = true
            rest = input.dropFirst(6)
        } else {
            throw schemeError(input, lowered: lowered)
        }

        // authority = everything up to the first "/", "?" or "#".
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let remainder = rest[authorityEnd...]

        if authority.contains("@") {
            throw URLError("user info ('...@' before the host) is not allowed in a WebSocket URL; send credentials in an Authorization header instead")
        }
        if authority.isEmpty {
            throw URLError("missing host in '\(input)': expected \(isSecure ? "wss" : "ws")://HOST[:PORT]/PATH")
        }
        let (host, portText) = try splitAuthority(authority)
        var port = isSecure ? 443 : 80
        if let portText, !portText.isEmpty {
            guard let value = parsePort(portText), value >= 1 else {
                throw URLError("invalid port '\(portText)' in '\(input)': expected a number from 1 to 65535")
            }
            port = value
        }

        if let hash = remainder.firstIndex(of: "#") {
            let fragment = remainder[hash...]
            throw URLError("fragment '\(fragment)' is not allowed in a WebSocket URL (RFC 6455 section 3); remove it, or write '#' as %23 if it belongs to the path or query")
        }
        var target = "/"
        if !remainder.isEmpty {
            let queryStart = remainder.firstIndex(of: "?")
            let pathPart = remainder[..<(queryStart ?? remainder.endIndex)]
            if !pathPart.isEmpty {
                target = try encodeComponent(pathPart, name: "path", allowQuestionMark: false)
            }
            if let queryStart {
                let queryPart = remainder[remainder.index(after: queryStart)...]
                // RFC 6455 section 3: "?" and the query only when the query is non-empty.
                if !queryPart.isEmpty {
                    target += "?" + (try encodeComponent(queryPart, name: "query", allowQuestionMark: true))
                }
            }
        }
        return WebSocketURL(isSecure: isSecure, host: host, port: port, requestTarget: target)
    }

    private static func schemeError(_ input: String, lowered: String) -> URLError {
        for (http, ws) in [("http://", "ws://"), ("https://", "wss://")] where lowered.hasPrefix(http) {
            let suggestion = ws + input.dropFirst(http.count)
            return URLError("'\(input)' is an HTTP URL; a WebSocket URL starts with \(ws) (try \(suggestion))")
        }
        if lowered.hasPrefix("ws:") || lowered.hasPrefix("wss:") {
            let scheme = lowered.hasPrefix("ws:") ? "ws" : "wss"
            return URLError("missing '//' after '\(scheme):' in '\(input)': expected \(scheme)://HOST[:PORT]/PATH")
        }
        if let separator = input.firstRange(of: "://") {
            let scheme = input[..<separator.lowerBound]
            return URLError("unsupported scheme '\(scheme)' in '\(input)': a WebSocket URL starts with ws:// or wss://")
        }
        return URLError("missing scheme in '\(input)': write ws://\(input) (or wss:// for TLS)")
    }

    /// "host", "host:port", "[v6]", "[v6]:port" → (host, port text or nil).
    private static func splitAuthority(_ authority: Substring) throws(URLError) -> (String, Substring?) {
        if authority.first == "[" {
            guard let close = authority.firstIndex(of: "]") else {
                throw URLError("unterminated IPv6 address '\(authority)': missing ']'")
            }
            let literal = authority[authority.index(after: authority.startIndex)..<close]
            let host = try validateIPv6(literal)
            let after = authority[authority.index(after: close)...]
            if after.isEmpty { return (host, nil) }
            guard after.first == ":" else {
                throw URLError("unexpected '\(after)' after IPv6 address [\(literal)]: expected ':PORT'")
            }
            return (host, after.dropFirst())
        }
        let colons = authority.filter { $0 == ":" }.count
        if colons > 1 {
            throw URLError("IPv6 address '\(authority)' must be in brackets, e.g. ws://[::1]:8080/")
        }
        if colons == 1 {
            let colon = authority.firstIndex(of: ":")!
            let host = try validateHostName(authority[..<colon])
            return (host, authority[authority.index(after: colon)...])
        }
        return (try validateHostName(authority), nil)
    }

    /// Percent-encodes what RFC 3986 does not allow in a path or query; rejects control
    /// characters and malformed escapes.
    private static func encodeComponent(_ text: Substring, name: String, allowQuestionMark: Bool) throws(URLError) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count)
        let bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.count,
                      isHexDigit(bytes[index + 1]), isHexDigit(bytes[index + 2]) else {
                    let shown = String(decoding: bytes[index..<min(index + 3, bytes.count)], as: UTF8.self)
                    throw URLError("invalid percent-encoding '\(shown)' in the \(name): '%' must be followed by two hex digits (write a literal '%' as %25)")
                }
                output.append(contentsOf: bytes[index...index + 2])
                index += 3
                continue
            }
            if byte < 0x20 || byte == 0x7F {
                throw URLError("control character \\x\(hex(byte)) in the \(name) of the URL")
            }
            if isAllowedInComponent(byte) || (allowQuestionMark && byte == UInt8(ascii: "?")) {
                output.append(byte)
            } else {
                output.append(UInt8(ascii: "%"))
                output.append(contentsOf: Array(hex(byte).utf8))
            }
            index += 1
        }
        return String(decoding: output, as: UTF8.self)
    }
}

/// A listening address: "PORT", "HOST:PORT" or "[IPv6]:PORT".
public struct HostPort: Equatable, Sendable, CustomStringConvertible {
    /// Lowercased; an IPv6 literal without brackets.
    public var host: String
    /// 0 ... 65535 (0 asks the kernel for a free port).
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// "127.0.0.1:8080", "[::1]:8080".
    public var description: String { joinHostPort(host, port) }

    /// Parses "8080", "localhost:8080", "0.0.0.0:8080", "[::1]:8080" or ":8080" (the
    /// default host). The host is not resolved here.
    public static func parse(_ text: String, defaultHost: String = "127.0.0.1") throws(URLError) -> HostPort {
        let input = trimmed(text)
        if input.isEmpty {
            throw URLError("empty address: expected PORT, HOST:PORT or [IPv6]:PORT")
        }
        if input.contains("://") {
            throw URLError("'\(input)' is a URL; expected PORT, HOST:PORT or [IPv6]:PORT")
        }
        if input.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
            return HostPort(host: defaultHost, port: try port(Substring(input), in: input))
        }
        if input.first == "[" {
            guard let close = input.firstIndex(of: "]") else {
                throw URLError("unterminated IPv6 address in '\(input)': missing ']'")
            }
            let literal = input[input.index(after: input.startIndex)..<close]
            let host = try validateIPv6(literal)
            let after = input[input.index(after: close)...]
            guard after.first == ":" else {
                throw URLError("missing port in '\(input)': expected [\(literal)]:PORT")
            }
            return HostPort(host: host, port: try port(after.dropFirst(), in: input))
        }
        let colons = input.filter { $0 == ":" }.count
        if colons == 0 {
            throw URLError("missing port in '\(input)': expected \(input):PORT (or just PORT)")
        }
        if colons > 1 {
            throw URLError("IPv6 address in '\(input)' must be in brackets: [IPv6]:PORT, e.g. [::1]:8080")
        }
        let colon = input.firstIndex(of: ":")!
        let hostPart = input[..<colon]
        let host = hostPart.isEmpty ? defaultHost : try validateHostName(hostPart)
        return HostPort(host: host, port: try port(input[input.index(after: colon)...], in: input))
    }

    private static func port(_ text: Substring, in input: String) throws(URLError) -> Int {
        guard let value = parsePort(text) else {
            if text.isEmpty { throw URLError("missing port in '\(input)': expected HOST:PORT") }
            throw URLError("invalid port '\(text)' in '\(input)': expected a number from 0 to 65535")
        }
        return value
    }
}

// MARK: - Shared pieces

private func trimmed(_ text: String) -> String {
    let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
    guard let start = text.firstIndex(where: { !isSpace($0) }) else { return "" }
    let end = text.lastIndex(where: { !isSpace($0) })!
    return String(text[start...end])
}

/// Digits only, 0 ... 65535.
private func parsePort(_ text: Substring) -> Int? {
    guard !text.isEmpty, text.utf8.count <= 5,
          text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
          let value = Int(text), value <= 65535 else { return nil }
    return value
}

private func validateIPv6(_ literal: Substring) throws(URLError) -> String {
    if literal.contains("%") {
        throw URLError("IPv6 zone identifiers ('%…') are not supported: [\(literal)]")
    }
    var address = in6_addr()
    guard !literal.isEmpty, inet_pton(AF_INET6, String(literal), &address) == 1 else {
        throw URLError("invalid IPv6 address [\(literal)]")
    }
    return literal.lowercased()
}

/// A DNS name or IPv4 address: letters, digits, '-', '.', '_'; lowercased.
private func validateHostName(_ name: Substring) throws(URLError) -> String {
    if name.isEmpty { throw URLError("missing host: expected a name or address before ':'") }
    for scalar in name.unicodeScalars {
        if !scalar.isASCII {
            throw URLError("non-ASCII host name '\(name)' is not supported: use its punycode (xn--) form")
        }
        let byte = UInt8(scalar.value)
        let allowed = (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_")
        if !allowed {
            let shown = byte < 0x20 || byte == 0x7F ? "\\x\(hex(byte))" : String(Character(scalar))
            throw URLError("invalid character '\(shown)' in host '\(name)'")
        }
    }
    return name.lowercased()
}

/// RFC 3986 pchar plus "/" (the "?" of a query is handled by the caller): unreserved,
/// sub-delims, ":", "@", "/".
private func isAllowedInComponent(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
        return true
    case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"),
         UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("),
         UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"),
         UInt8(ascii: "="), UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: "/"):
        return true
    default:
        return false
    }
}

private func isHexDigit(_ byte: UInt8) -> Bool {
    (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
        || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
        || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "F"))
}

private func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789ABCDEF")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
}
