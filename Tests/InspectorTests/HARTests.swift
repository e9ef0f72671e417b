import Testing
import WebSocket
@testable import Inspector
#if canImport(Glibc)
import Glibc
#endif

private let start = "2026-11-25T01:43:00.123456Z"

private struct Msg: Equatable, CustomStringConvertible {
    var type: String
    var time: String
    var opcode: Int
    var data: String
    var description: String { "\(type) \(time) op\(opcode) \(data.prefix(40))" }
}

private func messages(_ har: [UInt8]) throws -> [[Msg]] {
    let doc = try JSONValue.parse(har)
    return (doc["log"]?["entries"]?.array ?? []).map { entry in
        (entry["_webSocketMessages"]?.array ?? []).map { m in
            guard case .number(let time)? = m["time"] else { return Msg(type: "?", time: "?", opcode: -1, data: "") }
            return Msg(type: m["type"]?.string ?? "?", time: time, opcode: m["opcode"]?.int ?? -1, data: m["data"]?.string ?? "?")
        }
    }
}

/// A connect-mode session: fragmented text with a ping between fragments, binary both
/// ways, a close handshake, a protocol violation, and a second connection.
private func session() -> [RecordedEvent] {
    var events: [SessionEvent] = [
        .opened(connection: 1, peer: "127.0.0.1:9001",
                request: "GET /chat?room=1 HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                response: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
                subprotocol: nil, extensions: nil),
        frameEvent(1, .outgoing, .text, Array("hello".utf8)),
        frameEvent(1, .incoming, .text, Array("hel".utf8), fin: false),
        frameEvent(1, .incoming, .ping, Array("p".utf8)),
        frameEvent(1, .incoming, .continuation, Array("lo €".utf8), fin: true),
        frameEvent(1, .outgoing, .binary, [0, 1, 2, 255]),
        frameEvent(1, .incoming, .binary, [9], fin: false),
        frameEvent(1, .incoming, .continuation, [8], fin: false),
        frameEvent(1, .incoming, .continuation, [7], fin: true),
        frameEvent(1, .outgoing, .pong, []),
        .opened(connection: 2, peer: "127.0.0.1:9001", request: "GET /other HTTP/1.1\r\nHost: h:1\r\n\r\n",
                response: "HTTP/1.1 101 Switching Protocols\r\n\r\n", subprotocol: nil, extensions: nil),
        frameEvent(2, .incoming, .text, Array("second \"quoted\"\n".utf8)),
        .violation(connection: 2, description: "reserved opcode 0x3", code: .protocolError, wire: [0x83, 0x00]),
        frameEvent(1, .outgoing, .close, [0x03, 0xE8]),
        frameEvent(1, .incoming, .close, [0x03, 0xE8]),
        .closed(connection: 1, code: .normalClosure, reason: "", clean: true),
    ]
    events.append(frameEvent(1, .outgoing, .text, Array(String(repeating: "x", count: 5000).utf8)))
    return events.enumerated().map { RecordedEvent(line: $0 + 2, tNs: UInt64($0) * 1_000_250, event: $1) }
}

