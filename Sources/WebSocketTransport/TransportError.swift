import Glibc

/// A transport failure as one clear human line ("connection refused by 127.0.0.1:9"),
/// with a `kind` for code that needs to react to it and the errno when there is one.
public struct TransportError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case connectionRefused
        case timedOut
        case unresolvable
        case addressInUse
        case addressNotAvailable
        case permissionDenied
        case unreachable
        case connectionReset
        case brokenPipe
        /// TLS: the handshake failed (certificate verification, no common protocol, an
        /// alert from the peer), a record was bad, or a certificate or key would not load.
        case tls
        case system
    }

    public let kind: Kind
    /// The errno behind the failure, 0 when there is none (timeouts, name resolution).
    public let code: Int32
    public let description: String

    public init(_ kind: Kind, code: Int32 = 0, _ description: String) {
        self.kind = kind
        self.code = code
        self.description = description
    }

    /// A failure on an established connection (read, write, socket error).
    static func io(_ code: Int32) -> TransportError {
        switch code {
        case ECONNRESET: return TransportError(.connectionReset, code: code, "connection reset by peer")
        case EPIPE: return TransportError(.brokenPipe, code: code, "connection closed by peer while sending")
        case ETIMEDOUT: return TransportError(.timedOut, code: code, "connection timed out")
        case EHOSTUNREACH, ENETUNREACH:
            return TransportError(.unreachable, code: code, "connection lost: \(systemMessage(code))")
        default: return TransportError(.system, code: code, "connection failed: \(systemMessage(code))")
        }
    }

    /// A failed connect to `address` ("127.0.0.1:9").
    static func connect(_ code: Int32, address: String) -> TransportError {
        switch code {
        case ECONNREFUSED: return TransportError(.connectionRefused, code: code, "connection refused by \(address)")
        case ETIMEDOUT: return TransportError(.timedOut, code: code, "connection to \(address) timed out")
        case ENETUNREACH: return TransportError(.unreachable, code: code, "network unreachable for \(address)")
        case EHOSTUNREACH: return TransportError(.unreachable, code: code, "host \(address) unreachable")
        case EACCES, EPERM:
            return TransportError(.permissionDenied, code: code, "connection to \(address) not permitted: \(systemMessage(code))")
        case EADDRNOTAVAIL:
            return TransportError(.addressNotAvailable, code: code, "cannot connect to \(address): no local address or port available")
        default: return TransportError(.system, code: code, "cannot connect to \(address): \(systemMessage(code))")
        }
    }

    /// A failed bind or listen on `address`.
    static func listen(_ code: Int32, address: String, port: Int) -> TransportError {
        switch code {
        case EADDRINUSE: return TransportError(.addressInUse, code: code, "address \(address) already in use")
        case EACCES, EPERM:
            let hint = port > 0 && port < 1024 ? " (ports below 1024 need privileges)" : ""
            return TransportError(.permissionDenied, code: code, "permission denied to listen on \(address)\(hint)")
        case EADDRNOTAVAIL:
            return TransportError(.addressNotAvailable, code: code, "cannot listen on \(address): address not available on this machine")
        default: return TransportError(.system, code: code, "cannot listen on \(address): \(systemMessage(code))")
        }
    }
}
