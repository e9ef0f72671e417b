import Inspector
import Testing
import WebSocket
@testable import TerminalUI

@Suite struct NavigationTests {
    @Test func movingAndFollowing() {
        let ui = state(demoTimeline())
        #expect(ui.follow && ui.selectedRow == 9)
        ui.handle(.char("k"))
        #expect(ui.selectedRow == 8 && !ui.follow)
        ui.handle(.up)
        ui.handle(.char("j"))
        #expect(ui.selectedRow == 8)
        ui.handle(.char("g"))
        #expect(ui.selectedRow == 0)
        ui.handle(.down)
        #expect(ui.selectedRow == 1)
        ui.handle(.home)
        #expect(ui.selectedRow == 0)
        ui.handle(.end)
        #expect(ui.selectedRow == 9 && ui.follow)
        ui.handle(.char("g"))
        ui.handle(.char("G"))
        #expect(ui.selectedRow == 9 && ui.follow)
    }

    @Test func followSticksToNewestAsRowsArrive() {
        let source = demoTimeline()
        let ui = state(source)
        source.append(frameEvent("text:new"), tNs: 2_000_000_000)
        #expect(ui.sync())
        #expect(ui.selectedRow == 10)
        // Not following: the selection stays put.
        ui.handle(.char("k"))
        source.append(frameEvent("text:newer"), tNs: 2_100_000_000)
        ui.sync()
        #expect(ui.selectedRow == 9)
        #expect(!ui.sync())  // nothing new
        // f turns following back on and jumps to the newest row.
        ui.handle(.char("f"))
        #expect(ui.follow && ui.selectedRow == 11)
        ui.handle(.char("f"))
        #expect(!ui.follow)
        // Moving down onto the last row follows again.
        ui.handle(.char("k"))
        ui.handle(.char("j"))
        ui.handle(.char("j"))
        #expect(ui.follow)
    }

    @Test func pagesAndScrolling() {
        let source = timeline((0..<100).map { frameEvent("text:m\($0)") })
        let ui = state(source, width: 80, height: 24)  // 10 timeline rows
        #expect(ui.layout.timelineHeight == 10)
        #expect(ui.selectedRow == 101 && ui.topRow == 92)
        ui.handle(.pageUp)
        #expect(ui.selectedRow == 92 && ui.topRow == 92)
        ui.handle(.pageUp)
        #expect(ui.selectedRow == 83 && ui.topRow == 83)
        ui.handle(.pageDown)
        #expect(ui.selectedRow == 92 && ui.topRow == 83)
        ui.handle(.char("g"))
        #expect(ui.topRow == 0)
        let screen = render(ui)
        #expect(screen.line(2).contains("connecting to"))
        #expect(screen.line(11).contains("\"m7\""))
        #expect(!screen.text.contains("\"m8\""))
    }

    @Test func resizeKeepsTheSelectionVisible() {
        let source = timeline((0..<100).map { frameEvent("text:m\($0)") })
        let ui = state(source)
        ui.select(row: 50)
        ui.resize(width: 80, height: 14)
        #expect(ui.topRow <= 50 && 50 < ui.topRow + ui.layout.timelineHeight)
        #expect(render(ui).text.contains("\"m48\""))
    }

    @Test func tabCyclesPanesAndNumbersPickThem() {
        let ui = state(demoTimeline())
        #expect(ui.focus == nil && ui.shownPane == .payload)
        ui.handle(.tab)
        #expect(ui.focus == .header && ui.shownPane == .payload)  // wide: Header is always on the left
        ui.handle(.tab)
        #expect(ui.focus == .payload)
        ui.handle(.tab)
        #expect(ui.focus == .hex && ui.shownPane == .hex)
        ui.handle(.tab)
        #expect(ui.focus == .close && ui.shownPane == .close)
        ui.handle(.tab)
        #expect(ui.focus == nil)
        ui.handle(.backTab)
        #expect(ui.focus == .close)
        ui.handle(.escape)
        ui.handle(.char("3"))
        #expect(ui.shownPane == .hex && ui.focus == nil)
        ui.handle(.char("1"))
        #expect(ui.shownPane == .hex)  // wide layout: Header is already shown
        let narrow = state(demoTimeline(), width: 80, height: 24)
        narrow.handle(.char("1"))
        #expect(narrow.shownPane == .header)
    }