@Suite("HAR conversion")
struct HARTests {
    @Test func recordingToHARKeepsEveryMessage() throws {
        let header = RecordingHeader(mode: "connect", endpoint: "ws://127.0.0.1:9001/chat?room=1", start: start)
        let (har, report) = HAR.export(header: header, events: session())
        let doc = try JSONValue.parse(har)
        let entries = try #require(doc["log"]?["entries"]?.array)
        #expect(entries.count == 2)
        #expect(entries[0]["_resourceType"]?.string == "websocket")
        #expect(entries[0]["request"]?["url"]?.string == "ws://127.0.0.1:9001/chat?room=1")
        #expect(entries[0]["response"]?["status"]?.int == 101)
        #expect(entries[0]["startedDateTime"]?.string == start)
        #expect(entries[1]["request"]?["url"]?.string == "ws://h:1/other")
        let got = try messages(har)
        #expect(got[0].map { [$0.type, String($0.opcode), $0.data] } == [
            ["send", "1", "hello"],
            ["receive", "1", "hello €"],
            ["send", "2", "AAEC/w=="],
            ["receive", "2", "CQgH"],
            ["send", "1", String(repeating: "x", count: 5000)],
        ])
        #expect(got[1].map(\.data) == ["second \"quoted\"\n"])
        // Message time: the recording's start plus the time of the message's last frame.
        #expect(got[0][0].time == "1795570980.124456")
        #expect(got[0][1].time == "1795570980.127457")
        #expect(report.messages == 6 && report.connections == 2)
        #expect(report.notes.contains("4 control frame(s) (ping, pong, close) dropped: HAR keeps only text and binary messages"))
        #expect(report.notes.contains("1 frame(s) that broke the protocol dropped"))
    }

    @Test func roundTripKeepsEveryMessage() throws {
        let header = RecordingHeader(mode: "connect", endpoint: "ws://127.0.0.1:9001/", start: start)
        let first = HAR.export(header: header, events: session()).har
        let imported = try HAR.importHAR(first)
        #expect(imported.report.connections == 2 && imported.report.messages == 6)
        let second = HAR.export(header: imported.header, events: imported.events).har
        #expect(try messages(second) == messages(first))
        // Client frames come back masked, server frames not, with correct wire bytes.
        for event in imported.events {
            guard case .frame(_, let direction, let h, let payload, let wire) = event.event else { continue }
            #expect(h.masked == (direction == .outgoing))
            #expect(wire == Frame(header: h, payload: payload).wireBytes())
        }
        // And through a recording file.
        let dir = TempDirectory()
        let path = dir.file("from-har.jsonl")
        let writer = try RecordingWriter(path: path, header: imported.header, startMonotonicNanoseconds: 0)
        for event in imported.events { try writer.write(event.event, tNs: event.tNs) }
        try writer.close()
        let third = try HAR.export(RecordingReader(path: path)).har
        #expect(try messages(third) == messages(first))
    }

    @Test func listenModeSwapsDirections() throws {
        let header = RecordingHeader(mode: "listen", endpoint: "127.0.0.1:9001", start: start)
        let events = [
            RecordedEvent(line: 2, tNs: 0, event: frameEvent(1, .incoming, .text, Array("from client".utf8))),
            RecordedEvent(line: 3, tNs: 1, event: frameEvent(1, .outgoing, .text, Array("from server".utf8))),
        ]
        let got = try messages(HAR.export(header: header, events: events).har)
        #expect(got[0].map(\.type) == ["send", "receive"])
        #expect(try JSONValue.parse(HAR.export(header: header, events: events).har)["log"]?["entries"]?.array?[0]["request"]?["url"]?.string == "ws://127.0.0.1:9001/")
        // Proxy (or unknown) mode: the masked direction is the client's.
        let proxy = RecordingHeader(mode: "proxy", endpoint: "x", start: start)
        let masked = [
            RecordedEvent(line: 2, tNs: 0, event: frameEvent(1, .outgoing, .text, Array("a".utf8)).unmasked),
            RecordedEvent(line: 3, tNs: 1, event: .frame(connection: 1, direction: .incoming, header: maskedFrame(.text, [0x62]).0, payload: [0x62], wire: maskedFrame(.text, [0x62]).1)),
            RecordedEvent(line: 4, tNs: 2, event: .frame(connection: 1, direction: .incoming, header: maskedFrame(.text, [0x63]).0, payload: [0x63], wire: maskedFrame(.text, [0x63]).1)),
        ]
        #expect(try messages(HAR.export(header: proxy, events: masked).har)[0].map(\.type) == ["receive", "send", "send"])
        // The masked direction ("in") is the client's, so "out" is "receive".
    }

    @Test func compressedMessagesNeedADecompressor() throws {
        let header = RecordingHeader(mode: "connect", endpoint: "ws://h/", start: start)
        let compressed = Frame(header: Header(rsv1: true, opcode: .text, length: 3), payload: [1, 2, 3])
        let events = [RecordedEvent(line: 2, tNs: 0, event: .frame(connection: 1, direction: .incoming, header: compressed.header, payload: [1, 2, 3], wire: compressed.wireBytes()))]
        let dropped = HAR.export(header: header, events: events)
        #expect(try messages(dropped.har)[0].isEmpty)
        #expect(dropped.report.notes == ["1 compressed (permessage-deflate) message(s) dropped: no decompressor"])
        let inflated = HAR.export(header: header, events: events) { conn, dir, bytes in
            #expect(conn == 1 && dir == .incoming && bytes == [1, 2, 3])
            return Array("inflated".utf8)
        }
        #expect(try messages(inflated.har)[0].map(\.data) == ["inflated"])
    }

    @Test func importsAChromeExport() throws {
        let har = """
        {
          "log": {
            "version": "1.2",
            "creator": {"name": "WebInspector", "version": "537.36"},
            "pages": [],
            "entries": [
              {"_resourceType": "document", "request": {"method": "GET", "url": "https://example.com/"}, "response": {"status": 200}},
              {
                "_fromCache": null,
                "_initiator": {"type": "script"},
                "_priority": "High",
                "_resourceType": "websocket",
                "cache": {},
                "connection": "1234",
                "request": {
                  "method": "GET",
                  "url": "wss://example.com/socket?x=1",
                  "httpVersion": "HTTP/1.1",
                  "headers": [
                    {"name": "Host", "value": "example.com"},
                    {"name": "Upgrade", "value": "websocket"},
                    {"name": "Sec-WebSocket-Key", "value": "dGhlIHNhbXBsZSBub25jZQ=="}
                  ],
                  "queryString": [{"name": "x", "value": "1"}],
                  "cookies": [],
                  "headersSize": -1,
                  "bodySize": 0
                },
                "response": {
                  "status": 101,
                  "statusText": "Switching Protocols",
                  "httpVersion": "HTTP/1.1",
                  "headers": [
                    {"name": "Upgrade", "value": "websocket"},
                    {"name": "Sec-WebSocket-Protocol", "value": "chat"}
                  ],
                  "cookies": [],
                  "content": {"size": 0, "mimeType": "x-unknown"},
                  "redirectURL": "",
                  "headersSize": -1,
                  "bodySize": -1,
                  "_transferSize": 0,
                  "_error": null
                },
                "serverIPAddress": "93.184.216.34",
                "startedDateTime": "2023-11-14T22:13:20.000Z",
                "time": 1234.5,
                "timings": {"blocked": -1, "dns": -1, "ssl": -1, "connect": -1, "send": 0, "wait": 0, "receive": 0},
                "_webSocketMessages": [
                  {"type": "send", "time": 1700000000.5, "opcode": 1, "data": "{\\"op\\":\\"hi\\"}"},
                  {"type": "receive", "time": 1700000000.75, "opcode": 2, "data": "AAEC"},
                  {"type": "receive", "time": 1.7000000008e9, "opcode": 1, "data": "exp"},
                  {"type": "bogus", "time": 1700000001, "opcode": 1, "data": "x"}
                ]
              }
            ]
          }
        }
        """
        let imported = try HAR.importHAR(Array(har.utf8))
        #expect(imported.header.mode == "connect")
        #expect(imported.header.endpoint == "wss://example.com/socket?x=1")
        #expect(imported.header.start == "2023-11-14T22:13:20.000000Z")
        #expect(imported.report.notes.contains("1 non-WebSocket entry skipped"))
        #expect(imported.report.notes.contains("1 message(s) without a valid type, time, opcode or data skipped"))
        #expect(imported.events.count == 4)
        guard case .opened(1, let peer, let request, let response, let subprotocol, _) = imported.events[0].event else {
            Issue.record("no open event"); return
        }
        #expect(peer == "93.184.216.34")
        #expect(request.hasPrefix("GET /socket?x=1 HTTP/1.1\r\nHost: example.com\r\n"))
        #expect(request.hasSuffix("\r\n\r\n"))
        #expect(response.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
        #expect(subprotocol == "chat")
        guard case .frame(1, .outgoing, let h1, let p1, _) = imported.events[1].event,
              case .frame(1, .incoming, let h2, let p2, _) = imported.events[2].event else {
            Issue.record("frames missing"); return
        }
        #expect(h1.opcode == .text && h1.masked && p1 == Array("{\"op\":\"hi\"}".utf8))
        #expect(h2.opcode == .binary && !h2.masked && p2 == [0, 1, 2])
        #expect(imported.events.map(\.tNs) == [0, 500_000_000, 750_000_000, 800_000_000])
    }

    @Test func badHARFiles() {
        func failure(_ text: String) -> String? {
            do { _ = try HAR.importHAR(Array(text.utf8)); return nil } catch { return error.message }
        }
        #expect(failure("{")?.hasPrefix("not a HAR file: invalid JSON") == true)
        #expect(failure("[]") == "not a HAR file: no \"log\" object")
        #expect(failure("{\"log\":{}}") == "not a HAR file: no \"log.entries\" array")
        #expect((try? HAR.importHAR(Array("{\"log\":{\"entries\":[]}}".utf8)))?.report.notes == ["the HAR file has no WebSocket entries"])
    }

    @Test func convertFilesBothWays() throws {
        let dir = TempDirectory()
        let recording = dir.file("session.jsonl")
        let header = RecordingHeader(mode: "connect", endpoint: "ws://127.0.0.1:9001/", start: start)
        let writer = try RecordingWriter(path: recording, header: header, startMonotonicNanoseconds: 0)
        for event in session() { try writer.write(event.event, tNs: event.tNs) }
        try writer.close()

        let toHAR = try HAR.convert(input: recording, output: dir.file("session.har"))
        #expect(toHAR.conversion == .recordingToHAR && toHAR.report.messages == 6)
        let back = try HAR.convert(input: dir.file("session.har"), output: dir.file("back.jsonl"))
        #expect(back.conversion == .harToRecording && back.report.messages == 6)
        let again = try HAR.convert(input: dir.file("back.jsonl"), output: dir.file("again.HAR"))
        #expect(again.report.messages == 6)
        #expect(try messages(readFile(dir.file("again.HAR"))) == messages(readFile(dir.file("session.har"))))

        func failure(_ input: String, _ output: String) -> String? {
            do { _ = try HAR.convert(input: input, output: output); return nil } catch { return error.message }
        }
        #expect(failure(recording, dir.file("x.jsonl"))?.contains("is already a recording") == true)
        #expect(failure(dir.file("session.har"), dir.file("y.har"))?.contains("is already a HAR file") == true)
        writeFile(dir.file("junk"), Array("junk\n".utf8))
        #expect(failure(dir.file("junk"), dir.file("z.har"))?.contains("is neither a wscope recording") == true)
        #expect(failure(dir.file("missing"), dir.file("z.har"))?.hasPrefix("cannot open") == true)
        writeFile(dir.file("empty"), [])
        #expect(failure(dir.file("empty"), dir.file("z.har"))?.hasSuffix("empty file") == true)
    }
}

extension SessionEvent {
    /// The same frame sent unmasked.
    var unmasked: SessionEvent {
        guard case .frame(let c, let d, var h, let p, _) = self else { return self }
        h.masked = false
        h.maskKey = 0
        return .frame(connection: c, direction: d, header: h, payload: p, wire: Frame(header: h, payload: p).wireBytes())
    }
}
