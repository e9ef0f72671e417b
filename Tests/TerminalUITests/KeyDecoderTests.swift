import Testing
import TerminalUI

@Suite struct KeyDecoderTests {
    func decode(_ bytes: [UInt8]) -> [Key] {
        var decoder = KeyDecoder()
        return decoder.feed(bytes) + decoder.flush()
    }

    func decode(_ text: String) -> [Key] { decode(Array(text.utf8)) }

    @Test func printableAndControlKeys() {
        #expect(decode("jk") == [.char("j"), .char("k")])
        #expect(decode([0x0D, 0x09, 0x7F, 0x08, 0x03, 0x01]) == [.enter, .tab, .backspace, .backspace, .ctrl("c"), .ctrl("a")])
        #expect(decode("\r\n") == [.enter])
    }

    @Test func utf8Characters() {
        #expect(decode("é👋日") == [.char("é"), .char("👋"), .char("日")])
        // Invalid bytes are dropped, not turned into keys.
        #expect(decode([0xFF, 0x61]) == [.char("a")])
    }

    @Test func cursorAndEditingKeys() {
        #expect(decode("\u{1B}[A\u{1B}[B\u{1B}[C\u{1B}[D") == [.up, .down, .right, .left])
        #expect(decode("\u{1B}OA\u{1B}OB") == [.up, .down])  // application cursor mode
        #expect(decode("\u{1B}[5~\u{1B}[6~") == [.pageUp, .pageDown])
        #expect(decode("\u{1B}[H\u{1B}[F\u{1B}[1~\u{1B}[4~\u{1B}[7~\u{1B}[8~") == [.home, .end, .home, .end, .home, .end])
        #expect(decode("\u{1B}[3~\u{1B}[2~\u{1B}[Z") == [.delete, .insert, .backTab])
        #expect(decode("\u{1B}OP\u{1B}[15~") == [.function(1), .function(5)])
        // Modifiers (Ctrl-Up) are read as the plain key.
        #expect(decode("\u{1B}[1;5A") == [.up])
    }

    @Test func loneEscapeWaitsForFlush() {
        var decoder = KeyDecoder()
        #expect(decoder.feed([0x1B]) == [])
        #expect(decoder.hasPending)
        #expect(decoder.flush() == [.escape])
        #expect(!decoder.hasPending)
    }

    @Test func sequenceSplitAcrossReads() {
        var decoder = KeyDecoder()
        #expect(decoder.feed(Array("\u{1B}[".utf8)) == [])
        #expect(decoder.feed(Array("5~j".utf8)) == [.pageUp, .char("j")])
        // Half a UTF-8 character.
        #expect(decoder.feed([0xF0, 0x9F]) == [])
        #expect(decoder.feed([0x91, 0x8B]) == [.char("👋")])
    }

    @Test func altAndDoubleEscape() {
        #expect(decode("\u{1B}b") == [.alt("b")])
        #expect(decode("\u{1B}\u{1B}[A") == [.escape, .up])
    }

    @Test func sgrMouse() {
        #expect(decode("\u{1B}[<0;10;5M") == [.mouse(MouseEvent(kind: .press(button: 0), x: 9, y: 4))])
        #expect(decode("\u{1B}[<0;10;5m") == [.mouse(MouseEvent(kind: .release, x: 9, y: 4))])
        #expect(decode("\u{1B}[<64;1;1M") == [.mouse(MouseEvent(kind: .wheelUp, x: 0, y: 0))])
        #expect(decode("\u{1B}[<65;3;7M") == [.mouse(MouseEvent(kind: .wheelDown, x: 2, y: 6))])
        #expect(decode("\u{1B}[<32;4;4M") == [.mouse(MouseEvent(kind: .drag(button: 0), x: 3, y: 3))])
        #expect(decode("\u{1B}[<2;120;40M") == [.mouse(MouseEvent(kind: .press(button: 2), x: 119, y: 39))])
    }

    @Test func unknownSequencesAreSwallowed() {
        #expect(decode("\u{1B}[99zj") == [.char("j")])
        #expect(decode("\u{1B}[?1;2cj") == [.char("j")])  // a device attributes reply
    }
}
