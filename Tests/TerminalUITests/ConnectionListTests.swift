import Inspector
import Testing
import WebSocket
import WebSocketTransport
@testable import TerminalUI

/// What `wscope listen` records with three clients: #1 (a subprotocol and deflate) talks
/// and is closed with 4000, #2 talks and stays open, #3 has just opened.
func listenTimeline() -> ArrayTimeline {
    let source = ArrayTimeline()
    func opened(_ id: Int, port: Int, subprotocol: String? = nil, extensions: String? = nil) -> SessionEvent {
        .opened(connection: id, peer: "127.0.0.1:\(port)", request: "GET /c\(id) HTTP/1.1\r\n\r\n",
                response: "HTTP/1.1 101 Switching Protocols\r\n\r\n", subprotocol: subprotocol, extensions: extensions)
    }
    let events: [SessionEvent] = [
        .listening(address: "127.0.0.1:9001"),
        opened(1, port: 50001, subprotocol: "chat", extensions: "permessage-deflate; server_no_context_takeover"),
        frameEvent("text:from one", .incoming, connection: 1),                    // 2
        frameEvent("text:to one", connection: 1),                                 // 3
        opened(2, port: 50002),                                                   // 4
        frameEvent("text:from two", .incoming, connection: 2),                    // 5
        frameEvent("close:4000:bye", connection: 1),                              // 6
        frameEvent("close:4000:bye", .incoming, connection: 1),                   // 7
        .closed(connection: 1, code: CloseCode(4000), reason: "bye", clean: true), // 8
        opened(3, port: 50003),                                                   // 9
        frameEvent("binary:hex:0102", .incoming, connection: 2),                  // 10
    ]
    for (index, event) in events.enumerated() { source.append(event, tNs: UInt64(index) * 100_000_000) }
    return source
}

func listenState(_ source: TimelineSource, width: Int = 120, height: Int = 40) -> UIState {
    UIState(source: source, config: UIConfig(mode: "listen", endpoint: "ws://127.0.0.1:9001", role: .server),
            width: width, height: height)
}

@Suite("Connection list")
struct ConnectionListTests {
    @Test func shownOnceASecondConnectionAppears() {
        let source = ArrayTimeline()
        source.append(.listening(address: "127.0.0.1:9001"), tNs: 0)
        source.append(.opened(connection: 1, peer: "127.0.0.1:50001", request: "", response: "", subprotocol: nil, extensions: nil), tNs: 1)
        let ui = listenState(source)
        #expect(ui.layout.connectionListHeight == 0)
        #expect(render(ui).line(1).hasPrefix("      TIME DIR OPCODE"), "one connection: no list, no connection column")

        source.append(.opened(connection: 2, peer: "127.0.0.1:50002", request: "", response: "", subprotocol: nil, extensions: nil), tNs: 2)
        ui.sync()
        // Title, "all", #1, #2; the timeline's title and rows move down under it.
        #expect(ui.layout.connectionListHeight == 4)
        let screen = render(ui)
        #expect(screen.line(1).hasPrefix("   CONN  PEER                   STATE                 PROTO       EXTENSIONS"))
        #expect(screen.line(1).hasSuffix("FRAMES IN/OUT"))
        #expect(screen.line(2).hasPrefix(" ▸ all   every connection: 2 open of 2"))
        #expect(screen.line(2).contains("l: pick a connection"))
        #expect(screen.line(3).hasPrefix("   #1    127.0.0.1:50001"))
        #expect(screen.line(5).hasPrefix("      TIME DIR CONN OPCODE"))
        #expect(screen.line(6).hasPrefix("     0.000  •       listening on 127.0.0.1:9001"))
        #expect(ui.layout.timelineY == 6)
        #expect(ui.layout.timelineHeight == 16)
    }

