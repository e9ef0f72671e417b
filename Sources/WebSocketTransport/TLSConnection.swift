import COpenSSL
import Glibc

/// TLS over a `TCPConnection`, sans I/O: OpenSSL works on two memory BIOs, the TCP
/// connection keeps doing the socket I/O. Bytes read from the socket go into the read
/// BIO; after every OpenSSL call what it produced in the write BIO goes to `tcp.write`.
///
/// The handshake is driven by incoming bytes (a client sends its ClientHello at once).
/// Writes before it completes are buffered and sent after it. The delegate gets
/// `connectionDidEstablishTLS` when it completes (`negotiated` is then set) and
/// `didRead` with application data only after that. A failure (handshake, certificate
/// verification, bad record, alert) ends the connection with a `.tls` `TransportError`
/// whose description is one line naming the reason.
///
/// The TCP connection keeps this object alive until the connection has ended, like the
/// loop keeps a TCP connection alive; use it only on the loop's thread.
public final class TLSConnection: StreamConnection {
    private enum State {
        case handshaking
        case established
        /// `close()` (close_notify sent) or the peer's close_notify: the TCP connection
        /// is flushing and closing; nothing more is read.
        case shuttingDown
        /// Failed or aborted; waiting for the TCP connection's end.
        case closed
    }

    public weak var delegate: ConnectionDelegate?
    /// The TCP connection underneath.
    public let transport: TCPConnection
    public let context: TLSContext
    public var id: Int { transport.id }
    public var remoteDescription: String { transport.remoteDescription }
    public var isServer: Bool { context.role == .server }
    /// Client: the name sent in SNI and verified against the certificate.
    public let serverName: String?
    /// What the handshake settled on; nil until it completed.
    public private(set) var negotiated: TLSInfo?

    private unowned let loop: EventLoop
    private var ssl: OpaquePointer?
    private var readBIO: OpaquePointer?
    private var writeBIO: OpaquePointer?
    private var state = State.handshaking
    /// Plaintext written before the handshake completed (or that OpenSSL asked to retry).
    private var pending = ByteQueue()
    private var failure: TransportError?
    private var closeRequested = false
    private var closeDelivered = false
    private var readingPaused = false
    private var resumeScheduled = false
    private var handshakeTimer: TimerID?
    private var bridge = Bridge()

    /// Plaintext goes to OpenSSL at most this much at a time, so the write BIO stays small.
    static let writeChunk = 64 * 1024

    /// Starts a client handshake on a connected TCP connection: sends the ClientHello now.
    /// `serverName` (default: the context's configured one) is sent in SNI (unless it is
    /// an IP address) and, unless the context is insecure, checked against the server's
    /// certificate. A failure, including `handshakeTimeout` passing, reaches the
    /// delegate's `connectionDidClose`.
    public convenience init(client transport: TCPConnection, context: TLSContext, serverName: String? = nil,
                            handshakeTimeout: Duration = .seconds(30)) {
        self.init(transport: transport, context: context, role: .client,
                  serverName: serverName ?? context.defaultServerName, handshakeTimeout: handshakeTimeout)
    }

    /// Waits for a client's handshake on an accepted TCP connection (call it from the
    /// listener's `onAccept`, then set the delegate).
    public convenience init(server transport: TCPConnection, context: TLSContext,
                            handshakeTimeout: Duration = .seconds(30)) {
        self.init(transport: transport, context: context, role: .server, serverName: nil,
                  handshakeTimeout: handshakeTimeout)
    }

