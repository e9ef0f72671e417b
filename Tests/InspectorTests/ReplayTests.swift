import Testing
import WebSocket
import WebSocketTransport
@testable import Inspector

/// `wscope replay`: the client side re-sent to a live server (`--to`), the server side
/// played by a mock (`--serve`), all in process over loopback.
@Suite("Replay")
struct ReplayTests {
    typealias Entry = Session.Entry

    // MARK: Helpers

    static var echoServer: EndpointOptions {
        var options = EndpointOptions()
        options.echo = true
        return options
    }

    /// Records a client talking to a fresh echo server; `script` drives the client.
    /// Returns the recording's path and the client's events.
    static func recordEcho(
        in dir: TempDirectory, name: String = "rec.jsonl", server serverOptions: EndpointOptions = echoServer,
        client clientOptions: EndpointOptions = EndpointOptions(), script: (ClientEndpoint) -> Void
    ) throws -> (path: String, events: [SessionEvent]) {
        let loop = try EventLoop()
        let server = ServerEndpoint(loop: loop, options: serverOptions) { _ in }
        try server.start(host: "127.0.0.1", port: 0)
        let url = try WebSocketURL.parse("ws://127.0.0.1:\(try #require(server.localPort))/rec")
        let session = Session()
        let path = dir.file(name)
        let writer = try RecordingWriter(
            path: path, header: RecordingHeader(mode: "connect", endpoint: url.description),
            startMonotonicNanoseconds: session.startMonotonicNanoseconds)
        session.addSink { entry in try? writer.write(entry.event, tNs: entry.tNs) }
        let client = ClientEndpoint(loop: loop, url: url, options: clientOptions, report: session.record)
        client.onFinished = { _ in _ = loop.schedule(after: .milliseconds(50)) { loop.stop() } }
        let timeout = loop.schedule(after: .seconds(10)) { loop.stop() }
        client.start()
        script(client)
        try loop.run()
        loop.cancel(timeout)
        server.shutdown()
        try writer.close()
        return (path, session.entries.map(\.event))
    }

    /// Writes a recording from events with explicit times (milliseconds).
    static func writeRecording(_ events: [(ms: UInt64, event: SessionEvent)], mode: String = "connect",
                               in dir: TempDirectory, name: String = "script.jsonl") throws -> String {
        let path = dir.file(name)
        let writer = try RecordingWriter(path: path, header: RecordingHeader(mode: mode, endpoint: "ws://127.0.0.1:1/"))
        for (ms, event) in events { try writer.write(event, tNs: ms * 1_000_000) }
        try writer.close()
        return path
    }

    static func opened(_ id: Int = 1, subprotocol: String? = nil, extensions: String? = nil) -> SessionEvent {
        var request = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        if let subprotocol { request += "Sec-WebSocket-Protocol: \(subprotocol)\r\n" }
        if let extensions { request += "Sec-WebSocket-Extensions: \(extensions)\r\n" }
        return .opened(connection: id, peer: "127.0.0.1:1", request: request + "\r\n",
                       response: "HTTP/1.1 101 Switching Protocols\r\n\r\n", subprotocol: subprotocol, extensions: extensions)
    }

    /// A crafted frame as a recorded frame event.
    static func crafted(_ id: Int, _ direction: Direction, _ spec: String) throws -> SessionEvent {
        let frame = try FrameSpec.parse(spec, role: direction == .outgoing ? .client : .server)
        return .frame(connection: id, direction: direction, header: frame.header!, payload: frame.payload, wire: frame.wire)
    }

