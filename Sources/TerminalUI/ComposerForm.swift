import Glibc
import Synchronization
import Inspector
import WebSocket

/// The field-by-field frame composer: every header field of a frame, and its payload, as
/// form fields. The form builds its frames by writing the equivalent frame specs and
/// parsing them, so what it sends is by construction what those specs send; the specs
/// are shown live under the form, which is how a user learns the language.
///
/// Rules where the frame-spec language has no single spelling:
/// - a fragment size splits the payload into frames of at most that many bytes: the first
///   keeps the opcode, the others are `cont`; FIN is set only on the last (and only when
///   the FIN toggle is on); RSV bits, the mask setting and a length override apply to every
///   fragment;
/// - the text payload uses the spec's escapes (`\n`, `\xHH`, `\u{…}`, `\\`); `;` and `:`
///   are taken literally. For `close` the text is the spec's `CODE[:REASON]`.
public struct ComposerForm: Equatable, Sendable {
    public enum Field: Int, CaseIterable, Sendable {
        case opcode, fin, rsv1, rsv2, rsv3, mask, maskKey, length, fragmentSize, payloadMode, payload

        var isText: Bool { [.maskKey, .length, .fragmentSize, .payload].contains(self) }
    }

    public enum PayloadMode: String, CaseIterable, Sendable {
        case text
        case hex
        case file = "@file"
    }

    /// The opcodes in the order ←/→ cycles them: the defined ones, then the reserved ones.
    public static let opcodeCycle: [OpCode] =
        [.text, .binary, .continuation, .close, .ping, .pong] + [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF].map { OpCode(nibble: $0) }

    /// Longest fragment list the form builds (a 1-byte fragment size on a large file would
    /// otherwise build millions of specs on every key).
    public static let maximumFragments = 10_000

    public var opcode: OpCode = .text
    public var fin = true
    public var rsv1 = false
    public var rsv2 = false
    public var rsv3 = false
    public var masked: Bool
    /// Empty (or `random`): a fresh random key for every frame sent.
    public var maskKey = LineEditor()
    /// Empty: the length field says the payload's length.
    public var length = LineEditor()
    /// Empty: one frame.
    public var fragmentSize = LineEditor()
    public var payloadMode = PayloadMode.text
    public var payload = LineEditor()
    public var focus = Field.opcode

    /// A valid frame for `role`: FIN, no RSV bits, masked when the role masks.
    public init(role: Role) {
        masked = role.masksOutgoing
    }

    // MARK: Keys

    /// Edits the form for a navigation or editing key; false when the key is not the
    /// form's (Enter, Esc and the Ctrl shortcuts are the caller's).
    public mutating func handle(_ key: Key) -> Bool {
        switch key {
        case .tab, .down:
            moveFocus(by: 1)
            return true
        case .backTab, .up:
            moveFocus(by: -1)
            return true
        default:
            break
        }
        switch focus {
        case .opcode:
            switch key {
            case .right, .char(" "): cycleOpcode(by: 1)
            case .left: cycleOpcode(by: -1)
            case .char(let character):
                guard let digit = character.hexDigitValue else { return false }
                opcode = OpCode(nibble: UInt8(digit))
            default: return false
            }
        case .fin, .rsv1, .rsv2, .rsv3, .mask:
            switch key {
            case .left, .right, .char(" "): toggle(focus)
            case .char("1"), .char("y"): set(focus, true)
            case .char("0"), .char("n"): set(focus, false)
            default: return false
            }
        case .payloadMode:
            let modes = PayloadMode.allCases
            let index = modes.firstIndex(of: payloadMode) ?? 0
            switch key {
            case .right, .char(" "): payloadMode = modes[(index + 1) % modes.count]
            case .left: payloadMode = modes[(index + modes.count - 1) % modes.count]
            default: return false
            }
        case .maskKey: return maskKey.handle(key)
        case .length: return length.handle(key)
        case .fragmentSize: return fragmentSize.handle(key)
        case .payload: return payload.handle(key)
        }
        return true
    }

    private mutating func moveFocus(by delta: Int) {
        let fields = Field.allCases
        focus = fields[(focus.rawValue + delta + fields.count) % fields.count]
    }

