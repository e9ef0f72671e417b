import WebSocket

// permessage-deflate negotiation (RFC 7692 section 7.1), without zlib.
//
// Window bits: RFC 7692 allows 8...15 on the wire, and this module accepts and answers
// all of them. zlib's raw deflate refuses a 256-byte window (windowBits 8), so our
// *compressor* runs with 9 when 8 was agreed. That still honours the agreement: zlib
// never emits a distance beyond `window size - 262` (its `MAX_DIST`), which for a 512-byte
// window is 250, so every stream it produces decodes with a 256-byte window. Our
// *decompressor* uses exactly the peer's agreed window (zlib inflate does accept 8): the
// peer promised not to exceed it, and a smaller window is the point of asking for one.

/// The agreed outcome of a negotiation: what each side's compressor may do. Values that a
/// response left out take their RFC defaults (context takeover allowed, 15-bit windows).
public struct DeflateParameters: Hashable, Sendable, CustomStringConvertible {
    /// The server resets its compression context after every message.
    public var serverNoContextTakeover: Bool
    /// The client resets its compression context after every message.
    public var clientNoContextTakeover: Bool
    /// Largest LZ77 window (log2) the server compresses with, 8...15.
    public var serverMaxWindowBits: Int
    /// Largest LZ77 window (log2) the client compresses with, 8...15.
    public var clientMaxWindowBits: Int

    public static let windowBitsRange = 8...15

    public init(
        serverNoContextTakeover: Bool = false, clientNoContextTakeover: Bool = false,
        serverMaxWindowBits: Int = 15, clientMaxWindowBits: Int = 15
    ) {
        self.serverNoContextTakeover = serverNoContextTakeover
        self.clientNoContextTakeover = clientNoContextTakeover
        self.serverMaxWindowBits = serverMaxWindowBits
        self.clientMaxWindowBits = clientMaxWindowBits
    }

    /// Whether the compressor of `role` starts every message with an empty window.
    public func noContextTakeover(of role: Role) -> Bool {
        role == .server ? serverNoContextTakeover : clientNoContextTakeover
    }

    /// The window bits the compressor of `role` may use at most.
    public func maxWindowBits(of role: Role) -> Int {
        role == .server ? serverMaxWindowBits : clientMaxWindowBits
    }

    /// A compact summary for inspectors, e.g. `server_no_context_takeover, client_max_window_bits=10`;
    /// defaults are left out.
    public var description: String {
        var parts: [String] = []
        if serverNoContextTakeover { parts.append(PerMessageDeflateConfig.serverNoContextTakeoverName) }
        if clientNoContextTakeover { parts.append(PerMessageDeflateConfig.clientNoContextTakeoverName) }
        if serverMaxWindowBits != 15 { parts.append("\(PerMessageDeflateConfig.serverMaxWindowBitsName)=\(serverMaxWindowBits)") }
        if clientMaxWindowBits != 15 { parts.append("\(PerMessageDeflateConfig.clientMaxWindowBitsName)=\(clientMaxWindowBits)") }
        return parts.isEmpty ? "defaults" : parts.joined(separator: ", ")
    }
}