    @Test func rowsShowPeerStateProtocolExtensionsAndFrameCounts() {
        let ui = listenState(listenTimeline())
        let screen = render(ui)
        #expect(ui.layout.connectionListHeight == 5)
        let theme = Theme.standard
        #expect(screen.line(3) == "   #1    127.0.0.1:50001        closed 4000           chat        permessage-deflate; server_no_cont…              2 / 2")
        #expect(screen.line(4) == "   #2    127.0.0.1:50002        open                  -           -                                                2 / 0")
        #expect(screen.line(5) == "   #3    127.0.0.1:50003        open                  -           -                                                0 / 0")
        #expect(screen.line(2).hasPrefix(" ▸ all   every connection: 2 open of 3"))
        #expect(screen.style(of: "#1    127.0.0.1:50001") == theme[.event], "closed connections are dimmed")
        #expect(screen.style(of: "#2    127.0.0.1:50002") == theme[.row])
        #expect(screen.line(0).hasPrefix(" wscope listen  ws://127.0.0.1:9001 │ 2 of 3 clients open │ in 4 fr 31 B │ out 2 fr 23 B"))
    }

    @Test func uncleanClosesAndFailedHandshakesStandOut() {
        let source = listenTimeline()
        source.append(.closed(connection: 2, code: .abnormalClosure, reason: "", clean: false), tNs: 2_000_000_000)
        source.append(.handshakeFailed(connection: 4, peer: "127.0.0.1:50004", reason: "400 no Upgrade header"), tNs: 2_100_000_000)
        let ui = listenState(source)
        let screen = render(ui)
        #expect(screen.line(4).hasPrefix("   #2    127.0.0.1:50002        closed 1006 (unclean)"))
        #expect(screen.style(of: "closed 1006 (unclean)") == Theme.standard[.error])
        #expect(screen.line(6).hasPrefix("   #4    127.0.0.1:50004        failed"))
    }

    @Test func pickingAConnectionShowsOnlyItsRowsAndTargetsIt() {
        let ui = listenState(listenTimeline())
        #expect(ui.rowCount == 11)
        ui.handle(.char("l"))
        #expect(ui.connectionListFocused)
        #expect(ui.connectionListCursor == 0)
        ui.handle(.char("j"))
        ui.handle(.char("j"))
        #expect(ui.pickedConnection == nil, "moving the cursor picks nothing yet")
        var screen = render(ui)
        #expect(screen.style(of: "#2    127.0.0.1:50002") == Theme.standard[.selected])
        ui.handle(.enter)
        #expect(!ui.connectionListFocused)
        #expect(ui.pickedConnection == 2)
        #expect((0..<ui.rowCount).map(ui.entryIndex(ofRow:)) == [4, 5, 10])
        screen = render(ui)
        #expect(screen.line(0).contains("│ #2 only"))
        #expect(screen.line(4).hasPrefix(" ▸ #2 "))
        #expect(screen.line(2).hasPrefix("   all "))
        #expect(ui.message?.text == "showing #2 only (open): i, p and c act on it; Esc shows all")

        // The selected row is #2's newest; even a row of another connection would not
        // change the target: the picked connection is it.
        #expect(ui.handle(.char("p")) == [.ping(Array("wscope".utf8), connection: 2)])
        ui.handle(.char("i"))
        #expect(render(ui).line(39).hasPrefix("send #2> "))
        ui.type("just you")
        #expect(ui.handle(.enter) == [.sendText("just you", connection: 2)])
        ui.handle(.escape)
        ui.handle(.char("c"))
        ui.handle(.ctrl("u"))
        ui.type("4000 bye")
        #expect(ui.handle(.enter) == [.close(code: 4000, reason: "bye", connection: 2)])
        #expect(ui.message?.text == "closing with 4000 on #2")

        // Esc shows every connection again.
        ui.handle(.escape)
        #expect(ui.pickedConnection == nil)
        #expect(ui.rowCount == 11)
        #expect(!render(ui).line(0).contains("only"))
    }

