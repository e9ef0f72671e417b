import Glibc

/// A non-blocking TCP connection on an `EventLoop`: bytes in, bytes out, nothing about
/// WebSocket. Created by `TCPListener` or `TCPConnector`. The loop keeps it alive until
/// it is closed, so a caller may hold it weakly; use it only on the loop's thread.
///
/// Reading is level-triggered into the loop's shared buffer, one read per readiness per
/// iteration so that many connections share the loop fairly. `write` sends at once as far
/// as the socket takes and queues the rest in a reusable buffer, watching for EPOLLOUT
/// only while something is queued.
public final class TCPConnection: StreamConnection, EventSource {
    private enum State {
        case open
        /// Flushing queued output before closing (after `close()` or the peer's EOF).
        /// Input is read and dropped meanwhile, so that a peer blocked on writing to us
        /// cannot stall the flush.
        case closing
        /// Our side is shut (FIN sent) and the delegate told; reading and discarding until
        /// the peer's EOF so that unread input cannot turn our close into a reset that
        /// destroys data the peer has not read yet. Bounded by `lingerTimeout`.
        case lingering
        case closed
    }

    public weak var delegate: ConnectionDelegate?
    /// Unique per loop and increasing, for display.
    public let id: Int
    /// "127.0.0.1:54321", "[::1]:80".
    public let remoteDescription: String
    public let localDescription: String

    unowned let loop: EventLoop
    private var fd: Int32
    private let token: UInt64
    private var state = State.open
    private var output = ByteQueue()
    private var readingPaused = false
    private var peerEOF = false
    private var closeRequested = false
    private var closeDelivered = false
    /// A layer on top (`TLSConnection`) kept alive as long as this connection is, so that
    /// callers may hold it weakly too; released once `connectionDidClose` was delivered.
    var upperLayer: AnyObject?
    /// Events currently asked of epoll.
    private var interest: UInt32
    /// Taken out of the epoll set after a hang-up while reading was paused (a hang-up is
    /// reported even without interest, so staying registered would spin the loop).
    private var parked = false
    /// The flush deadline while closing, the linger deadline while lingering.
    private var stateTimer: TimerID?
    private var lastProgress: UInt64 = 0

    /// How long a graceful close waits for the peer to take any queued byte before it
    /// gives up, drops the rest and reports "timed out". Default 30 s.
    public var closeTimeout: Duration = .seconds(30)

    /// How long a closed connection waits for the peer's EOF before closing the socket.
    static let lingerTimeout: Duration = .seconds(2)

    /// Takes ownership of a connected non-blocking socket and registers it for reading.
    init(loop: EventLoop, fd: Int32, remote: SocketAddress? = nil) throws(TransportError) {
        self.loop = loop
        self.fd = fd
        self.id = loop.makeConnectionID()
        self.token = loop.makeToken()
        setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        let remoteAddress = remote ?? SocketAddress.remote(of: fd)
        remoteDescription = remoteAddress.length > 0 ? remoteAddress.description : "?"
        localDescription = SocketAddress.local(of: fd).description
        interest = Epoll.readable
        let status = loop.register(self, fd: fd, events: interest, token: token)
        if status != 0 {
            Glibc.close(fd)
            self.fd = -1
            state = .closed
            throw TransportError(.system, code: status, "cannot watch a connection: \(systemMessage(status))")
        }
    }

    deinit {
        // The loop holds open connections, so this only runs once the socket is closed;
        // kept as a last line of defence.
        if fd >= 0 { Glibc.close(fd) }
    }

    /// The socket, while it is open (for a TLS layer or socket options); -1 afterwards.
    public var fileDescriptor: Int32 { fd }

    /// True until `close()`/`abort()` is called or the connection ends.
    public var isOpen: Bool { (state == .open || state == .closing) && !closeRequested && !closeDelivered }

    /// Bytes accepted by `write` and not yet handed to the kernel.
    public var pendingOutputBytes: Int { output.count }

    // MARK: Writing

    /// Writes as much as the socket takes now and queues the rest (copied), sending it as
    /// the socket drains. Ignored after `close()`/`abort()`. A failure closes the
    /// connection; the delegate hears of it in `connectionDidClose`.
    public func write(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        guard (state == .open || state == .closing) && !closeRequested else { return }
        if !output.isEmpty {
            output.append(bytes)
            return
        }
        var sent = 0
        while sent < bytes.count {
            let count = send(fd, base + sent, bytes.count - sent, Int32(MSG_NOSIGNAL))
            if count > 0 {
                sent += count
                continue
            }
            let code = errno
            if code == EINTR { continue }
            if errnoIsWouldBlock(code) { break }
            fail(.io(code), deferred: true)
            return
        }
        if sent < bytes.count {
            output.append(UnsafeRawBufferPointer(rebasing: bytes[sent...]))
            if parked { unpark() } else { updateInterest() }
        }
    }

