import COpenSSL
import Glibc

/// How a TLS client connects (`wss://`).
public struct TLSClientConfiguration: Sendable {
    /// The name sent in SNI and checked against the server's certificate (a DNS name or
    /// an IP address; an IP address is checked but not sent, as RFC 6066 asks). nil:
    /// `TLSConnector` uses the host it connects to.
    public var serverName: String?
    /// PEM file of the certificate authorities to trust instead of the system's store
    /// (`--cacert`).
    public var caFile: String?
    /// No verification at all: any certificate, any name (`--insecure`). SNI is still sent.
    public var insecure: Bool
    /// A client certificate (PEM, may hold its chain) and its private key (PEM,
    /// unencrypted), for servers that ask for one. Both or neither.
    public var certificateFile: String?
    public var privateKeyFile: String?
    /// ALPN protocols to offer, in order of preference, e.g. ["http/1.1"]; empty offers none.
    public var alpn: [String]

    public init(serverName: String? = nil, caFile: String? = nil, insecure: Bool = false,
                certificateFile: String? = nil, privateKeyFile: String? = nil, alpn: [String] = []) {
        self.serverName = serverName
        self.caFile = caFile
        self.insecure = insecure
        self.certificateFile = certificateFile
        self.privateKeyFile = privateKeyFile
        self.alpn = alpn
    }
}

/// How a TLS server accepts (`--tls-cert`, `--tls-key`).
public struct TLSServerConfiguration: Sendable {
    /// PEM file: the server's certificate first, then any intermediates.
    public var certificateFile: String
    /// PEM file with the certificate's private key (unencrypted).
    public var privateKeyFile: String
    /// When set, clients must present a certificate issued by one of the authorities in
    /// this PEM file.
    public var clientCAFile: String?
    /// ALPN protocols the server accepts, in order of preference; a client offering none
    /// of them is served without ALPN.
    public var alpn: [String]

    public init(certificateFile: String, privateKeyFile: String, clientCAFile: String? = nil, alpn: [String] = []) {
        self.certificateFile = certificateFile
        self.privateKeyFile = privateKeyFile
        self.clientCAFile = clientCAFile
        self.alpn = alpn
    }
}

/// An OpenSSL `SSL_CTX` built once from a configuration and shared by every connection
/// made with it. Immutable once built (OpenSSL allows creating sessions from one context
/// on several threads); frees the context when the last reference goes.
public final class TLSContext: @unchecked Sendable {
    public enum Role: Sendable { case client, server }

    public let role: Role
    let context: OpaquePointer
    /// Client: the configuration's server name, used when a connection names none.
    let defaultServerName: String?
    /// Client: verify the server (chain and name). Server: require a client certificate.
    let verifiesPeer: Bool
    /// Server ALPN list handed to the C select callback; owned here.
    private let alpnSelection: UnsafeMutableRawPointer?

    /// Loads the client settings: trust store (`caFile` or the system's), client
    /// certificate. Throws a `.tls` error with one line such as "cannot read CA file
    /// 'ca.pem': No such file or directory".
    public init(client configuration: TLSClientConfiguration) throws(TransportError) {
        if (configuration.certificateFile == nil) != (configuration.privateKeyFile == nil) {
            throw TransportError(.tls, "a client certificate needs both a certificate file and a private key file")
        }
        let context = try Self.makeContext(server: false)
        do throws(TransportError) {
            if configuration.insecure {
                SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
            } else {
                SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
                if let caFile = configuration.caFile {
                    try Self.loadTrust(context, file: caFile, what: "CA file")
                } else if SSL_CTX_set_default_verify_paths(context) != 1 {
                    throw TransportError(.tls, "cannot load the system's trusted certificates: \(OpenSSLError.take()?.text ?? "unknown error")")
                }
            }
            if let certificateFile = configuration.certificateFile, let keyFile = configuration.privateKeyFile {
                try Self.loadIdentity(context, certificate: certificateFile, key: keyFile)
            }
            if !configuration.alpn.isEmpty {
                let wire = try Self.alpnWire(configuration.alpn)
                // Returns 0 on success, unlike the rest of OpenSSL.
                if SSL_CTX_set_alpn_protos(context, wire, UInt32(wire.count)) != 0 {
                    throw TransportError(.tls, "cannot set the ALPN protocols")
                }
            }
        } catch {
            SSL_CTX_free(context)
            ERR_clear_error()
            throw error
        }
        self.role = .client
        self.context = context
        self.defaultServerName = configuration.serverName
        self.verifiesPeer = !configuration.insecure
        self.alpnSelection = nil
    }