    /// Replays a recording to a fresh server with `serverOptions`; returns the replay's
    /// timestamped events, whether every connection opened, and the warnings.
    static func replayTo(
        _ path: String, server serverOptions: EndpointOptions = echoServer, speed: Double?,
        endpoint: EndpointOptions = EndpointOptions(), linger: Duration = .milliseconds(200)
    ) throws -> (entries: [Entry], allOpened: Bool?, warnings: [String], server: [SessionEvent]) {
        let script = try ReplayScript.load(path: path)
        let loop = try EventLoop()
        var serverEvents: [SessionEvent] = []
        let server = ServerEndpoint(loop: loop, options: serverOptions) { serverEvents.append($0) }
        try server.start(host: "127.0.0.1", port: 0)
        let url = try WebSocketURL.parse("ws://127.0.0.1:\(try #require(server.localPort))/replay")
        let session = Session()
        let replay = ReplayClient(loop: loop, url: url, script: script,
                                  options: .init(endpoint: endpoint, speed: speed, linger: linger), report: session.record)
        var warnings: [String] = []
        replay.warn = { warnings.append($0) }
        var allOpened: Bool?
        replay.onFinished = { opened in
            allOpened = opened
            _ = loop.schedule(after: .milliseconds(50)) { loop.stop() }
        }
        let timeout = loop.schedule(after: .seconds(20)) { loop.stop() }
        replay.start()
        try loop.run()
        loop.cancel(timeout)
        server.shutdown()
        return (session.entries, allOpened, warnings, serverEvents)
    }

    static func frames(_ events: [SessionEvent], _ direction: Direction, connection: Int? = nil) -> [(header: Header, payload: [UInt8], wire: [UInt8])] {
        events.compactMap {
            if case .frame(let id, let d, let header, let payload, let wire) = $0, d == direction, connection == nil || id == connection {
                return (header, payload, wire)
            }
            return nil
        }
    }

    static func closed(_ events: [SessionEvent]) -> (code: CloseCode?, clean: Bool)? {
        for case .closed(_, let code, _, let clean) in events { return (code, clean) }
        return nil
    }

    /// Time (ms since the session start) of the frames in one direction.
    static func frameTimes(_ entries: [Entry], _ direction: Direction) -> [Double] {
        entries.compactMap {
            if case .frame(_, let d, _, _, _) = $0.event, d == direction { return Double($0.tNs) / 1e6 }
            return nil
        }
    }

    // MARK: --to

    @Test func replayedEchoSessionGetsTheRecordedAnswers() throws {
        let dir = TempDirectory()
        let big = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        let recorded = try Self.recordEcho(in: dir) { client in
            client.sendText("hello")
            client.send(.binary, payload: big)
            client.ping(Array("p".utf8))
            client.send(.text, payload: Array("in three parts".utf8), fragmentSize: 5)
            client.close(code: .normalClosure, reason: "bye")
        }
        let recordedOut = Self.frames(recorded.events, .outgoing)
        let recordedIn = Self.frames(recorded.events, .incoming)
        #expect(recordedOut.count == 7)
        #expect(recordedIn.count == 5)

        let result = try Self.replayTo(recorded.path, speed: nil)
        let events = result.entries.map(\.event)
        #expect(result.allOpened == true)
        #expect(result.warnings.isEmpty)
        // Byte for byte: the recorded mask keys and bytes, in order.
        #expect(Self.frames(events, .outgoing).map(\.wire) == recordedOut.map(\.wire))
        // The server answers as it did then.
        let answers = Self.frames(events, .incoming)
        #expect(answers.map(\.wire) == recordedIn.map(\.wire))
        #expect(answers.map(\.header.opcode) == [.text, .binary, .pong, .text, .close])
        #expect(Self.closed(events)?.code == .normalClosure)
        #expect(Self.closed(events)?.clean == true, "our recorded close and the server's make a clean close")
        // The server saw exactly the recorded client bytes, and one close.
        let serverIn = Self.frames(result.server, .incoming)
        #expect(serverIn.map(\.wire) == recordedOut.map(\.wire))
        #expect(Self.closed(result.server)?.clean == true)
    }

