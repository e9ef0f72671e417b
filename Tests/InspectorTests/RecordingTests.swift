import Testing
import WebSocket
@testable import Inspector
#if canImport(Glibc)
import Glibc
#endif

private let header = RecordingHeader(mode: "connect", endpoint: "ws://127.0.0.1:9001/chat", start: "2026-11-25T01:43:00.123456Z")

/// Writes `events` at t = 1000 * index ns and returns the file's path.
private func record(_ events: [SessionEvent], in dir: TempDirectory, name: String = "rec.jsonl",
                    options: RecordingWriter.Options = .init()) throws -> String {
    let path = dir.file(name)
    let writer = try RecordingWriter(path: path, header: header, startMonotonicNanoseconds: 5_000, options: options)
    for (index, event) in events.enumerated() {
        try writer.write(event, at: 5_000 + UInt64(index) * 1000)
    }
    try writer.close()
    return path
}

private func readError(_ body: () throws -> Void) -> RecordingError? {
    do { try body(); return nil } catch let error as RecordingError { return error } catch { return nil }
}

@Suite("Recording: writer and reader")
struct RecordingRoundTripTests {
    @Test(arguments: [WireStorage.default, .always, .compact(above: 0)])
    func everyEventTypeRoundTrips(_ storage: WireStorage) throws {
        let dir = TempDirectory()
        let events = sampleEvents()
        let path = try record(events, in: dir, options: .init(wire: storage))
        let reader = try RecordingReader(path: path)
        #expect(reader.header == header)
        let read = try reader.readAll()
        #expect(read.count == events.count)
        for (index, (original, back)) in zip(events, read).enumerated() {
            #expect(back.line == index + 2)
            #expect(back.tNs == UInt64(index) * 1000)
            #expect(canonical(back.event) == canonical(original), "event \(index)")
        }
        #expect(reader.warnings.isEmpty)
    }

    @Test func frameLinesCarryTheIssueSchema() throws {
        let dir = TempDirectory()
        let path = try record([frameEvent(7, .outgoing, .text, Array("Hello".utf8))], in: dir)
        let text = lines(readFile(path))
        #expect(text[0] == "{\"type\":\"header\",\"format\":\"wscope-recording\",\"version\":1,\"tool\":\"wscope 0.1.0\",\"start\":\"2026-11-25T01:43:00.123456Z\",\"mode\":\"connect\",\"endpoint\":\"ws://127.0.0.1:9001/chat\"}")
        #expect(text[1] == "{\"type\":\"frame\",\"conn\":7,\"dir\":\"out\",\"t_ns\":0,\"fin\":true,\"rsv1\":false,\"rsv2\":false,\"rsv3\":false,\"opcode\":1,\"masked\":true,\"mask\":\"01020304\",\"length\":5,\"payload\":\"SGVsbG8=\",\"wire\":\"gYUBAgMESWdvaG4=\"}")
        #expect(text[2] == "")
        #expect(text.count == 3)
    }

    @Test func uncapturedWireBytesAreRebuilt() throws {
        let header = Header(opcode: .text, masked: true, maskKey: Header.maskKey(1, 2, 3, 4), length: 5)
        let line = canonical(.frame(connection: 7, direction: .outgoing, header: header, payload: Array("Hello".utf8), wire: []))
        #expect(line.hasSuffix("\"wire\":\"gYUBAgMESWdvaG4=\"}"))
    }

