import Testing
import WebSocket
#if canImport(Glibc)
import Glibc
#endif
@testable import Inspector

private func fixedKey() -> UInt32 { Header.maskKey(0x11, 0x22, 0x33, 0x44) }

private func parse(_ spec: String, role: Role = .server, files: [String: [UInt8]] = [:]) throws -> CraftedFrame {
    try FrameSpec.parse(spec, role: role, readFile: { path in
        guard let bytes = files[path] else { throw FrameSpec.FileReadError(message: "cannot read '\(path)': No such file or directory") }
        return bytes
    }, randomKey: fixedKey)
}

private func parseError(_ spec: String, role: Role = .server) -> FrameSpecError? {
    do {
        _ = try FrameSpec.parse(spec, role: role, readFile: { path in
            throw FrameSpec.FileReadError(message: "cannot read '\(path)': No such file or directory")
        }, randomKey: fixedKey)
        return nil
    } catch {
        return error
    }
}

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

@Suite("Frame spec: kinds and payloads")
struct FrameSpecKindTests {
    @Test func textDefaultsToAValidFrame() throws {
        let f = try parse("text:hello")
        #expect(f.header == Header(fin: true, opcode: .text, masked: false, length: 5))
        #expect(f.payload == bytes("hello"))
        #expect(f.wire == [0x81, 0x05] + bytes("hello"))
        #expect(f.chop == nil && f.repeatCount == 1 && !f.isRaw)
    }

    @Test func clientFramesAreMaskedWithARandomKey() throws {
        let f = try parse("text:hello", role: .client)
        let h = try #require(f.header)
        #expect(h.masked && h.maskKeyBytes == [0x11, 0x22, 0x33, 0x44] && f.maskKeyIsRandom)
        var expected: [UInt8] = [0x81, 0x85, 0x11, 0x22, 0x33, 0x44]
        for (i, b) in bytes("hello").enumerated() { expected.append(b ^ [0x11, 0x22, 0x33, 0x44][i % 4]) }
        #expect(f.wire == expected)
        // Two parses with the real generator get different keys.
        let a = try FrameSpec.parse("text:x", role: .client).header!.maskKey
        let b = try FrameSpec.parse("text:x", role: .client).header!.maskKey
        let c = try FrameSpec.parse("text:x", role: .client).header!.maskKey
        #expect(!(a == b && b == c))
    }

    @Test func everyKind() throws {
        #expect(try parse("binary:hex:00ff10").wire == [0x82, 0x03, 0x00, 0xFF, 0x10])
        #expect(try parse("bin:hex:01").wire == [0x82, 0x01, 0x01])
        #expect(try parse("ping:are you there").wire == [0x89, 0x0D] + bytes("are you there"))
        #expect(try parse("ping").wire == [0x89, 0x00])
        #expect(try parse("pong:x").wire == [0x8A, 0x01, 0x78])
        #expect(try parse("close").wire == [0x88, 0x00])
        #expect(try parse("close:1000").wire == [0x88, 0x02, 0x03, 0xE8])
        #expect(try parse("close:1000:bye").wire == [0x88, 0x05, 0x03, 0xE8] + bytes("bye"))
        #expect(try parse("close:4000:a:b\\;c").payload == [0x0F, 0xA0] + bytes("a:b;c"))
        #expect(try parse("cont:world").wire == [0x80, 0x05] + bytes("world"))
        #expect(try parse("continuation:w").header?.opcode == .continuation)
        #expect(try parse("TEXT:Hi").wire == [0x81, 0x02, 0x48, 0x69])
        #expect(try parse("op3:x").header?.opcode.rawValue == 3)
        #expect(try parse("opb:x").header?.opcode.rawValue == 11)
        #expect(try parse("op0xf:x").header?.opcode.rawValue == 15)
        #expect(try parse("op11:x").header?.opcode.rawValue == 11)
        #expect(try parse("text").wire == [0x81, 0x00])
        #expect(try parse("text:").wire == [0x81, 0x00])
    }

