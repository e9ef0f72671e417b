/// The server side of the opening handshake (RFC 6455 section 4.2) as a sans-I/O codec:
/// the transport hands in the bytes it has read, the `Upgrader` parses them in place,
/// asks the application through callbacks, and writes the 101 or error response into the
/// transport's buffer. Modelled on the `Upgrader` of Go's gobwas/ws.

// MARK: - Rejection

/// A refusal to upgrade: the status, reason phrase, extra headers and body of the HTTP
/// response that tells the client why. Callbacks throw it to turn a client away.
public struct HandshakeRejection: Error, Sendable, CustomStringConvertible {
    public var status: Int
    /// The reason phrase of the status line.
    public var reason: String
    /// Written after the `Connection: close`, `Content-Type` and `Content-Length` headers
    /// the upgrader always sends with a rejection.
    public var headers: [(String, String)]
    /// A short plain-text body.
    public var body: String

    /// `reason` defaults to the standard phrase for `status`, `body` to `reason`.
    public init(status: Int, reason: String? = nil, headers: [(String, String)] = [], body: String? = nil) {
        let reason = reason ?? HTTPHead.reasonPhrase(status: status)
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body ?? reason
    }

    /// For example "400 Bad Request: missing Host header".
    public var description: String {
        body == reason ? "\(status) \(reason)" : "\(status) \(reason): \(body)"
    }

    static func badRequest(_ why: String) -> HandshakeRejection {
        HandshakeRejection(status: 400, body: why)
    }
}

// MARK: - Outcome

/// What `Upgrader.upgrade` did with the bytes it was given.
public enum UpgradeOutcome: Sendable {
    /// The request head has not fully arrived and is still under the size limit: read
    /// more, append, and call again with the whole request so far.
    case needMoreBytes
    /// The connection is a WebSocket now. Send the first `responseLength` bytes of the
    /// response buffer.
    case upgraded(AcceptedUpgrade)
    /// The request was refused. Send the first `responseLength` bytes of the response
    /// buffer, then close the connection.
    case rejected(HandshakeRejection, responseLength: Int)
    /// The response needs `required` bytes and the response buffer is smaller. Nothing
    /// usable was written; callbacks have already run once.
    case responseBufferTooSmall(required: Int)
}

/// The result of a successful upgrade. Ranges index the request buffer.
public struct AcceptedUpgrade: Sendable, Hashable {
    /// Bytes of the request that were the handshake. Bytes after these are the client's
    /// first WebSocket frames and belong to the caller.
    public var consumed: Int
    /// Bytes of the 101 response written at the start of the response buffer.
    public var responseLength: Int
    /// Where the request-target (`/chat?room=1`) sits in the request buffer.
    public var target: Range<Int>
    /// Where the chosen subprotocol token sits in the request buffer, if one was chosen.
    public var subprotocol: Range<Int>?
    /// The Sec-WebSocket-Extensions value sent back, if extensions were negotiated.
    public var extensions: String?

    public func target(in request: UnsafeRawBufferPointer) -> String {
        HTTPHead.string(HTTPHead.slice(request, target.lowerBound, target.upperBound))
    }

    public func subprotocol(in request: UnsafeRawBufferPointer) -> String? {
        subprotocol.map { HTTPHead.string(HTTPHead.slice(request, $0.lowerBound, $0.upperBound)) }
    }
}

/// Every extension offered in a request: the elements of all its Sec-WebSocket-Extensions
/// header fields, in order (`permessage-deflate; client_max_window_bits`, then the next
/// offer, and so on).
public struct WebSocketExtensionOffers: Sequence {
    public let fields: HTTPHeaderFields

    public init(fields: HTTPHeaderFields) { self.fields = fields }

    public struct Iterator: IteratorProtocol {
        var fields: HTTPHeaderFields.Iterator
        var offers: HTTPTokenList.Iterator?

