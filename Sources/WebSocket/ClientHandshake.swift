/// The client side of the opening handshake (RFC 6455 sections 4.1 and 4.2.2) as a
/// sans-I/O codec: it writes the GET request and judges the server's response; the
/// transport does the reading and writing. gobwas/ws calls this side the Dialer.

/// Why a server's answer to the opening handshake is not a valid upgrade. `description`
/// is one human line, fit for a status bar or a log.
public enum HandshakeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The response head did not end within the limit.
    case responseHeadTooLarge(limit: Int)
    /// The response is not parseable HTTP.
    case malformedResponse(String)
    /// A status other than 101 (the server refused, redirected, or is not a WebSocket server).
    case unexpectedStatus(Int, reason: String)
    /// No Upgrade header (nil), or one without the `websocket` token (its value).
    case upgradeNotWebSocket(String?)
    /// No Connection header (nil), or one without the `upgrade` token (its value).
    case connectionNotUpgrade(String?)
    case missingAccept
    case acceptMismatch(expected: String, got: String)
    /// A header that may appear once appeared more than once.
    case duplicatedHeader(String)
    case unofferedSubprotocol(String)
    /// The server named more than one subprotocol (the value it sent).
    case severalSubprotocols(String)
    case unofferedExtension(String)

    public var description: String {
        switch self {
        case .responseHeadTooLarge(let limit):
            return "response head exceeds \(limit) bytes"
        case .malformedResponse(let why):
            return "malformed response: \(why)"
        case .unexpectedStatus(let status, let reason):
            let answer = reason.isEmpty ? "\(status)" : "\(status) \(reason)"
            return "server answered \(answer) instead of 101 Switching Protocols"
        case .upgradeNotWebSocket(nil):
            return "missing 'Upgrade: websocket' header"
        case .upgradeNotWebSocket(let value?):
            return "'Upgrade' is '\(value)', not 'websocket'"
        case .connectionNotUpgrade(nil):
            return "missing 'Connection: Upgrade' header"
        case .connectionNotUpgrade(.some):
            return "'Connection' does not contain 'upgrade'"
        case .missingAccept:
            return "missing 'Sec-WebSocket-Accept' header"
        case .acceptMismatch(let expected, let got):
            return "Sec-WebSocket-Accept mismatch (expected \(expected), got \(got))"
        case .duplicatedHeader(let name):
            return "duplicated '\(name)' header"
        case .unofferedSubprotocol(let name):
            return "server chose subprotocol '\(name)' that was not offered"
        case .severalSubprotocols(let value):
            return "server chose more than one subprotocol ('\(value)')"
        case .unofferedExtension(let name):
            return "server accepted extension '\(name)' that was not offered"
        }
    }
}

/// A server's response head, copied out of the transport's buffer for the application
/// and for display.
public struct HandshakeResponse: Sendable {
    /// Bytes of the response buffer that were the head. After a 101, the bytes that follow
    /// are the server's first WebSocket frames; after another status, they are its body.
    public var consumed: Int
    public var version: HTTPVersion
    public var status: Int
    public var reason: String
    /// Every header field, in order, as sent.
    public var headers: [(String, String)]
    /// The Sec-WebSocket-Protocol value, if the server sent one.
    public var subprotocol: String?
    /// The Sec-WebSocket-Extensions values, joined with ", ", if the server sent any.
    public var extensions: String?
    /// The raw head text, for an inspector.
    public var head: String

    /// The values of the fields named `name`, ignoring case.
    public func values(of name: String) -> [String] {
        let lowercasedName = name.lowercased()
        return headers.filter { $0.0.lowercased() == lowercasedName }.map(\.1)
    }
}

/// What `ClientHandshake.validateResponse` made of the bytes received so far.
public enum ClientHandshakeOutcome: Sendable {
    /// The response head has not fully arrived: read more, append, call again.
    case needMoreBytes
    /// The server switched to WebSocket. Bytes after `consumed` are WebSocket frames.
    case accepted(HandshakeResponse)
    /// The handshake failed; the parsed response comes along when there was one.
    case failed(HandshakeError, response: HandshakeResponse?)
}

/// One client opening handshake: the request to send and the checks for its answer.
public struct ClientHandshake: Sendable {
    public let target: String
    public let host: String
    public let subprotocols: [String]
    public let extensionOffer: String?
    public let extraHeaders: [(String, String)]
    /// The 16 random bytes behind the key.
    public let nonce: [UInt8]
    /// The Sec-WebSocket-Key value sent.
    public let key: String
    /// The Sec-WebSocket-Accept value a server must answer with.
    public let expectedAccept: String
    /// Every header field of the request, in order, as sent.
    public let requestHeaders: [(String, String)]
    /// The complete request head.
    public let request: [UInt8]
    /// The largest response head accepted.
    public var maxResponseHeadBytes: Int

