/// The screen model: a grid of cells that the views draw into and that ncurses (or a test)
/// reads. Nothing here talks to a terminal.

/// A terminal colour: the terminal's default, or an index into the 256-colour palette
/// (0-7 the basic colours, 8-15 their bright variants).
public struct Color: Hashable, Sendable, CustomStringConvertible {
    /// -1 for the terminal's default colour, else 0...255.
    public let index: Int16

    public static let `default` = Color(rawIndex: -1)

    public init?(index: Int) {
        guard (0...255).contains(index) else { return nil }
        self.index = Int16(index)
    }

    private init(rawIndex: Int16) { index = rawIndex }

    public static let black = Color(rawIndex: 0)
    public static let red = Color(rawIndex: 1)
    public static let green = Color(rawIndex: 2)
    public static let yellow = Color(rawIndex: 3)
    public static let blue = Color(rawIndex: 4)
    public static let magenta = Color(rawIndex: 5)
    public static let cyan = Color(rawIndex: 6)
    public static let white = Color(rawIndex: 7)

    public var isDefault: Bool { index < 0 }

    public static let basicNames = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"]

    public var description: String {
        if index < 0 { return "default" }
        if index < 8 { return Color.basicNames[Int(index)] }
        if index < 16 { return "bright-" + Color.basicNames[Int(index) - 8] }
        return String(index)
    }

    /// The nearest of the 8 basic colours, for terminals without 256 colours.
    public var basic: Color {
        guard index >= 8 else { return self }
        if index < 16 { return Color(rawIndex: index - 8) }
        let (r, g, b) = rgb
        // A channel counts as "on" when it is at least half way up.
        let brightest = max(r, g, b)
        if brightest < 0x40 { return .black }
        let threshold = max(0x80, brightest / 2 + 0x20)
        let bits = (r >= threshold ? 1 : 0) | (g >= threshold ? 2 : 0) | (b >= threshold ? 4 : 0)
        if bits == 0 { return brightest >= 0xA0 ? .white : .black }
        return Color(rawIndex: Int16(bits))
    }

    /// Approximate RGB of a palette entry (xterm's default palette).
    var rgb: (Int, Int, Int) {
        let i = Int(index)
        switch i {
        case ..<0: return (0, 0, 0)
        case 0..<16:
            let base: [(Int, Int, Int)] = [
                (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
                (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255),
            ]
            return base[i]
        case 16..<232:
            let levels = [0, 95, 135, 175, 215, 255]
            let n = i - 16
            return (levels[n / 36], levels[(n / 6) % 6], levels[n % 6])
        default:
            let level = 8 + (i - 232) * 10
            return (level, level, level)
        }
    }
}

/// Text attributes.
public struct Attributes: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let bold = Attributes(rawValue: 1)
    public static let dim = Attributes(rawValue: 2)
    public static let underline = Attributes(rawValue: 4)
    public static let reverse = Attributes(rawValue: 8)
    public static let italic = Attributes(rawValue: 16)

    public static let named: [(String, Attributes)] = [
        ("bold", .bold), ("dim", .dim), ("underline", .underline), ("reverse", .reverse), ("italic", .italic),
    ]
}

/// How a cell looks: colours and attributes.
public struct Style: Hashable, Sendable, CustomStringConvertible {
    public var foreground: Color
    public var background: Color
    public var attributes: Attributes

    public init(foreground: Color = .default, background: Color = .default, attributes: Attributes = []) {
        self.foreground = foreground
        self.background = background
        self.attributes = attributes
    }

    public static let plain = Style()

    /// The theme-file spelling: `white on blue bold`.
    public var description: String {
        var words = [foreground.description]
        if !background.isDefault { words += ["on", background.description] }
        for (name, attribute) in Attributes.named where attributes.contains(attribute) { words.append(name) }
        return words.joined(separator: " ")
    }

    /// The same style without colours (NO_COLOR, monochrome terminals).
    public var withoutColors: Style { Style(attributes: attributes) }
}

/// One screen cell: a grapheme cluster and its style. A wide character occupies its cell
/// and the next one, which is a continuation cell (`width == 0`, character " ").
public struct Cell: Hashable, Sendable {
    public var character: Character
    public var style: Style
    /// 1 for a normal cell, 2 for the first half of a wide character, 0 for the second half.
    public var width: UInt8

    public init(_ character: Character = " ", style: Style = .plain, width: UInt8 = 1) {
        self.character = character
        self.style = style
        self.width = width
    }

    public var isContinuation: Bool { width == 0 }
}

