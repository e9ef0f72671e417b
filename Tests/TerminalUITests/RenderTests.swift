import Inspector
import Testing
import WebSocket
@testable import TerminalUI

@Suite struct TimelineRenderTests {
    let theme = Theme.standard

    @Test func layoutAt120x40() {
        let layout = Layout(width: 120, height: 40)
        #expect(!layout.tooSmall)
        #expect(layout.split)
        #expect(layout.timelineY == 2 && layout.timelineHeight == 18)
        #expect(layout.tabsY == 20 && layout.detailY == 21 && layout.detailHeight == 18)
        #expect(layout.leftPaneWidth == 40 && layout.rightPaneX == 41 && layout.rightPaneWidth == 79)
        #expect(!Layout(width: 99, height: 30).split)
    }

    @Test func statusBarShowsModeEndpointStateAndCounters() {
        let screen = render(state(demoTimeline()))
        let bar = screen.line(0)
        #expect(bar.hasPrefix(" wscope demo  ws://127.0.0.1:9001/demo │ open │ in 4 fr "))
        #expect(bar.contains("│ out 4 fr "))
        #expect(bar.contains("proto - │ ext -"))
        #expect(bar.contains("FOLLOW"))
        #expect(bar.contains("○ rec"))
        #expect(screen.style(of: "wscope demo") == theme[.statusAccent])
    }

    @Test func statusBarCounts() {
        // 4 frames each way: masked out (6-byte headers), unmasked in (2-byte headers).
        let ui = state(demoTimeline())
        #expect(ui.stats.framesIn == 4 && ui.stats.framesOut == 4)
        #expect(ui.stats.bytesOut == 28 + 11 + 20 + 31)
        #expect(ui.stats.bytesIn == 24 + 7 + 16 + 27)
        #expect(render(ui).line(0).contains("in 4 fr 74 B │ out 4 fr 90 B"))
    }

    @Test func statusBarDropsDetailsWhenNarrow() {
        let ui = state(demoTimeline(), width: 70, height: 20)
        let bar = render(ui).line(0)
        #expect(!bar.contains("proto"))
        #expect(bar.contains("in 4 fr 74 B"))
        #expect(bar.hasSuffix("○ rec "))
    }

    @Test func recordingIndicator() {
        let ui = state(demoTimeline())
        #expect(ui.handle(.char("r")) == [.setRecording(true)])
        let screen = render(ui)
        #expect(screen.line(0).contains("● REC"))
        #expect(screen.style(of: "● REC") == theme[.statusRecording])
        #expect(ui.handle(.char("r")) == [.setRecording(false)])
    }

    @Test func columnTitlesAndFrameRows() {
        let screen = render(state(demoTimeline()))
        #expect(screen.line(1).trimmingTrailingSpaces == "      TIME DIR OPCODE  FIN RSV MASK   LENGTH  PAYLOAD")
        let lines = screen.lines
        #expect(lines[2] == "     0.000  •  connecting to ws://127.0.0.1:9001/demo")
        #expect(lines[3] == "     0.025  •  #1 open 127.0.0.1:9001 /demo")
        #expect(lines[4] == "     0.125  →  text    FIN --- MASK       22  \"Hello from wscope 👋\"")
        #expect(lines[5] == "     0.225  ←  text    FIN --- ----       22  \"Hello from wscope 👋\"")
        #expect(lines[6] == "     0.325  →  binary  FIN --- MASK        5  hex:000102feff")
        #expect(lines[8] == "     0.525  →  ping    FIN --- MASK       14  \"are you there?\"")
        #expect(lines[9] == "     0.625  ←  pong    FIN --- ----       14  \"are you there?\"")
    }

    @Test func flagsColumns() {
        let ui = state(timeline([
            frameEvent("text:hi;fin=0;rsv1=1;rsv3=1;mask=none"),
            frameEvent("cont:x;rsv2=1", .incoming),
            frameEvent("op3:zz;len=200", .incoming),
        ]))
        let lines = render(ui).lines
        // RSV1 means compressed: the preview shows bytes, as the --no-tui line does.
        #expect(lines[4] == "     0.125  →  text    --- 1-3 ----        2  hex:6869")
        #expect(lines[5] == "     0.225  ←  cont    FIN -2- ----        1  \"x\"")
        #expect(lines[6].hasPrefix("     0.325  ←  op3     FIN --- ----      200  "))
    }

