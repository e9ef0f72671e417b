import WebSocket
import WebSocketTransport
import WebSocketUtil

/// `wscope listen`: accepts WebSocket clients, many at once, on one event loop; over TLS
/// (wss) when `options.tlsServer` is set.
public final class ServerEndpoint {
    public let loop: EventLoop
    public let options: EndpointOptions
    private let report: (SessionEvent) -> Void
    private var listener: TCPListener?
    private var peers: [Int: Peer] = [:]
    private var nextID = 1

    public init(loop: EventLoop, options: EndpointOptions, report: @escaping (SessionEvent) -> Void) {
        self.loop = loop
        self.options = options
        self.report = report
    }

    /// Binds and starts accepting. Throws the transport's one-line error (busy port...).
    public func start(host: String, port: Int) throws {
        let listener = try TCPListener(loop: loop, host: host, port: port) { [unowned self] tcp in
            self.accept(tcp)
        }
        self.listener = listener
        let shownHost = host.contains(":") ? "[\(host)]" : host
        report(.listening(address: "\(shownHost):\(listener.localPort)"))
    }

    public var localPort: Int? { listener?.localPort }

    private func accept(_ tcp: TCPConnection) {
        let id = nextID
        nextID += 1
        let stream = options.serverStream(tcp)
        let peer = Peer(id: id, tcp: stream, loop: loop, options: options,
                        handshake: ServerHandshakeDriver(options: options), report: report)
        peer.onFinished = { [unowned self] peer in self.peers[peer.id] = nil }
        peers[id] = peer
    }

    /// Stops accepting and starts the closing handshake (1001 going away) everywhere.
    public func shutdown() {
        listener?.close()
        listener = nil
        for peer in peers.values { peer.close(code: .goingAway, reason: "server shutting down") }
    }

    public var connectionCount: Int { peers.count }

    // MARK: Sending on one connection

    /// Ids of the connections whose opening handshake completed and whose closing
    /// handshake has not started, oldest first.
    public var openConnectionIDs: [Int] {
        peers.values.filter { $0.connection?.closeState == .open }.map(\.id).sorted()
    }

    /// The open connection `id`, or nil when it never opened or is over (the send
    /// methods then do nothing and return false).
    private func openPeer(_ id: Int) -> Peer? {
        guard let peer = peers[id], peer.connection != nil else { return nil }
        return peer
    }

    /// Sends a text message to connection `id` (split by `options.fragmentSize`).
    @discardableResult
    public func sendText(_ text: String, to id: Int) -> Bool {
        guard let peer = openPeer(id) else { return false }
        peer.sendText(text)
        return true
    }

    /// Sends a data message to connection `id`, in frames of `fragmentSize` when given.
    @discardableResult
    public func send(_ opcode: OpCode, payload: [UInt8], fragmentSize: Int? = nil, to id: Int) -> Bool {
        guard let peer = openPeer(id) else { return false }
        peer.send(opcode, payload: payload, fragmentSize: fragmentSize)
        return true
    }

    /// Writes frames made from frame specs to connection `id` byte for byte, as they are
    /// (see `FrameSpec`; parse them with `role: .server` for unmasked frames). `done` runs
    /// once they were handed to the socket, or at once when nothing is sent.
    @discardableResult
    public func sendCrafted(_ frames: [CraftedFrame], to id: Int, done: @escaping () -> Void = {}) -> Bool {
        guard let peer = openPeer(id) else {
            done()
            return false
        }
        peer.sendCrafted(frames, done: done)
        return true
    }

    @discardableResult
    public func ping(_ payload: [UInt8], to id: Int) -> Bool {
        guard let peer = openPeer(id) else { return false }
        peer.sendControl(.ping, payload: payload)
        return true
    }

    /// Starts the closing handshake of connection `id` with `code` and `reason` (after
    /// what was queued before it has gone out).
    @discardableResult
    public func close(code: CloseCode = .normalClosure, reason: String = "", connection id: Int) -> Bool {
        guard let peer = openPeer(id) else { return false }
        peer.close(code: code, reason: reason)
        return true
    }
}

/// `wscope connect`: one client connection, over TLS for wss:// URLs (`options.tlsClient`).
public final class ClientEndpoint {
    public let loop: EventLoop
    public let url: WebSocketURL
    public let options: EndpointOptions
    private let report: (SessionEvent) -> Void
    private var peer: Peer?
    private var attempt: EndpointConnectAttempt?
    /// Called once when the connection is over; `opened` tells whether the handshake
    /// completed (exit status 0) or not (1).
    public var onFinished: (_ opened: Bool) -> Void = { _ in }
    private var opened = false
    private var pending: [(Peer) -> Void] = []
    /// Open, and the actions queued before that have run.
    private var ready = false

    public init(loop: EventLoop, url: WebSocketURL, options: EndpointOptions, report: @escaping (SessionEvent) -> Void) {
        self.loop = loop
        self.url = url
        self.options = options
        self.report = report
    }

    public func start() {
        report(.connecting(url: url.description))
        attempt = EndpointConnector.connect(loop: loop, url: url, options: options) { [unowned self] result in
            self.attempt = nil
            switch result {
            case .failure(let error):
                self.report(.error(connection: nil, message: error.description))
                self.onFinished(false)
            case .success(let tcp):
                let peer = Peer(id: 1, tcp: tcp, loop: self.loop, options: self.options,
                                handshake: ClientHandshakeDriver(url: self.url, options: self.options),
                                report: { [unowned self] event in
                                    self.report(event)
                                    if case .opened = event {
                                        self.opened = true
                                        self.loop.runSoon { self.runPending() }
                                    }
                                })
                peer.onFinished = { [unowned self] _ in
                    self.peer = nil
                    self.onFinished(self.opened)
                }
                self.peer = peer
            }
        }
    }

    /// Runs `action` now when the connection is open, or once it opens, so that input typed
    /// (or piped) before the handshake completes is sent rather than lost.
    private func whenOpen(_ action: @escaping (Peer) -> Void) {
        if ready, let peer {
            action(peer)
        } else if !ready {
            pending.append(action)
        }
    }

    private func runPending() {
        guard let peer else { return }
        ready = true
        let actions = pending
        pending = []
        for action in actions { action(peer) }
    }

    public func sendText(_ text: String) { whenOpen { $0.sendText(text) } }

    public func send(_ opcode: OpCode, payload: [UInt8], fragmentSize: Int? = nil) {
        whenOpen { $0.send(opcode, payload: payload, fragmentSize: fragmentSize) }
    }

    /// Writes frames made from frame specs byte for byte (see `FrameSpec`).
    public func sendCrafted(_ frames: [CraftedFrame], done: @escaping () -> Void = {}) {
        whenOpen { $0.sendCrafted(frames, done: done) }
    }

    public func ping(_ payload: [UInt8]) { whenOpen { $0.sendControl(.ping, payload: payload) } }

    /// Starts the closing handshake once everything queued before it has been sent.
    public func close(code: CloseCode = .normalClosure, reason: String = "") {
        whenOpen { $0.close(code: code, reason: reason) }
    }

    /// Ctrl-C: a polite close when open, otherwise give up on the opening handshake.
    public func interrupt() {
        if ready, let peer {
            peer.close(code: .normalClosure, reason: "")
        } else if let peer {
            pending = []
            peer.abandon(reason: "interrupted during the opening handshake")
        } else {
            attempt?.cancel()
            attempt = nil
            onFinished(false)
        }
    }
}
