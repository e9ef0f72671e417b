#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
#if canImport(WebSocket)
import WebSocket
#endif

// The frame-spec language (DESIGN.md, "Frame spec"), shared by `wscope send`, the TUI
// composer and the probe:
//
//     KIND[:PAYLOAD][;OVERRIDE]...
//
// KIND     text | binary (bin) | ping | pong | close | cont (continuation)
//          | op0 ... opf (any opcode by its hex digit, also op0x3, op11)
//          | raw (PAYLOAD is written to the socket as is: no header is added)
// PAYLOAD  plain text, UTF-8, with escapes:  \\  \;  \:  \@  \n  \r  \t  \0
//                                            \xHH (any byte, e.g. invalid UTF-8 \xff)
//                                            \u{1F600} (a Unicode scalar as UTF-8)
//          hex:00ff10        bytes in hex (spaces and _ between digits are ignored)
//          base64:AP8Q       bytes in base64 (standard or URL-safe alphabet; alias b64:)
//          @path/to/file     the file's bytes; @@text is the literal text "@text"
//                            (so is \@text); a path may use the escapes above
//          close takes CODE[:REASON] (close:1000:bye, close:1000, close alone = empty
//          body), or hex:/base64:/@file for a raw body (close:hex:03 is a 1-byte body).
//          raw takes hex digits (raw:8105...), or hex:/base64:/@file.
// OVERRIDE fin=0|1  rsv1=0|1  rsv2=0|1  rsv3=0|1  rsv=0-7 (all three bits)
//          op=0x3|3|text       opcode by number (0-15) or name (alias opcode=)
//          mask=37fa213d       mask with this key (8 hex digits; 00000000 is a real key)
//          mask=none|0|off     unmasked, even from a client
//          mask=random|1|on    masked with a random key, even from a server
//          len=200             the length field says 200 whatever the payload is
//                              (payload bytes are still sent as given; alias length=)
//          len16 | len64 | lenenc=16|64|min   non-minimal length encodings
//          chop=N              write the frame's bytes in TCP writes of N bytes
//          repeat=N            send the frame N times (1-1000000; random keys renewed)
//
// Only the first ':' separates KIND from PAYLOAD; an unescaped ';' ends the payload, so a
// payload writes ';' as \; (in every form, file names included). `@path` is relative to the
// current directory.
//
// Without overrides a frame is valid: FIN set, no RSV bits, minimal length encoding, and
// masked with a fresh random key exactly when the role is `.client`. Booleans accept
// 0/1/true/false/on/off/yes/no. Keys and kinds are case-insensitive. Errors name the
// 1-based column (counted in Unicode scalars) of the offending character.

/// A frame spec that could not be parsed: where and why.
public struct FrameSpecError: Error, Hashable, Sendable, CustomStringConvertible {
    /// 1-based column (in Unicode scalars) of the offending character.
    public var column: Int
    public var message: String

    public init(column: Int, message: String) {
        self.column = column
        self.message = message
    }

    /// `FrameSpecError: column 12: unknown override 'fn' (did you mean 'fin'?)`
    public var description: String { "FrameSpecError: column \(column): \(message)" }

    /// The spec, then a caret under the offending column: for command-line messages.
    /// Peer-independent, but still escaped so that control characters cannot act.
    public func pointing(into spec: String) -> String {
        var shown = ""
        var caretPad = ""
        for (index, scalar) in spec.unicodeScalars.enumerated() {
            let piece: String
            if scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value) {
                piece = "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                piece = String(scalar)
            }
            shown += piece
            if index < column - 1 { caretPad += String(repeating: " ", count: piece.unicodeScalars.count) }
        }
        return shown + "\n" + caretPad + "^"
    }
}

/// The result of a frame spec: what to put on the wire, byte for byte.
public struct CraftedFrame: Hashable, Sendable {
    /// The header as written (lying fields included). Nil for `raw:` bytes.
    public var header: Header?
    /// Unmasked payload bytes as given (for `raw:`, the raw bytes themselves).
    public var payload: [UInt8]
    /// The exact bytes to write: header, then the payload masked if the header says so.
    public var wire: [UInt8]
    /// How the length field is encoded in `wire`.
    public var lengthEncoding: LengthEncoding
    /// Write `wire` in TCP writes of at most this many bytes (`;chop=N`); nil = one write.
    public var chop: Int?
    /// How many times to send the frame (`;repeat=N`), at least 1.
    public var repeatCount: Int
    /// The mask key was chosen at random (not given with `mask=`): repetitions get new ones.
    public var maskKeyIsRandom: Bool

    public init(
        header: Header?, payload: [UInt8], wire: [UInt8], lengthEncoding: LengthEncoding = .minimal,
        chop: Int? = nil, repeatCount: Int = 1, maskKeyIsRandom: Bool = false
    ) {
        self.header = header
        self.payload = payload
        self.wire = wire
        self.lengthEncoding = lengthEncoding
        self.chop = chop
        self.repeatCount = repeatCount
        self.maskKeyIsRandom = maskKeyIsRandom
    }