    @Test func otherEventLines() throws {
        let events: [SessionEvent] = [
            .opened(connection: 1, peer: "p", request: "GET / HTTP/1.1\r\n\r\n", response: "HTTP/1.1 101 OK\r\n\r\n", subprotocol: nil, extensions: nil),
            .closed(connection: 1, code: .normalClosure, reason: "bye", clean: true),
            .error(connection: nil, message: "boom"),
            .violation(connection: 1, description: "reserved opcode 0x3", code: .protocolError, wire: [0x83, 0x00]),
        ]
        let got = events.map { canonical($0, 42) }
        #expect(got == [
            "{\"type\":\"open\",\"conn\":1,\"t_ns\":42,\"peer\":\"p\",\"request\":\"GET / HTTP/1.1\\r\\n\\r\\n\",\"response\":\"HTTP/1.1 101 OK\\r\\n\\r\\n\",\"subprotocol\":null,\"extensions\":null}",
            "{\"type\":\"close\",\"conn\":1,\"t_ns\":42,\"code\":1000,\"reason\":\"bye\",\"clean\":true}",
            "{\"type\":\"error\",\"conn\":null,\"t_ns\":42,\"message\":\"boom\"}",
            "{\"type\":\"frame\",\"conn\":1,\"dir\":\"in\",\"t_ns\":42,\"fin\":true,\"rsv1\":false,\"rsv2\":false,\"rsv3\":false,\"opcode\":3,\"masked\":false,\"mask\":null,\"length\":0,\"payload\":\"\",\"wire\":\"gwA=\",\"error\":\"reserved opcode 0x3\",\"close_code\":1002}",
        ])
    }

    @Test func compactStorageKeepsWireOnlyWhenItCannotBeRebuilt() throws {
        let dir = TempDirectory()
        let path = try record(sampleEvents(), in: dir)
        let text = lines(readFile(path)).filter { $0.contains("\"type\":\"frame\"") }
        let large = text.filter { $0.count > 2500 }
        // 2000-byte masked, 70000-byte plain and len64 frames are rebuildable: header only.
        #expect(large.filter { $0.contains("\"wire_header\"") }.count == 3)
        // The lying-length frame keeps its exact bytes.
        #expect(large.filter { $0.contains("\"wire\"") }.count == 1)
        // Small frames always carry "wire".
        #expect(text.filter { $0.count < 300 }.allSatisfy { $0.contains("\"wire\":") })
    }

    @Test func binaryDataTakesAtMostTwiceItsSizeOnDisk() throws {
        let dir = TempDirectory()
        var events: [SessionEvent] = []
        var payloadBytes = 0
        for i in 0..<200 {
            let payload = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) }
            payloadBytes += payload.count
            events.append(frameEvent(1, i % 2 == 0 ? .outgoing : .incoming, .binary, payload))
        }
        let compact = try record(events, in: dir, name: "compact.jsonl")
        let full = try record(events, in: dir, name: "full.jsonl", options: .init(wire: .always))
        let ratio = Double(fileSize(compact)) / Double(payloadBytes)
        #expect(ratio <= 2.0, "compact ratio \(ratio)")
        #expect(Double(fileSize(full)) / Double(payloadBytes) > 2.6)
    }

    @Test func intervalFlushingBatchesLines() throws {
        let dir = TempDirectory()
        let path = dir.file("batched.jsonl")
        let writer = try RecordingWriter(path: path, header: header, startMonotonicNanoseconds: 0,
                                         options: .init(flush: .interval(milliseconds: 100)))
        let headerSize = fileSize(path)
        try writer.write(.error(connection: 1, message: "a"), at: 1_000_000)
        try writer.write(.error(connection: 1, message: "b"), at: 50_000_000)
        #expect(fileSize(path) == headerSize)
        try writer.write(.error(connection: 1, message: "c"), at: 120_000_000)
        #expect(lines(readFile(path)).count == 5)
        try writer.write(.error(connection: 1, message: "d"), at: 130_000_000)
        try writer.flush()
        #expect(lines(readFile(path)).count == 6)
        try writer.close()
        #expect(throws: RecordingError.self) { try writer.write(.error(connection: 1, message: "e"), at: 0) }
    }

    @Test func writerReportsUnopenableFiles() {
        let error = readError { _ = try RecordingWriter(path: "/nonexistent-dir/x.jsonl", header: header) }
        #expect(error?.description == "cannot open '/nonexistent-dir/x.jsonl': No such file or directory")
    }

    @Test func readerAcceptsAnyKeyOrderWhitespaceAndEscapes() throws {
        let text = """
        {"format":"wscope-recording","type":"header","version":1,"mode":"listen","endpoint":"0.0.0.0:1","tool":"x","start":"2026-01-01T00:00:00Z"}
          { "wire" : "gQJoaQ==" , "payload":"aGk=", "length":2,"mask":null,"masked":false,"opcode":1,"rsv3":false,"rsv2":false,"rsv1":false,"fin":true,"t_ns":7,"dir":"in","conn":3,"type":"frame","extra":{"nested":[1,2,{"a":null}]}}
        {"type":"frame","conn":3,"dir":"out","t_ns":8,"fin":true,"rsv1":false,"rsv2":false,"rsv3":false,"opcode":2,"masked":false,"mask":null,"length":3,"payload":"\\/\\/\\/\\/"}

        {"type":"close","conn":3,"t_ns":9,"code":null,"reason":"\\u00e9\\ud83d\\ude00","clean":false}
        """
        let reader = try RecordingReader(bytes: Array(text.utf8))
        #expect(reader.header.mode == "listen")
        let events = try reader.readAll()
        #expect(events.count == 3)
        guard case .frame(3, .incoming, let h, let payload, let wire) = events[0].event else { Issue.record("not a frame"); return }
        #expect(h.opcode == .text && payload == Array("hi".utf8) && wire == [0x81, 0x02, 0x68, 0x69])
        guard case .frame(_, .outgoing, _, let payload2, let wire2) = events[1].event else { Issue.record("not a frame"); return }
        // No "wire": rebuilt from the fields.
        #expect(payload2 == [0xFF, 0xFF, 0xFF] && wire2 == [0x82, 0x03, 0xFF, 0xFF, 0xFF])
        guard case .closed(3, nil, let reason, false) = events[2].event else { Issue.record("not a close"); return }
        #expect(reason == "é😀")
        #expect(events[2].line == 5)
    }

    @Test func unknownEventTypesAreSkippedWithAWarning() throws {
        let text = RecordingFormat.headerLine(header) + "\n{\"type\":\"future\",\"x\":1}\n" + canonical(.error(connection: 1, message: "m")) + "\n"
        let reader = try RecordingReader(bytes: Array(text.utf8))
        #expect(try reader.readAll().count == 1)
        #expect(reader.warnings == ["line 2: unknown event type 'future' skipped"])
    }
}

