#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
#if canImport(WebSocket)
import WebSocket
#endif

/// `wscope convert`: recordings to and from HAR files as Chrome DevTools exports them.
///
/// Chrome keeps a WebSocket connection as one `log.entries[]` element with
/// `"_resourceType": "websocket"`, the handshake as `request`/`response`, and the messages
/// in `_webSocketMessages`: `{"type": "send"|"receive", "time": <seconds since the epoch>,
/// "opcode": 1|2, "data": <text, or base64 for binary>}`. "send" is the browser's (the
/// client's) direction.
///
/// Recording to HAR keeps every text and binary *message*: frames are reassembled per
/// connection and direction, and a message's time is that of its last frame. What HAR has
/// no place for is dropped and counted in the report's notes: control frames (ping, pong,
/// close — their close codes are lost), frames with reserved opcodes, frames that broke
/// the protocol, continuation frames with no message to continue, and a message still
/// unfinished when the recording ends. permessage-deflate messages (RSV1) are inflated by
/// the `decompress` hook when one is given, and dropped otherwise. Text that is not valid
/// UTF-8 is exported with U+FFFD replacements (HAR data is a JSON string).
///
/// HAR to recording: each entry becomes a connection (`open` with a handshake rebuilt from
/// the HAR headers), each message one final frame — client ("send") frames masked with a
/// random key, server frames not — with its wire bytes computed; mode "connect" (wscope in
/// the browser's place, so "send" is "out").
public enum HAR {
    public struct Report: Sendable {
        public var connections = 0
        public var messages = 0
        /// What was dropped or changed, one sentence each.
        public var notes: [String] = []
    }

    /// Inflates a permessage-deflate message: (connection, direction, compressed payload of
    /// the whole message) → payload, or nil when it cannot. Called in recording order per
    /// connection and direction, so it can keep context-takeover state.
    public typealias Decompressor = (_ connection: Int, _ direction: Direction, _ compressed: [UInt8]) -> [UInt8]?

    public struct ConversionError: Error, Sendable, CustomStringConvertible {
        public var message: String
        public init(_ message: String) { self.message = message }
        public var description: String { message }
    }

    // MARK: Recording -> HAR

    /// Reads the rest of `reader` and builds a HAR document (pretty-printed JSON).
    public static func export(
        _ reader: RecordingReader, decompress: Decompressor? = nil
    ) throws(RecordingError) -> (har: [UInt8], report: Report) {
        var exporter = Exporter(header: reader.header, decompress: decompress)
        while let event = try reader.next() { exporter.add(event) }
        return exporter.finish()
    }

    /// Builds a HAR document from events already in memory.
    public static func export(
        header: RecordingHeader, events: [RecordedEvent], decompress: Decompressor? = nil
    ) -> (har: [UInt8], report: Report) {
        var exporter = Exporter(header: header, decompress: decompress)
        for event in events { exporter.add(event) }
        return exporter.finish()
    }

    struct Message {
        var direction: Direction
        var tNs: UInt64
        var opcode: OpCode
        var data: [UInt8]
    }

    struct Connection {
        var id: Int
        var tNs: UInt64
        var peer = ""
        var request = ""
        var response = ""
        var messages: [Message] = []
        var lastTNs: UInt64 = 0
        /// Per direction (in, out): the message being reassembled.
        var partial: [Direction: (opcode: OpCode, compressed: Bool, data: [UInt8])] = [:]
        /// Directions seen carrying masked / unmasked data frames.
        var maskedOut = 0, maskedIn = 0, unmaskedOut = 0, unmaskedIn = 0
    }

    struct Exporter {
        let header: RecordingHeader
        let decompress: Decompressor?
        var connections: [Int: Connection] = [:]
        var order: [Int] = []
        var report = Report()
        var controlFrames = 0, reservedFrames = 0, violations = 0, orphanContinuations = 0
        var interrupted = 0, compressedDropped = 0, compressedFailed = 0, invalidText = 0

        init(header: RecordingHeader, decompress: Decompressor?) {
            self.header = header
            self.decompress = decompress
        }

        mutating func connection(_ id: Int, _ tNs: UInt64) -> Connection {
            if let existing = connections[id] { return existing }
            order.append(id)
            let created = Connection(id: id, tNs: tNs)
            connections[id] = created
            return created
        }

