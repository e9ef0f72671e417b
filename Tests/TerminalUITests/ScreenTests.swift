import Testing
@testable import TerminalUI

@Suite struct DisplayWidthTests {
    @Test func asciiIsOneColumn() {
        #expect(DisplayWidth.of("hello") == 5)
        #expect(DisplayWidth.of(Character("a")) == 1)
    }

    @Test func eastAsianWideIsTwoColumns() {
        #expect(DisplayWidth.of("日本語") == 6)
        #expect(DisplayWidth.of(Character("한")) == 2)
        #expect(DisplayWidth.of(Character("Ａ")) == 2)  // fullwidth A
        #expect(DisplayWidth.of(Character("ｱ")) == 1)  // halfwidth katakana
    }

    @Test func emojiAreTwoColumns() {
        #expect(DisplayWidth.of(Character("👋")) == 2)
        #expect(DisplayWidth.of(Character("😀")) == 2)
        #expect(DisplayWidth.of(Character("🇫🇷")) == 2)  // a flag: two regional indicators
        #expect(DisplayWidth.of(Character("❤\u{FE0F}")) == 2)  // text-default emoji with VS16
        #expect(DisplayWidth.of(Character("❤")) == 1)
        #expect(DisplayWidth.of("a👋b") == 4)
    }

    @Test func combiningMarksAreZeroColumns() {
        #expect(DisplayWidth.of(Unicode.Scalar(0x301)!) == 0)
        #expect(DisplayWidth.of(Character("e\u{301}")) == 1)
        #expect(DisplayWidth.of("e\u{301}e\u{301}") == 2)
        #expect(DisplayWidth.of(Unicode.Scalar(0x200D)!) == 0)  // ZWJ
        #expect(DisplayWidth.of(Unicode.Scalar(0x1161)!) == 0)  // Hangul medial vowel
    }

    @Test func controlsAreZeroColumns() {
        #expect(DisplayWidth.of(Unicode.Scalar(0x1B)!) == 0)
        #expect(DisplayWidth.of(Unicode.Scalar(0x85)!) == 0)
    }

    @Test func fitPadsAndCuts() {
        #expect(DisplayWidth.fit("ab", 4) == "ab  ")
        #expect(DisplayWidth.fit("abcdef", 4) == "abcd")
        #expect(DisplayWidth.fit("abcdef", 4, ellipsis: true) == "abc…")
        // A wide character that would straddle the edge is dropped and padded.
        #expect(DisplayWidth.fit("a日本", 4) == "a日 ")
        #expect(DisplayWidth.rightAligned("42", 5) == "   42")
    }
}

@Suite struct ScreenTests {
    @Test func putClipsToLimitAndScreen() {
        var screen = Screen(width: 10, height: 2)
        #expect(screen.put("hello world", x: 0, y: 0, style: .plain) == 10)
        #expect(screen.line(0) == "hello worl")
        #expect(screen.put("abcdef", x: 2, y: 1, style: .plain, limit: 3) == 3)
        #expect(screen.line(1) == "  abc     ")
        #expect(screen.put("x", x: 0, y: 5, style: .plain) == 0)  // off screen
    }

    @Test func wideCharactersTakeTwoCells() {
        var screen = Screen(width: 6, height: 1)
        #expect(screen.put("a日b", x: 0, y: 0, style: .plain) == 4)
        #expect(screen[1, 0].character == "日")
        #expect(screen[1, 0].width == 2)
        #expect(screen[2, 0].isContinuation)
        #expect(screen[3, 0].character == "b")
        #expect(screen.line(0) == "a日b  ")
    }

    @Test func wideCharacterAtTheEdgeBecomesSpace() {
        var screen = Screen(width: 4, height: 1)
        screen.put("abc👋", x: 0, y: 0, style: .plain)
        #expect(screen.line(0) == "abc ")
        #expect(!screen.cells.contains { $0.width == 2 })
    }

    @Test func overwritingHalfAWideCharacterClearsBothHalves() {
        var screen = Screen(width: 4, height: 1)
        screen.put("日本", x: 0, y: 0, style: .plain)
        screen.put("x", x: 1, y: 0, style: .plain)
        #expect(screen.line(0) == " x本")
        #expect(!screen[0, 0].isContinuation && screen[0, 0].width == 1)
    }

    @Test func combiningMarkStaysWithItsBase() {
        var screen = Screen(width: 4, height: 1)
        #expect(screen.put("e\u{301}x", x: 0, y: 0, style: .plain) == 2)
        #expect(screen[0, 0].character == "e\u{301}")
        #expect(screen[1, 0].character == "x")
    }

    @Test func controlCharactersNeverReachTheGrid() {
        var screen = Screen(width: 40, height: 1)
        screen.put("a\u{1B}[2Jb\u{7}c\u{9B}d", x: 0, y: 0, style: .plain)
        #expect(screen.line(0).trimmingTrailingSpaces == "a\\x1b[2Jb\\u{7}c\\u{9b}d")
        for cell in screen.cells {
            for scalar in cell.character.unicodeScalars {
                #expect(scalar.value >= 0x20 && !(0x7F...0x9F).contains(scalar.value))
            }
        }
    }

    @Test func findAndStyle() {
        var screen = Screen(width: 20, height: 2)
        let red = Style(foreground: .red)
        screen.put("日本 needle", x: 1, y: 1, style: red)
        #expect(screen.find("needle")?.x == 6)
        #expect(screen.find("needle")?.y == 1)
        #expect(screen.style(of: "needle") == red)
        #expect(screen.find("absent") == nil)
    }
}