    public var isRaw: Bool { header == nil }

    /// The TCP writes: `wire` cut into `chop`-byte pieces (one piece without `chop`).
    public var writes: [ArraySlice<UInt8>] {
        guard let chop, chop > 0, wire.count > chop else { return [wire[...]] }
        return stride(from: 0, to: wire.count, by: chop).map { wire[$0..<min($0 + chop, wire.count)] }
    }

    /// The same frame masked with another key (wire bytes recomputed). Unmasked and raw
    /// frames are returned unchanged.
    public func withMaskKey(_ key: UInt32) -> CraftedFrame {
        guard var header, header.masked else { return self }
        header.maskKey = key
        var copy = self
        copy.header = header
        copy.wire = Frame(header: header, payload: payload).wireBytes(lengthEncoding: lengthEncoding)
        return copy
    }

    /// The frames to send for `repeat=N`: this one, then copies with fresh random keys when
    /// the key was random (a fixed `mask=` key is kept).
    public func repetitions(randomKey: () -> UInt32 = Cipher.randomKey) -> [CraftedFrame] {
        var result = [self]
        for _ in 1..<max(repeatCount, 1) {
            result.append(maskKeyIsRandom ? withMaskKey(randomKey()) : self)
        }
        return result
    }
}

public enum FrameSpec {
    /// Reads the file named by `@path`; throws an error whose description is shown.
    public typealias FileReader = (String) throws -> [UInt8]

    /// The frame kinds, for help texts and completion.
    public static let kinds = ["text", "binary", "ping", "pong", "close", "cont", "raw", "op0-opf"]
    /// The override keys, for help texts and completion.
    public static let overrideKeys = ["fin", "rsv1", "rsv2", "rsv3", "rsv", "op", "mask", "len", "len16", "len64", "lenenc", "chop", "repeat"]

    /// Largest `repeat=`.
    public static let maximumRepeat = 1_000_000

    /// Parses one frame spec for a connection of the given role.
    ///
    /// - Parameters:
    ///   - readFile: reads `@path` payloads (tests and fuzzers pass their own).
    ///   - randomKey: mask keys for frames masked without an explicit key.
    public static func parse(
        _ spec: String, role: Role,
        readFile: @escaping FileReader = FrameSpec.readFile,
        randomKey: () -> UInt32 = Cipher.randomKey
    ) throws(FrameSpecError) -> CraftedFrame {
        var parser = Parser(spec: spec, readFile: readFile)
        return try parser.parse(role: role, randomKey: randomKey)
    }

