import Testing
import WebSocket
import WebSocketTransport
@testable import Inspector

/// `wscope listen` sending on one connection: a server with two real clients on loopback,
/// each action addressed by connection id, checked on both clients' sides.
@Suite("ServerEndpoint: sending to one connection")
struct ServerSendTests {
    struct Run {
        var server: [SessionEvent] = []
        /// The events of the clients that connected to /one and to /two.
        var one: [SessionEvent] = []
        var two: [SessionEvent] = []
        /// The server's connection ids of those clients.
        var idOne = 0
        var idTwo = 0
    }

    /// Starts a server and clients on /one and /two; `act` runs once the server has seen
    /// both open, with the server and both connection ids. Returns when both clients are
    /// done (or after 10 s). `after` runs on the server once everything is over.
    static func run(act: @escaping (ServerEndpoint, _ one: Int, _ two: Int) -> Void,
                    after: (ServerEndpoint, Run) -> Void = { _, _ in }) throws -> Run {
        let loop = try EventLoop()
        var result = Run()
        var acted = false
        var server: ServerEndpoint!
        server = ServerEndpoint(loop: loop, options: EndpointOptions()) { event in
            result.server.append(event)
            guard case .opened(let id, _, let request, _, _, _) = event else { return }
            if request.hasPrefix("GET /one ") { result.idOne = id }
            if request.hasPrefix("GET /two ") { result.idTwo = id }
            if result.idOne != 0, result.idTwo != 0, !acted {
                acted = true
                loop.runSoon { act(server, result.idOne, result.idTwo) }
            }
        }
        try server.start(host: "127.0.0.1", port: 0)
        let port = try #require(server.localPort)
        var finished = 0
        var clients: [ClientEndpoint] = []
        for path in ["one", "two"] {
            let client = ClientEndpoint(loop: loop, url: try WebSocketURL.parse("ws://127.0.0.1:\(port)/\(path)"),
                                        options: EndpointOptions()) { event in
                if path == "one" { result.one.append(event) } else { result.two.append(event) }
            }
            client.onFinished = { _ in
                finished += 1
                // Let the server see its side of the close before stopping.
                if finished == 2 { _ = loop.schedule(after: .milliseconds(50)) { loop.stop() } }
            }
            clients.append(client)
            client.start()
        }
        let timeout = loop.schedule(after: .seconds(10)) { loop.stop() }
        try loop.run()
        loop.cancel(timeout)
        after(server, result)
        server.shutdown()
        return result
    }

    static func incoming(_ events: [SessionEvent]) -> [(header: Header, payload: [UInt8], wire: [UInt8])] {
        events.compactMap {
            if case .frame(_, .incoming, let header, let payload, let wire) = $0 { return (header, payload, wire) }
            return nil
        }
    }

    static func outgoing(_ events: [SessionEvent], connection: Int) -> [(header: Header, wire: [UInt8])] {
        events.compactMap {
            if case .frame(let id, .outgoing, let header, _, let wire) = $0, id == connection { return (header, wire) }
            return nil
        }
    }

    static func closed(_ events: [SessionEvent]) -> (code: CloseCode?, reason: String)? {
        for case .closed(_, let code, let reason, _) in events { return (code, reason) }
        return nil
    }

    @Test func textPingAndCloseReachOnlyTheAddressedConnection() throws {
        var openBefore: [Int] = []
        var sentToUnknown = true
        var afterwards: (open: [Int], sent: Bool)?
        let run = try Self.run(act: { server, one, two in
            openBefore = server.openConnectionIDs
            server.sendText("for two only", to: two)
            server.ping(Array("p1".utf8), to: one)
            server.send(.binary, payload: [1, 2, 3], fragmentSize: 2, to: one)
            sentToUnknown = server.sendText("nobody", to: 99)
            server.close(code: CloseCode(4000), reason: "bye two", connection: two)
            server.close(code: .normalClosure, reason: "bye one", connection: one)
        }, after: { server, run in
            afterwards = (server.openConnectionIDs, server.sendText("too late", to: run.idTwo))
        })
        #expect(Set([run.idOne, run.idTwo]) == [1, 2])
        #expect(openBefore == [1, 2])
        #expect(!sentToUnknown)

        let two = Self.incoming(run.two)
        #expect(two.map(\.header.opcode) == [.text, .close])
        #expect(two.first?.payload == Array("for two only".utf8))
        #expect(Self.closed(run.two)?.code == CloseCode(4000))
        #expect(Self.closed(run.two)?.reason == "bye two")

        let one = Self.incoming(run.one)
        #expect(one.map(\.header.opcode) == [.ping, .binary, .continuation, .close])
        #expect(one.map(\.header.fin) == [true, false, true, true])
        #expect(one.map(\.payload).prefix(3) == [Array("p1".utf8), [1, 2], [3]])
        #expect(Self.closed(run.one)?.code == .normalClosure)
        #expect(Self.closed(run.one)?.reason == "bye one")
        // The client answered the ping: the server got the pong on that connection only.
        let pongs = run.server.filter {
            if case .frame(let id, .incoming, let header, _, _) = $0 { return header.opcode == .pong && id == run.idOne }
            return false
        }
        #expect(pongs.count == 1)

        #expect(afterwards?.open == [])
        #expect(afterwards?.sent == false, "a connection that is over takes nothing")
    }

    @Test func craftedFramesGoOutByteForByteToTheAddressedConnection() throws {
        let specs = ["binary:hex:00ff", "text:ab;fin=0", "cont:cd", "raw:81026869"]
        let frames = try specs.map { try FrameSpec.parse($0, role: .server) }
        // A reserved opcode, as written: the client fails the connection (1002).
        let reserved = try FrameSpec.parse("op3:zz", role: .server)
        var firstDone = false
        var unknownDone = false
        var unknownSent = true
        let run = try Self.run(act: { server, one, two in
            unknownSent = server.sendCrafted(frames, to: 42) { unknownDone = true }
            server.sendCrafted(frames, to: one) {
                firstDone = true
                server.sendCrafted([reserved], to: one)
                server.close(code: .goingAway, reason: "", connection: two)
            }
        })
        #expect(!unknownSent)
        #expect(unknownDone, "done runs even when nothing is sent")
        #expect(firstDone)

        let one = Self.incoming(run.one)
        #expect(one.prefix(4).map(\.wire) == frames.prefix(4).map(\.wire))
        #expect(one.prefix(4).map(\.wire) == [[0x82, 0x02, 0x00, 0xff], [0x01, 0x02, 0x61, 0x62],
                                               [0x80, 0x02, 0x63, 0x64], [0x81, 0x02, 0x68, 0x69]])
        // The server reports what it wrote, as written.
        #expect(Self.outgoing(run.server, connection: run.idOne).prefix(5).map(\.wire)
                == frames.prefix(4).map(\.wire) + [[0x83, 0x02, 0x7a, 0x7a]])
        let violations = run.one.compactMap { event -> CloseCode? in
            if case .violation(_, _, let code, let wire) = event, wire.first == 0x83 { return code }
            return nil
        }
        #expect(violations == [.protocolError])
        #expect(Self.closed(run.one)?.code == .protocolError)
        #expect(Self.incoming(run.two).map(\.header.opcode) == [.close], "the other client got none of it, only its close")
        #expect(Self.closed(run.two)?.code == .goingAway)
    }
}
