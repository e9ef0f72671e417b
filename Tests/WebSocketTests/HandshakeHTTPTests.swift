import Testing
import WebSocket

/// Runs `body` with the UTF-8 bytes of `text` as a raw buffer.
func withHandshakeBytes<Result>(_ text: String, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
    Array(text.utf8).withUnsafeBytes(body)
}

/// A borrowed slice as a String, for assertions.
func handshakeText(_ bytes: UnsafeRawBufferPointer?) -> String? {
    bytes.map { String(decoding: $0, as: UTF8.self) }
}

@Suite("Handshake: HTTP head parsing")
struct HandshakeHTTPTests {
    @Test("end of head: CRLF CRLF, bare LF, and not yet", arguments: [
        ("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 27 as Int?),
        ("GET / HTTP/1.1\r\nHost: a\r\n\r\nextra", 27),
        ("GET / HTTP/1.1\nHost: a\n\n", 24),
        ("GET / HTTP/1.1\r\nHost: a\n\r\n", 26),
        ("GET / HTTP/1.1\r\nHost: a\r\n\r", nil),
        ("GET / HTTP/1.1\r\nHost: a\r\n", nil),
        ("GET / HTTP/1.1\r\n", nil),
        ("", nil),
    ])
    func endOfHead(text: String, length: Int?) {
        #expect(withHandshakeBytes(text) { HTTPHead.length(in: $0) } == length)
    }

    @Test("request line, header fields in order, trimmed values")
    func requestHead() {
        let text = "GET /chat?room=1 HTTP/1.1\r\nHost:  example.com \r\nX-Empty:\r\nX-Tab:\tv a l\t\r\n\r\nframes"
        withHandshakeBytes(text) { buffer in
            guard case .complete(let head) = HTTPRequestHead.parse(buffer) else {
                Issue.record("not parsed")
                return
            }
            #expect(handshakeText(head.method) == "GET")
            #expect(handshakeText(head.target) == "/chat?room=1")
            #expect(head.version == .http1_1)
            #expect(head.length == text.utf8.count - "frames".utf8.count)
            let fields = head.fields.map { (handshakeText($0.name)!, handshakeText($0.value)!) }
            #expect(fields.map(\.0) == ["Host", "X-Empty", "X-Tab"])
            #expect(fields.map(\.1) == ["example.com", "", "v a l"])
            #expect(handshakeText(head.fields.first(named: "host")) == "example.com")
            #expect(head.fields.count(named: "HOST") == 1)
        }
    }

    @Test("malformed request heads are reported with the line at fault", arguments: [
        ("GET /\r\nHost: a\r\n\r\n", HTTPHeadError.malformedRequestLine),
        ("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", .malformedRequestLine),
        ("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", .malformedRequestLine),
        ("GET / HTTQ/1.1\r\nHost: a\r\n\r\n", .malformedRequestLine),
        ("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", .malformedRequestLine),
        ("GET /\u{1}x HTTP/1.1\r\nHost: a\r\n\r\n", .malformedRequestLine),
        ("GET / HTTP/1.1\r\nHost a\r\n\r\n", .headerLineWithoutColon(line: 2)),
        ("GET / HTTP/1.1\r\nHost: a\r\nUpgrade : x\r\n\r\n", .whitespaceBeforeColon(line: 3)),
        ("GET / HTTP/1.1\r\nHo(st: a\r\n\r\n", .invalidHeaderName(line: 2)),
        ("GET / HTTP/1.1\r\n: a\r\n\r\n", .invalidHeaderName(line: 2)),
        ("GET / HTTP/1.1\r\nHost: a\u{0}b\r\n\r\n", .invalidHeaderValue(line: 2)),
        ("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", .invalidHeaderValue(line: 2)),
        ("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", .obsoleteLineFolding(line: 3)),
    ])
    func malformed(text: String, error: HTTPHeadError) {
        withHandshakeBytes(text) { buffer in
            guard case .malformed(let reported) = HTTPRequestHead.parse(buffer) else {
                Issue.record("accepted \(text.debugDescription)")
                return
            }
            #expect(reported == error)
        }
    }

    @Test("garbage is refused before the head is complete")
    func earlyRefusal() {
        // A TLS ClientHello on a plain-text port: no line end, not a method.
        let hello: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03]
        hello.withUnsafeBytes { buffer in
            guard case .malformed(.malformedRequestLine) = HTTPRequestHead.parse(buffer) else {
                Issue.record("garbage not refused")
                return
            }
        }
        withHandshakeBytes("GET / HTTP/1.1\r\nHost:") { buffer in
            guard case .incomplete = HTTPRequestHead.parse(buffer) else {
                Issue.record("valid prefix refused")
                return
            }
        }
        withHandshakeBytes("BREW /pot HTCPCP/1.0\r\nHost:") { buffer in
            guard case .malformed(.malformedRequestLine) = HTTPRequestHead.parse(buffer) else {
                Issue.record("bad first line not refused early")
                return
            }
        }
    }

