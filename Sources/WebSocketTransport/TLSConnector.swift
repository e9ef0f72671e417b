import Glibc

/// Opens client TLS connections: `TCPConnector` then a `TLSConnection` handshake.
public enum TLSConnector {
    /// Connects to `host:port` and completes a TLS handshake, verifying the server's
    /// certificate for `configuration.serverName ?? host` unless `insecure`. `timeout`
    /// covers the TCP connect and the handshake. `completion` is called exactly once,
    /// always from the loop (never from inside this call), unless the attempt is
    /// cancelled: with the established connection (set its delegate in `completion`:
    /// application data is delivered only after it returns) or with the error, such as
    /// "TLS handshake with 127.0.0.1:443 failed: certificate has expired".
    ///
    /// Builds a `TLSContext` from `configuration` (loading the trust store); to reuse
    /// one across connections, use the `context:` variant.
    @discardableResult
    public static func connect(loop: EventLoop, host: String, port: Int, configuration: TLSClientConfiguration,
                               timeout: Duration = .seconds(10),
                               completion: @escaping (Result<TLSConnection, TransportError>) -> Void) -> TLSConnectAttempt {
        let context: TLSContext
        do {
            context = try TLSContext(client: configuration)
        } catch {
            let attempt = TLSConnectAttempt(loop: loop, completion: completion)
            loop.runSoon { attempt.finish(.failure(error)) }
            return attempt
        }
        return connect(loop: loop, host: host, port: port, context: context, serverName: configuration.serverName,
                       timeout: timeout, completion: completion)
    }

    /// As above with a context built once (`TLSContext(client:)`); `serverName` defaults
    /// to the context's configured name, then to `host`.
    @discardableResult
    public static func connect(loop: EventLoop, host: String, port: Int, context: TLSContext, serverName: String? = nil,
                               timeout: Duration = .seconds(10),
                               completion: @escaping (Result<TLSConnection, TransportError>) -> Void) -> TLSConnectAttempt {
        let attempt = TLSConnectAttempt(loop: loop, completion: completion)
        let name = serverName ?? context.defaultServerName ?? bareHost(host)
        let deadline = ContinuousClock.now + timeout
        // The closures and, during the handshake, the waiter keep the attempt alive, so a
        // caller need not hold it.
        attempt.tcpAttempt = TCPConnector.connect(loop: loop, host: host, port: port, timeout: timeout) { result in
            attempt.tcpAttempt = nil
            switch result {
            case .failure(let error):
                attempt.finish(.failure(error))
            case .success(let tcp):
                let remaining = max(deadline - ContinuousClock.now, .milliseconds(1))
                let connection = TLSConnection(client: tcp, context: context, serverName: name,
                                               handshakeTimeout: remaining)
                attempt.handshaking(connection)
            }
        }
        return attempt
    }

    /// "example.com" from "example.com", "::1" from "[::1]".
    static func bareHost(_ host: String) -> String {
        host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
    }
}

/// A TLS connection being opened by `TLSConnector.connect`.
public final class TLSConnectAttempt {
    private unowned let loop: EventLoop
    private var completion: ((Result<TLSConnection, TransportError>) -> Void)?
    fileprivate var tcpAttempt: ConnectAttempt?
    private var connection: TLSConnection?
    private let waiter = HandshakeWaiter()

    fileprivate init(loop: EventLoop, completion: @escaping (Result<TLSConnection, TransportError>) -> Void) {
        self.loop = loop
        self.completion = completion
    }

    /// True until the completion has been called or the attempt cancelled.
    public var isPending: Bool { completion != nil }

    /// Abandons the attempt: closes its socket; the completion is never called.
    public func cancel() {
        completion = nil
        waiter.attempt = nil
        tcpAttempt?.cancel()
        tcpAttempt = nil
        if let connection {
            self.connection = nil
            connection.delegate = nil
            connection.abort()
        }
    }

    fileprivate func handshaking(_ connection: TLSConnection) {
        guard completion != nil else {
            connection.abort()
            return
        }
        self.connection = connection
        waiter.attempt = self
        connection.delegate = waiter
    }

    fileprivate func finish(_ result: Result<TLSConnection, TransportError>) {
        connection = nil
        waiter.attempt = nil
        guard let completion else { return }
        self.completion = nil
        completion(result)
    }

    fileprivate func established(_ connection: TLSConnection) {
        connection.delegate = nil
        finish(.success(connection))
    }
}

/// The connection's delegate during the handshake. Holds the attempt (which holds it)
/// until the attempt finishes or is cancelled.
private final class HandshakeWaiter: ConnectionDelegate {
    var attempt: TLSConnectAttempt?

    func connectionDidEstablishTLS(_ connection: StreamConnection, info: TLSInfo) {
        guard let tls = connection as? TLSConnection else { return }
        attempt?.established(tls)
    }

    func connection(_ connection: StreamConnection, didRead bytes: UnsafeRawBufferPointer) {}

    func connectionDidClose(_ connection: StreamConnection, error: TransportError?) {
        attempt?.finish(.failure(error ?? TransportError(
            .tls, "TLS handshake with \(connection.remoteDescription) failed: the connection closed")))
    }
}
