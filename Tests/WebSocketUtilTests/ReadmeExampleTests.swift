import Testing
import WebSocket
import WebSocketUtil

// The README's message-layer examples, compiled and checked (see
// Tests/WebSocketTests/ReadmeExampleTests.swift for how README blocks are matched).

@Suite struct ReadmeExampleTests {
    @Test("Connection: receive bytes, events, echo, closing handshake, takeOutput")
    func connectionEcho() throws {
        // README: connection client
        let client = Connection(role: .client, fragmentSize: 4)  // frames of at most 4 payload bytes
        client.sendText("hello, server")
        client.send(.binary, payload: [0x01, 0x02])
        client.sendClose(code: .normalClosure, reason: "bye")
        var wire: [UInt8] = []
        client.takeOutput { bytes in wire.append(contentsOf: bytes) }  // write these to the socket
        // README end

        // README: connection server
        let server = Connection(role: .server, maxMessageBytes: 1 << 20)
        var log: [String] = []
        server.onEvent = { [unowned server] event in
            switch event {
            case .message(let opcode, let payload):  // whole: reassembled, decompressed, UTF-8 checked
                log.append("\(opcode) \(payload.count) bytes")
                server.send(opcode, payload: payload)  // echo
            case .ping, .pong:
                break  // pings are answered by themselves (autoPong)
            case .closeReceived(let code, let reason):
                log.append("close \(code.map { "\($0)" } ?? "none") \(reason)")  // answered (autoCloseReply)
            case .violation(let violation, _):
                log.append("violation: \(violation)")  // a close with violation.closeCode is queued
            case .closingHandshakeDone:
                log.append("done")  // flush the output, then close TCP
            case .frameReceived, .frameSent:
                break  // per-frame reports, for inspectors (captureWire, observesSent)
            }
        }
        // Feed it each read from the socket; here the client's bytes 5 at a time, since
        // headers and payloads may be split anywhere:
        for start in stride(from: 0, to: wire.count, by: 5) {
            server.receive(Array(wire[start..<min(start + 5, wire.count)]))
        }
        var reply: [UInt8] = []
        server.takeOutput { bytes in reply.append(contentsOf: bytes) }  // write these to the socket
        // README end

        #expect(log == ["text 13 bytes", "binary 2 bytes", "close 1000 bye", "done"])
        #expect(server.closeState == .closed)
        #expect(client.closeState == .closeSent)

        var echoed: [String] = []
        var clientDone = false
        client.onEvent = { event in
            switch event {
            case .message(let opcode, let payload): echoed.append("\(opcode) \(Array(payload))")
            case .closeReceived(let code, _): echoed.append("close \(code.map { "\($0)" } ?? "none")")
            case .closingHandshakeDone: clientDone = true
            default: break
            }
        }
        client.receive(reply)
        #expect(echoed == ["text \(Array("hello, server".utf8))", "binary [1, 2]", "close 1000"])
        #expect(clientDone && client.closeState == .closed)
        #expect(client.receivedClose?.code == .normalClosure && client.sentClose?.reason == "bye")
    }

    @Test("Connection fails the connection on a violation and queues the right close")
    func connectionViolation() {
        let server = Connection(role: .server)
        var violations: [ProtocolViolation] = []
        server.onEvent = { event in
            if case .violation(let violation, _) = event { violations.append(violation) }
        }
        server.receive(Frame.text("not masked").wireBytes())  // a server role frame sent to a server
        #expect(violations == [.unmaskedClientFrame])
        var reply: [UInt8] = []
        server.takeOutput { reply.append(contentsOf: $0) }
        #expect(reply == Frame.close(.protocolError).wireBytes())
    }

    @Test("MessageWriter splits a message into frames")
    func messageWriterFragments() throws {
        // README: message writer
        var writer = MessageWriter(role: .server, fragmentSize: 4)
        var frames: [UInt8] = []
        let message = Array("fragmented".utf8)
        message.withUnsafeBytes { payload in writer.writeMessage(.text, payload: payload, into: &frames) }
        // frames: text "frag" (FIN clear), cont "ment" (FIN clear), cont "ed" (FIN set)
        // README end

        var decoded: [(OpCode, Bool, String)] = []
        var offset = 0
        while offset < frames.count {
            guard case .header(let header, let size) = Header.decode(Array(frames[offset...])) else {
                Issue.record("incomplete frame at \(offset)")
                return
            }
            let end = offset + size + Int(header.length)
            decoded.append((header.opcode, header.fin, String(decoding: frames[(offset + size)..<end], as: UTF8.self)))
            offset = end
        }
        #expect(decoded.map(\.0) == [.text, .continuation, .continuation])
        #expect(decoded.map(\.1) == [false, false, true])
        #expect(decoded.map(\.2) == ["frag", "ment", "ed"])
    }
}
