import Testing
import WebSocket

/// Requests and helpers for the server-side handshake tests.
enum UpgradeFixture {
    /// The opening handshake of RFC 6455 section 1.3.
    static let rfcRequest =
        "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n"
        + "Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n"

    /// The answer RFC 6455 section 1.3 gives, with the `chat` subprotocol chosen.
    static let rfcResponse =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n"

    static let standardHeaders: [(String, String)] = [
        ("Host", "server.example.com"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Version", "13"),
    ]

    static func request(_ requestLine: String = "GET /chat HTTP/1.1", headers: [(String, String)] = standardHeaders) -> String {
        requestLine + "\r\n" + headers.map { "\($0.0): \($0.1)\r\n" }.joined() + "\r\n"
    }

    /// The standard headers without `name`, plus `adding`.
    static func headers(removing name: String? = nil, adding: [(String, String)] = []) -> [(String, String)] {
        standardHeaders.filter { $0.0 != name } + adding
    }

    /// The standard headers with `name`'s value replaced.
    static func headers(setting name: String, to value: String) -> [(String, String)] {
        standardHeaders.map { $0.0 == name ? (name, value) : $0 }
    }

    static func run(_ upgrader: Upgrader = Upgrader(), _ request: String) -> (UpgradeOutcome, String) {
        let (outcome, response) = upgrader.upgrade(request: Array(request.utf8))
        return (outcome, String(decoding: response, as: UTF8.self))
    }

    static func status(_ outcome: UpgradeOutcome) -> Int? {
        switch outcome {
        case .upgraded: return 101
        case .rejected(let rejection, _): return rejection.status
        case .needMoreBytes, .responseBufferTooSmall: return nil
        }
    }
}

@Suite("Handshake: server upgrader")
struct HandshakeUpgraderTests {
    @Test("RFC 6455 section 1.3 end to end: the exact 101 response")
    func rfcExample() {
        var upgrader = Upgrader()
        upgrader.chooseProtocol = { HTTPHead.equals($0, "chat") }
        let request = Array(UpgradeFixture.rfcRequest.utf8)
        let (outcome, response) = upgrader.upgrade(request: request)
        #expect(String(decoding: response, as: UTF8.self) == UpgradeFixture.rfcResponse)
        guard case .upgraded(let accepted) = outcome else {
            Issue.record("not upgraded: \(outcome)")
            return
        }
        #expect(accepted.consumed == request.count)
        #expect(accepted.responseLength == UpgradeFixture.rfcResponse.utf8.count)
        request.withUnsafeBytes { bytes in
            #expect(accepted.target(in: bytes) == "/chat")
            #expect(accepted.subprotocol(in: bytes) == "chat")
        }
        #expect(accepted.extensions == nil)
    }

    @Test("without a protocol chooser no subprotocol is sent")
    func noSubprotocol() {
        let (outcome, response) = UpgradeFixture.run(Upgrader(), UpgradeFixture.rfcRequest)
        guard case .upgraded(let accepted) = outcome else {
            Issue.record("not upgraded")
            return
        }
        #expect(accepted.subprotocol == nil)
        #expect(!response.contains("Sec-WebSocket-Protocol"))
    }

