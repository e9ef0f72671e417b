#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
#if canImport(WebSocket)
import WebSocket
#endif
#if canImport(WebSocketTransport)
import WebSocketTransport
#endif

// The recording format (DESIGN.md, "Recording format"): JSON Lines, UTF-8, one object per
// line, append-only. Every line is a complete JSON object whose "type" says what it is;
// keys are written in the order shown and readers accept any order, ignore unknown keys
// and warn about (and skip) unknown types.
//
// Line 1, the header:
//   {"type":"header","format":"wscope-recording","version":1,"tool":"wscope 0.1.0",
//    "start":"2026-11-25T01:43:00.123456Z","mode":"connect","endpoint":"ws://127.0.0.1:9001/"}
//   start: wall-clock time (UTC, ISO 8601) of t_ns = 0; mode: connect, listen, proxy or
//   replay (readers accept any string); endpoint: the URL or address of the session.
//
// Then one line per event; t_ns is nanoseconds since the start, from a monotonic clock:
//   {"type":"open","conn":1,"t_ns":1200,"peer":"127.0.0.1:9001","request":"GET / HTTP/1.1\r\n…\r\n\r\n",
//    "response":"HTTP/1.1 101 Switching Protocols\r\n…\r\n\r\n","subprotocol":null,"extensions":null}
//   {"type":"frame","conn":1,"dir":"out","t_ns":5000,"fin":true,"rsv1":false,"rsv2":false,"rsv3":false,
//    "opcode":1,"masked":true,"mask":"37fa213d","length":5,"payload":"SGVsbG8=","wire":"gYU3+iE9f59NUVg="}
//   {"type":"close","conn":1,"t_ns":9000,"code":1000,"reason":"bye","clean":true}
//   {"type":"error","conn":null,"t_ns":9100,"message":"connection refused"}
//   {"type":"handshake_failed","conn":2,"t_ns":…,"peer":"…","reason":"…"}
//   {"type":"tls","conn":1,"t_ns":…,"tls_version":"TLSv1.3","cipher":"TLS_AES_256_GCM_SHA384","alpn":null,
//    "sni":"example.com","peer_subject":"CN=example.com","peer_issuer":"CN=Example CA","verified":true}
//   (a wss:// connection's TLS handshake, before its "open"; "verified": the peer's
//   certificate was checked — false with --insecure, and for a client that sent none)
//   {"type":"listening","t_ns":0,"address":"127.0.0.1:9001"}
//   {"type":"connecting","t_ns":0,"url":"ws://…"}
//
// Frame lines: "length" is the header's length field (which may lie); "payload" is the
// base64 of the unmasked payload bytes; "mask" is the key as 8 hex digits in wire order,
// or null. "wire" is the base64 of the exact bytes on the wire.
//
// Wire bytes on disk (WireStorage): a frame's wire bytes are almost always its header
// followed by its payload, masked with its key. Storing them again in "wire" would make a
// recording of large binary frames 2.7 times their size, so with the default storage
// (`.compact(above: 1024)`) a frame whose payload is over 1 KiB *and* whose wire bytes are
// exactly header + masked payload stores only "wire_header" (base64 of the header bytes)
// instead of "wire"; readers rebuild the exact wire bytes from it. Every other frame —
// small ones, and every frame whose bytes cannot be rebuilt (lying length, bytes missing
// or extra) — carries "wire". A frame event without wire bytes (a session that did not
// capture them) gets the bytes its header and payload make. `.always` writes "wire" on every frame, and `dump --json`
// always emits "wire" (never "wire_header"), so tools downstream see the full schema.
// A frame line with neither is accepted too (hand-written): the wire bytes are then the
// header fields and payload, minimally encoded.
//
// A frame that broke the protocol (SessionEvent.violation) is a frame line with an
// "error" (what was wrong) and "close_code" (what the connection was failed with); its
// header fields and payload are present when the wire bytes hold a whole header, and
// "wire" holds whatever bytes were received.
//   {"type":"frame","conn":1,"dir":"in","t_ns":…,"fin":true,…,"opcode":3,…,"payload":"","wire":"gwA=",
//    "error":"reserved opcode 0x3","close_code":1002}

/// The first line of a recording.
public struct RecordingHeader: Sendable, Hashable {
    public static let formatName = "wscope-recording"
    public static let currentVersion = 1
    public static let defaultTool = "wscope 0.1.0"

