/// A piece of styled text in a pane line.
public struct Segment: Equatable, Sendable {
    public var text: String
    public var role: StyleRole

    public init(_ text: String, _ role: StyleRole) {
        self.text = text
        self.role = role
    }
}

public typealias StyledLine = [Segment]

extension Array where Element == Segment {
    /// The plain text of a styled line.
    public var plainText: String { map(\.text).joined() }
}

/// Pretty-prints a payload that is a JSON object or array (RFC 8259, strictly parsed),
/// two spaces per level, keys, strings, numbers and literals styled apart. Tokens are
/// shown as written (escapes such as `\u00e9` stay), made terminal-safe by `Visible`.
public enum JSONPretty {
    /// Payloads larger than this are not pretty-printed (the text view still shows them).
    public static let maximumBytes = 1 << 20
    static let maximumDepth = 64

    indirect enum Node {
        case object([(key: String, value: Node)])
        case array([Node])
        case scalar(String, StyleRole)
    }

    /// The pretty-printed lines, or nil when the payload is not a JSON object or array.
    public static func format(_ bytes: [UInt8], indent: Int = 2) -> [StyledLine]? {
        guard bytes.count <= maximumBytes else { return nil }
        var parser = Parser(bytes: bytes)
        guard let node = parser.parseDocument() else { return nil }
        switch node {
        case .object, .array: return render(node, indent: indent)
        case .scalar: return nil
        }
    }

    static func render(_ node: Node, indent: Int) -> [StyledLine] {
        var lines: [StyledLine] = []
        var current: StyledLine = []
        func emit(_ node: Node, level: Int) {
            switch node {
            case .scalar(let text, let role):
                current.append(Segment(text, role))
            case .array(let items):
                if items.isEmpty {
                    current.append(Segment("[]", .jsonPunctuation))
                    return
                }
                current.append(Segment("[", .jsonPunctuation))
                for (index, item) in items.enumerated() {
                    lines.append(current)
                    current = [Segment(String(repeating: " ", count: (level + 1) * indent), .jsonPunctuation)]
                    emit(item, level: level + 1)
                    if index < items.count - 1 { current.append(Segment(",", .jsonPunctuation)) }
                }
                lines.append(current)
                current = [Segment(String(repeating: " ", count: level * indent) + "]", .jsonPunctuation)]
            case .object(let members):
                if members.isEmpty {
                    current.append(Segment("{}", .jsonPunctuation))
                    return
                }
                current.append(Segment("{", .jsonPunctuation))
                for (index, member) in members.enumerated() {
                    lines.append(current)
                    current = [
                        Segment(String(repeating: " ", count: (level + 1) * indent), .jsonPunctuation),
                        Segment(member.key, .jsonKey),
                        Segment(": ", .jsonPunctuation),
                    ]
                    emit(member.value, level: level + 1)
                    if index < members.count - 1 { current.append(Segment(",", .jsonPunctuation)) }
                }
                lines.append(current)
                current = [Segment(String(repeating: " ", count: level * indent) + "}", .jsonPunctuation)]
            }
        }
        emit(node, level: 0)
        lines.append(current)
        // Drop the empty segments of indentation-only starts.
        return lines.map { $0.filter { !$0.text.isEmpty } }
    }

    struct Parser {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) {
            self.bytes = bytes
            // A UTF-8 byte order mark is tolerated.
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
        }

        mutating func parseDocument() -> Node? {
            skipWhitespace()
            guard let node = parseValue(depth: 0) else { return nil }
            skipWhitespace()
            return index == bytes.count ? node : nil
        }

        mutating func skipWhitespace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        mutating func parseValue(depth: Int) -> Node? {
            guard depth < JSONPretty.maximumDepth, index < bytes.count else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                index += 1
                var members: [(key: String, value: Node)] = []
                skipWhitespace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return .object([])
                }
                while true {
                    skipWhitespace()
                    guard let key = parseString() else { return nil }
                    skipWhitespace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
                    index += 1
                    skipWhitespace()
                    guard let value = parseValue(depth: depth + 1) else { return nil }
                    members.append((key, value))
                    skipWhitespace()
                    guard index < bytes.count else { return nil }
                    if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
                    return nil
                }
            case UInt8(ascii: "["):
                index += 1
                var items: [Node] = []
                skipWhitespace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return .array([])
                }
                while true {
                    skipWhitespace()
                    guard let value = parseValue(depth: depth + 1) else { return nil }
                    items.append(value)
                    skipWhitespace()
                    guard index < bytes.count else { return nil }
                    if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
                    return nil
                }
            case UInt8(ascii: "\""):
                return parseString().map { .scalar($0, .jsonString) }
            case UInt8(ascii: "t"):
                return literal("true")
            case UInt8(ascii: "f"):
                return literal("false")
            case UInt8(ascii: "n"):
                return literal("null")
            default:
                return parseNumber()
            }
        }

        mutating func literal(_ word: String) -> Node? {
            let utf8 = Array(word.utf8)
            guard index + utf8.count <= bytes.count, Array(bytes[index..<(index + utf8.count)]) == utf8 else { return nil }
            index += utf8.count
            return .scalar(word, .jsonLiteral)
        }

        /// A string token as written, quotes included; nil when malformed.
        mutating func parseString() -> String? {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            let start = index
            index += 1
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    index += 1
                    let token = bytes[start..<index]
                    guard let text = String(validating: token, as: UTF8.self) else { return nil }
                    return Visible.text(text)
                }
                if byte < 0x20 { return nil }
                if byte == UInt8(ascii: "\\") {
                    guard index + 1 < bytes.count else { return nil }
                    let escape = bytes[index + 1]
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                         UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        index += 2
                    case UInt8(ascii: "u"):
                        guard index + 6 <= bytes.count,
                              bytes[(index + 2)..<(index + 6)].allSatisfy({ Character(Unicode.Scalar($0)).isHexDigit })
                        else { return nil }
                        index += 6
                    default:
                        return nil
                    }
                    continue
                }
                index += 1
            }
            return nil
        }

        mutating func parseNumber() -> Node? {
            let start = index
            if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { return nil }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
            } else {
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard index < bytes.count, isDigit(bytes[index]) else { return nil }
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard index < bytes.count, isDigit(bytes[index]) else { return nil }
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            }
            return .scalar(String(decoding: bytes[start..<index], as: UTF8.self), .jsonNumber)
        }

        func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
    }
}