/// Why an offer was declined (server) or a response rejected (client). On the client every
/// one of these must fail the handshake (RFC 7692 section 7.1: "_Fail the WebSocket
/// Connection_"); on the server they only decline one offer.
public enum DeflateNegotiationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The header does not follow the RFC 6455 section 9.1 grammar.
    case malformedHeader(String)
    /// An element for some other extension was given where permessage-deflate was expected.
    case notPermessageDeflate(String)
    case unknownParameter(String)
    case duplicateParameter(String)
    /// A value where none is allowed, a missing one, or one outside 8...15 / with leading zeros.
    case invalidValue(parameter: String, value: String?)
    /// The response names a parameter the offer did not allow it to (client_max_window_bits).
    case unsolicitedParameter(String)
    /// The response leaves out a parameter whose presence is how a server accepts what we asked.
    case missingParameter(String)
    /// The response raised a window the offer limited.
    case windowBitsAboveOffer(parameter: String, offered: Int, received: Int)
    /// permessage-deflate appears more than once in the response.
    case multipleAcceptances(Int)
    /// A well-formed offer that this endpoint's configuration cannot accept.
    case unsupportedOffer(String)

    public var description: String {
        switch self {
        case .malformedHeader(let reason):
            return "malformed Sec-WebSocket-Extensions header: \(reason)"
        case .notPermessageDeflate(let name):
            return "extension \(name) is not permessage-deflate"
        case .unknownParameter(let name):
            return "unknown permessage-deflate parameter \(name)"
        case .duplicateParameter(let name):
            return "permessage-deflate parameter \(name) appears more than once"
        case .invalidValue(let parameter, let value?):
            return "invalid value \"\(value)\" for \(parameter)"
                + (parameter.hasSuffix("window_bits") ? " (expected 8 to 15)" : " (it takes no value)")
        case .invalidValue(let parameter, nil):
            return "\(parameter) needs a value from 8 to 15"
        case .unsolicitedParameter(let name):
            return "the server sent \(name), which the offer did not include"
        case .missingParameter(let name):
            return "the server left out \(name), which the offer asked for"
        case .windowBitsAboveOffer(let parameter, let offered, let received):
            return "the server answered \(parameter)=\(received), above the offered \(offered)"
        case .multipleAcceptances(let count):
            return "the server accepted permessage-deflate \(count) times"
        case .unsupportedOffer(let reason):
            return "offer not acceptable: \(reason)"
        }
    }
}

/// What this endpoint wants from permessage-deflate. The same value drives either side:
/// a server answers offers with `negotiate(offers:)`, a client sends `offer()` and checks
/// the answer with `accept(response:)`.
public struct PerMessageDeflateConfig: Hashable, Sendable {
    /// Server: always reset our compressor per message and say so. Client: ask the server
    /// to reset its compressor per message (the response must then confirm it).
    public var serverNoContextTakeover: Bool
    /// Server: require the client to reset its compressor per message. Client: declare
    /// that we will, whatever the server answers.
    public var clientNoContextTakeover: Bool
    /// Server: the largest window our compressor uses (offers may lower it). Client: below
    /// 15, ask the server not to exceed it (the response must confirm it).
    public var serverMaxWindowBits: Int
    /// Server: the largest window we let the client compress with; below 15 this is a
    /// hard limit, so an offer that does not let us set `client_max_window_bits` is
    /// declined. Client: the largest window our compressor uses, sent as a hint below 15.
    public var clientMaxWindowBits: Int
    /// Server: accept offers that demand `server_no_context_takeover`. When false, such
    /// offers are declined (for servers that need the better ratio of a shared window).
    public var acceptsServerNoContextTakeover: Bool
    /// Client: include `client_max_window_bits` in the offer, telling the server it may
    /// limit our window. Without it, a response that sets it is rejected.
    public var offersClientMaxWindowBits: Bool

    public static let extensionName = "permessage-deflate"
    static let serverNoContextTakeoverName = "server_no_context_takeover"
    static let clientNoContextTakeoverName = "client_no_context_takeover"
    static let serverMaxWindowBitsName = "server_max_window_bits"
    static let clientMaxWindowBitsName = "client_max_window_bits"

    /// Window bits outside 8...15 are clamped into that range.
    public init(
        serverNoContextTakeover: Bool = false, clientNoContextTakeover: Bool = false,
        serverMaxWindowBits: Int = 15, clientMaxWindowBits: Int = 15,
        acceptsServerNoContextTakeover: Bool = true, offersClientMaxWindowBits: Bool = true
    ) {
        self.serverNoContextTakeover = serverNoContextTakeover
        self.clientNoContextTakeover = clientNoContextTakeover
        self.serverMaxWindowBits = serverMaxWindowBits
        self.clientMaxWindowBits = clientMaxWindowBits
        self.acceptsServerNoContextTakeover = acceptsServerNoContextTakeover
        self.offersClientMaxWindowBits = offersClientMaxWindowBits
    }

    private var ourServerBits: Int { Self.clamp(serverMaxWindowBits) }
    private var ourClientBits: Int { Self.clamp(clientMaxWindowBits) }

    private static func clamp(_ bits: Int) -> Int {
        min(max(bits, DeflateParameters.windowBitsRange.lowerBound), DeflateParameters.windowBitsRange.upperBound)
    }

    // MARK: Server side

