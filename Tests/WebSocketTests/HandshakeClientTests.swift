import Testing
import WebSocket

/// Responses and helpers for the client-side handshake tests.
enum ClientFixture {
    static let sampleNonce = Array("the sample nonce".utf8)

    static func handshake(
        subprotocols: [String] = ["chat", "superchat"], extensionOffer: String? = nil,
        extraHeaders: [(String, String)] = []
    ) -> ClientHandshake {
        ClientHandshake(
            target: "/chat", host: "server.example.com", subprotocols: subprotocols,
            extensionOffer: extensionOffer, extraHeaders: extraHeaders, nonce: sampleNonce)
    }

    static let goodHeaders: [(String, String)] = [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
    ]

    static func response(_ statusLine: String = "HTTP/1.1 101 Switching Protocols", headers: [(String, String)] = goodHeaders) -> String {
        statusLine + "\r\n" + headers.map { "\($0.0): \($0.1)\r\n" }.joined() + "\r\n"
    }

    static func failure(_ outcome: ClientHandshakeOutcome) -> HandshakeError? {
        if case .failed(let error, _) = outcome { return error }
        return nil
    }
}

@Suite("Handshake: client")
struct HandshakeClientTests {
    @Test("the request carries the key, the version, the offers and the extra headers")
    func request() {
        let handshake = ClientFixture.handshake(
            extensionOffer: "permessage-deflate; client_max_window_bits", extraHeaders: [("Origin", "http://example.com")])
        #expect(handshake.key == "dGhlIHNhbXBsZSBub25jZQ==")
        #expect(handshake.expectedAccept == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        #expect(
            handshake.requestHead
                == "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                + "Sec-WebSocket-Protocol: chat, superchat\r\n"
                + "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
                + "Origin: http://example.com\r\n\r\n")

