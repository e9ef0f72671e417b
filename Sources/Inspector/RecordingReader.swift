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

/// Streams a recording (format: RecordingFormat.swift) line by line.
///
/// - The file is read in 1 MiB chunks; memory holds one line at a time. A line longer than
///   `maxLineBytes` (64 MiB by default) is skipped over without being kept — its bytes are
///   read and dropped until its newline — and reported as `line N: longer than 64 MiB`.
/// - Line 1 must be the header; an empty file is "empty recording", a file whose line 1 is
///   not a recording header is "not a wscope recording: …" (binary files, HAR files and
///   other JSON are told apart in the message).
/// - A bad line is `RecordingError.badLine` ("line N: what is wrong"), thrown from
///   `next()`, or with `skipBadLines` recorded in `skippedLines`/`warnings` and passed over.
/// - A last line without a newline that does not parse is a truncated write (a crash while
///   recording): it becomes a warning, never an error.
/// - Unknown event types are skipped with a warning (newer writers); unknown keys are
///   ignored; blank lines are ignored.
public final class RecordingReader {
    public struct Options: Sendable {
        public var skipBadLines: Bool
        public var maxLineBytes: Int

        public init(skipBadLines: Bool = false, maxLineBytes: Int = RecordingReader.defaultMaxLineBytes) {
            self.skipBadLines = skipBadLines
            self.maxLineBytes = maxLineBytes
        }
    }

    public static let defaultMaxLineBytes = 64 << 20
    /// Line 1 (the header) must end within this many bytes.
    static let maxHeaderBytes = 64 * 1024
    static let chunkSize = 1 << 20

    public let header: RecordingHeader
    public let path: String
    public let options: Options
    /// Messages to show the user (truncated last line, skipped lines, unknown types).
    public private(set) var warnings: [String] = []
    /// The bad lines passed over in `skipBadLines` mode.
    public private(set) var skippedLines: [RecordingError] = []
    /// Number of the last line read.
    public private(set) var lineNumber = 0
    /// The largest the read buffer has been, in bytes (for tests of the line cap).
    public private(set) var peakBufferBytes = 0

    private var source: RecordingLineSource