    @Test("malformed or unacceptable requests get the right status", arguments: [
        (UpgradeFixture.request(headers: UpgradeFixture.headers(removing: "Host")), 400, "missing Host header"),
        (UpgradeFixture.request("POST /chat HTTP/1.1"), 405, "GET"),
        (UpgradeFixture.request("GET /chat HTTP/1.0"), 505, "HTTP/1.1"),
        (UpgradeFixture.request(headers: UpgradeFixture.headers(removing: "Upgrade")), 400, "Upgrade: websocket"),
        (UpgradeFixture.request(headers: UpgradeFixture.headers(setting: "Upgrade", to: "h2c")), 400, "Upgrade: websocket"),
        (UpgradeFixture.request(headers: UpgradeFixture.headers(setting: "Connection", to: "keep-alive")), 400, "Connection"),
        (UpgradeFixture.request(headers: UpgradeFixture.headers(removing: "Connection")), 400, "Connection"),
        (UpgradeFixture.request(headers: UpgradeFixture.headers(setting: "Sec-WebSocket-Key", to: "dGhlIHNhbXBsZSBub25j")), 400, "16 bytes"),
        (UpgradeFixture.request(headers: UpgradeFixture.headers(setting: "Sec-WebSocket-Key", to: "dGhlIHNhbXBsZSBub25jZ!==")), 400, "16 bytes"),
        (UpgradeFixture.request(headers: UpgradeFixture.headers(removing: "Sec-WebSocket-Key")), 400, "missing Sec-WebSocket-Key"),
        (
            UpgradeFixture.request(headers: UpgradeFixture.headers(adding: [("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAA==")])),
            400, "duplicated Sec-WebSocket-Key"
        ),
        (
            UpgradeFixture.request(headers: UpgradeFixture.headers(adding: [("Sec-WebSocket-Version", "13")])),
            400, "duplicated Sec-WebSocket-Version"
        ),
        (UpgradeFixture.request(headers: UpgradeFixture.headers(adding: [("Host", "other")])), 400, "duplicated Host"),
        (UpgradeFixture.request(headers: UpgradeFixture.headers(adding: [("X-Broken", "a\u{7}b")])), 400, "control character"),
        (UpgradeFixture.request("GET /chat HTTP/1.1 extra"), 400, "request line"),
        (UpgradeFixture.rfcRequest.replacing("Origin: http://example.com", with: "Origin example.com"), 400, "no colon"),
        (UpgradeFixture.rfcRequest.replacing("Origin:", with: "Origin :"), 400, "whitespace before the colon"),
    ])
    func rejected(request: String, status: Int, bodyMentions: String) {
        let (outcome, response) = UpgradeFixture.run(Upgrader(), request)
        #expect(UpgradeFixture.status(outcome) == status)
        guard case .rejected(let rejection, let length) = outcome else {
            Issue.record("not rejected: \(outcome)")
            return
        }
        #expect(response.utf8.count == length)
        #expect(response.hasPrefix("HTTP/1.1 \(status) \(HTTPHead.reasonPhrase(status: status))\r\n"))
        #expect(response.contains("\r\nConnection: close\r\n"))
        #expect(response.contains("\r\nContent-Length: \(rejection.body.utf8.count)\r\n"))
        #expect(response.hasSuffix("\r\n\r\n" + rejection.body))
        #expect(rejection.body.contains(bodyMentions), "\(rejection.body)")
    }

    @Test("version 8 gets 426 Upgrade Required with Sec-WebSocket-Version: 13")
    func wrongVersion() {
        for headers in [UpgradeFixture.headers(setting: "Sec-WebSocket-Version", to: "8"), UpgradeFixture.headers(removing: "Sec-WebSocket-Version")] {
            let (outcome, response) = UpgradeFixture.run(Upgrader(), UpgradeFixture.request(headers: headers))
            #expect(UpgradeFixture.status(outcome) == 426)
            #expect(response.hasPrefix("HTTP/1.1 426 Upgrade Required\r\n"))
            #expect(response.contains("\r\nSec-WebSocket-Version: 13\r\n"))
        }
    }

    @Test("405 names the allowed method")
    func methodNotAllowed() {
        let (_, response) = UpgradeFixture.run(Upgrader(), UpgradeFixture.request("PUT /chat HTTP/1.1"))
        #expect(response.hasPrefix("HTTP/1.1 405 Method Not Allowed\r\n"))
        #expect(response.contains("\r\nAllow: GET\r\n"))
    }