    @Test func rawBytesGoOutAsGiven() throws {
        let f = try parse("raw:810548656c6c6f", role: .client)
        #expect(f.isRaw && f.header == nil)
        #expect(f.wire == [0x81, 0x05] + bytes("Hello"))
        #expect(try parse("raw:hex:81 00").wire == [0x81, 0x00])
        #expect(try parse("raw:base64:gQA=").wire == [0x81, 0x00])
        #expect(try parse("raw:@f", files: ["f": [1, 2, 3]]).wire == [1, 2, 3])
        #expect(try parse("raw:8100;chop=1;repeat=2").writes.count == 2)
    }

    @Test func payloadForms() throws {
        #expect(try parse("text:a\\;b\\\\c\\n\\r\\t\\0\\:\\@").payload == bytes("a;b\\c\n\r\t\0:@"))
        #expect(try parse("text:\\xff\\xFE").payload == [0xFF, 0xFE])
        #expect(try parse("text:\\u{1F600}\\u{e9}").payload == bytes("😀é"))
        #expect(try parse("text:wörld €").payload == bytes("wörld €"))
        #expect(try parse("text:@@foo").payload == bytes("@foo"))
        #expect(try parse("text:\\@foo").payload == bytes("@foo"))
        #expect(try parse("text:hex\\:ab").payload == bytes("hex:ab"))
        #expect(try parse("text:a:b:c").payload == bytes("a:b:c"))
        #expect(try parse("binary:base64:AP8Q").payload == [0x00, 0xFF, 0x10])
        #expect(try parse("binary:b64:AP8").payload == [0x00, 0xFF])
        #expect(try parse("binary:base64:-_8=").payload == [0xFB, 0xFF])
        #expect(try parse("binary:hex:00 ff_10").payload == [0x00, 0xFF, 0x10])
        #expect(try parse("binary:HEX:0A").payload == [0x0A])
        #expect(try parse("text:@payload.json", files: ["payload.json": bytes("{\"a\":1}")]).payload == bytes("{\"a\":1}"))
        #expect(try parse("text:@dir\\;x/f", files: ["dir;x/f": [7]]).payload == [7])
        #expect(try parse("close:@body", files: ["body": [0x03, 0xE8, 0x41]]).payload == [0x03, 0xE8, 0x41])
        #expect(try parse("close:hex:03").payload == [0x03])
    }

    @Test func readsRealFiles() throws {
        let path = "/tmp/wscope-framespec-\(getpid()).bin"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        _ = [UInt8]([9, 8, 7]).withUnsafeBytes { write(fd, $0.baseAddress, 3) }
        close(fd)
        defer { unlink(path) }
        #expect(try FrameSpec.parse("binary:@" + path, role: .server).payload == [9, 8, 7])
        let error = parseErrorReal("binary:@/nonexistent/wscope-x")
        #expect(error?.column == 8)
        #expect(error?.message.contains("No such file") == true)
    }

    private func parseErrorReal(_ spec: String) -> FrameSpecError? {
        do { _ = try FrameSpec.parse(spec, role: .server); return nil } catch { return error }
    }
}

@Suite("Frame spec: overrides")
struct FrameSpecOverrideTests {
    @Test func headerBits() throws {
        let f = try parse("text:hello;fin=0")
        #expect(f.header?.fin == false && f.wire[0] == 0x01)
        #expect(try parse("text:a;rsv1=1").wire[0] == 0xC1)
        #expect(try parse("text:a;rsv2=1").wire[0] == 0xA1)
        #expect(try parse("text:a;rsv3=true").wire[0] == 0x91)
        #expect(try parse("text:a;rsv=5").wire[0] == 0xD1)
        #expect(try parse("text:a;fin=off;rsv1=on").wire[0] == 0x41)
        #expect(try parse("text:a; fin=0 ; RSV1=1").wire[0] == 0x41)
    }

    @Test func opcodes() throws {
        #expect(try parse("text:hi;op=0x3").header?.opcode.rawValue == 3)
        #expect(try parse("text:hi;op=3").header?.opcode.rawValue == 3)
        #expect(try parse("text:hi;op=binary").header?.opcode == .binary)
        #expect(try parse("binary:x;op=text").header?.opcode == .text)
        #expect(try parse("text:hi;opcode=ping").header?.opcode == .ping)
        #expect(try parse("text:hi;op=opb").header?.opcode.rawValue == 11)
        #expect(try parse("text:hi;op=15").wire[0] == 0x8F)
    }

