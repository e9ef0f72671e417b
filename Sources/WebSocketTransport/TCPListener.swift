import Glibc

/// A listening TCP socket on an `EventLoop`. Each accepted connection is registered for
/// reading and handed to `onAccept`, which should set its delegate (bytes that arrive
/// before a delegate is set are dropped; none can arrive before `onAccept` returns).
/// The loop keeps the listener alive until `close()`.
public final class TCPListener: EventSource {
    private unowned let loop: EventLoop
    private var fd: Int32 = -1
    private let token: UInt64
    private let onAccept: (TCPConnection) -> Void
    /// The actual port (the kernel's choice when asked for port 0).
    public let localPort: Int
    /// "127.0.0.1:8080", "[::]:8080".
    public let localDescription: String
    private var backoffTimer: TimerID?

    /// Resolves `host` ("" or "*" for every interface), binds the first address that
    /// works with SO_REUSEADDR, and listens. Throws a `TransportError` such as
    /// "address 127.0.0.1:8080 already in use".
    public init(loop: EventLoop, host: String, port: Int, backlog: Int32 = 128,
                onAccept: @escaping (TCPConnection) -> Void) throws(TransportError) {
        self.loop = loop
        self.onAccept = onAccept
        self.token = loop.makeToken()
        guard (0...65535).contains(port) else {
            throw TransportError(.system, code: EINVAL, "invalid port \(port): expected 0 to 65535")
        }
        let addresses = try resolve(host: host, port: port, passive: true)
        var firstError: TransportError?
        var bound: Int32 = -1
        for address in addresses {
            let candidate = socket(address.family, streamSocketFlags, 0)
            if candidate < 0 {
                let code = errno
                firstError = firstError ?? .listen(code, address: address.description, port: port)
                continue
            }
            setOption(candidate, SOL_SOCKET, SO_REUSEADDR, 1)
            let status = address.withSockaddr { bind(candidate, $0, $1) == 0 && Glibc.listen(candidate, backlog) == 0 }
            if status {
                bound = candidate
                break
            }
            let code = errno
            Glibc.close(candidate)
            firstError = firstError ?? .listen(code, address: address.description, port: port)
        }
        guard bound >= 0 else { throw firstError! }
        let local = SocketAddress.local(of: bound)
        localPort = local.numeric.port
        localDescription = local.description
        let status = loop.register(self, fd: bound, events: Epoll.readable, token: token)
        if status != 0 {
            Glibc.close(bound)
            throw TransportError(.system, code: status, "cannot watch the listening socket: \(systemMessage(status))")
        }
        fd = bound
    }

    deinit {
        if fd >= 0 { Glibc.close(fd) }
    }

    public var isOpen: Bool { fd >= 0 }

    /// Stops accepting and closes the socket; accepted connections are not affected.
    /// Closing twice does nothing.
    public func close() {
        guard fd >= 0 else { return }
        if let backoffTimer {
            loop.cancel(backoffTimer)
            self.backoffTimer = nil
        }
        loop.deregister(fd: fd, token: token)
        Glibc.close(fd)
        fd = -1
    }

    func handleEvents(_ events: UInt32) {
        // Accept until the queue is empty (EAGAIN).
        while fd >= 0 {
            var address = SocketAddress()
            address.length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let client = withUnsafeMutablePointer(to: &address.storage) { storage in
                storage.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    loop.calls.accept4(fd, $0, &address.length, acceptFlags)
                }
            }
            if client < 0 {
                let code = errno
                switch code {
                case EINTR, ECONNABORTED, EPROTO, EPERM:
                    continue  // that one connection failed; try the next
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    backOff()  // out of descriptors or memory: retry a little later
                    return
                default:
                    return  // EAGAIN, or an error we cannot do anything about
                }
            }
            let connection: TCPConnection
            do {
                connection = try TCPConnection(loop: loop, fd: client, remote: address)
            } catch {
                continue  // could not register it; the socket is closed
            }
            onAccept(connection)
        }
    }

    /// Stops watching for a moment so that a full descriptor table does not spin the loop.
    private func backOff() {
        guard backoffTimer == nil else { return }
        loop.control(Epoll.modify, fd: fd, events: 0, token: token)
        backoffTimer = loop.schedule(after: .milliseconds(100)) { [weak self] in
            guard let self, self.fd >= 0 else { return }
            self.backoffTimer = nil
            self.loop.control(Epoll.modify, fd: self.fd, events: Epoll.readable, token: self.token)
        }
    }

    func loopWillClose() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }
}
