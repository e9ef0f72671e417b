import WebSocket
import WebSocketTransport
import WebSocketUtil

/// Settings shared by the client and server endpoints.
public struct EndpointOptions {
    /// Send every received text and binary message back as the same type.
    public var echo = false
    public var maxMessageBytes = 64 << 20
    /// Largest payload per outgoing frame; nil sends each message as one frame.
    public var fragmentSize: Int?
    public var subprotocols: [String] = []
    public var extraHeaders: [(String, String)] = []
    /// How long to wait for the peer's part of the closing handshake.
    public var closeTimeout: Duration = .seconds(3)
    /// Report every frame with its bytes (off for `--quiet` benchmarks).
    public var reportFrames = true
    /// Negotiates and applies a per-message extension (permessage-deflate); nil disables.
    public var extensionNegotiator: ExtensionNegotiator?
    /// Clients of wss:// URLs: trust store, client certificate or no verification. nil: a
    /// context with the system's trust store is made for each connection.
    public var tlsClient: TLSContext?
    /// Servers: every accepted connection speaks TLS with this context (wss); nil: plain.
    public var tlsServer: TLSContext?
    /// Clients: the TCP connect and, for wss://, the TLS handshake must finish within this.
    public var connectTimeout: Duration = .seconds(10)

    public init() {}
}

/// Negotiates a per-message extension in the opening handshake. Implemented by the
/// deflate glue; kept abstract so that the session code does not know zlib.
public protocol ExtensionNegotiator {
    /// Client: the `Sec-WebSocket-Extensions` offer.
    func clientOffer() -> String
    /// Client: validates the server's answer (nil: declined) and returns the extension.
    func clientAccept(response: String?, role: Role) throws -> MessageExtension?
    /// Server: answers an offer; nil declines. The extension is created once the handshake
    /// succeeds.
    func serverNegotiate(offers: [String], role: Role) -> (response: String, makeExtension: () -> MessageExtension)?
}

/// One WebSocket connection over TCP, from the opening handshake to the TCP close. It
/// moves bytes between the transport and the sans-I/O `Connection` and turns what happens
/// into `SessionEvent`s.
final class Peer: ConnectionDelegate {
    let id: Int
    let tcp: StreamConnection
    let loop: EventLoop
    let options: EndpointOptions
    let report: (SessionEvent) -> Void
    var onFinished: (Peer) -> Void = { _ in }
    private(set) var connection: Connection?
    /// Frames carry transformed (compressed) payloads, so whole messages are reported too.
    private var reportsMessages = false
    private var handshake: HandshakeDriver
    private var handshakeBuffer: [UInt8] = []
    private var closeTimer: TimerID?
    private var finished = false
    private var readingPaused = false
    /// A handshake failure was already reported.
    private var handshakeReported = false
    private static let outputHighWater = 8 << 20
    private var craftedQueue: [CraftedWrite] = []
    private var craftedDone: [() -> Void] = []
    private var writingCrafted = false

    init(id: Int, tcp: StreamConnection, loop: EventLoop, options: EndpointOptions, handshake: HandshakeDriver,
         report: @escaping (SessionEvent) -> Void) {
        self.id = id
        self.tcp = tcp
        self.loop = loop
        self.options = options
        self.handshake = handshake
        self.report = report
        tcp.delegate = self
        // A client's TLS connection arrives with its handshake done; a server's is
        // reported through `connectionDidEstablishTLS`.
        if let tls = tcp as? TLSConnection, let info = tls.negotiated {
            report(.tls(connection: id, info: info))
        }
        if let request = handshake.initialRequest() {
            tcp.write(request)
        }
    }

    // MARK: Transport callbacks

    func connection(_ connection: StreamConnection, didRead bytes: UnsafeRawBufferPointer) {
        if let open = self.connection {
            open.receive(bytes)
            flush()
            return
        }
        handshakeBuffer.append(contentsOf: bytes)
        let step = handshakeBuffer.withUnsafeBytes { handshake.advance($0) }
        switch step {
        case .needMore:
            return
        case .reply(let bytes, let closeAfter, let failure):
            tcp.write(bytes)
            if let failure {
                handshakeReported = true
                report(.handshakeFailed(connection: id, peer: tcp.remoteDescription, reason: failure))
            }
            if closeAfter { finish(closeTCP: true) }
        case .failed(let reason):
            handshakeReported = true
            report(.handshakeFailed(connection: id, peer: tcp.remoteDescription, reason: reason))
            finish(closeTCP: true)
        case .open(let reply, let consumed, let info, let messageExtension):
            if let reply { tcp.write(reply) }
            open(info: info, messageExtension: messageExtension, leftover: consumed)
        }
    }

    func connectionDidEstablishTLS(_ connection: StreamConnection, info: TLSInfo) {
        report(.tls(connection: id, info: info))
    }