    public var format: String
    public var version: Int
    /// The program and version that wrote the recording.
    public var tool: String
    /// Wall-clock time of t_ns = 0, ISO 8601 UTC.
    public var start: String
    /// connect, listen, proxy or replay.
    public var mode: String
    /// The URL or address of the session.
    public var endpoint: String

    public init(
        mode: String, endpoint: String,
        start: String = RecordingClock.iso8601(epochNanoseconds: RecordingClock.wallClockNanoseconds()),
        tool: String = RecordingHeader.defaultTool,
        format: String = RecordingHeader.formatName, version: Int = RecordingHeader.currentVersion
    ) {
        self.format = format
        self.version = version
        self.tool = tool
        self.start = start
        self.mode = mode
        self.endpoint = endpoint
    }

    /// `start` as nanoseconds since the Unix epoch, when it parses.
    public var startEpochNanoseconds: Int64? { RecordingClock.parseISO8601(start) }
}

/// One event read from a recording.
public struct RecordedEvent: Sendable {
    /// 1-based line number in the file.
    public var line: Int
    /// Nanoseconds since the recording's start.
    public var tNs: UInt64
    public var event: SessionEvent

    public init(line: Int, tNs: UInt64, event: SessionEvent) {
        self.line = line
        self.tNs = tNs
        self.event = event
    }
}

/// How frame lines keep their wire bytes (see the format notes above).
public enum WireStorage: Sendable, Hashable {
    /// "wire" on every frame: the full schema, about 2.7x the payload for large frames.
    case always
    /// "wire_header" instead of "wire" for frames with more than this many payload bytes
    /// whose wire bytes are exactly header + (masked) payload.
    case compact(above: Int)

    public static let `default` = WireStorage.compact(above: 1024)
}

/// What went wrong opening, reading or writing a recording. The descriptions are the
/// messages users see.
public enum RecordingError: Error, Sendable, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case io(path: String, reason: String)
    /// The file has no bytes (or only blank space).
    case empty
    /// Line 1 is not a recording header; the text says why.
    case notARecording(String)
    case unsupportedVersion(Int)
    /// A line that is not a valid event: its number and what is wrong.
    case badLine(line: Int, reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): return "cannot open '\(path)': \(reason)"
        case .io(let path, let reason): return "\(path): \(reason)"
        case .empty: return "empty recording"
        case .notARecording(let why): return "not a wscope recording: \(why)"
        case .unsupportedVersion(let version):
            return "unsupported recording version \(version) (this wscope reads version \(RecordingHeader.currentVersion))"
        case .badLine(let line, let reason): return "line \(line): \(reason)"
        }
    }
}