    @Test("status lines", arguments: [
        ("HTTP/1.1 101 Switching Protocols", 101, "Switching Protocols"),
        ("HTTP/1.1 404 Not Found", 404, "Not Found"),
        ("HTTP/1.1 200 ", 200, ""),
        ("HTTP/1.0 200", 200, ""),
    ])
    func statusLine(line: String, status: Int, reason: String) {
        withHandshakeBytes(line) { buffer in
            let parsed = HTTPStatusLine(parsing: buffer)
            #expect(parsed?.status == status)
            #expect(handshakeText(parsed?.reason) == reason)
        }
    }

    @Test("bad status lines", arguments: ["HTTP/1.1 20 OK", "HTTP/1.1  200 OK", "HTTP/1.1 2000 OK", "ICY 200 OK", "HTTP/1.1 200 O\u{1}K"])
    func badStatusLine(line: String) {
        withHandshakeBytes(line) { #expect(HTTPStatusLine(parsing: $0) == nil) }
    }

    @Test("response head with fields")
    func responseHead() {
        withHandshakeBytes("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\u{81}\u{0}") { buffer in
            guard case .complete(let head) = HTTPResponseHead.parse(buffer) else {
                Issue.record("not parsed")
                return
            }
            #expect(head.status == 101)
            #expect(head.length == 56)
            #expect(handshakeText(head.fields.first(named: "upgrade")) == "websocket")
        }
    }

    @Test("token lists: case, whitespace, empty elements, parameters")
    func tokenLists() {
        withHandshakeBytes("keep-alive, Upgrade") { value in
            let list = HTTPTokenList(value)
            #expect(list.containsToken("upgrade"))
            #expect(list.containsToken("keep-alive"))
            #expect(!list.containsToken("close"))
            #expect(list.map { handshakeText($0.token)! } == ["keep-alive", "Upgrade"])
        }
        withHandshakeBytes(" ,, a ,\tb,") { value in
            #expect(HTTPTokenList(value).map { handshakeText($0.token)! } == ["a", "b"])
        }
        withHandshakeBytes("upgraded") { value in
            #expect(!HTTPTokenList(value).containsToken("upgrade"))
        }
    }

    @Test("extension offers: parameters, quoted strings with commas and semicolons")
    func extensionParameters() {
        let value = #"permessage-deflate; client_max_window_bits; server_max_window_bits=10, x-foo; list="a,b;c"; q=\"#
        withHandshakeBytes(value) { bytes in
            let elements = Array(HTTPTokenList(bytes))
            #expect(elements.count == 2)
            #expect(handshakeText(elements[0].token) == "permessage-deflate")
            let first = elements[0].parameters.map { (handshakeText($0.name)!, handshakeText($0.value)) }
            #expect(first.map(\.0) == ["client_max_window_bits", "server_max_window_bits"])
            #expect(first.map(\.1) == [nil, "10"])
            #expect(handshakeText(elements[1].token) == "x-foo")
            let second = elements[1].parameters.map { (handshakeText($0.name)!, handshakeText($0.value)) }
            #expect(second.map(\.0) == ["list", "q"])
            #expect(second.map(\.1) == ["a,b;c", "\\"])
        }
    }

    @Test("case-insensitive comparison only folds letters")
    func caseInsensitive() {
        withHandshakeBytes("Sec-WebSocket-Key") { #expect(HTTPHead.equalsIgnoringCase($0, "sec-websocket-key")) }
        withHandshakeBytes("\r") { #expect(!HTTPHead.equalsIgnoringCase($0, "-")) }
        withHandshakeBytes("Upgrade") { #expect(!HTTPHead.equalsIgnoringCase($0, "upgrades")) }
    }
}
