import WebSocket
import WebSocketDeflate
import WebSocketUtil

// `wscope replay`: what a recording holds, seen as a script for either side.
//
// A recording is made by one endpoint (its header's mode): in a `connect` recording wscope
// was the client, so the client's frames are the outgoing ones; in a `listen` recording
// wscope was the server, so the client's frames are the incoming ones. Bytes that did not
// form a valid frame count too: `rawSent` bytes are wscope's own, `violation` bytes are
// its peer's. Every frame is kept with its exact recorded wire bytes, so that replaying it
// writes the same bytes (the same mask keys, the same lying length fields).

/// A recording that cannot be replayed, as one line for the user.
public struct ReplayError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// Which side of a connection wrote a frame.
public enum ReplaySide: Sendable, Hashable {
    case client
    case server
}

/// One recorded frame (or run of raw bytes) of one side, ready to be written again.
public struct ReplayFrame: Sendable {
    /// Nanoseconds since the recording's start.
    public var tNs: UInt64
    /// The line of the recording it came from.
    public var line: Int
    /// Header and payload as recorded (no header for bytes that were not one frame), and
    /// the exact wire bytes.
    public var frame: CraftedFrame

    public var isClose: Bool { frame.header?.opcode == .close }
}

/// One recorded connection: its opening handshake and its frames in recording order.
public struct ReplayConnection: Sendable {
    public var id: Int
    /// From the `open` event; nil when the recording has none for this connection.
    public var request: String?
    public var response: String?
    public var subprotocol: String?
    public var extensions: String?
    /// Recorded time of the `open` event (of the first frame when there is none).
    public var openTNs: UInt64 = 0
    /// The handshake failed (a `handshake_failed` event).
    public var handshakeFailed = false
    /// Both sides' frames, in recording order.
    public var steps: [(side: ReplaySide, frame: ReplayFrame)] = []

    public init(id: Int) {
        self.id = id
    }

    public var opened: Bool { request != nil }

    public func frames(of side: ReplaySide) -> [ReplayFrame] {
        steps.compactMap { $0.side == side ? $0.frame : nil }
    }

    /// The server's frames with what the recording shows the client had sent before each
    /// (the mock server waits for that much) and the recorded time of the last event each
    /// follows (the open event, the previous server frame, or the last client frame before
    /// it): the mock keeps the recorded gap from there.
    public var serverSteps: [ReplayServerStep] {
        var result: [ReplayServerStep] = []
        var frames = 0
        var messages = 0
        var closed = false
        var anchor = openTNs
        for step in steps {
            switch step.side {
            case .client:
                frames += 1
                if ReplayConnection.completesMessage(step.frame.frame.header) { messages += 1 }
                if step.frame.isClose { closed = true }
                anchor = max(anchor, step.frame.tNs)
            case .server:
                result.append(ReplayServerStep(
                    frame: step.frame, clientFramesBefore: frames, clientMessagesBefore: messages,
                    clientClosedBefore: closed, anchorTNs: min(anchor, step.frame.tNs)))
                anchor = max(anchor, step.frame.tNs)
            }
        }
        return result
    }

    /// How many whole data messages the recorded client sent before its close; nil when
    /// the recorded client did not close.
    public var clientMessagesBeforeClose: Int? {
        var messages = 0
        for step in steps where step.side == .client {
            if step.frame.isClose { return messages }
            if ReplayConnection.completesMessage(step.frame.frame.header) { messages += 1 }
        }
        return nil
    }

    /// A final data frame: text, binary or continuation with FIN.
    static func completesMessage(_ header: Header?) -> Bool {
        guard let header, header.fin else { return false }
        return header.opcode == .text || header.opcode == .binary || header.opcode == .continuation
    }

    /// Values of a header of the recorded request (case-insensitive name), in order.
    public func requestHeader(_ name: String) -> [String] {
        guard let request else { return [] }
        return ReplayScript.headerValues(name, in: request)
    }
}

/// One server frame of a recorded connection and what the client had sent before it.
public struct ReplayServerStep: Sendable {
    public var frame: ReplayFrame
    /// Client frames of any kind (control frames and malformed bytes included).
    public var clientFramesBefore: Int
    /// Whole client data messages (final data frames).
    public var clientMessagesBefore: Int
    /// The client's close frame is among those frames.
    public var clientClosedBefore: Bool
    /// Recorded time of the last event the frame follows.
    public var anchorTNs: UInt64
}

