/// Keys and mouse events decoded from the bytes a terminal sends, without ncurses (so
/// that the decoding is testable): UTF-8 text, control keys, CSI and SS3 escape sequences
/// for the cursor and editing keys, and xterm SGR mouse reports (`ESC [ < b ; x ; y M`).

public enum Key: Hashable, Sendable {
    /// A printable character.
    case char(Character)
    /// Ctrl with a letter (lowercase): Ctrl-A is `.ctrl("a")`.
    case ctrl(Character)
    /// Alt (or Esc typed quickly) followed by a character.
    case alt(Character)
    case enter, tab, backTab, backspace, delete, insert, escape
    case up, down, left, right, home, end, pageUp, pageDown
    case function(Int)
    case mouse(MouseEvent)
}

public struct MouseEvent: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        case press(button: Int)
        case release
        case drag(button: Int)
        case wheelUp
        case wheelDown
    }

    public var kind: Kind
    /// 0-based column and row.
    public var x: Int
    public var y: Int

    public init(kind: Kind, x: Int, y: Int) {
        self.kind = kind
        self.x = x
        self.y = y
    }
}

/// Turns terminal input into keys. Feed it what `read` returned; an incomplete sequence
/// at the end (half a UTF-8 character, an escape sequence cut by the read) waits for the
/// next feed. A lone ESC is ambiguous (the Escape key, or the start of a sequence): the
/// caller calls `flush()` when nothing followed it for a short while.
public struct KeyDecoder: Sendable {
    private var pending: [UInt8] = []

    public init() {}

    /// True when bytes are waiting for the rest of a sequence.
    public var hasPending: Bool { !pending.isEmpty }

    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [Key] {
        pending.append(contentsOf: bytes)
        return decode(final: false)
    }

    /// Decodes what is pending as if no more bytes were coming: a lone ESC becomes
    /// `.escape`, an incomplete sequence is dropped.
    public mutating func flush() -> [Key] {
        decode(final: true)
    }