    /// Opens a recording file and reads its header.
    public convenience init(path: String, options: Options = Options()) throws(RecordingError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotOpen(path: path, reason: inspectorErrnoText(errno)) }
        var info = stat()
        if fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR {
            Glibc.close(fd)
            throw .cannotOpen(path: path, reason: "is a directory")
        }
        try self.init(source: RecordingLineSource(fd: fd, path: path), path: path, options: options)
    }

    /// Reads a recording held in memory (tests, fuzzing, data from elsewhere).
    public convenience init(bytes: [UInt8], name: String = "<memory>", options: Options = Options()) throws(RecordingError) {
        try self.init(source: RecordingLineSource(bytes: bytes, path: name), path: name, options: options)
    }

    private init(source: RecordingLineSource, path: String, options: Options) throws(RecordingError) {
        self.source = source
        self.path = path
        self.options = options
        self.header = try RecordingReader.readHeader(source)
        lineNumber = source.lineNumber
        source.maxLineBytes = max(options.maxLineBytes, 1)
        peakBufferBytes = source.capacity
    }

    private static func readHeader(_ source: RecordingLineSource) throws(RecordingError) -> RecordingHeader {
        source.maxLineBytes = maxHeaderBytes
        source.stopAtLongLine = true
        defer { source.stopAtLongLine = false }
        var raw = try source.nextLine()
        while case .line(let bytes, _, _)? = raw, isBlank(bytes) { raw = try source.nextLine() }
        guard let raw else { throw .empty }
        switch raw {
        case .tooLong:
            throw .notARecording(source.looksBinary ? "line 1 is not JSON (binary data)" : "line 1 is not a recording header (no line break in its first 64 KiB)")
        case .line(let bytes, let number, _):
            guard number == 1 else {
                throw .notARecording("line 1 is blank; a recording starts with its header line")
            }
            var validator = UTF8Validator()
            if bytes.contains(0) || !validator.validate(bytes) || !validator.isComplete {
                throw .notARecording("line 1 is not JSON (binary data)")
            }
            let value: JSONValue
            do {
                value = try JSONValue.parse(bytes)
            } catch {
                if source.prefixContains("\"log\"") && source.prefixContains("\"entries\"") {
                    throw .notARecording("this looks like a HAR file; convert it first: wscope convert FILE.har FILE.jsonl")
                }
                throw .notARecording("line 1 is not JSON (\(error.message) at column \(error.offset + 1))")
            }
            guard case .object = value else { throw .notARecording("line 1 is not a JSON object") }
            guard value["format"]?.string == RecordingHeader.formatName else {
                if value["type"]?.string != nil {
                    throw .notARecording("line 1 is an event, not the header ({\"type\":\"header\",\"format\":\"wscope-recording\",…})")
                }
                throw .notARecording("line 1 has no \"format\":\"wscope-recording\"")
            }
            if let type = value["type"]?.string, type != "header" {
                throw .notARecording("line 1 has \"type\":\"\(SafeText.escape(type, limit: 40))\", expected \"header\"")
            }
            guard let version = value["version"]?.int else { throw .notARecording("the header has no \"version\"") }
            guard version == RecordingHeader.currentVersion else { throw .unsupportedVersion(version) }
            return RecordingHeader(
                mode: value["mode"]?.string ?? "",
                endpoint: value["endpoint"]?.string ?? "",
                start: value["start"]?.string ?? "",
                tool: value["tool"]?.string ?? "",
                format: RecordingHeader.formatName,
                version: version)
        }
    }

    static func isBlank(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
    }

    /// The next event, nil at the end.
    public func next() throws(RecordingError) -> RecordedEvent? {
        while true {
            guard let raw = try nextLine() else { return nil }
            switch raw {
            case .tooLong(let number):
                try fail(.badLine(line: number, reason: "longer than \(Self.sizeText(options.maxLineBytes))"))
            case .line(let bytes, let number, let terminated):
                if let fast = CanonicalFrameLine.parse(bytes), let event = fast.event(bytes) {
                    return RecordedEvent(line: number, tNs: fast.tNs, event: event)
                }
                if Self.isBlank(bytes) { continue }
                var line = ScannedLine()
                do {
                    try line.scan(bytes)
                    switch try line.makeEvent(bytes, number: number) {
                    case .event(let event): return event
                    case .unknownType(let type):
                        warnings.append("line \(number): unknown event type '\(SafeText.escape(type, limit: 40))' skipped")
                    }
                } catch {
                    try lineFailed(error, number: number, terminated: terminated)
                }
            }
        }
    }

    /// Appends the next event's normalized line (full schema: "wire" always, keys in the
    /// canonical order, no whitespace) plus a newline to `out`. Returns false at the end.
    func nextNormalized(into out: RecordingBuffer) throws(RecordingError) -> Bool {
        while true {
            guard let raw = try nextLine() else { return false }
            switch raw {
            case .tooLong(let number):
                try fail(.badLine(line: number, reason: "longer than \(Self.sizeText(options.maxLineBytes))"))
            case .line(let bytes, let number, let terminated):
                if let fast = CanonicalFrameLine.parse(bytes), fast.appendNormalized(bytes, to: out) {
                    out.append(0x0A)
                    return true
                }
                if Self.isBlank(bytes) { continue }
                var line = ScannedLine()
                let mark = out.count
                do {
                    try line.scan(bytes)
                    if try line.appendNormalizedFrame(bytes, to: out) {
                        out.append(0x0A)
                        return true
                    }
                    switch try line.makeEvent(bytes, number: number) {
                    case .event(let event):
                        var encoder = RecordingEncoder(storage: .always)
                        encoder.append(event.event, tNs: event.tNs, to: out)
                        out.append(0x0A)
                        return true
                    case .unknownType(let type):
                        warnings.append("line \(number): unknown event type '\(SafeText.escape(type, limit: 40))' skipped")
                    }
                } catch {
                    out.count = mark
                    try lineFailed(error, number: number, terminated: terminated)
                }
            }
        }
    }

    /// Every remaining event.
    public func readAll() throws(RecordingError) -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        while let event = try next() { events.append(event) }
        return events
    }

    private func nextLine() throws(RecordingError) -> RecordingRawLine? {
        let line = try source.nextLine()
        lineNumber = source.lineNumber
        peakBufferBytes = max(peakBufferBytes, source.capacity)
        return line
    }

    private func lineFailed(_ failure: JSONScanner.Failure, number: Int, terminated: Bool) throws(RecordingError) {
        let reason = failure.offset >= 0 ? "column \(failure.offset + 1): \(failure.message)" : failure.message
        if !terminated {
            warnings.append("line \(number): truncated last line ignored (the file ends mid-line: \(reason))")
            return
        }
        try fail(.badLine(line: number, reason: reason))
    }

    private func fail(_ error: RecordingError) throws(RecordingError) {
        guard options.skipBadLines else { throw error }
        skippedLines.append(error)
        warnings.append("\(error) (skipped)")
    }

    static func sizeText(_ bytes: Int) -> String {
        if bytes >= 1 << 20 && bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 10 && bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return "\(bytes) bytes"
    }
}

