import Inspector
import WebSocket

/// The detail panes under the timeline.
public enum DetailPane: Int, CaseIterable, Sendable {
    case header, payload, hex, close

    public var title: String {
        switch self {
        case .header: return "Header"
        case .payload: return "Payload"
        case .hex: return "Hex"
        case .close: return "Close"
        }
    }
}

/// What a pane shows: ready lines, or a hex dump computed line by line (so that a
/// 64 MiB payload costs only the lines on screen).
public enum PaneContent {
    case lines([StyledLine])
    case hex(intro: [StyledLine], bytes: [UInt8], perLine: Int)

    public var lineCount: Int {
        switch self {
        case .lines(let lines): return lines.count
        case .hex(let intro, let bytes, let perLine): return intro.count + (bytes.count + perLine - 1) / perLine
        }
    }

    public func line(_ index: Int) -> StyledLine {
        switch self {
        case .lines(let lines):
            return index < lines.count ? lines[index] : []
        case .hex(let intro, let bytes, let perLine):
            if index < intro.count { return intro[index] }
            return HexDump.line(bytes, offset: (index - intro.count) * perLine, perLine: perLine)
        }
    }

    /// Every line's text (tests).
    public var plainLines: [String] {
        (0..<lineCount).map { line($0).plainText }
    }
}

/// `00000000  48 65 6c 6c 6f 20 66 72  6f 6d 20 77 73 63 6f 70  |Hello from wscop|`
public enum HexDump {
    /// 16, 8 or 4 bytes a line: the most that fit in `width` columns.
    public static func perLine(width: Int) -> Int {
        for count in [16, 8] where lineWidth(count) <= width { return count }
        return 4
    }

    static func lineWidth(_ perLine: Int) -> Int {
        // offset, 2 spaces, "xx " per byte, a space between groups of 8, " |ascii|"
        8 + 2 + perLine * 3 + (perLine > 8 ? 1 : 0) + 3 + perLine
    }

    public static func line(_ bytes: [UInt8], offset: Int, perLine: Int) -> StyledLine {
        let end = min(bytes.count, offset + perLine)
        guard offset < end else { return [] }
        var offsetText = String(offset, radix: 16)
        if offsetText.count < 8 { offsetText = String(repeating: "0", count: 8 - offsetText.count) + offsetText }
        var hex = ""
        var ascii = ""
        for index in offset..<(offset + perLine) {
            if index - offset == 8 { hex += " " }
            if index < end {
                let byte = bytes[index]
                hex += SafeText.hex(byte) + " "
                ascii.unicodeScalars.append((0x20...0x7E).contains(byte) ? Unicode.Scalar(byte) : ".")
            } else {
                hex += "   "
            }
        }
        return [
            Segment(offsetText + "  ", .hexOffset),
            Segment(hex, .hexBytes),
            Segment(" |" + ascii + "|", .hexASCII),
        ]
    }

    /// The whole dump as text (tests, small payloads).
    public static func text(_ bytes: [UInt8], perLine: Int = 16) -> [String] {
        stride(from: 0, to: bytes.count, by: perLine).map { line(bytes, offset: $0, perLine: perLine).plainText }
    }
}

