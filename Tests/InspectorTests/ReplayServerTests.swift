import Testing
import WebSocket
import WebSocketTransport
@testable import Inspector

/// `wscope replay --serve`: the mock server playing a recording's server side to clients
/// over loopback (helpers in ReplayTests.swift).
@Suite("Replay: mock server")
struct ReplayServerTests {
    typealias Entry = Session.Entry

    // MARK: --serve

    /// A connect recording: the client sends a, gets A1 and A2; sends b, gets B; closes.
    static func serverScript(in dir: TempDirectory, gapBeforeB: UInt64 = 1) throws -> (path: String, serverWires: [[UInt8]]) {
        let serverFrames = [
            try ReplayTests.crafted(1, .incoming, "text:A1"),
            try ReplayTests.crafted(1, .incoming, "binary:hex:a2a2;rsv2=0"),
            try ReplayTests.crafted(1, .incoming, "text:B"),
            try ReplayTests.crafted(1, .incoming, "close:1000:done"),
        ]
        let path = try ReplayTests.writeRecording([
            (0, ReplayTests.opened(subprotocol: "chat")),
            (10, try ReplayTests.crafted(1, .outgoing, "text:a")),
            (11, serverFrames[0]),
            (12, serverFrames[1]),
            (20, try ReplayTests.crafted(1, .outgoing, "text:b")),
            (20 + gapBeforeB, serverFrames[2]),
            (400, try ReplayTests.crafted(1, .outgoing, "close:1000")),
            (401, serverFrames[3]),
        ], in: dir)
        let wires = serverFrames.map { event -> [UInt8] in
            if case .frame(_, _, _, _, let wire) = event { return wire }
            return []
        }
        return (path, wires)
    }

    /// Runs a mock server for `connection` and clients driven by `scripts` (each gets its
    /// own client, started together); returns every client's timestamped events.
    static func serve(
        _ connection: ReplayConnection, speed: Double?, clientOptions: EndpointOptions = EndpointOptions(),
        idleTimeout: Duration = .seconds(5), clients scripts: [(ClientEndpoint, EventLoop) -> Void]
    ) throws -> (clients: [[Entry]], server: [SessionEvent], warnings: [String]) {
        let loop = try EventLoop()
        var serverEvents: [SessionEvent] = []
        let server = ReplayServer(loop: loop, connection: connection,
                                  options: .init(speed: speed, idleTimeout: idleTimeout)) { serverEvents.append($0) }
        var warnings: [String] = []
        server.warn = { warnings.append($0) }
        try server.start(host: "127.0.0.1", port: 0)
        let url = try WebSocketURL.parse("ws://127.0.0.1:\(try #require(server.localPort))/")
        var sessions: [Session] = []
        var running = scripts.count
        var endpoints: [ClientEndpoint] = []
        for script in scripts {
            let session = Session()
            sessions.append(session)
            let client = ClientEndpoint(loop: loop, url: url, options: clientOptions, report: session.record)
            client.onFinished = { _ in
                running -= 1
                if running == 0 { _ = loop.schedule(after: .milliseconds(50)) { loop.stop() } }
            }
            endpoints.append(client)
            client.start()
            script(client, loop)
        }
        let timeout = loop.schedule(after: .seconds(20)) { loop.stop() }
        try loop.run()
        loop.cancel(timeout)
        server.shutdown()
        return (sessions.map(\.entries), serverEvents, warnings)
    }

    @Test func mockServerPlaysTheRecordedServerFramesInTurn() throws {
        let dir = TempDirectory()
        let recorded = try Self.serverScript(in: dir)
        let script = try ReplayScript.load(path: recorded.path)
        let connection = try #require(script.connections.first)
        #expect(connection.serverSteps.map(\.clientFramesBefore) == [1, 1, 2, 3])
        #expect(connection.serverSteps.map(\.clientMessagesBefore) == [1, 1, 2, 2])
        #expect(connection.serverSteps.map(\.clientClosedBefore) == [false, false, false, true])
        #expect(connection.clientMessagesBeforeClose == 2)

        var options = EndpointOptions()
        options.subprotocols = ["other", "chat"]
        // Two clients at once, at different paces: each gets the whole script.
        let drive = { (pause: Int) in
            { (client: ClientEndpoint, loop: EventLoop) in
                client.sendText("a")
                _ = loop.schedule(after: .milliseconds(pause)) {
                    client.sendText("b")
                    _ = loop.schedule(after: .milliseconds(100)) { client.close() }
                }
            }
        }
        let result = try Self.serve(connection, speed: nil, clientOptions: options, clients: [drive(300), drive(500)])
        for (index, entries) in result.clients.enumerated() {
            let events = entries.map(\.event)
            let chosen = events.compactMap { event -> String?? in
                if case .opened(_, _, _, _, let subprotocol, _) = event { return subprotocol }
                return nil
            }
            #expect(chosen == ["chat"], "client \(index) gets the recorded subprotocol")
            // Exactly the recorded server frames, in order, byte for byte.
            #expect(ReplayTests.frames(events, .incoming).map(\.wire) == recorded.serverWires, "client \(index)")
            // B comes only after b was sent; A1 and A2 only after a.
            let order = events.compactMap { event -> String? in
                guard case .frame(_, let direction, let header, let payload, _) = event, header.opcode != .close else { return nil }
                let shown = header.opcode == .binary ? SafeText.hex(payload) : String(decoding: payload, as: UTF8.self)
                return (direction == .outgoing ? ">" : "<") + shown
            }
            #expect(order == [">a", "<A1", "<a2a2", ">b", "<B"], "client \(index)")
            let sentB = entries.first { if case .frame(_, .outgoing, _, let p, _) = $0.event { return p == Array("b".utf8) } else { return false } }
            let gotB = entries.first { if case .frame(_, .incoming, _, let p, _) = $0.event { return p == Array("B".utf8) } else { return false } }
            if let sentB, let gotB {
                #expect(gotB.tNs >= sentB.tNs)
                #expect(Double(gotB.tNs) / 1e6 >= (index == 0 ? 290 : 490), "B waits for b")
            } else {
                Issue.record("client \(index): b or B missing")
            }
            #expect(ReplayTests.closed(events)?.clean == true)
        }
        #expect(result.warnings.isEmpty)
    }