/// A grid of cells, row-major. Views draw into it with `put`; everything written is
/// clipped to the grid (and to the limit the caller gives) and made terminal-safe.
public struct Screen: Sendable {
    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]
    /// Where the terminal cursor should be shown (an input line), or nil to hide it.
    public var cursor: (x: Int, y: Int)?

    public init(width: Int, height: Int, style: Style = .plain) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = Array(repeating: Cell(style: style), count: self.width * self.height)
    }

    public subscript(x: Int, y: Int) -> Cell {
        cells[y * width + x]
    }

    /// Fills a rectangle with spaces in `style`.
    public mutating func fill(x: Int = 0, y: Int, width: Int, height: Int = 1, style: Style) {
        let x0 = max(0, x), y0 = max(0, y)
        let x1 = min(self.width, x + width), y1 = min(self.height, y + height)
        guard x0 < x1, y0 < y1 else { return }
        for row in y0..<y1 {
            clearWideCharacter(at: x0, row: row)
            clearWideCharacter(at: x1 - 1, row: row)
            for column in x0..<x1 { cells[row * self.width + column] = Cell(style: style) }
        }
    }

    /// Writes `text` at (x, y) in `style`, clipped to `limit` columns (and to the screen),
    /// and returns the number of columns written. A wide character that does not fit is
    /// replaced by spaces. Control characters that reached this far are shown as visible
    /// escapes; a combining mark with nothing to combine with is shown on a dotted circle.
    @discardableResult
    public mutating func put(_ text: some StringProtocol, x: Int, y: Int, style: Style, limit: Int = .max) -> Int {
        guard y >= 0, y < height, x < width else { return 0 }
        let end = limit == .max ? width : min(width, x + max(0, limit))
        var column = x
        for character in text {
            if column >= end { break }
            if Screen.needsEscape(character) {
                for escaped in Screen.visibleEscape(character) {
                    guard column < end else { break }
                    if column >= 0 { setCell(column, y, Cell(escaped, style: style, width: 1)) }
                    column += 1
                }
                continue
            }
            var shown = character
            var characterWidth = DisplayWidth.of(character)
            if characterWidth == 0 {
                shown = Character("\u{25CC}" + String(character))
                characterWidth = 1
            }
            if column + characterWidth > end {
                // A wide character at the edge: fill what is left with spaces.
                while column < end {
                    if column >= 0 { setCell(column, y, Cell(" ", style: style)) }
                    column += 1
                }
                break
            }
            if column >= 0 {
                setCell(column, y, Cell(shown, style: style, width: UInt8(characterWidth)))
                if characterWidth == 2 && column + 1 < width {
                    cells[y * width + column + 1] = Cell(" ", style: style, width: 0)
                }
            } else if characterWidth == 2 && column + 1 >= 0 {
                setCell(column + 1, y, Cell(" ", style: style))
            }
            column += characterWidth
        }
        return max(0, column - max(x, 0))
    }

    /// Sets the style of a rectangle, keeping the characters.
    public mutating func restyle(x: Int, y: Int, width: Int, height: Int = 1, style: Style) {
        let x0 = max(0, x), y0 = max(0, y)
        let x1 = min(self.width, x + width), y1 = min(self.height, y + height)
        guard x0 < x1, y0 < y1 else { return }
        for row in y0..<y1 {
            for column in x0..<x1 { cells[row * self.width + column].style = style }
        }
    }

    /// Replaces a cell, first breaking up a wide character that it would cut in half.
    private mutating func setCell(_ x: Int, _ y: Int, _ cell: Cell) {
        clearWideCharacter(at: x, row: y)
        cells[y * width + x] = cell
    }

    /// If (x, row) is half of a wide character, turns both halves into spaces.
    private mutating func clearWideCharacter(at x: Int, row: Int) {
        guard x >= 0, x < width else { return }
        let index = row * width + x
        let cell = cells[index]
        if cell.width == 0 && x > 0 {
            cells[index - 1] = Cell(" ", style: cells[index - 1].style)
            cells[index] = Cell(" ", style: cell.style)
        } else if cell.width == 2 && x + 1 < width {
            cells[index + 1] = Cell(" ", style: cells[index + 1].style)
            cells[index] = Cell(" ", style: cell.style)
        }
    }

    // MARK: Reading (tests, the painter)

    /// The text of row `y`: one character per cell, wide characters once.
    public func line(_ y: Int) -> String {
        guard y >= 0, y < height else { return "" }
        var text = ""
        for x in 0..<width {
            let cell = cells[y * width + x]
            if !cell.isContinuation { text.append(cell.character) }
        }
        return text
    }

    /// Every row, trailing spaces removed.
    public var lines: [String] {
        (0..<height).map { line($0).trimmingTrailingSpaces }
    }

    /// The whole screen as text, one row per line, trailing spaces removed.
    public var text: String { lines.joined(separator: "\n") }

    /// The first position (x in columns, y) where `needle` appears on one row.
    public func find(_ needle: String) -> (x: Int, y: Int)? {
        let target = Array(needle)
        guard !target.isEmpty else { return nil }
        for y in 0..<height {
            let row = Array(line(y))
            guard row.count >= target.count else { continue }
            for start in 0...(row.count - target.count) where Array(row[start..<(start + target.count)]) == target {
                return (DisplayWidth.of(String(row[..<start])), y)
            }
        }
        return nil
    }

    /// The style at the position where `needle` is first found.
    public func style(of needle: String) -> Style? {
        find(needle).map { self[$0.x, $0.y].style }
    }

    // MARK: Terminal safety

    /// True for grapheme clusters that contain a control character (C0, DEL, C1) or a
    /// character that changes how a terminal shows what follows (bidi controls).
    static func needsEscape(_ character: Character) -> Bool {
        for scalar in character.unicodeScalars {
            let value = scalar.value
            if value < 0x20 || (0x7F...0x9F).contains(value) { return true }
            if (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value) { return true }
        }
        return false
    }

    static func visibleEscape(_ character: Character) -> String {
        var result = ""
        for scalar in character.unicodeScalars {
            let value = scalar.value
            if value == 0x1B {
                result += "\\x1b"
            } else if value < 0x20 || (0x7F...0x9F).contains(value) || (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value) {
                result += "\\u{" + String(value, radix: 16) + "}"
            } else if DisplayWidth.of(scalar) > 0 {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}

extension String {
    var trimmingTrailingSpaces: String {
        var end = endIndex
        while end > startIndex, self[index(before: end)] == " " { end = index(before: end) }
        return String(self[startIndex..<end])
    }
}