    /// Reads a whole file with POSIX calls; errors carry the system's reason.
    public static func readFile(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileReadError(message: "cannot read '\(path)': \(inspectorErrnoText(errno))") }
        defer { close(fd) }
        return try readAll(fd, path: path, limit: nil)
    }

    /// Reads a regular file of at most `limit` bytes without ever blocking: the file is
    /// opened non-blocking and checked on its descriptor (a FIFO, a device or a file
    /// swapped in after a check by name is refused), and a file that grows past `limit`
    /// while being read is refused too. For callers on an event loop (the composer).
    public static func readRegularFile(_ path: String, limit: Int) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw FileReadError(message: "cannot read '\(path)': \(inspectorErrnoText(errno))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileReadError(message: "cannot read '\(path)': \(inspectorErrnoText(errno))") }
        guard info.st_mode & S_IFMT == S_IFREG else { throw FileReadError(message: "'\(path)' is not a regular file") }
        guard info.st_size <= limit else {
            throw FileReadError(message: "'\(path)' has \(info.st_size) bytes, at most \(limit) are taken")
        }
        return try readAll(fd, path: path, limit: limit, expected: Int(info.st_size))
    }

    /// Reads `fd` to its end; with a `limit`, more bytes than that is an error.
    private static func readAll(_ fd: Int32, path: String, limit: Int?, expected: Int = 0) throws -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(expected)
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileReadError(message: "cannot read '\(path)': \(inspectorErrnoText(errno))")
            }
            if n == 0 { break }
            if let limit, bytes.count + n > limit {
                throw FileReadError(message: "'\(path)' grew past \(limit) bytes while being read")
            }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return bytes
    }

    struct FileReadError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    // MARK: Rendering

    /// The canonical spec of a frame: parsing it gives back the same header and payload
    /// (with `includeMaskKey`, or when unmasked, the same wire bytes too).
    ///
    /// - Parameters:
    ///   - role: the sender's role. Masking that matches the role is left implicit (a
    ///     random key on re-parse) unless `includeMaskKey`; nil always spells it out.
    ///   - lengthEncoding: how the length was encoded on the wire (`lengthEncoding(ofWire:)`).
    public static func render(
        header: Header, payload: [UInt8], role: Role? = nil,
        lengthEncoding: LengthEncoding = .minimal, includeMaskKey: Bool = false
    ) -> String {
        var spec = kindName(header.opcode)
        switch header.opcode {
        case .close:
            if payload.count >= 2 {
                let code = UInt16(payload[0]) << 8 | UInt16(payload[1])
                spec += ":\(code)"
                if payload.count > 2 { spec += ":" + escapeText(Array(payload[2...]), guardPrefix: false) }
            } else if payload.count == 1 {
                spec += ":hex:" + HexCodec.encode(payload)
            }
        case .binary:
            if !payload.isEmpty { spec += ":hex:" + HexCodec.encode(payload) }
        default:
            if !payload.isEmpty {
                spec += ":" + (looksLikeText(payload) ? escapeText(payload, guardPrefix: true) : "hex:" + HexCodec.encode(payload))
            }
        }
        if !header.fin { spec += ";fin=0" }
        if header.rsv1 { spec += ";rsv1=1" }
        if header.rsv2 { spec += ";rsv2=1" }
        if header.rsv3 { spec += ";rsv3=1" }
        if header.masked {
            if includeMaskKey || role != .client { spec += ";mask=" + HexCodec.encode(header.maskKeyBytes) }
        } else if role != .server {
            spec += ";mask=none"
        }
        if header.length != UInt64(payload.count) { spec += ";len=\(header.length)" }
        switch lengthEncoding {
        case .minimal: break
        case .extended16: spec += ";len16"
        case .extended64: spec += ";len64"
        }
        return spec
    }

    /// The canonical spec of a crafted frame (`raw:` frames render as `raw:` hex).
    public static func render(_ frame: CraftedFrame, role: Role? = nil, includeMaskKey: Bool = false) -> String {
        var spec: String
        if let header = frame.header {
            spec = render(header: header, payload: frame.payload, role: role,
                          lengthEncoding: frame.lengthEncoding, includeMaskKey: includeMaskKey || !frame.maskKeyIsRandom)
        } else {
            spec = "raw:" + HexCodec.encode(frame.wire)
        }
        if let chop = frame.chop { spec += ";chop=\(chop)" }
        if frame.repeatCount > 1 { spec += ";repeat=\(frame.repeatCount)" }
        return spec
    }

    /// The length encoding used by a frame's wire bytes (`.minimal` when it cannot tell).
    public static func lengthEncoding(ofWire wire: [UInt8]) -> LengthEncoding {
        guard wire.count >= 2 else { return .minimal }
        let length7 = wire[1] & 0x7F
        guard case .header(let header, _) = Header.decode(wire) else { return .minimal }
        if length7 == 126 && header.length < 126 { return .extended16 }
        if length7 == 127 && header.length <= 0xFFFF { return .extended64 }
        return .minimal
    }

    static func kindName(_ opcode: OpCode) -> String {
        switch opcode {
        case .text: return "text"
        case .binary: return "binary"
        case .continuation: return "cont"
        case .close: return "close"
        case .ping: return "ping"
        case .pong: return "pong"
        default: return "op" + String(opcode.rawValue, radix: 16)
        }
    }

    /// Valid UTF-8 with few characters that need escapes.
    static func looksLikeText(_ bytes: [UInt8]) -> Bool {
        guard UTF8Validator.isValid(bytes) else {
            // A few invalid bytes in otherwise printable text still read best as text.
            let odd = bytes.filter { $0 < 0x20 || $0 >= 0x80 }.count
            return odd * 8 <= bytes.count
        }
        let controls = bytes.filter { ($0 < 0x20 && $0 != 0x0A && $0 != 0x09 && $0 != 0x0D) || $0 == 0x7F }.count
        return controls * 8 <= bytes.count
    }

    /// Bytes as spec text: escapes for `\`, `;`, controls, invisible characters and invalid
    /// UTF-8. `guardPrefix` escapes a start that would read as `hex:`, `base64:`, `b64:` or `@`.
    static func escapeText(_ bytes: [UInt8], guardPrefix: Bool) -> String {
        var out = ""
        var index = 0
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            if byte < 0x80 {
                switch byte {
                case 0x5C: out += "\\\\"
                case 0x3B: out += "\\;"
                case 0x0A: out += "\\n"
                case 0x0D: out += "\\r"
                case 0x09: out += "\\t"
                case 0x00..<0x20, 0x7F: out += "\\x" + HexCodec.encode([byte])
                default: out.unicodeScalars.append(Unicode.Scalar(byte))
                }
                index += 1
                continue
            }
            let length = SafeText.utf8SequenceLength(bytes, at: index)
            if length == 0 {
                out += "\\x" + HexCodec.encode([byte])
                index += 1
                continue
            }
            var value = UInt32(byte) & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07)
            for k in 1..<length { value = value << 6 | UInt32(bytes[index + k] & 0x3F) }
            let scalar = Unicode.Scalar(value)!
            let category = scalar.properties.generalCategory
            if value <= 0x9F || category == .format || category == .control || category == .unassigned
                || category == .privateUse || category == .lineSeparator || category == .paragraphSeparator
                || category == .surrogate {
                out += "\\u{" + String(value, radix: 16) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
            index += length
        }
        if guardPrefix {
            // Compare bytes: as Characters, "@" followed by a combining mark is not "@".
            let bytes = Array(out.utf8)
            if bytes.first == UInt8(ascii: "@") {
                out = "\\" + out
            } else {
                for prefix in ["hex:", "base64:", "b64:"] {
                    let p = Array(prefix.utf8)
                    guard bytes.count >= p.count, zip(bytes, p).allSatisfy({ $0 | 0x20 == $1 }) else { continue }
                    // Every byte of the prefix is ASCII, so these slices cut whole scalars.
                    out = String(decoding: bytes[0..<(p.count - 1)], as: UTF8.self) + "\\:"
                        + String(decoding: bytes[p.count...], as: UTF8.self)
                    break
                }
            }
        }
        return out
    }

    // MARK: Suggestions

    /// The candidate closest to `word` within two edits, for "did you mean" hints.
    static func suggestion(for word: String, among candidates: [String]) -> String? {
        let word = Array(word.lowercased().unicodeScalars)
        guard !word.isEmpty else { return nil }
        var best: (String, Int)?
        for candidate in candidates {
            let distance = editDistance(word, Array(candidate.unicodeScalars))
            let limit = min(2, max(1, candidate.unicodeScalars.count / 2))
            if distance <= limit && distance < (best?.1 ?? .max) { best = (candidate, distance) }
        }
        return best?.0
    }

    /// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
    static func editDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        if a.count > 64 || b.count > 64 { return max(a.count, b.count) }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }
}