@Suite("Recording: bad input")
struct RecordingBadInputTests {
    @Test func crashLosesAtMostTheLastLine() throws {
        let dir = TempDirectory()
        let events = (0..<50).map { frameEvent(1, .incoming, .text, Array("message \($0)".utf8)) }
        let path = try record(events, in: dir)
        // kill -9 in the middle of the last write: the file ends mid-line.
        let original = readFile(path)
        let size = original.count
        #expect(truncate(path, off_t(size - 20)) == 0)
        let reader = try RecordingReader(path: path)
        let read = try reader.readAll()
        #expect(read.count == 49)
        #expect(canonical(read[48].event) == canonical(events[48]))
        #expect(reader.warnings.count == 1)
        #expect(reader.warnings[0].hasPrefix("line 51: truncated last line ignored"))
        // A last line without its newline that parses is simply accepted.
        writeFile(path, Array(original.dropLast()))
        #expect(try RecordingReader(path: path).readAll().count == 50)
    }

    @Test func corruptLineInTheMiddle() throws {
        let dir = TempDirectory()
        let events = (0..<10).map { frameEvent(1, .outgoing, .text, Array("m\($0)".utf8)) }
        let path = try record(events, in: dir)
        var text = lines(readFile(path))
        text[5] = "{\"type\":\"frame\",\"conn\":1,\"dir\":\"out\",garbage"
        text[7] = String(text[7].dropLast(40))
        writeFile(path, Array(text.joined(separator: "\n").utf8))

        let strict = try RecordingReader(path: path)
        var seen = 0
        let error = readError { while try strict.next() != nil { seen += 1 } }
        #expect(seen == 4)
        #expect(error == .badLine(line: 6, reason: "column 38: expected '\"', found 'g'"))
        #expect(error?.description == "line 6: column 38: expected '\"', found 'g'")

        let lenient = try RecordingReader(path: path, options: .init(skipBadLines: true))
        let read = try lenient.readAll()
        #expect(read.count == 8)
        #expect(read.map(\.line) == [2, 3, 4, 5, 7, 9, 10, 11])
        #expect(lenient.skippedLines.map(\.description).map { $0.prefix(7) } == ["line 6:", "line 8:"])
        #expect(lenient.warnings.count == 2)
    }

