import WebSocket

/// What a `Connection` reports while it reads. Buffers are borrowed: they are valid only
/// during the callback.
public enum ConnectionEvent {
    /// A complete frame arrived. `wire` holds its exact bytes when `captureWire` is on
    /// (empty otherwise); `payload` is the unmasked payload for control frames and for
    /// data frames when `captureWire` is on.
    case frameReceived(Header, wire: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer)
    /// A frame was queued for sending (its exact bytes; `payload` unmasked).
    case frameSent(Header, wire: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer)
    /// A whole text or binary message, reassembled, decompressed and validated.
    case message(OpCode, UnsafeRawBufferPointer)
    case ping(UnsafeRawBufferPointer)
    case pong(UnsafeRawBufferPointer)
    /// The peer's close frame: its code (nil for an empty body, i.e. 1005) and reason.
    case closeReceived(code: CloseCode?, reason: String)
    /// The peer broke the protocol: the connection is failed, a close frame with the
    /// violation's code is queued, and nothing more is read. `wire` holds the bytes of the
    /// offending frame seen so far when `captureWire` is on.
    case violation(ProtocolViolation, wire: UnsafeRawBufferPointer)
    /// Both close frames have been exchanged (or the connection was failed): the transport
    /// should flush the output and close TCP (a server at once; a client after the server
    /// closed, or a short timeout).
    case closingHandshakeDone
}

/// The state of the closing handshake (RFC 6455 section 7).
public enum CloseState: Sendable, Equatable {
    case open
    /// We sent a close frame and wait for the peer's.
    case closeSent
    /// Both close frames were exchanged, or the connection was failed.
    case closed
}

/// A sans-I/O WebSocket endpoint: feed it the bytes the transport read, write out what it
/// queues in `output`. It reassembles fragmented messages with control frames interleaved,
/// answers pings, echoes the peer's close, validates UTF-8 as bytes arrive (failing fast,
/// across fragment and read boundaries), enforces the message size limit before buffering
/// past it, and drives the closing handshake. Frames are processed as a stream, so a frame
/// split over many reads is never buffered twice.
///
/// `receive` must not be called from inside `onEvent` (the rest of the outer call's input
/// would be processed after the inner call's): it stops with a precondition failure.
/// Everything else (sending, closing, changing settings) may be done from `onEvent`.
///
/// Hot-path state is declared `@exclusivity(unchecked)`: the runtime's dynamic exclusivity
/// checks (a thread-local access set, updated at every access of a class property) cost
/// about as much as the rest of the per-message work. That is sound because the
/// properties so marked are either only ever accessed instantaneously (loaded or stored,
/// never held across a call that can reach `onEvent`), or are the private reading state
/// touched only from inside `receive`, which the reentrancy guard keeps from overlapping.
/// `output` and `writer`, held across `.frameSent` callbacks, keep their checks.
public final class Connection {
    public let role: Role
    @exclusivity(unchecked) public var maxMessageBytes: Int
    /// Answer pings with pongs (on by default).
    @exclusivity(unchecked) public var autoPong = true
    /// Answer the peer's close with a close (on by default).
    @exclusivity(unchecked) public var autoCloseReply = true
    /// Keep each received frame's exact wire bytes for `.frameReceived` (inspectors).
    @exclusivity(unchecked) public var captureWire = false
    @exclusivity(unchecked) public var onEvent: (ConnectionEvent) -> Void = { _ in }
    @exclusivity(unchecked) public private(set) var closeState: CloseState = .open
    /// The code and reason of the close frame we sent, if any.
    public private(set) var sentClose: (code: CloseCode?, reason: String)?
    /// The peer's close frame, if one arrived.
    public private(set) var receivedClose: (code: CloseCode?, reason: String)?

    /// Bytes waiting to be written to the transport. Call `takeOutput` to drain them.
    public private(set) var output: [UInt8] = []

    public var writer: MessageWriter
    private let messageExtension: MessageExtension?

