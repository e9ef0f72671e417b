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
            let length = SafeText.utf8SequenceLength(bytes, at: index)
            guard length > 0 else {
                line += "\\x" + SafeText.hex(byte)
                index += 1
                continue
            }
            let scalar = SafeText.decodeScalar(bytes, at: index, length: length)
            if SafeText.isInvisibleOrControl(scalar) {
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
            } else if value < 0x20 || (0x7F...0x9F).contains(value) || SafeText.isInvisibleOrControl(scalar) {
                result += "\\u{" + String(value, radix: 16) + "}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