    @Test func masks() throws {
        let keyed = try parse("text:hi;mask=37fa213d")
        #expect(keyed.header?.maskKeyBytes == [0x37, 0xFA, 0x21, 0x3D] && !keyed.maskKeyIsRandom)
        #expect(keyed.wire == [0x81, 0x82, 0x37, 0xFA, 0x21, 0x3D, 0x68 ^ 0x37, 0x69 ^ 0xFA])
        let zero = try parse("text:hi;mask=00000000")
        #expect(zero.wire == [0x81, 0x82, 0, 0, 0, 0, 0x68, 0x69])
        #expect(try parse("text:hi;mask=0x01020304").header?.maskKeyBytes == [1, 2, 3, 4])
        #expect(try parse("text:hi;mask=none", role: .client).wire == [0x81, 0x02, 0x68, 0x69])
        #expect(try parse("text:hi;mask=0", role: .client).header?.masked == false)
        let random = try parse("text:hi;mask=random")
        #expect(random.header?.masked == true && random.maskKeyIsRandom)
    }

    @Test func lengths() throws {
        let lying = try parse("text:hi;len=200")
        #expect(lying.header?.length == 200 && lying.payload == bytes("hi"))
        #expect(lying.wire == [0x81, 0x7E, 0x00, 0xC8, 0x68, 0x69])
        #expect(try parse("text:hi;length=1").wire == [0x81, 0x01, 0x68, 0x69])
        #expect(try parse("text:hi;len16").wire == [0x81, 0x7E, 0x00, 0x02, 0x68, 0x69])
        #expect(try parse("text:hi;lenenc=16").lengthEncoding == .extended16)
        #expect(try parse("text:hi;len64").wire == [0x81, 0x7F, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x68, 0x69])
        #expect(try parse("text:hi;lenenc=min").wire == [0x81, 0x02, 0x68, 0x69])
        #expect(try parse("text:hi;len=0x10").header?.length == 16)
    }

    @Test func chopAndRepeat() throws {
        let f = try parse("text:hello;chop=3")
        #expect(f.chop == 3)
        #expect(f.writes.map(Array.init) == [[0x81, 0x05, 0x68], [0x65, 0x6C, 0x6C], [0x6F]])
        #expect(try parse("text:hello").writes.map(Array.init) == [[0x81, 0x05] + bytes("hello")])

        var keys: [UInt32] = [Header.maskKey(1, 1, 1, 1), Header.maskKey(2, 2, 2, 2)]
        let repeated = try parse("text:a;repeat=3", role: .client)
        #expect(repeated.repeatCount == 3)
        let copies = repeated.repetitions(randomKey: { keys.removeFirst() })
        #expect(copies.map { $0.header!.maskKeyBytes[0] } == [0x11, 1, 2])
        #expect(copies[2].wire == [0x81, 0x81, 2, 2, 2, 2, 0x61 ^ 2])
        // A fixed key is kept.
        let fixed = try parse("text:a;repeat=2;mask=aabbccdd").repetitions()
        #expect(fixed[0].wire == fixed[1].wire)
    }
}