    private mutating func cycleOpcode(by delta: Int) {
        let cycle = ComposerForm.opcodeCycle
        let index = cycle.firstIndex(of: opcode) ?? 0
        opcode = cycle[(index + delta + cycle.count) % cycle.count]
    }

    public func flag(_ field: Field) -> Bool {
        switch field {
        case .fin: return fin
        case .rsv1: return rsv1
        case .rsv2: return rsv2
        case .rsv3: return rsv3
        case .mask: return masked
        default: return false
        }
    }

    private mutating func set(_ field: Field, _ value: Bool) {
        switch field {
        case .fin: fin = value
        case .rsv1: rsv1 = value
        case .rsv2: rsv2 = value
        case .rsv3: rsv3 = value
        case .mask: masked = value
        default: break
        }
    }

    private mutating func toggle(_ field: Field) {
        set(field, !flag(field))
    }

    // MARK: Building

    /// What the form amounts to: the equivalent specs and the frames they make, or what
    /// is wrong and in which field.
    public enum Build: Equatable {
        case frames(specs: [String], frames: [CraftedFrame])
        case failure(field: Field, message: String)
    }

    /// Builds the frames. `readFile` reads `@file` payloads; `randomKey` makes keys when
    /// the mask key is empty.
    public func build(role: Role, readFile: @escaping FrameSpec.FileReader = ComposerForm.readFile,
                      randomKey: () -> UInt32 = Cipher.randomKey) -> Build {
        let specs: [String]
        switch self.specs(role: role, readFile: readFile) {
        case .success(let built): specs = built
        case .failure(let failure): return .failure(field: failure.field, message: failure.message)
        }
        var frames: [CraftedFrame] = []
        for spec in specs {
            do {
                frames.append(try FrameSpec.parse(spec, role: role, readFile: readFile, randomKey: randomKey))
            } catch {
                // The specs are written from validated fields; a failure here is a file
                // that changed between the two reads, or a bug worth seeing.
                return .failure(field: .payload, message: "\(error.message) in '\(Visible.text(spec))'")
            }
        }
        return .frames(specs: specs, frames: frames)
    }

    struct FieldError: Error {
        var field: Field
        var message: String
    }

    /// The equivalent frame specs, one per frame.
    func specs(role: Role, readFile: @escaping FrameSpec.FileReader) -> Result<[String], FieldError> {
        let key: UInt32?
        switch parsedMaskKey() {
        case .success(let value): key = value
        case .failure(let error): return .failure(error)
        }
        var lengthOverride: UInt64?
        let lengthText = length.text.trimmingSpaces
        if !lengthText.isEmpty {
            guard let value = UInt64(lengthText), value <= UInt64(Int64.max) else {
                return .failure(FieldError(field: .length, message: "length: a number 0-\(Int64.max), or empty for the payload's length"))
            }
            lengthOverride = value
        }
        var fragment: Int?
        let fragmentText = fragmentSize.text.trimmingSpaces
        if !fragmentText.isEmpty {
            guard let value = Int(fragmentText), value > 0 else {
                return .failure(FieldError(field: .fragmentSize, message: "fragment size: a positive number of bytes, or empty for one frame"))
            }
            fragment = value
        }
        var overrides = ""
        if masked {
            if let key {
                overrides += ";mask=" + SafeText.hex(Header(opcode: opcode, maskKey: key).maskKeyBytes)
            } else if role != .client {
                overrides += ";mask=random"
            }
        } else if role == .client {
            overrides += ";mask=none"
        }
        if let lengthOverride { overrides += ";len=\(lengthOverride)" }

        if payloadMode == .file, fragment == nil {
            // One frame from a file keeps the `@path` spelling; reading it now reports a
            // missing file while the user is still typing the name.
            let path = ComposerForm.escaping(payload.text, [";"])
            guard !payload.text.isEmpty else { return .failure(FieldError(field: .payload, message: "@file: type a file name")) }
            do {
                _ = try FrameSpec.parse("binary:@" + path, role: .server, readFile: readFile)
            } catch {
                return .failure(FieldError(field: .payload, message: "@file: \(error.message)"))
            }
            let header = Header(fin: fin, rsv1: rsv1, rsv2: rsv2, rsv3: rsv3, opcode: opcode)
            let flags = FrameSpec.render(header: header, payload: [], role: .server)
            let kind = flags.prefix { $0 != ";" }
            return .success([kind + ":@" + path + flags.dropFirst(kind.count) + overrides])
        }

        let bytes: [UInt8]
        switch payloadBytes(readFile: readFile) {
        case .success(let value): bytes = value
        case .failure(let error): return .failure(error)
        }
        var pieces: [ArraySlice<UInt8>] = [bytes[...]]
        if let fragment, bytes.count > fragment {
            let count = (bytes.count + fragment - 1) / fragment
            guard count <= ComposerForm.maximumFragments else {
                return .failure(FieldError(field: .fragmentSize,
                                           message: "fragment size: \(count) fragments, at most \(ComposerForm.maximumFragments)"))
            }
            pieces = stride(from: 0, to: bytes.count, by: fragment).map { bytes[$0..<min($0 + fragment, bytes.count)] }
        }
        var specs: [String] = []
        for (index, piece) in pieces.enumerated() {
            let header = Header(fin: fin && index == pieces.count - 1, rsv1: rsv1, rsv2: rsv2, rsv3: rsv3,
                                opcode: index == 0 ? opcode : .continuation, length: UInt64(piece.count))
            // As the server role with an unmasked header, `render` adds no mask override:
            // the form's own mask and length overrides follow.
            specs.append(FrameSpec.render(header: header, payload: Array(piece), role: .server) + overrides)
        }
        return .success(specs)
    }