    @Test func semanticErrorsNameTheLineAndField() throws {
        let cases: [(String, String)] = [
            ("{\"type\":\"frame\",\"conn\":1}", "frame event has no \"t_ns\""),
            ("{\"type\":\"frame\",\"conn\":1,\"t_ns\":1,\"dir\":\"up\"}", "\"dir\" must be \"in\" or \"out\""),
            ("{\"type\":\"frame\",\"conn\":1,\"t_ns\":1,\"dir\":\"in\",\"fin\":true,\"rsv1\":false,\"rsv2\":false,\"rsv3\":false,\"opcode\":99,\"masked\":false,\"length\":1,\"payload\":\"\"}", "\"opcode\" must be 0-15, not 99"),
            ("{\"type\":\"frame\",\"conn\":1,\"t_ns\":1,\"dir\":\"in\",\"fin\":true,\"rsv1\":false,\"rsv2\":false,\"rsv3\":false,\"opcode\":1,\"masked\":false,\"length\":1,\"payload\":\"#\"}", "\"payload\" is not valid base64"),
            ("{\"type\":\"frame\",\"conn\":1,\"t_ns\":1,\"dir\":\"in\",\"fin\":true,\"rsv1\":false,\"rsv2\":false,\"rsv3\":false,\"opcode\":1,\"masked\":true,\"mask\":null,\"length\":1,\"payload\":\"\"}", "\"masked\" is true but \"mask\" is null"),
            ("{\"type\":\"frame\",\"conn\":1,\"t_ns\":1,\"dir\":\"in\",\"fin\":\"yes\"}", "\"fin\" must be true or false"),
            ("{\"type\":\"frame\",\"conn\":-1}", "\"conn\" must be a non-negative integer"),
            ("{\"type\":\"close\",\"t_ns\":1}", "close event has no \"conn\""),
            ("{\"conn\":1}", "no \"type\" field"),
            ("[1,2]", "not a JSON object"),
            ("{\"type\":\"header\",\"format\":\"wscope-recording\",\"version\":1}", "a second header line"),
            ("{\"type\":\"error\",\"t_ns\":1,\"message\":\"\\ud800\"}", "lone surrogate"),
            ("{\"type\":\"error\",\"t_ns\":1} x", "after the JSON object"),
            ("{\"type\":\"error\",\"t_ns\":1,\"message\":\"a\u{1}\"}", "control character"),
        ]
        for (line, expected) in cases {
            let text = RecordingFormat.headerLine(header) + "\n" + line + "\n"
            let reader = try RecordingReader(bytes: Array(text.utf8))
            let error = readError { _ = try reader.readAll() }
            guard case .badLine(2, let reason)? = error else {
                Issue.record("\(line): \(String(describing: error))")
                continue
            }
            #expect(reason.contains(expected), "\(line): \(reason)")
        }
    }

    @Test func emptyFile() throws {
        let dir = TempDirectory()
        writeFile(dir.file("empty"), [])
        let error = readError { _ = try RecordingReader(path: dir.file("empty")) }
        #expect(error == .empty)
        #expect(error?.description == "empty recording")
        writeFile(dir.file("blank"), Array("\n  \n".utf8))
        #expect(readError { _ = try RecordingReader(path: dir.file("blank")) } == .empty)
    }

