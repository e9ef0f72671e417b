/// A JSON document as a tree, for HAR files and the general cases of the recording reader.
/// Numbers keep their text, so nothing is lost between reading and writing.
indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number's JSON text.
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in document order (duplicate keys kept; lookups take the last).
    case object([JSONMember])

    static func number(_ value: Int) -> JSONValue { .number(String(value)) }
    static func number(_ value: Double) -> JSONValue {
        if value.isFinite && value == value.rounded() && abs(value) < 1e15 { return .number(String(Int64(value))) }
        return .number(value.isFinite ? "\(value)" : "0")
    }

    subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last(where: { $0.key == key })?.value
    }

    var string: String? { if case .string(let s) = self { return s } else { return nil } }
    var array: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
    var bool: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    var isNull: Bool { self == .null }
    var double: Double? { if case .number(let text) = self { return Double(text) } else { return nil } }
    var int: Int? {
        guard case .number(let text) = self else { return nil }
        if let value = Int(text) { return value }
        if let value = Double(text), value == value.rounded(), abs(value) < 9e15 { return Int(value) }
        return nil
    }

    /// Parses one JSON document (surrounding whitespace allowed).
    static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONScanner.Failure) -> JSONValue {
        var scanner = JSONScanner(bytes)
        let value = try parseValue(&scanner, depth: 0)
        scanner.skipWhitespace()
        guard scanner.isAtEnd else { throw scanner.fail("unexpected \(JSONScanner.describe(scanner.bytes[scanner.pos])) after the JSON value") }
        return value
    }

    static func parse(_ bytes: [UInt8]) throws(JSONScanner.Failure) -> JSONValue {
        do {
            return try bytes.withUnsafeBytes { (raw) throws(JSONScanner.Failure) -> JSONValue in try parse(raw) }
        } catch let failure as JSONScanner.Failure {
            throw failure
        } catch {
            throw JSONScanner.Failure(offset: 0, message: "\(error)")
        }
    }

    static func parseValue(_ scanner: inout JSONScanner, depth: Int) throws(JSONScanner.Failure) -> JSONValue {
        guard depth < JSONScanner.maximumDepth else { throw scanner.fail("nesting deeper than \(JSONScanner.maximumDepth) levels") }
        switch scanner.peek() {
        case 0x22:
            let ref = try scanner.scanString()
            return .string(try scanner.decodeString(ref))
        case 0x7B:
            scanner.pos += 1
            var members: [JSONMember] = []
            if scanner.peek() == 0x7D { scanner.pos += 1; return .object(members) }
            while true {
                let key = try scanner.decodeString(try scanner.scanString())
                try scanner.expect(0x3A, "':'")
                members.append(JSONMember(key: key, value: try parseValue(&scanner, depth: depth + 1)))
                if scanner.peek() == 0x2C { scanner.pos += 1; continue }
                try scanner.expect(0x7D, "',' or '}'")
                return .object(members)
            }
        case 0x5B:
            scanner.pos += 1
            var elements: [JSONValue] = []
            if scanner.peek() == 0x5D { scanner.pos += 1; return .array(elements) }
            while true {
                elements.append(try parseValue(&scanner, depth: depth + 1))
                if scanner.peek() == 0x2C { scanner.pos += 1; continue }
                try scanner.expect(0x5D, "',' or ']'")
                return .array(elements)
            }
        case .some(0x2D), .some(0x30...0x39):
            let number = try scanner.scanNumber()
            return .number(scanner.text(number.start, number.end))
        default:
            switch try scanner.scanLiteral() {
            case true?: return .bool(true)
            case false?: return .bool(false)
            case nil: return .null
            }
        }
    }

    /// Writes the value; `indent` > 0 pretty-prints with that many spaces per level.
    func write(to out: RecordingBuffer, indent: Int = 0, level: Int = 0) {
        func newline(_ level: Int) {
            guard indent > 0 else { return }
            out.append(0x0A)
            for _ in 0..<(indent * level) { out.append(0x20) }
        }
        switch self {
        case .null: out.append("null")
        case .bool(let value): out.appendBool(value)
        case .number(let text): out.append(Array(text.utf8))
        case .string(let text): out.appendJSONString(text)
        case .array(let elements):
            out.append(0x5B)
            for (index, element) in elements.enumerated() {
                if index > 0 { out.append(0x2C) }
                newline(level + 1)
                element.write(to: out, indent: indent, level: level + 1)
            }
            if !elements.isEmpty { newline(level) }
            out.append(0x5D)
        case .object(let members):
            out.append(0x7B)
            for (index, member) in members.enumerated() {
                if index > 0 { out.append(0x2C) }
                newline(level + 1)
                out.appendJSONString(member.key)
                out.append(0x3A)
                if indent > 0 { out.append(0x20) }
                member.value.write(to: out, indent: indent, level: level + 1)
            }
            if !members.isEmpty { newline(level) }
            out.append(0x7D)
        }
    }

    func serialized(indent: Int = 0) -> [UInt8] {
        let out = RecordingBuffer()
        write(to: out, indent: indent)
        return out.array
    }
}

struct JSONMember: Sendable, Equatable {
    var key: String
    var value: JSONValue

    init(_ key: String, _ value: JSONValue) {
        self.key = key
        self.value = value
    }

    init(key: String, value: JSONValue) {
        self.key = key
        self.value = value
    }
}