// MARK: - Parser

extension FrameSpec {
    enum Kind: Equatable {
        case opcode(OpCode)
        case raw
    }

    /// The overrides, each with the column of its key (for errors found later).
    struct Overrides {
        var fin: (Bool, Int)?
        var rsv1: (Bool, Int)?
        var rsv2: (Bool, Int)?
        var rsv3: (Bool, Int)?
        var op: (OpCode, Int)?
        /// nil key = unmasked; .some(nil) = random key.
        var mask: (UInt32??, Int)?
        var length: (UInt64, Int)?
        var lengthEncoding: (LengthEncoding, Int)?
        var chop: (Int, Int)?
        var repeatCount: (Int, Int)?
    }

    struct Parser {
        let scalars: [Unicode.Scalar]
        let readFile: FileReader

        init(spec: String, readFile: @escaping FileReader) {
            self.scalars = Array(spec.unicodeScalars)
            self.readFile = readFile
        }

        func error(_ index: Int, _ message: String) -> FrameSpecError {
            FrameSpecError(column: index + 1, message: message)
        }

        func text(_ range: Range<Int>) -> String {
            var s = String.UnicodeScalarView()
            s.append(contentsOf: scalars[range])
            return String(s)
        }

        /// Quoted for messages, with control characters made visible.
        func quoted(_ range: Range<Int>) -> String {
            "'" + SafeText.escape(text(range), limit: 40) + "'"
        }

        mutating func parse(role: Role, randomKey: () -> UInt32) throws(FrameSpecError) -> CraftedFrame {
            guard !scalars.isEmpty else { throw error(0, "empty frame spec (expected KIND[:PAYLOAD], e.g. text:hello)") }

            // Split on ';' that is not escaped.
            var segments: [Range<Int>] = []
            var start = 0
            var index = 0
            while index < scalars.count {
                if scalars[index] == "\\" {
                    index += 2
                    continue
                }
                if scalars[index] == ";" {
                    segments.append(start..<index)
                    start = index + 1
                }
                index += 1
            }
            segments.append(start..<scalars.count)

            // KIND[:PAYLOAD]
            let first = segments[0]
            let colon = scalars[first].firstIndex(of: ":")
            let kindRange = first.lowerBound..<(colon ?? first.upperBound)
            let kind = try parseKind(kindRange)
            let payloadRange = colon.map { ($0 + 1)..<first.upperBound }

            let payload: [UInt8]
            switch kind {
            case .raw:
                payload = try parseRaw(payloadRange, kindRange: kindRange)
            case .opcode(let opcode) where opcode == .close:
                payload = try parseClose(payloadRange)
            case .opcode:
                payload = try payloadRange.map { range throws(FrameSpecError) in try parsePayload(range) } ?? []
            }

            let overrides = try parseOverrides(Array(segments.dropFirst()), raw: kind == .raw)
            let chop = overrides.chop?.0
            let repeatCount = overrides.repeatCount?.0 ?? 1

            guard case .opcode(let kindOpcode) = kind else {
                return CraftedFrame(header: nil, payload: payload, wire: payload, chop: chop, repeatCount: repeatCount)
            }

            var header = Header(opcode: overrides.op?.0 ?? kindOpcode)
            header.fin = overrides.fin?.0 ?? true
            header.rsv1 = overrides.rsv1?.0 ?? false
            header.rsv2 = overrides.rsv2?.0 ?? false
            header.rsv3 = overrides.rsv3?.0 ?? false
            var randomMask = false
            if let (mask, _) = overrides.mask {
                switch mask {
                case .none:
                    header.masked = false
                case .some(.none):
                    header.masked = true
                    header.maskKey = randomKey()
                    randomMask = true
                case .some(.some(let key)):
                    header.masked = true
                    header.maskKey = key
                }
            } else if role.masksOutgoing {
                header.masked = true
                header.maskKey = randomKey()
                randomMask = true
            }
            header.length = overrides.length?.0 ?? UInt64(payload.count)
            let encoding = overrides.lengthEncoding?.0 ?? .minimal
            if encoding == .extended16 && header.length > 0xFFFF, let column = overrides.lengthEncoding?.1 {
                throw FrameSpecError(column: column, message: "length \(header.length) does not fit a 16-bit length field")
            }
            let wire = Frame(header: header, payload: payload).wireBytes(lengthEncoding: encoding)
            return CraftedFrame(
                header: header, payload: payload, wire: wire, lengthEncoding: encoding,
                chop: chop, repeatCount: repeatCount, maskKeyIsRandom: randomMask)
        }