@Suite("Frame spec: malformed frames byte for byte")
struct FrameSpecMalformedTests {
    /// Spec (client role unless noted) and the exact wire bytes it must produce.
    static let cases: [(spec: String, role: Role, wire: [UInt8])] = [
        // RSV bits without an extension
        ("text:hi;rsv1=1;mask=none", .client, [0xC1, 0x02, 0x68, 0x69]),
        ("text:hi;rsv2=1;rsv3=1;mask=none", .client, [0xB1, 0x02, 0x68, 0x69]),
        ("text:a;rsv=7", .server, [0xF1, 0x01, 0x61]),
        // reserved opcodes
        ("binary:hex:00ff;op=3;mask=none", .client, [0x83, 0x02, 0x00, 0xFF]),
        ("text:hi;op=0xb", .server, [0x8B, 0x02, 0x68, 0x69]),
        ("op7:x", .server, [0x87, 0x01, 0x78]),
        // lying length fields
        ("text:hi;len=200", .server, [0x81, 0x7E, 0x00, 0xC8, 0x68, 0x69]),
        ("text:hi;len=5", .server, [0x81, 0x05, 0x68, 0x69]),
        ("text:hi;len=18446744073709551615", .server, [0x81, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x68, 0x69]),
        // non-minimal length encodings
        ("text:hi;len16", .server, [0x81, 0x7E, 0x00, 0x02, 0x68, 0x69]),
        ("text:hi;len64", .server, [0x81, 0x7F, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x68, 0x69]),
        ("binary:hex:0102;lenenc=64;mask=aabbccdd", .server,
         [0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0x02, 0xAA, 0xBB, 0xCC, 0xDD, 0x01 ^ 0xAA, 0x02 ^ 0xBB]),
        // unmasked client frame, masked server frame
        ("text:hi;mask=none", .client, [0x81, 0x02, 0x68, 0x69]),
        ("text:hi;mask=01020304", .server, [0x81, 0x82, 0x01, 0x02, 0x03, 0x04, 0x69, 0x6B]),
        // fragmented and oversized control frames
        ("ping:x;fin=0", .server, [0x09, 0x01, 0x78]),
        ("close:1000;fin=0", .server, [0x08, 0x02, 0x03, 0xE8]),
        ("ping:" + String(repeating: "a", count: 126), .server, [0x89, 0x7E, 0x00, 0x7E] + [UInt8](repeating: 0x61, count: 126)),
        // invalid UTF-8 in text and in a close reason
        ("text:\\xff\\xfe;mask=none", .client, [0x81, 0x02, 0xFF, 0xFE]),
        ("text:\\xed\\xa0\\x80", .server, [0x81, 0x03, 0xED, 0xA0, 0x80]),
        ("close:1000:\\xff", .server, [0x88, 0x03, 0x03, 0xE8, 0xFF]),
        // bad close bodies
        ("close:1005", .server, [0x88, 0x02, 0x03, 0xED]),
        ("close:hex:03", .server, [0x88, 0x01, 0x03]),
        // continuation with no message
        ("cont:x", .server, [0x80, 0x01, 0x78]),
        // arbitrary bytes
        ("raw:8100ff", .client, [0x81, 0x00, 0xFF]),
        // DESIGN.md's example: RSV1, reserved opcode, all-zero key, lying 16-bit length
        ("text:hi;rsv1=1;op=0x3;mask=00000000;len=200", .client, [0xC3, 0xFE, 0x00, 0xC8, 0, 0, 0, 0, 0x68, 0x69]),
    ]

    @Test(arguments: cases.indices)
    func wireBytes(_ index: Int) throws {
        let c = Self.cases[index]
        let frame = try parse(c.spec, role: c.role)
        #expect(frame.wire == c.wire, "\(c.spec)")
        // And the header decodes back to what the spec said (lenient decode).
        if let header = frame.header, case .header(let decoded, _) = Header.decode(frame.wire) {
            #expect(decoded == header, "\(c.spec)")
        }
    }

    @Test func atLeastFifteenMalformedCases() {
        #expect(Self.cases.count >= 15)
    }
}

