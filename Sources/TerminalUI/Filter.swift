import Inspector
import WebSocket

/// The filter and search language of the `/` and `s` prompts: terms separated by spaces,
/// all of which must match (a `!` before a term negates it).
///
///     dir:in  dir:out           direction
///     op:ping  op:text  op:3    opcode by name or number; op:control, op:data
///     fin  rsv1  rsv2  rsv3  mask     header flags (!fin: FIN clear)
///     len>100  len<=5  len=0    payload length (the header's length field)
///     conn:2                    connection id
///     re:REGEX  re:"a b"        Swift regular expression on the payload text
///     kind:frame|event|error    frames, other events, violations and errors
///     anything else             text in the payload (ASCII letters in any case); for
///                               events other than frames, in the event's line
///
/// Quote a term with double quotes to include spaces (`"hello world"`, `re:"a b"`).
public struct Filter {
    public let text: String
    let terms: [Term]

    struct Term {
        var negated: Bool
        var test: Test
    }

    enum Test {
        case direction(Direction)
        case opcode(UInt8)
        case opcodeClass(control: Bool)
        case flag(Flag)
        case length(Comparison, UInt64)
        case connection(Int)
        /// In a class: `Regex` comes from a resilient library, and holding it inline would
        /// make every copy of a term go through runtime value witnesses (measured: most
        /// of the time of a header-only filter over a million entries).
        case regex(CompiledRegex)
        case kind(Kind)
        /// Lowercased, and its UTF-8 (made once: filters run over a million entries).
        case text(String, [UInt8])
    }

    final class CompiledRegex {
        let regex: Regex<AnyRegexOutput>
        init(_ regex: Regex<AnyRegexOutput>) { self.regex = regex }
    }

    enum Flag { case fin, rsv1, rsv2, rsv3, mask }
    enum Comparison { case less, lessOrEqual, equal, greaterOrEqual, greater, notEqual }
    enum Kind { case frame, event, error }

    public struct ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    public static func parse(_ text: String) throws(ParseError) -> Filter {
        var terms: [Term] = []
        for word in try tokenize(text) {
            var word = word
            var negated = false
            if word.hasPrefix("!") && word.count > 1 {
                negated = true
                word.removeFirst()
            }
            terms.append(Term(negated: negated, test: try parseTerm(word)))
        }
        return Filter(text: text, terms: terms)
    }

    public var isEmpty: Bool { terms.isEmpty }

    /// Splits on spaces; double quotes group (and are removed); `\"` is a quote.
    static func tokenize(_ text: String) throws(ParseError) -> [String] {
        var words: [String] = []
        var current = ""
        var inQuotes = false
        var hasWord = false
        var iterator = text.makeIterator()
        while let character = iterator.next() {
            if character == "\\", inQuotes, let next = iterator.next() {
                if next != "\"" && next != "\\" { current.append("\\") }
                current.append(next)
                continue
            }
            if character == "\"" {
                inQuotes.toggle()
                hasWord = true
                continue
            }
            if character == " " && !inQuotes {
                if hasWord { words.append(current) }
                current = ""
                hasWord = false
                continue
            }
            current.append(character)
            hasWord = true
        }
        if inQuotes { throw ParseError(message: "unterminated quote") }
        if hasWord { words.append(current) }
        return words
    }