    @Test func wideCharactersInPayloadKeepColumnsAligned() {
        let ui = state(timeline([frameEvent("text:日本語👋ok"), frameEvent("text:plain")]), width: 80, height: 24)
        let screen = render(ui)
        let wide = screen.line(4)
        #expect(wide.contains("\"日本語👋ok\""))
        // The preview starts in the same column on both rows.
        let (x1, y1) = screen.find("\"日本語")!
        let (x2, y2) = screen.find("\"plain")!
        #expect(x1 == x2 && y1 == 4 && y2 == 5)
        // The wide row occupies exactly the screen's width.
        #expect(DisplayWidth.of(wide) == 80)
    }

    @Test func selectionFollowsNewestAndIsStyled() {
        let ui = state(demoTimeline())
        #expect(ui.selectedRow == ui.rowCount - 1)
        let screen = render(ui)
        let y = 2 + ui.rowCount - 1
        #expect(screen[0, y].style == theme[.selected])
        #expect(screen[60, y].style == theme[.selected])  // the whole width
        #expect(screen[0, y - 1].style != theme[.selected])
    }

    @Test func controlFramesAndErrorsLookDifferent() {
        let ui = state(timeline([
            frameEvent("text:data"),
            frameEvent("ping:p"),
            .violation(connection: 1, description: "RSV1 set without an extension", code: .protocolError, wire: [0xC1, 0x00]),
            .closed(connection: 1, code: .protocolError, reason: "", clean: false),
        ]))
        ui.select(row: 0)
        let screen = render(ui)
        let data = screen.style(of: "text    FIN")
        let control = screen.style(of: "ping    FIN")
        let error = screen.style(of: "#1 protocol violation")
        #expect(data == theme[.row])
        #expect(control == theme[.control])
        #expect(error == theme[.error])
        #expect(screen.lines[6].hasPrefix("     0.325  !  #1 protocol violation: RSV1 set without an extension; closing with 1002"))
        #expect(screen.style(of: "#1 closed") == theme[.event])
        #expect(screen.line(0).contains("closed 1002 (unclean)"))
        #expect(screen.style(of: "closed 1002") == theme[.statusAlert])
    }

    @Test func connectionColumnAppearsWithSeveralConnections() {
        let ui = state(timeline([frameEvent("text:one", connection: 1), frameEvent("text:two", connection: 2)]))
        let screen = render(ui)
        // Under the connection list (title, all, #1, #2).
        #expect(ui.layout.columnHeaderY == 5)
        #expect(screen.line(5).contains("DIR CONN OPCODE"))
        #expect(screen.lines[8] == "     0.125  →  #1   text    FIN --- MASK        3  \"one\"")
        #expect(screen.lines[9] == "     0.225  →  #2   text    FIN --- MASK        3  \"two\"")
        #expect(Renderer.columnTitles(showConnection: false) == "      TIME DIR OPCODE  FIN RSV MASK   LENGTH  PAYLOAD")
    }

    @Test func escapeSequencesInPayloadsAreShownNotSent() {
        // ESC ] 2 ; title BEL sets the window title; ESC [ 2 J clears the screen.
        let title: [UInt8] = [0x1B] + Array("]2;title".utf8) + [0x07]
        let clear: [UInt8] = [0x1B] + Array("[2J".utf8)
        let ui = state(timeline([
            .frame(connection: 1, direction: .incoming, header: Header(opcode: .text, length: UInt64(title.count)), payload: title, wire: [0x81, UInt8(title.count)] + title),
            .frame(connection: 1, direction: .incoming, header: Header(opcode: .text, length: UInt64(clear.count)), payload: clear, wire: [0x81, UInt8(clear.count)] + clear),
            .frame(connection: 1, direction: .incoming, header: Header(opcode: .text, length: 4), payload: [0x61, 0xC2, 0x9B, 0xFF], wire: [0x81, 4, 0x61, 0xC2, 0x9B, 0xFF]),
        ]))
        ui.select(row: 2)
        ui.handle(.char("2"))
        let screen = render(ui)
        #expect(screen.lines[4].hasSuffix("\"\\x1b]2;title\\u{7}\""))
        #expect(screen.lines[5].hasSuffix("\"\\x1b[2J\""))
        #expect(screen.lines[6].hasSuffix("hex:61c29bff"))  // C1 CSI and an invalid byte: not UTF-8
        #expect(screen.find("\\x1b]2;title\\u{7}") != nil)  // payload pane too
        assertTerminalSafe(screen)
        ui.select(row: 4)
        let payloadScreen = render(ui)
        #expect(payloadScreen.find("a\\u{9b}\\xff") != nil)
        assertTerminalSafe(payloadScreen)
    }