        func parseKind(_ range: Range<Int>) throws(FrameSpecError) -> Kind {
            let name = text(range).lowercased()
            switch name {
            case "text": return .opcode(.text)
            case "binary", "bin": return .opcode(.binary)
            case "ping": return .opcode(.ping)
            case "pong": return .opcode(.pong)
            case "close": return .opcode(.close)
            case "cont", "continuation": return .opcode(.continuation)
            case "raw": return .raw
            case "":
                throw error(range.lowerBound, "missing frame kind before ':' (expected text, binary, ping, pong, close, cont, raw or op0-opf)")
            default:
                if name.hasPrefix("op"), let value = Parser.opcodeNumber(name.dropFirst(2)) {
                    guard value <= 15 else {
                        throw error(range.lowerBound + 2, "opcode \(SafeText.escape(String(name.dropFirst(2)), limit: 30)) is out of range (0-15)")
                    }
                    return .opcode(OpCode(nibble: UInt8(value)))
                }
                var message = "unknown frame kind \(quoted(range))"
                if let hint = FrameSpec.suggestion(for: name, among: ["text", "binary", "ping", "pong", "close", "cont", "raw"]) {
                    message += " (did you mean '\(hint)'?)"
                } else if name.contains("=") {
                    message += " (a spec starts with the kind, e.g. text:hello;\(SafeText.escape(name, limit: 40)))"
                } else {
                    message += " (expected text, binary, ping, pong, close, cont, raw or op0-opf)"
                }
                throw error(range.lowerBound, message)
            }
        }

        /// `3`, `0x3`, `b` (one hex digit, as opcodes are shown: opb) or `11`; nil when
        /// not a number.
        static func opcodeNumber(_ text: Substring) -> UInt64? {
            if text.count == 1, let digit = text.utf8.first.flatMap(HexCodec.value) { return UInt64(digit) }
            return Parser.integer(String(text))
        }

        func hasPrefix(_ range: Range<Int>, _ prefix: String) -> Bool {
            let p = Array(prefix.unicodeScalars)
            guard range.count >= p.count else { return false }
            for (k, scalar) in p.enumerated() {
                let c = scalars[range.lowerBound + k]
                guard c == scalar || (c.value < 0x80 && Character(c).lowercased() == String(scalar)) else { return false }
            }
            return true
        }

        /// Payload forms shared by every kind but `close` and `raw`.
        func parsePayload(_ range: Range<Int>) throws(FrameSpecError) -> [UInt8] {
            if let bytes = try parseEncoded(range) { return bytes }
            if hasPrefix(range, "@@") { return try unescape((range.lowerBound + 1)..<range.upperBound) }
            return try unescape(range)
        }

        /// `hex:`, `base64:`, `b64:` and `@file`; nil when the payload is none of these.
        func parseEncoded(_ range: Range<Int>) throws(FrameSpecError) -> [UInt8]? {
            if hasPrefix(range, "hex:") { return try parseHex((range.lowerBound + 4)..<range.upperBound) }
            if hasPrefix(range, "base64:") { return try parseBase64((range.lowerBound + 7)..<range.upperBound) }
            if hasPrefix(range, "b64:") { return try parseBase64((range.lowerBound + 4)..<range.upperBound) }
            if hasPrefix(range, "@") && !hasPrefix(range, "@@") {
                let pathRange = (range.lowerBound + 1)..<range.upperBound
                guard !pathRange.isEmpty else { throw error(range.lowerBound, "missing file name after '@' (write @@ for a literal '@')") }
                let path = String(decoding: try unescape(pathRange), as: UTF8.self)
                do {
                    return try readFile(path)
                } catch {
                    throw self.error(range.lowerBound, SafeText.escape("\(error)", limit: 300))
                }
            }
            return nil
        }

        func parseHex(_ range: Range<Int>) throws(FrameSpecError) -> [UInt8] {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(range.count / 2)
            var high: UInt8?
            var lastDigit = range.lowerBound
            for index in range {
                let scalar = scalars[index]
                if scalar == " " || scalar == "_" { continue }
                guard scalar.isASCII, let value = HexCodec.value(UInt8(scalar.value)) else {
                    throw error(index, "invalid hex digit \(quoted(index..<(index + 1)))")
                }
                lastDigit = index
                if let h = high {
                    bytes.append(h << 4 | value)
                    high = nil
                } else {
                    high = value
                }
            }
            if high != nil { throw error(lastDigit, "odd number of hex digits (each byte takes two)") }
            return bytes
        }