    static func parseTerm(_ word: String) throws(ParseError) -> Test {
        let lower = word.lowercased()
        if lower.hasPrefix("dir:") {
            switch lower.dropFirst(4) {
            case "in", "incoming", "<", "<-": return .direction(.incoming)
            case "out", "outgoing", ">", "->": return .direction(.outgoing)
            default: throw ParseError(message: "dir: takes in or out, got '\(SafeText.escape(String(word.dropFirst(4))))'")
            }
        }
        if lower.hasPrefix("op:") || lower.hasPrefix("opcode:") {
            let value = String(lower.drop { $0 != ":" }.dropFirst())
            switch value {
            case "control": return .opcodeClass(control: true)
            case "data": return .opcodeClass(control: false)
            case "text": return .opcode(0x1)
            case "binary", "bin": return .opcode(0x2)
            case "close": return .opcode(0x8)
            case "ping": return .opcode(0x9)
            case "pong": return .opcode(0xA)
            case "cont", "continuation": return .opcode(0x0)
            default:
                var digits = Substring(value)
                if digits.hasPrefix("op") { digits = digits.dropFirst(2) }
                let parsed = digits.hasPrefix("0x") ? UInt8(digits.dropFirst(2), radix: 16)
                    : (value.hasPrefix("op") ? UInt8(digits, radix: 16) : UInt8(digits))
                guard let parsed, parsed <= 0xF else {
                    throw ParseError(message: "op: takes text, binary, close, ping, pong, cont, control, data or 0-15, got '\(SafeText.escape(value))'")
                }
                return .opcode(parsed)
            }
        }
        switch lower {
        case "fin": return .flag(.fin)
        case "rsv1": return .flag(.rsv1)
        case "rsv2": return .flag(.rsv2)
        case "rsv3": return .flag(.rsv3)
        case "mask", "masked": return .flag(.mask)
        default: break
        }
        if lower.hasPrefix("len") || lower.hasPrefix("length") {
            var rest = Substring(lower.hasPrefix("length") ? lower.dropFirst(6) : lower.dropFirst(3))
            let comparisons: [(String, Comparison)] = [
                ("<=", .lessOrEqual), (">=", .greaterOrEqual), ("!=", .notEqual), ("==", .equal),
                ("<", .less), (">", .greater), ("=", .equal), (":", .equal),
            ]
            if let (symbol, comparison) = comparisons.first(where: { rest.hasPrefix($0.0) }) {
                rest = rest.dropFirst(symbol.count)
                guard let value = parseSize(rest) else {
                    throw ParseError(message: "len\(symbol) needs a number, got '\(SafeText.escape(String(rest)))'")
                }
                return .length(comparison, value)
            }
        }
        if lower.hasPrefix("conn:") || lower.hasPrefix("#") {
            let digits = lower.hasPrefix("#") ? lower.dropFirst() : lower.dropFirst(5)
            guard let id = Int(digits) else {
                throw ParseError(message: "conn: takes a connection number, got '\(SafeText.escape(String(digits)))'")
            }
            return .connection(id)
        }
        if lower.hasPrefix("kind:") {
            switch lower.dropFirst(5) {
            case "frame", "frames": return .kind(.frame)
            case "event", "events": return .kind(.event)
            case "error", "errors": return .kind(.error)
            default: throw ParseError(message: "kind: takes frame, event or error")
            }
        }
        if word.hasPrefix("re:") {
            let pattern = String(word.dropFirst(3))
            do {
                return .regex(CompiledRegex(try Regex(pattern)))
            } catch {
                throw ParseError(message: "bad regular expression '\(SafeText.escape(pattern))': \(error)")
            }
        }
        let needle = asciiLowercased(word)
        return .text(needle, Array(needle.utf8))
    }

    /// Lowercases ASCII letters only, as `fold` does for the payload bytes.
    static func asciiLowercased(_ text: String) -> String {
        String(decoding: text.utf8.map { fold($0) }, as: UTF8.self)
    }

    /// `100`, `1k`, `64KiB`, `1m`.
    static func parseSize(_ text: Substring) -> UInt64? {
        var digits = text
        var scale: UInt64 = 1
        for (suffix, factor) in [("kib", 1024), ("mib", 1 << 20), ("kb", 1000), ("mb", 1_000_000), ("k", 1024), ("m", 1 << 20)]
        where digits.hasSuffix(suffix) {
            digits = digits.dropLast(suffix.count)
            scale = UInt64(factor)
            break
        }
        guard let value = UInt64(digits) else { return nil }
        return value.multipliedReportingOverflow(by: scale).overflow ? nil : value * scale
    }

    // MARK: Matching

    public func matches(_ entry: TimelineEntry) -> Bool {
        matches(event: entry.event)
    }

    public func matches(event: SessionEvent) -> Bool {
        var payloadText: String?
        var eventLine: String?
        for term in terms {
            // A frame-only term (dir, op, flags, len) never matches other events, negated
            // or not: `!fin` means frames with FIN clear.
            guard let result = test(term.test, event, payloadText: &payloadText, eventLine: &eventLine) else { return false }
            if result == term.negated { return false }
        }
        return true
    }