    @Test func emptyAndFilteredOutTimelines() {
        let empty = render(state(ArrayTimeline()))
        #expect(empty.lines[2] == "  waiting for events…")
        let ui = state(demoTimeline())
        ui.handle(.char("/"))
        ui.type("op:close")
        ui.handle(.enter)
        #expect(render(ui).lines[2] == "  no rows match the filter (Esc clears it)")
    }
}

/// No cell of the screen holds a control character.
func assertTerminalSafe(_ screen: Screen, sourceLocation: SourceLocation = #_sourceLocation) {
    for cell in screen.cells {
        for scalar in cell.character.unicodeScalars {
            let value = scalar.value
            #expect(value >= 0x20 && !(0x7F...0x9F).contains(value), "control U+\(String(value, radix: 16)) on screen", sourceLocation: sourceLocation)
        }
    }
}

@Suite struct PaneRenderTests {
    let theme = Theme.standard

    /// The demo timeline with its first text frame (row 2) selected.
    func selectedText() -> UIState {
        let ui = state(demoTimeline())
        ui.select(row: 2)
        return ui
    }

    @Test func tabsRow() {
        let screen = render(selectedText())
        #expect(screen.line(20).hasPrefix(" Header "))
        #expect(screen.line(20).contains("│ Payload   Hex   Close "))
        #expect(screen.style(of: " Payload ") == theme[.tabActive])
        #expect(screen.style(of: " Hex ") == theme[.tab])
    }

    @Test func headerPaneShowsEveryField() {
        let screen = render(selectedText())
        let expected = [
            "direction  → out (sent)",
            "connection #1",
            "time       0.125000 s",
            "FIN        1",
            "RSV1       0",
            "RSV2       0",
            "RSV3       0",
            "opcode     0x1 text",
            "MASK       1",
            "mask key   37 fa 21 3d",
            "length     22 (7-bit field)",
            "header     81 96 37 fa 21 3d  (6 bytes)",
            "wire       28 bytes",
        ]
        for (index, text) in expected.enumerated() {
            let line = screen.line(21 + index)
            #expect(line.hasPrefix(" " + text), "line \(index): \(line)")
        }
        #expect(screen.style(of: "mask key") == theme[.label])
    }

    @Test func headerPaneForMalformedHeaders() {
        let ui = state(timeline([frameEvent("op3:hi;rsv1=1;len=200;len64"), frameEvent("text:x;len16")]))
        ui.select(row: 2)
        let lines = Details.header(ui.selectedEntry!).map(\.plainText)
        #expect(lines.contains("opcode     0x3 op3 (reserved)"))
        #expect(lines.contains("RSV1       1"))
        #expect(lines.contains("length     200 (64-bit field, not minimal)"))
        #expect(lines.contains("           payload has 2 bytes"))
        #expect(lines.contains { $0.hasPrefix("header     c3 ff 00 00 00 00 00 00 00 c8 37 fa 21 3d  (14 bytes)") })
        ui.select(row: 3)
        #expect(Details.header(ui.selectedEntry!).map(\.plainText).contains("length     1 (16-bit field, not minimal)"))
    }