    @Test("header names and tokens are matched ignoring case; Connection may list several tokens")
    func caseAndLists() {
        let headers: [(String, String)] = [
            ("HOST", "example.com"), ("upgrade", "WebSocket"), ("connection", "keep-alive, Upgrade"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="), ("SEC-WEBSOCKET-VERSION", "13"),
        ]
        let (outcome, response) = UpgradeFixture.run(Upgrader(), UpgradeFixture.request(headers: headers))
        #expect(UpgradeFixture.status(outcome) == 101)
        #expect(response.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"))
    }

    @Test("a head over 9 KiB is refused with 431, with or without its end")
    func headTooLarge() {
        let padding = String(repeating: "a", count: 9 * 1024)
        let unfinished = UpgradeFixture.request(headers: UpgradeFixture.headers(adding: [("X-Padding", padding)])).dropLast(4)
        let complete = UpgradeFixture.request(headers: UpgradeFixture.headers(adding: [("X-Padding", padding)]))
        for request in [String(unfinished), complete] {
            let (outcome, response) = UpgradeFixture.run(Upgrader(), request)
            #expect(UpgradeFixture.status(outcome) == 431)
            #expect(response.hasPrefix("HTTP/1.1 431 Request Header Fields Too Large\r\n"))
        }
        // Just under the limit, an unfinished head is only waiting for more bytes.
        let (waiting, _) = UpgradeFixture.run(Upgrader(), String(unfinished.prefix(8000)))
        guard case .needMoreBytes = waiting else {
            Issue.record("expected needMoreBytes, got \(waiting)")
            return
        }
    }

    @Test("a head split across many reads needs more bytes until its last byte arrives")
    func splitHead() {
        let request = Array(UpgradeFixture.rfcRequest.utf8)
        let upgrader = Upgrader()
        var response = [UInt8](repeating: 0, count: 512)
        for end in 0..<request.count {
            let outcome = Array(request[..<end]).withUnsafeBytes { partial in
                response.withUnsafeMutableBytes { upgrader.upgrade(request: partial, response: $0) }
            }
            guard case .needMoreBytes = outcome else {
                Issue.record("after \(end) bytes: \(outcome)")
                return
            }
        }
        let outcome = request.withUnsafeBytes { whole in
            response.withUnsafeMutableBytes { upgrader.upgrade(request: whole, response: $0) }
        }
        #expect(UpgradeFixture.status(outcome) == 101)
    }

    @Test("bytes after the head are not consumed, even past the head limit")
    func bytesAfterHead() {
        let head = Array(UpgradeFixture.rfcRequest.utf8)
        let frame: [UInt8] = [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]  // masked "Hello"
        var upgrader = Upgrader()
        upgrader.maxHeaderBytes = head.count
        let (outcome, _) = upgrader.upgrade(request: head + frame)
        guard case .upgraded(let accepted) = outcome else {
            Issue.record("not upgraded: \(outcome)")
            return
        }
        #expect(accepted.consumed == head.count)
    }

    @Test("callbacks see the URI, the host and every other header")
    func callbacksSeeRequest() {
        var seenTarget: String?
        var seenHost: String?
        var seenHeaders: [String] = []
        var upgrader = Upgrader()
        upgrader.onRequest = { seenTarget = String(decoding: $0, as: UTF8.self) }
        upgrader.onHost = { seenHost = String(decoding: $0, as: UTF8.self) }
        upgrader.onHeader = { name, value in
            seenHeaders.append(String(decoding: name, as: UTF8.self) + "=" + String(decoding: value, as: UTF8.self))
        }
        let (outcome, _) = UpgradeFixture.run(upgrader, UpgradeFixture.rfcRequest)
        #expect(UpgradeFixture.status(outcome) == 101)
        #expect(seenTarget == "/chat")
        #expect(seenHost == "server.example.com")
        #expect(seenHeaders == ["Origin=http://example.com"])
    }

    @Test("a callback's rejection is written verbatim")
    func customRejection() {
        var upgrader = Upgrader()
        upgrader.onHeader = { name, value in
            if HTTPHead.equalsIgnoringCase(name, "origin"), !HTTPHead.equals(value, "https://good.example") {
                throw HandshakeRejection(status: 403, reason: "Origin Not Allowed", headers: [("X-Reason", "origin")])
            }
        }
        let (outcome, response) = UpgradeFixture.run(upgrader, UpgradeFixture.rfcRequest)
        #expect(
            response
                == "HTTP/1.1 403 Origin Not Allowed\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n"
                + "Content-Length: 18\r\nX-Reason: origin\r\n\r\nOrigin Not Allowed")
        guard case .rejected(let rejection, _) = outcome else {
            Issue.record("not rejected")
            return
        }
        #expect(rejection.status == 403)
        #expect(rejection.reason == "Origin Not Allowed")
    }

    @Test("rejections from onRequest and onHost, with a body of their own; CR LF cannot inject headers")
    func earlyRejections() {
        var upgrader = Upgrader()
        upgrader.onRequest = { target in
            if !HTTPHead.equals(target, "/chat") { throw HandshakeRejection(status: 404, body: "no such endpoint") }
        }
        let (notFound, notFoundResponse) = UpgradeFixture.run(upgrader, UpgradeFixture.request("GET /other HTTP/1.1"))
        #expect(UpgradeFixture.status(notFound) == 404)
        #expect(notFoundResponse.hasPrefix("HTTP/1.1 404 Not Found\r\n"))
        #expect(notFoundResponse.hasSuffix("\r\n\r\nno such endpoint"))

        upgrader.onRequest = nil
        upgrader.onHost = { _ in throw HandshakeRejection(status: 421, reason: "Misdirected\r\nX-Injected: 1", headers: [("X-A\r\nX-B", "1\r\n2")]) }
        let (_, response) = UpgradeFixture.run(upgrader, UpgradeFixture.rfcRequest)
        #expect(response.hasPrefix("HTTP/1.1 421 Misdirected  X-Injected: 1\r\n"))
        #expect(response.contains("\r\nX-A  X-B: 1  2\r\n"))
        // The body repeats the reason verbatim; only the head must stay intact.
        let head = response.split(separator: "\r\n\r\n", maxSplits: 1).first.map(String.init) ?? ""
        #expect(!head.contains("\r\nX-Injected"))
        #expect(head.contains("\r\nConnection: close"))
    }

