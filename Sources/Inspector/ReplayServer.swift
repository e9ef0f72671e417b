import WebSocket
import WebSocketTransport
import WebSocketUtil

/// `wscope replay FILE --serve [HOST:]PORT`: a mock server that plays the server side of
/// one recorded connection to every client that connects, each client on its own.
///
/// Per client:
/// - The handshake accepts the recorded subprotocol (when the client offers it) and
///   answers a compatible permessage-deflate offer with the recorded response (unless the
///   options name their own).
/// - Server frame k goes out, with its recorded wire bytes, once the client has sent as
///   many frames as the recording shows client frames before it (frames of any kind,
///   control frames and malformed bytes included, counted in recording order), and no
///   sooner than its recorded distance (divided by `speed`; nil: none) from the event it
///   followed: the open, the previous server frame, or that client frame.
/// - That holds while the client's frames are the recorded ones (opcode, flags and
///   payload; mask keys may differ). A client that frames things differently (another
///   library: no pings, other fragment sizes) is paced on whole messages from its first
///   different frame on: frame k then waits for as many whole data messages as the
///   recorded client had sent before it, and for the client's close if the recorded one
///   came before it. A warning says when this happens.
/// - While the script plays, pings and closes are not answered automatically: the
///   recording's own pongs and close frames are played.
/// - When the script is played: a recorded close and the client's make the closing
///   handshake, and TCP is closed; otherwise the client's close is answered. Without
///   anything from the client for `idleTimeout`, the mock closes (1000) itself.
/// - A client that closes where the recording has no client close, or that stops (fails
///   the connection) before the script is played, gets its close answered; the rest of
///   the script is dropped.
public final class ReplayServer {
    public struct Options {
        public var endpoint: EndpointOptions
        /// Divides the recorded gaps before server frames; nil: no waiting.
        public var speed: Double?
        /// How long a client may stay silent once the script has been played.
        public var idleTimeout: Duration

        public init(endpoint: EndpointOptions = EndpointOptions(), speed: Double? = 1, idleTimeout: Duration = .seconds(5)) {
            self.endpoint = endpoint
            self.speed = speed
            self.idleTimeout = idleTimeout
        }
    }

    public let loop: EventLoop
    public let connection: ReplayConnection
    public let options: Options
    /// The endpoint options in effect (recorded subprotocol and extensions filled in).
    public let endpoint: EndpointOptions
    private let report: (SessionEvent) -> Void
    /// Notes for the user (handshake differences, script cut short): one line each.
    public var warn: (String) -> Void = { _ in }
    let script: [ReplayServerStep]
    /// The recorded client's frames, for telling whether a live client keeps to them.
    let recordedClientFrames: [ReplayFrame]
    let clientMessagesBeforeClose: Int?
    private var listener: TCPListener?
    private var clients: [Int: ReplayServedClient] = [:]
    private var nextID = 1

    /// Serves `connection` of a recording; `warn` hears about recorded extensions that
    /// cannot be answered.
    public init(loop: EventLoop, connection: ReplayConnection, options: Options, report: @escaping (SessionEvent) -> Void) {
        self.loop = loop
        self.connection = connection
        self.options = options
        self.report = report
        script = connection.serverSteps
        recordedClientFrames = connection.frames(of: .client)
        clientMessagesBeforeClose = connection.clientMessagesBeforeClose
        var endpoint = options.endpoint
        endpoint.echo = false
        if endpoint.subprotocols.isEmpty, let subprotocol = connection.subprotocol {
            endpoint.subprotocols = [subprotocol]
        }
        if endpoint.extensionNegotiator == nil, let extensions = connection.extensions {
            endpoint.extensionNegotiator = RecordedAnswerNegotiator(response: extensions)
        }
        self.endpoint = endpoint
    }

    /// Binds and starts accepting. Throws the transport's one-line error.
    public func start(host: String, port: Int) throws {
        if endpoint.extensionNegotiator == nil, let extensions = connection.extensions {
            warn("the recorded extensions '\(SafeText.escape(extensions, limit: 200))' cannot be answered: offers are declined")
        }
        let listener = try TCPListener(loop: loop, host: host, port: port) { [unowned self] tcp in
            self.accept(tcp)
        }
        self.listener = listener
        let shownHost = host.contains(":") ? "[\(host)]" : host
        report(.listening(address: "\(shownHost):\(listener.localPort)"))
    }

    public var localPort: Int? { listener?.localPort }

    public var connectionCount: Int { clients.count }

