import WebSocket
import WebSocketTransport
import WebSocketUtil

/// `wscope replay FILE --to URL`: re-sends the client side of a recording to a live server,
/// byte for byte, one recorded connection after the other (sequentially, each as its own
/// client connection), and reports what the server answers now.
///
/// Per connection:
/// - The handshake offers the recorded subprotocols and `Sec-WebSocket-Extensions` (unless
///   the options name their own); an answer that differs from the recorded one is warned
///   about, since compressed frames only make sense with the same extension.
/// - Each recorded client frame is written with its recorded wire bytes (same mask keys,
///   same malformations). The first goes out as soon as the connection opens; the others
///   keep their recorded distance from it, divided by `speed` (nil: no waiting).
/// - Pings are not answered automatically: the recording's own pongs are replayed.
/// - Once the server's close frame arrives (or it fails the connection), the remaining
///   recorded frames are pointless and not sent; the server's close is answered as usual.
/// - A recorded close frame is sent like any other; then the server has `closeTimeout` to
///   answer and close. Without a recorded close, the connection is closed (1000) `linger`
///   after the last frame.
///
/// A connection that cannot be made (refused, unresolvable host, failed TLS handshake) is
/// one error event without a connection id, and the recorded connections after it are not
/// tried: the server is the same for all of them.
public final class ReplayClient {
    public struct Options {
        public var endpoint: EndpointOptions
        /// Divides the recorded time between client frames; nil sends them without waiting.
        public var speed: Double?
        /// After the last frame of a connection whose recording has no client close: how
        /// long to wait for answers before closing.
        public var linger: Duration

        public init(endpoint: EndpointOptions = EndpointOptions(), speed: Double? = 1, linger: Duration = .seconds(2)) {
            self.endpoint = endpoint
            self.speed = speed
            self.linger = linger
        }
    }

    public let loop: EventLoop
    public let url: WebSocketURL
    public let script: ReplayScript
    public let options: Options
    private let report: (SessionEvent) -> Void
    /// Notes for the user (extension mismatches, frames not sent): one line each.
    public var warn: (String) -> Void = { _ in }
    /// Called once every connection has been replayed (or the replay was interrupted);
    /// `allOpened` is true when every connection tried completed its opening handshake.
    public var onFinished: (_ allOpened: Bool) -> Void = { _ in }
    /// Recorded connection id and whether its replay opened, in replay order.
    public private(set) var results: [(id: Int, opened: Bool)] = []

    private let connections: [ReplayConnection]
    private var nextIndex = 0
    private var current: ReplayClientRun?
    private var interrupted = false
    private var done = false

    public init(loop: EventLoop, url: WebSocketURL, script: ReplayScript, options: Options,
                report: @escaping (SessionEvent) -> Void) {
        self.loop = loop
        self.url = url
        self.script = script
        self.options = options
        self.report = report
        connections = script.connectionsToReplay
    }

    /// The recorded connections that will be replayed, in order.
    public var replayedConnectionIDs: [Int] { connections.map(\.id) }

    public func start() {
        for connection in script.connections where !ReplayScript.isReplayable(connection) {
            warn("#\(connection.id) not replayed: its opening handshake failed in the recording")
        }
        startNext()
    }

    /// Ctrl-C: stops sending, closes the current connection politely, starts no more.
    public func interrupt() {
        interrupted = true
        if let current {
            current.interrupt()
        } else {
            finish()
        }
    }

    private func startNext() {
        guard !interrupted, nextIndex < connections.count else { return finish() }
        let connection = connections[nextIndex]
        nextIndex += 1
        let run = ReplayClientRun(
            loop: loop, url: url, connection: connection,
            endpoint: Self.endpointOptions(options.endpoint, for: connection),
            speed: options.speed, linger: options.linger, report: report, warn: { [unowned self] in self.warn($0) })
        run.onFinished = { [unowned self, unowned run] opened in
            self.results.append((connection.id, opened))
            self.current = nil
            let left = self.connections.count - self.nextIndex
            if run.unreachable && left > 0 && !self.interrupted {
                self.interrupted = true
                self.warn("\(left) more recorded connection\(left == 1 ? "" : "s") not replayed: the server cannot be reached")
            }
            self.loop.runSoon { self.startNext() }
        }
        current = run
        run.start()
    }