    @Test func binaryFile() throws {
        let dir = TempDirectory()
        var generator = SystemRandomNumberGenerator()
        // An ELF header, then noise: line 1 holds a zero byte whatever the noise is.
        writeFile(dir.file("bin"), [0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01, 0x01, 0x00] + (0..<100_000).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let error = readError { _ = try RecordingReader(path: dir.file("bin")) }
        #expect(error?.description == "not a wscope recording: line 1 is not JSON (binary data)")
        // No newline at all in the first 64 KiB, and zero bytes.
        writeFile(dir.file("zeros"), [UInt8](repeating: 0, count: 200_000))
        #expect(readError { _ = try RecordingReader(path: dir.file("zeros")) }?.description == "not a wscope recording: line 1 is not JSON (binary data)")
    }

    @Test func otherFiles() throws {
        let dir = TempDirectory()
        writeFile(dir.file("text"), Array("hello world\n".utf8))
        #expect(readError { _ = try RecordingReader(path: dir.file("text")) }?.description.hasPrefix("not a wscope recording: line 1 is not JSON") == true)
        writeFile(dir.file("x.har"), Array("{\n  \"log\": {\n    \"entries\": []\n  }\n}\n".utf8))
        #expect(readError { _ = try RecordingReader(path: dir.file("x.har")) }?.description.contains("looks like a HAR file") == true)
        writeFile(dir.file("json"), Array("{\"a\":1}\n".utf8))
        #expect(readError { _ = try RecordingReader(path: dir.file("json")) }?.description == "not a wscope recording: line 1 has no \"format\":\"wscope-recording\"")
        writeFile(dir.file("v2"), Array("{\"type\":\"header\",\"format\":\"wscope-recording\",\"version\":2}\n".utf8))
        #expect(readError { _ = try RecordingReader(path: dir.file("v2")) } == .unsupportedVersion(2))
        #expect(readError { _ = try RecordingReader(path: dir.file("missing")) }?.description.hasSuffix("No such file or directory") == true)
        #expect(readError { _ = try RecordingReader(path: dir.path) }?.description.hasSuffix("is a directory") == true)
    }

    /// A 70 MiB line (sparse, so quick to make) is reported without keeping it in memory.
    @Test func hugeLine() throws {
        let dir = TempDirectory()
        let path = dir.file("huge.jsonl")
        let headerLine = Array((RecordingFormat.headerLine(header) + "\n").utf8)
        writeFile(path, headerLine)
        #expect(truncate(path, off_t(headerLine.count + 70 << 20)) == 0)
        appendFile(path, Array(("\n" + canonical(.error(connection: 1, message: "after")) + "\n").utf8))

        let strict = try RecordingReader(path: path)
        let error = readError { _ = try strict.next() }
        #expect(error?.description == "line 2: longer than 64 MiB")
        #expect(strict.peakBufferBytes < 70 << 20)

        let lenient = try RecordingReader(path: path, options: .init(skipBadLines: true))
        let events = try lenient.readAll()
        #expect(events.count == 1 && events[0].line == 3)
        #expect(lenient.peakBufferBytes < 70 << 20)

        let small = try RecordingReader(path: path, options: .init(skipBadLines: true, maxLineBytes: 1 << 20))
        #expect(try small.readAll().count == 1)
        #expect(small.skippedLines == [.badLine(line: 2, reason: "longer than 1 MiB")])
        #expect(small.peakBufferBytes <= 4 << 20)

        // The same line last in the file, without a newline.
        writeFile(path, headerLine)
        #expect(truncate(path, off_t(headerLine.count + 70 << 20)) == 0)
        let last = try RecordingReader(path: path, options: .init(maxLineBytes: 1 << 20))
        #expect(readError { _ = try last.next() } == .badLine(line: 2, reason: "longer than 1 MiB"))
    }
}

@Suite("Recording: dump")
struct RecordingDumpTests {
    @Test func normalizedJSONMatchesTheTypedPath() throws {
        let dir = TempDirectory()
        let events = sampleEvents()
        let path = try record(events, in: dir)
        let json = try RecordingDump.jsonLines(from: RecordingReader(path: path))
        let out = lines(json)
        #expect(out.count == events.count + 2)
        #expect(out[0] == RecordingFormat.headerLine(header))
        for (index, event) in events.enumerated() {
            #expect(out[index + 1] == canonical(event, UInt64(index) * 1000), "event \(index)")
        }
        // Dumped JSON is itself a recording.
        let again = try RecordingReader(bytes: json).readAll()
        #expect(again.map { canonical($0.event, $0.tNs) } == events.enumerated().map { canonical($1, UInt64($0) * 1000) })
        #expect(!out.contains { $0.contains("wire_header") })
    }