    private func accept(_ tcp: TCPConnection) {
        let id = nextID
        nextID += 1
        let client = ReplayServedClient(id: id, server: self)
        let peer = Peer(id: id, tcp: endpoint.serverStream(tcp), loop: loop, options: endpoint,
                        handshake: ServerHandshakeDriver(options: endpoint),
                        report: { [unowned client] event in client.handle(event) })
        client.peer = peer
        peer.onFinished = { [unowned self] peer in
            self.clients[peer.id]?.end()
            self.clients[peer.id] = nil
        }
        clients[id] = client
    }

    /// Stops accepting and closes every connection (1001 going away).
    public func shutdown() {
        listener?.close()
        listener = nil
        for client in clients.values { client.shutdown() }
    }

    fileprivate func forward(_ event: SessionEvent) { report(event) }
}

/// One client of the mock server and where it is in the script.
final class ReplayServedClient {
    let id: Int
    unowned let server: ReplayServer
    var peer: Peer?
    private var loop: EventLoop { server.loop }
    private var script: [ReplayServerStep] { server.script }
    /// When each client frame arrived (monotonic); its count is the frames received.
    private var clientFrameTimes: [UInt64] = []
    private var clientMessages = 0
    private var clientClosed = false
    /// The client's frames so far are the recorded ones.
    private var inStep = true
    /// Set when the client's close arrives: whether the recording has the client close there.
    private var closeWasExpected: Bool?
    private var openedAt: UInt64 = 0
    private var lastSentAt: UInt64 = 0
    private var next = 0
    private var opened = false
    private var sending = false
    private var timer: TimerID?
    private var idleTimer: TimerID?
    private var played = false
    private var sentClose = false
    private var finished = false

    init(id: Int, server: ReplayServer) {
        self.id = id
        self.server = server
    }

    func handle(_ event: SessionEvent) {
        switch event {
        case .opened(_, _, _, _, let subprotocol, let extensions):
            opened = true
            openedAt = RecordingClock.monotonicNanoseconds()
            // The script holds the recorded pongs and close frames.
            peer?.connection?.autoPong = false
            peer?.connection?.autoCloseReply = false
            server.forward(event)
            checkNegotiation(subprotocol: subprotocol, extensions: extensions)
            loop.runSoon { [weak self] in self?.advance() }
        case .frame(_, .incoming, let header, let payload, _):
            server.forward(event)
            clientSent(header, payload)
        case .violation:
            server.forward(event)
            clientSent(nil, [])
        case .closed(let id, let code, let reason, let clean):
            let both = sentClose && peer?.connection?.receivedClose != nil
            server.forward(.closed(connection: id, code: code, reason: reason, clean: clean || both))
        default:
            server.forward(event)
        }
    }

    /// Counts a client frame (nil header: bytes that broke the protocol).
    private func clientSent(_ header: Header?, _ payload: [UInt8]) {
        let index = clientFrameTimes.count
        clientFrameTimes.append(RecordingClock.monotonicNanoseconds())
        if inStep && !matchesRecording(index, header, payload) {
            inStep = false
            if next < script.count {
                let recorded = index < server.recordedClientFrames.count ? server.recordedClientFrames[index].frame.header : nil
                let what: String
                if let recorded, let header, recorded.opcode == header.opcode {
                    what = "(\(header.opcode.name)) differs from the recorded one in its flags or payload"
                } else {
                    what = "is \(Self.describe(header)) where the recording has " + (index < server.recordedClientFrames.count ? Self.describe(recorded) : "no more client frames")
                }
                server.warn("#\(id) client frame \(index + 1) \(what): pacing on whole messages from here")
            }
        }
        if ReplayConnection.completesMessage(header) { clientMessages += 1 }
        if header?.opcode == .close {
            clientClosed = true
            if inStep {
                closeWasExpected = true
            } else if let before = server.clientMessagesBeforeClose {
                closeWasExpected = clientMessages >= before
            } else {
                closeWasExpected = false
            }
        }
        if played { armIdleTimer() }
        loop.runSoon { [weak self] in self?.advance() }
    }

    private func matchesRecording(_ index: Int, _ header: Header?, _ payload: [UInt8]) -> Bool {
        guard index < server.recordedClientFrames.count else { return false }
        let recorded = server.recordedClientFrames[index].frame
        guard let header, let wanted = recorded.header else { return header == nil && recorded.header == nil }
        return header.opcode == wanted.opcode && header.fin == wanted.fin && header.rsv1 == wanted.rsv1
            && header.rsv2 == wanted.rsv2 && header.rsv3 == wanted.rsv3 && payload == recorded.payload
    }