        mutating func add(_ recorded: RecordedEvent) {
            switch recorded.event {
            case .opened(let id, let peer, let request, let response, _, _):
                var c = connection(id, recorded.tNs)
                c.tNs = recorded.tNs
                c.peer = peer
                c.request = request
                c.response = response
                connections[id] = c
            case .frame(let id, let direction, let header, let payload, _):
                var c = connection(id, recorded.tNs)
                c.lastTNs = recorded.tNs
                addFrame(&c, direction: direction, header: header, payload: payload, tNs: recorded.tNs)
                connections[id] = c
            case .violation:
                violations += 1
            case .closed(let id, _, _, _):
                var c = connection(id, recorded.tNs)
                c.lastTNs = recorded.tNs
                connections[id] = c
            default:
                break
            }
        }

        mutating func addFrame(_ c: inout Connection, direction: Direction, header: Header, payload: [UInt8], tNs: UInt64) {
            let opcode = header.opcode
            if opcode.isControl {
                controlFrames += 1
                return
            }
            if opcode.isReserved {
                reservedFrames += 1
                return
            }
            switch (direction, header.masked) {
            case (.outgoing, true): c.maskedOut += 1
            case (.outgoing, false): c.unmaskedOut += 1
            case (.incoming, true): c.maskedIn += 1
            case (.incoming, false): c.unmaskedIn += 1
            }
            if opcode == .continuation {
                guard var partial = c.partial[direction] else {
                    orphanContinuations += 1
                    return
                }
                partial.data += payload
                c.partial[direction] = partial
            } else {
                if c.partial[direction] != nil { interrupted += 1 }
                c.partial[direction] = (opcode, header.rsv1, payload)
            }
            guard header.fin, let message = c.partial.removeValue(forKey: direction) else { return }
            var data = message.data
            if message.compressed {
                guard let decompress else {
                    compressedDropped += 1
                    return
                }
                guard let inflated = decompress(c.id, direction, data) else {
                    compressedFailed += 1
                    return
                }
                data = inflated
            }
            c.messages.append(Message(direction: direction, tNs: tNs, opcode: message.opcode, data: data))
        }

        mutating func finish() -> (har: [UInt8], report: Report) {
            let startNs = header.startEpochNanoseconds ?? 0
            if header.startEpochNanoseconds == nil {
                report.notes.append("the recording's start time '\(header.start)' is not ISO 8601; message times count from 1970")
            }
            var entries: [JSONValue] = []
            for id in order {
                guard let c = connections[id] else { continue }
                if !c.partial.isEmpty { interrupted += c.partial.count }
                entries.append(entry(c, startNs: startNs))
                report.connections += 1
            }
            func note(_ count: Int, _ text: String) {
                if count > 0 { report.notes.append("\(count) \(text)") }
            }
            note(controlFrames, "control frame(s) (ping, pong, close) dropped: HAR keeps only text and binary messages")
            note(reservedFrames, "frame(s) with reserved opcodes dropped")
            note(violations, "frame(s) that broke the protocol dropped")
            note(orphanContinuations, "continuation frame(s) with no message to continue dropped")
            note(interrupted, "unfinished fragmented message(s) dropped")
            note(compressedDropped, "compressed (permessage-deflate) message(s) dropped: no decompressor")
            note(compressedFailed, "compressed message(s) dropped: they did not decompress")
            note(invalidText, "text message(s) not valid UTF-8: exported with U+FFFD replacements")
            let log = JSONValue.object([
                JSONMember("log", .object([
                    JSONMember("version", .string("1.2")),
                    JSONMember("creator", .object([
                        JSONMember("name", .string("wscope")),
                        JSONMember("version", .string(header.tool.hasPrefix("wscope ") ? String(header.tool.dropFirst(7)) : header.tool)),
                    ])),
                    JSONMember("pages", .array([])),
                    JSONMember("entries", .array(entries)),
                ])),
            ])
            var bytes = log.serialized(indent: 2)
            bytes.append(0x0A)
            return (bytes, report)
        }

        /// Whether wscope was the client on this connection ("out" is then "send").
        func wscopeIsClient(_ c: Connection) -> Bool {
            switch header.mode {
            case "connect": return true
            case "listen": return false
            default:
                // Clients mask: the masked direction is client to server.
                if c.maskedOut + c.unmaskedIn != c.maskedIn + c.unmaskedOut {
                    return c.maskedOut + c.unmaskedIn > c.maskedIn + c.unmaskedOut
                }
                return true
            }
        }