    private mutating func decode(final: Bool) -> [Key] {
        var keys: [Key] = []
        var index = 0
        let bytes = pending
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case 0x1B:
                switch decodeEscape(bytes, from: index, final: final) {
                case .key(let key, let length):
                    if let key { keys.append(key) }
                    index += length
                case .incomplete:
                    pending = Array(bytes[index...])
                    return keys
                }
            case 0x0D, 0x0A:
                keys.append(.enter)
                index += 1
                // CR LF from a paste is one Enter.
                if byte == 0x0D, index < bytes.count, bytes[index] == 0x0A { index += 1 }
            case 0x09:
                keys.append(.tab)
                index += 1
            case 0x7F, 0x08:
                keys.append(.backspace)
                index += 1
            case 0x00:
                index += 1  // Ctrl-Space / Ctrl-@: ignored
            case 0x01...0x1A:
                keys.append(.ctrl(Character(Unicode.Scalar(byte + 0x60))))
                index += 1
            case 0x1C...0x1F:
                index += 1  // Ctrl-\ ] ^ _: ignored
            case 0x20..<0x7F:
                keys.append(.char(Character(Unicode.Scalar(byte))))
                index += 1
            default:
                let length = utf8Length(byte)
                if length == 0 {
                    index += 1  // a stray continuation or invalid lead byte: dropped
                    continue
                }
                if index + length > bytes.count {
                    if final { index = bytes.count; continue }
                    pending = Array(bytes[index...])
                    return keys
                }
                let slice = bytes[index..<(index + length)]
                if let text = String(validating: slice, as: UTF8.self), let character = text.first {
                    keys.append(.char(character))
                    index += length
                } else {
                    index += 1
                }
            }
        }
        pending = []
        return keys
    }

    private enum EscapeResult {
        case key(Key?, length: Int)
        case incomplete
    }

    private func decodeEscape(_ bytes: [UInt8], from start: Int, final: Bool) -> EscapeResult {
        let available = bytes.count - start
        guard available >= 2 else { return final ? .key(.escape, length: 1) : .incomplete }
        let second = bytes[start + 1]
        switch second {
        case UInt8(ascii: "["):
            return decodeCSI(bytes, from: start, final: final)
        case UInt8(ascii: "O"):
            guard available >= 3 else { return final ? .key(.alt("O"), length: 2) : .incomplete }
            let key: Key?
            switch bytes[start + 2] {
            case UInt8(ascii: "A"): key = .up
            case UInt8(ascii: "B"): key = .down
            case UInt8(ascii: "C"): key = .right
            case UInt8(ascii: "D"): key = .left
            case UInt8(ascii: "H"): key = .home
            case UInt8(ascii: "F"): key = .end
            case UInt8(ascii: "P"): key = .function(1)
            case UInt8(ascii: "Q"): key = .function(2)
            case UInt8(ascii: "R"): key = .function(3)
            case UInt8(ascii: "S"): key = .function(4)
            case UInt8(ascii: "M"): key = .enter
            default: key = nil
            }
            return .key(key, length: 3)
        case 0x1B:
            // ESC ESC: the first is the Escape key.
            return .key(.escape, length: 1)
        case 0x20..<0x7F:
            return .key(.alt(Character(Unicode.Scalar(second))), length: 2)
        case 0x7F:
            return .key(.escape, length: 1)
        default:
            return .key(.escape, length: 1)
        }
    }

    /// `ESC [` parameters (0x30-0x3F), intermediates (0x20-0x2F), final byte (0x40-0x7E).
    private func decodeCSI(_ bytes: [UInt8], from start: Int, final: Bool) -> EscapeResult {
        var index = start + 2
        while index < bytes.count, (0x20...0x3F).contains(bytes[index]) {
            index += 1
            if index - start > 64 { return .key(nil, length: index - start) }  // runaway sequence
        }
        guard index < bytes.count else { return final ? .key(nil, length: bytes.count - start) : .incomplete }
        let finalByte = bytes[index]
        let length = index - start + 1
        guard (0x40...0x7E).contains(finalByte) else { return .key(nil, length: length - 1) }
        let parameterBytes = bytes[(start + 2)..<index]
        let parameterText = String(decoding: parameterBytes, as: UTF8.self)
        if parameterText.hasPrefix("<") {
            return .key(mouse(parameterText.dropFirst(), release: finalByte == UInt8(ascii: "m")), length: length)
        }
        let numbers = parameterText.split(separator: ";", omittingEmptySubsequences: false).map { Int($0) }
        let first = numbers.first.flatMap { $0 }
        let modifier = numbers.count > 1 ? numbers[1] ?? 1 : 1
        let key: Key?
        switch finalByte {
        case UInt8(ascii: "A"): key = .up
        case UInt8(ascii: "B"): key = .down
        case UInt8(ascii: "C"): key = .right
        case UInt8(ascii: "D"): key = .left
        case UInt8(ascii: "H"): key = .home
        case UInt8(ascii: "F"): key = .end
        case UInt8(ascii: "Z"): key = .backTab
        case UInt8(ascii: "P"): key = .function(1)
        case UInt8(ascii: "Q"): key = .function(2)
        case UInt8(ascii: "R"): key = .function(3)
        case UInt8(ascii: "S"): key = .function(4)
        case UInt8(ascii: "~"):
            switch first {
            case 1, 7: key = .home
            case 2: key = .insert
            case 3: key = .delete
            case 4, 8: key = .end
            case 5: key = .pageUp
            case 6: key = .pageDown
            case 11, 12, 13, 14: key = .function(first! - 10)
            case 15: key = .function(5)
            case 17, 18, 19, 20, 21: key = .function(first! - 11)
            case 23, 24: key = .function(first! - 12)
            default: key = nil
            }
        default:
            key = nil
        }
        _ = modifier
        return .key(key, length: length)
    }

    /// SGR mouse: `b;x;y` with 1-based x and y; `m` is a release.
    private func mouse(_ text: Substring, release: Bool) -> Key? {
        let parts = text.split(separator: ";").compactMap { Int($0) }
        guard parts.count == 3 else { return nil }
        let (code, x, y) = (parts[0], parts[1] - 1, parts[2] - 1)
        guard x >= 0, y >= 0 else { return nil }
        let button = code & 0x03
        let kind: MouseEvent.Kind
        if code & 0x40 != 0 {
            // Wheel: 64 up, 65 down (66/67 horizontal: ignored).
            switch button {
            case 0: kind = .wheelUp
            case 1: kind = .wheelDown
            default: return nil
            }
        } else if release {
            kind = .release
        } else if code & 0x20 != 0 {
            kind = .drag(button: button)
        } else {
            kind = .press(button: button)
        }
        return .mouse(MouseEvent(kind: kind, x: x, y: y))
    }

    private func utf8Length(_ lead: UInt8) -> Int {
        switch lead {
        case 0xC2...0xDF: return 2
        case 0xE0...0xEF: return 3
        case 0xF0...0xF4: return 4
        default: return 0
        }
    }
}