/// Clocks and timestamps for recordings.
public enum RecordingClock {
    /// CLOCK_MONOTONIC in nanoseconds: what event times are measured with.
    public static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// CLOCK_REALTIME in nanoseconds since the Unix epoch.
    public static func wallClockNanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) &* 1_000_000_000 &+ Int64(ts.tv_nsec)
    }

    /// `2026-11-25T01:43:00.123456Z` (microseconds).
    public static func iso8601(epochNanoseconds: Int64) -> String {
        var seconds = epochNanoseconds / 1_000_000_000
        var nanos = epochNanoseconds % 1_000_000_000
        if nanos < 0 {
            nanos += 1_000_000_000
            seconds -= 1
        }
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return pad(Int(parts.tm_year) + 1900, 4) + "-" + pad(Int(parts.tm_mon) + 1, 2) + "-" + pad(Int(parts.tm_mday), 2)
            + "T" + pad(Int(parts.tm_hour), 2) + ":" + pad(Int(parts.tm_min), 2) + ":" + pad(Int(parts.tm_sec), 2)
            + "." + pad(Int(nanos / 1000), 6) + "Z"
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (a space instead of T is accepted).
    public static func parseISO8601(_ text: String) -> Int64? {
        let u = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= u.count else { return nil }
            var value = 0
            for i in from..<(from + count) {
                guard u[i] >= 48 && u[i] <= 57 else { return nil }
                value = value * 10 + Int(u[i] - 48)
            }
            return value
        }
        guard u.count >= 19,
              let year = number(0, 4), u[4] == UInt8(ascii: "-"), let month = number(5, 2), u[7] == UInt8(ascii: "-"),
              let day = number(8, 2), u[10] == UInt8(ascii: "T") || u[10] == UInt8(ascii: " ") || u[10] == UInt8(ascii: "t"),
              let hour = number(11, 2), u[13] == UInt8(ascii: ":"), let minute = number(14, 2), u[16] == UInt8(ascii: ":"),
              let second = number(17, 2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second <= 60
        else { return nil }
        var index = 19
        var nanos: Int64 = 0
        if index < u.count && (u[index] == UInt8(ascii: ".") || u[index] == UInt8(ascii: ",")) {
            index += 1
            var scale: Int64 = 100_000_000
            let digitsStart = index
            while index < u.count, u[index] >= 48 && u[index] <= 57 {
                nanos += Int64(u[index] - 48) * scale
                scale /= 10
                index += 1
            }
            guard index > digitsStart else { return nil }
        }
        var offsetSeconds = 0
        if index < u.count {
            switch u[index] {
            case UInt8(ascii: "Z"), UInt8(ascii: "z"):
                index += 1
            case UInt8(ascii: "+"), UInt8(ascii: "-"):
                let sign = u[index] == UInt8(ascii: "-") ? -1 : 1
                guard let oh = number(index + 1, 2) else { return nil }
                var next = index + 3
                if next < u.count && u[next] == UInt8(ascii: ":") { next += 1 }
                guard let om = number(next, 2) else { return nil }
                offsetSeconds = sign * (oh * 3600 + om * 60)
                index = next + 2
            default: return nil
            }
        }
        guard index == u.count else { return nil }
        // Days from civil (proleptic Gregorian), avoiding timegm's dependence on TZ.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146097 + doe - 719468
        let seconds = Int64(days) * 86400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetSeconds)
        // Nanoseconds since 1970 fit Int64 for the years 1678 to 2262 only.
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return nil }
        let (total, overflow2) = scaled.addingReportingOverflow(nanos)
        return overflow2 ? nil : total
    }
}

/// Public entry points to the line format, for `--no-tui --json` and tools.
public enum RecordingFormat {
    /// The header line (without the newline).
    public static func headerLine(_ header: RecordingHeader) -> String {
        let out = RecordingBuffer(capacity: 256)
        RecordingEncoder.appendHeader(header, to: out)
        return out.string
    }

    /// One event's line (without the newline). `tNs` is nanoseconds since the start.
    public static func line(for event: SessionEvent, tNs: UInt64, wire: WireStorage = .always) -> String {
        let out = RecordingBuffer(capacity: 256)
        var encoder = RecordingEncoder(storage: wire)
        encoder.append(event, tNs: tNs, to: out)
        return out.string
    }
}

/// Writes event lines into a `RecordingBuffer` without intermediate strings.
struct RecordingEncoder {
    var storage: WireStorage
    /// Scratch space for checking whether wire bytes can be rebuilt.
    private var scratch: [UInt8] = []

    init(storage: WireStorage) {
        self.storage = storage
    }

    static func appendHeader(_ header: RecordingHeader, to out: RecordingBuffer) {
        out.append("{\"type\":\"header\",\"format\":")
        out.appendJSONString(header.format)
        out.append(",\"version\":")
        out.appendDecimal(header.version)
        out.append(",\"tool\":")
        out.appendJSONString(header.tool)
        out.append(",\"start\":")
        out.appendJSONString(header.start)
        out.append(",\"mode\":")
        out.appendJSONString(header.mode)
        out.append(",\"endpoint\":")
        out.appendJSONString(header.endpoint)
        out.append("}")
    }