    @Test func escapeFollowedQuicklyByAKey() {
        let ui = state(demoTimeline())
        ui.handle(.char("/"))
        ui.type("op:ping")
        ui.handle(.enter)
        #expect(ui.filter != nil)
        ui.handle(.alt("3"))  // Esc (clears the filter), then 3
        #expect(ui.filter == nil && ui.shownPane == .hex)
        // In a prompt, Alt-b moves back a word instead.
        ui.handle(.char("i"))
        ui.type("one two")
        ui.handle(.alt("b"))
        ui.type("X")
        #expect(ui.editor.text == "one Xtwo")
    }

    @Test func quitKeys() {
        let ui = state(demoTimeline())
        #expect(ui.handle(.char("q")) == [.quit])
        #expect(ui.handle(.ctrl("c")) == [.quit])
        ui.handle(.char("i"))
        #expect(ui.handle(.char("q")) == [])  // typed into the composer
        #expect(ui.handle(.ctrl("c")) == [.quit])
    }

    @Test func mouse() {
        let ui = state(demoTimeline())
        ui.handle(.mouse(MouseEvent(kind: .press(button: 0), x: 10, y: 4)))
        #expect(ui.selectedRow == 2 && !ui.follow)
        ui.handle(.mouse(MouseEvent(kind: .wheelDown, x: 10, y: 4)))
        #expect(ui.selectedRow == 5)
        ui.handle(.mouse(MouseEvent(kind: .wheelUp, x: 10, y: 4)))
        #expect(ui.selectedRow == 2)
        // Clicking a tab shows that pane; clicking below the rows does nothing.
        let hex = Renderer.tabs(layout: ui.layout, shown: ui.shownPane, focus: nil).first { $0.pane == .hex }!
        ui.handle(.mouse(MouseEvent(kind: .press(button: 0), x: hex.x + 1, y: ui.layout.tabsY)))
        #expect(ui.shownPane == .hex && ui.focus == .hex)
        ui.handle(.mouse(MouseEvent(kind: .press(button: 0), x: 5, y: 15)))
        #expect(ui.selectedRow == 2)
        #expect(ui.focus == nil)
        // Clicking in the Header pane focuses it.
        ui.handle(.mouse(MouseEvent(kind: .press(button: 0), x: 5, y: ui.layout.detailY + 2)))
        #expect(ui.focus == .header)
    }
}

@Suite struct FilterTests {
    func rows(_ ui: UIState) -> [String] {
        (0..<ui.rowCount).map { row in Renderer.timelineRow(ui.entry(ofRow: row), showConnection: false).plainText }
    }

    func filtered(_ expression: String, _ source: TimelineSource = mixedTimeline()) throws -> [Int] {
        let filter = try Filter.parse(expression)
        return (0..<source.timelineCount).filter { filter.matches(source.timelineEntry(at: $0)) }
    }

    static func mixedTimeline() -> ArrayTimeline {
        timeline([
            frameEvent("text:hello world"),                      // 2
            frameEvent("text:HELLO back", .incoming),             // 3
            frameEvent("ping:p"),                                 // 4
            frameEvent("pong:p", .incoming),                      // 5
            frameEvent("binary:hex:" + String(repeating: "ab", count: 150)),  // 6
            frameEvent("text:abc;rsv1=1;fin=0", connection: 2),   // 7
            frameEvent("text:order 42 shipped", .incoming, connection: 2),  // 8
            .violation(connection: 2, description: "bad", code: .protocolError, wire: []),  // 9
        ])
    }

    @Test func terms() throws {
        #expect(try filtered("dir:in") == [3, 5, 8])
        #expect(try filtered("dir:out op:text") == [2, 7])
        #expect(try filtered("op:ping") == [4])
        #expect(try filtered("op:control") == [4, 5])
        #expect(try filtered("op:0x9") == [4])
        #expect(try filtered("op:9") == [4])
        #expect(try filtered("rsv1") == [7])
        #expect(try filtered("!fin") == [7])
        #expect(try filtered("mask dir:in") == [])
        #expect(try filtered("len>100") == [6])
        #expect(try filtered("len<=1") == [4, 5])
        #expect(try filtered("len=11") == [2])
        #expect(try filtered("conn:2") == [7, 8, 9])
        #expect(try filtered("#2 kind:frame") == [7, 8])
        #expect(try filtered("kind:error") == [9])
        #expect(try filtered("kind:event") == [0, 1, 9])
        #expect(try filtered("hello") == [2, 3])  // case-insensitive text
        #expect(try filtered("\"hello world\"") == [2])
        #expect(try filtered("re:order \\d+") == [])  // unquoted: the space splits the term
        #expect(try filtered("re:\"order \\d+\"") == [8])
        #expect(try filtered("re:^HEL") == [3])
        #expect(try filtered("open") == [1])  // event lines too
    }

