/// A one-line text input: the filter, search, close and composer prompts.
public struct LineEditor: Equatable, Sendable {
    public private(set) var characters: [Character]
    /// Insertion point, 0...characters.count.
    public private(set) var cursor: Int

    public init(_ text: String = "") {
        characters = Array(text)
        cursor = characters.count
    }

    public var text: String { String(characters) }

    public mutating func set(_ text: String) {
        characters = Array(text)
        cursor = characters.count
    }

    /// Edits for the key; false when the key is not an editing key.
    public mutating func handle(_ key: Key) -> Bool {
        switch key {
        case .char(let character):
            characters.insert(character, at: cursor)
            cursor += 1
        case .backspace, .ctrl("h"):
            if cursor > 0 {
                characters.remove(at: cursor - 1)
                cursor -= 1
            }
        case .delete, .ctrl("d"):
            if cursor < characters.count { characters.remove(at: cursor) }
        case .left, .ctrl("b"):
            cursor = max(0, cursor - 1)
        case .right, .ctrl("f"):
            cursor = min(characters.count, cursor + 1)
        case .home, .ctrl("a"):
            cursor = 0
        case .end, .ctrl("e"):
            cursor = characters.count
        case .ctrl("u"):
            characters.removeSubrange(0..<cursor)
            cursor = 0
        case .ctrl("k"):
            characters.removeSubrange(cursor...)
        case .ctrl("w"):
            var start = cursor
            while start > 0, characters[start - 1] == " " { start -= 1 }
            while start > 0, characters[start - 1] != " " { start -= 1 }
            characters.removeSubrange(start..<cursor)
            cursor = start
        case .alt("b"):
            while cursor > 0, characters[cursor - 1] == " " { cursor -= 1 }
            while cursor > 0, characters[cursor - 1] != " " { cursor -= 1 }
        case .alt("f"):
            while cursor < characters.count, characters[cursor] == " " { cursor += 1 }
            while cursor < characters.count, characters[cursor] != " " { cursor += 1 }
        default:
            return false
        }
        return true
    }

    /// What to show in `width` columns so that the cursor is visible: the text (made
    /// terminal-safe) and the cursor's column within it.
    public func visible(width: Int) -> (text: String, cursorColumn: Int) {
        guard width > 1 else { return ("", 0) }
        let shown = characters.map { Visible.text(String($0)) }
        var widths = shown.map { DisplayWidth.of($0) }
        widths.append(1)  // the cursor cell after the end
        var start = 0
        var used = widths[0..<cursor].reduce(0, +)
        while used + widths[cursor] > width, start < cursor {
            used -= widths[start]
            start += 1
        }
        var text = ""
        var total = 0
        var index = start
        while index < shown.count, total + widths[index] <= width {
            text += shown[index]
            total += widths[index]
            index += 1
        }
        return (text, used)
    }
}