    @Test func hexPaneLayout() {
        let ui = selectedText()
        ui.handle(.char("3"))
        let screen = render(ui)
        #expect(screen.line(20).contains("│ Payload   Hex   Close "))
        #expect(screen.style(of: " Hex ") == theme[.tabActive])
        let x = 42
        #expect(screen.line(21).dropFirst(x).hasPrefix("payload, 22 bytes (unmasked)  [w: wire]"))
        #expect(screen.line(22).dropFirst(x).hasPrefix("00000000  48 65 6c 6c 6f 20 66 72  6f 6d 20 77 73 63 6f 70  |Hello from wscop|"))
        let second = String(screen.line(23).dropFirst(x)).trimmingTrailingSpaces
        #expect(second == "00000010  65 20 f0 9f 91 8b" + String(repeating: " ", count: 33) + "|e ....|")
        #expect(screen.style(of: "00000010") == theme[.hexOffset])
        #expect(screen.style(of: "|e ....|") == theme[.hexASCII])
        // w: the wire bytes, masked.
        ui.handle(.char("w"))
        let wire = render(ui)
        #expect(wire.line(21).dropFirst(x).hasPrefix("wire bytes, 28 (payload masked)  [w: payload]"))
        #expect(wire.line(22).dropFirst(x).hasPrefix("00000000  81 96 37 fa 21 3d"))
    }