// MARK: - Line source

enum RecordingRawLine {
    /// A line's bytes without the newline, valid until the next call; `terminated` is
    /// false for a last line that ends without a newline.
    case line(UnsafeRawBufferPointer, number: Int, terminated: Bool)
    /// A line over the length cap, skipped.
    case tooLong(number: Int)
}

/// Splits a file (or bytes) into lines with bounded memory.
final class RecordingLineSource {
    private var fd: Int32
    let path: String
    private var base: UnsafeMutableRawPointer
    private(set) var capacity: Int
    private var start = 0
    private var end = 0
    private var scanFrom = 0
    private var eof = false
    /// Dropping the bytes of an over-long line until its newline.
    private var discarding = false
    private(set) var lineNumber = 0
    var maxLineBytes = RecordingReader.defaultMaxLineBytes
    /// Report an over-long line at once instead of reading past it (for line 1).
    var stopAtLongLine = false
    /// The first bytes of the file, for telling file types apart in messages.
    private var prefix: [UInt8] = []

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
        capacity = RecordingReader.chunkSize
        base = .allocate(byteCount: capacity, alignment: 16)
    }

    init(bytes: [UInt8], path: String) {
        fd = -1
        self.path = path
        capacity = max(bytes.count, 16)
        base = .allocate(byteCount: capacity, alignment: 16)
        bytes.withUnsafeBytes { if let b = $0.baseAddress { base.copyMemory(from: b, byteCount: bytes.count) } }
        end = bytes.count
        eof = true
        prefix = Array(bytes.prefix(4096))
    }

    deinit {
        base.deallocate()
        if fd >= 0 { close(fd) }
    }

    var looksBinary: Bool { prefix.contains(0) || !UTF8Validator.isValid(Array(prefix.prefix(1024).dropLast(4))) }

    func prefixContains(_ text: String) -> Bool {
        let needle = Array(text.utf8)
        guard prefix.count >= needle.count else { return false }
        for i in 0...(prefix.count - needle.count) where prefix[i] == needle[0] {
            if Array(prefix[i..<(i + needle.count)]) == needle { return true }
        }
        return false
    }

    func nextLine() throws(RecordingError) -> RecordingRawLine? {
        while true {
            if scanFrom < end, let found = memchr(base + scanFrom, 0x0A, end - scanFrom) {
                let index = UnsafeMutableRawPointer(found) - base
                lineNumber += 1
                let line = UnsafeRawBufferPointer(start: base + start, count: index - start)
                start = index + 1
                scanFrom = start
                if discarding {
                    discarding = false
                    return .tooLong(number: lineNumber)
                }
                if line.count > maxLineBytes { return .tooLong(number: lineNumber) }
                return .line(line, number: lineNumber, terminated: true)
            }
            scanFrom = end
            if discarding {
                start = 0
                end = 0
                scanFrom = 0
            } else if end - start > maxLineBytes {
                if stopAtLongLine { return .tooLong(number: lineNumber + 1) }
                discarding = true
                start = 0
                end = 0
                scanFrom = 0
            }
            if eof {
                if discarding {
                    discarding = false
                    lineNumber += 1
                    return .tooLong(number: lineNumber)
                }
                guard start < end else { return nil }
                lineNumber += 1
                let line = UnsafeRawBufferPointer(start: base + start, count: end - start)
                start = end
                scanFrom = end
                return .line(line, number: lineNumber, terminated: false)
            }
            try fill()
        }
    }

    private func fill() throws(RecordingError) {
        let chunk = RecordingReader.chunkSize
        if start > 0 && capacity - end < chunk {
            let live = end - start
            if live > 0 { base.copyMemory(from: base + start, byteCount: live) }
            scanFrom -= start
            end = live
            start = 0
        }
        if capacity - end < chunk / 2 {
            // The line so far is at most maxLineBytes (else it is being discarded).
            let newCapacity = max(min(capacity * 2, maxLineBytes + 2 * chunk), end + chunk)
            let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
            newBase.copyMemory(from: base, byteCount: end)
            base.deallocate()
            base = newBase
            capacity = newCapacity
        }
        while true {
            let n = read(fd, base + end, capacity - end)
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, reason: "read failed: \(inspectorErrnoText(errno))")
            }
            if n == 0 { eof = true }
            if prefix.count < 4096 {
                prefix.append(contentsOf: UnsafeRawBufferPointer(start: base + end, count: min(n, 4096 - prefix.count)))
            }
            end += n
            return
        }
    }
}

