// Plain data, free of OpenSSL: the fuzzers build Inspector's recording code against this
// file alone (scripts/fuzz.sh), since a recording can hold a "tls" event.

/// What a TLS handshake settled on.
public struct TLSInfo: Sendable, Equatable, CustomStringConvertible {
    /// "TLSv1.3", "TLSv1.2".
    public var version: String
    /// "TLS_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES128-GCM-SHA256".
    public var cipher: String
    /// The protocol chosen with ALPN, if any.
    public var alpn: String?
    /// SNI: what the client sent (on a client: what we sent; nil for IP addresses).
    public var serverName: String?
    /// The peer certificate's subject and issuer ("CN=localhost,O=Example"), nil when the
    /// peer sent none (a client without a certificate). Peer data: escape before display.
    public var peerSubject: String?
    public var peerIssuer: String?
    /// The peer's certificate was verified (false with `insecure`, and on a server that
    /// does not ask for client certificates).
    public var verified: Bool

    public init(version: String, cipher: String, alpn: String? = nil, serverName: String? = nil,
                peerSubject: String? = nil, peerIssuer: String? = nil, verified: Bool) {
        self.version = version
        self.cipher = cipher
        self.alpn = alpn
        self.serverName = serverName
        self.peerSubject = peerSubject
        self.peerIssuer = peerIssuer
        self.verified = verified
    }

    /// "TLSv1.3 TLS_AES_256_GCM_SHA384, ALPN http/1.1, certificate CN=localhost (verified)".
    public var description: String {
        var text = "\(version) \(cipher)"
        if let alpn { text += ", ALPN \(alpn)" }
        if let peerSubject {
            text += ", certificate \(peerSubject)" + (verified ? " (verified)" : " (not verified)")
        }
        return text
    }
}
