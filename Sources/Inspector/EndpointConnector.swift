import WebSocketTransport

/// A client connection being opened by `EndpointConnector`: the TCP connect, then for
/// wss:// the TLS handshake.
public final class EndpointConnectAttempt {
    fileprivate var tcp: ConnectAttempt?
    fileprivate var tls: TLSConnectAttempt?

    fileprivate init() {}

    /// Abandons the attempt: its socket is closed and its completion never called.
    public func cancel() {
        tcp?.cancel()
        tls?.cancel()
        tcp = nil
        tls = nil
    }
}

/// Opens the byte stream under a client endpoint: plain TCP for ws://, TLS over TCP for
/// wss:// (SNI and verification of the URL's host, as `options.tlsClient` says).
enum EndpointConnector {
    /// `completion` is called once, from the loop, unless the attempt is cancelled. A TLS
    /// failure is one line naming the reason ("TLS handshake with 127.0.0.1:8443 failed:
    /// certificate has expired").
    static func connect(loop: EventLoop, url: WebSocketURL, options: EndpointOptions,
                        completion: @escaping (Result<StreamConnection, TransportError>) -> Void) -> EndpointConnectAttempt {
        let attempt = EndpointConnectAttempt()
        guard url.isSecure else {
            attempt.tcp = TCPConnector.connect(loop: loop, host: url.host, port: url.port, timeout: options.connectTimeout) { result in
                attempt.tcp = nil
                completion(result.map { $0 })
            }
            return attempt
        }
        let finish = { (result: Result<TLSConnection, TransportError>) in
            attempt.tls = nil
            completion(result.map { $0 })
        }
        if let context = options.tlsClient {
            attempt.tls = TLSConnector.connect(loop: loop, host: url.host, port: url.port, context: context,
                                               timeout: options.connectTimeout, completion: finish)
        } else {
            attempt.tls = TLSConnector.connect(loop: loop, host: url.host, port: url.port,
                                               configuration: TLSClientConfiguration(),
                                               timeout: options.connectTimeout, completion: finish)
        }
        return attempt
    }
}

extension EndpointOptions {
    /// What a server hands its peer for an accepted connection: the TCP connection, or a
    /// TLS connection over it waiting for the client's handshake when `tlsServer` is set
    /// (its failure is that peer's handshake failure).
    func serverStream(_ tcp: TCPConnection) -> StreamConnection {
        guard let tlsServer else { return tcp }
        return TLSConnection(server: tcp, context: tlsServer, handshakeTimeout: connectTimeout)
    }
}