@Suite("Frame spec: errors name the column")
struct FrameSpecErrorTests {
    static let cases: [(spec: String, column: Int, contains: String)] = [
        ("", 1, "empty frame spec"),
        ("txt:hi", 1, "unknown frame kind 'txt' (did you mean 'text'?)"),
        ("fin=0", 1, "unknown frame kind"),
        (":hi", 1, "missing frame kind"),
        ("op16:x", 3, "opcode 16 is out of range"),
        ("text:hello;fn=1", 12, "unknown override 'fn' (did you mean 'fin'?)"),
        ("text:hi;bogus=1", 9, "unknown override 'bogus'"),
        ("text:hi;fin=2", 13, "'fin' takes 0 or 1"),
        ("text:hi;fin", 9, "'fin' needs a value"),
        ("text:hi;fin=", 12, "needs a value after '='"),
        ("text:hi;=1", 9, "missing override name"),
        ("binary:hex:0g", 13, "invalid hex digit 'g'"),
        ("binary:hex:abc", 14, "odd number of hex digits"),
        ("binary:base64:AB$=", 17, "invalid base64 character '$'"),
        ("binary:base64:A", 15, "dangling"),
        ("text:a\\q", 7, "unknown escape '\\q'"),
        ("text:a\\", 7, "unfinished escape"),
        ("text:\\x4", 6, "\\x needs two hex digits"),
        ("text:\\xzz", 6, "\\x needs two hex digits"),
        ("text:\\u{110000}", 6, "not a Unicode scalar"),
        ("text:\\u{d800}", 6, "not a Unicode scalar"),
        ("text:\\u{41", 6, "unterminated"),
        ("text:\\u41", 6, "needs braces"),
        ("text:\\u{}", 6, "empty \\u{}"),
        ("text:@", 6, "missing file name"),
        ("text:@nope.bin", 6, "cannot read 'nope.bin'"),
        ("close:abc", 7, "a close payload is CODE[:REASON]"),
        ("close:70000", 7, "out of range"),
        ("close:1000x", 11, "close code must be a number"),
        ("text:hi;mask=123", 14, "8 hex digits"),
        ("text:hi;mask=1234567z", 21, "invalid hex digit 'z'"),
        ("text:hi;op=16", 12, "opcode 16 is out of range"),
        ("text:hi;op=foo", 12, "unknown opcode 'foo'"),
        ("text:hi;op=txet", 12, "did you mean 'text'?"),
        ("text:hi;len=abc", 13, "len must be a number"),
        ("text:hi;len=18446744073709551616", 13, "len must be a number"),
        ("text:hi;lenenc=32", 16, "lenenc must be 16, 64 or min"),
        ("text:hi;len16=1", 14, "takes no value"),
        ("text:hi;len16;len64", 15, "repeats a setting already made at column 9"),
        ("text:hi;lenenc=16;len=70000", 9, "does not fit a 16-bit length field"),
        ("text:hi;chop=0", 14, "chop must be"),
        ("text:hi;repeat=0", 16, "repeat must be"),
        ("text:hi;repeat=1000001", 16, "repeat must be"),
        ("text:hi;fin=1;fin=0", 15, "repeats a setting already made at column 9"),
        ("text:hi;rsv1=1;rsv=3", 16, "repeats a setting"),
        ("text:hi;;fin=1", 8, "empty override"),
        ("text:hi;", 8, "empty override"),
        ("raw:8100;fin=0", 10, "does not apply to raw bytes"),
        ("raw", 1, "raw needs bytes"),
        ("raw:xyz", 5, "invalid hex digit 'x'"),
        ("text:hi;rsv=8", 13, "rsv takes the three bits"),
        ("text:hi;msk=none", 9, "did you mean 'mask'?"),
    ]

    @Test(arguments: cases.indices)
    func errorColumn(_ index: Int) {
        let c = Self.cases[index]
        let error = parseError(c.spec)
        #expect(error?.column == c.column, "\(c.spec): \(String(describing: error))")
        #expect(error?.message.contains(c.contains) == true, "\(c.spec): \(String(describing: error))")
    }

    @Test func descriptionFormat() {
        let error = parseError("text:hello;fn=1")
        #expect(error?.description == "FrameSpecError: column 12: unknown override 'fn' (did you mean 'fin'?)")
        #expect(error?.pointing(into: "text:hello;fn=1") == "text:hello;fn=1\n           ^")
    }

    @Test func columnsCountScalarsNotBytes() {
        // "é" is two UTF-8 bytes but one column.
        #expect(parseError("text:é;fn=1")?.column == 8)
    }

    @Test func controlCharactersInMessagesAreEscaped() {
        let error = parseError("te\u{1b}[2Jxt:hi")
        #expect(error?.message.contains("\u{1b}") == false)
        #expect(error?.message.contains("\\x1b") == true)
    }
}