// MARK: - Line scanning

/// A string field: absent, null or a string in the line.
enum ScannedStringField {
    case absent
    case null
    case value(JSONStringRef)
}

/// The known fields of one line, found in place (no allocation).
struct ScannedLine {
    enum EventType {
        case missing, header, open, frame, close, error, handshakeFailed, listening, connecting, tls
        case unknown(JSONStringRef)
    }

    enum Outcome {
        case event(RecordedEvent)
        case unknownType(String)
    }

    var type = EventType.missing
    var conn: Int64?
    var connNull = false
    var dir: Direction?
    var tNs: UInt64?
    var fin: Bool?, rsv1: Bool?, rsv2: Bool?, rsv3: Bool?, masked: Bool?, clean: Bool?
    var opcode: UInt64?
    var length: UInt64?
    var closeCode: UInt64?
    var code: UInt64?
    var codeNull = false
    var mask = ScannedStringField.absent
    var payload = ScannedStringField.absent
    var wire = ScannedStringField.absent
    var wireHeader = ScannedStringField.absent
    var error = ScannedStringField.absent
    var peer = ScannedStringField.absent
    var request = ScannedStringField.absent
    var response = ScannedStringField.absent
    var subprotocol = ScannedStringField.absent
    var extensions = ScannedStringField.absent
    var reason = ScannedStringField.absent
    var message = ScannedStringField.absent
    var address = ScannedStringField.absent
    var url = ScannedStringField.absent
    var tlsVersion = ScannedStringField.absent
    var cipher = ScannedStringField.absent
    var alpn = ScannedStringField.absent
    var sni = ScannedStringField.absent
    var peerSubject = ScannedStringField.absent
    var peerIssuer = ScannedStringField.absent
    var verified: Bool?

    typealias Failure = JSONScanner.Failure

    static func semantic(_ message: String) -> Failure { Failure(offset: -1, message: message) }

    /// Walks the line's object, keeping the known fields.
    mutating func scan(_ bytes: UnsafeRawBufferPointer) throws(Failure) {
        var s = JSONScanner(bytes)
        guard s.peek() == 0x7B else {
            throw s.fail("not a JSON object (found \(JSONScanner.describe(s.isAtEnd ? nil : bytes[s.pos])))")
        }
        s.pos += 1
        if s.peek() == 0x7D {
            s.pos += 1
        } else {
            while true {
                let key = try s.scanString()
                try s.expect(0x3A, "':'")
                try value(for: key, &s)
                if s.peek() == 0x2C { s.pos += 1; continue }
                try s.expect(0x7D, "',' or '}'")
                break
            }
        }
        s.skipWhitespace()
        guard s.isAtEnd else { throw s.fail("unexpected \(JSONScanner.describe(bytes[s.pos])) after the JSON object") }
    }

    private static func typeMismatch(_ key: String, _ expected: String) -> Failure {
        semantic("\"\(key)\" must be \(expected)")
    }