    @Test func writeJSONToADescriptor() throws {
        let dir = TempDirectory()
        let path = try record(sampleEvents(), in: dir)
        let outPath = dir.file("out.jsonl")
        let fd = open(outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let summary = try RecordingDump.writeJSON(from: RecordingReader(path: path), to: fd)
        close(fd)
        #expect(summary.events == sampleEvents().count)
        #expect(readFile(outPath) == (try RecordingDump.jsonLines(from: RecordingReader(path: path))))
    }

    @Test func textDumpEscapesPeerBytes() throws {
        let dir = TempDirectory()
        let events: [SessionEvent] = [
            .opened(connection: 1, peer: "127.0.0.1:1", request: "GET /a\u{1b}[2J HTTP/1.1\r\n\r\n", response: "HTTP/1.1 101 Switching Protocols\r\n\r\n", subprotocol: nil, extensions: nil),
            frameEvent(1, .incoming, .text, Array("evil \u{1b}]0;title\u{7} done".utf8)),
            .frame(connection: 1, direction: .outgoing, header: try FrameSpec.parse("text:hi;len16;mask=01020304", role: .client).header!,
                   payload: Array("hi".utf8), wire: try FrameSpec.parse("text:hi;len16;mask=01020304", role: .client).wire),
            .violation(connection: 1, description: "reserved opcode 0x3", code: .protocolError, wire: [0x83, 0x00]),
            .closed(connection: 1, code: .normalClosure, reason: "bye", clean: true),
        ]
        let path = try record(events, in: dir)
        let reader = try RecordingReader(path: path)
        var text = [RecordingDump.text(reader.header)]
        while let event = try reader.next() { text.append(RecordingDump.text(event)) }
        #expect(text[0] == "# wscope-recording v1, wscope 0.1.0, connect ws://127.0.0.1:9001/chat, started 2026-11-25T01:43:00.123456Z")
        #expect(!text.joined().contains("\u{1b}") && !text.joined().contains("\u{7}"))
        #expect(text[1].hasPrefix("   0.000000 #1 open 127.0.0.1:1 /a\\x1b[2J"))
        #expect(text[2] == "   0.000001 #1 <- text   FIN len=20 \"evil \\x1b]0;title\\u{7} done\"")
        #expect(text[3] == "   0.000002 #1 -> text   FIN MASK=01020304 len=2 \"hi\" [16-bit length field]")
        #expect(text[4].hasPrefix("   0.000003 #1 protocol violation: reserved opcode 0x3") && text[4].hasSuffix("wire=8300"))
        #expect(text[5] == "   0.000004 #1 closed 1000 (normal closure) \"bye\" cleanly")
    }
}

@Suite("Recording: dump text")
struct RecordingDumpTextTests {
    /// The dump's fast frame text is exactly what the --no-tui printer shows.
    @Test func frameTextMatchesEventLine() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let count = [0, 1, 5, 39, 40, 41, 100].randomElement(using: &generator)!
            let alphabet: [UInt8] = Bool.random(using: &generator) ? Array(0...255) : Array("ab \"\\\n\u{1b}é".utf8)
            let payload = (0..<count).map { _ in alphabet.randomElement(using: &generator)! }
            let masked = Bool.random(using: &generator)
            let header = Header(
                fin: Bool.random(using: &generator), rsv1: Bool.random(using: &generator),
                rsv2: Bool.random(using: &generator), rsv3: Bool.random(using: &generator),
                opcode: OpCode(nibble: [0, 1, 2, 3, 9, 10, 11].randomElement(using: &generator)!),
                masked: masked, maskKey: masked ? generator.next() : 0, length: UInt64(count))
            let direction: Direction = Bool.random(using: &generator) ? .incoming : .outgoing
            let event = SessionEvent.frame(connection: 3, direction: direction, header: header, payload: payload, wire: [])
            #expect(RecordingDump.frameText(3, direction, header, payload) == EventLine.format(event))
        }
    }
}