/// Formatting shared by the timeline and the panes.
enum Format {
    /// `12.345` seconds since the session started.
    static func time(_ tNs: UInt64) -> String {
        let milliseconds = tNs / 1_000_000
        let fraction = String(milliseconds % 1000)
        return "\(milliseconds / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    /// `12.345678` seconds (microseconds).
    static func preciseTime(_ tNs: UInt64) -> String {
        let microseconds = tNs / 1000
        let fraction = String(microseconds % 1_000_000)
        return "\(microseconds / 1_000_000)." + String(repeating: "0", count: 6 - fraction.count) + fraction + " s"
    }

    static func bytes(_ count: Int) -> String {
        if count < 1024 { return "\(count) B" }
        if count < 1 << 20 { return oneDecimal(Double(count) / 1024) + " KiB" }
        if count < 1 << 30 { return oneDecimal(Double(count) / 1048576) + " MiB" }
        return oneDecimal(Double(count) / 1073741824) + " GiB"
    }

    static func oneDecimal(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    static func hexBytes(_ bytes: some Collection<UInt8>) -> String {
        bytes.map { SafeText.hex($0) }.joined(separator: " ")
    }
}

/// The content of the detail panes for one timeline entry.
public enum Details {
    /// Text and JSON views decode at most this many payload bytes.
    public static let textLimit = 256 * 1024

    /// `message`: for a compressed frame, the message it belongs to (the Payload pane shows
    /// it decompressed).
    public static func content(_ pane: DetailPane, entry: TimelineEntry?, width: Int, hexShowsWire: Bool = false,
                               message: TimelineEntry? = nil) -> PaneContent {
        guard let entry else { return .lines([[Segment("(nothing selected)", .hint)]]) }
        switch pane {
        case .header: return .lines(wrap(header(entry), width: width))
        case .payload: return .lines(wrap(payload(entry, message: message), width: width))
        case .hex: return hex(entry, width: width, wire: hexShowsWire)
        case .close: return .lines(wrap(close(entry), width: width))
        }
    }

    static func field(_ label: String, _ value: String, _ role: StyleRole = .value) -> StyledLine {
        [Segment(DisplayWidth.fit(label, 11), .label), Segment(value, role)]
    }

    // MARK: Header

    public static func header(_ entry: TimelineEntry) -> [StyledLine] {
        var lines: [StyledLine] = []
        switch entry.event {
        case .frame(let id, let direction, let header, let payload, let wire):
            lines.append(field("direction", direction == .incoming ? "← in (received)" : "→ out (sent)",
                               direction == .incoming ? .incoming : .outgoing))
            lines.append(field("connection", "#\(id)"))
            lines.append(field("time", Format.preciseTime(entry.tNs)))
            lines.append(field("FIN", header.fin ? "1" : "0 (more fragments follow)"))
            for (name, bit) in [("RSV1", header.rsv1), ("RSV2", header.rsv2), ("RSV3", header.rsv3)] {
                lines.append(field(name, bit ? "1" : "0", bit ? .control : .value))
            }
            var opcode = "0x" + String(header.opcode.rawValue, radix: 16) + " " + header.opcode.name
            if header.opcode.isReserved { opcode += " (reserved)" } else if header.opcode.isControl { opcode += " (control)" }
            lines.append(field("opcode", opcode, header.opcode.isReserved ? .error : (header.opcode.isControl ? .control : .value)))
            lines.append(field("MASK", header.masked ? "1" : "0"))
            lines.append(field("mask key", header.masked ? Format.hexBytes(header.maskKeyBytes) : "(none)"))
            var headerSize = 0
            var lengthForm = ""
            if case .header(_, let size) = Header.decode(wire) {
                headerSize = size
                let length7 = wire.count > 1 ? wire[1] & 0x7F : 0
                switch length7 {
                case 126: lengthForm = header.length < 126 ? "16-bit field, not minimal" : "16-bit field"
                case 127: lengthForm = header.length <= 0xFFFF ? "64-bit field, not minimal" : "64-bit field"
                default: lengthForm = "7-bit field"
                }
            }
            var length = "\(header.length)"
            if !lengthForm.isEmpty { length += " (\(lengthForm))" }
            lines.append(field("length", length))
            if header.length != UInt64(payload.count) {
                lines.append(field("", "payload has \(payload.count) bytes", .error))
            }
            if headerSize > 0 {
                lines.append(field("header", Format.hexBytes(wire.prefix(headerSize)) + "  (\(headerSize) bytes)"))
            }
            lines.append(field("wire", "\(wire.count) bytes"))
        case .message(let id, let direction, let opcode, let payload):
            lines.append(field("direction", direction == .incoming ? "← in (received)" : "→ out (sent)",
                               direction == .incoming ? .incoming : .outgoing))
            lines.append(field("connection", "#\(id)"))
            lines.append(field("time", Format.preciseTime(entry.tNs)))
            lines.append(field("message", opcode.name + ", \(payload.count) bytes after reassembly"))
            lines.append(field("", "and decompression (not a frame)", .hint))
        case .rawSent(let id, let wire):
            lines.append(field("direction", "→ out (raw bytes)", .outgoing))
            lines.append(field("connection", "#\(id)"))
            lines.append(field("time", Format.preciseTime(entry.tNs)))
            lines.append(field("bytes", "\(wire.count), not one whole frame"))
        case .opened(let id, let peer, _, _, let subprotocol, let extensions):
            lines.append(field("event", "connection opened", .event))
            lines.append(field("connection", "#\(id)"))
            lines.append(field("time", Format.preciseTime(entry.tNs)))
            lines.append(field("peer", Visible.text(peer)))
            lines.append(field("protocol", subprotocol.map { Visible.text($0) } ?? "(none)"))
            lines.append(field("extensions", extensions.map { Visible.text($0) } ?? "(none)"))
            lines.append([Segment("handshake in the Payload pane", .hint)])
        default:
            lines.append(field("time", Format.preciseTime(entry.tNs)))
            if let id = entry.event.connectionID { lines.append(field("connection", "#\(id)")) }
            lines.append([Segment(EventLine.format(entry.event), isProblem(entry.event) ? .error : .event)])
        }
        return lines
    }

    static func isProblem(_ event: SessionEvent) -> Bool {
        switch event {
        case .violation, .error, .handshakeFailed: return true
        default: return false
        }
    }

    // MARK: Payload

    public static func payload(_ entry: TimelineEntry, message: TimelineEntry? = nil) -> [StyledLine] {
        switch entry.event {
        case .frame(_, _, let header, let payload, _):
            if header.opcode == .close { return closeLines(payload) + [[]] + textLines(payload, note: nil) }
            if header.rsv1, let message, case .message(_, _, let opcode, let inflated) = message.event {
                return decompressedLines(inflated, opcode: opcode, compressed: payload.count, wholeMessage: header.fin)
            }
            var note: String?
            if header.rsv1 { note = "RSV1 set: compressed payload, shown as received (its message was not recorded)" }
            return payloadLines(payload, binary: header.opcode == .binary, note: note)
        case .message(_, _, let opcode, let payload):
            return payloadLines(payload, binary: opcode == .binary, note: nil)
        case .rawSent(_, let wire):
            return [[Segment("raw bytes: see the Hex pane", .hint)]] + textLines(wire, note: nil)
        case .violation(_, let description, let code, let wire):
            return [
                [Segment("protocol violation: ", .error), Segment(Visible.text(description), .error)],
                [Segment("we closed with \(code.rawValue) (\(code.meaning))", .value)],
                [Segment("offending bytes (\(wire.count)) in the Hex pane", .hint)],
            ]
        case .opened(_, _, let request, let response, _, _):
            var lines: [StyledLine] = [[Segment("request", .paneTitle)]]
            lines += headLines(request)
            lines.append([Segment("response", .paneTitle)])
            lines += headLines(response)
            return lines
        default:
            return [[Segment(EventLine.format(entry.event), isProblem(entry.event) ? .error : .event)]]
        }
    }

    /// A compressed frame's message as permessage-deflate gave it back; the compressed
    /// bytes themselves are in the Hex pane.
    static func decompressedLines(_ inflated: [UInt8], opcode: OpCode, compressed: Int, wholeMessage: Bool) -> [StyledLine] {
        let source = wholeMessage ? "from \(compressed) compressed bytes" : "from this frame's \(compressed) compressed bytes and its continuations"
        var lines: [StyledLine] = [
            [Segment("decompressed (RSV1, permessage-deflate): \(inflated.count) bytes " + source, .hint)],
            [Segment("the Hex pane shows the compressed bytes", .hint)],
        ]
        lines += payloadLines(inflated, binary: opcode == .binary, note: nil)
        return lines
    }

    static func headLines(_ head: String) -> [StyledLine] {
        head.split(separator: "\r\n", omittingEmptySubsequences: true).map { line in
            if let colon = line.firstIndex(of: ":") {
                return [Segment(Visible.text(line[..<colon]) + ":", .label), Segment(Visible.text(line[line.index(after: colon)...]), .value)]
            }
            return [Segment(Visible.text(line), .value)]
        }
    }

    static func payloadLines(_ payload: [UInt8], binary: Bool, note: String?) -> [StyledLine] {
        if payload.isEmpty { return [[Segment("(empty payload)", .hint)]] + (note.map { [[Segment($0, .hint)]] } ?? []) }
        var lines: [StyledLine] = []
        if let note { lines.append([Segment(note, .hint)]) }
        if !binary, note == nil, let json = JSONPretty.format(payload) {
            lines.append([Segment("JSON, \(payload.count) bytes", .hint)])
            return lines + json
        }
        let isText = !binary && isValidUTF8(payload)
        lines.append([Segment(isText ? "text, \(payload.count) bytes" : "\(binary ? "binary" : "not UTF-8"), \(payload.count) bytes (escaped; the Hex pane shows the bytes)", .hint)])
        return lines + textLines(payload, note: nil)
    }

    static func textLines(_ payload: [UInt8], note: String?) -> [StyledLine] {
        var lines = Visible.lines(payload, limit: textLimit).map { [Segment($0, .value)] }
        if payload.count > textLimit {
            lines.append([Segment("… \(payload.count - textLimit) more bytes (the Hex pane shows them all)", .hint)])
        }
        return lines
    }

    static func isValidUTF8(_ bytes: [UInt8]) -> Bool {
        UTF8Validator.isValid(bytes)
    }

    // MARK: Hex

    public static func hex(_ entry: TimelineEntry, width: Int, wire: Bool) -> PaneContent {
        let perLine = HexDump.perLine(width: width)
        switch entry.event {
        case .frame(_, _, let header, let payload, let frameWire):
            if wire {
                return .hex(intro: [[Segment("wire bytes, \(frameWire.count)" + (header.masked ? " (payload masked)" : "") + "  [w: payload]", .hint)]],
                            bytes: frameWire, perLine: perLine)
            }
            return .hex(intro: [[Segment("payload, \(payload.count) bytes" + (header.masked ? " (unmasked)" : "") + "  [w: wire]", .hint)]],
                        bytes: payload, perLine: perLine)
        case .message(_, _, _, let payload):
            return .hex(intro: [[Segment("message payload, \(payload.count) bytes", .hint)]], bytes: payload, perLine: perLine)
        case .rawSent(_, let bytes), .violation(_, _, _, let bytes):
            return .hex(intro: [[Segment("bytes, \(bytes.count)", .hint)]], bytes: bytes, perLine: perLine)
        case .opened(_, _, let request, let response, _, _):
            let bytes = Array(request.utf8) + Array(response.utf8)
            return .hex(intro: [[Segment("handshake request and response, \(bytes.count) bytes", .hint)]], bytes: bytes, perLine: perLine)
        default:
            return .lines([[Segment("(no bytes for this event)", .hint)]])
        }
    }

    // MARK: Close

    public static func close(_ entry: TimelineEntry) -> [StyledLine] {
        switch entry.event {
        case .frame(_, let direction, let header, let payload, _) where header.opcode == .close:
            return [[Segment(direction == .incoming ? "close frame received" : "close frame sent", .paneTitle)]] + closeLines(payload)
        case .closed(let id, let code, let reason, let clean):
            var lines: [StyledLine] = [[Segment("connection #\(id) closed", .paneTitle)]]
            if let code {
                lines.append(field("code", "\(code.rawValue)"))
                lines.append(field("meaning", code.meaning))
            } else {
                lines.append(field("code", "(none)"))
            }
            lines.append(field("reason", reason.isEmpty ? "(none)" : "\"" + Visible.text(reason) + "\""))
            lines.append(field("clean", clean ? "yes: both close frames exchanged" : "no closing handshake", clean ? .value : .error))
            return lines
        case .violation(_, let description, let code, _):
            return [
                [Segment("we failed the connection", .paneTitle)],
                field("code", "\(code.rawValue)"),
                field("meaning", code.meaning),
                field("because", Visible.text(description), .error),
            ]
        default:
            return [[Segment("(not a close frame: select a close frame or a closed event)", .hint)]]
        }
    }

    static func closeLines(_ payload: [UInt8]) -> [StyledLine] {
        switch CloseBody.decode(payload) {
        case .success(let body):
            guard let code = body.code else {
                return [field("code", "(empty body: no status, reported as 1005)")]
            }
            return [
                field("code", "\(code.rawValue)"),
                field("meaning", code.meaning),
                field("reason", body.reason.isEmpty ? "(none)" : "\"" + Visible.text(body.reason) + "\""),
            ]
        case .failure(let violation):
            var lines = [field("invalid", violation.description, .error)]
            if payload.count >= 2 {
                let code = CloseCode(UInt16(payload[0]) << 8 | UInt16(payload[1]))
                lines.append(field("code", "\(code.rawValue) (\(code.meaning))"))
                lines.append(field("reason", "\"" + Visible.escape(Array(payload[2...])) + "\""))
            } else {
                lines.append(field("body", Format.hexBytes(payload)))
            }
            return lines
        }
    }

    // MARK: Wrapping

    /// Breaks lines wider than `width` at character boundaries.
    public static func wrap(_ lines: [StyledLine], width: Int) -> [StyledLine] {
        guard width > 1 else { return lines }
        var result: [StyledLine] = []
        for line in lines {
            var current: StyledLine = []
            var used = 0
            for segment in line {
                var text = ""
                for character in segment.text {
                    let characterWidth = max(1, DisplayWidth.of(character))
                    if used + characterWidth > width {
                        if !text.isEmpty { current.append(Segment(text, segment.role)) }
                        result.append(current)
                        current = []
                        text = ""
                        used = 0
                    }
                    text.append(character)
                    used += characterWidth
                }
                if !text.isEmpty { current.append(Segment(text, segment.role)) }
            }
            result.append(current)
        }
        return result
    }
}