    // Reading state: only touched from inside `receive` (and `readingStopped`
    // instantaneously from `transportClosed`), see the class comment.
    @exclusivity(unchecked) private var headerBytes: [UInt8] = []
    @exclusivity(unchecked) private var current: Header?
    @exclusivity(unchecked) private var currentHeaderSize = 0
    @exclusivity(unchecked) private var payloadReceived: UInt64 = 0
    @exclusivity(unchecked) private var messageOpcode: OpCode?
    @exclusivity(unchecked) private var messageCompressed = false
    @exclusivity(unchecked) private var message: [UInt8] = []
    @exclusivity(unchecked) private var compressedChunk: [UInt8] = []
    @exclusivity(unchecked) private var control: [UInt8] = []
    @exclusivity(unchecked) private var wire: [UInt8] = []
    @exclusivity(unchecked) private var utf8 = UTF8Validator()
    @exclusivity(unchecked) private var readingStopped = false
    /// True while `receive` runs (the reentrancy guard).
    @exclusivity(unchecked) private var receiving = false

    public init(
        role: Role, maxMessageBytes: Int = 64 << 20, messageExtension: MessageExtension? = nil,
        fragmentSize: Int? = nil
    ) {
        self.role = role
        self.maxMessageBytes = maxMessageBytes
        self.messageExtension = messageExtension
        self.writer = MessageWriter(role: role, fragmentSize: fragmentSize, messageExtension: messageExtension)
        headerBytes.reserveCapacity(Header.maximumSize)
        control.reserveCapacity(125)
    }

    // MARK: Reading

    /// Processes bytes read from the transport; events are reported through `onEvent`.
    /// Stops reading at a protocol violation and after the peer's close frame.
    public func receive(_ bytes: UnsafeRawBufferPointer) {
        precondition(!receiving, "Connection.receive called from inside its own onEvent")
        receiving = true
        defer { receiving = false }
        var input = bytes
        while !input.isEmpty && !readingStopped {
            guard let header = current else {
                guard let consumed = readHeader(input) else { return }
                input = UnsafeRawBufferPointer(rebasing: input[consumed...])
                continue
            }
            let remaining = header.length - payloadReceived
            let take = Int(min(UInt64(input.count), remaining))
            let chunk = UnsafeRawBufferPointer(rebasing: input[..<take])
            input = UnsafeRawBufferPointer(rebasing: input[take...])
            if captureWire { wire.append(contentsOf: chunk) }
            guard consumePayload(chunk, of: header) else { return }
            if payloadReceived == header.length { finishFrame(header) }
        }
    }

    public func receive(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { receive($0) }
    }