    @Test func malformedRecordedFrameGetsTheServersProtocolError() throws {
        let dir = TempDirectory()
        let path = try Self.writeRecording([
            (0, Self.opened()),
            (1, try Self.crafted(1, .outgoing, "text:hi;mask=01020304")),
            (2, try Self.crafted(1, .incoming, "text:hi")),
            (3, try Self.crafted(1, .outgoing, "op3:bad;mask=0a0b0c0d")),
            (300, try Self.crafted(1, .outgoing, "text:too late")),
            (301, try Self.crafted(1, .outgoing, "close:1000")),
        ], in: dir)
        let result = try Self.replayTo(path, speed: 1)
        let events = result.entries.map(\.event)
        #expect(result.allOpened == true)
        let sent = Self.frames(events, .outgoing)
        #expect(sent.first?.wire == (try FrameSpec.parse("text:hi;mask=01020304", role: .client)).wire)
        #expect(sent.dropFirst().first?.header.opcode == OpCode(nibble: 3))
        #expect(!sent.contains { $0.payload == Array("too late".utf8) }, "nothing after the server's close")
        let serverClose = Self.frames(events, .incoming).last
        #expect(serverClose?.header.opcode == .close)
        if case .success(let body)? = serverClose.map({ CloseBody.decode($0.payload) }) {
            #expect(body.code == .protocolError)
        } else {
            Issue.record("no valid close from the server")
        }
        #expect(Self.closed(events)?.code == .protocolError)
        #expect(result.warnings.contains { $0.contains("not sent") })
    }

    @Test func listenRecordingReplaysEachConnectionInTurn() throws {
        let dir = TempDirectory()
        let path = try Self.writeRecording([
            (0, .listening(address: "127.0.0.1:1")),
            (1, Self.opened(1)),
            (2, Self.opened(2)),
            (3, try Self.crafted(2, .incoming, "text:two;mask=22222222")),
            (4, try Self.crafted(1, .incoming, "text:one;mask=11111111")),
            (5, try Self.crafted(1, .outgoing, "text:one")),
            (6, try Self.crafted(2, .outgoing, "text:two")),
            (7, try Self.crafted(1, .incoming, "close:1000;mask=11111111")),
            (8, try Self.crafted(2, .incoming, "close:1001;mask=22222222")),
        ], mode: "listen", in: dir)
        let script = try ReplayScript.load(path: path)
        #expect(script.connections.map(\.id) == [1, 2])
        #expect(script.connections[0].frames(of: .client).count == 2)
        let result = try Self.replayTo(path, speed: nil)
        let events = result.entries.map(\.event)
        #expect(result.allOpened == true)
        #expect(Self.frames(events, .outgoing, connection: 1).map(\.payload).first == Array("one".utf8))
        #expect(Self.frames(events, .outgoing, connection: 2).map(\.payload).first == Array("two".utf8))
        #expect(Self.frames(events, .outgoing, connection: 2).first?.header.maskKey == Header.maskKey(0x22, 0x22, 0x22, 0x22))
        // Sequential: connection 1 is over before connection 2 opens.
        let order = events.compactMap { event -> String? in
            switch event {
            case .opened(let id, _, _, _, _, _): return "open\(id)"
            case .closed(let id, _, _, _): return "closed\(id)"
            default: return nil
            }
        }
        #expect(order == ["open1", "closed1", "open2", "closed2"])
        let codes = events.compactMap { event -> CloseCode? in
            if case .closed(_, let code, _, _) = event { return code }
            return nil
        }
        #expect(codes == [.normalClosure, .goingAway])
    }