@Suite("Frame spec: canonical rendering")
struct FrameSpecRenderTests {
    @Test func canonicalSpecs() throws {
        func render(_ spec: String, role: Role = .server) throws -> String {
            FrameSpec.render(try parse(spec, role: role), role: role)
        }
        #expect(try render("text:hello") == "text:hello")
        #expect(try render("text:hello", role: .client) == "text:hello")
        #expect(try render("text:a\\;b\\\\c\nd") == "text:a\\;b\\\\c\\nd")
        #expect(try render("text:\\x1b[31mred text here") == "text:\\x1b[31mred text here")
        #expect(try render("text:\\u{202e}x") == "text:\\u{202e}x")
        #expect(try render("text:@@x") == "text:\\@x")
        #expect(try render("text:hex\\:00") == "text:hex\\:00")
        #expect(try render("text:HEX\\:00") == "text:HEX\\:00")
        // "@" followed by a combining mark is one Character but still starts with "@".
        #expect(try render("text:@@\u{746}x") == "text:\\@\u{746}x")
        #expect(try render("binary:hex:00ff10") == "binary:hex:00ff10")
        #expect(try render("close") == "close")
        #expect(try render("close:1000:bye") == "close:1000:bye")
        #expect(try render("close:hex:03") == "close:hex:03")
        #expect(try render("ping:hex:00010203") == "ping:hex:00010203")
        #expect(try render("op3:x") == "op3:x")
        #expect(try render("text:hi;fin=0;rsv1=1;rsv2=1;rsv3=1;len=200;len16") == "text:hi;fin=0;rsv1=1;rsv2=1;rsv3=1;len=200;len16")
        #expect(try render("text:hi;mask=none", role: .client) == "text:hi;mask=none")
        #expect(try render("text:hi;mask=01020304") == "text:hi;mask=01020304")
        #expect(try render("text:hi;mask=01020304", role: .client) == "text:hi;mask=01020304")
        #expect(try render("text:hi;chop=2;repeat=3") == "text:hi;chop=2;repeat=3")
        #expect(try render("raw:8100") == "raw:8100")
        #expect(FrameSpec.render(header: Header(opcode: .text, masked: true, maskKey: 5, length: 1), payload: [0x61], role: .client) == "text:a")
    }

    /// Random headers and payloads render to specs that parse back to the same frame.
    @Test func roundTripProperty() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<3000 {
            let opcode = OpCode(nibble: UInt8.random(in: 0...15, using: &generator))
            let count = [0, 1, 2, 5, 125, 126, 300].randomElement(using: &generator)!
            let alphabet: [UInt8] = Bool.random(using: &generator)
                ? Array(0...255) : Array("abc ;\\:@é€\n\t".utf8)
            let payload = (0..<count).map { _ in alphabet.randomElement(using: &generator)! }
            let masked = Bool.random(using: &generator)
            let lie = Int.random(in: 0..<5, using: &generator) == 0
            let header = Header(
                fin: Bool.random(using: &generator), rsv1: Bool.random(using: &generator),
                rsv2: Bool.random(using: &generator), rsv3: Bool.random(using: &generator),
                opcode: opcode, masked: masked, maskKey: masked ? generator.next() : 0,
                length: lie ? UInt64.random(in: 0...70000, using: &generator) : UInt64(count))
            let encoding: LengthEncoding = [.minimal, .minimal, .extended16, .extended64].randomElement(using: &generator)!
            if encoding == .extended16 && header.length > 0xFFFF { continue }
            let role: Role? = [Role.client, .server, nil].randomElement(using: &generator)!
            let spec = FrameSpec.render(header: header, payload: payload, role: role, lengthEncoding: encoding, includeMaskKey: true)
            let parsed = try FrameSpec.parse(spec, role: role ?? .server, readFile: { _ in [] }, randomKey: fixedKey)
            #expect(parsed.header == header, "\(spec)")
            #expect(parsed.payload == payload, "\(spec)")
            #expect(parsed.wire == Frame(header: header, payload: payload).wireBytes(lengthEncoding: encoding), "\(spec)")
            #expect(FrameSpec.lengthEncoding(ofWire: parsed.wire) == (encoding == .extended16 && header.length >= 126 ? .minimal
                : encoding == .extended64 && header.length > 0xFFFF ? .minimal : encoding))
        }
    }
}