        func parseBase64(_ range: Range<Int>) throws(FrameSpecError) -> [UInt8] {
            var chars: [UInt8] = []
            chars.reserveCapacity(range.count)
            for index in range {
                let scalar = scalars[index]
                guard scalar.isASCII else { throw error(index, "invalid base64 character \(quoted(index..<(index + 1)))") }
                chars.append(UInt8(scalar.value))
            }
            let result = chars.withUnsafeBytes { Base64Codec.decode($0, urlSafe: true) }
            switch result {
            case .success(let bytes): return bytes
            case .failure(let failure):
                if failure.offset < chars.count {
                    throw error(range.lowerBound + failure.offset, "invalid base64 character \(quoted((range.lowerBound + failure.offset)..<(range.lowerBound + failure.offset + 1)))")
                }
                throw error(max(range.upperBound - 1, range.lowerBound), "base64 payload has a dangling character (length \(range.count) is not valid)")
            }
        }

        /// Plain text with escapes, as UTF-8 bytes.
        func unescape(_ range: Range<Int>) throws(FrameSpecError) -> [UInt8] {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(range.count)
            var index = range.lowerBound
            while index < range.upperBound {
                let scalar = scalars[index]
                guard scalar == "\\" else {
                    UTF8Bytes.append(scalar.value, to: &bytes)
                    index += 1
                    continue
                }
                guard index + 1 < range.upperBound else {
                    throw error(index, "unfinished escape '\\' at the end (write \\\\ for a backslash)")
                }
                let next = scalars[index + 1]
                switch next {
                case "\\": bytes.append(0x5C)
                case ";": bytes.append(0x3B)
                case ":": bytes.append(0x3A)
                case "@": bytes.append(0x40)
                case "n": bytes.append(0x0A)
                case "r": bytes.append(0x0D)
                case "t": bytes.append(0x09)
                case "0": bytes.append(0x00)
                case "x":
                    guard index + 3 < range.upperBound,
                          scalars[index + 2].isASCII, scalars[index + 3].isASCII,
                          let high = HexCodec.value(UInt8(scalars[index + 2].value)),
                          let low = HexCodec.value(UInt8(scalars[index + 3].value))
                    else {
                        throw error(index, "escape \\x needs two hex digits (e.g. \\xff)")
                    }
                    bytes.append(high << 4 | low)
                    index += 4
                    continue
                case "u":
                    guard index + 2 < range.upperBound, scalars[index + 2] == "{" else {
                        throw error(index, "escape \\u needs braces: \\u{1F600}")
                    }
                    var value: UInt32 = 0
                    var digits = 0
                    var k = index + 3
                    while k < range.upperBound, scalars[k] != "}" {
                        guard scalars[k].isASCII, let digit = HexCodec.value(UInt8(scalars[k].value)), digits < 6 else {
                            throw error(k, digits >= 6 ? "escape \\u{...} takes at most 6 hex digits" : "invalid hex digit \(quoted(k..<(k + 1))) in \\u{...}")
                        }
                        value = value << 4 | UInt32(digit)
                        digits += 1
                        k += 1
                    }
                    guard k < range.upperBound else { throw error(index, "unterminated \\u{... escape (missing '}')") }
                    guard digits > 0 else { throw error(index, "empty \\u{} escape") }
                    guard Unicode.Scalar(value) != nil else {
                        throw error(index, "U+\(String(value, radix: 16, uppercase: true)) is not a Unicode scalar (write raw bytes with \\x escapes)")
                    }
                    UTF8Bytes.append(value, to: &bytes)
                    index = k + 1
                    continue
                default:
                    throw error(index, "unknown escape '\\\(SafeText.escape(String(next)))' (escapes: \\\\ \\; \\: \\@ \\n \\r \\t \\0 \\xHH \\u{HHHH})")
                }
                index += 2
            }
            return bytes
        }

        /// `close:CODE[:REASON]`, nothing, or a raw body.
        func parseClose(_ range: Range<Int>?) throws(FrameSpecError) -> [UInt8] {
            guard let range, !range.isEmpty else { return [] }
            if let bytes = try parseEncoded(range) { return bytes }
            guard ("0"..."9").contains(scalars[range.lowerBound]) else {
                throw error(range.lowerBound, "a close payload is CODE[:REASON] (e.g. close:1000:bye), or hex:, base64: or @file for a raw body")
            }
            var code: UInt32 = 0
            var index = range.lowerBound
            while index < range.upperBound, scalars[index] != ":" {
                let scalar = scalars[index]
                guard ("0"..."9").contains(scalar) else {
                    throw error(index, "close code must be a number (0-65535), found \(quoted(index..<(index + 1)))")
                }
                code = code * 10 + (scalar.value - 48)
                if code > 0xFFFF { throw error(range.lowerBound, "close code \(text(range.lowerBound..<(index + 1)))... is out of range (0-65535)") }
                index += 1
            }
            var body: [UInt8] = [UInt8(code >> 8), UInt8(code & 0xFF)]
            if index < range.upperBound {
                body += try unescape((index + 1)..<range.upperBound)
            }
            return body
        }