    @Test func textTermsSearchPayloadBytes() throws {
        let source = timeline([
            frameEvent("text:Ünïcode OK"),
            frameEvent("binary:hex:00ff4f4b00"),             // "OK" inside binary bytes
            frameEvent("close:1000:Closing Time", .incoming),  // the reason, not the code bytes
        ])
        #expect(try filtered("ok", source) == [2, 3])
        #expect(try filtered("nïcode", source) == [2])
        #expect(try filtered("ünïcode", source) == [])  // only ASCII letters ignore case
        #expect(try filtered("time", source) == [4])
        #expect(try filtered("->", source) == [])  // frames match on their payload, not their --no-tui line
        #expect(Filter.contains([0x41, 0x42, 0x43][...], "bc"))
        #expect(!Filter.contains([0x41, 0x42][...], "abc"))
    }

    @Test func badExpressions() {
        #expect(throws: Filter.ParseError.self) { try Filter.parse("dir:sideways") }
        #expect(throws: Filter.ParseError.self) { try Filter.parse("op:bogus") }
        #expect(throws: Filter.ParseError.self) { try Filter.parse("len>lots") }
        #expect(throws: Filter.ParseError.self) { try Filter.parse("re:(") }
        #expect(throws: Filter.ParseError.self) { try Filter.parse("\"unterminated") }
    }

    @Test func slashFilterRestrictsRowsAndKeepsSelection() {
        let ui = state(Self.mixedTimeline())
        ui.select(row: 3)  // the incoming HELLO
        ui.handle(.char("/"))
        #expect(ui.prompt == .filter)
        ui.type("dir:in")
        #expect(render(ui).line(39).hasPrefix("filter: dir:in"))
        ui.handle(.enter)
        #expect(ui.prompt == nil)
        #expect(ui.rowCount == 3)
        #expect(ui.entryIndex(ofRow: ui.selectedRow!) == 3)
        #expect(rows(ui).allSatisfy { $0.contains("←") })
        let screen = render(ui)
        #expect(screen.line(0).contains("filter 3/10"))
        #expect(screen.line(39).hasPrefix(" filter: 3 of 10 rows"))
        // New matching rows join; others do not.
        let source = ui.source as! ArrayTimeline
        source.append(frameEvent("text:late", .incoming), tNs: 5_000_000_000)
        source.append(frameEvent("text:late out"), tNs: 5_100_000_000)
        ui.sync()
        #expect(ui.rowCount == 4)
        // / shows the current filter for editing; an empty filter clears it.
        ui.handle(.char("/"))
        #expect(ui.editor.text == "dir:in")
        ui.handle(.ctrl("u"))
        ui.handle(.enter)
        #expect(ui.filter == nil && ui.rowCount == 12)
        #expect(ui.entryIndex(ofRow: ui.selectedRow!) == 3)
    }

    @Test func badFilterShowsTheErrorAndKeepsThePrompt() {
        let ui = state(Self.mixedTimeline())
        ui.handle(.char("/"))
        ui.type("len>x")
        ui.handle(.enter)
        #expect(ui.prompt == .filter)
        #expect(ui.message?.isError == true)
        #expect(render(ui).line(39).contains("len> needs a number"))
        ui.handle(.escape)
        #expect(ui.prompt == nil && ui.filter == nil)
    }

    @Test func escapeClearsTheFilter() {
        let ui = state(Self.mixedTimeline())
        ui.handle(.char("/"))
        ui.type("op:ping")
        ui.handle(.enter)
        #expect(ui.rowCount == 1)
        ui.handle(.escape)
        #expect(ui.rowCount == 10)
    }