    /// nil: a random key.
    func parsedMaskKey() -> Result<UInt32?, FieldError> {
        let text = maskKey.text.filter { $0 != " " && $0 != "_" }.lowercased()
        if text.isEmpty || text == "random" { return .success(nil) }
        guard text.count == 8, text.allSatisfy(\.isHexDigit) else {
            return .failure(FieldError(field: .maskKey, message: "mask key: 8 hex digits (37fa213d), or empty for a random key"))
        }
        var octets: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            octets.append(UInt8(text[index..<next], radix: 16) ?? 0)
            index = next
        }
        return .success(Header.maskKey(octets[0], octets[1], octets[2], octets[3]))
    }

    /// The payload's bytes, decoded by the frame-spec parser itself.
    func payloadBytes(readFile: @escaping FrameSpec.FileReader) -> Result<[UInt8], FieldError> {
        let field = payload.text
        let spec: String
        let prefixLength: Int
        switch payloadMode {
        case .text where opcode == .close:
            guard !field.isEmpty else { return .success([]) }
            spec = "close:" + ComposerForm.escaping(field, [";"])
            prefixLength = 6
        case .text:
            // Escape what would read as a payload form (`hex:`, `@file`) or end the payload.
            var escaped = ComposerForm.escaping(field, [";", ":"])
            if escaped.hasPrefix("@") { escaped = "\\" + escaped }
            spec = "binary:" + escaped
            prefixLength = 7
        case .hex:
            spec = "binary:hex:" + ComposerForm.escaping(field, [";"])
            prefixLength = 11
        case .file:
            guard !field.isEmpty else { return .failure(FieldError(field: .payload, message: "@file: type a file name")) }
            spec = "binary:@" + ComposerForm.escaping(field, [";"])
            prefixLength = 8
        }
        do {
            return .success(try FrameSpec.parse(spec, role: .server, readFile: readFile).payload)
        } catch {
            let mode = payloadMode == .text && opcode == .close ? "close payload (CODE[:REASON])" : payloadMode.rawValue
            // The column is close to the user's own text: only added backslashes shift it.
            let column = max(1, error.column - prefixLength)
            return .failure(FieldError(field: .payload, message: "\(mode): \(error.message) (near column \(column))"))
        }
    }

    /// `text` with each unescaped character of `characters` escaped with `\`; existing
    /// escapes (`\x41`, `\;`) pass through untouched.
    static func escaping(_ text: String, _ characters: Set<Character>) -> String {
        var out = ""
        var escaped = false
        for character in text {
            if escaped {
                out.append(character)
                escaped = false
            } else if character == "\\" {
                out.append(character)
                escaped = true
            } else {
                if characters.contains(character) { out.append("\\") }
                out.append(character)
            }
        }
        return out
    }

    // MARK: Files

    /// Largest `@file` payload the composer reads.
    public static let maximumFileBytes = 64 << 20

    struct FileError: Error, CustomStringConvertible {
        var description: String
    }

    /// Reads an `@file` payload for the composer, which runs on the UI's thread: only a
    /// regular file of at most `maximumFileBytes`, so that `/dev/zero`, a FIFO or a
    /// terminal never blocks the UI or fills memory. The form rebuilds its preview on every
    /// key, so the last file read is kept and read again only when its identity, size or
    /// modification time changed.
    public static func readFile(_ path: String) throws -> [UInt8] {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw FileError(description: "cannot read '\(path)': \(String(cString: strerror(errno)))")
        }
        let identity = FileIdentity(path: path, info: info)
        if let bytes = lastFile.withLock({ $0?.identity == identity ? $0?.bytes : nil }) { return bytes }
        let bytes = try FrameSpec.readRegularFile(path, limit: maximumFileBytes)
        lastFile.withLock { $0 = (identity, bytes) }
        return bytes
    }

    private struct FileIdentity: Equatable {
        var path: String
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modifiedSeconds: Int
        var modifiedNanoseconds: Int

        init(path: String, info: stat) {
            self.path = path
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
            size = Int64(info.st_size)
            modifiedSeconds = Int(info.st_mtim.tv_sec)
            modifiedNanoseconds = Int(info.st_mtim.tv_nsec)
        }
    }

    private static let lastFile = Mutex<(identity: FileIdentity, bytes: [UInt8])?>(nil)

    // MARK: Loading

    /// The form for a frame (its header fields and payload). A random mask key is left
    /// empty (random again); a fixed one is kept.
    public init(header: Header, payload bytes: [UInt8], maskKeyIsRandom: Bool, role: Role) {
        self.init(role: role)
        opcode = header.opcode
        fin = header.fin
        rsv1 = header.rsv1
        rsv2 = header.rsv2
        rsv3 = header.rsv3
        masked = header.masked
        if header.masked, !maskKeyIsRandom { maskKey.set(SafeText.hex(header.maskKeyBytes)) }
        if header.length != UInt64(bytes.count) { length.set(String(header.length)) }
        if let text = ComposerForm.textField(for: bytes, opcode: header.opcode) {
            payloadMode = .text
            payload.set(text)
        } else {
            payloadMode = .hex
            payload.set(SafeText.hex(bytes))
        }
    }

    /// The form for a composer line: a frame spec, or plain text (a text message). A
    /// failure with the reason for `raw:` bytes and specs that do not parse.
    public static func load(line: String, role: Role) -> Result<ComposerForm, FrameSpecError> {
        if case .text = Composer.interpret(line, role: role) {
            var form = ComposerForm(role: role)
            form.payload.set(ComposerForm.textField(for: Array(line.utf8), opcode: .text) ?? line)
            form.focus = .payload
            return .success(form)
        }
        // Parsed without reading files: an `@path` payload stays a path in the form.
        var path: String?
        let frame: CraftedFrame
        do {
            frame = try FrameSpec.parse(line, role: role, readFile: { name in
                path = name
                return []
            })
        } catch {
            return .failure(error)
        }
        guard let header = frame.header else {
            return .failure(FrameSpecError(column: 1, message: "raw: bytes have no header fields to edit in the form"))
        }
        var form = ComposerForm(header: header, payload: frame.payload, maskKeyIsRandom: frame.maskKeyIsRandom, role: role)
        if let path {
            form.payloadMode = .file
            // The field takes escapes: a backslash in the name is written doubled.
            form.payload.set(path.replacing("\\", with: "\\\\"))
        }
        form.focus = .payload
        return .success(form)
    }

    /// The payload as the text field would hold it, when it reads as text: escapes for
    /// `\` and control characters; a close body as `CODE[:REASON]`.
    static func textField(for bytes: [UInt8], opcode: OpCode) -> String? {
        if opcode == .close {
            guard bytes.count >= 2 else { return bytes.isEmpty ? "" : nil }
            let code = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
            guard bytes.count > 2 else { return String(code) }
            guard let reason = textField(for: Array(bytes[2...]), opcode: .text) else { return nil }
            return "\(code):\(reason)"
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\x" + SafeText.hex(UInt8(scalar.value))
                } else if (0x80...0x9F).contains(scalar.value) || scalar.properties.generalCategory == .format {
                    out += "\\u{" + String(scalar.value, radix: 16) + "}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}

extension String {
    var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