        /// `raw:` bytes: hex by default, or hex:/base64:/@file.
        func parseRaw(_ range: Range<Int>?, kindRange: Range<Int>) throws(FrameSpecError) -> [UInt8] {
            guard let range, !range.isEmpty else {
                throw error(kindRange.lowerBound, "raw needs bytes: raw:HEX (e.g. raw:8100), raw:base64:..., or raw:@file")
            }
            if let bytes = try parseEncoded(range) { return bytes }
            return try parseHex(range)
        }

        mutating func parseOverrides(_ segments: [Range<Int>], raw: Bool) throws(FrameSpecError) -> Overrides {
            var o = Overrides()
            var seen: [String: Int] = [:]
            for segment in segments {
                var lower = segment.lowerBound
                var upper = segment.upperBound
                while lower < upper && scalars[lower] == " " { lower += 1 }
                while upper > lower && scalars[upper - 1] == " " { upper -= 1 }
                guard lower < upper else {
                    throw error(max(segment.lowerBound - 1, 0), "empty override after ';'")
                }
                let equals = scalars[lower..<upper].firstIndex(of: "=")
                let keyRange = lower..<(equals ?? upper)
                let valueRange = equals.map { ($0 + 1)..<upper }
                let key = text(keyRange).lowercased()
                let shownKey = SafeText.escape(key, limit: 40)
                let column = keyRange.lowerBound + 1

                let canonical: String
                switch key {
                case "opcode": canonical = "op"
                case "length": canonical = "len"
                default: canonical = key
                }
                let slot: String
                switch canonical {
                case "len16", "len64", "lenenc": slot = "lenenc"
                case "rsv", "rsv1", "rsv2", "rsv3": slot = canonical
                case "fin", "op", "mask", "len", "chop", "repeat": slot = canonical
                default:
                    guard !key.isEmpty else { throw error(keyRange.lowerBound, "missing override name before '='") }
                    var message = "unknown override \(quoted(keyRange))"
                    if let hint = FrameSpec.suggestion(for: key, among: FrameSpec.overrideKeys) {
                        message += " (did you mean '\(hint)'?)"
                    } else {
                        message += " (overrides: \(FrameSpec.overrideKeys.joined(separator: ", ")))"
                    }
                    throw error(keyRange.lowerBound, message)
                }
                if raw && slot != "chop" && slot != "repeat" {
                    throw error(keyRange.lowerBound, "'\(shownKey)' does not apply to raw bytes (raw: writes them as given; only chop and repeat apply)")
                }
                // rsv sets all three bits, so it clashes with each of rsv1-3.
                let clashes = slot == "rsv" ? ["rsv", "rsv1", "rsv2", "rsv3"] : slot.hasPrefix("rsv") ? [slot, "rsv"] : [slot]
                for other in clashes {
                    if let earlier = seen[other] {
                        throw error(keyRange.lowerBound, "'\(shownKey)' repeats a setting already made at column \(earlier)")
                    }
                }
                seen[slot] = column

                let takesNoValue = canonical == "len16" || canonical == "len64"
                if takesNoValue {
                    if let equals { throw error(equals, "'\(shownKey)' takes no value") }
                } else {
                    guard let valueRange else {
                        throw error(keyRange.lowerBound, "'\(shownKey)' needs a value: \(shownKey)=\(Parser.example(canonical))")
                    }
                    guard !valueRange.isEmpty else {
                        throw error(valueRange.lowerBound - 1, "'\(shownKey)' needs a value after '=': \(shownKey)=\(Parser.example(canonical))")
                    }
                }
                let value = valueRange.map { text($0) } ?? ""
                let valueColumn = valueRange?.lowerBound ?? keyRange.lowerBound

                switch canonical {
                case "fin": o.fin = (try bool(value, valueColumn, key), column)
                case "rsv1": o.rsv1 = (try bool(value, valueColumn, key), column)
                case "rsv2": o.rsv2 = (try bool(value, valueColumn, key), column)
                case "rsv3": o.rsv3 = (try bool(value, valueColumn, key), column)
                case "rsv":
                    guard let bits = Parser.integer(value), bits <= 7 else {
                        throw error(valueColumn, "rsv takes the three bits as a number 0-7 (4 = RSV1, 2 = RSV2, 1 = RSV3), not '\(SafeText.escape(value))'")
                    }
                    o.rsv1 = (bits & 4 != 0, column)
                    o.rsv2 = (bits & 2 != 0, column)
                    o.rsv3 = (bits & 1 != 0, column)
                case "op": o.op = (try opcode(value, valueColumn), column)
                case "mask": o.mask = (try mask(value, valueColumn), column)
                case "len":
                    guard let length = Parser.integer(value) else {
                        throw error(valueColumn, "len must be a number 0-18446744073709551615, not '\(SafeText.escape(value, limit: 30))'")
                    }
                    o.length = (length, column)
                case "len16": o.lengthEncoding = (.extended16, column)
                case "len64": o.lengthEncoding = (.extended64, column)
                case "lenenc":
                    switch value.lowercased() {
                    case "16": o.lengthEncoding = (.extended16, column)
                    case "64": o.lengthEncoding = (.extended64, column)
                    case "min", "minimal", "7": o.lengthEncoding = (.minimal, column)
                    default: throw error(valueColumn, "lenenc must be 16, 64 or min, not '\(SafeText.escape(value, limit: 30))'")
                    }
                case "chop":
                    guard let n = Parser.integer(value), n >= 1, n <= UInt64(Int32.max) else {
                        throw error(valueColumn, "chop must be a number of bytes >= 1, not '\(SafeText.escape(value, limit: 30))'")
                    }
                    o.chop = (Int(n), column)
                case "repeat":
                    guard let n = Parser.integer(value), n >= 1, n <= UInt64(FrameSpec.maximumRepeat) else {
                        throw error(valueColumn, "repeat must be a number 1-\(FrameSpec.maximumRepeat), not '\(SafeText.escape(value, limit: 30))'")
                    }
                    o.repeatCount = (Int(n), column)
                default: break
                }
            }
            return o
        }