    @Test func searchJumpsBetweenMatches() {
        let ui = state(Self.mixedTimeline())
        ui.handle(.char("g"))
        ui.handle(.char("s"))
        #expect(ui.prompt == .search)
        ui.type("hello")
        ui.handle(.enter)
        #expect(ui.selectedRow == 2)
        ui.handle(.char("n"))
        #expect(ui.selectedRow == 3)
        ui.handle(.char("n"))
        #expect(ui.selectedRow == 2)  // wraps
        ui.handle(.char("N"))
        #expect(ui.selectedRow == 3)
        // Matching rows are marked in the gutter (the timeline starts under the
        // connection list: this timeline has two connections).
        let screen = render(ui)
        let y = ui.layout.timelineY
        #expect(y == 6)
        #expect(screen.line(y + 2).hasPrefix("*"))
        #expect(screen.line(y + 3).hasPrefix("*"))
        #expect(screen.line(y + 4).hasPrefix(" "))
        #expect(screen[0, y + 2].style == Theme.standard[.match])
        ui.handle(.char("s"))
        ui.handle(.ctrl("u"))
        ui.type("nothing-like-this")
        ui.handle(.enter)
        #expect(ui.message?.text == "no match for 'nothing-like-this'")
    }
}

@Suite struct ComposerTests {
    @Test func plainTextIsATextMessage() {
        let ui = state(demoTimeline())
        ui.handle(.char("i"))
        #expect(ui.prompt == .composer)
        ui.type("hello there")
        #expect(render(ui).line(39).hasPrefix("send> hello there"))
        #expect(render(ui).cursor?.x == 17 && render(ui).cursor?.y == 39)
        #expect(ui.handle(.enter) == [.sendText("hello there", connection: 1)])
        #expect(ui.prompt == .composer && ui.editor.text.isEmpty)  // stays open for the next one
        #expect(ui.message?.text == "sent text, 11 bytes")
        ui.handle(.escape)
        #expect(ui.prompt == nil)
    }

    @Test func frameSpecsAreCrafted() throws {
        let ui = state(demoTimeline())
        ui.handle(.char(":"))
        ui.type("text:hi;rsv1=1;mask=00000000")
        let commands = ui.handle(.enter)
        guard case .sendFrames(let frames, let connection) = commands.first else {
            Issue.record("expected frames, got \(commands)")
            return
        }
        #expect(connection == 1)
        #expect(frames.count == 1)
        #expect(frames[0].wire == [0xC1, 0x82, 0, 0, 0, 0, 0x68, 0x69])
        #expect(ui.message?.text == "sent text frame, 2 bytes")
    }

    @Test func interpretation() {
        #expect(Composer.interpret("hello", role: .client) == .text("hello"))
        #expect(Composer.interpret("hello: world", role: .client) == .text("hello: world"))
        #expect(Composer.interpret("text:ping", role: .client).isFrames)
        #expect(Composer.interpret("ping", role: .client).isFrames)
        #expect(Composer.interpret("close:1000:bye", role: .client).isFrames)
        #expect(Composer.interpret("op3:x", role: .client).isFrames)
        #expect(Composer.interpret("op0xb", role: .client).isFrames)
        #expect(Composer.interpret("raw:8100", role: .client).isFrames)
        #expect(Composer.interpret("operation", role: .client) == .text("operation"))
        #expect(Composer.interpret("text:hi;fn=0", role: .client) == .failure("frame spec: unknown override 'fn' (did you mean 'fin'?) (column 9)"))
    }

    @Test func badSpecKeepsTheInput() {
        let ui = state(demoTimeline())
        ui.handle(.char("i"))
        ui.type("text:hi;fn=0")
        #expect(ui.handle(.enter) == [])
        #expect(ui.prompt == .composer && ui.editor.text == "text:hi;fn=0")
        #expect(ui.message?.isError == true)
        #expect(render(ui).line(39).contains("unknown override 'fn'"))
    }

    @Test func historyRecallsTheLastHundred() {
        let ui = state(demoTimeline())
        ui.handle(.char("i"))
        for index in 0..<105 {
            ui.type("m\(index)")
            ui.handle(.enter)
        }
        #expect(ui.history.count == 100)
        #expect(ui.history.first == "m5" && ui.history.last == "m104")
        ui.type("draft")
        ui.handle(.up)
        #expect(ui.editor.text == "m104")
        ui.handle(.up)
        ui.handle(.up)
        #expect(ui.editor.text == "m102")
        ui.handle(.down)
        #expect(ui.editor.text == "m103")
        ui.handle(.down)
        ui.handle(.down)
        #expect(ui.editor.text == "draft")
        for _ in 0..<150 { ui.handle(.up) }
        #expect(ui.editor.text == "m5")
        // Sending a recalled line sends it again and records it once more.
        #expect(ui.handle(.enter) == [.sendText("m5", connection: 1)])
        #expect(ui.history.last == "m5")
        // The same line twice in a row is kept once.
        ui.type("m5")
        ui.handle(.enter)
        #expect(ui.history.suffix(2) == ["m104", "m5"])
    }