    /// Appends one event's line (no newline).
    mutating func append(_ event: SessionEvent, tNs: UInt64, to out: RecordingBuffer) {
        switch event {
        case .frame(let connection, let direction, let header, let payload, let wire):
            appendFrame(connection: connection, direction: direction, header: header, payload: payload, wire: wire, tNs: tNs, to: out)
        case .message(let connection, let direction, let opcode, let payload):
            out.append("{\"type\":\"message\",\"conn\":")
            out.appendDecimal(connection)
            out.append(direction == .incoming ? ",\"dir\":\"in\",\"t_ns\":" : ",\"dir\":\"out\",\"t_ns\":")
            out.appendDecimal(tNs)
            out.append(",\"opcode\":")
            out.appendDecimal(Int(opcode.rawValue))
            out.append(",\"length\":")
            out.appendDecimal(payload.count)
            out.append(",\"payload\":")
            out.appendBase64String(payload)
            out.append("}")
        case .rawSent(let connection, let wire):
            Self.appendFrameStart(connection: connection, direction: .outgoing, tNs: tNs, to: out)
            out.append(",\"wire\":")
            out.appendBase64String(wire)
            out.append(",\"error\":\"raw bytes, not one frame\"}")
        case .violation(let connection, let description, let code, let wire):
            appendViolation(connection: connection, description: description, code: code, wire: wire, tNs: tNs, to: out)
        case .opened(let connection, let peer, let request, let response, let subprotocol, let extensions):
            out.append("{\"type\":\"open\",\"conn\":")
            out.appendDecimal(connection)
            out.append(",\"t_ns\":")
            out.appendDecimal(tNs)
            out.append(",\"peer\":")
            out.appendJSONString(peer)
            out.append(",\"request\":")
            out.appendJSONString(request)
            out.append(",\"response\":")
            out.appendJSONString(response)
            out.append(",\"subprotocol\":")
            out.appendJSONString(subprotocol)
            out.append(",\"extensions\":")
            out.appendJSONString(extensions)
            out.append("}")
        case .tls(let connection, let info):
            out.append("{\"type\":\"tls\",\"conn\":")
            out.appendDecimal(connection)
            out.append(",\"t_ns\":")
            out.appendDecimal(tNs)
            out.append(",\"tls_version\":")
            out.appendJSONString(info.version)
            out.append(",\"cipher\":")
            out.appendJSONString(info.cipher)
            out.append(",\"alpn\":")
            out.appendJSONString(info.alpn)
            out.append(",\"sni\":")
            out.appendJSONString(info.serverName)
            out.append(",\"peer_subject\":")
            out.appendJSONString(info.peerSubject)
            out.append(",\"peer_issuer\":")
            out.appendJSONString(info.peerIssuer)
            out.append(",\"verified\":")
            out.appendBool(info.verified)
            out.append("}")
        case .handshakeFailed(let connection, let peer, let reason):
            out.append("{\"type\":\"handshake_failed\",\"conn\":")
            out.appendDecimal(connection)
            out.append(",\"t_ns\":")
            out.appendDecimal(tNs)
            out.append(",\"peer\":")
            out.appendJSONString(peer)
            out.append(",\"reason\":")
            out.appendJSONString(reason)
            out.append("}")
        case .closed(let connection, let code, let reason, let clean):
            out.append("{\"type\":\"close\",\"conn\":")
            out.appendDecimal(connection)
            out.append(",\"t_ns\":")
            out.appendDecimal(tNs)
            out.append(",\"code\":")
            if let code { out.appendDecimal(UInt64(code.rawValue)) } else { out.append("null") }
            out.append(",\"reason\":")
            out.appendJSONString(reason)
            out.append(",\"clean\":")
            out.appendBool(clean)
            out.append("}")
        case .error(let connection, let message):
            out.append("{\"type\":\"error\",\"conn\":")
            if let connection { out.appendDecimal(connection) } else { out.append("null") }
            out.append(",\"t_ns\":")
            out.appendDecimal(tNs)
            out.append(",\"message\":")
            out.appendJSONString(message)
            out.append("}")
        case .listening(let address):
            out.append("{\"type\":\"listening\",\"t_ns\":")
            out.appendDecimal(tNs)
            out.append(",\"address\":")
            out.appendJSONString(address)
            out.append("}")
        case .connecting(let url):
            out.append("{\"type\":\"connecting\",\"t_ns\":")
            out.appendDecimal(tNs)
            out.append(",\"url\":")
            out.appendJSONString(url)
            out.append("}")
        }
    }

    /// `"type":"frame"` through `"length"`.
    @inline(__always)
    static func appendFrameStart(connection: Int, direction: Direction, tNs: UInt64, to out: RecordingBuffer) {
        out.append("{\"type\":\"frame\",\"conn\":")
        out.appendDecimal(connection)
        out.append(direction == .incoming ? ",\"dir\":\"in\",\"t_ns\":" : ",\"dir\":\"out\",\"t_ns\":")
        out.appendDecimal(tNs)
    }