    /// Loads the certificate chain and private key and checks that they match. Throws a
    /// `.tls` error with one line such as "cannot read certificate 'x.pem': No such file
    /// or directory" or "private key does not match certificate ('k.pem', 'c.pem')".
    public init(server configuration: TLSServerConfiguration) throws(TransportError) {
        let context = try Self.makeContext(server: true)
        var selection: UnsafeMutableRawPointer?
        do throws(TransportError) {
            try Self.loadIdentity(context, certificate: configuration.certificateFile, key: configuration.privateKeyFile)
            if let clientCAFile = configuration.clientCAFile {
                try Self.loadTrust(context, file: clientCAFile, what: "client CA file")
                if let names = SSL_load_client_CA_file(clientCAFile) {
                    SSL_CTX_set_client_CA_list(context, names)  // takes ownership
                }
                SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
            } else {
                SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
            }
            if !configuration.alpn.isEmpty {
                let wire = try Self.alpnWire(configuration.alpn)
                let buffer = UnsafeMutableRawPointer.allocate(byteCount: wire.count + 2, alignment: 1)
                buffer.storeBytes(of: UInt8(wire.count >> 8), as: UInt8.self)
                buffer.storeBytes(of: UInt8(wire.count & 0xff), toByteOffset: 1, as: UInt8.self)
                wire.withUnsafeBytes { (buffer + 2).copyMemory(from: $0.baseAddress!, byteCount: wire.count) }
                selection = buffer
                wscope_ssl_ctx_set_alpn_select(context, buffer.assumingMemoryBound(to: UInt8.self))
            }
        } catch {
            SSL_CTX_free(context)
            selection?.deallocate()
            ERR_clear_error()
            throw error
        }
        self.role = .server
        self.context = context
        self.defaultServerName = nil
        self.verifiesPeer = configuration.clientCAFile != nil
        self.alpnSelection = selection
    }

    deinit {
        SSL_CTX_free(context)
        alpnSelection?.deallocate()
    }

    // MARK: Building

