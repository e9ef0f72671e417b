import WebSocket
import WebSocketTransport
import WebSocketUtil

/// What a completed opening handshake settled, in the session's words.
public struct HandshakeInfo: Sendable {
    /// The raw request and response heads as text.
    public var request: String
    public var response: String
    public var subprotocol: String?
    public var extensions: String?
}

/// What to do with the bytes the peer sent during the opening handshake.
enum HandshakeStep {
    /// The head has not fully arrived.
    case needMore
    /// Send `bytes`; close TCP afterwards when `closeAfter` (a rejection), reporting
    /// `failure` when set.
    case reply([UInt8], closeAfter: Bool, failure: String?)
    /// The handshake failed; close TCP.
    case failed(String)
    /// The connection is a WebSocket: send `reply` (the server's 101), then the bytes past
    /// `consumed` are frames.
    case open(reply: [UInt8]?, consumed: Int, info: HandshakeInfo, MessageExtension?)
}

/// One side of the opening handshake, fed with everything received so far.
protocol HandshakeDriver: AnyObject {
    var role: Role { get }
    /// The client's request; nil for the server.
    func initialRequest() -> [UInt8]?
    func advance(_ received: UnsafeRawBufferPointer) -> HandshakeStep
}

/// The server side: the core `Upgrader`, with the endpoint's subprotocols, headers and
/// extension negotiator plugged into its callbacks.
final class ServerHandshakeDriver: HandshakeDriver {
    let role = Role.server
    private let options: EndpointOptions
    private var response = [UInt8](repeating: 0, count: 4096)

    init(options: EndpointOptions) {
        self.options = options
    }

    func initialRequest() -> [UInt8]? { nil }

    func advance(_ received: UnsafeRawBufferPointer) -> HandshakeStep {
        var upgrader = Upgrader(extraHeaders: options.extraHeaders)
        let wanted = options.subprotocols
        if !wanted.isEmpty {
            upgrader.chooseProtocol = { token in wanted.contains { $0.utf8.elementsEqual(token) } }
        }
        var makeExtension: (() -> MessageExtension)?
        if let negotiator = options.extensionNegotiator {
            upgrader.negotiateExtensions = { offers in
                let texts = offers.map { String(decoding: $0.text, as: UTF8.self) }
                guard let answer = negotiator.serverNegotiate(offers: texts, role: .server) else { return nil }
                makeExtension = answer.makeExtension
                return answer.response
            }
        }
        while true {
            let outcome = response.withUnsafeMutableBytes { upgrader.upgrade(request: received, response: $0) }
            switch outcome {
            case .needMoreBytes:
                return .needMore
            case .responseBufferTooSmall(let required):
                response = [UInt8](repeating: 0, count: required)
                makeExtension = nil
            case .rejected(let rejection, let length):
                return .reply(Array(response[..<length]), closeAfter: true, failure: rejection.description)
            case .upgraded(let accepted):
                let request = String(decoding: UnsafeRawBufferPointer(rebasing: received[..<accepted.consumed]), as: UTF8.self)
                let reply = Array(response[..<accepted.responseLength])
                let info = HandshakeInfo(
                    request: request, response: String(decoding: reply, as: UTF8.self),
                    subprotocol: accepted.subprotocol(in: received), extensions: accepted.extensions)
                return .open(reply: reply, consumed: accepted.consumed, info: info, makeExtension?())
            }
        }
    }
}

/// The client side: sends the request, then judges the response.
final class ClientHandshakeDriver: HandshakeDriver {
    let role = Role.client
    private let handshake: ClientHandshake
    private let negotiator: ExtensionNegotiator?

    init(url: WebSocketURL, options: EndpointOptions) {
        negotiator = options.extensionNegotiator
        handshake = ClientHandshake(
            target: url.requestTarget, host: url.hostHeader, subprotocols: options.subprotocols,
            extensionOffer: negotiator?.clientOffer(), extraHeaders: options.extraHeaders)
    }

    func initialRequest() -> [UInt8]? { handshake.request }

    func advance(_ received: UnsafeRawBufferPointer) -> HandshakeStep {
        switch handshake.validateResponse(received) {
        case .needMoreBytes:
            return .needMore
        case .failed(let error, _):
            return .failed(error.description)
        case .accepted(let response):
            var messageExtension: MessageExtension?
            if let negotiator {
                do {
                    messageExtension = try negotiator.clientAccept(response: response.extensions, role: .client)
                } catch {
                    return .failed("extension negotiation failed: \(error)")
                }
            } else if let extensions = response.extensions {
                return .failed("server accepted extensions '\(extensions)' that were not offered")
            }
            let info = HandshakeInfo(
                request: handshake.requestHead, response: response.head,
                subprotocol: response.subprotocol, extensions: response.extensions)
            return .open(reply: nil, consumed: response.consumed, info: info, messageExtension)
        }
    }
}