    @Test func compressedSessionReplaysWithTheRecordedOffer() throws {
        let dir = TempDirectory()
        var server = Self.echoServer
        server.extensionNegotiator = DeflateNegotiator()
        var client = EndpointOptions()
        client.extensionNegotiator = try DeflateNegotiator(parameters: "server_max_window_bits=10")
        let text = String(repeating: "compressible text ", count: 200)
        let recorded = try Self.recordEcho(in: dir, server: server, client: client) { client in
            client.sendText(text)
            client.sendText(text)
            client.close()
        }
        let recordedIn = Self.frames(recorded.events, .incoming)
        #expect(recordedIn.first?.header.rsv1 == true)

        let result = try Self.replayTo(recorded.path, server: server, speed: nil)
        let events = result.entries.map(\.event)
        #expect(result.warnings.isEmpty)
        #expect(Self.frames(events, .incoming).map(\.wire) == recordedIn.map(\.wire))
        let messages = events.compactMap { event -> [UInt8]? in
            if case .message(_, .incoming, _, let payload) = event { return payload }
            return nil
        }
        #expect(messages == [Array(text.utf8), Array(text.utf8)])
        let offered = result.server.compactMap { event -> String? in
            if case .opened(_, _, let request, _, _, _) = event { return ReplayScript.headerValues("sec-websocket-extensions", in: request).first }
            return nil
        }
        #expect(offered == ["permessage-deflate; server_max_window_bits=10; client_max_window_bits"])

        // A server without deflate declines: replayed, with a warning.
        let plain = try Self.replayTo(recorded.path, speed: nil)
        #expect(plain.allOpened == true)
        #expect(plain.warnings.contains { $0.contains("extensions") })
    }

    @Test func refusedConnectionEndsTheReplayUnopened() throws {
        let dir = TempDirectory()
        // Two recorded connections: once the first cannot connect, the second is not tried.
        let path = try Self.writeRecording([
            (0, Self.opened(1)), (1, try Self.crafted(1, .outgoing, "text:x")),
            (2, Self.opened(2)), (3, try Self.crafted(2, .outgoing, "text:y")),
        ], in: dir)
        let script = try ReplayScript.load(path: path)
        let loop = try EventLoop()
        let probe = ServerEndpoint(loop: loop, options: EndpointOptions()) { _ in }
        try probe.start(host: "127.0.0.1", port: 0)
        let port = try #require(probe.localPort)
        probe.shutdown()
        var events: [SessionEvent] = []
        let replay = ReplayClient(loop: loop, url: try WebSocketURL.parse("ws://127.0.0.1:\(port)/"), script: script,
                                  options: .init(speed: nil)) { events.append($0) }
        var warnings: [String] = []
        replay.warn = { warnings.append($0) }
        var allOpened: Bool?
        replay.onFinished = { allOpened = $0; loop.stop() }
        _ = loop.schedule(after: .seconds(5)) { loop.stop() }
        replay.start()
        try loop.run()
        #expect(allOpened == false)
        #expect(replay.results.map(\.id) == [1])
        // Like `connect`'s: no connection id, the transport's reason.
        let errors = events.compactMap { if case .error(let id, let message) = $0 { return (id, message) } else { return nil } }
        #expect(errors.count == 1)
        #expect(errors.first?.0 == nil)
        #expect(errors.first?.1.contains("refused") == true)
        #expect(events.filter { if case .connecting = $0 { return true } else { return false } }.count == 1)
        #expect(warnings == ["1 more recorded connection not replayed: the server cannot be reached"])
    }

    // MARK: Timing

    static func timedRecording(gapMs: UInt64, in dir: TempDirectory) throws -> String {
        try Self.writeRecording([
            (0, Self.opened()),
            (10, try Self.crafted(1, .outgoing, "text:one")),
            (10 + gapMs, try Self.crafted(1, .outgoing, "text:two")),
            (10 + 2 * gapMs, try Self.crafted(1, .outgoing, "text:three")),
            (10 + 2 * gapMs + 1, try Self.crafted(1, .outgoing, "close:1000")),
        ], in: dir, name: "timed\(gapMs).jsonl")
    }