    @inline(__always)
    static func appendHeaderFields(_ header: Header, to out: RecordingBuffer) {
        out.append(header.fin ? ",\"fin\":true" : ",\"fin\":false")
        out.append(header.rsv1 ? ",\"rsv1\":true" : ",\"rsv1\":false")
        out.append(header.rsv2 ? ",\"rsv2\":true" : ",\"rsv2\":false")
        out.append(header.rsv3 ? ",\"rsv3\":true" : ",\"rsv3\":false")
        out.append(",\"opcode\":")
        out.appendDecimal(UInt64(header.opcode.rawValue))
        if header.masked {
            out.append(",\"masked\":true,\"mask\":\"")
            withUnsafeBytes(of: header.maskKey) { out.appendHex($0) }
            out.append("\"")
        } else {
            out.append(",\"masked\":false,\"mask\":null")
        }
        out.append(",\"length\":")
        out.appendDecimal(header.length)
    }

    mutating func appendFrame(
        connection: Int, direction: Direction, header: Header, payload: [UInt8], wire: [UInt8], tNs: UInt64, to out: RecordingBuffer
    ) {
        // No frame is empty on the wire: an empty `wire` means the session did not capture
        // the bytes, so write what the header and payload make (exact for any frame that
        // was well-formed, the only kind that goes uncaptured).
        let wire = wire.isEmpty ? Frame(header: header, payload: payload).wireBytes() : wire
        Self.appendFrameStart(connection: connection, direction: direction, tNs: tNs, to: out)
        Self.appendHeaderFields(header, to: out)
        out.append(",\"payload\":")
        out.appendBase64String(payload)
        if case .compact(let limit) = storage, payload.count > limit,
           let headerSize = rebuildableHeaderSize(header: header, payload: payload, wire: wire) {
            out.append(",\"wire_header\":")
            wire.withUnsafeBytes { out.appendBase64String(UnsafeRawBufferPointer(rebasing: $0[0..<headerSize])) }
        } else {
            out.append(",\"wire\":")
            out.appendBase64String(wire)
        }
        out.append("}")
    }

    /// The header's size when `wire` is exactly its header followed by `payload` masked
    /// with the header's key (so the wire bytes can be rebuilt from the header bytes).
    mutating func rebuildableHeaderSize(header: Header, payload: [UInt8], wire: [UInt8]) -> Int? {
        guard case .header(let decoded, let size) = Header.decode(wire),
              decoded == header, header.length == UInt64(payload.count), wire.count == size + payload.count
        else { return nil }
        return wire.withUnsafeBytes { wireBytes -> Int? in
            let tail = UnsafeRawBufferPointer(rebasing: wireBytes[size...])
            if !header.masked {
                return payload.withUnsafeBytes { memcmp($0.baseAddress!, tail.baseAddress!, payload.count) == 0 } ? size : nil
            }
            scratch.removeAll(keepingCapacity: true)
            scratch.append(contentsOf: payload)
            return scratch.withUnsafeMutableBytes { masked -> Int? in
                Cipher.mask(masked, key: header.maskKey)
                return memcmp(masked.baseAddress!, tail.baseAddress!, masked.count) == 0 ? size : nil
            }
        }
    }

    func appendViolation(connection: Int, description: String, code: CloseCode, wire: [UInt8], tNs: UInt64, to out: RecordingBuffer) {
        Self.appendFrameStart(connection: connection, direction: .incoming, tNs: tNs, to: out)
        if case .header(let header, let size) = Header.decode(wire) {
            Self.appendHeaderFields(header, to: out)
            // Whatever payload arrived, unmasked.
            let available = wire.count - size
            let count = Int(min(UInt64(available), header.length))
            var payload = Array(wire[size..<(size + count)])
            if header.masked { payload.withUnsafeMutableBytes { Cipher.mask($0, key: header.maskKey) } }
            out.append(",\"payload\":")
            out.appendBase64String(payload)
        }
        out.append(",\"wire\":")
        out.appendBase64String(wire)
        out.append(",\"error\":")
        out.appendJSONString(description)
        out.append(",\"close_code\":")
        out.appendDecimal(UInt64(code.rawValue))
        out.append("}")
    }
}