    @Test func clientThatFramesDifferentlyIsPacedOnMessages() throws {
        let dir = TempDirectory()
        // The recorded client pinged and sent "fragment" in two frames.
        let serverFrames = [
            try ReplayTests.crafted(1, .incoming, "text:hello"),
            try ReplayTests.crafted(1, .incoming, "pong:are you there"),
            try ReplayTests.crafted(1, .incoming, "text:fragment"),
            try ReplayTests.crafted(1, .incoming, "close:1000"),
        ]
        let path = try ReplayTests.writeRecording([
            (0, ReplayTests.opened()),
            (1, try ReplayTests.crafted(1, .outgoing, "text:hello")),
            (2, serverFrames[0]),
            (3, try ReplayTests.crafted(1, .outgoing, "ping:are you there")),
            (4, serverFrames[1]),
            (5, try ReplayTests.crafted(1, .outgoing, "text:frag;fin=0")),
            (6, try ReplayTests.crafted(1, .outgoing, "cont:ment")),
            (7, serverFrames[2]),
            (8, try ReplayTests.crafted(1, .outgoing, "close:1000:done")),
            (9, serverFrames[3]),
        ], in: dir)
        let connection = try #require(try ReplayScript.load(path: path).connections.first)
        // This client sends no ping and "fragment" whole, a while later.
        let result = try Self.serve(connection, speed: nil, clients: [{ client, loop in
            client.sendText("hello")
            _ = loop.schedule(after: .milliseconds(300)) {
                client.sendText("fragment")
                client.close()
            }
        }])
        let entries = try #require(result.clients.first)
        let events = entries.map(\.event)
        let wires = serverFrames.map { event -> [UInt8] in
            if case .frame(_, _, _, _, let wire) = event { return wire }
            return []
        }
        #expect(ReplayTests.frames(events, .incoming).map(\.wire) == wires)
        let sent = try #require(entries.first { if case .frame(_, .outgoing, _, let p, _) = $0.event { return p == Array("fragment".utf8) } else { return false } })
        let got = try #require(entries.first { if case .frame(_, .incoming, _, let p, _) = $0.event { return p == Array("fragment".utf8) } else { return false } })
        #expect(got.tNs >= sent.tNs, "the answer waits for the whole message")
        #expect(ReplayTests.closed(events)?.clean == true)
        #expect(result.warnings.count == 1)
        #expect(result.warnings.first?.contains("pacing on whole messages") == true)
    }

    @Test func mockServerKeepsTheRecordedGapWithSpeed() throws {
        let dir = TempDirectory()
        let recorded = try Self.serverScript(in: dir, gapBeforeB: 250)
        let connection = try #require(try ReplayScript.load(path: recorded.path).connections.first)
        let result = try Self.serve(connection, speed: 1, clients: [{ client, loop in
            client.sendText("a")
            _ = loop.schedule(after: .milliseconds(100)) {
                client.sendText("b")
                _ = loop.schedule(after: .milliseconds(400)) { client.close() }
            }
        }])
        let entries = try #require(result.clients.first)
        let sentB = entries.first { if case .frame(_, .outgoing, _, let p, _) = $0.event { return p == Array("b".utf8) } else { return false } }
        let gotB = entries.first { if case .frame(_, .incoming, _, let p, _) = $0.event { return p == Array("B".utf8) } else { return false } }
        let sent = try #require(sentB)
        let got = try #require(gotB)
        #expect(Double(got.tNs - sent.tNs) / 1e6 >= 200, "the recorded 250 ms between b and B")
    }

    @Test func clientThatClosesEarlyGetsItsCloseAnswered() throws {
        let dir = TempDirectory()
        let recorded = try Self.serverScript(in: dir)
        let connection = try #require(try ReplayScript.load(path: recorded.path).connections.first)
        let result = try Self.serve(connection, speed: nil, clients: [{ client, _ in
            client.close(code: .goingAway, reason: "")
        }])
        let events = try #require(result.clients.first).map(\.event)
        #expect(ReplayTests.frames(events, .incoming).map(\.header.opcode) == [.close])
        #expect(ReplayTests.closed(events)?.code == .goingAway)
        #expect(ReplayTests.closed(events)?.clean == true)
        #expect(result.warnings.contains { $0.contains("not sent") })
    }

    @Test func silentClientIsClosedAfterTheIdleTimeout() throws {
        let dir = TempDirectory()
        // The server greets, then has nothing more to say.
        let path = try ReplayTests.writeRecording([
            (0, ReplayTests.opened()),
            (1, try ReplayTests.crafted(1, .incoming, "text:welcome")),
        ], in: dir)
        let connection = try #require(try ReplayScript.load(path: path).connections.first)
        let result = try Self.serve(connection, speed: nil, idleTimeout: .milliseconds(300), clients: [{ _, _ in }])
        let entries = try #require(result.clients.first)
        let events = entries.map(\.event)
        #expect(ReplayTests.frames(events, .incoming).map(\.payload).first == Array("welcome".utf8))
        #expect(ReplayTests.closed(events)?.code == .normalClosure)
        let closedAt = entries.last.map { Double($0.tNs) / 1e6 } ?? 0
        #expect(closedAt >= 250)
    }
}