    /// nil when the term does not apply to the event.
    private func test(_ test: Test, _ event: SessionEvent, payloadText: inout String?, eventLine: inout String?) -> Bool? {
        switch test {
        case .direction(let direction):
            switch event {
            case .frame(_, let d, _, _, _), .message(_, let d, _, _): return d == direction
            case .rawSent: return direction == .outgoing
            default: return nil
            }
        case .opcode(let value):
            switch event {
            case .frame(_, _, let header, _, _): return header.opcode.rawValue == value
            case .message(_, _, let opcode, _): return opcode.rawValue == value
            default: return nil
            }
        case .opcodeClass(let control):
            guard case .frame(_, _, let header, _, _) = event else { return nil }
            return header.opcode.isControl == control
        case .flag(let flag):
            guard case .frame(_, _, let header, _, _) = event else { return nil }
            switch flag {
            case .fin: return header.fin
            case .rsv1: return header.rsv1
            case .rsv2: return header.rsv2
            case .rsv3: return header.rsv3
            case .mask: return header.masked
            }
        case .length(let comparison, let value):
            let length: UInt64
            switch event {
            case .frame(_, _, let header, _, _): length = header.length
            case .message(_, _, _, let payload): length = UInt64(payload.count)
            case .rawSent(_, let wire): length = UInt64(wire.count)
            default: return nil
            }
            switch comparison {
            case .less: return length < value
            case .lessOrEqual: return length <= value
            case .equal: return length == value
            case .greaterOrEqual: return length >= value
            case .greater: return length > value
            case .notEqual: return length != value
            }
        case .connection(let id):
            return event.connectionID == id
        case .kind(let kind):
            switch (kind, event) {
            case (.frame, .frame), (.frame, .rawSent), (.frame, .message): return true
            case (.error, .violation), (.error, .error), (.error, .handshakeFailed): return true
            case (.event, .frame), (.event, .rawSent), (.event, .message): return false
            case (.event, _): return true
            default: return false
            }
        case .regex(let compiled):
            let text = payloadText ?? Filter.searchableText(event)
            payloadText = text
            return text.contains(compiled.regex)
        case .text(let needle, let pattern):
            // Payload bytes are searched in place (ASCII letters case-insensitively), so
            // that filtering a million frames needs no strings.
            switch event {
            case .frame(_, _, let header, let payload, _):
                return Filter.contains(header.opcode == .close && payload.count >= 2 ? payload[2...] : payload[...], pattern: pattern)
            case .message(_, _, _, let payload):
                return Filter.contains(payload[...], pattern: pattern)
            default:
                break
            }
            let text = payloadText ?? Filter.searchableText(event)
            payloadText = text
            if text.lowercased().contains(needle) { return true }
            // Frames match on their payload only; other events on their line (already
            // the searchable text) and that line lowercased.
            guard !event.isFrame else { return false }
            let line = eventLine ?? EventLine.format(event).lowercased()
            eventLine = line
            return line.contains(needle)
        }
    }

    /// `haystack` contains the UTF-8 of `needle` (lowercase), ASCII letters compared
    /// case-insensitively.
    static func contains(_ haystack: ArraySlice<UInt8>, _ needle: String) -> Bool {
        contains(haystack, pattern: Array(needle.utf8))
    }

    /// `haystack` contains `pattern` (lowercase UTF-8), ASCII letters compared
    /// case-insensitively.
    static func contains(_ haystack: ArraySlice<UInt8>, pattern: [UInt8]) -> Bool {
        guard !pattern.isEmpty else { return true }
        guard haystack.count >= pattern.count else { return false }
        let first = pattern[0]
        return haystack.withUnsafeBufferPointer { bytes in
            let last = bytes.count - pattern.count
            var start = 0
            while start <= last {
                if fold(bytes[start]) == first {
                    var offset = 1
                    while offset < pattern.count, fold(bytes[start + offset]) == pattern[offset] { offset += 1 }
                    if offset == pattern.count { return true }
                }
                start += 1
            }
            return false
        }
    }

    @inline(__always) static func fold(_ byte: UInt8) -> UInt8 {
        byte &- 0x41 < 26 ? byte | 0x20 : byte
    }

    /// The text that `re:` and plain words look at: a frame's or message's payload decoded
    /// as UTF-8 (invalid bytes as U+FFFD), a close frame's reason, an event's line.
    static func searchableText(_ event: SessionEvent) -> String {
        switch event {
        case .frame(_, _, let header, let payload, _):
            if header.opcode == .close, payload.count >= 2 {
                return String(decoding: payload[2...], as: UTF8.self)
            }
            return String(decoding: payload, as: UTF8.self)
        case .message(_, _, _, let payload):
            return String(decoding: payload, as: UTF8.self)
        case .rawSent(_, let wire):
            return SafeText.hex(wire)
        default:
            return EventLine.format(event)
        }
    }
}