    @Test func rowsArrivingLaterFollowThePick() {
        let source = listenTimeline()
        let ui = listenState(source)
        ui.handle(.char("l"))
        ui.handle(.char("G"))
        ui.handle(.enter)
        #expect(ui.pickedConnection == 3)
        #expect((0..<ui.rowCount).map(ui.entryIndex(ofRow:)) == [9])
        // The status bar's subprotocol is the picked connection's.
        ui.resize(width: 200, height: 40)
        #expect(render(ui).line(0).contains("│ #3 only │ proto - │ ext -"))
        ui.handle(.escape)
        ui.handle(.char("l"))
        ui.handle(.char("j"))
        ui.handle(.enter)
        #expect(render(ui).line(0).contains("│ #1 only │ proto chat │ ext permessage-deflate; server_no_context_takeover"))
        ui.handle(.char("l"))
        ui.handle(.char("G"))
        ui.handle(.enter)
        ui.resize(width: 120, height: 40)
        source.append(frameEvent("text:late two", .incoming, connection: 2), tNs: 2_000_000_000)
        source.append(frameEvent("text:late three", .incoming, connection: 3), tNs: 2_100_000_000)
        ui.sync()
        #expect((0..<ui.rowCount).map(ui.entryIndex(ofRow:)) == [9, 12])
        #expect(ui.selectedRow == 1, "follow keeps the newest row of the picked connection selected")
        // A filter narrows the picked connection's rows further.
        ui.handle(.char("/"))
        ui.type("dir:in")
        ui.handle(.enter)
        #expect((0..<ui.rowCount).map(ui.entryIndex(ofRow:)) == [12])
        #expect(render(ui).line(0).contains("│ #3 only │ filter 1/13"))
        // Esc clears the filter first, then the pick.
        ui.handle(.escape)
        #expect(ui.filter == nil && ui.pickedConnection == 3)
        ui.handle(.escape)
        #expect(ui.pickedConnection == nil && ui.rowCount == 13)
    }

    @Test func aClosedPickedConnectionTakesNothing() {
        let ui = listenState(listenTimeline())
        ui.handle(.char("l"))
        ui.handle(.char("j"))
        ui.handle(.enter)
        #expect(ui.pickedConnection == 1)
        ui.handle(.char("i"))
        #expect(render(ui).line(39).hasPrefix("send> "), "no target shown for a closed connection")
        ui.type("anyone?")
        #expect(ui.handle(.enter) == [])
        #expect(ui.message?.text == "#1 is closed 4000: Esc shows every connection")
        ui.handle(.escape)
        #expect(ui.handle(.char("p")) == [])
        #expect(ui.message?.isError == true)
    }

    @Test func escapeLeavesTheListAndOtherKeysActAsUsual() {
        let ui = listenState(listenTimeline())
        ui.handle(.char("l"))
        ui.handle(.char("j"))
        ui.handle(.escape)
        #expect(!ui.connectionListFocused && ui.pickedConnection == nil)
        ui.handle(.char("l"))
        // A key the list does not take lets go of the list and does its usual thing.
        ui.handle(.char("i"))
        #expect(!ui.connectionListFocused)
        #expect(ui.prompt == .composer)
    }

    @Test func aClickPicksAndTheWheelScrolls() {
        let ui = listenState(listenTimeline())
        // Row 4 is #2's.
        ui.handle(.mouse(MouseEvent(kind: .press(button: 0), x: 10, y: 4)))
        #expect(ui.pickedConnection == 2)
        ui.handle(.mouse(MouseEvent(kind: .press(button: 0), x: 10, y: 2)))
        #expect(ui.pickedConnection == nil)
        // A click on the list's title row changes nothing.
        ui.handle(.mouse(MouseEvent(kind: .press(button: 0), x: 10, y: 1)))
        #expect(ui.pickedConnection == nil)
    }