    @Test func hexDumpWidths() {
        let bytes = Array(0..<20).map { UInt8($0 + 0x41) }
        #expect(HexDump.perLine(width: 78) == 16)
        #expect(HexDump.perLine(width: 77) == 8)
        #expect(HexDump.perLine(width: 45) == 8)
        #expect(HexDump.perLine(width: 44) == 4)
        #expect(HexDump.text(bytes, perLine: 8) == [
            "00000000  41 42 43 44 45 46 47 48  |ABCDEFGH|",
            "00000008  49 4a 4b 4c 4d 4e 4f 50  |IJKLMNOP|",
            "00000010  51 52 53 54" + String(repeating: " ", count: 14) + "|QRST|",
        ])
        #expect(HexDump.text([0x00, 0x7F, 0x80, 0x20], perLine: 4) == ["00000000  00 7f 80 20  |... |"])
        // A large payload costs only the lines asked for.
        let big = PaneContent.hex(intro: [], bytes: [UInt8](repeating: 0xAB, count: 1 << 20), perLine: 16)
        #expect(big.lineCount == 65536)
        #expect(big.line(65535).plainText.hasPrefix("000ffff0  ab ab"))
    }

    @Test func narrowLayoutShowsOnePaneWithTabs() {
        let ui = state(demoTimeline(), width: 80, height: 24)
        ui.select(row: 2)
        var screen = render(ui)
        let layout = ui.layout
        #expect(screen.line(layout.tabsY).hasPrefix(" Header   Payload   Hex   Close "))
        #expect(screen.line(layout.detailY).hasPrefix(" text, 22 bytes"))
        ui.handle(.char("1"))
        screen = render(ui)
        #expect(screen.line(layout.detailY).hasPrefix(" direction  → out (sent)"))
        ui.handle(.char("3"))
        screen = render(ui)
        // 79 columns: 16 bytes a line.
        #expect(screen.line(layout.detailY + 1).hasPrefix(" 00000000  48 65 6c 6c 6f 20 66 72  6f 6d 20 77"))
    }

    @Test func payloadPaneTextAndJSON() {
        let ui = state(demoTimeline())
        ui.select(row: 8)  // the JSON text frame sent
        let screen = render(ui)
        let x = 42
        let lines = (21..<27).map { String(screen.line($0).dropFirst(x)).trimmingTrailingSpaces }
        #expect(lines == ["JSON, 25 bytes", "{", "  \"type\": \"json\",", "  \"ok\": true", "}", ""])
        #expect(screen.style(of: "\"type\"") == theme[.jsonKey])
        #expect(screen.style(of: "\"json\"") == theme[.jsonString])
        let ok = screen.find("\"ok\": true")!
        #expect(screen[ok.x + 6, ok.y].style == theme[.jsonLiteral])
        ui.select(row: 2)
        let text = render(ui)
        #expect(String(text.line(21).dropFirst(x)).hasPrefix("text, 22 bytes"))
        #expect(String(text.line(22).dropFirst(x)).hasPrefix("Hello from wscope 👋"))
    }

    @Test func payloadPaneBreaksLinesAndEscapes() {
        let lines = Details.payload(TimelineEntry(tNs: 0, event: frameEvent("text:one\\ntwo\\r\\nthree\\tx\\\\y"))).map(\.plainText)
        #expect(lines == ["text, 18 bytes", "one\\n", "two\\r\\n", "three\\tx\\\\y"])
        let binary = Details.payload(TimelineEntry(tNs: 0, event: frameEvent("binary:hex:00ff41"))).map(\.plainText)
        #expect(binary == ["binary, 3 bytes (escaped; the Hex pane shows the bytes)", "\\u{0}\\xffA"])
        let empty = Details.payload(TimelineEntry(tNs: 0, event: frameEvent("ping"))).map(\.plainText)
        #expect(empty == ["(empty payload)"])
    }

    @Test func jsonPrettyPrinter() {
        func pretty(_ text: String) -> [String]? {
            JSONPretty.format(Array(text.utf8))?.map(\.plainText)
        }
        #expect(pretty(#"{"a":[1,2.5e3,{"b":null}],"c":{},"d":[],"e":"x\"y"}"#) == [
            "{",
            "  \"a\": [",
            "    1,",
            "    2.5e3,",
            "    {",
            "      \"b\": null",
            "    }",
            "  ],",
            "  \"c\": {},",
            "  \"d\": [],",
            "  \"e\": \"x\\\"y\"",
            "}",
        ])
        #expect(pretty("[]") == ["[]"])
        #expect(pretty(" [ true , false ] ") == ["[", "  true,", "  false", "]"])
        // Not JSON, or not an object or array: shown as text instead.
        #expect(pretty("42") == nil)
        #expect(pretty("\"s\"") == nil)
        #expect(pretty("{\"a\":}") == nil)
        #expect(pretty("{\"a\":1,}") == nil)
        #expect(pretty("{\"a\":01}") == nil)
        #expect(pretty("{\"a\":1} x") == nil)
        #expect(pretty("{\"a\":\"tab\there\"}") == nil)  // raw control character in a string
        // Characters that could act on a terminal are escaped inside strings.
        #expect(pretty("{\"a\":\"\u{202E}rtl\"}") == ["{", "  \"a\": \"\\u{202e}rtl\"", "}"])
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(pretty(deep) == nil)
    }

    @Test func closePane() {
        let ui = state(timeline([
            frameEvent("close:1000:bye"),
            frameEvent("close:1000:bye", .incoming),
            .closed(connection: 1, code: .normalClosure, reason: "bye", clean: true),
            frameEvent("close:hex:03e8ff", .incoming),
            frameEvent("text:not a close"),
        ]))
        ui.select(row: 2)
        ui.handle(.char("4"))
        var screen = render(ui)
        let x = 42
        func pane(_ screen: Screen) -> [String] {
            (21..<26).map { String(screen.line($0).dropFirst(x)).trimmingTrailingSpaces }
        }
        #expect(pane(screen) == ["close frame sent", "code       1000", "meaning    normal closure", "reason     \"bye\"", ""])
        ui.select(row: 4)
        screen = render(ui)
        #expect(pane(screen) == ["connection #1 closed", "code       1000", "meaning    normal closure", "reason     \"bye\"",
                                 "clean      yes: both close frames exchanged"])
        ui.select(row: 5)
        screen = render(ui)
        #expect(pane(screen)[0] == "close frame received")
        #expect(pane(screen)[1].hasPrefix("invalid    "))
        #expect(pane(screen)[2] == "code       1000 (normal closure)")
        #expect(pane(screen)[3] == "reason     \"\\xff\"")
        ui.select(row: 6)
        #expect(pane(render(ui))[0] == "(not a close frame: select a close frame or a closed event)")
        // The timeline row of a close frame shows code and reason too.
        #expect(screen.lines[2 + 2].hasSuffix("1000 (normal closure) \"bye\""))
    }

    @Test func openedEventShowsTheHandshake() {
        let ui = state(demoTimeline())
        ui.select(row: 1)
        let payload = Details.payload(ui.selectedEntry!).map(\.plainText)
        #expect(payload == ["request", "GET /demo HTTP/1.1", "Host: 127.0.0.1:9001", "response",
                            "HTTP/1.1 101 Switching Protocols", "Upgrade: websocket"])
        let header = Details.header(ui.selectedEntry!).map(\.plainText)
        #expect(header.contains("peer       127.0.0.1:9001"))
        #expect(header.contains("protocol   (none)"))
    }

    @Test func paneScrolls() {
        let long = (0..<60).map { "line \($0)" }.joined(separator: "\\n")
        let ui = state(timeline([frameEvent("text:" + long)]), width: 80, height: 24)
        ui.select(row: 2)
        let layout = ui.layout
        var screen = render(ui)
        #expect(screen.line(layout.detailY + 1).hasPrefix(" line 0\\n"))
        #expect(screen.line(layout.tabsY).contains(" 1-\(layout.detailHeight)/61 "))
        ui.handle(.tab)
        ui.handle(.tab)  // focus the payload pane
        #expect(ui.focus == .payload)
        ui.handle(.char("j"))
        ui.handle(.pageDown)
        screen = render(ui)
        let first = 1 + (layout.detailHeight - 1)
        #expect(screen.line(layout.detailY).hasPrefix(" line \(first - 1)\\n"))
        ui.handle(.char("G"))
        screen = render(ui)
        #expect(screen.line(layout.detailY + layout.detailHeight - 1).hasPrefix(" line 59"))
        #expect(screen.line(layout.tabsY).contains("[Payload]"))
        ui.handle(.escape)
        #expect(ui.focus == nil)
    }
}