    private init(transport: TCPConnection, context: TLSContext, role: TLSContext.Role, serverName: String?,
                 handshakeTimeout: Duration) {
        self.transport = transport
        self.context = context
        self.loop = transport.loop
        self.serverName = serverName
        bridge.owner = self
        transport.delegate = bridge
        transport.upperLayer = self
        guard transport.isOpen else {
            // Already over: report it like any other end, from the loop.
            state = .closed
            failure = TransportError(.tls, "TLS over \(transport.remoteDescription): the connection was already closed")
            loop.runSoon { [self] in transportClosed(error: nil) }
            return
        }
        guard context.role == role else {
            fail(TransportError(.tls, "a TLS \(context.role) context cannot start a \(role) connection"))
            return
        }
        ERR_clear_error()
        guard let ssl = SSL_new(context.context) else {
            fail(TransportError(.tls, "cannot create a TLS session: \(OpenSSLError.take()?.text ?? "out of memory")"))
            return
        }
        self.ssl = ssl
        guard let readBIO = BIO_new(BIO_s_mem()) else {
            fail(TransportError(.tls, "cannot create a TLS session: out of memory"))
            return
        }
        guard let writeBIO = BIO_new(BIO_s_mem()) else {
            BIO_free(readBIO)
            fail(TransportError(.tls, "cannot create a TLS session: out of memory"))
            return
        }
        wscope_bio_set_mem_eof_return(readBIO, -1)
        wscope_bio_set_mem_eof_return(writeBIO, -1)
        SSL_set_bio(ssl, readBIO, writeBIO)  // the SSL owns both from here
        self.readBIO = readBIO
        self.writeBIO = writeBIO
        handshakeTimer = loop.schedule(after: handshakeTimeout) { [weak self] in
            guard let self, self.state == .handshaking else { return }
            self.handshakeTimer = nil
            self.fail(TransportError(
                .timedOut, code: ETIMEDOUT,
                "TLS handshake with \(self.remoteDescription) timed out after \(handshakeTimeout.humanText)"))
        }
        switch role {
        case .server:
            SSL_set_accept_state(ssl)
        case .client:
            SSL_set_connect_state(ssl)
            if let serverName, !serverName.isEmpty {
                if !isIPAddress(serverName) {
                    _ = wscope_ssl_set_tlsext_host_name(ssl, serverName)
                }
                if context.verifiesPeer {
                    SSL_set_hostflags(ssl, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
                    // Takes an IP address too (checked against the IP entries).
                    if SSL_set1_host(ssl, serverName) != 1 {
                        ERR_clear_error()
                        fail(TransportError(.tls, "cannot verify the server name '\(serverName)': not a valid host name"))
                        return
                    }
                }
            }
            _ = driveHandshake()
        }
    }

    deinit {
        if let ssl { SSL_free(ssl) }  // frees the BIOs too
    }

    /// True until `close()`/`abort()` is called or the connection ends.
    public var isOpen: Bool {
        !closeRequested && (state == .handshaking || state == .established)
    }

    /// Plaintext not yet encrypted plus ciphertext not yet handed to the kernel.
    public var pendingOutputBytes: Int { pending.count + transport.pendingOutputBytes }

    public var isReadingPaused: Bool { readingPaused }

    // MARK: Writing

    /// Encrypts and sends `bytes` (queued, copied, until the handshake completes). Ignored
    /// after `close()`/`abort()`.
    public func write(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0, !closeRequested else { return }
        switch state {
        case .handshaking:
            pending.append(bytes)
        case .established:
            if !pending.isEmpty {
                pending.append(bytes)
                flushPending()
                return
            }
            let written = encrypt(bytes)
            if written < bytes.count && state == .established {
                pending.append(UnsafeRawBufferPointer(rebasing: bytes[written...]))
            }
        case .shuttingDown, .closed:
            return
        }
    }

    public func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { write($0) }
    }

    /// Feeds plaintext to OpenSSL a chunk at a time, sending each chunk's records.
    /// Returns how much it took: all of it, or less if OpenSSL asks to retry later (or
    /// the connection failed).
    private func encrypt(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard let ssl, let base = bytes.baseAddress else { return 0 }
        var offset = 0
        while offset < bytes.count {
            let chunk = min(bytes.count - offset, Self.writeChunk)
            ERR_clear_error()
            let count = SSL_write(ssl, base + offset, Int32(chunk))
            if count > 0 {
                offset += Int(count)
                flushOutput()
                continue
            }
            let code = SSL_get_error(ssl, count)
            flushOutput()
            if code != SSL_ERROR_WANT_READ && code != SSL_ERROR_WANT_WRITE {
                fail(recordError(code))
            }
            break
        }
        return offset
    }

    /// Sends the buffered plaintext, as far as OpenSSL takes it.
    private func flushPending() {
        while !pending.isEmpty && state == .established {
            let queued = pending.readable
            let written = encrypt(queued)
            pending.consume(written)
            if written < queued.count { break }
        }
    }

    /// Moves the records OpenSSL produced to the socket.
    private func flushOutput() {
        guard let writeBIO else { return }
        let scratch = loop.scratchBuffer
        while true {
            let count = BIO_read(writeBIO, scratch.baseAddress, Int32(scratch.count))
            guard count > 0 else { return }
            transport.write(UnsafeRawBufferPointer(start: scratch.baseAddress, count: Int(count)))
        }
    }

    // MARK: Closing

    /// Graceful close: sends what is queued and a close_notify, then closes the TCP
    /// connection gracefully. Called during the handshake with data queued, it first
    /// completes the handshake to send that data. No more `didRead`.
    public func close() {
        guard !closeRequested else { return }
        closeRequested = true
        switch state {
        case .handshaking:
            if pending.isEmpty {
                cancelHandshakeTimer()
                state = .shuttingDown
                transport.close()
            }
            // Otherwise `established` sends the queued data, then shuts down.
        case .established:
            shutDown()
        case .shuttingDown, .closed:
            break
        }
    }