    @Test func lineEditing() {
        var editor = LineEditor("hello world")
        _ = editor.handle(.ctrl("w"))
        #expect(editor.text == "hello ")
        _ = editor.handle(.home)
        _ = editor.handle(.char(">"))
        #expect(editor.text == ">hello ")
        _ = editor.handle(.end)
        _ = editor.handle(.backspace)
        _ = editor.handle(.left)
        _ = editor.handle(.delete)
        #expect(editor.text == ">hell")
        _ = editor.handle(.ctrl("a"))
        _ = editor.handle(.ctrl("k"))
        #expect(editor.text == "")
        // A long line scrolls so that the cursor stays visible.
        let long = LineEditor(String(repeating: "x", count: 50) + "日本")
        let (text, cursor) = long.visible(width: 20)
        #expect(DisplayWidth.of(text) <= 20 && text.hasSuffix("日本"))
        #expect(cursor == DisplayWidth.of(text))
        // Control characters typed or pasted are shown escaped.
        #expect(LineEditor("a\u{1B}b").visible(width: 20).text == "a\\x1bb")
    }

    @Test func notConnected() {
        let source = demoTimeline()
        source.append(.closed(connection: 1, code: .normalClosure, reason: "", clean: true), tNs: 3_000_000_000)
        let ui = state(source)
        ui.handle(.char("i"))
        ui.type("hi")
        #expect(ui.handle(.enter) == [])
        #expect(ui.message?.text == "not connected: no open connection")
        ui.handle(.escape)
        #expect(ui.handle(.char("p")) == [])
    }

    @Test func readOnlyTimelines() {
        let ui = UIState(source: demoTimeline(), config: UIConfig(mode: "replay", endpoint: "x.jsonl", canSend: false), width: 120, height: 40)
        #expect(ui.handle(.char("i")) == [])
        #expect(ui.prompt == nil)
        #expect(ui.message?.text == "this timeline is read-only")
        #expect(ui.handle(.char("e")) == [])
    }

    @Test func severalConnectionsTargetTheSelectedOne() {
        let source = timeline([
            .opened(connection: 2, peer: "p2", request: "GET / HTTP/1.1\r\n\r\n", response: "", subprotocol: nil, extensions: nil),
            frameEvent("text:on two", .incoming, connection: 2),
            .opened(connection: 3, peer: "p3", request: "GET / HTTP/1.1\r\n\r\n", response: "", subprotocol: nil, extensions: nil),
        ])
        let ui = state(source, mode: "listen")
        ui.select(row: 3)
        ui.handle(.char("i"))
        #expect(render(ui).line(39).hasPrefix("send #2> "))
        ui.type("x")
        #expect(ui.handle(.enter) == [.sendText("x", connection: 2)])
        #expect(ui.message?.text == "sent text, 1 bytes on #2")
        ui.handle(.escape)
        ui.select(row: 0)  // not a connection's row: the newest open connection
        #expect(ui.handle(.char("p")) == [.ping(Array("wscope".utf8), connection: 3)])
    }
}

@Suite struct ActionTests {
    @Test func resendSelectedFrame() throws {
        let ui = state(demoTimeline())
        ui.select(row: 2)  // the text frame we sent
        let commands = ui.handle(.char("e"))
        guard case .sendFrames(let frames, 1) = commands.first else {
            Issue.record("expected frames, got \(commands)")
            return
        }
        #expect(frames[0].header?.opcode == .text && frames[0].header?.masked == true)
        #expect(frames[0].payload == Array("Hello from wscope 👋".utf8))
        #expect(ui.history.last == "text:Hello from wscope 👋")
        // An incoming (unmasked) frame is resent masked, as a client must.
        ui.select(row: 5)
        guard case .sendFrames(let echoed, _) = ui.handle(.char("e")).first else {
            Issue.record("expected frames")
            return
        }
        #expect(echoed[0].header?.opcode == .binary && echoed[0].header?.masked == true)
        #expect(echoed[0].payload == [0x00, 0x01, 0x02, 0xfe, 0xff])
        // Malformed headers are kept.
        let odd = state(timeline([frameEvent("text:x;rsv2=1;fin=0;len=9")]))
        odd.select(row: 2)
        #expect(odd.selectedFrameSpec() == "text:x;fin=0;rsv2=1;len=9")
        // Not a frame.
        ui.select(row: 0)
        #expect(ui.handle(.char("e")) == [])
        #expect(ui.message?.text == "the selected row is not a frame")
    }