@Suite struct OverlayRenderTests {
    @Test func helpOverlay() {
        let ui = state(demoTimeline())
        ui.handle(.char("?"))
        #expect(ui.showsHelp)
        let screen = render(ui)
        #expect(screen.find("┌─ wscope keys ") != nil)
        #expect(screen.find("q  Ctrl-C      quit") != nil)
        #expect(screen.find("filter: dir:in op:ping fin rsv1 mask len>100") != nil)
        #expect(screen.find("any key closes") != nil)
        #expect(screen.style(of: "wscope keys") == Theme.standard[.helpKey])
        // Any key closes it and does nothing else.
        #expect(ui.handle(.char("q")) == [])
        #expect(!ui.showsHelp)
        #expect(render(ui).find("wscope keys") == nil)
    }

    @Test func tooSmall() {
        let ui = state(demoTimeline(), width: 40, height: 10)
        let screen = render(ui)
        #expect(screen.lines.contains("           terminal too small"))
        #expect(screen.find("40x10, need 60x12") != nil)
        #expect(screen.find("wscope demo") == nil)
        #expect(ui.handle(.char("j")) == [])
        #expect(ui.handle(.char("q")) == [.quit])
        ui.resize(width: 60, height: 12)
        let fits = render(ui)
        #expect(fits.find("terminal too small") == nil)
        #expect(fits.line(0).hasPrefix(" wscope demo "))
        ui.resize(width: 59, height: 30)
        #expect(render(ui).find("terminal too small") != nil)
    }

    @Test func hintsAndMessages() {
        let ui = state(demoTimeline())
        #expect(render(ui).line(39).hasPrefix(" ? help  q quit"))
        ui.handle(.char("n"))
        let screen = render(ui)
        #expect(screen.line(39).hasPrefix(" no search: press s to search"))
        #expect(screen.style(of: "no search") == Theme.standard[.messageError])
    }

    @Test(arguments: Theme.builtinNames)
    func everyThemeRenders(name: String) {
        let theme = Theme.builtin(name)!
        let ui = state(demoTimeline())
        ui.select(row: 2)
        let screen = Renderer.render(ui, theme: theme)
        #expect(screen.line(0).hasPrefix(" wscope demo "))
        #expect(screen[0, 2 + 2].style == theme[.selected])
        #expect(screen.style(of: "ping    FIN") == theme[.control])
    }
}