        static func example(_ key: String) -> String {
            switch key {
            case "fin", "rsv1", "rsv2", "rsv3": return "0|1"
            case "rsv": return "0-7"
            case "op": return "0x3|3|text"
            case "mask": return "37fa213d|none|random"
            case "len": return "200"
            case "lenenc": return "16|64|min"
            case "chop": return "1"
            case "repeat": return "3"
            default: return "VALUE"
            }
        }

        /// Decimal or 0x-hex, no sign, fits UInt64.
        static func integer(_ text: String) -> UInt64? {
            if text.hasPrefix("0x") || text.hasPrefix("0X") { return UInt64(text.dropFirst(2), radix: 16) }
            guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            return UInt64(text)
        }

        func bool(_ value: String, _ index: Int, _ key: String) throws(FrameSpecError) -> Bool {
            switch value.lowercased() {
            case "1", "true", "on", "yes": return true
            case "0", "false", "off", "no": return false
            default: throw error(index, "'\(key)' takes 0 or 1, not '\(SafeText.escape(value, limit: 30))'")
            }
        }

        func opcode(_ value: String, _ index: Int) throws(FrameSpecError) -> OpCode {
            let lowered = value.lowercased()
            switch lowered {
            case "text": return .text
            case "binary", "bin": return .binary
            case "ping": return .ping
            case "pong": return .pong
            case "close": return .close
            case "cont", "continuation": return .continuation
            default:
                if let number = Parser.integer(lowered) {
                    guard number <= 15, let opcode = OpCode(rawValue: UInt8(number)) else {
                        throw error(index, "opcode \(value) is out of range (0-15, or 0x0-0xf)")
                    }
                    return opcode
                }
                if lowered.hasPrefix("op"), let n = Parser.opcodeNumber(lowered.dropFirst(2)), n <= 15 {
                    return OpCode(nibble: UInt8(n))
                }
                var message = "unknown opcode '\(SafeText.escape(value, limit: 30))' (a number 0-15, 0x0-0xf, or text, binary, cont, close, ping, pong)"
                if let hint = FrameSpec.suggestion(for: lowered, among: ["text", "binary", "cont", "close", "ping", "pong"]) {
                    message = "unknown opcode '\(SafeText.escape(value, limit: 30))' (did you mean '\(hint)'?)"
                }
                throw error(index, message)
            }
        }

        /// nil = unmasked, .some(nil) = random key, .some(key).
        func mask(_ value: String, _ index: Int) throws(FrameSpecError) -> UInt32?? {
            switch value.lowercased() {
            case "none", "0", "off", "no", "false": return .none
            case "random", "1", "on", "yes", "true": return .some(nil)
            default:
                var digits = Substring(value)
                var offset = 0
                if digits.hasPrefix("0x") || digits.hasPrefix("0X") {
                    digits = digits.dropFirst(2)
                    offset = 2
                }
                for (k, char) in digits.unicodeScalars.enumerated() where !(char.isASCII && HexCodec.value(UInt8(char.value)) != nil) {
                    throw error(index + offset + k, "invalid hex digit '\(SafeText.escape(String(char)))' in mask key (8 hex digits, e.g. mask=37fa213d; or none, random)")
                }
                guard digits.utf8.count == 8, let bytes = HexCodec.decode(digits.utf8) else {
                    throw error(index, "mask key must be 8 hex digits (4 bytes), e.g. mask=37fa213d, or none or random; got \(digits.utf8.count) digits")
                }
                return .some(Header.maskKey(bytes[0], bytes[1], bytes[2], bytes[3]))
            }
        }
    }
}