    @Test("a callback error that is not a rejection becomes a bare 500")
    func otherErrors() {
        struct DatabaseDown: Error {}
        var upgrader = Upgrader()
        upgrader.onRequest = { _ in throw DatabaseDown() }
        let (outcome, response) = UpgradeFixture.run(upgrader, UpgradeFixture.rfcRequest)
        #expect(UpgradeFixture.status(outcome) == 500)
        #expect(response.hasPrefix("HTTP/1.1 500 Internal Server Error\r\n"))
        #expect(!response.contains("DatabaseDown"))
    }

    @Test("the first subprotocol the chooser accepts wins, across several headers")
    func subprotocolChoice() {
        var asked: [String] = []
        var upgrader = Upgrader()
        upgrader.chooseProtocol = { token in
            asked.append(String(decoding: token, as: UTF8.self))
            return HTTPHead.equals(token, "v2.proto") || HTTPHead.equals(token, "v3.proto")
        }
        let headers = UpgradeFixture.headers(adding: [
            ("Sec-WebSocket-Protocol", "v1.proto"), ("Sec-WebSocket-Protocol", "v2.proto, v3.proto"),
        ])
        let (outcome, response) = UpgradeFixture.run(upgrader, UpgradeFixture.request(headers: headers))
        #expect(asked == ["v1.proto", "v2.proto"])
        #expect(response.contains("\r\nSec-WebSocket-Protocol: v2.proto\r\n"))
        guard case .upgraded(let accepted) = outcome else {
            Issue.record("not upgraded")
            return
        }
        #expect(accepted.subprotocol != nil)
    }

    @Test("extension negotiation: every offer from every header, response echoed")
    func extensionsAccepted() {
        var perHeader: [String] = []
        var offered: [String] = []
        var upgrader = Upgrader()
        upgrader.onExtensionOffer = { perHeader.append(String(decoding: $0, as: UTF8.self)) }
        upgrader.negotiateExtensions = { offers in
            for offer in offers {
                let parameters = offer.parameters.map { String(decoding: $0.name, as: UTF8.self) }
                offered.append(String(decoding: offer.token, as: UTF8.self) + "(" + parameters.joined(separator: ",") + ")")
            }
            return "permessage-deflate; server_no_context_takeover"
        }
        let headers = UpgradeFixture.headers(adding: [
            ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits, x-foo"),
            ("X-Other", "1"),
            ("Sec-WebSocket-Extensions", "x-bar; a=\"1,2\"; b"),
        ])
        let (outcome, response) = UpgradeFixture.run(upgrader, UpgradeFixture.request(headers: headers))
        #expect(perHeader == ["permessage-deflate; client_max_window_bits, x-foo", "x-bar; a=\"1,2\"; b"])
        #expect(offered == ["permessage-deflate(client_max_window_bits)", "x-foo()", "x-bar(a,b)"])
        #expect(response.contains("\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n"))
        guard case .upgraded(let accepted) = outcome else {
            Issue.record("not upgraded")
            return
        }
        #expect(accepted.extensions == "permessage-deflate; server_no_context_takeover")
    }

    @Test("extension negotiation: declined, and not asked when nothing is offered")
    func extensionsDeclined() {
        var calls = 0
        var upgrader = Upgrader()
        upgrader.negotiateExtensions = { _ in
            calls += 1
            return nil
        }
        let offered = UpgradeFixture.request(headers: UpgradeFixture.headers(adding: [("Sec-WebSocket-Extensions", "x-foo")]))
        let (outcome, response) = UpgradeFixture.run(upgrader, offered)
        #expect(UpgradeFixture.status(outcome) == 101)
        #expect(!response.contains("Sec-WebSocket-Extensions"))
        #expect(calls == 1)

        _ = UpgradeFixture.run(upgrader, UpgradeFixture.request())
        #expect(calls == 1)
    }