    @inline(__always)
    private func bool(_ s: inout JSONScanner, _ key: String) throws(Failure) -> Bool {
        if let value = s.scanBool() { return value }
        try s.skipValue()
        throw Self.typeMismatch(key, "true or false")
    }

    @inline(__always)
    private func unsigned(_ s: inout JSONScanner, _ key: String) throws(Failure) -> UInt64 {
        switch s.peek() {
        case .some(0x30...0x39):
            if let value = try s.scanUInt64() { return value }
        default:
            try s.skipValue()
        }
        throw Self.typeMismatch(key, "a non-negative integer")
    }

    @inline(__always)
    private func stringOrNull(_ s: inout JSONScanner, _ key: String) throws(Failure) -> ScannedStringField {
        if s.peek() == 0x22 { return .value(try s.scanString()) }
        if s.scanNull() { return .null }
        try s.skipValue()
        throw Self.typeMismatch(key, "a string or null")
    }

    private mutating func value(for key: JSONStringRef, _ s: inout JSONScanner) throws(Failure) {
        if key.escaped {
            try s.skipValue()
            return
        }
        switch key.count {
        case 3:
            if s.equals(key, "dir") {
                let value = try s.scanString()
                if s.equals(value, "in") { dir = .incoming } else if s.equals(value, "out") { dir = .outgoing } else {
                    throw Self.semantic("\"dir\" must be \"in\" or \"out\"")
                }
                return
            }
            if s.equals(key, "fin") { fin = try bool(&s, "fin"); return }
            if s.equals(key, "url") { url = try stringOrNull(&s, "url"); return }
            if s.equals(key, "sni") { sni = try stringOrNull(&s, "sni"); return }
        case 4:
            if s.equals(key, "type") {
                guard s.peek() == 0x22 else { try s.skipValue(); throw Self.typeMismatch("type", "a string") }
                let value = try s.scanString()
                switch value.count {
                case 5 where s.equals(value, "frame"): type = .frame
                case 3 where s.equals(value, "tls"): type = .tls
                case 4 where s.equals(value, "open"): type = .open
                case 5 where s.equals(value, "close"): type = .close
                case 5 where s.equals(value, "error"): type = .error
                case 6 where s.equals(value, "header"): type = .header
                case 9 where s.equals(value, "listening"): type = .listening
                case 10 where s.equals(value, "connecting"): type = .connecting
                case 16 where s.equals(value, "handshake_failed"): type = .handshakeFailed
                default: type = .unknown(value)
                }
                return
            }
            if s.equals(key, "conn") {
                if s.scanNull() { connNull = true; conn = nil; return }
                let value = try unsigned(&s, "conn")
                guard value <= UInt64(Int64.max) else { throw Self.typeMismatch("conn", "a connection number") }
                conn = Int64(value)
                return
            }
            if s.equals(key, "t_ns") { tNs = try unsigned(&s, "t_ns"); return }
            if s.equals(key, "rsv1") { rsv1 = try bool(&s, "rsv1"); return }
            if s.equals(key, "rsv2") { rsv2 = try bool(&s, "rsv2"); return }
            if s.equals(key, "rsv3") { rsv3 = try bool(&s, "rsv3"); return }
            if s.equals(key, "mask") { mask = try stringOrNull(&s, "mask"); return }
            if s.equals(key, "wire") { wire = try stringOrNull(&s, "wire"); return }
            if s.equals(key, "code") {
                if s.scanNull() { codeNull = true; code = nil; return }
                code = try unsigned(&s, "code")
                return
            }
            if s.equals(key, "peer") { peer = try stringOrNull(&s, "peer"); return }
            if s.equals(key, "alpn") { alpn = try stringOrNull(&s, "alpn"); return }
        case 5:
            if s.equals(key, "clean") { clean = try bool(&s, "clean"); return }
            if s.equals(key, "error") { error = try stringOrNull(&s, "error"); return }
        case 6:
            if s.equals(key, "opcode") { opcode = try unsigned(&s, "opcode"); return }
            if s.equals(key, "masked") { masked = try bool(&s, "masked"); return }
            if s.equals(key, "length") { length = try unsigned(&s, "length"); return }
            if s.equals(key, "reason") { reason = try stringOrNull(&s, "reason"); return }
            if s.equals(key, "cipher") { cipher = try stringOrNull(&s, "cipher"); return }
        case 7:
            if s.equals(key, "payload") { payload = try stringOrNull(&s, "payload"); return }
            if s.equals(key, "request") { request = try stringOrNull(&s, "request"); return }
            if s.equals(key, "message") { message = try stringOrNull(&s, "message"); return }
            if s.equals(key, "address") { address = try stringOrNull(&s, "address"); return }
        case 8:
            if s.equals(key, "response") { response = try stringOrNull(&s, "response"); return }
            if s.equals(key, "verified") { verified = try bool(&s, "verified"); return }
        case 10:
            if s.equals(key, "close_code") { closeCode = try unsigned(&s, "close_code"); return }
            if s.equals(key, "extensions") { extensions = try stringOrNull(&s, "extensions"); return }
        case 11:
            if s.equals(key, "wire_header") { wireHeader = try stringOrNull(&s, "wire_header"); return }
            if s.equals(key, "subprotocol") { subprotocol = try stringOrNull(&s, "subprotocol"); return }
            if s.equals(key, "tls_version") { tlsVersion = try stringOrNull(&s, "tls_version"); return }
            if s.equals(key, "peer_issuer") { peerIssuer = try stringOrNull(&s, "peer_issuer"); return }
        case 12:
            if s.equals(key, "peer_subject") { peerSubject = try stringOrNull(&s, "peer_subject"); return }
        default:
            break
        }
        try s.skipValue()
    }

