/// Peer bytes are shown, never executed: every control character, escape sequence and
/// invalid UTF-8 byte becomes a visible escape (DESIGN.md, "Terminal safety").

public enum SafeText {
    /// Renders bytes as printable text: valid UTF-8 printable characters as themselves,
    /// `\n`, `\r`, `\t`, `\\`, `\"` escaped, other C0/C1 controls and DEL as `\u{..}`,
    /// invalid bytes as `\xNN`. Stops after `limit` output characters and appends "…".
    public static func escape(_ bytes: UnsafeRawBufferPointer, limit: Int = .max) -> String {
        var result = ""
        var produced = 0
        var index = 0
        let count = bytes.count
        while index < count {
            if produced >= limit {
                result += "…"
                break
            }
            let byte = bytes[index]
            if byte < 0x80 {
                switch byte {
                case 0x0A: result += "\\n"
                case 0x0D: result += "\\r"
                case 0x09: result += "\\t"
                case 0x5C: result += "\\\\"
                case 0x22: result += "\\\""
                case 0x1B: result += "\\x1b"
                case 0x00..<0x20, 0x7F: result += "\\u{" + String(byte, radix: 16) + "}"
                default: result.unicodeScalars.append(Unicode.Scalar(byte))
                }
                produced += 1
                index += 1
                continue
            }
            let length = utf8SequenceLength(bytes, at: index)
            if length == 0 {
                result += "\\x" + hex(byte)
                produced += 1
                index += 1
                continue
            }
            let scalar = decodeScalar(bytes, at: index, length: length)
            if isInvisibleOrControl(scalar) {
                result += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                result.unicodeScalars.append(scalar)
            }
            produced += 1
            index += length
        }
        return result
    }

    public static func escape(_ bytes: [UInt8], limit: Int = .max) -> String {
        bytes.withUnsafeBytes { escape($0, limit: limit) }
    }

    public static func escape(_ text: String, limit: Int = .max) -> String {
        var text = text
        return text.withUTF8 { escape(UnsafeRawBufferPointer($0), limit: limit) }
    }

    /// Two lowercase hex digits.
    public static func hex(_ byte: UInt8) -> String {
        String(unsafeUninitializedCapacity: 2) { buffer in
            buffer[0] = hexDigit(byte >> 4)
            buffer[1] = hexDigit(byte & 0xF)
            return 2
        }
    }

    public static func hex(_ bytes: UnsafeRawBufferPointer, separator: String = "") -> String {
        let separatorBytes = Array(separator.utf8)
        let count = bytes.isEmpty ? 0 : bytes.count * 2 + (bytes.count - 1) * separatorBytes.count
        return String(unsafeUninitializedCapacity: count) { buffer in
            var position = 0
            for (index, byte) in bytes.enumerated() {
                if index > 0 {
                    for separatorByte in separatorBytes {
                        buffer[position] = separatorByte
                        position += 1
                    }
                }
                buffer[position] = hexDigit(byte >> 4)
                buffer[position + 1] = hexDigit(byte & 0xF)
                position += 2
            }
            return position
        }
    }

    public static func hex(_ bytes: [UInt8], separator: String = "") -> String {
        bytes.withUnsafeBytes { hex($0, separator: separator) }
    }

    @inline(__always)
    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? 0x30 + nibble : 0x57 + nibble
    }

    /// Length of the valid UTF-8 sequence starting at `index`, or 0 when it is invalid
    /// (overlong, surrogate, beyond U+10FFFF or cut short). Shared by every view that
    /// must show bytes safely (the line printer, the frame-spec renderer, the TUI).
    public static func utf8SequenceLength<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes, at index: Int) -> Int
    where Bytes.Index == Int {
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
        guard index + length <= bytes.endIndex else { return 0 }
        for offset in 1..<length {
            let byte = bytes[index + offset]
            let (low, high) = offset == 1 ? (lower, upper) : (0x80, 0xBF)
            if byte < low || byte > high { return 0 }
        }
        return length
    }

    /// The scalar of a sequence `utf8SequenceLength` found valid.
    public static func decodeScalar<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes, at index: Int, length: Int) -> Unicode.Scalar
    where Bytes.Index == Int {
        var value = UInt32(bytes[index]) & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07)
        for offset in 1..<length {
            value = value << 6 | UInt32(bytes[index + offset] & 0x3F)
        }
        return Unicode.Scalar(value) ?? "\u{FFFD}"
    }

    /// C1 controls, bidirectional overrides, line and paragraph separators and other
    /// invisible format characters could change how a terminal shows the rest of the
    /// line, so they are escaped too.
    public static func isInvisibleOrControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x80...0x9F: return true
        case 0x200B...0x200F, 0x2028...0x202E, 0x2060...0x206F, 0xFEFF: return true
        default:
            let category = scalar.properties.generalCategory
            return category == .format || category == .unassigned || category == .privateUse
                || category == .surrogate || category == .lineSeparator || category == .paragraphSeparator
        }
    }
}