    static func describe(_ header: Header?) -> String {
        guard let header else { return "malformed bytes" }
        return "a \(header.opcode.name)\(header.fin ? "" : " (no FIN)") frame"
    }

    private func checkNegotiation(subprotocol: String?, extensions: String?) {
        let recorded = server.connection
        if let wanted = recorded.subprotocol, subprotocol != wanted, server.options.endpoint.subprotocols.isEmpty {
            server.warn("#\(id) the client did not offer the recorded subprotocol '\(SafeText.escape(wanted, limit: 100))'")
        }
        if let wanted = recorded.extensions, extensions == nil, server.options.endpoint.extensionNegotiator == nil {
            server.warn("#\(id) the recorded extensions '\(SafeText.escape(wanted, limit: 200))' were not agreed with this client: recorded compressed (RSV1) frames will look malformed to it")
        }
    }

    /// Whether the client has sent what the recording shows before `step`.
    private func isDue(_ step: ReplayServerStep) -> Bool {
        if inStep { return clientFrameTimes.count >= step.clientFramesBefore }
        return clientMessages >= step.clientMessagesBefore && (!step.clientClosedBefore || clientClosed)
    }

    /// Sends the next server frames whose turn has come.
    private func advance() {
        guard !finished, opened, !sending, timer == nil, let peer else { return }
        guard next < script.count else {
            if !played {
                played = true
                if !sentClose {
                    peer.connection?.autoPong = true
                    peer.connection?.autoCloseReply = true
                }
            }
            return settle()
        }
        if closeWasExpected == false {
            return dropScript("the client closed where the recording does not")
        }
        let step = script[next]
        guard isDue(step) else {
            // Waiting for the client; if it can send no more, the script is over.
            if peer.connection?.isReadingStopped ?? true {
                dropScript("the client stopped before the script was played")
            }
            return
        }
        if let speed = server.options.speed {
            var anchor = max(openedAt, lastSentAt)
            if inStep {
                if step.clientFramesBefore > 0 { anchor = max(anchor, clientFrameTimes[step.clientFramesBefore - 1]) }
            } else if let last = clientFrameTimes.last, step.clientFramesBefore > 0 {
                anchor = max(anchor, last)
            }
            let gap = Double(step.frame.tNs &- min(step.anchorTNs, step.frame.tNs)) / speed
            let due = anchor &+ UInt64(min(gap, 1e18))
            let now = RecordingClock.monotonicNanoseconds()
            if due > now {
                timer = loop.schedule(after: .nanoseconds(Int64(due - now))) { [weak self] in
                    self?.timer = nil
                    self?.send()
                }
                return
            }
        }
        send()
    }

    private func dropScript(_ why: String) {
        server.warn("#\(id) \(why): \(script.count - next) recorded server frame(s) not sent")
        next = script.count
        played = true
        settle()
    }

    private func send() {
        guard !finished, let peer, next < script.count else { return }
        let frame = script[next].frame
        next += 1
        if frame.isClose { sentClose = true }
        lastSentAt = RecordingClock.monotonicNanoseconds()
        sending = true
        peer.sendCrafted([frame.frame]) { [weak self] in
            guard let self else { return }
            self.sending = false
            self.loop.runSoon { self.advance() }
        }
    }

    /// The script is over (played, or cut short by the client's close).
    private func settle() {
        guard !finished, let peer, let connection = peer.connection else { return }
        if let received = connection.receivedClose {
            if sentClose {
                // Both close frames were exchanged: the server closes TCP first.
                peer.tcp.close()
            } else {
                peer.close(code: received.code ?? .normalClosure, reason: "")
            }
            return
        }
        guard !connection.isReadingStopped else { return }
        armIdleTimer()
    }

    private func armIdleTimer() {
        guard !finished else { return }
        if let idleTimer { loop.cancel(idleTimer) }
        idleTimer = loop.schedule(after: server.options.idleTimeout) { [weak self] in
            guard let self, !self.finished, let peer = self.peer else { return }
            self.idleTimer = nil
            if self.sentClose {
                peer.tcp.close()
            } else {
                peer.close(code: .normalClosure, reason: "replay finished")
            }
        }
    }

    func shutdown() {
        guard !finished, let peer else { return }
        if let timer { loop.cancel(timer) }
        timer = nil
        next = script.count
        if sentClose || !opened {
            peer.tcp.close()
        } else {
            peer.close(code: .goingAway, reason: "server shutting down")
        }
    }

    func end() {
        finished = true
        if let timer { loop.cancel(timer) }
        if let idleTimer { loop.cancel(idleTimer) }
        timer = nil
        idleTimer = nil
        peer = nil
    }
}
