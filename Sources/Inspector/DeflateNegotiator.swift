import WebSocket
import WebSocketDeflate
import WebSocketUtil

/// permessage-deflate for the endpoints (`--deflate`): the one place where the session
/// code meets the deflate target.
public struct DeflateNegotiator: ExtensionNegotiator {
    public var config: PerMessageDeflateConfig

    public init(config: PerMessageDeflateConfig = PerMessageDeflateConfig()) {
        self.config = config
    }

    public func clientOffer() -> String { config.offer() }

    public func clientAccept(response: String?, role: Role) throws -> MessageExtension? {
        guard let response else { return nil }
        guard let parameters = try config.accept(response: response) else { return nil }
        return PerMessageDeflate(parameters: parameters, role: role)
    }

    public func serverNegotiate(offers: [String], role: Role) -> (response: String, makeExtension: () -> MessageExtension)? {
        guard let (response, parameters) = config.negotiate(offers: offers) else { return nil }
        return (response, { PerMessageDeflate(parameters: parameters, role: role) })
    }
}

/// A `--deflate-params` value that cannot be used.
public struct DeflateParametersError: Error, CustomStringConvertible {
    public var description: String
}

extension DeflateNegotiator {
    /// Reads parameters in the header's own syntax, e.g.
    /// `server_no_context_takeover; client_max_window_bits=10`.
    public init(parameters text: String) throws(DeflateParametersError) {
        let elements: [ExtensionElement]
        do {
            elements = try ExtensionHeader.parse("\(PerMessageDeflateConfig.extensionName); \(text)")
        } catch {
            throw DeflateParametersError(description: "bad --deflate-params '\(text)': \(error)")
        }
        var config = PerMessageDeflateConfig()
        var seen = Set<String>()
        for parameter in elements.first?.parameters ?? [] {
            guard seen.insert(parameter.name).inserted else {
                throw DeflateParametersError(description: "--deflate-params: '\(parameter.name)' given twice")
            }
            switch parameter.name {
            case "server_no_context_takeover", "client_no_context_takeover":
                guard parameter.value == nil else {
                    throw DeflateParametersError(description: "--deflate-params: '\(parameter.name)' takes no value")
                }
                if parameter.name.hasPrefix("server") {
                    config.serverNoContextTakeover = true
                } else {
                    config.clientNoContextTakeover = true
                }
            case "server_max_window_bits", "client_max_window_bits":
                guard let value = parameter.value, let bits = Int(value), DeflateParameters.windowBitsRange.contains(bits) else {
                    throw DeflateParametersError(description: "--deflate-params: '\(parameter.name)' needs a value from 8 to 15")
                }
                if parameter.name.hasPrefix("server") {
                    config.serverMaxWindowBits = bits
                } else {
                    config.clientMaxWindowBits = bits
                }
            default:
                throw DeflateParametersError(description: "--deflate-params: unknown parameter '\(parameter.name)'")
            }
        }
        guard elements.count == 1 else {
            throw DeflateParametersError(description: "--deflate-params: one set of parameters only (no commas)")
        }
        self.init(config: config)
    }
}

/// Inflates the compressed messages of a recording for views that show payloads as the
/// application saw them (HAR export): one inflater per connection and direction, set up
/// from the extensions each connection negotiated, fed in recording order so that
/// context takeover works.
public final class RecordingInflater {
    private var parameters: [Int: DeflateParameters] = [:]
    private var inflaters: [Int: [Direction: PerMessageDeflate]] = [:]
    /// The side wscope played: its peer's frames are `.incoming`.
    private let ourRole: Role
    public static let messageLimit = 256 << 20

    /// `mode` is the recording header's (`listen` means wscope was the server).
    public init(mode: String) {
        ourRole = mode == "listen" ? .server : .client
    }

    /// Notes what a connection negotiated (from its `open` event).
    public func opened(connection: Int, extensions: String?) {
        guard let extensions,
              let negotiated = try? PerMessageDeflateConfig(offersClientMaxWindowBits: true).accept(response: extensions)
        else { return }
        parameters[connection] = negotiated
    }

    public func inflate(connection: Int, direction: Direction, compressed: [UInt8]) -> [UInt8]? {
        // Without a negotiated extension RSV1 means nothing: the payload is what it is.
        guard let negotiated = parameters[connection] else { return compressed }
        // Incoming frames were compressed by the peer: inflate them as we did.
        let role: Role = direction == .incoming ? ourRole : (ourRole == .client ? .server : .client)
        let inflater: PerMessageDeflate
        if let existing = inflaters[connection]?[direction] {
            inflater = existing
        } else {
            inflater = PerMessageDeflate(parameters: negotiated, role: role)
            inflaters[connection, default: [:]][direction] = inflater
        }
        var output: [UInt8] = []
        let failure = compressed.withUnsafeBytes {
            inflater.decompress($0, isFinal: true, into: &output, limit: Self.messageLimit)
        }
        return failure == nil ? output : nil
    }
}
