import Testing
import WebSocket
import WebSocketUtil

@Suite("Closing handshake")
struct ClosingHandshakeTests {
    @Test(arguments: [Role.server, .client])
    func peersCloseIsEchoedWithItsCode(role: Role) throws {
        let h = Harness(role: role)
        h.feed(closeFrame(.goingAway, reason: "server restart", from: role.peer))
        #expect(h.semanticEvents == [.closeReceived(code: .goingAway, reason: "server restart"), .closingHandshakeDone])
        let out = try h.takeFrames()
        #expect(out.count == 1)
        #expect(out.first?.header.opcode == .close)
        #expect(out.first?.header.masked == (role == .client))
        #expect(out.first?.payload == [0x03, 0xE9])  // same code, no reason
        #expect(h.connection.closeState == .closed)
        #expect(h.connection.receivedClose?.code == .goingAway)
        #expect(h.connection.receivedClose?.reason == "server restart")
        #expect(h.connection.sentClose?.code == .goingAway)
        #expect(h.connection.isReadingStopped)
    }

    @Test(arguments: [Role.server, .client])
    func emptyCloseIsAnsweredWith1000(role: Role) throws {
        let h = Harness(role: role)
        h.feed(closeFrame(nil, from: role.peer))
        #expect(h.semanticEvents == [.closeReceived(code: nil, reason: ""), .closingHandshakeDone])
        #expect(try h.takeFrames().map(\.payload) == [[0x03, 0xE8]])
        #expect(h.connection.receivedClose.map { $0.code == nil } == true)
        #expect(h.connection.closeState == .closed)
    }

    @Test(arguments: [Role.server, .client])
    func weInitiateThenPeerReplies(role: Role) throws {
        let h = Harness(role: role)
        h.connection.sendClose(code: .normalClosure, reason: "done")
        #expect(h.connection.closeState == .closeSent)
        #expect(h.connection.sentClose?.code == .normalClosure)
        #expect(h.connection.sentClose?.reason == "done")
        let sent = try h.takeFrames()
        #expect(sent.map(\.payload) == [[0x03, 0xE8] + bytes("done")])
        #expect(sent.first?.header.masked == (role == .client))
        #expect(h.semanticEvents.isEmpty)

        h.feed(closeFrame(.normalClosure, from: role.peer))
        #expect(h.connection.closeState == .closed)
        #expect(h.semanticEvents == [.closeReceived(code: .normalClosure, reason: ""), .closingHandshakeDone])
        #expect(h.take().isEmpty, "our close is not sent twice")
    }