        var buffer = [UInt8](repeating: 0, count: 512)
        let written = buffer.withUnsafeMutableBytes { handshake.writeRequest(into: $0) }
        #expect(written == handshake.request.count)
        #expect(Array(buffer[..<handshake.request.count]) == handshake.request)
        var short = [UInt8](repeating: 0, count: 10)
        #expect(short.withUnsafeMutableBytes { handshake.writeRequest(into: $0) } == nil)
    }

    @Test("a random nonce gives a valid, fresh key")
    func randomNonce() {
        let first = ClientHandshake(target: "/", host: "a")
        let second = ClientHandshake(target: "/", host: "a")
        #expect(first.key != second.key)
        #expect(first.nonce.count == 16)
        #expect(Array(first.key.utf8).withUnsafeBytes { isValidWebSocketKey($0) })
        #expect(first.expectedAccept == webSocketAccept(key: first.key))
    }

    @Test("an extra header with a handshake header's name replaces it; CR LF is neutralised")
    func overrides() {
        let handshake = ClientFixture.handshake(extraHeaders: [
            ("Sec-WebSocket-Version", "8"), ("sec-websocket-key", "AAAAAAAAAAAAAAAAAAAAAA=="), ("X-Evil", "a\r\nInjected: 1"),
        ])
        let head = handshake.requestHead
        #expect(head.contains("\r\nSec-WebSocket-Version: 8\r\n"))
        #expect(!head.contains("Sec-WebSocket-Version: 13"))
        #expect(head.contains("\r\nsec-websocket-key: AAAAAAAAAAAAAAAAAAAAAA==\r\n"))
        #expect(handshake.expectedAccept == webSocketAccept(key: "AAAAAAAAAAAAAAAAAAAAAA=="))
        #expect(head.contains("\r\nX-Evil: a  Injected: 1\r\n"))
        #expect(!head.contains("\r\nInjected"))
    }

    @Test("the RFC 6455 section 1.3 response is accepted")
    func goodResponse() {
        let handshake = ClientFixture.handshake()
        let response = UpgradeFixture.rfcResponse
        let frame: [UInt8] = [0x81, 0x05] + Array("Hello".utf8)
        guard case .accepted(let accepted) = handshake.validateResponse(Array(response.utf8) + frame) else {
            Issue.record("not accepted")
            return
        }
        #expect(accepted.status == 101)
        #expect(accepted.reason == "Switching Protocols")
        #expect(accepted.consumed == response.utf8.count)
        #expect(accepted.subprotocol == "chat")
        #expect(accepted.extensions == nil)
        #expect(accepted.head == response)
        #expect(accepted.headers.map(\.0) == ["Upgrade", "Connection", "Sec-WebSocket-Accept", "Sec-WebSocket-Protocol"])
        #expect(accepted.values(of: "sec-websocket-accept") == ["s3pPLMBiTxaQ9kYGzzhZRbK+xOo="])
    }

    @Test("a partial response needs more bytes; an endless one is refused")
    func partialResponse() {
        let handshake = ClientFixture.handshake()
        let response = Array(UpgradeFixture.rfcResponse.utf8)
        for end in [0, 1, 20, response.count - 1] {
            guard case .needMoreBytes = handshake.validateResponse(Array(response[..<end])) else {
                Issue.record("after \(end) bytes: not needMoreBytes")
                return
            }
        }
        var small = handshake
        small.maxResponseHeadBytes = 64
        let error = ClientFixture.failure(small.validateResponse(response))
        #expect(error == .responseHeadTooLarge(limit: 64))
        #expect(error?.description == "response head exceeds 64 bytes")
    }

    @Test("bad responses fail with one clear line", arguments: [
        (
            ClientFixture.response("HTTP/1.1 404 Not Found", headers: [("Content-Length", "0")]),
            "server answered 404 Not Found instead of 101 Switching Protocols"
        ),
        (ClientFixture.response(headers: [ClientFixture.goodHeaders[1], ClientFixture.goodHeaders[2]]), "missing 'Upgrade: websocket' header"),
        (
            ClientFixture.response(headers: [("Upgrade", "h2c"), ClientFixture.goodHeaders[1], ClientFixture.goodHeaders[2]]),
            "'Upgrade' is 'h2c', not 'websocket'"
        ),
        (
            ClientFixture.response(headers: [ClientFixture.goodHeaders[0], ("Connection", "keep-alive"), ClientFixture.goodHeaders[2]]),
            "'Connection' does not contain 'upgrade'"
        ),
        (
            ClientFixture.response(headers: [ClientFixture.goodHeaders[0], ClientFixture.goodHeaders[2]]),
            "missing 'Connection: Upgrade' header"
        ),
        (ClientFixture.response(headers: Array(ClientFixture.goodHeaders[0...1])), "missing 'Sec-WebSocket-Accept' header"),
        (
            ClientFixture.response(headers: Array(ClientFixture.goodHeaders[0...1]) + [("Sec-WebSocket-Accept", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=")]),
            "Sec-WebSocket-Accept mismatch (expected s3pPLMBiTxaQ9kYGzzhZRbK+xOo=, got AAAAAAAAAAAAAAAAAAAAAAAAAAA=)"
        ),
        (
            ClientFixture.response(headers: ClientFixture.goodHeaders + [("Sec-WebSocket-Protocol", "mqtt")]),
            "server chose subprotocol 'mqtt' that was not offered"
        ),
        (
            ClientFixture.response(headers: ClientFixture.goodHeaders + [("Sec-WebSocket-Protocol", "chat, superchat")]),
            "server chose more than one subprotocol ('chat, superchat')"
        ),
        (
            ClientFixture.response(headers: ClientFixture.goodHeaders + [("Sec-WebSocket-Extensions", "permessage-deflate")]),
            "server accepted extension 'permessage-deflate' that was not offered"
        ),
        (
            ClientFixture.response(headers: ClientFixture.goodHeaders + [ClientFixture.goodHeaders[2]]),
            "duplicated 'Sec-WebSocket-Accept' header"
        ),
        ("HTTP/1.1 101\r\nUpgrade websocket\r\n\r\n", "malformed response: header line 2 has no colon"),
        ("SSH-2.0-OpenSSH_9.6\r\n", "malformed response: malformed status line"),
    ])
    func badResponse(response: String, message: String) {
        let outcome = ClientFixture.handshake().validateResponse(Array(response.utf8))
        #expect(ClientFixture.failure(outcome)?.description == message)
    }

    @Test("a refused handshake still hands over the parsed response for display")
    func failedResponseDetails() {
        let response = ClientFixture.response("HTTP/1.1 403 Forbidden", headers: [("Content-Length", "4")]) + "nope"
        guard case .failed(.unexpectedStatus(403, "Forbidden"), let details?) = ClientFixture.handshake().validateResponse(Array(response.utf8))
        else {
            Issue.record("wrong outcome")
            return
        }
        #expect(details.status == 403)
        #expect(details.headers.first?.1 == "4")
        #expect(details.consumed == response.utf8.count - 4)
    }

    @Test("an offered extension accepted by the server is reported")
    func offeredExtension() {
        let handshake = ClientFixture.handshake(subprotocols: [], extensionOffer: "permessage-deflate; client_max_window_bits, x-foo")
        let response = ClientFixture.response(headers: ClientFixture.goodHeaders + [("Sec-WebSocket-Extensions", "Permessage-Deflate; server_no_context_takeover")])
        guard case .accepted(let accepted) = handshake.validateResponse(Array(response.utf8)) else {
            Issue.record("not accepted")
            return
        }
        #expect(accepted.extensions == "Permessage-Deflate; server_no_context_takeover")
        #expect(accepted.subprotocol == nil)
    }

    @Test("round trip: client request through the server upgrader and back")
    func roundTrip() {
        let client = ClientHandshake(
            target: "/feed?x=1", host: "127.0.0.1:9001", subprotocols: ["v2.feed", "v1.feed"],
            extensionOffer: "permessage-deflate; client_max_window_bits", extraHeaders: [("Origin", "http://localhost")])
        var seenOrigin: String?
        var server = Upgrader()
        server.onHeader = { name, value in
            if HTTPHead.equalsIgnoringCase(name, "origin") { seenOrigin = String(decoding: value, as: UTF8.self) }
        }
        server.chooseProtocol = { HTTPHead.equals($0, "v1.feed") }
        server.negotiateExtensions = { offers in
            for offer in offers where HTTPHead.equals(offer.token, "permessage-deflate") {
                return "permessage-deflate; client_max_window_bits=15"
            }
            return nil
        }

        let clientFrame: [UInt8] = [0x81, 0x80, 1, 2, 3, 4]
        let (serverOutcome, response) = server.upgrade(request: client.request + clientFrame)
        guard case .upgraded(let upgrade) = serverOutcome else {
            Issue.record("server refused: \(serverOutcome)")
            return
        }
        #expect(upgrade.consumed == client.request.count)
        #expect((client.request + clientFrame).withUnsafeBytes { upgrade.target(in: $0) } == "/feed?x=1")
        #expect(seenOrigin == "http://localhost")

        let serverFrame: [UInt8] = [0x82, 0x00]
        guard case .accepted(let accepted) = client.validateResponse(response + serverFrame) else {
            Issue.record("client refused: \(client.validateResponse(response))")
            return
        }
        #expect(accepted.consumed == response.count)
        #expect(accepted.subprotocol == "v1.feed")
        #expect(accepted.extensions == "permessage-deflate; client_max_window_bits=15")
    }
}
