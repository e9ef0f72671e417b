// The `Sec-WebSocket-Extensions` header grammar (RFC 6455 section 9.1):
//
//     extension-list = 1#extension
//     extension      = extension-token *( ";" extension-param )
//     extension-param = token [ "=" ( token | quoted-string ) ]
//
// with optional whitespace around the separators. A quoted value must still be a token
// once unescaped (RFC 6455 section 9.1), so `server_max_window_bits="10"` means 10.

/// One extension named in the header, with its parameters in wire order. Offers and
/// responses both have this shape; a client may send several offers for the same name,
/// in order of preference.
public struct ExtensionElement: Hashable, Sendable, CustomStringConvertible {
    public var name: String
    public var parameters: [ExtensionParameter]

    public init(name: String, parameters: [ExtensionParameter] = []) {
        self.name = name
        self.parameters = parameters
    }

    /// The element as it would appear in the header: `name; param; param=value`.
    public var description: String {
        var text = name
        for parameter in parameters {
            text += "; " + parameter.description
        }
        return text
    }
}

public struct ExtensionParameter: Hashable, Sendable, CustomStringConvertible {
    public var name: String
    /// Nil when the parameter is a bare name; quoted values arrive unescaped.
    public var value: String?

    public init(_ name: String, _ value: String? = nil) {
        self.name = name
        self.value = value
    }

    public var description: String {
        guard let value else { return name }
        // Every value the grammar accepts is a token, but a hand-built one may not be.
        if !value.isEmpty && value.utf8.allSatisfy(ExtensionHeader.isTokenByte) {
            return name + "=" + value
        }
        var quoted = "\""
        for character in value {
            if character == "\"" || character == "\\" { quoted += "\\" }
            quoted.append(character)
        }
        return name + "=" + quoted + "\""
    }
}

public enum ExtensionHeader {
    /// Parses one header value into its elements. Empty list elements (`a, , b`) are
    /// skipped, as HTTP list syntax allows. Any other deviation from the grammar fails the
    /// whole value: past a syntax error there is no telling where the next offer starts.
    public static func parse(_ headerValue: String) throws(DeflateNegotiationError) -> [ExtensionElement] {
        var parser = Parser(bytes: Array(headerValue.utf8))
        return try parser.parseList()
    }

    /// Parses several header lines, which HTTP defines as equal to one line joined by commas.
    public static func parse(_ headerValues: some Sequence<String>) throws(DeflateNegotiationError) -> [ExtensionElement] {
        var elements: [ExtensionElement] = []
        for value in headerValues {
            elements += try parse(value)
        }
        return elements
    }

    /// RFC 7230 `tchar`.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    private struct Parser {
        let bytes: [UInt8]
        var position = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

        mutating func parseList() throws(DeflateNegotiationError) -> [ExtensionElement] {
            var elements: [ExtensionElement] = []
            while true {
                skipWhitespace()
                guard let byte = current else { return elements }
                if byte == UInt8(ascii: ",") {
                    position += 1
                    continue
                }
                elements.append(try parseElement())
                skipWhitespace()
                guard let separator = current else { return elements }
                guard separator == UInt8(ascii: ",") else {
                    throw unexpected("',' or ';'")
                }
                position += 1
            }
        }

        private mutating func parseElement() throws(DeflateNegotiationError) -> ExtensionElement {
            var element = ExtensionElement(name: try parseToken(what: "an extension name"))
            while true {
                skipWhitespace()
                guard current == UInt8(ascii: ";") else { return element }
                position += 1
                skipWhitespace()
                let name = try parseToken(what: "a parameter name")
                skipWhitespace()
                var value: String?
                if current == UInt8(ascii: "=") {
                    position += 1
                    skipWhitespace()
                    value = current == UInt8(ascii: "\"")
                        ? try parseQuotedToken(parameter: name)
                        : try parseToken(what: "a value for \(name)")
                }
                element.parameters.append(ExtensionParameter(name, value))
            }
        }

        private mutating func parseToken(what: String) throws(DeflateNegotiationError) -> String {
            let start = position
            while let byte = current, ExtensionHeader.isTokenByte(byte) { position += 1 }
            guard position > start else { throw unexpected(what) }
            return String(decoding: bytes[start..<position], as: UTF8.self)
        }

        /// A quoted-string whose unescaped content must be a token (RFC 6455 section 9.1).
        private mutating func parseQuotedToken(parameter: String) throws(DeflateNegotiationError) -> String {
            let opening = position
            position += 1
            var content: [UInt8] = []
            while true {
                guard let byte = current else {
                    throw .malformedHeader("unterminated quoted value for \(parameter) at offset \(opening)")
                }
                position += 1
                switch byte {
                case UInt8(ascii: "\""):
                    guard !content.isEmpty, content.allSatisfy(ExtensionHeader.isTokenByte) else {
                        throw .malformedHeader("quoted value for \(parameter) at offset \(opening) is not a token")
                    }
                    return String(decoding: content, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard let escaped = current else {
                        throw .malformedHeader("unterminated quoted value for \(parameter) at offset \(opening)")
                    }
                    position += 1
                    content.append(escaped)
                default:
                    content.append(byte)
                }
            }
        }

        private mutating func skipWhitespace() {
            while let byte = current, byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { position += 1 }
        }

        private func unexpected(_ expected: String) -> DeflateNegotiationError {
            guard let byte = current else {
                return .malformedHeader("expected \(expected) at the end of the header")
            }
            let shown = (0x21...0x7E).contains(byte)
                ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x" + String(byte, radix: 16)
            return .malformedHeader("expected \(expected) at offset \(position), found \(shown)")
        }
    }
}
