#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
#if canImport(WebSocket)
import WebSocket
#endif

/// `wscope dump FILE [--json]`: a recording as text (one event per line, peer bytes
/// escaped by `SafeText`) or as normalized JSON Lines (full schema, "wire" on every frame).
public enum RecordingDump {
    /// What a dump went through.
    public struct Summary: Sendable {
        public var events = 0
        /// Warnings from the reader (truncated last line, skipped lines, unknown types).
        public var warnings: [String] = []
    }

    /// The header as a comment line:
    /// `# wscope-recording v1, wscope 0.1.0, connect ws://host/, started 2026-…Z`.
    public static func text(_ header: RecordingHeader) -> String {
        "# \(header.format) v\(header.version), \(SafeText.escape(header.tool, limit: 80)), "
            + "\(SafeText.escape(header.mode, limit: 40)) \(SafeText.escape(header.endpoint, limit: 200)), "
            + "started \(SafeText.escape(header.start, limit: 40))"
    }

    /// One event: seconds since the start, then the event as the `--no-tui` printer shows
    /// it (`EventLine`), plus what that line leaves out for crafted frames (a non-minimal
    /// length encoding, wire bytes that are not just header + payload).
    ///
    ///     0.000123 #1 -> text   FIN MASK=37fa213d len=5 "hello"
    public static func text(_ recorded: RecordedEvent) -> String {
        var line = seconds(recorded.tNs) + " "
        switch recorded.event {
        case .frame(let id, let direction, let header, let payload, _) where header.opcode != .close:
            line += frameText(id, direction, header, payload)
        default:
            line += EventLine.format(recorded.event)
        }
        switch recorded.event {
        case .frame(_, _, let header, let payload, let wire):
            switch FrameSpec.lengthEncoding(ofWire: wire) {
            case .minimal: break
            case .extended16: line += " [16-bit length field]"
            case .extended64: line += " [64-bit length field]"
            }
            if header.length != UInt64(payload.count) { line += " [payload \(payload.count) bytes]" }
            let expected = header.encodedSize(lengthEncoding: FrameSpec.lengthEncoding(ofWire: wire)) + payload.count
            if wire.count != expected { line += " [wire \(wire.count) bytes]" }
        case .violation(_, _, _, let wire):
            line += " wire=" + (wire.count <= 32 ? HexCodec.encode(wire) : HexCodec.encode(Array(wire.prefix(32))) + "…(\(wire.count) bytes)")
        case .opened(_, _, let request, let response, _, _):
            // The raw handshake, one escaped line each (the full text is in --json).
            line += " request=\"" + SafeText.escape(firstLine(request), limit: 200) + "\""
            line += " response=\"" + SafeText.escape(firstLine(response), limit: 200) + "\""
        default:
            break
        }
        return line
    }

    /// `EventLine.format` of a non-close frame, the same text built faster (dumps format
    /// millions of these; a test keeps the two identical).
    static func frameText(_ id: Int, _ direction: Direction, _ header: Header, _ payload: [UInt8]) -> String {
        var line = "#\(id) " + (direction == .incoming ? "<- " : "-> ")
        line += header.opcode.name.padding(6)
        line += header.fin ? " FIN" : " ---"
        if header.rsv1 { line += " RSV1" }
        if header.rsv2 { line += " RSV2" }
        if header.rsv3 { line += " RSV3" }
        if header.masked { line += " MASK=" + HexCodec.encode(header.maskKeyBytes) }
        line += " len=\(header.length) "
        if payload.isEmpty { return line }
        if header.opcode == .binary || header.rsv1 || !UTF8Validator.isValid(payload) {
            let shown = payload.prefix(EventLine.previewLimit / 2)
            return line + "hex:" + HexCodec.encode(Array(shown)) + (payload.count > shown.count ? "…" : "")
        }
        return line + "\"" + SafeText.escape(payload, limit: EventLine.previewLimit) + "\""
    }

    static func firstLine(_ text: String) -> String {
        guard let end = text.firstRange(of: "\r\n") ?? text.firstRange(of: "\n") else { return text }
        return String(text[..<end.lowerBound])
    }

    /// `12.000345` from nanoseconds, right-aligned to 11 characters.
    static func seconds(_ nanoseconds: UInt64) -> String {
        let micros = nanoseconds / 1000
        let fraction = String(micros % 1_000_000)
        let text = "\(micros / 1_000_000)." + String(repeating: "0", count: 6 - fraction.count) + fraction
        return text.count >= 11 ? text : String(repeating: " ", count: 11 - text.count) + text
    }

    /// One event as a normalized JSON line (no newline).
    public static func json(_ recorded: RecordedEvent) -> String {
        RecordingFormat.line(for: recorded.event, tNs: recorded.tNs, wire: .always)
    }

    /// Writes the whole recording as normalized JSON Lines (header first) to `fd`, through
    /// the reader's allocation-free fast path, in large writes.
    public static func writeJSON(from reader: RecordingReader, to fd: Int32) throws(RecordingError) -> Summary {
        let out = RecordingBuffer(capacity: 1 << 20)
        RecordingEncoder.appendHeader(reader.header, to: out)
        out.append(0x0A)
        var summary = Summary()
        defer { summary.warnings = reader.warnings }
        do {
            while try reader.nextNormalized(into: out) {
                summary.events += 1
                if out.count >= 1 << 20 { try write(out, to: fd) }
            }
        } catch {
            try? write(out, to: fd)
            throw error
        }
        try write(out, to: fd)
        summary.warnings = reader.warnings
        return summary
    }

    /// Writes the whole recording as text to `fd`.
    public static func writeText(from reader: RecordingReader, to fd: Int32) throws(RecordingError) -> Summary {
        let out = RecordingBuffer(capacity: 1 << 20)
        out.appendText(text(reader.header))
        out.append(0x0A)
        var summary = Summary()
        do {
            while let event = try reader.next() {
                summary.events += 1
                out.appendText(text(event))
                out.append(0x0A)
                if out.count >= 1 << 20 { try write(out, to: fd) }
            }
        } catch {
            try? write(out, to: fd)
            throw error
        }
        try write(out, to: fd)
        summary.warnings = reader.warnings
        return summary
    }

    /// Both forms into memory (tests, the TUI).
    public static func jsonLines(from reader: RecordingReader) throws(RecordingError) -> [UInt8] {
        let out = RecordingBuffer(capacity: 1 << 16)
        RecordingEncoder.appendHeader(reader.header, to: out)
        out.append(0x0A)
        while try reader.nextNormalized(into: out) {}
        return out.array
    }

    private static func write(_ out: RecordingBuffer, to fd: Int32) throws(RecordingError) {
        if let code = out.write(to: fd) {
            throw .io(path: "output", reason: "write failed: \(inspectorErrnoText(code))")
        }
    }
}

extension RecordingBuffer {
    func appendText(_ text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }
}