        mutating func entry(_ c: Connection, startNs: Int64) -> JSONValue {
            let isClient = wscopeIsClient(c)
            var messages: [JSONValue] = []
            for message in c.messages {
                let send = (message.direction == .outgoing) == isClient
                let data: String
                if message.opcode == .binary {
                    data = Base64Codec.encode(message.data)
                } else {
                    if !UTF8Validator.isValid(message.data) { invalidText += 1 }
                    data = String(decoding: message.data, as: UTF8.self)
                }
                messages.append(.object([
                    JSONMember("type", .string(send ? "send" : "receive")),
                    JSONMember("time", .number(HAR.seconds(epochNanoseconds: saturatingAdd(startNs, message.tNs)))),
                    JSONMember("opcode", .number(Int(message.opcode.rawValue))),
                    JSONMember("data", .string(data)),
                ]))
                report.messages += 1
            }
            let request = HTTPHead(c.request)
            let response = HTTPHead(c.response)
            let url = HAR.url(request: request, endpoint: header.endpoint)
            let durationMs = Double(c.lastTNs > c.tNs ? c.lastTNs - c.tNs : 0) / 1e6
            var members: [JSONMember] = [
                JSONMember("_resourceType", .string("websocket")),
                JSONMember("_webSocketMessages", .array(messages)),
                JSONMember("cache", .object([])),
                JSONMember("connection", .string(String(c.id))),
                JSONMember("request", .object([
                    JSONMember("method", .string(request.startLine.first ?? "GET")),
                    JSONMember("url", .string(url)),
                    JSONMember("httpVersion", .string(request.startLine.count > 2 ? request.startLine[2] : "HTTP/1.1")),
                    JSONMember("headers", .array(request.headers.map(HAR.header))),
                    JSONMember("queryString", .array(HAR.queryString(url))),
                    JSONMember("cookies", .array([])),
                    JSONMember("headersSize", .number(c.request.utf8.count > 0 ? c.request.utf8.count : -1)),
                    JSONMember("bodySize", .number(0)),
                ])),
                JSONMember("response", .object([
                    JSONMember("status", .number(response.startLine.count > 1 ? Int(response.startLine[1]) ?? 101 : 101)),
                    JSONMember("statusText", .string(response.startLine.count > 2 ? response.startLine[2...].joined(separator: " ") : "Switching Protocols")),
                    JSONMember("httpVersion", .string(response.startLine.first ?? "HTTP/1.1")),
                    JSONMember("headers", .array(response.headers.map(HAR.header))),
                    JSONMember("cookies", .array([])),
                    JSONMember("content", .object([JSONMember("size", .number(0)), JSONMember("mimeType", .string("x-unknown"))])),
                    JSONMember("redirectURL", .string("")),
                    JSONMember("headersSize", .number(c.response.utf8.count > 0 ? c.response.utf8.count : -1)),
                    JSONMember("bodySize", .number(0)),
                ])),
            ]
            if !c.peer.isEmpty { members.append(JSONMember("serverIPAddress", .string(HAR.hostPart(c.peer)))) }
            members += [
                JSONMember("startedDateTime", .string(RecordingClock.iso8601(epochNanoseconds: saturatingAdd(startNs, c.tNs)))),
                JSONMember("time", .number(durationMs)),
                JSONMember("timings", .object([
                    JSONMember("blocked", .number(-1)), JSONMember("dns", .number(-1)), JSONMember("ssl", .number(-1)),
                    JSONMember("connect", .number(-1)), JSONMember("send", .number(0)), JSONMember("wait", .number(0)),
                    JSONMember("receive", .number(0)),
                ])),
            ]
            return .object(members)
        }
    }

    /// A raw HTTP head split into its start line's words and its header fields.
    struct HTTPHead {
        var startLine: [String] = []
        var headers: [(name: String, value: String)] = []

        init(_ text: String) {
            // Split on LF bytes: as Characters, CR LF is a single "\r\n".
            var lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map {
                String(decoding: $0.last == UInt8(ascii: "\r") ? $0.dropLast() : $0[...], as: UTF8.self)
            }
            guard !lines.isEmpty else { return }
            let first = lines.removeFirst()
            let parts = first.split(separator: " ", maxSplits: 2).map(String.init)
            startLine = parts
            for line in lines {
                if line.isEmpty { break }
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers.append((String(line[..<colon]), String(line[line.index(after: colon)...]).harTrimmed()))
            }
        }