    /// Sends what is pending and our close_notify, then closes the TCP connection.
    private func shutDown() {
        flushPending()
        guard state == .established, let ssl else { return }
        state = .shuttingDown
        ERR_clear_error()
        _ = SSL_shutdown(ssl)  // 0: close_notify sent, the peer's not awaited
        ERR_clear_error()
        flushOutput()
        transport.close()
    }

    /// Drops everything and closes the socket now; `connectionDidClose` follows on the next
    /// loop iteration unless the connection had already ended (nil error, or the TLS
    /// failure that was already on its way).
    public func abort() {
        closeRequested = true
        cancelHandshakeTimer()
        guard !closeDelivered else { return }
        state = .closed
        transport.abort()
    }

    /// A TLS failure: sends the alert OpenSSL produced, closes the TCP connection, and
    /// reports `error` when it has closed.
    private func fail(_ error: TransportError) {
        guard state != .closed else { return }
        cancelHandshakeTimer()
        if failure == nil { failure = error }
        state = .closed
        flushOutput()
        transport.close()
    }

    private func cancelHandshakeTimer() {
        if let handshakeTimer {
            loop.cancel(handshakeTimer)
            self.handshakeTimer = nil
        }
    }

    // MARK: Reading

    /// Stops `didRead` until `resumeReading`. The handshake goes on meanwhile: the TCP
    /// connection is paused only once it has completed.
    public func pauseReading() {
        guard !readingPaused else { return }
        readingPaused = true
        if state != .handshaking { transport.pauseReading() }
    }

    /// Resumes reading; plaintext already decrypted or buffered is delivered on the next
    /// loop iteration.
    public func resumeReading() {
        guard readingPaused else { return }
        readingPaused = false
        transport.resumeReading()
        guard !resumeScheduled, let ssl, let readBIO else { return }
        if SSL_pending(ssl) > 0 || BIO_ctrl_pending(readBIO) > 0 {
            resumeScheduled = true
            loop.runSoon { [weak self] in
                guard let self else { return }
                self.resumeScheduled = false
                if !self.readingPaused { self.advance() }
            }
        }
    }