/// A recording read for replay: its header and its connections in the order they opened.
public struct ReplayScript: Sendable {
    public var header: RecordingHeader
    public var connections: [ReplayConnection]
    /// The reader's warnings (truncated last line, skipped lines, unknown event types).
    public var warnings: [String]

    /// The side wscope played in the recording.
    public var recordedRole: Role

    public init(header: RecordingHeader, connections: [ReplayConnection], warnings: [String] = []) throws(ReplayError) {
        self.header = header
        self.connections = connections
        self.warnings = warnings
        self.recordedRole = try Self.role(of: header)
    }

    static func role(of header: RecordingHeader) throws(ReplayError) -> Role {
        switch header.mode {
        case "connect": return .client
        case "listen": return .server
        default:
            throw ReplayError(
                "cannot replay a recording of mode '\(SafeText.escape(header.mode, limit: 40))': only 'connect' and 'listen' recordings say which frames are the client's")
        }
    }

    /// Reads a recording file. Errors name the file and, for a bad line, its number.
    public static func load(path: String, skipBadLines: Bool = false) throws(ReplayError) -> ReplayScript {
        do {
            let reader = try RecordingReader(path: path, options: .init(skipBadLines: skipBadLines))
            return try read(reader)
        } catch let error as ReplayError {
            throw ReplayError("\(path): \(error.description)")
        } catch let error as RecordingError {
            // Already names the file.
            if case .cannotOpen = error { throw ReplayError(error.description) }
            let hint: String
            if case .badLine = error, !skipBadLines { hint = " (--skip-bad-lines continues past bad lines)" } else { hint = "" }
            throw ReplayError("\(path): \(error)\(hint)")
        } catch {
            throw ReplayError("\(path): \(error)")
        }
    }

    /// Reads every event of `reader` (its header decides which side is which).
    public static func read(_ reader: RecordingReader) throws -> ReplayScript {
        let clientIsUs = try role(of: reader.header) == .client
        var byID: [Int: Int] = [:]
        var connections: [ReplayConnection] = []
        func index(_ id: Int, _ tNs: UInt64) -> Int {
            if let existing = byID[id] { return existing }
            var connection = ReplayConnection(id: id)
            connection.openTNs = tNs
            connections.append(connection)
            byID[id] = connections.count - 1
            return connections.count - 1
        }
        func add(_ id: Int, _ side: ReplaySide, _ frame: CraftedFrame, _ recorded: RecordedEvent) {
            let i = index(id, recorded.tNs)
            connections[i].steps.append((side, ReplayFrame(tNs: recorded.tNs, line: recorded.line, frame: frame)))
        }
        while let recorded = try reader.next() {
            switch recorded.event {
            case .opened(let id, _, let request, let response, let subprotocol, let extensions):
                let i = index(id, recorded.tNs)
                connections[i].request = request
                connections[i].response = response
                connections[i].subprotocol = subprotocol
                connections[i].extensions = extensions
                if connections[i].steps.isEmpty { connections[i].openTNs = recorded.tNs }
            case .handshakeFailed(let id, _, _):
                connections[index(id, recorded.tNs)].handshakeFailed = true
            case .frame(let id, let direction, let header, let payload, let wire):
                let side: ReplaySide = (direction == .outgoing) == clientIsUs ? .client : .server
                add(id, side, CraftedFrame(header: header, payload: payload, wire: wire), recorded)
            case .rawSent(let id, let wire):
                // wscope's own bytes.
                add(id, clientIsUs ? .client : .server, CraftedFrame(header: nil, payload: wire, wire: wire), recorded)
            case .violation(let id, _, _, let wire):
                // The peer's bytes that broke the protocol: replayed as they were.
                guard !wire.isEmpty else { continue }
                add(id, clientIsUs ? .server : .client, CraftedFrame(header: nil, payload: wire, wire: wire), recorded)
            case .listening, .connecting, .tls, .message, .closed, .error:
                continue
            }
        }
        return try ReplayScript(header: reader.header, connections: connections, warnings: reader.warnings)
    }

    /// The connections `--to` replays: those that opened or have client frames to send.
    public var connectionsToReplay: [ReplayConnection] { connections.filter(Self.isReplayable) }

