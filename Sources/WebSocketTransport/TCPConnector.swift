import Glibc

/// Opens client TCP connections.
public enum TCPConnector {
    /// Resolves `host` (getaddrinfo; this part blocks), then tries each address in turn
    /// with a non-blocking connect until one succeeds. `timeout` covers all attempts.
    /// `completion` is called exactly once, always from the loop (never from inside this
    /// call), unless the returned attempt is cancelled first. On success the connection
    /// is already registered for reading: set its delegate in `completion`.
    @discardableResult
    public static func connect(loop: EventLoop, host: String, port: Int, timeout: Duration = .seconds(10),
                               completion: @escaping (Result<TCPConnection, TransportError>) -> Void) -> ConnectAttempt {
        let attempt = ConnectAttempt(loop: loop, timeout: timeout, completion: completion)
        attempt.start(host: host, port: port)
        return attempt
    }
}

/// A connection being opened by `TCPConnector.connect`.
public final class ConnectAttempt: EventSource {
    private unowned let loop: EventLoop
    private let timeout: Duration
    private var completion: ((Result<TCPConnection, TransportError>) -> Void)?
    private var addresses: [SocketAddress] = []
    private var nextAddress = 0
    private var fd: Int32 = -1
    private var token: UInt64 = 0
    private var current = ""
    private var lastError: TransportError?
    private var timer: TimerID?
    /// True while `start` runs: results are then delivered on the next iteration.
    private var starting = false

    init(loop: EventLoop, timeout: Duration, completion: @escaping (Result<TCPConnection, TransportError>) -> Void) {
        self.loop = loop
        self.timeout = timeout
        self.completion = completion
    }

    deinit {
        if fd >= 0 { Glibc.close(fd) }
    }

    /// True until the completion has been called or the attempt cancelled.
    public var isPending: Bool { completion != nil }

    /// Abandons the attempt: closes its socket; the completion is never called.
    public func cancel() {
        completion = nil
        closeSocket()
        if let timer {
            loop.cancel(timer)
            self.timer = nil
        }
    }

    fileprivate func start(host: String, port: Int) {
        starting = true
        defer { starting = false }
        guard (1...65535).contains(port) else {
            finish(.failure(TransportError(.system, code: EINVAL, "invalid port \(port): expected 1 to 65535")))
            return
        }
        do {
            addresses = try resolve(host: host, port: port, passive: false)
        } catch {
            finish(.failure(error))
            return
        }
        timer = loop.schedule(after: timeout) { [weak self] in
            guard let self else { return }
            self.timer = nil
            self.closeSocket()
            self.finish(.failure(TransportError(
                .timedOut, code: ETIMEDOUT, "connection to \(self.current) timed out after \(self.timeout.humanText)")))
        }
        tryNextAddress()
    }

    /// Starts a connect to the next address; finishes when none is left.
    private func tryNextAddress() {
        while nextAddress < addresses.count {
            let address = addresses[nextAddress]
            nextAddress += 1
            current = address.description
            let candidate = socket(address.family, streamSocketFlags, 0)
            if candidate < 0 {
                lastError = .connect(errno, address: current)
                continue
            }
            let status = address.withSockaddr { Glibc.connect(candidate, $0, $1) }
            if status == 0 {
                connected(candidate)
                return
            }
            var code = errno
            if code == EINTR { code = EINPROGRESS }  // an interrupted connect goes on in the background
            if code == EINPROGRESS {
                token = loop.makeToken()
                let registered = loop.register(self, fd: candidate, events: Epoll.writable, token: token)
                if registered == 0 {
                    fd = candidate
                    return
                }
                lastError = TransportError(.system, code: registered, "cannot watch a connecting socket: \(systemMessage(registered))")
                Glibc.close(candidate)
                continue
            }
            Glibc.close(candidate)
            lastError = .connect(code, address: current)
        }
        finish(.failure(lastError ?? TransportError(.system, "cannot connect: no address to try")))
    }

    func handleEvents(_ events: UInt32) {
        guard fd >= 0 else { return }
        let code = pendingSocketError(fd)
        if code == 0 && events & (Epoll.error | Epoll.hangUp) == 0 {
            let connectedFD = fd
            loop.deregister(fd: fd, token: token)
            fd = -1
            connected(connectedFD)
            return
        }
        closeSocket()
        lastError = .connect(code == 0 ? ECONNREFUSED : code, address: current)
        tryNextAddress()
    }

    /// Hands the connected socket to a `TCPConnection`.
    private func connected(_ socket: Int32) {
        do {
            let connection = try TCPConnection(loop: loop, fd: socket)
            finish(.success(connection))
        } catch {
            finish(.failure(error))
        }
    }

    private func finish(_ result: Result<TCPConnection, TransportError>) {
        if let timer {
            loop.cancel(timer)
            self.timer = nil
        }
        if starting {
            loop.runSoon { [self] in deliver(result) }
        } else {
            deliver(result)
        }
    }

    private func deliver(_ result: Result<TCPConnection, TransportError>) {
        guard let completion else {
            // Cancelled while a connection was being made: do not leak it.
            if case .success(let connection) = result { connection.abort() }
            return
        }
        self.completion = nil
        completion(result)
    }

    private func closeSocket() {
        guard fd >= 0 else { return }
        loop.deregister(fd: fd, token: token)
        Glibc.close(fd)
        fd = -1
    }

    func loopWillClose() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
        completion = nil
    }
}