    /// Answers the `Sec-WebSocket-Extensions` header values of a request: the first
    /// acceptable permessage-deflate offer wins (clients list them by preference). Nil
    /// declines: send no permessage-deflate in the response. A header that breaks the
    /// grammar is declined as a whole; elements for other extensions are ignored.
    public func negotiate(offers headerValues: [String]) -> (response: String, parameters: DeflateParameters)? {
        guard let elements = try? ExtensionHeader.parse(headerValues) else { return nil }
        return negotiate(offers: elements)
    }

    /// Like `negotiate(offers:)` for already parsed elements.
    public func negotiate(offers elements: [ExtensionElement]) -> (response: String, parameters: DeflateParameters)? {
        for element in elements where element.name == Self.extensionName {
            if let accepted = try? respond(to: element) { return accepted }
        }
        return nil
    }

    /// Answers one offer, or says why it must be declined (RFC 7692 section 5: unknown,
    /// duplicated or invalid parameters, or a configuration we do not support).
    public func respond(to offer: ExtensionElement) throws(DeflateNegotiationError) -> (response: String, parameters: DeflateParameters) {
        guard offer.name == Self.extensionName else { throw .notPermessageDeflate(offer.name) }
        let offered = try OfferedParameters(offer, isResponse: false)
        if offered.serverNoContextTakeover && !acceptsServerNoContextTakeover {
            throw .unsupportedOffer("server_no_context_takeover is not accepted by this server")
        }

        var parameters = DeflateParameters(
            serverNoContextTakeover: offered.serverNoContextTakeover || serverNoContextTakeover,
            // Echoing the client's own declaration is allowed (7.1.1.2) and makes the
            // response state exactly what both sides do.
            clientNoContextTakeover: offered.clientNoContextTakeover || clientNoContextTakeover)
        var response = [ExtensionParameter]()
        if parameters.serverNoContextTakeover { response.append(.init(Self.serverNoContextTakeoverName)) }
        if parameters.clientNoContextTakeover { response.append(.init(Self.clientNoContextTakeoverName)) }

        // 7.1.2.1: accepting an offered server_max_window_bits means answering it with the
        // same or a smaller value; without one in the offer we may still announce ours.
        parameters.serverMaxWindowBits = min(ourServerBits, offered.serverMaxWindowBits ?? 15)
        if offered.serverMaxWindowBits != nil || parameters.serverMaxWindowBits < 15 {
            response.append(.init(Self.serverMaxWindowBitsName, String(parameters.serverMaxWindowBits)))
        }

        // 7.1.2.2: only an offer that carries client_max_window_bits lets us answer it. A
        // value there is the client's promise, so the client uses the smaller of both.
        switch offered.clientMaxWindowBits {
        case .absent:
            if ourClientBits < 15 {
                throw .unsupportedOffer(
                    "the offer lacks client_max_window_bits, needed to limit the client window to \(ourClientBits)")
            }
        case .withoutValue:
            parameters.clientMaxWindowBits = ourClientBits
            if ourClientBits < 15 {
                response.append(.init(Self.clientMaxWindowBitsName, String(ourClientBits)))
            }
        case .value(let hint):
            parameters.clientMaxWindowBits = min(hint, ourClientBits)
            response.append(.init(Self.clientMaxWindowBitsName, String(parameters.clientMaxWindowBits)))
        }
        return (ExtensionElement(name: Self.extensionName, parameters: response).description, parameters)
    }

    // MARK: Client side

    /// The `Sec-WebSocket-Extensions` value a client sends: one offer.
    public func offer() -> String {
        var parameters = [ExtensionParameter]()
        if serverNoContextTakeover { parameters.append(.init(Self.serverNoContextTakeoverName)) }
        if clientNoContextTakeover { parameters.append(.init(Self.clientNoContextTakeoverName)) }
        if ourServerBits < 15 { parameters.append(.init(Self.serverMaxWindowBitsName, String(ourServerBits))) }
        if offersClientMaxWindowBits {
            parameters.append(.init(Self.clientMaxWindowBitsName, ourClientBits < 15 ? String(ourClientBits) : nil))
        }
        return ExtensionElement(name: Self.extensionName, parameters: parameters).description
    }

    /// Checks the server's `Sec-WebSocket-Extensions` answer to `offer()`. Nil: the server
    /// declined, the connection proceeds uncompressed. A thrown error must fail the
    /// handshake. Elements for other extensions are left to whoever offered them.
    public func accept(response headerValue: String) throws(DeflateNegotiationError) -> DeflateParameters? {
        try accept(response: [headerValue])
    }