    public func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { write($0) }
    }

    // MARK: Closing

    /// Graceful close: sends what is queued, then shuts down our side (FIN) and closes the
    /// socket. The delegate gets `connectionDidClose` once the output has gone (nil error),
    /// or with the error if sending it fails or stalls for `closeTimeout`. No more
    /// `didRead`: input is read and dropped until the peer's EOF (at most 2 s after our
    /// FIN), so that unread input cannot turn the close into a reset.
    public func close() {
        guard (state == .open || state == .closing) && !closeRequested else { return }
        closeRequested = true
        if output.isEmpty {
            finishClosing(deferred: true)
        } else {
            startClosing()
        }
    }

    /// Enters `.closing`: flush, with a deadline on progress.
    private func startClosing() {
        if parked { unpark() }
        if state != .closing {
            state = .closing
            lastProgress = monotonicNanoseconds()
            armFlushTimer(after: closeTimeout)
        }
        updateInterest()
    }

    private func armFlushTimer(after delay: Duration) {
        stateTimer = loop.schedule(after: delay) { [weak self] in
            guard let self, self.state == .closing else { return }
            self.stateTimer = nil
            let idle = monotonicNanoseconds() &- self.lastProgress
            let limit = self.closeTimeout.clampedNanoseconds
            if idle + 1_000_000 >= limit {
                self.fail(TransportError(
                    .timedOut, code: ETIMEDOUT,
                    "gave up closing after \(self.closeTimeout.humanText) without progress: the peer is not reading (\(self.output.count) bytes unsent)"),
                    deferred: false)
            } else {
                self.armFlushTimer(after: .nanoseconds(Int64(limit - idle)))
            }
        }
    }

    /// Immediate close: drops queued output and closes the socket now. The delegate gets
    /// `connectionDidClose` (nil error) on the next loop iteration unless it already had it.
    public func abort() {
        guard state != .closed else { return }
        closeRequested = true
        closeSocket()
        deliverClose(nil, deferred: true)
    }

    // MARK: Reading

    /// Stops reading (and so stops `didRead` and EOF detection) until `resumeReading`; the
    /// kernel's buffers then fill and the peer's writes block. Output keeps flowing.
    public func pauseReading() {
        guard !readingPaused else { return }
        readingPaused = true
        updateInterest()
    }

    public func resumeReading() {
        guard readingPaused else { return }
        readingPaused = false
        if parked {
            unpark()
        } else {
            updateInterest()
        }
    }

    /// Back into the epoll set after `park` (reading resumed, or output to send).
    private func unpark() {
        guard parked, fd >= 0 else { return }
        parked = false
        interest = desiredInterest
        if loop.control(Epoll.add, fd: fd, events: interest, token: token) != 0 {
            fail(.io(errno), deferred: true)
        }
    }

    public var isReadingPaused: Bool { readingPaused }

    // MARK: Loop events

    func handleEvents(_ events: UInt32) {
        switch state {
        case .closed:
            return
        case .lingering:
            switch discardInput() {
            case .more: break
            case .ended, .failed: closeSocket()
            }
            return
        case .open, .closing:
            break
        }
        let trouble = events & (Epoll.error | Epoll.hangUp) != 0
        if events & Epoll.writable != 0 || (trouble && !output.isEmpty) {
            handleWritable()
            guard state == .open || state == .closing else { return }
        }
        guard events & (Epoll.readable | Epoll.error | Epoll.hangUp | Epoll.readHangUp) != 0 else { return }
        if state == .closing {
            guard !peerEOF else { return }
            switch discardInput() {
            case .more: break
            case .ended:
                peerEOF = true
                updateInterest()
            case .failed(let code):
                fail(.io(code), deferred: false)
            }
            return
        }
        if wantsToRead {
            handleReadable()
        } else if trouble && state == .open {
            // Reading is paused and nothing is queued: step out of the epoll set until
            // `resumeReading` (which then reads what is left, then the EOF or the error).
            parked = true
            interest = 0
            _ = loop.control(Epoll.delete, fd: fd, events: 0, token: token)
        }
    }

    private var wantsToRead: Bool { state == .open && !readingPaused }

    private func handleReadable() {
        let buffer = loop.readBuffer
        var count: Int
        repeat {
            count = recv(fd, buffer.baseAddress, buffer.count, 0)
        } while count < 0 && errno == EINTR
        if count > 0 {
            delegate?.connection(self, didRead: UnsafeRawBufferPointer(start: buffer.baseAddress, count: count))
            return
        }
        if count == 0 {
            peerClosed()
            return
        }
        let code = errno
        if errnoIsWouldBlock(code) { return }
        fail(.io(code), deferred: false)
    }

    /// The peer shut down its side: send what is still queued, then close; nil error.
    private func peerClosed() {
        peerEOF = true
        if output.isEmpty {
            shutdown(fd, Int32(SHUT_WR))
            closeSocket()
            deliverClose(nil, deferred: false)
        } else {
            startClosing()
        }
    }

    private func handleWritable() {
        let queued = output.readable
        var sent = 0
        while sent < queued.count {
            let count = send(fd, queued.baseAddress! + sent, queued.count - sent, Int32(MSG_NOSIGNAL))
            if count > 0 {
                sent += count
                continue
            }
            let code = errno
            if code == EINTR { continue }
            if errnoIsWouldBlock(code) { break }
            output.consume(sent)
            fail(.io(code), deferred: false)
            return
        }
        output.consume(sent)
        if sent > 0 && state == .closing { lastProgress = monotonicNanoseconds() }
        guard output.isEmpty else { return }
        if state == .closing {
            finishClosing(deferred: false)
        } else {
            updateInterest()
            delegate?.connectionDidDrain(self)
        }
    }

    /// All output sent: shut our side, then either close now (the peer already sent its
    /// EOF) or linger for the peer's EOF. The delegate is told now either way.
    private func finishClosing(deferred: Bool) {
        cancelStateTimer()
        shutdown(fd, Int32(SHUT_WR))
        if peerEOF || parked {
            closeSocket()
        } else {
            state = .lingering
            updateInterest()
            stateTimer = loop.schedule(after: Self.lingerTimeout) { [weak self] in
                self?.stateTimer = nil
                self?.closeSocket()
            }
        }
        deliverClose(nil, deferred: deferred)
    }

    private enum DiscardResult {
        case more, ended, failed(Int32)
    }

    /// Reads and drops one buffer of input (after close).
    private func discardInput() -> DiscardResult {
        let buffer = loop.readBuffer
        let count = recv(fd, buffer.baseAddress, buffer.count, 0)
        if count > 0 { return .more }
        if count == 0 { return .ended }
        let code = errno
        return code == EINTR || errnoIsWouldBlock(code) ? .more : .failed(code)
    }

    private func cancelStateTimer() {
        if let stateTimer {
            loop.cancel(stateTimer)
            self.stateTimer = nil
        }
    }

    /// A failure: close at once and report (nil if the peer had already ended orderly).
    private func fail(_ error: TransportError, deferred: Bool) {
        closeSocket()
        deliverClose(peerEOF ? nil : error, deferred: deferred)
    }

    private func deliverClose(_ error: TransportError?, deferred: Bool) {
        guard !closeDelivered else { return }
        closeDelivered = true
        if deferred {
            loop.runSoon { [self] in
                delegate?.connectionDidClose(self, error: error)
                upperLayer = nil
            }
        } else {
            delegate?.connectionDidClose(self, error: error)
            upperLayer = nil
        }
    }

    /// Takes the socket out of the loop and closes it, exactly once.
    private func closeSocket() {
        guard fd >= 0 else { return }
        cancelStateTimer()
        if parked {
            loop.deregister(fd: -1, token: token)  // only forget the source
        } else {
            loop.deregister(fd: fd, token: token)
        }
        Glibc.close(fd)
        fd = -1
        state = .closed
        output.release()
    }

    func loopWillClose() {
        upperLayer = nil
        guard fd >= 0 else { return }
        Glibc.close(fd)
        fd = -1
        state = .closed
        closeDelivered = true
        output.release()
    }

    private var desiredInterest: UInt32 {
        switch state {
        case .open:
            return (readingPaused ? 0 : Epoll.readable) | (output.isEmpty ? 0 : Epoll.writable)
        case .closing:
            return (output.isEmpty ? 0 : Epoll.writable) | (peerEOF ? 0 : Epoll.readable)
        case .lingering:
            return Epoll.readable
        case .closed:
            return 0
        }
    }

    private func updateInterest() {
        guard state != .closed, !parked else { return }
        let wanted = desiredInterest
        guard wanted != interest else { return }
        interest = wanted
        loop.control(Epoll.modify, fd: fd, events: wanted, token: token)
    }
}