    /// Offered subprotocols and extension names, as they appear in the request (after any
    /// override through `extraHeaders`).
    private let offeredSubprotocols: [String]
    private let offeredExtensions: [String]

    /// Builds the request `GET target HTTP/1.1` for the Host value `host` (`example.com`
    /// or `example.com:8080`).
    ///
    /// An extra header with the name of one the handshake sends itself (Host, Upgrade,
    /// Connection, Sec-WebSocket-Key, -Version, -Protocol, -Extensions) replaces it, so a
    /// tester can send, say, `Sec-WebSocket-Version: 8`; the response is then checked
    /// against what was actually sent. Other extra headers follow in order. CR, LF and
    /// other control characters in names and values are sent as spaces.
    ///
    /// - Parameter nonce: 16 bytes for the key; by default fresh from
    ///   `SystemRandomNumberGenerator`. Fixed nonces are for tests.
    public init(
        target: String, host: String, subprotocols: [String] = [], extensionOffer: String? = nil,
        extraHeaders: [(String, String)] = [], nonce: [UInt8]? = nil, maxResponseHeadBytes: Int = 8192
    ) {
        var generator = SystemRandomNumberGenerator()
        let nonce = nonce ?? makeWebSocketKeyNonce(using: &generator)
        precondition(nonce.count == webSocketKeyNonceCount, "a Sec-WebSocket-Key nonce is 16 bytes")
        self.target = target
        self.host = host
        self.subprotocols = subprotocols
        self.extensionOffer = extensionOffer
        self.extraHeaders = extraHeaders
        self.nonce = nonce
        self.maxResponseHeadBytes = maxResponseHeadBytes

        var headers: [(String, String)] = [
            ("Host", host),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", Base64.encode(nonce)),
            ("Sec-WebSocket-Version", "13"),
        ]
        if !subprotocols.isEmpty { headers.append(("Sec-WebSocket-Protocol", subprotocols.joined(separator: ", "))) }
        if let extensionOffer { headers.append(("Sec-WebSocket-Extensions", extensionOffer)) }
        var replaced = Set<String>()
        for (name, value) in extraHeaders {
            let lowercasedName = name.lowercased()
            if !replaced.contains(lowercasedName),
                let index = headers.firstIndex(where: { $0.0.lowercased() == lowercasedName })
            {
                headers[index] = (name, value)
                replaced.insert(lowercasedName)
            } else {
                headers.append((name, value))
            }
        }
        self.requestHeaders = headers

        let sentKey = headers.first { $0.0.lowercased() == "sec-websocket-key" }?.1 ?? ""
        self.key = sentKey
        self.expectedAccept = webSocketAccept(key: sentKey.trimmingWhitespace())
        self.offeredSubprotocols = Self.listTokens(of: "sec-websocket-protocol", in: headers)
        self.offeredExtensions = Self.listTokens(of: "sec-websocket-extensions", in: headers)
        self.request = Self.encodeRequest(target: target, headers: headers)
    }

    /// The request head as text.
    public var requestHead: String { String(decoding: request, as: UTF8.self) }

    /// Copies the request into the start of `buffer`; returns its length, or nil (writing
    /// nothing) when it does not fit.
    public func writeRequest(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        guard buffer.count >= request.count else { return nil }
        request.withUnsafeBytes { buffer.copyMemory(from: $0) }
        return request.count
    }

    /// Judges the response bytes received so far (always from the start of the response).
    public func validateResponse(_ response: UnsafeRawBufferPointer) -> ClientHandshakeOutcome {
        let window = response.count > maxResponseHeadBytes ? HTTPHead.slice(response, 0, maxResponseHeadBytes) : response
        switch HTTPResponseHead.parse(window) {
        case .incomplete:
            guard response.count < maxResponseHeadBytes else {
                return .failed(.responseHeadTooLarge(limit: maxResponseHeadBytes), response: nil)
            }
            return .needMoreBytes
        case .malformed(let error):
            return .failed(.malformedResponse(error.description), response: nil)
        case .complete(let head):
            let summary = Self.summarize(head, in: response)
            if let error = check(head) { return .failed(error, response: summary) }
            return .accepted(summary)
        }
    }

    /// Convenience for tests and tools.
    public func validateResponse(_ response: [UInt8]) -> ClientHandshakeOutcome {
        response.withUnsafeBytes { validateResponse($0) }
    }

    // MARK: Checks