    private static func makeContext(server: Bool) throws(TransportError) -> OpaquePointer {
        ERR_clear_error()
        guard let context = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()) else {
            throw TransportError(.tls, "cannot create a TLS context: \(OpenSSLError.take()?.text ?? "out of memory")")
        }
        _ = wscope_ssl_ctx_set_min_proto_version(context, TLS1_2_VERSION)
        // Renegotiation would let a write wait for a read; nobody needs it for WebSocket.
        SSL_CTX_set_options(context, wscope_ssl_op_no_renegotiation())
        // A write that must be retried may come from a buffer that moved (the pending queue).
        _ = wscope_ssl_ctx_set_mode(context, Int(SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER))
        wscope_ssl_ctx_refuse_passphrases(context)
        return context
    }

    /// Throws "cannot read <what> '<path>': <strerror>" unless `path` opens for reading
    /// and is not a directory (OpenSSL's own messages for these are obscure).
    static func checkReadable(_ path: String, what: String) throws(TransportError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            throw TransportError(.tls, code: code, "cannot read \(what) '\(path)': \(systemMessage(code))")
        }
        var status = stat()
        let isDirectory = fstat(fd, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR
        Glibc.close(fd)
        if isDirectory {
            throw TransportError(.tls, code: EISDIR, "cannot read \(what) '\(path)': \(systemMessage(EISDIR))")
        }
    }

    private static func loadTrust(_ context: OpaquePointer, file: String, what: String) throws(TransportError) {
        try checkReadable(file, what: what)
        ERR_clear_error()
        if SSL_CTX_load_verify_locations(context, file, nil) != 1 {
            let error = OpenSSLError.take()
            let reason: String
            if let error, error.reason == X509_R_NO_CERTIFICATE_OR_CRL_FOUND || error.reason == PEM_R_NO_START_LINE {
                reason = "no PEM certificate in it"
            } else {
                reason = error?.text ?? "not a PEM certificate file"
            }
            throw TransportError(.tls, "cannot read \(what) '\(file)': \(reason)")
        }
    }

    private static func loadIdentity(_ context: OpaquePointer, certificate: String, key: String) throws(TransportError) {
        try checkReadable(certificate, what: "certificate")
        try checkReadable(key, what: "private key")
        ERR_clear_error()
        if SSL_CTX_use_certificate_chain_file(context, certificate) != 1 {
            let error = OpenSSLError.take()
            let reason = error?.reason == PEM_R_NO_START_LINE ? "no PEM certificate in it" : (error?.text ?? "not a PEM certificate")
            throw TransportError(.tls, "cannot read certificate '\(certificate)': \(reason)")
        }
        let mismatch = TransportError(
            .tls, "private key does not match certificate (key '\(key)', certificate '\(certificate)')")
        if SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) != 1 {
            let error = OpenSSLError.take()
            // OpenSSL's reasons here depend on its decoders ("unsupported", "bad decrypt"):
            // look at the file for the common cases.
            let (labels, encrypted) = pemLabels(key)
            if encrypted || error?.reason == PEM_R_BAD_PASSWORD_READ || error?.reason == PEM_R_PROBLEMS_GETTING_PASSWORD {
                throw TransportError(.tls, "cannot read private key '\(key)': it is encrypted (a passphrase-protected key is not supported)")
            }
            if !labels.contains(where: { $0.hasSuffix("PRIVATE KEY") }) {
                throw TransportError(.tls, "cannot read private key '\(key)': no PEM private key in it")
            }
            if error?.reason == X509_R_KEY_VALUES_MISMATCH || error?.reason == X509_R_KEY_TYPE_MISMATCH {
                throw mismatch
            }
            throw TransportError(.tls, "cannot read private key '\(key)': \(error?.text ?? "not a PEM private key")")
        }
        if SSL_CTX_check_private_key(context) != 1 {
            ERR_clear_error()
            throw mismatch
        }
    }

    /// The labels of the PEM blocks in a file ("CERTIFICATE", "PRIVATE KEY") and whether
    /// a key in it is encrypted. Reads at most 1 MiB.
    static func pemLabels(_ path: String) -> (labels: [String], encrypted: Bool) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return ([], false) }
        defer { Glibc.close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while bytes.count < 1 << 20 {
            let count = read(fd, &chunk, chunk.count)
            if count <= 0 { break }
            bytes += chunk[..<count]
        }
        let text = String(decoding: bytes, as: UTF8.self)
        var labels: [String] = []
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) where line.hasPrefix("-----BEGIN ") {
            let label = line.dropFirst(11).prefix { $0 != "-" }
            labels.append(String(label))
        }
        let encrypted = labels.contains("ENCRYPTED PRIVATE KEY") || text.contains("Proc-Type: 4,ENCRYPTED")
        return (labels, encrypted)
    }

    /// Protocol names in ALPN wire format: each a length byte then the name.
    private static func alpnWire(_ protocols: [String]) throws(TransportError) -> [UInt8] {
        var wire: [UInt8] = []
        for name in protocols {
            let bytes = Array(name.utf8)
            guard (1...255).contains(bytes.count) else {
                throw TransportError(.tls, "invalid ALPN protocol name '\(name)': 1 to 255 bytes expected")
            }
            wire.append(UInt8(bytes.count))
            wire += bytes
        }
        guard wire.count <= 0xffff else { throw TransportError(.tls, "too many ALPN protocols") }
        return wire
    }
}

/// The first error on OpenSSL's (per-thread) error queue.
struct OpenSSLError {
    var library: Int32
    var reason: Int32
    /// OpenSSL's reason text, "certificate verify failed".
    var text: String

    /// Takes the oldest queued error (the root cause) and clears the rest.
    static func take() -> OpenSSLError? {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return nil }
        let text = ERR_reason_error_string(code).map { String(cString: $0) } ?? "error \(ERR_GET_REASON(code))"
        return OpenSSLError(library: ERR_GET_LIB(code), reason: ERR_GET_REASON(code), text: text)
    }
}
