import Testing
import WebSocket
import WebSocketTransport
@testable import Inspector

/// The endpoints behind `wscope listen` and `wscope connect`, talking to each other over
/// loopback TCP on one event loop.
@Suite("Server and client endpoints over loopback")
struct EndpointTests {
    /// Runs a server and a client until the client finishes (or 10 s pass); `script` drives
    /// the client once it exists. Returns both sides' events.
    static func session(
        server serverOptions: EndpointOptions, client clientOptions: EndpointOptions = EndpointOptions(),
        path: String = "/test", script: (ClientEndpoint) -> Void
    ) throws -> (server: [SessionEvent], client: [SessionEvent], opened: Bool) {
        let loop = try EventLoop()
        var serverEvents: [SessionEvent] = []
        var clientEvents: [SessionEvent] = []
        let server = ServerEndpoint(loop: loop, options: serverOptions) { serverEvents.append($0) }
        try server.start(host: "127.0.0.1", port: 0)
        let port = try #require(server.localPort)
        let url = try WebSocketURL.parse("ws://127.0.0.1:\(port)\(path)")
        let client = ClientEndpoint(loop: loop, url: url, options: clientOptions) { clientEvents.append($0) }
        var opened = false
        client.onFinished = { wasOpened in
            opened = wasOpened
            // Let the server see its side of the close before stopping.
            _ = loop.schedule(after: .milliseconds(50)) { loop.stop() }
        }
        let timeout = loop.schedule(after: .seconds(10)) { loop.stop() }
        client.start()
        script(client)
        try loop.run()
        loop.cancel(timeout)
        server.shutdown()
        return (serverEvents, clientEvents, opened)
    }

    static var echoServer: EndpointOptions {
        var options = EndpointOptions()
        options.echo = true
        return options
    }

    static func frames(_ events: [SessionEvent], _ direction: Direction) -> [(Header, [UInt8])] {
        events.compactMap {
            if case .frame(_, let d, let header, let payload, _) = $0, d == direction { return (header, payload) }
            return nil
        }
    }

    static func messages(_ events: [SessionEvent], _ direction: Direction) -> [(OpCode, [UInt8])] {
        events.compactMap {
            if case .message(_, let d, let opcode, let payload) = $0, d == direction { return (opcode, payload) }
            return nil
        }
    }

    static func closed(_ events: [SessionEvent]) -> (code: CloseCode?, clean: Bool)? {
        for case .closed(_, let code, _, let clean) in events { return (code, clean) }
        return nil
    }

    @Test func echoesTextBinaryFragmentedAndPings() throws {
        let big = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let result = try Self.session(server: Self.echoServer) { client in
            // Queued before the handshake completes: must still go out, in order.
            client.sendText("héllo")
            client.send(.binary, payload: big)
            client.ping(Array("p".utf8))
            client.send(.text, payload: Array("in three parts".utf8), fragmentSize: 5)
            client.close(code: .normalClosure, reason: "bye")
        }
        #expect(result.opened)
        let incoming = Self.frames(result.client, .incoming)
        #expect(incoming.map(\.0.opcode) == [.text, .binary, .pong, .text, .close])
        #expect(incoming.map(\.1).prefix(4) == [Array("héllo".utf8), big, Array("p".utf8), Array("in three parts".utf8)])
        #expect(incoming.allSatisfy { !$0.0.masked }, "a server never masks")
        let outgoing = Self.frames(result.client, .outgoing)
        #expect(outgoing.allSatisfy { $0.0.masked }, "a client always masks")
        #expect(outgoing.map(\.0.opcode) == [.text, .binary, .ping, .text, .continuation, .continuation, .close])
        #expect(outgoing.map(\.0.fin) == [true, true, true, false, false, true, true])
        #expect(Self.closed(result.client)?.code == .normalClosure)
        #expect(Self.closed(result.client)?.clean == true)
        #expect(Self.closed(result.server)?.clean == true)
        // The server saw the request target and the client's fragments as sent.
        let serverOpen = result.server.contains {
            if case .opened(_, _, let request, _, _, _) = $0 { return request.hasPrefix("GET /test HTTP/1.1\r\n") }
            return false
        }
        #expect(serverOpen)
    }