    func connectionDidClose(_ connection: StreamConnection, error: TransportError?) {
        if let error, !finished {
            if self.connection == nil && !handshakeReported {
                // Before the opening handshake completed (a TLS failure, a reset): that is
                // the handshake's failure, said once.
                handshakeReported = true
                report(.handshakeFailed(connection: id, peer: tcp.remoteDescription, reason: Self.withoutPeer(error, tcp.remoteDescription)))
            } else {
                report(.error(connection: id, message: error.description))
            }
        }
        finish(closeTCP: false)
    }

    /// "TLS: certificate has expired" from "TLS handshake with 127.0.0.1:443 failed:
    /// certificate has expired": the handshake-failed line names the peer already.
    static func withoutPeer(_ error: TransportError, _ peer: String) -> String {
        guard error.kind == .tls else { return error.description }
        for prefix in ["TLS handshake with \(peer) failed: ", "TLS with \(peer) failed: "] where error.description.hasPrefix(prefix) {
            return "TLS: " + error.description.dropFirst(prefix.count)
        }
        return error.description
    }

    func connectionDidDrain(_ connection: StreamConnection) {
        if readingPaused {
            readingPaused = false
            tcp.resumeReading()
        }
    }

    // MARK: Open connection

    private func open(info: HandshakeInfo, messageExtension: MessageExtension?, leftover consumed: Int) {
        let connection = Connection(
            role: handshake.role, maxMessageBytes: options.maxMessageBytes,
            messageExtension: messageExtension, fragmentSize: options.fragmentSize)
        connection.closeTimeout = options.closeTimeout
        connection.captureWire = options.reportFrames
        connection.observesSent = options.reportFrames
        connection.onEvent = { [unowned self] event in self.handle(event) }
        reportsMessages = options.reportFrames && messageExtension != nil
        self.connection = connection
        report(.opened(
            connection: id, peer: tcp.remoteDescription, request: info.request, response: info.response,
            subprotocol: info.subprotocol, extensions: info.extensions))
        let rest = handshakeBuffer.count - consumed
        if rest > 0 {
            handshakeBuffer.withUnsafeBytes { connection.receive(UnsafeRawBufferPointer(rebasing: $0[consumed...])) }
        }
        handshakeBuffer = []
        flush()
    }

    private func handle(_ event: ConnectionEvent) {
        switch event {
        case .frameReceived(let header, let wire, let payload):
            report(.frame(connection: id, direction: .incoming, header: header, payload: Array(payload), wire: Array(wire)))
        case .frameSent(let header, let wire, let payload):
            report(.frame(connection: id, direction: .outgoing, header: header, payload: Array(payload), wire: Array(wire)))
        case .message(let opcode, let payload):
            if reportsMessages {
                report(.message(connection: id, direction: .incoming, opcode: opcode, payload: Array(payload)))
            }
            if options.echo {
                if reportsMessages {
                    report(.message(connection: id, direction: .outgoing, opcode: opcode, payload: Array(payload)))
                }
                connection?.send(opcode, payload: payload)
            }
        case .ping, .pong, .closeReceived:
            break
        case .violation(let violation, let wire):
            report(.violation(connection: id, description: violation.description, code: violation.closeCode, wire: Array(wire)))
        case .closingHandshakeDone:
            break
        }
    }

    /// Writes what the connection queued and closes TCP when the closing handshake is over.
    private func flush() {
        guard let connection else { return }
        connection.takeOutput { tcp.write($0) }
        if tcp.pendingOutputBytes > Peer.outputHighWater && !readingPaused {
            readingPaused = true
            tcp.pauseReading()
        }
        guard connection.closeState != .open, !finished else { return }
        if connection.closeState == .closed {
            // RFC 6455 7.1.1: the server closes TCP first; a client waits for it, briefly.
            if handshake.role == .server || connection.isReadingStopped && connection.receivedClose == nil {
                finish(closeTCP: true)
            } else {
                armCloseTimer()
            }
        } else {
            armCloseTimer()
        }
    }

    private func armCloseTimer() {
        guard closeTimer == nil else { return }
        closeTimer = loop.schedule(after: options.closeTimeout) { [weak self] in
            guard let self, !self.finished else { return }
            // This timer and the connection's deadline come from the same timeout; the
            // timer may fire a hair before the deadline, and the drop happens regardless.
            self.connection?.closeTimedOut(now: .now.advanced(by: self.options.closeTimeout))
            self.finish(closeTCP: true)
        }
    }

    /// Starts the closing handshake from our side.
    func close(code: CloseCode, reason: String) {
        if writingCrafted { return craftedDone.append { [weak self] in self?.close(code: code, reason: reason) } }
        guard let connection else { return finish(closeTCP: true) }
        connection.sendClose(code: code, reason: reason)
        flush()
    }