    private func finish() {
        guard !done else { return }
        done = true
        // Interrupted: judged on the connections tried.
        onFinished(!results.isEmpty && results.allSatisfy(\.opened))
    }

    /// The endpoint options for one connection: the recorded subprotocol and extension
    /// offers unless `base` names its own.
    static func endpointOptions(_ base: EndpointOptions, for connection: ReplayConnection) -> EndpointOptions {
        var options = base
        options.echo = false
        if options.subprotocols.isEmpty {
            let offered = ReplayScript.listValues(connection.requestHeader("Sec-WebSocket-Protocol"))
            options.subprotocols = offered.isEmpty ? (connection.subprotocol.map { [$0] } ?? []) : offered
        }
        if options.extensionNegotiator == nil {
            let offered = connection.requestHeader("Sec-WebSocket-Extensions").filter { !$0.isEmpty }
            if !offered.isEmpty {
                options.extensionNegotiator = RecordedOfferNegotiator(offer: offered.joined(separator: ", "))
            } else if let extensions = connection.extensions {
                options.extensionNegotiator = RecordedOfferNegotiator(offer: extensions)
            }
        }
        return options
    }
}

/// The replay of one recorded connection.
final class ReplayClientRun {
    let loop: EventLoop
    let url: WebSocketURL
    let connection: ReplayConnection
    let endpoint: EndpointOptions
    let speed: Double?
    let linger: Duration
    let report: (SessionEvent) -> Void
    let warn: (String) -> Void
    var onFinished: (_ opened: Bool) -> Void = { _ in }
    /// The connection (TCP, or TLS) could not be made: the next ones would fare no better.
    private(set) var unreachable = false

    private let frames: [ReplayFrame]
    private var attempt: EndpointConnectAttempt?
    private var peer: Peer?
    private var opened = false
    private var finished = false
    private var stopped = false
    private var next = 0
    private var liveStart: UInt64 = 0
    private var timer: TimerID?
    /// A recorded close frame went out: the server's close completes the handshake and is
    /// not answered again.
    private var sentClose = false
    private var serverClosed = false

    init(loop: EventLoop, url: WebSocketURL, connection: ReplayConnection, endpoint: EndpointOptions,
         speed: Double?, linger: Duration, report: @escaping (SessionEvent) -> Void, warn: @escaping (String) -> Void) {
        self.loop = loop
        self.url = url
        self.connection = connection
        self.endpoint = endpoint
        self.speed = speed
        self.linger = linger
        self.report = report
        self.warn = warn
        frames = connection.frames(of: .client)
    }

    func start() {
        report(.connecting(url: url.description))
        attempt = EndpointConnector.connect(loop: loop, url: url, options: endpoint) { [weak self] result in
            guard let self else { return }
            self.attempt = nil
            switch result {
            case .failure(let error):
                // Not a connection yet (like `connect`'s error line): the server or the
                // way to it failed, not the recorded connection.
                self.report(.error(connection: nil, message: error.description))
                self.unreachable = true
                self.end()
            case .success(let tcp):
                let peer = Peer(id: self.connection.id, tcp: tcp, loop: self.loop, options: self.endpoint,
                                handshake: ClientHandshakeDriver(url: self.url, options: self.endpoint),
                                report: { [unowned self] event in self.handle(event) })
                peer.onFinished = { [unowned self] _ in self.end() }
                self.peer = peer
            }
        }
    }

    func interrupt() {
        stopped = true
        cancelTimer()
        if let attempt {
            attempt.cancel()
            self.attempt = nil
            report(.error(connection: connection.id, message: "interrupted while connecting"))
            return end()
        }
        guard let peer else { return }
        if !opened {
            peer.abandon(reason: "interrupted during the opening handshake")
        } else if sentClose {
            peer.tcp.close()
        } else {
            peer.close(code: .normalClosure, reason: "")
        }
    }