    @Test("extra headers, static and from onBeforeUpgrade, follow the handshake headers")
    func extraHeaders() {
        var upgrader = Upgrader(extraHeaders: [("Server", "wscope")])
        upgrader.onBeforeUpgrade = { request in
            #expect(HTTPHead.equals(request.target, "/chat"))
            return [("Set-Cookie", "session=1")]
        }
        let (_, response) = UpgradeFixture.run(upgrader, UpgradeFixture.request())
        #expect(response.hasSuffix("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nServer: wscope\r\nSet-Cookie: session=1\r\n\r\n"))
    }

    @Test("a response buffer that is too small is reported with the size needed")
    func responseBufferTooSmall() {
        var upgrader = Upgrader()
        upgrader.chooseProtocol = { _ in true }
        let request = Array(UpgradeFixture.rfcRequest.utf8)
        let (_, full) = upgrader.upgrade(request: request)
        let (outcome, _) = upgrader.upgrade(request: request, responseCapacity: 64)
        guard case .responseBufferTooSmall(let required) = outcome else {
            Issue.record("expected responseBufferTooSmall, got \(outcome)")
            return
        }
        #expect(required == full.count)
        let (exact, _) = upgrader.upgrade(request: request, responseCapacity: full.count)
        #expect(UpgradeFixture.status(exact) == 101)

        let (rejected, _) = Upgrader().upgrade(request: Array("GET / HTTP/1.0\r\n\r\n".utf8), responseCapacity: 10)
        guard case .responseBufferTooSmall = rejected else {
            Issue.record("expected responseBufferTooSmall for a rejection, got \(rejected)")
            return
        }
    }

    @Test("bare LF line endings are accepted")
    func bareLineFeeds() {
        let request = UpgradeFixture.rfcRequest.replacing("\r\n", with: "\n")
        let (outcome, _) = UpgradeFixture.run(Upgrader(), request)
        #expect(UpgradeFixture.status(outcome) == 101)
    }
}

/// SplitMix64, so that the corruption test is reproducible.
struct HandshakeSeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Handshake: corrupted input")
struct HandshakeCorruptionTests {
    /// Flips, inserts and deletes bytes (CR, LF, colon, space, controls, high bytes among
    /// them) and truncates; whatever comes out must be answered without trapping, and a
    /// rejection must be a complete response.
    @Test("corrupted requests and responses never trap")
    func corruption() {
        var generator = HandshakeSeededGenerator(state: 6455)
        let interesting: [UInt8] = [0x0D, 0x0A, 0x3A, 0x20, 0x09, 0x00, 0x7F, 0xFF, 0x2C, 0x3B, 0x22, 0x3D]
        var upgrader = Upgrader(maxHeaderBytes: 300)
        upgrader.chooseProtocol = { _ in true }
        upgrader.negotiateExtensions = { offers in
            var iterator = offers.makeIterator()
            return iterator.next().map { String(decoding: $0.text, as: UTF8.self) }
        }
        let client = ClientFixture.handshake(extensionOffer: "x-foo")
        let requestSeed = Array((UpgradeFixture.rfcRequest.dropLast(2) + "Sec-WebSocket-Extensions: x-foo; a=\"1\"\r\n\r\n").utf8)
        let responseSeed = Array(UpgradeFixture.rfcResponse.utf8)

        for _ in 0..<3000 {
            for seed in [requestSeed, responseSeed] {
                var bytes = seed
                for _ in 0..<Int.random(in: 1...4, using: &generator) {
                    let position = Int.random(in: 0..<bytes.count, using: &generator)
                    let byte = Bool.random(using: &generator)
                        ? interesting.randomElement(using: &generator)!
                        : UInt8.random(in: 0...255, using: &generator)
                    switch Int.random(in: 0..<4, using: &generator) {
                    case 0: bytes[position] = byte
                    case 1: bytes.insert(byte, at: position)
                    case 2: if bytes.count > 1 { bytes.remove(at: position) }
                    default: bytes.removeLast(Int.random(in: 0..<bytes.count, using: &generator))
                    }
                }
                let (outcome, response) = upgrader.upgrade(request: bytes)
                if case .rejected(let rejection, _) = outcome {
                    #expect(String(decoding: response, as: UTF8.self).hasSuffix("\r\n\r\n" + rejection.body))
                }
                _ = client.validateResponse(bytes)
            }
        }
    }
}