    @Test func aShortTerminalScrollsTheList() {
        let ui = listenState(listenTimeline(), width: 80, height: 12)
        // Two entries at a time: the timeline keeps its rows.
        #expect(ui.layout.connectionListHeight == 3)
        #expect(ui.layout.timelineHeight == 2)
        ui.handle(.char("l"))
        ui.handle(.char("G"))
        #expect(ui.connectionListCursor == 3 && ui.connectionListTop == 2)
        let screen = render(ui)
        #expect(screen.line(2).hasPrefix("   #2 "))
        #expect(screen.line(3).hasPrefix("   #3 "))
        #expect(screen.line(4).hasPrefix("      TIME DIR CONN"))
        ui.handle(.char("g"))
        #expect(render(ui).line(2).hasPrefix(" ▸ all "))
        ui.handle(.mouse(MouseEvent(kind: .wheelDown, x: 5, y: 2)))
        #expect(ui.connectionListTop == 1)
    }

    @Test func listKeyWithOneConnectionSaysSo() {
        let ui = state(demoTimeline())
        ui.handle(.char("l"))
        #expect(!ui.connectionListFocused)
        #expect(ui.message?.text == "one connection: no list to pick from")
    }

    @Test func summariesCountFramesPerConnection() {
        var table = ConnectionTable()
        for index in 0..<listenTimeline().timelineCount { table.absorb(listenTimeline().timelineEntry(at: index).event) }
        #expect(table.rows.map(\.id) == [1, 2, 3])
        #expect(table[1]?.framesIn == 2 && table[1]?.framesOut == 2)
        #expect(table[2]?.framesIn == 2 && table[2]?.framesOut == 0)
        #expect(table[1]?.subprotocol == "chat")
        #expect(table[3]?.peer == "127.0.0.1:50003")
        #expect(table[4] == nil)
    }
}

/// The server behind `wscope listen` as the UI's controls, with two real clients.
@Suite("ServerEndpoint as the UI's controls")
struct ServerControlsTests {
    @Test func aConnectionIdAddressesOneClientAndNilAddressesAll() throws {
        let loop = try EventLoop()
        var opened: [Int] = []
        var server: ServerEndpoint!
        server = ServerEndpoint(loop: loop, options: EndpointOptions()) { event in
            guard case .opened(let id, _, _, _, _, _) = event else { return }
            opened.append(id)
            guard opened.count == 2 else { return }
            let controls: TerminalControls = server
            loop.runSoon {
                controls.sendText("everyone", connection: nil)
                controls.sendText("just two", connection: 2)
                controls.ping(Array("hi".utf8), connection: 1)
                controls.close(code: CloseCode(4000), reason: "", connection: 2)
                controls.close(code: .goingAway, reason: "", connection: 1)
            }
        }
        try server.start(host: "127.0.0.1", port: 0)
        let port = try #require(server.localPort)
        var received: [Int: [String]] = [1: [], 2: []]
        var finished = 0
        var clients: [ClientEndpoint] = []
        for number in [1, 2] {
            // Started one after the other, so that the server numbers them in this order.
            let client = ClientEndpoint(loop: loop, url: try WebSocketURL.parse("ws://127.0.0.1:\(port)/"), options: EndpointOptions()) { event in
                if case .frame(_, .incoming, let header, let payload, _) = event {
                    received[number, default: []].append(header.opcode == .close
                        ? "close \(payload.count >= 2 ? Int(payload[0]) << 8 | Int(payload[1]) : 0)"
                        : "\(header.opcode.name) \(String(decoding: payload, as: UTF8.self))")
                }
            }
            client.onFinished = { _ in
                finished += 1
                if finished == 2 { loop.stop() }
            }
            clients.append(client)
            if number == 1 {
                client.start()
            } else {
                _ = loop.schedule(after: .milliseconds(100)) { client.start() }
            }
        }
        let timeout = loop.schedule(after: .seconds(10)) { loop.stop() }
        try loop.run()
        loop.cancel(timeout)
        server.shutdown()
        #expect(received[1] == ["text everyone", "ping hi", "close 1001"])
        #expect(received[2] == ["text everyone", "text just two", "close 4000"])
    }
}