    @Test func deflateIsNegotiatedAndMessagesRoundTrip() throws {
        var server = Self.echoServer
        server.extensionNegotiator = DeflateNegotiator()
        var client = EndpointOptions()
        client.extensionNegotiator = try DeflateNegotiator(parameters: "client_no_context_takeover; server_max_window_bits=10")
        let text = String(repeating: "compressible text ", count: 500)
        let result = try Self.session(server: server, client: client) { client in
            client.sendText(text)
            client.sendText(text)
            client.send(.binary, payload: [])
            client.close()
        }
        let extensions = result.client.compactMap { event -> String? in
            if case .opened(_, _, _, _, _, let extensions) = event { return extensions }
            return nil
        }
        #expect(extensions == ["permessage-deflate; client_no_context_takeover; server_max_window_bits=10"])
        let frames = Self.frames(result.client, .incoming)
        #expect(frames[0].0.rsv1 && frames[0].1.count < text.utf8.count / 10, "compressed on the wire")
        let messages = Self.messages(result.client, .incoming)
        #expect(messages.map(\.0) == [.text, .text, .binary])
        #expect(messages.map(\.1) == [Array(text.utf8), Array(text.utf8), []])
        #expect(Self.closed(result.client)?.clean == true)
    }

    @Test func serverDeclinesDeflateWhenNotEnabled() throws {
        var client = EndpointOptions()
        client.extensionNegotiator = DeflateNegotiator()
        let result = try Self.session(server: Self.echoServer, client: client) { client in
            client.sendText(String(repeating: "a", count: 100))
            client.close()
        }
        let frames = Self.frames(result.client, .incoming)
        #expect(frames.first.map { !$0.0.rsv1 && $0.1.count == 100 } == true)
    }

    @Test func wrongVersionIsRefusedWith426() throws {
        var client = EndpointOptions()
        client.extraHeaders = [("Sec-WebSocket-Version", "8")]
        let result = try Self.session(server: Self.echoServer, client: client) { _ in }
        #expect(!result.opened)
        let reasons = result.client.compactMap { event -> String? in
            if case .handshakeFailed(_, _, let reason) = event { return reason }
            return nil
        }
        #expect(reasons.count == 1)
        #expect(reasons.first?.contains("426") == true)
        let serverReasons = result.server.compactMap { event -> String? in
            if case .handshakeFailed(_, _, let reason) = event { return reason }
            return nil
        }
        #expect(serverReasons.first?.hasPrefix("426") == true)
    }

    @Test func subprotocolIsChosenFromTheServersList() throws {
        var server = Self.echoServer
        server.subprotocols = ["chat.v2"]
        var client = EndpointOptions()
        client.subprotocols = ["chat.v1", "chat.v2"]
        let result = try Self.session(server: server, client: client) { $0.close() }
        let chosen = result.client.compactMap { event -> String? in
            if case .opened(_, _, _, _, let subprotocol, _) = event { return subprotocol }
            return nil
        }
        #expect(chosen == ["chat.v2"])
    }

    @Test func oversizedMessageClosesWith1009() throws {
        var server = Self.echoServer
        server.maxMessageBytes = 1000
        let result = try Self.session(server: server) { client in
            client.send(.binary, payload: [UInt8](repeating: 7, count: 1001))
        }
        let violations = result.server.compactMap { event -> CloseCode? in
            if case .violation(_, _, let code, _) = event { return code }
            return nil
        }
        #expect(violations == [.messageTooBig])
        #expect(Self.closed(result.client)?.code == .messageTooBig)
    }

    @Test func refusedConnectionReportsOneErrorAndFinishes() throws {
        let loop = try EventLoop()
        // Bind then close to find a port nobody listens on.
        let probe = ServerEndpoint(loop: loop, options: EndpointOptions()) { _ in }
        try probe.start(host: "127.0.0.1", port: 0)
        let port = try #require(probe.localPort)
        probe.shutdown()
        var events: [SessionEvent] = []
        let client = ClientEndpoint(loop: loop, url: try WebSocketURL.parse("ws://127.0.0.1:\(port)/"), options: EndpointOptions()) {
            events.append($0)
        }
        var finished: Bool?
        client.onFinished = { opened in finished = opened; loop.stop() }
        _ = loop.schedule(after: .seconds(5)) { loop.stop() }
        client.start()
        try loop.run()
        #expect(finished == false)
        let errors = events.compactMap { event -> String? in
            if case .error(_, let message) = event { return message }
            return nil
        }
        #expect(errors.count == 1)
        #expect(errors.first?.contains("refused") == true)
    }

    @Test func lineOutputEscapesPeerBytes() {
        let header = Header(fin: true, opcode: .text, length: 9)
        let line = EventLine.format(.frame(connection: 1, direction: .incoming, header: header,
                                           payload: Array("\u{1b}[2Jhi\u{7}".utf8), wire: []))
        #expect(!line.utf8.contains(0x1b) && !line.utf8.contains(0x07))
        #expect(line.contains("\\x1b[2Jhi"))
    }
}