    /// Decodes the next header, buffering a header cut by a read boundary. Returns the
    /// bytes consumed, or nil when all of `input` went into the partial header.
    private func readHeader(_ input: UnsafeRawBufferPointer) -> Int? {
        var consumed = 0
        let decoded: HeaderDecodeResult
        if headerBytes.isEmpty {
            decoded = Header.decode(input)
            if case .needMore = decoded {
                headerBytes.append(contentsOf: input)
                return nil
            }
        } else {
            // Complete the partial header byte by byte (at most 14 bytes).
            while true {
                let result = headerBytes.withUnsafeBytes { Header.decode($0) }
                if case .needMore = result {
                    guard consumed < input.count else { return nil }
                    headerBytes.append(input[consumed])
                    consumed += 1
                    continue
                }
                decoded = result
                break
            }
        }
        guard case .header(let header, let size) = decoded else { return nil }
        if captureWire {
            wire.removeAll(keepingCapacity: true)
            if headerBytes.isEmpty {
                wire.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[..<size]))
            } else {
                wire.append(contentsOf: headerBytes)
            }
        }
        let wasBuffered = !headerBytes.isEmpty
        if wasBuffered { headerBytes.removeAll(keepingCapacity: true) }
        startFrame(header, size: size)
        if readingStopped { return nil }
        let total = wasBuffered ? consumed : size
        if header.length == 0 { finishFrame(header) }
        return total
    }

    private func startFrame(_ header: Header, size: Int) {
        let allowedRSV: UInt8 = (messageExtension != nil && header.opcode.isData) ? 0b100 : 0
        if let violation = header.violation(receivedBy: role, headerSize: size, allowedRSV: allowedRSV) {
            return fail(violation)
        }
        if header.opcode == OpCode.continuationValue {
            guard messageOpcode != nil else { return fail(.unexpectedContinuation) }
            if header.rsv1 { return fail(.compressedContinuation) }
        } else if header.opcode.isData {
            if messageOpcode != nil { return fail(.expectedContinuation(header.opcode)) }
            messageOpcode = header.opcode
            messageCompressed = header.rsv1
            utf8.reset()
            clear(&message)
        }
        if header.opcode.isData && !messageCompressed
            && UInt64(message.count) + header.length > UInt64(maxMessageBytes) {
            return fail(.messageTooBig(limit: maxMessageBytes))
        }
        current = header
        currentHeaderSize = size
        payloadReceived = 0
        if header.opcode.isControl { clear(&control) }
    }

    /// Unmasks and routes a piece of payload. Returns false when the connection failed.
    private func consumePayload(_ chunk: UnsafeRawBufferPointer, of header: Header) -> Bool {
        let offset = Int(truncatingIfNeeded: payloadReceived)
        payloadReceived += UInt64(chunk.count)
        if header.opcode.isControl {
            appendUnmasked(chunk, to: &control, header: header, offset: offset)
            return true
        }
        if messageCompressed, let messageExtension {
            compressedChunk.removeAll(keepingCapacity: true)
            appendUnmasked(chunk, to: &compressedChunk, header: header, offset: offset)
            let before = message.count
            let failure = compressedChunk.withUnsafeBytes {
                messageExtension.decompress($0, isFinal: false, into: &message, limit: maxMessageBytes)
            }
            if let failure { fail(failure); return false }
            return validateText(from: before)
        }
        let before = message.count
        appendUnmasked(chunk, to: &message, header: header, offset: offset)
        return validateText(from: before)
    }

    private func appendUnmasked(_ chunk: UnsafeRawBufferPointer, to buffer: inout [UInt8], header: Header, offset: Int) {
        let start = buffer.count
        buffer.append(contentsOf: chunk)
        if header.masked {
            buffer.withUnsafeMutableBytes {
                Cipher.mask(UnsafeMutableRawBufferPointer(rebasing: $0[start...]), key: header.maskKey, offset: offset)
            }
        }
    }

    /// Validates the text bytes appended since `start`, failing fast on the first bad byte.
    private func validateText(from start: Int) -> Bool {
        guard messageOpcode == OpCode.textValue, start < message.count else { return true }
        let valid = message.withUnsafeBytes { utf8.validate(UnsafeRawBufferPointer(rebasing: $0[start...])) }
        if !valid { fail(.invalidUTF8) }
        return valid
    }

    private func finishFrame(_ header: Header) {
        current = nil
        if header.opcode.isControl {
            control.withUnsafeBytes { payload in
                reportReceived(header, payload: payload)
                handleControl(header.opcode, payload: payload)
            }
            return
        }
        if captureWire {
            let payloadStart = message.count - Int(header.length)
            if !messageCompressed && payloadStart >= 0 {
                message.withUnsafeBytes { reportReceived(header, payload: UnsafeRawBufferPointer(rebasing: $0[payloadStart...])) }
            } else {
                // The captured payload is still masked: unmask a copy into the scratch buffer.
                compressedChunk.removeAll(keepingCapacity: true)
                wire.withUnsafeBytes {
                    appendUnmasked(UnsafeRawBufferPointer(rebasing: $0[currentHeaderSize...]), to: &compressedChunk, header: header, offset: 0)
                }
                compressedChunk.withUnsafeBytes { reportReceived(header, payload: $0) }
            }
        } else {
            reportReceived(header, payload: UnsafeRawBufferPointer(start: nil, count: 0))
        }
        guard header.fin, let opcode = messageOpcode else { return }
        if messageCompressed, let messageExtension {
            let before = message.count
            let failure = messageExtension.decompress(
                UnsafeRawBufferPointer(start: nil, count: 0), isFinal: true, into: &message, limit: maxMessageBytes)
            if let failure { return fail(failure) }
            guard validateText(from: before) else { return }
        }
        if opcode == OpCode.textValue && !utf8.isComplete { return fail(.invalidUTF8) }
        messageOpcode = nil
        messageCompressed = false
        // After our close went out the peer may still be sending (RFC 6455 5.5.1): its
        // messages are delivered, not lost; only a completed close stops them.
        if closeState != .closed {
            message.withUnsafeBytes { onEvent(.message(opcode, $0)) }
        }
        message.removeAll(keepingCapacity: true)
    }

    private func reportReceived(_ header: Header, payload: UnsafeRawBufferPointer) {
        guard captureWire else {
            return onEvent(.frameReceived(header, wire: UnsafeRawBufferPointer(start: nil, count: 0), payload: payload))
        }
        wire.withUnsafeBytes { onEvent(.frameReceived(header, wire: $0, payload: payload)) }
    }

    private func handleControl(_ opcode: OpCode, payload: UnsafeRawBufferPointer) {
        // On raw values: matching `.ping` would load the lazily initialised statics.
        switch opcode.rawValue {
        case 0x9:  // ping
            onEvent(.ping(payload))
            if autoPong && closeState == .open { sendControl(OpCode(nibble: 0xA), payload: payload) }
        case 0xA:  // pong
            onEvent(.pong(payload))
        case 0x8:  // close
            switch CloseBody.decode(payload) {
            case .failure(let violation):
                fail(violation)
            case .success(let body):
                let reason = body.reasonText
                receivedClose = (body.code, reason)
                readingStopped = true
                onEvent(.closeReceived(code: body.code, reason: reason))
                if closeState == .open && autoCloseReply {
                    // Echo the peer's code, as section 5.5.1 suggests; an empty close is
                    // answered with 1000 (normal closure). sendClose completes the handshake.
                    sendClose(code: body.code ?? .normalClosure, reason: "")
                } else if closeState == .closeSent {
                    closeState = .closed
                    onEvent(.closingHandshakeDone)
                }
            }
        default:
            break
        }
    }

    /// Fails the connection (RFC 6455 section 7.1.7): queue a close with the violation's
    /// code unless one was already sent, and stop reading.
    private func fail(_ violation: ProtocolViolation) {
        readingStopped = true
        current = nil
        wire.withUnsafeBytes { onEvent(.violation(violation, wire: captureWire ? $0 : UnsafeRawBufferPointer(start: nil, count: 0))) }
        if closeState == .open {
            sendClose(code: violation.closeCode, reason: "")
        }
        closeState = .closed
        onEvent(.closingHandshakeDone)
    }

    private func fail(_ failure: ExtensionFailure) {
        switch failure {
        case .messageTooBig: fail(.messageTooBig(limit: maxMessageBytes))
        case .invalidData(let reason): fail(.invalidCompressedData(reason))
        }
    }

    /// The connection ended without a closing handshake (TCP closed, timeout): reading
    /// stops and the state becomes `.closed`.
    public func transportClosed() {
        readingStopped = true
        closeState = .closed
        closingDeadline = nil
    }

    // MARK: Closing handshake timeout

    /// How long the peer has to answer our close frame (RFC 6455 7.1.1: then the TCP
    /// connection may be dropped). Set before calling `sendClose`.
    public var closeTimeout: Duration = .seconds(3)

    /// When the closing handshake we started must be over; nil when none is pending. The
    /// transport arms a timer for it and then calls `closeTimedOut(now:)`.
    public private(set) var closingDeadline: ContinuousClock.Instant?

    /// Gives up on the peer's close once the deadline has passed: the connection is then
    /// closed (without a clean handshake) and the caller should drop TCP. Returns whether
    /// it gave up.
    @discardableResult
    public func closeTimedOut(now: ContinuousClock.Instant = .now) -> Bool {
        guard closeState == .closeSent, let closingDeadline, now >= closingDeadline else { return false }
        transportClosed()
        return true
    }

    /// True once reading stopped (peer's close, violation or transport gone).
    public var isReadingStopped: Bool { readingStopped }

    // MARK: Writing

    /// Queues a text or binary message (fragmented and compressed as configured).
    public func send(_ opcode: OpCode, payload: UnsafeRawBufferPointer) {
        guard closeState == .open else { return }
        // The observed path lives in its own function: a closure capturing a local array
        // boxes that array on the heap, and the box would be allocated for every message
        // even when nobody observes.
        if observesSent { return sendObserved(opcode, payload: payload, control: false) }
        writer.writeMessage(opcode, payload: payload, into: &output)
    }

    public func send(_ opcode: OpCode, payload: [UInt8]) {
        payload.withUnsafeBytes { send(opcode, payload: $0) }
    }

    public func sendText(_ text: String) {
        var text = text
        text.withUTF8 { send(.text, payload: UnsafeRawBufferPointer($0)) }
    }

    /// Queues a ping, pong or close frame with a raw payload (≤ 125 bytes).
    public func sendControl(_ opcode: OpCode, payload: UnsafeRawBufferPointer) {
        guard closeState == .open else { return }
        if observesSent { return sendObserved(opcode, payload: payload, control: true) }
        writer.writeControl(opcode, payload: payload, into: &output)
    }

    public func sendControl(_ opcode: OpCode, payload: [UInt8]) {
        payload.withUnsafeBytes { sendControl(opcode, payload: $0) }
    }

    /// Starts (or completes) the closing handshake with the given code and reason.
    public func sendClose(code: CloseCode?, reason: String) {
        guard closeState == .open else { return }
        let body = CloseBody.encode(code: code, reason: reason)
        sendControl(.close, payload: body)
        sentClose = (code, reason)
        if receivedClose == nil {
            closeState = .closeSent
            closingDeadline = ContinuousClock.now.advanced(by: closeTimeout)
        } else {
            // Answering the peer's close (automatically or by the application) completes it.
            closeState = .closed
            onEvent(.closingHandshakeDone)
        }
    }

    /// Queues bytes exactly as given (crafted frames); nothing is checked or reported.
    public func sendRaw(_ bytes: UnsafeRawBufferPointer) {
        output.append(contentsOf: bytes)
    }

    /// Hands the queued output to `write` and clears it (capacity is kept).
    public func takeOutput(_ write: (UnsafeRawBufferPointer) -> Void) {
        guard !output.isEmpty else { return }
        output.withUnsafeBytes(write)
        output.removeAll(keepingCapacity: true)
    }

    /// Reporting sent frames costs a copy of headers; only do it when someone listens.
    @exclusivity(unchecked) public var observesSent = false

    /// Writes a message or control frame and reports each frame as `.frameSent`.
    @inline(never)
    private func sendObserved(_ opcode: OpCode, payload: UnsafeRawBufferPointer, control: Bool) {
        var sent: [(Header, Int)] = []
        if control {
            writer.writeControl(opcode, payload: payload, into: &output, observe: { sent.append(($0, $1)) })
        } else {
            writer.writeMessage(opcode, payload: payload, into: &output, observe: { sent.append(($0, $1)) })
        }
        reportSent(sent)
    }

    private func reportSent(_ frames: [(Header, Int)]) {
        for (index, (header, frameStart)) in frames.enumerated() {
            let frameEnd = index + 1 < frames.count ? frames[index + 1].1 : output.count
            output.withUnsafeBytes { bytes in
                let wireBytes = UnsafeRawBufferPointer(rebasing: bytes[frameStart..<frameEnd])
                // The frame's own payload, unmasked (for a compressed message this is the
                // compressed bytes, which is what the wire carried).
                var payload = Array(wireBytes[header.encodedSize...])
                if header.masked {
                    payload.withUnsafeMutableBytes { Cipher.mask($0, key: header.maskKey) }
                }
                payload.withUnsafeBytes { onEvent(.frameSent(header, wire: wireBytes, payload: $0)) }
            }
        }
    }
}

/// Empties a buffer, keeping its capacity; skips the (not free) call when already empty.
@inline(__always)
private func clear(_ buffer: inout [UInt8]) {
    if !buffer.isEmpty { buffer.removeAll(keepingCapacity: true) }
}

extension OpCode {
    // `OpCode.text` and friends are stored `static let`s of another module: every use goes
    // through a lazy-initialisation check. These fold to constants.
    @inline(__always) static var continuationValue: OpCode { OpCode(nibble: 0x0) }
    @inline(__always) static var textValue: OpCode { OpCode(nibble: 0x1) }
}