    /// Ciphertext from the socket.
    fileprivate func transportRead(_ bytes: UnsafeRawBufferPointer) {
        guard state == .handshaking || state == .established, let readBIO, let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let count = BIO_write(readBIO, base + offset, Int32(min(bytes.count - offset, Int(Int32.max))))
            guard count > 0 else {
                fail(TransportError(.tls, "TLS with \(remoteDescription): out of memory buffering input"))
                return
            }
            offset += Int(count)
        }
        advance()
    }

    /// Handshake while it runs, then application data; then any write OpenSSL deferred.
    private func advance() {
        if state == .handshaking {
            guard driveHandshake() else { return }
        }
        readPlaintext()
        if state == .established && !pending.isEmpty { flushPending() }
    }

    /// One handshake step; true once established.
    private func driveHandshake() -> Bool {
        guard let ssl else { return false }
        ERR_clear_error()
        let status = SSL_do_handshake(ssl)
        if status == 1 {
            flushOutput()
            established()
            return state == .established
        }
        let code = SSL_get_error(ssl, status)
        flushOutput()
        if code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE { return false }
        fail(handshakeError(code))
        return false
    }

    private func established() {
        guard let ssl else { return }
        cancelHandshakeTimer()
        state = .established
        let info = TLSDetails.info(of: ssl, isServer: isServer, sentServerName: serverName, verified: context.verifiesPeer)
        negotiated = info
        delegate?.connectionDidEstablishTLS(self, info: info)
        guard state == .established else { return }
        if readingPaused { transport.pauseReading() }
        let hadPending = !pending.isEmpty
        flushPending()
        if closeRequested {
            shutDown()
        } else if hadPending && pendingOutputBytes == 0 {
            delegate?.connectionDidDrain(self)
        }
    }

    /// Decrypts into the loop's read buffer and delivers it, a buffer at a time, until
    /// OpenSSL needs more input. The buffer is free here: the ciphertext the TCP
    /// connection read into it is already copied into the read BIO, and nothing reads
    /// into it while a delegate runs (a resumed connection reads on a later iteration).
    private func readPlaintext() {
        let buffer = loop.readBuffer
        guard let ssl, let start = buffer.baseAddress else { return }
        while state == .established && !readingPaused && !closeRequested {
            var filled = 0
            var code: Int32 = SSL_ERROR_NONE
            while filled < buffer.count {
                ERR_clear_error()
                let count = SSL_read(ssl, start + filled, Int32(buffer.count - filled))
                if count > 0 {
                    filled += Int(count)
                    continue
                }
                code = SSL_get_error(ssl, count)
                break
            }
            if filled > 0 {
                delegate?.connection(self, didRead: UnsafeRawBufferPointer(start: start, count: filled))
            }
            if code == SSL_ERROR_NONE { continue }  // the buffer filled up: there may be more
            flushOutput()  // a reading call may answer (key update)
            guard state == .established else { return }
            switch code {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                return
            case SSL_ERROR_ZERO_RETURN:
                peerClosed()
            default:
                fail(recordError(code))
            }
            return
        }
        flushOutput()
    }

    /// The peer's close_notify: like a TCP EOF, send what is queued, then our
    /// close_notify, then close; the delegate hears a nil error.
    private func peerClosed() {
        flushPending()
        shutDown()
    }

    fileprivate func transportDrained() {
        guard state == .established || state == .handshaking, pending.isEmpty else { return }
        delegate?.connectionDidDrain(self)
    }

    fileprivate func transportClosed(error: TransportError?) {
        cancelHandshakeTimer()
        let wasHandshaking = state == .handshaking
        state = .closed
        var result = failure ?? error
        if failure == nil && wasHandshaking && !closeRequested {
            if let error {
                result = TransportError(error.kind, code: error.code,
                                        "TLS handshake with \(remoteDescription) failed: \(error.description)")
            } else {
                result = TransportError(
                    .tls, "TLS handshake with \(remoteDescription) failed: the peer closed the connection")
            }
        }
        pending.release()
        guard !closeDelivered else { return }
        closeDelivered = true
        delegate?.connectionDidClose(self, error: result)
    }

    // MARK: Errors

    private func handshakeError(_ code: Int32) -> TransportError {
        let prefix = "TLS handshake with \(remoteDescription) failed: "
        let error = OpenSSLError.take()
        if let ssl, error?.reason == SSL_R_CERTIFICATE_VERIFY_FAILED {
            let result = SSL_get_verify_result(ssl)
            if result != X509_V_OK {
                let reason = TLSDetails.verificationFailure(Int32(truncatingIfNeeded: result), ssl: ssl,
                                                            expectedName: serverName)
                return TransportError(.tls, prefix + (isServer ? "client certificate rejected: " : "") + reason)
            }
        }
        return TransportError(.tls, prefix + describe(error, code: code))
    }

    private func recordError(_ code: Int32) -> TransportError {
        let error = OpenSSLError.take()
        return TransportError(.tls, "TLS with \(remoteDescription) failed: \(describe(error, code: code))")
    }

    private func describe(_ error: OpenSSLError?, code: Int32) -> String {
        guard let error else {
            if code == SSL_ERROR_SYSCALL { return "unexpected end of the TLS stream" }
            return "OpenSSL error \(code)"
        }
        switch error.reason {
        case SSL_R_WRONG_VERSION_NUMBER, SSL_R_PACKET_LENGTH_TOO_LONG:
            return isServer ? "the client does not speak TLS (\(error.text))"
                : "the server does not speak TLS (\(error.text); a plain ws:// server?)"
        case SSL_R_HTTP_REQUEST, SSL_R_HTTPS_PROXY_REQUEST:
            return "the client sent plain HTTP, not TLS (a ws:// client?)"
        case SSL_R_UNSUPPORTED_PROTOCOL:
            return "no TLS version in common (TLS 1.2 or later is required)"
        case SSL_R_NO_SHARED_CIPHER:
            return "no cipher suite in common"
        case SSL_R_NO_APPLICATION_PROTOCOL:
            return "no ALPN protocol in common"
        case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
            return "the client sent no certificate (one is required)"
        case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
            return "the server requires a client certificate"
        case SSL_R_UNEXPECTED_EOF_WHILE_READING:
            return "the TLS stream ended unexpectedly"
        default:
            break
        }
        for prefix in ["sslv3 alert ", "tlsv1 alert ", "tlsv13 alert "] where error.text.hasPrefix(prefix) {
            let alert = String(error.text.dropFirst(prefix.count))
            var text = "the peer sent the alert '\(alert)'"
            if alert == "unknown ca" || alert == "bad certificate" || alert == "certificate unknown" {
                text += " (it does not accept our certificate)"
            }
            return text
        }
        return error.text
    }
}

/// The TCP connection's delegate, so that `TLSConnection` does not publish the
/// `ConnectionDelegate` methods itself.
private final class Bridge: ConnectionDelegate {
    weak var owner: TLSConnection?

    func connection(_ connection: StreamConnection, didRead bytes: UnsafeRawBufferPointer) {
        owner?.transportRead(bytes)
    }

    func connectionDidClose(_ connection: StreamConnection, error: TransportError?) {
        owner?.transportClosed(error: error)
    }

    func connectionDidDrain(_ connection: StreamConnection) {
        owner?.transportDrained()
    }
}

/// A numeric IPv4 or IPv6 address (not sent in SNI).
func isIPAddress(_ name: String) -> Bool {
    var host = name
    if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    var buffer = in6_addr()
    return inet_pton(AF_INET, host, &buffer) == 1 || inet_pton(AF_INET6, host, &buffer) == 1
}
