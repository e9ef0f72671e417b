import Inspector

/// Peer bytes as text the terminal shows but never acts on, for the multi-line panes
/// (the one-line previews use `SafeText` / `EventLine` as `--no-tui` does). Unlike
/// `SafeText.escape`, quotes stay as they are and newlines can break lines; like it,
/// every control character, escape sequence and invalid byte becomes a visible escape:
/// ESC as `\x1b`, other C0/C1 controls and DEL as `\u{7}`, invalid UTF-8 as `\xff`,
/// invisible format characters (bidi overrides, zero-width) as `\u{202e}`, and the
/// backslash itself as `\\` so that an escape on screen always means a real byte.
public enum Visible {
    /// One string; a newline is shown as `\n`.
    public static func escape(_ bytes: [UInt8], limit: Int = .max) -> String {
        lines(bytes, limit: limit, breakLines: false).first ?? ""
    }

    /// The text split at newlines (shown as `\n` at the end of each line, so that CR LF
    /// and LF remain distinguishable). At most `limit` input bytes are decoded; "…" marks
    /// the cut.
    public static func lines(_ bytes: [UInt8], limit: Int = .max, breakLines: Bool = true) -> [String] {
        var result: [String] = []
        var line = ""
        var index = 0
        let end = min(bytes.count, limit)
        while index < end {
            let byte = bytes[index]
            if byte < 0x80 {
                switch byte {
                case 0x0A:
                    line += "\\n"
                    if breakLines {
                        result.append(line)
                        line = ""
                    }
                case 0x0D: line += "\\r"
                case 0x09: line += "\\t"
                case 0x5C: line += "\\\\"
                case 0x1B: line += "\\x1b"
                case 0x00..<0x20, 0x7F: line += "\\u{" + String(byte, radix: 16) + "}"
                default: line.unicodeScalars.append(Unicode.Scalar(byte))
                }
                index += 1
                continue
            }
            let length = sequenceLength(bytes, at: index)
            guard length > 0 else {
                line += "\\x" + SafeText.hex(byte)
                index += 1
                continue
            }
            let scalar = decode(bytes, at: index, length: length)
            if isInvisible(scalar) {
                line += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                line.unicodeScalars.append(scalar)
            }
            index += length
        }
        if end < bytes.count { line += "…" }
        if !line.isEmpty || result.isEmpty { result.append(line) }
        return result
    }

    /// Text that did not come from bytes (JSON tokens, header values): the same rules for
    /// the characters that could act on a terminal, nothing else changed.
    public static func text(_ string: some StringProtocol) -> String {
        var result = ""
        for scalar in string.unicodeScalars {
            let value = scalar.value
            if value == 0x1B {
                result += "\\x1b"
            } else if value < 0x20 || (0x7F...0x9F).contains(value) || isInvisible(scalar) {
                result += "\\u{" + String(value, radix: 16) + "}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    static func isInvisible(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x80...0x9F: return true
        case 0x200B...0x200F, 0x2028...0x202E, 0x2060...0x206F, 0xFEFF: return true
        default:
            let category = scalar.properties.generalCategory
            return category == .format || category == .unassigned || category == .privateUse
                || category == .surrogate || category == .lineSeparator || category == .paragraphSeparator
        }
    }

    static func sequenceLength(_ bytes: [UInt8], at index: Int) -> Int {
        let lead = bytes[index]
        let length: Int
        var lower: UInt8 = 0x80
        var upper: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; upper = 0x9F
        case 0xF0: length = 4; lower = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; upper = 0x8F
        default: return 0
        }
        guard index + length <= bytes.count else { return 0 }
        for offset in 1..<length {
            let byte = bytes[index + offset]
            let (low, high) = offset == 1 ? (lower, upper) : (0x80, 0xBF)
            if byte < low || byte > high { return 0 }
        }
        return length
    }

    static func decode(_ bytes: [UInt8], at index: Int, length: Int) -> Unicode.Scalar {
        var value = UInt32(bytes[index]) & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07)
        for offset in 1..<length {
            value = value << 6 | UInt32(bytes[index + offset] & 0x3F)
        }
        return Unicode.Scalar(value) ?? "\u{FFFD}"
    }
}