    // MARK: Building events

    private func string(_ field: ScannedStringField, _ key: String, _ bytes: UnsafeRawBufferPointer) throws(Failure) -> String? {
        switch field {
        case .absent, .null: return nil
        case .value(let ref):
            do {
                return try JSONScanner(bytes).decodeString(ref)
            } catch {
                throw Failure(offset: error.offset, message: "\"\(key)\": \(error.message)")
            }
        }
    }

    private func required(_ field: ScannedStringField, _ key: String, _ bytes: UnsafeRawBufferPointer) throws(Failure) -> String {
        guard let value = try string(field, key, bytes) else { throw Self.semantic("\(typeName) event has no \"\(key)\"") }
        return value
    }

    private func base64(_ field: ScannedStringField, _ key: String, _ bytes: UnsafeRawBufferPointer) throws(Failure) -> [UInt8]? {
        guard case .value(let ref) = field else { return nil }
        let decoded: Result<[UInt8], Base64Codec.DecodeError>
        if ref.escaped {
            let text = try JSONScanner(bytes).decodeStringBytes(ref)
            decoded = text.withUnsafeBytes { Base64Codec.decode($0) }
        } else {
            decoded = Base64Codec.decode(UnsafeRawBufferPointer(rebasing: bytes[ref.start..<ref.end]))
        }
        switch decoded {
        case .success(let value): return value
        case .failure(let failure):
            throw Failure(offset: ref.escaped ? ref.start : ref.start + failure.offset, message: "\"\(key)\" is not valid base64 (\(failure.reason))")
        }
    }

    private func maskKey(_ bytes: UnsafeRawBufferPointer) throws(Failure) -> UInt32? {
        guard case .value(let ref) = mask else { return nil }
        guard ref.count == 8, !ref.escaped else { throw Self.semantic("\"mask\" must be 8 hex digits or null") }
        var key: UInt32 = 0
        try withUnsafeMutableBytes(of: &key) { (keyBytes) throws(Failure) in
            for i in 0..<4 {
                guard let hi = HexCodec.value(bytes[ref.start + 2 * i]), let lo = HexCodec.value(bytes[ref.start + 2 * i + 1]) else {
                    throw Self.semantic("\"mask\" must be 8 hex digits or null")
                }
                keyBytes[i] = hi << 4 | lo
            }
        }
        return key
    }

    private func connection() throws(Failure) -> Int {
        guard let conn else { throw Self.semantic("\(typeName) event has no \"conn\"") }
        return Int(conn)
    }

