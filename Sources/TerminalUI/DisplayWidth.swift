/// How many terminal columns text takes, measured by wscope itself rather than by the C
/// library's `wcwidth`, so that the screen model (and its tests) give the same answer on
/// every machine and locale.
///
/// - combining and enclosing marks, format characters (ZWJ, variation selectors...) and
///   Hangul medial/final jamo: 0 columns;
/// - East Asian Wide and Fullwidth characters and emoji with emoji presentation: 2;
/// - everything else: 1.
///
/// A grapheme cluster (`Character`) is as wide as its first scalar, except that an emoji
/// followed by VS16 (U+FE0F, "emoji presentation") is 2 columns, and one followed by VS15
/// (U+FE0E) is 1.
public enum DisplayWidth {
    /// Width of one scalar on its own.
    public static func of(_ scalar: Unicode.Scalar) -> Int {
        let value = scalar.value
        if value < 0x7F { return value < 0x20 ? 0 : 1 }
        if value < 0xA0 { return 0 }  // DEL and C1 controls: never shown raw
        if value == 0xAD { return 1 }  // soft hyphen: terminals show it
        if isZeroWidth(scalar) { return 0 }
        if isWide(value) { return 2 }
        if scalar.properties.isEmojiPresentation { return 2 }
        return 1
    }

    /// Width of one grapheme cluster.
    public static func of(_ character: Character) -> Int {
        let scalars = character.unicodeScalars
        guard let first = scalars.first else { return 0 }
        var width = of(first)
        if scalars.count > 1 {
            for scalar in scalars.dropFirst() {
                if scalar.value == 0xFE0F && first.properties.isEmoji { width = 2 }
                if scalar.value == 0xFE0E && first.properties.isEmoji { width = min(width, 1) }
            }
        }
        return width
    }

    /// Width of a string: the sum of its grapheme clusters.
    public static func of(_ string: some StringProtocol) -> Int {
        var total = 0
        for character in string { total += of(character) }
        return total
    }

    /// The longest prefix of `string` that fits in `columns`.
    public static func prefix(_ string: some StringProtocol, fitting columns: Int) -> Substring {
        let text = Substring(string)
        var used = 0
        var end = text.startIndex
        for index in text.indices {
            let width = of(text[index])
            if used + width > columns { break }
            used += width
            end = text.index(after: index)
        }
        return text[text.startIndex..<end]
    }

    /// `string` cut or padded with spaces to exactly `columns` (cut with "…" when
    /// `ellipsis` and it does not fit).
    public static func fit(_ string: some StringProtocol, _ columns: Int, ellipsis: Bool = false) -> String {
        guard columns > 0 else { return "" }
        let width = of(string)
        if width <= columns { return String(string) + String(repeating: " ", count: columns - width) }
        let cut = ellipsis ? prefix(string, fitting: columns - 1) + "…" : String(prefix(string, fitting: columns))
        let shown = of(cut)
        return cut + String(repeating: " ", count: max(0, columns - shown))
    }

    /// `string` right-aligned in `columns` (cut from the left when too long).
    public static func rightAligned(_ string: String, _ columns: Int) -> String {
        let width = of(string)
        if width >= columns { return String(string.suffix(columns)) }
        return String(repeating: " ", count: columns - width) + string
    }

    static func isZeroWidth(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if (0x1160...0x11FF).contains(value) || (0xD7B0...0xD7FF).contains(value) { return true }  // Hangul jamo V/T
        if value == 0x200B { return true }  // zero width space
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format:
            return true
        default:
            return false
        }
    }

    /// East Asian Width W and F ranges that are not emoji (emoji are judged by their
    /// Emoji_Presentation property), from Unicode 15's EastAsianWidth.txt.
    private static let wideRanges: [ClosedRange<UInt32>] = [
        0x1100...0x115F, 0x2329...0x232A, 0x2E80...0x2E99, 0x2E9B...0x2EF3, 0x2F00...0x2FD5,
        0x2FF0...0x2FFB, 0x3000...0x303E, 0x3041...0x3096, 0x3099...0x30FF, 0x3105...0x312F,
        0x3131...0x318E, 0x3190...0x31E3, 0x31F0...0x321E, 0x3220...0x3247, 0x3250...0x4DBF,
        0x4E00...0xA48C, 0xA490...0xA4C6, 0xA960...0xA97C, 0xAC00...0xD7A3, 0xF900...0xFAFF,
        0xFE10...0xFE19, 0xFE30...0xFE52, 0xFE54...0xFE66, 0xFE68...0xFE6B, 0xFF01...0xFF60,
        0xFFE0...0xFFE6, 0x16FE0...0x16FE4, 0x16FF0...0x16FF1, 0x17000...0x187F7,
        0x18800...0x18CD5, 0x18D00...0x18D08, 0x1AFF0...0x1AFFE, 0x1B000...0x1B122,
        0x1B132...0x1B132, 0x1B150...0x1B152, 0x1B155...0x1B155, 0x1B164...0x1B167,
        0x1B170...0x1B2FB, 0x1F200...0x1F202, 0x1F210...0x1F23B, 0x1F240...0x1F248,
        0x1F250...0x1F251, 0x1F260...0x1F265, 0x20000...0x2FFFD, 0x30000...0x3FFFD,
    ]

    static func isWide(_ value: UInt32) -> Bool {
        guard value >= 0x1100 else { return false }
        var low = 0
        var high = wideRanges.count - 1
        while low <= high {
            let middle = (low + high) / 2
            let range = wideRanges[middle]
            if value < range.lowerBound {
                high = middle - 1
            } else if value > range.upperBound {
                low = middle + 1
            } else {
                return true
            }
        }
        return false
    }
}