        public mutating func next() -> HTTPListElement? {
            while true {
                if let offer = offers?.next() { return offer }
                guard let field = fields.next() else { return nil }
                if field.hasName("sec-websocket-extensions") { offers = HTTPTokenList(field.value).makeIterator() }
            }
        }
    }

    public func makeIterator() -> Iterator { Iterator(fields: fields.makeIterator(), offers: nil) }
}

// MARK: - Upgrader

/// Checks a client's opening handshake and writes the server's answer.
///
/// Every callback gets slices of the request buffer that are valid only during the call,
/// and may throw a `HandshakeRejection` to refuse the client with that response (any other
/// error is answered with a bare 500, so internal details never reach the client). They run
/// in the order of the request: `onRequest`, then for each header field in turn `onHost`,
/// `chooseProtocol`, `onExtensionOffer` or `onHeader`, then `negotiateExtensions` and
/// `onBeforeUpgrade` once the request is known to be a valid WebSocket handshake.
///
/// Without `negotiateExtensions` and `onBeforeUpgrade`, a successful upgrade allocates
/// nothing.
public struct Upgrader {
    /// The largest request head accepted; a longer one is refused with 431.
    public var maxHeaderBytes: Int

    /// Sees the request-target, such as `/chat?room=1`.
    public var onRequest: ((_ target: UnsafeRawBufferPointer) throws -> Void)?
    /// Sees the Host header value.
    public var onHost: ((_ host: UnsafeRawBufferPointer) throws -> Void)?
    /// Sees every header field the upgrader does not interpret itself (all but Host,
    /// Upgrade, Connection and the Sec-WebSocket-* fields).
    public var onHeader: ((_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Void)?
    /// Called with each offered subprotocol in the client's order of preference until it
    /// returns true; that one is chosen. Without it no subprotocol is chosen.
    public var chooseProtocol: ((_ token: UnsafeRawBufferPointer) -> Bool)?
    /// Called with the value of each Sec-WebSocket-Extensions field (one value may carry
    /// several offers); lets an application gather state across fields before
    /// `negotiateExtensions` answers.
    public var onExtensionOffer: ((_ value: UnsafeRawBufferPointer) throws -> Void)?
    /// Called once, when the request offered extensions, with every offer from every
    /// field. Returns the Sec-WebSocket-Extensions value to send back, or nil to decline
    /// them all.
    public var negotiateExtensions: ((_ offers: WebSocketExtensionOffers) throws -> String?)?
    /// Header fields added to every 101 response.
    public var extraHeaders: [(String, String)]
    /// Called last, before the 101 response is written; returns more header fields for it
    /// (cookies, say) or throws to refuse the client.
    public var onBeforeUpgrade: ((_ request: HTTPRequestHead) throws -> [(String, String)])?

    public init(maxHeaderBytes: Int = 8192, extraHeaders: [(String, String)] = []) {
        self.maxHeaderBytes = maxHeaderBytes
        self.extraHeaders = extraHeaders
    }

    /// Handles the request bytes received so far (always from the start of the request)
    /// and writes the response into `response`.
    public func upgrade(request: UnsafeRawBufferPointer, response: UnsafeMutableRawBufferPointer) -> UpgradeOutcome {
        // Never look past the limit, so a peer cannot make us scan more than that.
        let window = request.count > maxHeaderBytes ? HTTPHead.slice(request, 0, maxHeaderBytes) : request
        let head: HTTPRequestHead
        switch HTTPRequestHead.parse(window) {
        case .incomplete:
            guard request.count < maxHeaderBytes else {
                return reject(HandshakeRejection(status: 431, body: "request head exceeds \(maxHeaderBytes) bytes"), into: response)
            }
            return .needMoreBytes
        case .malformed(let error):
            return reject(.badRequest(error.description), into: response)
        case .complete(let parsed):
            head = parsed
        }

        do {
            let agreement = try negotiate(head)
            return accept(agreement, head: head, request: request, into: response)
        } catch let rejection as HandshakeRejection {
            return reject(rejection, into: response)
        } catch {
            // A callback failed with something other than a rejection: the server's fault,
            // and its details are none of the client's business.
            return reject(HandshakeRejection(status: 500), into: response)
        }
    }

    /// Convenience for tests and tools: upgrades from an array and returns the response bytes.
    public func upgrade(request: [UInt8], responseCapacity: Int = 4096) -> (UpgradeOutcome, response: [UInt8]) {
        var response = [UInt8](repeating: 0, count: responseCapacity)
        let outcome = request.withUnsafeBytes { requestBytes in
            response.withUnsafeMutableBytes { upgrade(request: requestBytes, response: $0) }
        }
        switch outcome {
        case .upgraded(let accepted): response.removeSubrange(accepted.responseLength...)
        case .rejected(_, let length): response.removeSubrange(length...)
        case .needMoreBytes, .responseBufferTooSmall: response.removeAll()
        }
        return (outcome, response)
    }

    // MARK: Checks

    /// What the checks agreed on, as slices of the request.
    private struct Agreement {
        var key: UnsafeRawBufferPointer
        var subprotocol: UnsafeRawBufferPointer?
        var extensions: String?
        var headersFromCallback: [(String, String)]?
    }

    private func negotiate(_ head: HTTPRequestHead) throws -> Agreement {
        guard HTTPHead.equals(head.method, "GET") else {
            throw HandshakeRejection(status: 405, headers: [("Allow", "GET")], body: "the WebSocket handshake must be a GET request")
        }
        guard head.version >= .http1_1 else {
            throw HandshakeRejection(status: 505, body: "the WebSocket handshake needs HTTP/1.1 or later, not \(head.version)")
        }
        try onRequest?(head.target)

        var sawHost = false
        var upgradesToWebSocket = false
        var connectionUpgrades = false
        var key: UnsafeRawBufferPointer?
        var version: UnsafeRawBufferPointer?
        var subprotocol: UnsafeRawBufferPointer?
        var sawExtensionOffer = false

        for field in head.fields {
            switch HandshakeHeaderName(field.name) {
            case .host:
                guard !sawHost else { throw HandshakeRejection.badRequest("duplicated Host header") }
                sawHost = true
                try onHost?(field.value)
            case .upgrade:
                if HTTPTokenList(field.value).containsToken("websocket") { upgradesToWebSocket = true }
            case .connection:
                if HTTPTokenList(field.value).containsToken("upgrade") { connectionUpgrades = true }
            case .key:
                guard key == nil else { throw HandshakeRejection.badRequest("duplicated Sec-WebSocket-Key header") }
                key = field.value
            case .version:
                guard version == nil else { throw HandshakeRejection.badRequest("duplicated Sec-WebSocket-Version header") }
                version = field.value
            case .protocol:
                guard subprotocol == nil, let chooseProtocol else { break }
                for offer in HTTPTokenList(field.value) where chooseProtocol(offer.token) {
                    subprotocol = offer.token
                    break
                }
            case .extensions:
                sawExtensionOffer = true
                try onExtensionOffer?(field.value)
            case .other:
                try onHeader?(field.name, field.value)
            }
        }

        guard sawHost else { throw HandshakeRejection.badRequest("missing Host header") }
        guard upgradesToWebSocket else { throw HandshakeRejection.badRequest("missing 'Upgrade: websocket' header") }
        guard connectionUpgrades else { throw HandshakeRejection.badRequest("'Connection' header does not contain 'upgrade'") }
        guard let version, HTTPHead.equals(version, "13") else {
            throw HandshakeRejection(
                status: 426, headers: [("Sec-WebSocket-Version", "13"), ("Upgrade", "websocket")],
                body: version == nil ? "missing Sec-WebSocket-Version header; this server speaks version 13"
                    : "unsupported Sec-WebSocket-Version; this server speaks version 13")
        }
        guard let key else { throw HandshakeRejection.badRequest("missing Sec-WebSocket-Key header") }
        guard isValidWebSocketKey(key) else { throw HandshakeRejection.badRequest("Sec-WebSocket-Key is not base64 of 16 bytes") }

        var extensions: String?
        if sawExtensionOffer, let negotiateExtensions {
            extensions = try negotiateExtensions(WebSocketExtensionOffers(fields: head.fields))
        }
        let headersFromCallback = try onBeforeUpgrade?(head)
        return Agreement(key: key, subprotocol: subprotocol, extensions: extensions, headersFromCallback: headersFromCallback)
    }

    // MARK: Responses

    private func accept(
        _ agreement: Agreement, head: HTTPRequestHead, request: UnsafeRawBufferPointer,
        into response: UnsafeMutableRawBufferPointer
    ) -> UpgradeOutcome {
        var writer = HandshakeWriter(response)
        writer.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ")
        writer.writeInPlace(byteCount: webSocketAcceptKeyCount) { _ = webSocketAcceptKey(for: agreement.key, into: $0) }
        writer.write("\r\n")
        if let subprotocol = agreement.subprotocol {
            writer.write("Sec-WebSocket-Protocol: ")
            writer.writeHeaderText(subprotocol)
            writer.write("\r\n")
        }
        if let extensions = agreement.extensions {
            writer.writeHeader("Sec-WebSocket-Extensions", extensions)
        }
        for (name, value) in extraHeaders { writer.writeHeader(name, value) }
        if let headers = agreement.headersFromCallback {
            for (name, value) in headers { writer.writeHeader(name, value) }
        }
        writer.write("\r\n")
        guard !writer.overflowed else { return .responseBufferTooSmall(required: writer.count) }

        return .upgraded(
            AcceptedUpgrade(
                consumed: head.length,
                responseLength: writer.count,
                target: Self.range(of: head.target, in: request),
                subprotocol: agreement.subprotocol.map { Self.range(of: $0, in: request) },
                extensions: agreement.extensions))
    }

    private func reject(_ rejection: HandshakeRejection, into response: UnsafeMutableRawBufferPointer) -> UpgradeOutcome {
        var writer = HandshakeWriter(response)
        writer.write("HTTP/1.1 ")
        writer.writeDecimal(rejection.status)
        writer.write(byte: ASCII.space)
        writer.writeHeaderText(rejection.reason)
        writer.write("\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ")
        writer.writeDecimal(rejection.body.utf8.count)
        writer.write("\r\n")
        for (name, value) in rejection.headers { writer.writeHeader(name, value) }
        writer.write("\r\n")
        writer.write(rejection.body)
        guard !writer.overflowed else { return .responseBufferTooSmall(required: writer.count) }
        return .rejected(rejection, responseLength: writer.count)
    }

    /// The position of `slice`, a piece of `buffer`, as a range of offsets into `buffer`.
    private static func range(of slice: UnsafeRawBufferPointer, in buffer: UnsafeRawBufferPointer) -> Range<Int> {
        let start = Int(bitPattern: slice.baseAddress) &- Int(bitPattern: buffer.baseAddress)
        return start..<(start &+ slice.count)
    }
}

/// The header fields the upgrader interprets, recognised by length first so that most
/// names cost one comparison.
enum HandshakeHeaderName {
    case host, upgrade, connection, key, version, `protocol`, extensions, other

    init(_ name: UnsafeRawBufferPointer) {
        switch name.count {
        case 4 where HTTPHead.equalsIgnoringCase(name, "host"): self = .host
        case 7 where HTTPHead.equalsIgnoringCase(name, "upgrade"): self = .upgrade
        case 10 where HTTPHead.equalsIgnoringCase(name, "connection"): self = .connection
        case 17 where HTTPHead.equalsIgnoringCase(name, "sec-websocket-key"): self = .key
        case 21 where HTTPHead.equalsIgnoringCase(name, "sec-websocket-version"): self = .version
        case 22 where HTTPHead.equalsIgnoringCase(name, "sec-websocket-protocol"): self = .protocol
        case 24 where HTTPHead.equalsIgnoringCase(name, "sec-websocket-extensions"): self = .extensions
        default: self = .other
        }
    }
}