    private func check(_ head: HTTPResponseHead) -> HandshakeError? {
        guard head.status == 101 else {
            return .unexpectedStatus(head.status, reason: HTTPHead.string(head.reason))
        }
        guard head.fields.containsToken("websocket", inFieldsNamed: "upgrade") else {
            return .upgradeNotWebSocket(head.fields.first(named: "upgrade").map(HTTPHead.string))
        }
        guard head.fields.containsToken("upgrade", inFieldsNamed: "connection") else {
            return .connectionNotUpgrade(head.fields.first(named: "connection").map(HTTPHead.string))
        }

        switch head.fields.count(named: "sec-websocket-accept") {
        case 0: return .missingAccept
        case 1: break
        default: return .duplicatedHeader("Sec-WebSocket-Accept")
        }
        if let accept = head.fields.first(named: "sec-websocket-accept") {
            let matches = expectedAccept.utf8.withContiguousStorageIfAvailable {
                HTTPHead.equals(accept, UnsafeRawBufferPointer($0))
            } ?? (HTTPHead.string(accept) == expectedAccept)
            if !matches { return .acceptMismatch(expected: expectedAccept, got: HTTPHead.string(accept)) }
        }

        switch head.fields.count(named: "sec-websocket-protocol") {
        case 0: break
        case 1:
            if let value = head.fields.first(named: "sec-websocket-protocol") {
                let chosen = HTTPHead.string(value)
                // Subprotocol names are compared exactly (RFC 6455 section 11.3.4).
                if chosen.utf8.contains(ASCII.comma) { return .severalSubprotocols(chosen) }
                if !offeredSubprotocols.contains(chosen) { return .unofferedSubprotocol(chosen) }
            }
        default: return .duplicatedHeader("Sec-WebSocket-Protocol")
        }

        for accepted in WebSocketExtensionOffers(fields: head.fields) {
            let name = HTTPHead.string(accepted.token)
            if !offeredExtensions.contains(where: { $0.lowercased() == name.lowercased() }) {
                return .unofferedExtension(name)
            }
        }
        return nil
    }

    // MARK: Helpers

    private static func summarize(_ head: HTTPResponseHead, in buffer: UnsafeRawBufferPointer) -> HandshakeResponse {
        let headers = head.fields.strings
        let extensionValues = headers.filter { $0.0.lowercased() == "sec-websocket-extensions" }.map(\.1)
        return HandshakeResponse(
            consumed: head.length,
            version: head.version,
            status: head.status,
            reason: HTTPHead.string(head.reason),
            headers: headers,
            subprotocol: head.fields.first(named: "sec-websocket-protocol").map(HTTPHead.string),
            extensions: extensionValues.isEmpty ? nil : extensionValues.joined(separator: ", "),
            head: HTTPHead.string(HTTPHead.slice(buffer, 0, head.length)))
    }

    /// The list tokens of every header named `lowercaseName`.
    private static func listTokens(of lowercaseName: String, in headers: [(String, String)]) -> [String] {
        var tokens: [String] = []
        for (name, value) in headers where name.lowercased() == lowercaseName {
            var value = value
            value.withUTF8 { bytes in
                for element in HTTPTokenList(UnsafeRawBufferPointer(bytes)) {
                    tokens.append(HTTPHead.string(element.token))
                }
            }
        }
        return tokens
    }

    private static func encodeRequest(target: String, headers: [(String, String)]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256)
        bytes.append(contentsOf: "GET ".utf8)
        if target.isEmpty { bytes.append(UInt8(ascii: "/")) }
        for byte in target.utf8 {
            if ASCII.isTargetCharacter(byte) {
                bytes.append(byte)
            } else {
                // Whitespace and control bytes cannot appear in a request line; send them
                // percent-encoded rather than break the request.
                let digits: StaticString = "0123456789ABCDEF"
                bytes.append(UInt8(ascii: "%"))
                bytes.append(digits.utf8Start[Int(byte >> 4)])
                bytes.append(digits.utf8Start[Int(byte & 0x0F)])
            }
        }
        bytes.append(contentsOf: " HTTP/1.1\r\n".utf8)
        for (name, value) in headers {
            bytes.append(contentsOf: name.utf8.map(sanitized))
            bytes.append(contentsOf: ": ".utf8)
            bytes.append(contentsOf: value.utf8.map(sanitized))
            bytes.append(contentsOf: "\r\n".utf8)
        }
        bytes.append(contentsOf: "\r\n".utf8)
        return bytes
    }

    private static func sanitized(_ byte: UInt8) -> UInt8 {
        ASCII.isFieldValueCharacter(byte) ? byte : ASCII.space
    }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    fileprivate func trimmingWhitespace() -> String {
        var view = Substring(self)
        while let first = view.utf8.first, ASCII.isWhitespace(first) { view = view.dropFirst() }
        while let last = view.utf8.last, ASCII.isWhitespace(last) { view = view.dropLast() }
        return String(view)
    }
}