    private var typeName: String {
        switch type {
        case .frame: return "frame"
        case .open: return "open"
        case .close: return "close"
        case .error: return "error"
        case .header: return "header"
        case .listening: return "listening"
        case .connecting: return "connecting"
        case .handshakeFailed: return "handshake_failed"
        case .tls: return "tls"
        case .missing, .unknown: return "this"
        }
    }

    private func need<T>(_ value: T?, _ key: String) throws(Failure) -> T {
        guard let value else { throw Self.semantic("\(typeName) event has no \"\(key)\"") }
        return value
    }

    /// The header described by the fields, checked.
    private func frameHeader(_ bytes: UnsafeRawBufferPointer) throws(Failure) -> Header {
        let opcodeValue = try need(opcode, "opcode")
        guard opcodeValue <= 15 else { throw Self.semantic("\"opcode\" must be 0-15, not \(opcodeValue)") }
        let isMasked = try need(masked, "masked")
        let key = try maskKey(bytes)
        if isMasked && key == nil { throw Self.semantic("\"masked\" is true but \"mask\" is null") }
        return Header(
            fin: try need(fin, "fin"), rsv1: try need(rsv1, "rsv1"), rsv2: try need(rsv2, "rsv2"), rsv3: try need(rsv3, "rsv3"),
            opcode: OpCode(nibble: UInt8(opcodeValue)), masked: isMasked, maskKey: isMasked ? key ?? 0 : 0,
            length: try need(length, "length"))
    }

    /// The exact wire bytes: "wire", or rebuilt from "wire_header" (or from the fields).
    private func wireBytes(header: Header, payload: [UInt8], _ bytes: UnsafeRawBufferPointer) throws(Failure) -> [UInt8] {
        if let wire = try base64(wire, "wire", bytes) { return wire }
        if var rebuilt = try base64(wireHeader, "wire_header", bytes) {
            guard case .header(let decoded, let size) = Header.decode(rebuilt), size == rebuilt.count else {
                throw Self.semantic("\"wire_header\" is not a whole frame header")
            }
            let start = rebuilt.count
            rebuilt.append(contentsOf: payload)
            if decoded.masked {
                rebuilt.withUnsafeMutableBytes { Cipher.mask(UnsafeMutableRawBufferPointer(rebasing: $0[start...]), key: decoded.maskKey) }
            }
            return rebuilt
        }
        return Frame(header: header, payload: payload).wireBytes()
    }