    /// Like `accept(response:)` for a response that carries several header lines.
    public func accept(response headerValues: [String]) throws(DeflateNegotiationError) -> DeflateParameters? {
        let accepted = try ExtensionHeader.parse(headerValues).filter { $0.name == Self.extensionName }
        guard let element = accepted.first else { return nil }
        guard accepted.count == 1 else { throw .multipleAcceptances(accepted.count) }
        let answer = try OfferedParameters(element, isResponse: true)

        if serverNoContextTakeover && !answer.serverNoContextTakeover {
            throw .missingParameter(Self.serverNoContextTakeoverName)
        }
        if ourServerBits < 15 {
            guard let granted = answer.serverMaxWindowBits else {
                throw .missingParameter(Self.serverMaxWindowBitsName)
            }
            if granted > ourServerBits {
                throw .windowBitsAboveOffer(parameter: Self.serverMaxWindowBitsName, offered: ourServerBits, received: granted)
            }
        }
        var parameters = DeflateParameters(
            serverNoContextTakeover: answer.serverNoContextTakeover,
            clientNoContextTakeover: answer.clientNoContextTakeover || clientNoContextTakeover,
            serverMaxWindowBits: answer.serverMaxWindowBits ?? 15,
            clientMaxWindowBits: ourClientBits)
        switch answer.clientMaxWindowBits {
        case .absent:
            break
        case .withoutValue:
            // OfferedParameters rejects this form in a response; kept for exhaustiveness.
            throw .invalidValue(parameter: Self.clientMaxWindowBitsName, value: nil)
        case .value(let limit):
            guard offersClientMaxWindowBits else { throw .unsolicitedParameter(Self.clientMaxWindowBitsName) }
            // A larger value than our hint is allowed (7.1.2.2); we keep to our hint.
            parameters.clientMaxWindowBits = min(limit, ourClientBits)
        }
        return parameters
    }
}

/// The permessage-deflate parameters of one element, checked against RFC 7692 section 7.1:
/// known names only, each at most once, flags without values, window bits 8...15 written
/// without leading zeros, and `client_max_window_bits` bare only in an offer.
struct OfferedParameters {
    enum ClientWindowBits: Equatable {
        case absent
        /// Offer only: "I support the parameter; pick a value".
        case withoutValue
        case value(Int)
    }

    var serverNoContextTakeover = false
    var clientNoContextTakeover = false
    var serverMaxWindowBits: Int?
    var clientMaxWindowBits = ClientWindowBits.absent

    init(_ element: ExtensionElement, isResponse: Bool) throws(DeflateNegotiationError) {
        var seen = Set<String>()
        for parameter in element.parameters {
            guard seen.insert(parameter.name).inserted else { throw .duplicateParameter(parameter.name) }
            switch parameter.name {
            case PerMessageDeflateConfig.serverNoContextTakeoverName:
                guard parameter.value == nil else { throw .invalidValue(parameter: parameter.name, value: parameter.value) }
                serverNoContextTakeover = true
            case PerMessageDeflateConfig.clientNoContextTakeoverName:
                guard parameter.value == nil else { throw .invalidValue(parameter: parameter.name, value: parameter.value) }
                clientNoContextTakeover = true
            case PerMessageDeflateConfig.serverMaxWindowBitsName:
                serverMaxWindowBits = try Self.windowBits(parameter)
            case PerMessageDeflateConfig.clientMaxWindowBitsName:
                if parameter.value == nil && !isResponse {
                    clientMaxWindowBits = .withoutValue
                } else {
                    clientMaxWindowBits = .value(try Self.windowBits(parameter))
                }
            default:
                throw .unknownParameter(parameter.name)
            }
        }
    }

    /// 8...15 as plain decimal: `Int("+9")` and `Int("09")` parse, so compare the round trip.
    private static func windowBits(_ parameter: ExtensionParameter) throws(DeflateNegotiationError) -> Int {
        guard let text = parameter.value, let bits = Int(text), String(bits) == text,
            DeflateParameters.windowBitsRange.contains(bits)
        else { throw .invalidValue(parameter: parameter.name, value: parameter.value) }
        return bits
    }
}