    @Test func recordedGapsAreKept() throws {
        let dir = TempDirectory()
        let path = try Self.timedRecording(gapMs: 200, in: dir)
        let times = Self.frameTimes(try Self.replayTo(path, speed: 1).entries, .outgoing)
        #expect(times.count == 4)
        if times.count == 4 {
            #expect(times[1] - times[0] >= 180)
            #expect(times[2] - times[1] >= 180)
            #expect(times[2] - times[0] >= 380)
        }
        // Twice as fast: half the gaps (lower bounds only).
        let fast = Self.frameTimes(try Self.replayTo(path, speed: 2).entries, .outgoing)
        #expect(fast.count == 4)
        if fast.count == 4 {
            #expect(fast[1] - fast[0] >= 85)
            #expect(fast[2] - fast[0] >= 185)
        }
    }

    @Test func asapDoesNotWait() throws {
        let dir = TempDirectory()
        // Gaps of 3 s each: waiting for them would take 6 s.
        let path = try Self.timedRecording(gapMs: 3000, in: dir)
        let times = Self.frameTimes(try Self.replayTo(path, speed: nil).entries, .outgoing)
        #expect(times.count == 4)
        if let first = times.first, let last = times.last {
            #expect(last - first < 2500)
        }
    }

    // MARK: Files

    @Test func badLinesAreNamedAndCanBeSkipped() throws {
        let dir = TempDirectory()
        let path = try Self.writeRecording([(0, Self.opened()), (1, try Self.crafted(1, .outgoing, "text:x"))], in: dir)
        appendFile(path, Array("{\"type\":\"frame\",\"conn\":1,\"dir\":\"out\"}\n".utf8))
        appendFile(path, Array("{\"type\":\"close\",\"conn\":1,\"t_ns\":5,\"code\":1000,\"reason\":\"\",\"clean\":true}\n".utf8))
        do {
            _ = try ReplayScript.load(path: path)
            Issue.record("a bad line must fail")
        } catch {
            #expect(error.description.contains("line 4"))
            #expect(error.description.hasPrefix(path))
        }
        let skipped = try ReplayScript.load(path: path, skipBadLines: true)
        #expect(skipped.connections.first?.frames(of: .client).count == 1)
        #expect(!skipped.warnings.isEmpty)
    }

    @Test func onlyConnectAndListenRecordingsReplay() throws {
        let dir = TempDirectory()
        let path = dir.file("proxy.jsonl")
        let writer = try RecordingWriter(path: path, header: RecordingHeader(mode: "proxy", endpoint: "x"))
        try writer.close()
        #expect(throws: ReplayError.self) { try ReplayScript.load(path: path) }
        do {
            _ = try ReplayScript.load(path: dir.file("missing.jsonl"))
        } catch {
            #expect(error.description.contains("missing.jsonl"))
        }
    }

    @Test func sidesFollowTheRecordingMode() throws {
        let dir = TempDirectory()
        let events: [(ms: UInt64, event: SessionEvent)] = [
            (0, Self.opened()),
            (1, try Self.crafted(1, .outgoing, "text:ours")),
            (2, .rawSent(connection: 1, wire: [0x81])),
            (3, .violation(connection: 1, description: "reserved opcode", code: .protocolError, wire: [0x83, 0x00])),
        ]
        let connect = try ReplayScript.load(path: try Self.writeRecording(events, mode: "connect", in: dir, name: "c.jsonl"))
        #expect(connect.connections[0].frames(of: .client).map(\.frame.wire.count) == [2 + 4 + 4, 1])
        #expect(connect.connections[0].frames(of: .server).map(\.frame.wire) == [[0x83, 0x00]])
        let listen = try ReplayScript.load(path: try Self.writeRecording(events, mode: "listen", in: dir, name: "l.jsonl"))
        #expect(listen.connections[0].frames(of: .client).map(\.frame.wire) == [[0x83, 0x00]])
        #expect(listen.connections[0].frames(of: .server).count == 2)
    }
}