    @Test(arguments: [Role.server, .client])
    func messagesArrivingAfterOurCloseAreDelivered(role: Role) throws {
        let h = Harness(role: role)
        h.connection.sendClose(code: .normalClosure, reason: "")
        _ = try h.takeFrames()
        // The peer sent these before it saw our close; they must not be lost.
        h.feed(frame(.text, "in flight", from: role.peer) + closeFrame(.normalClosure, from: role.peer))
        #expect(h.semanticEvents == [
            .message(.text, bytes("in flight")), .closeReceived(code: .normalClosure, reason: ""), .closingHandshakeDone,
        ])
    }

    @Test func closingHandshakeTimesOutWithoutThePeersClose() throws {
        let h = Harness(role: .client)
        h.connection.closeTimeout = .milliseconds(500)
        let before = ContinuousClock.now
        h.connection.sendClose(code: .normalClosure, reason: "")
        let deadline = try #require(h.connection.closingDeadline)
        #expect(deadline >= before.advanced(by: .milliseconds(500)))
        #expect(!h.connection.closeTimedOut(now: deadline.advanced(by: .milliseconds(-1))))
        #expect(h.connection.closeState == .closeSent)
        #expect(h.connection.closeTimedOut(now: deadline))
        #expect(h.connection.closeState == .closed)
        #expect(h.connection.isReadingStopped)
        #expect(h.connection.closingDeadline == nil)
        #expect(!h.connection.closeTimedOut(now: deadline), "only once")
    }

    @Test func noDeadlineOnceThePeerAnswered() {
        let h = Harness(role: .server)
        h.connection.sendClose(code: .normalClosure, reason: "")
        h.feed(closeFrame(.normalClosure, from: .client))
        #expect(h.connection.closeState == .closed)
        #expect(!h.connection.closeTimedOut(now: .now.advanced(by: .seconds(60))))
    }

    @Test func secondSendCloseIsIgnored() throws {
        let h = Harness(role: .server)
        h.connection.sendClose(code: .normalClosure, reason: "")
        h.connection.sendClose(code: .goingAway, reason: "again")
        #expect(try h.takeFrames().map(\.closeCode) == [.normalClosure])
        #expect(h.connection.sentClose?.code == .normalClosure)
    }

    @Test func emptyCloseWhenCodeIsNil() throws {
        let h = Harness(role: .client)
        h.connection.sendClose(code: nil, reason: "dropped without a code")
        let out = try h.takeFrames()
        #expect(out.map(\.payload) == [[]])
        #expect(out.first?.header.masked == true)
    }

    @Test func longReasonIsCutToFit125Bytes() throws {
        let h = Harness(role: .server)
        h.connection.sendClose(code: .normalClosure, reason: String(repeating: "é", count: 100))
        let out = try h.takeFrames()
        #expect(out.first?.header.length == 124)  // 2 + 61 × 2 bytes; the next "é" would not fit 123
        #expect(UTF8Validator.isValid(Array(out.first!.payload.dropFirst(2))))
    }

    /// Frames after the peer's close — in the same read or later — are not read.
    @Test func dataAfterPeersCloseIsIgnored() throws {
        let h = Harness(role: .server)
        h.feed(frame(.text, "before", from: .client) + closeFrame(.normalClosure, from: .client)
            + frame(.text, "after", from: .client) + frame(.ping, [], from: .client))
        h.feed(frame(.binary, [1], from: .client) + [0xFF, 0xFF, 0xFF])
        #expect(h.semanticEvents == [
            .message(.text, bytes("before")), .closeReceived(code: .normalClosure, reason: ""), .closingHandshakeDone,
        ])
        #expect(try h.takeFrames().map(\.header.opcode) == [.close])
    }

    /// A fragmented message cut short by the peer's close is never delivered.
    @Test func closeInTheMiddleOfAFragmentedMessage() throws {
        let h = Harness(role: .client)
        h.feed(frame(.text, "part", fin: false, from: .server) + closeFrame(.normalClosure, from: .server)
            + frame(.continuation, "rest", from: .server))
        #expect(h.messages.isEmpty)
        #expect(h.semanticEvents == [.closeReceived(code: .normalClosure, reason: ""), .closingHandshakeDone])
    }

    @Test(arguments: [Role.server, .client])
    func nothingIsQueuedAfterClose(role: Role) throws {
        let h = Harness(role: role)
        h.connection.sendClose(code: .normalClosure, reason: "")
        _ = h.take()
        h.connection.sendText("late")
        h.connection.send(.binary, payload: [1, 2, 3])
        h.connection.sendControl(.ping, payload: [1])
        #expect(h.take().isEmpty)

        let h2 = Harness(role: role)
        h2.feed(closeFrame(.normalClosure, from: role.peer))
        _ = h2.take()
        h2.connection.sendText("late")
        h2.connection.sendControl(.pong, payload: [])
        h2.connection.sendClose(code: .goingAway, reason: "")
        #expect(h2.take().isEmpty)
    }

    /// While our close is outstanding the peer's pings are reported but not answered.
    @Test func pingWhileCloseSentIsNotAnswered() throws {
        let h = Harness(role: .server)
        h.connection.sendClose(code: .normalClosure, reason: "")
        _ = h.take()
        h.feed(frame(.ping, bytes("late ping"), from: .client))
        #expect(h.semanticEvents == [.ping(bytes("late ping"))])
        #expect(h.take().isEmpty)
        #expect(h.connection.closeState == .closeSent)
        h.feed(closeFrame(.normalClosure, from: .client))
        #expect(h.connection.closeState == .closed)
    }

    /// With the automatic reply off, the application answers the close itself; the
    /// handshake then completes and says so.
    @Test func manualCloseReply() throws {
        let h = Harness(role: .server)
        h.connection.autoCloseReply = false
        h.feed(closeFrame(.policyViolation, reason: "nope", from: .client))
        #expect(h.semanticEvents == [.closeReceived(code: .policyViolation, reason: "nope")])
        #expect(h.take().isEmpty)
        #expect(h.connection.closeState == .open)
        #expect(h.connection.isReadingStopped)

        h.connection.sendClose(code: .normalClosure, reason: "ok")
        #expect(try h.takeFrames().map(\.payload) == [[0x03, 0xE8] + bytes("ok")])
        #expect(h.connection.closeState == .closed)
        #expect(h.semanticEvents == [
            .closeReceived(code: .policyViolation, reason: "nope"), .closingHandshakeDone,
        ])
    }

    /// Answering from inside the `.closeReceived` callback (auto reply off or on) sends one
    /// close and completes the handshake once.
    @Test(arguments: [true, false])
    func replyFromInsideTheCloseCallback(autoReply: Bool) throws {
        let connection = Connection(role: .client)
        connection.autoCloseReply = autoReply
        var events: [Event] = []
        connection.onEvent = { event in
            events.append(Event(event))
            if case .closeReceived = event { connection.sendClose(code: .goingAway, reason: "app") }
        }
        connection.receive(closeFrame(.normalClosure, from: .server))
        var out: [UInt8] = []
        connection.takeOutput { out += $0 }
        let frames = try decodeFrames(out)
        #expect(frames.count == 1)
        #expect(frames.first?.closeCode == .goingAway)
        #expect(events.filter { $0 == .closingHandshakeDone }.count == 1)
        #expect(connection.closeState == .closed)
    }

    @Test func transportClosedStopsReading() {
        let h = Harness(role: .client)
        h.feed(Array(frame(.text, "partial", from: .server).prefix(4)))
        h.connection.transportClosed()
        #expect(h.connection.closeState == .closed)
        #expect(h.connection.isReadingStopped)
        h.feed(Array(frame(.text, "partial", from: .server).dropFirst(4)) + frame(.text, "x", from: .server))
        #expect(h.events.isEmpty)
        h.connection.sendText("late")
        #expect(h.take().isEmpty)
    }

    /// Client and server wired back to back: either side may start the handshake.
    @Test(arguments: [Role.client, .server])
    func backToBackHandshake(initiator: Role) throws {
        let pair = Pair()
        let (a, b) = initiator == .client ? (pair.client, pair.server) : (pair.server, pair.client)
        a.connection.sendText("last words")
        a.connection.sendClose(code: .goingAway, reason: "bye")
        pair.pump()
        #expect(b.semanticEvents == [
            .message(.text, bytes("last words")), .closeReceived(code: .goingAway, reason: "bye"), .closingHandshakeDone,
        ])
        #expect(a.semanticEvents == [.closeReceived(code: .goingAway, reason: ""), .closingHandshakeDone])
        #expect(a.connection.closeState == .closed)
        #expect(b.connection.closeState == .closed)
        // Client frames were masked, server frames not.
        let clientWire = try decodeFrames(pair.client.written)
        let serverWire = try decodeFrames(pair.server.written)
        #expect(clientWire.allSatisfy { $0.header.masked })
        #expect(serverWire.allSatisfy { !$0.header.masked })
    }

    /// Both sides close at the same time: each sees the other's close as the reply.
    @Test func simultaneousClose() throws {
        let pair = Pair()
        pair.client.connection.sendClose(code: .normalClosure, reason: "c")
        pair.server.connection.sendClose(code: .goingAway, reason: "s")
        pair.pump()
        #expect(pair.client.semanticEvents == [.closeReceived(code: .goingAway, reason: "s"), .closingHandshakeDone])
        #expect(pair.server.semanticEvents == [.closeReceived(code: .normalClosure, reason: "c"), .closingHandshakeDone])
        #expect(try decodeFrames(pair.client.written).count == 1)
        #expect(try decodeFrames(pair.server.written).count == 1)
    }
}