@Suite("Recording: codecs")
struct RecordingCodecTests {
    @Test func base64Vectors() {
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            #expect(Base64Codec.encode(Array(plain.utf8)) == encoded)
            #expect(Base64Codec.decode(encoded) == Array(plain.utf8))
            #expect(Base64Codec.decode(String(encoded.prefix { $0 != "=" })) == Array(plain.utf8))
        }
        #expect(Base64Codec.decode("Zm9v!") == nil)
        #expect(Base64Codec.decode("Z") == nil)
        #expect(Base64Codec.decode("Zg=") == nil)
        #expect(Base64Codec.decode("-_8=") == nil)
        #expect(Base64Codec.decode("-_8=", urlSafe: true) == [0xFB, 0xFF])
    }

    @Test func base64AgreesWithTheCoreAtEveryLength() {
        var generator = SystemRandomNumberGenerator()
        for count in 0..<300 {
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let encoded = Base64Codec.encode(bytes)
            #expect(encoded == Base64.encode(bytes))
            #expect(Base64Codec.decode(encoded) == bytes)
            #expect(Array(encoded.utf8).withUnsafeBytes { Base64Codec.isValid($0) })
        }
    }

    @Test func isoTimestamps() {
        #expect(RecordingClock.iso8601(epochNanoseconds: 0) == "1970-01-01T00:00:00.000000Z")
        #expect(RecordingClock.iso8601(epochNanoseconds: 1_764_035_000_123_456_789) == "2025-11-25T01:43:20.123456Z")
        #expect(RecordingClock.parseISO8601("2025-11-25T01:43:20.123456Z") == 1_764_035_000_123_456_000)
        #expect(RecordingClock.parseISO8601("2025-11-25T02:43:20.5+01:00") == 1_764_035_000_500_000_000)
        #expect(RecordingClock.parseISO8601("2024-02-29T00:00:00Z") == 1_709_164_800_000_000_000)
        #expect(RecordingClock.parseISO8601("yesterday") == nil)
        let now = RecordingClock.wallClockNanoseconds() / 1000 * 1000
        #expect(RecordingClock.parseISO8601(RecordingClock.iso8601(epochNanoseconds: now)) == now)
    }

    @Test func jsonValueRoundTrip() throws {
        let text = "{\"a\":[1,-2.5e3,true,false,null,\"x\\n\\u00e9\"],\"b\":{},\"c\":[]}"
        let value = try JSONValue.parse(Array(text.utf8))
        #expect(String(decoding: value.serialized(), as: UTF8.self) == "{\"a\":[1,-2.5e3,true,false,null,\"x\\né\"],\"b\":{},\"c\":[]}")
        #expect(throws: JSONScanner.Failure.self) { try JSONValue.parse(Array("{\"a\":01}".utf8)) }
        #expect(throws: JSONScanner.Failure.self) { try JSONValue.parse(Array(String(repeating: "[", count: 10000).utf8)) }
    }
}