    func makeEvent(_ bytes: UnsafeRawBufferPointer, number: Int) throws(Failure) -> Outcome {
        let t = tNs ?? 0
        switch type {
        case .missing:
            throw Self.semantic("no \"type\" field")
        case .unknown(let ref):
            return .unknownType((try? JSONScanner(bytes).decodeString(ref)) ?? "?")
        case .header:
            throw Self.semantic("a second header line (recordings have one, on line 1)")
        case .frame:
            let id = try connection()
            guard tNs != nil else { throw Self.semantic("frame event has no \"t_ns\"") }
            if case .value = error {
                let description = try required(error, "error", bytes)
                let wire = try base64(wire, "wire", bytes) ?? []
                if dir == .outgoing {
                    return .event(RecordedEvent(line: number, tNs: t, event: .rawSent(connection: id, wire: wire)))
                }
                let code = closeCode.map { CloseCode(UInt16(truncatingIfNeeded: $0)) } ?? .protocolError
                return .event(RecordedEvent(line: number, tNs: t, event: .violation(connection: id, description: description, code: code, wire: wire)))
            }
            let direction = try need(dir, "dir")
            let header = try frameHeader(bytes)
            guard let payloadBytes = try base64(payload, "payload", bytes) else {
                throw Self.semantic("frame event has no \"payload\"")
            }
            let wireBytes = try wireBytes(header: header, payload: payloadBytes, bytes)
            return .event(RecordedEvent(line: number, tNs: t, event: .frame(
                connection: id, direction: direction, header: header, payload: payloadBytes, wire: wireBytes)))
        case .open:
            let event = SessionEvent.opened(
                connection: try connection(), peer: try string(peer, "peer", bytes) ?? "",
                request: try required(request, "request", bytes), response: try string(response, "response", bytes) ?? "",
                subprotocol: try string(subprotocol, "subprotocol", bytes), extensions: try string(extensions, "extensions", bytes))
            return .event(RecordedEvent(line: number, tNs: t, event: event))
        case .close:
            var closeCode: CloseCode?
            if let code {
                guard code <= 0xFFFF else { throw Self.semantic("\"code\" must be 0-65535 or null") }
                closeCode = CloseCode(UInt16(code))
            }
            let event = SessionEvent.closed(
                connection: try connection(), code: closeCode, reason: try string(reason, "reason", bytes) ?? "",
                clean: clean ?? false)
            return .event(RecordedEvent(line: number, tNs: t, event: event))
        case .error:
            let event = SessionEvent.error(connection: conn.map { Int($0) }, message: try string(message, "message", bytes) ?? "")
            return .event(RecordedEvent(line: number, tNs: t, event: event))
        case .handshakeFailed:
            let event = SessionEvent.handshakeFailed(
                connection: try connection(), peer: try string(peer, "peer", bytes) ?? "",
                reason: try string(reason, "reason", bytes) ?? "")
            return .event(RecordedEvent(line: number, tNs: t, event: event))
        case .tls:
            let info = TLSInfo(
                version: try required(tlsVersion, "tls_version", bytes), cipher: try required(cipher, "cipher", bytes),
                alpn: try string(alpn, "alpn", bytes), serverName: try string(sni, "sni", bytes),
                peerSubject: try string(peerSubject, "peer_subject", bytes), peerIssuer: try string(peerIssuer, "peer_issuer", bytes),
                verified: verified ?? false)
            return .event(RecordedEvent(line: number, tNs: t, event: .tls(connection: try connection(), info: info)))
        case .listening:
            return .event(RecordedEvent(line: number, tNs: t, event: .listening(address: try string(address, "address", bytes) ?? "")))
        case .connecting:
            return .event(RecordedEvent(line: number, tNs: t, event: .connecting(url: try string(url, "url", bytes) ?? "")))
        }
    }

    /// The fast path of `dump --json`: writes a well-formed frame line (no "error") in the
    /// canonical form, copying base64 text through after checking it. Returns false when
    /// the line is not such a frame (the caller then goes through `makeEvent`).
    func appendNormalizedFrame(_ bytes: UnsafeRawBufferPointer, to out: RecordingBuffer) throws(Failure) -> Bool {
        guard case .frame = type, case .absent = error else { return false }
        guard case .value(let payloadRef) = payload, !payloadRef.escaped else { return false }
        let id = try connection()
        let direction = try need(dir, "dir")
        let time = try need(tNs, "t_ns")
        let header = try frameHeader(bytes)
        let payloadText = UnsafeRawBufferPointer(rebasing: bytes[payloadRef.start..<payloadRef.end])
        guard Base64Codec.isValid(payloadText) else { _ = try base64(payload, "payload", bytes); return false }

        let mark = out.count
        RecordingEncoder.appendFrameStart(connection: id, direction: direction, tNs: time, to: out)
        RecordingEncoder.appendHeaderFields(header, to: out)
        out.append(",\"payload\":\"")
        out.append(payloadText)
        if case .value(let wireRef) = wire, !wireRef.escaped {
            let wireText = UnsafeRawBufferPointer(rebasing: bytes[wireRef.start..<wireRef.end])
            guard Base64Codec.isValid(wireText) else {
                out.count = mark
                _ = try base64(wire, "wire", bytes)
                return false
            }
            out.append("\",\"wire\":\"")
            out.append(wireText)
            out.append("\"}")
            return true
        }
        // Rebuild the wire bytes.
        out.count = mark
        guard let payloadBytes = try base64(payload, "payload", bytes) else { return false }
        let wireBytes = try wireBytes(header: header, payload: payloadBytes, bytes)
        RecordingEncoder.appendFrameStart(connection: id, direction: direction, tNs: time, to: out)
        RecordingEncoder.appendHeaderFields(header, to: out)
        out.append(",\"payload\":\"")
        out.append(payloadText)
        out.append("\",\"wire\":")
        out.appendBase64String(wireBytes)
        out.append("}")
        return true
    }
}