    static func isReplayable(_ connection: ReplayConnection) -> Bool {
        connection.opened || !connection.frames(of: .client).isEmpty
    }

    /// The values of every `name:` line of an HTTP head.
    static func headerValues(_ name: String, in head: String) -> [String] {
        let wanted = name.lowercased()
        var values: [String] = []
        // "\r\n" is one Character.
        for line in head.split(whereSeparator: { $0 == "\r\n" || $0 == "\n" }).dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            guard line[..<colon].lowercased() == wanted else { continue }
            values.append(trimmed(line[line.index(after: colon)...]))
        }
        return values
    }

    /// Without leading and trailing spaces and tabs.
    static func trimmed(_ text: Substring) -> String {
        var slice = text
        while slice.first == " " || slice.first == "\t" { slice.removeFirst() }
        while slice.last == " " || slice.last == "\t" { slice.removeLast() }
        return String(slice)
    }

    /// The comma-separated values of a header, trimmed, empty ones left out.
    static func listValues(_ values: [String]) -> [String] {
        values.flatMap { $0.split(separator: ",") }.map { trimmed($0) }.filter { !$0.isEmpty }
    }
}

// MARK: Extensions as recorded

/// Client side: offers exactly what the recorded request offered and accepts whatever
/// permessage-deflate answer the server gives (the replayed frames were compressed with
/// the recorded parameters; a different answer is reported, not refused).
struct RecordedOfferNegotiator: ExtensionNegotiator {
    var offer: String

    func clientOffer() -> String { offer }

    func clientAccept(response: String?, role: Role) throws -> MessageExtension? {
        guard let response else { return nil }
        guard let parameters = try PerMessageDeflateConfig(offersClientMaxWindowBits: true).accept(response: response) else {
            return nil
        }
        return PerMessageDeflate(parameters: parameters, role: role)
    }

    func serverNegotiate(offers: [String], role: Role) -> (response: String, makeExtension: () -> MessageExtension)? {
        nil
    }
}

/// Server side (the mock): answers a permessage-deflate offer with the recorded response,
/// when that response is a valid answer to the offer (RFC 7692 section 7); the recorded
/// server frames were compressed with those parameters.
struct RecordedAnswerNegotiator: ExtensionNegotiator {
    var response: String
    var parameters: DeflateParameters
    var element: ExtensionElement

    init?(response: String) {
        guard let elements = try? ExtensionHeader.parse(response), elements.count == 1,
              elements[0].name == PerMessageDeflateConfig.extensionName,
              let parameters = try? PerMessageDeflateConfig(offersClientMaxWindowBits: true).accept(response: response)
        else { return nil }
        self.response = response
        self.parameters = parameters
        self.element = elements[0]
    }

    func clientOffer() -> String { response }

    func clientAccept(response: String?, role: Role) throws -> MessageExtension? { nil }

    func serverNegotiate(offers: [String], role: Role) -> (response: String, makeExtension: () -> MessageExtension)? {
        for text in offers {
            guard let elements = try? ExtensionHeader.parse(text) else { continue }
            for offer in elements where offer.name == PerMessageDeflateConfig.extensionName && answers(offer) {
                let parameters = self.parameters
                return (response, { PerMessageDeflate(parameters: parameters, role: role) })
            }
        }
        return nil
    }

    /// Whether the recorded response may answer this offer.
    func answers(_ offer: ExtensionElement) -> Bool {
        func value(_ element: ExtensionElement, _ name: String) -> String?? {
            guard let parameter = element.parameters.first(where: { $0.name == name }) else { return nil }
            return .some(parameter.value)
        }
        // The client must have allowed client_max_window_bits for the answer to set it.
        if value(element, "client_max_window_bits") != nil && value(offer, "client_max_window_bits") == nil { return false }
        // A server_no_context_takeover request must be confirmed.
        if value(offer, "server_no_context_takeover") != nil && value(element, "server_no_context_takeover") == nil { return false }
        // A server_max_window_bits request must be confirmed with the same or fewer bits.
        if let offered = value(offer, "server_max_window_bits") {
            guard let limit = offered.flatMap({ Int($0) }), let answered = value(element, "server_max_window_bits"),
                  let bits = answered.flatMap({ Int($0) }), bits <= limit
            else { return false }
        }
        return true
    }
}