        func value(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }
    }

    static func header(_ field: (name: String, value: String)) -> JSONValue {
        .object([JSONMember("name", .string(field.name)), JSONMember("value", .string(field.value))])
    }

    static func queryString(_ url: String) -> [JSONValue] {
        guard let question = url.firstIndex(of: "?") else { return [] }
        return url[url.index(after: question)...].split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1)
            return .object([
                JSONMember("name", .string(String(parts.first ?? ""))),
                JSONMember("value", .string(parts.count > 1 ? String(parts[1]) : "")),
            ])
        }
    }

    /// `ws://host/path` from the request's Host and target; the scheme from the endpoint.
    static func url(request: HTTPHead, endpoint: String) -> String {
        let target = request.startLine.count > 1 ? request.startLine[1] : "/"
        if target.hasPrefix("ws://") || target.hasPrefix("wss://") { return target }
        let scheme = endpoint.hasPrefix("wss://") || endpoint.hasPrefix("https://") ? "wss" : "ws"
        var host = request.value("Host") ?? ""
        if host.isEmpty {
            // The endpoint's authority: "ws://h:p/x" -> "h:p", "h:p" -> "h:p".
            var rest = Substring(endpoint)
            if let range = rest.firstRange(of: "://") { rest = rest[range.upperBound...] }
            host = String(rest.prefix { $0 != "/" })
        }
        return scheme + "://" + host + (target.hasPrefix("/") ? target : "/" + target)
    }

    /// `127.0.0.1` from `127.0.0.1:9001`, `::1` from `[::1]:9001`.
    static func hostPart(_ peer: String) -> String {
        if peer.hasPrefix("["), let close = peer.firstIndex(of: "]") {
            return String(peer[peer.index(after: peer.startIndex)..<close])
        }
        if peer.filter({ $0 == ":" }).count == 1, let colon = peer.firstIndex(of: ":") { return String(peer[..<colon]) }
        return peer
    }

    /// `base + offset`, pinned to Int64's range.
    static func saturatingAdd(_ base: Int64, _ offset: UInt64) -> Int64 {
        let (sum, overflow) = base.addingReportingOverflow(Int64(clamping: offset))
        return overflow ? .max : sum
    }

    /// Seconds since the epoch with microseconds, as JSON number text.
    static func seconds(epochNanoseconds: Int64) -> String {
        // Floor division, so that negative times keep a positive fraction.
        var micros = epochNanoseconds / 1000
        if epochNanoseconds % 1000 < 0 { micros -= 1 }
        var whole = micros / 1_000_000
        var rest = micros % 1_000_000
        if rest < 0 {
            whole -= 1
            rest += 1_000_000
        }
        let fraction = String(rest)
        return "\(whole)." + String(repeating: "0", count: 6 - fraction.count) + fraction
    }

    /// Nanoseconds since the epoch from JSON number text, exactly for plain decimals.
    static func epochNanoseconds(seconds text: String) -> Int64? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        if !text.contains("e"), !text.contains("E"), let whole = Int64(parts[0]) {
            var nanos: Int64 = 0
            if parts.count == 2 {
                let digits = parts[1].prefix(9)
                guard digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
                nanos = Int64(digits + String(repeating: "0", count: 9 - digits.count)) ?? 0
            }
            let negative = parts[0].hasPrefix("-")
            let (scaled, overflow) = whole.multipliedReportingOverflow(by: 1_000_000_000)
            let (total, overflow2) = scaled.addingReportingOverflow(negative ? -nanos : nanos)
            return overflow || overflow2 ? nil : total
        }
        guard let value = Double(text), value.isFinite, abs(value) < 9e9 else { return nil }
        return Int64((value * 1e9).rounded())
    }

    // MARK: HAR -> recording

    /// Reads a HAR document into a recording's header and events.
    public static func importHAR(_ bytes: [UInt8]) throws(ConversionError) -> (header: RecordingHeader, events: [RecordedEvent], report: Report) {
        let document: JSONValue
        do {
            document = try JSONValue.parse(bytes)
        } catch {
            throw ConversionError("not a HAR file: invalid JSON at byte \(error.offset + 1): \(error.message)")
        }
        guard let log = document["log"], case .object = log else { throw ConversionError("not a HAR file: no \"log\" object") }
        guard let entries = log["entries"]?.array else { throw ConversionError("not a HAR file: no \"log.entries\" array") }

        var report = Report()
        struct Pending { var epochNs: Int64; var order: Int; var event: SessionEvent }
        var pending: [Pending] = []
        var skippedEntries = 0, skippedMessages = 0, otherOpcodes = 0
        var firstURL: String?
        var connectionId = 0

        for entry in entries {
            let isWebSocket = entry["_resourceType"]?.string == "websocket" || entry["_webSocketMessages"] != nil
            guard isWebSocket else {
                skippedEntries += 1
                continue
            }
            connectionId += 1
            report.connections += 1
            let url = entry["request"]?["url"]?.string ?? ""
            if firstURL == nil { firstURL = url }
            let openNs = entry["startedDateTime"]?.string.flatMap(RecordingClock.parseISO8601)
            let messages = entry["_webSocketMessages"]?.array ?? []
            let firstMessageNs = messages.first.flatMap { messageTime($0) }
            let opened = openNs ?? firstMessageNs ?? 0
            let request = requestText(entry["request"], url: url)
            let response = responseText(entry["response"])
            let responseHeaders = HTTPHead(response)
            pending.append(Pending(epochNs: opened, order: pending.count, event: .opened(
                connection: connectionId, peer: entry["serverIPAddress"]?.string ?? hostPart(authority(url)),
                request: request, response: response,
                subprotocol: responseHeaders.value("Sec-WebSocket-Protocol"),
                extensions: responseHeaders.value("Sec-WebSocket-Extensions"))))

            for message in messages {
                guard let type = message["type"]?.string, type == "send" || type == "receive",
                      let opcodeValue = message["opcode"]?.int, (0...15).contains(opcodeValue),
                      let time = messageTime(message)
                else {
                    skippedMessages += 1
                    continue
                }
                let opcode = OpCode(nibble: UInt8(opcodeValue))
                let dataText = message["data"]?.string ?? ""
                let payload: [UInt8]
                if opcode == .binary {
                    guard let decoded = Base64Codec.decode(dataText) else {
                        skippedMessages += 1
                        continue
                    }
                    payload = decoded
                } else {
                    if opcode != .text { otherOpcodes += 1 }
                    payload = Array(dataText.utf8)
                }
                let client = type == "send"
                let frame = Frame.data(opcode, payload, role: client ? .client : .server)
                pending.append(Pending(epochNs: time, order: pending.count, event: .frame(
                    connection: connectionId, direction: client ? .outgoing : .incoming,
                    header: frame.header, payload: payload, wire: frame.wireBytes())))
                report.messages += 1
            }
        }
        if skippedEntries > 0 { report.notes.append("\(skippedEntries) non-WebSocket entr\(skippedEntries == 1 ? "y" : "ies") skipped") }
        if skippedMessages > 0 { report.notes.append("\(skippedMessages) message(s) without a valid type, time, opcode or data skipped") }
        if otherOpcodes > 0 { report.notes.append("\(otherOpcodes) message(s) with opcodes other than 1 and 2 kept as text payloads") }
        if connectionId == 0 { report.notes.append("the HAR file has no WebSocket entries") }

        let startNs = pending.map(\.epochNs).min() ?? RecordingClock.wallClockNanoseconds()
        pending.sort { ($0.epochNs, $0.order) < ($1.epochNs, $1.order) }
        let events = pending.map {
            RecordedEvent(line: 0, tNs: UInt64(bitPattern: $0.epochNs &- startNs), event: $0.event)
        }
        let header = RecordingHeader(
            mode: "connect", endpoint: firstURL ?? "", start: RecordingClock.iso8601(epochNanoseconds: startNs))
        return (header, events, report)
    }

    static func messageTime(_ message: JSONValue) -> Int64? {
        guard case .number(let text)? = message["time"] else { return nil }
        return epochNanoseconds(seconds: text)
    }

    static func authority(_ url: String) -> String {
        var rest = Substring(url)
        if let range = rest.firstRange(of: "://") { rest = rest[range.upperBound...] }
        return String(rest.prefix { $0 != "/" && $0 != "?" })
    }

    static func requestText(_ request: JSONValue?, url: String) -> String {
        let method = request?["method"]?.string ?? "GET"
        let version = request?["httpVersion"]?.string ?? "HTTP/1.1"
        var rest = Substring(url)
        if let range = rest.firstRange(of: "://") { rest = rest[range.upperBound...] }
        let target = rest.firstIndex(where: { $0 == "/" || $0 == "?" }).map { String(rest[$0...]) } ?? "/"
        var text = "\(method) \(target.hasPrefix("?") ? "/" + target : target) \(version.hasPrefix("HTTP/") ? version : "HTTP/1.1")\r\n"
        var hasHost = false
        for field in request?["headers"]?.array ?? [] {
            guard let name = field["name"]?.string, !name.hasPrefix(":") else { continue }
            if name.lowercased() == "host" { hasHost = true }
            text += "\(name): \(field["value"]?.string ?? "")\r\n"
        }
        if !hasHost { text = text.harInsertingAfterFirstLine(with: "Host: \(authority(url))\r\n") }
        return text + "\r\n"
    }

    static func responseText(_ response: JSONValue?) -> String {
        let status = response?["status"]?.int ?? 101
        let statusText = response?["statusText"]?.string ?? (status == 101 ? "Switching Protocols" : "")
        var version = response?["httpVersion"]?.string ?? "HTTP/1.1"
        if !version.hasPrefix("HTTP/") { version = "HTTP/1.1" }
        var text = "\(version) \(status) \(statusText)\r\n"
        for field in response?["headers"]?.array ?? [] {
            guard let name = field["name"]?.string, !name.hasPrefix(":") else { continue }
            text += "\(name): \(field["value"]?.string ?? "")\r\n"
        }
        return text + "\r\n"
    }

    // MARK: Files

    /// Which way `convert` went.
    public enum Conversion: Sendable { case recordingToHAR, harToRecording }

    /// `wscope convert IN OUT`: the input's format is read from its content (a recording
    /// starts with its header line, a HAR file is a JSON object with "log"); the output
    /// is HAR when its name ends in `.har`, a recording otherwise. Converting a format into
    /// itself is refused.
    public static func convert(
        input: String, output: String, skipBadLines: Bool = false, decompress: Decompressor? = nil
    ) throws(ConversionError) -> (conversion: Conversion, report: Report, warnings: [String]) {
        let wantsHAR = output.lowercased().hasSuffix(".har")
        let reader: RecordingReader
        do {
            reader = try RecordingReader(path: input, options: .init(skipBadLines: skipBadLines))
        } catch {
            switch error {
            case .notARecording, .empty:
                break
            default:
                throw ConversionError(error.description)
            }
            // Maybe a HAR file.
            let bytes: [UInt8]
            do { bytes = try FrameSpec.readFile(input) } catch { throw ConversionError("\(error)") }
            let imported: (header: RecordingHeader, events: [RecordedEvent], report: Report)
            do {
                imported = try importHAR(bytes)
            } catch let harError {
                if case .empty = error { throw ConversionError("\(input): empty file") }
                throw ConversionError("\(input) is neither a wscope recording (\(error)) nor a HAR file (\(harError.message))")
            }
            guard !wantsHAR else {
                throw ConversionError("\(input) is already a HAR file; name the output without .har to get a recording")
            }
            do {
                let writer = try RecordingWriter(path: output, header: imported.header, startMonotonicNanoseconds: 0)
                for event in imported.events { try writer.write(event.event, tNs: event.tNs) }
                try writer.close()
            } catch {
                throw ConversionError(error.description)
            }
            return (.harToRecording, imported.report, [])
        }
        guard wantsHAR else {
            throw ConversionError("\(input) is already a recording; name the output *.har to convert it to HAR")
        }
        let exported: (har: [UInt8], report: Report)
        do {
            exported = try export(reader, decompress: decompress)
        } catch {
            throw ConversionError(error.description)
        }
        let fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ConversionError("cannot open '\(output)': \(inspectorErrnoText(errno))") }
        defer { close(fd) }
        let out = RecordingBuffer(capacity: exported.har.count + 1)
        out.append(exported.har)
        if let code = out.write(to: fd) { throw ConversionError("\(output): write failed: \(inspectorErrnoText(code))") }
        return (.recordingToHAR, exported.report, reader.warnings)
    }
}

extension String {
    func harTrimmed() -> String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return String(s)
    }

    /// Inserts `text` after the first CRLF.
    func harInsertingAfterFirstLine(with text: String) -> String {
        guard let range = self.firstRange(of: "\r\n") else { return self + "\r\n" + text }
        return String(self[..<range.upperBound]) + text + String(self[range.upperBound...])
    }
}