    @Test func editBeforeResend() {
        let ui = state(demoTimeline())
        ui.select(row: 4)
        ui.handle(.char("E"))
        #expect(ui.prompt == .form)
        #expect(ui.form.opcode == .binary && ui.form.payloadMode == .hex && ui.form.payload.text == "000102feff")
    }

    @Test func pingAndClose() {
        let ui = state(demoTimeline())
        #expect(ui.handle(.char("p")) == [.ping(Array("wscope".utf8), connection: 1)])
        ui.handle(.char("c"))
        #expect(ui.prompt == .close)
        #expect(ui.editor.text == "1000 ")
        #expect(render(ui).line(39).hasPrefix("close code [reason]: 1000"))
        ui.type("going home")
        #expect(ui.handle(.enter) == [.close(code: 1000, reason: "going home", connection: 1)])
        ui.handle(.char("c"))
        ui.handle(.ctrl("u"))
        ui.type("4000")
        #expect(ui.handle(.enter) == [.close(code: 4000, reason: "", connection: 1)])
        ui.handle(.char("c"))
        ui.handle(.ctrl("u"))
        ui.type("bye")
        #expect(ui.handle(.enter) == [])
        #expect(ui.message?.text == "close code must be a number 0-65535, got 'bye'")
    }
}

extension Composer.Interpretation {
    var isFrames: Bool {
        if case .frames = self { return true }
        return false
    }
}

/// The live store (`Session`) under the UI with many frames: what the benchmark
/// (Benchmarks/Benchmarks/TimelineBenchmarks) times, checked for its results here.
@Suite struct SessionTimelineTests {
    static func record(_ session: Session, frames: Range<Int>) {
        for index in frames {
            let payload = Array("message number \(index)".utf8)
            let outgoing = index % 2 == 0
            let header = Header(opcode: .text, masked: outgoing, maskKey: outgoing ? 0x3d21_fa37 : 0, length: UInt64(payload.count))
            session.record(.frame(connection: 1, direction: outgoing ? .outgoing : .incoming, header: header, payload: payload,
                                  wire: Frame(header: header, payload: payload).wireBytes()))
        }
    }

    @Test func filterPagingAndGrowthOverTwentyThousandFrames() {
        let session = Session(startMonotonicNanoseconds: 0)
        Self.record(session, frames: 0..<20_000)
        let ui = state(session)
        #expect(ui.rowCount == 20_000 && ui.selectedRow == 19_999 && ui.follow)

        ui.handle(.char("/"))
        _ = ui.type("dir:in \"number 1\"")
        ui.handle(.enter)
        // Received frames are the odd ones; of those, the ones whose text holds "number 1".
        let expected = (0..<20_000).filter { $0 % 2 == 1 && "message number \($0)".contains("number 1") }
        #expect(ui.rowCount == expected.count)
        #expect(ui.filteredRows?.map(Int.init) == expected)
        #expect(ui.selectedRow == expected.count - 1)

        ui.handle(.char("g"))
        #expect(ui.selectedRow == 0 && ui.topRow == 0 && !ui.follow)
        ui.handle(.pageDown)
        let page = ui.layout.timelineHeight - 1
        #expect(ui.selectedRow == page)
        #expect(ui.entryIndex(ofRow: page) == expected[page])
        #expect(render(ui).text.contains("\"message number \(expected[page])\""))

        // Frames arriving under a filter join its rows as they are taken in.
        ui.handle(.char("G"))
        Self.record(session, frames: 20_000..<20_100)
        #expect(ui.sync())
        let grown = (0..<20_100).filter { $0 % 2 == 1 && "message number \($0)".contains("number 1") }
        #expect(ui.filteredRows?.map(Int.init) == grown)
        #expect(ui.selectedRow == grown.count - 1)
        #expect(ui.stats.framesIn == 10_050 && ui.stats.framesOut == 10_050)

        ui.handle(.escape)
        #expect(ui.filter == nil && ui.rowCount == 20_100)
    }
}