    private func handle(_ event: SessionEvent) {
        switch event {
        case .opened(_, _, _, _, let subprotocol, let extensions):
            opened = true
            // The recording's own pongs are replayed; automatic ones would be extra frames.
            peer?.connection?.autoPong = false
            report(event)
            checkNegotiation(subprotocol: subprotocol, extensions: extensions)
            loop.runSoon { [weak self] in
                guard let self else { return }
                self.liveStart = RecordingClock.monotonicNanoseconds()
                self.sendNext()
            }
            return
        case .frame(_, .incoming, let header, _, _) where header.opcode == .close:
            report(event)
            serverClosed = true
            serverStopped()
            return
        case .violation:
            report(event)
            serverStopped()
            return
        case .closed(let id, let code, let reason, let clean):
            // Our recorded close and the server's make a clean closing handshake, though
            // the connection object did not write ours.
            let both = sentClose && peer?.connection?.receivedClose != nil
            report(.closed(connection: id, code: code, reason: reason, clean: clean || both))
            return
        default:
            report(event)
        }
    }

    private func checkNegotiation(subprotocol: String?, extensions: String?) {
        let id = connection.id
        if Self.normalized(extensions) != Self.normalized(connection.extensions) {
            let now = extensions.map { "'\(SafeText.escape($0, limit: 200))'" } ?? "none"
            let then = connection.extensions.map { "'\(SafeText.escape($0, limit: 200))'" } ?? "none"
            warn("#\(id) the server answered extensions \(now), the recording has \(then): recorded compressed (RSV1) frames may not make sense to it")
        }
        if connection.opened && subprotocol != connection.subprotocol {
            let now = subprotocol.map { "'\(SafeText.escape($0, limit: 100))'" } ?? "none"
            let then = connection.subprotocol.map { "'\(SafeText.escape($0, limit: 100))'" } ?? "none"
            warn("#\(id) the server chose subprotocol \(now), the recording has \(then)")
        }
    }

    static func normalized(_ extensions: String?) -> String? {
        extensions.map { String($0.filter { $0 != " " && $0 != "\t" }).lowercased() }
    }

    /// The server closed (or we failed the connection): the frames left are pointless.
    private func serverStopped() {
        guard !stopped else { return }
        stopped = true
        cancelTimer()
        let left = frames[min(next, frames.count)...]
        // The recorded answer to a server's close is made anew by the connection.
        let pointless = left.filter { !$0.isClose }.count
        if pointless > 0 {
            warn("#\(connection.id) the server closed the connection: \(pointless) recorded frame(s) not sent")
        }
        if sentClose { loop.runSoon { [weak self] in self?.closeTCP() } }
    }

    private func sendNext() {
        guard !finished, !stopped, peer != nil else { return }
        guard next < frames.count else { return allSent() }
        let frame = frames[next]
        if let speed, next > 0 {
            let offset = Double(frame.tNs &- min(frames[0].tNs, frame.tNs)) / speed
            let due = liveStart &+ UInt64(min(offset, 1e18))
            let now = RecordingClock.monotonicNanoseconds()
            if due > now {
                timer = loop.schedule(after: .nanoseconds(Int64(due - now))) { [weak self] in
                    self?.timer = nil
                    self?.sendNow()
                }
                return
            }
        }
        sendNow()
    }

    private func sendNow() {
        guard !finished, !stopped, let peer, next < frames.count else { return }
        let frame = frames[next]
        next += 1
        if frame.isClose && !sentClose {
            sentClose = true
            // The server's close completes the handshake; do not answer it a second time.
            peer.connection?.autoCloseReply = false
        }
        peer.sendCrafted([frame.frame]) { [weak self] in
            self?.loop.runSoon { self?.sendNext() }
        }
    }

    private func allSent() {
        guard timer == nil else { return }
        if sentClose {
            if serverClosed { return closeTCP() }
            timer = loop.schedule(after: endpoint.closeTimeout) { [weak self] in
                self?.timer = nil
                self?.closeTCP()
            }
        } else {
            timer = loop.schedule(after: linger) { [weak self] in
                guard let self, !self.finished else { return }
                self.timer = nil
                self.peer?.close(code: .normalClosure, reason: "")
            }
        }
    }

    /// Ends the connection after a recorded close: the closed event follows.
    private func closeTCP() {
        guard !finished, let peer else { return }
        peer.tcp.close()
    }

    private func cancelTimer() {
        if let timer { loop.cancel(timer) }
        timer = nil
    }

    private func end() {
        guard !finished else { return }
        finished = true
        cancelTimer()
        peer = nil
        onFinished(opened)
    }
}