    func sendText(_ text: String) {
        send(.text, payload: Array(text.utf8))
    }

    /// Sends a data message, split into frames of `fragmentSize` bytes when given.
    func send(_ opcode: OpCode, payload: [UInt8], fragmentSize: Int? = nil) {
        if writingCrafted {
            return craftedDone.append { [weak self] in self?.send(opcode, payload: payload, fragmentSize: fragmentSize) }
        }
        guard let connection else { return }
        if reportsMessages {
            report(.message(connection: id, direction: .outgoing, opcode: opcode, payload: payload))
        }
        let saved = connection.writer.fragmentSize
        if let fragmentSize { connection.writer.fragmentSize = fragmentSize }
        connection.send(opcode, payload: payload)
        connection.writer.fragmentSize = saved
        flush()
    }

    /// Writes crafted frames byte for byte, in order. The pieces of a `chop=N` frame go out
    /// as separate TCP writes a moment apart (TCP_NODELAY is on), so the peer really gets
    /// the frame in pieces. `done` runs once everything was handed to the socket.
    func sendCrafted(_ frames: [CraftedFrame], done: @escaping () -> Void = {}) {
        guard connection != nil, !finished else { return done() }
        for frame in frames {
            for crafted in frame.repetitions() {
                let pieces = crafted.writes
                for (index, piece) in pieces.enumerated() {
                    craftedQueue.append(CraftedWrite(bytes: Array(piece), frame: index == 0 ? crafted : nil,
                                                     pauseAfter: index + 1 < pieces.count))
                }
            }
        }
        craftedDone.append(done)
        if !writingCrafted { writeCrafted() }
    }

    private struct CraftedWrite {
        var bytes: [UInt8]
        /// Set on the first piece of each frame: reported when it goes out.
        var frame: CraftedFrame?
        var pauseAfter: Bool
    }

    private func writeCrafted() {
        writingCrafted = true
        flush()
        while !craftedQueue.isEmpty {
            guard !finished else { break }
            let next = craftedQueue.removeFirst()
            if let frame = next.frame { reportCrafted(frame) }
            tcp.write(next.bytes)
            if next.pauseAfter {
                _ = loop.schedule(after: .milliseconds(2)) { [weak self] in self?.writeCrafted() }
                return
            }
        }
        craftedQueue.removeAll()
        writingCrafted = false
        let callbacks = craftedDone
        craftedDone = []
        for callback in callbacks { callback() }
    }

    private func reportCrafted(_ frame: CraftedFrame) {
        guard options.reportFrames else { return }
        if let header = frame.header {
            report(.frame(connection: id, direction: .outgoing, header: header, payload: frame.payload, wire: frame.wire))
        } else if case .header(let header, let size) = Header.decode(frame.wire),
                  UInt64(frame.wire.count - size) == header.length {
            // raw: bytes that happen to form one frame are shown as that frame.
            var payload = Array(frame.wire[size...])
            if header.masked { payload.withUnsafeMutableBytes { Cipher.mask($0, key: header.maskKey) } }
            report(.frame(connection: id, direction: .outgoing, header: header, payload: payload, wire: frame.wire))
        } else {
            report(.rawSent(connection: id, wire: frame.wire))
        }
    }

    func sendControl(_ opcode: OpCode, payload: [UInt8]) {
        if writingCrafted { return craftedDone.append { [weak self] in self?.sendControl(opcode, payload: payload) } }
        connection?.sendControl(opcode, payload: payload)
        flush()
    }

    /// Gives up on a connection that has not opened yet.
    func abandon(reason: String) {
        guard !finished else { return }
        report(.error(connection: id, message: reason))
        handshakeReported = true
        finish(closeTCP: true)
    }

    private func finish(closeTCP: Bool) {
        guard !finished else { return }
        finished = true
        if let closeTimer { loop.cancel(closeTimer) }
        if closeTCP { tcp.close() }
        if let connection {
            connection.transportClosed()
            let clean = connection.sentClose != nil && connection.receivedClose != nil
            // The peer's code when it sent one; else ours when we failed or closed the
            // connection; 1006 when TCP just went away.
            let code: CloseCode
            let reason: String
            if let received = connection.receivedClose {
                code = received.code ?? .noStatusReceived
                reason = received.reason
            } else if let sent = connection.sentClose {
                code = sent.code ?? .noStatusReceived
                reason = sent.reason
            } else {
                code = .abnormalClosure
                reason = ""
            }
            report(.closed(connection: id, code: code, reason: reason, clean: clean))
        } else if !handshakeReported {
            report(.handshakeFailed(connection: id, peer: tcp.remoteDescription,
                                    reason: "connection closed during the opening handshake"))
        }
        onFinished(self)
    }
}
