import Foundation
import Testing
import WebSocket

// The Swift examples of README.md, compiled and checked. Every ```swift block of the
// README must appear, line for line (indentation aside), in one of the
// ReadmeExampleTests.swift files; `readmeBlocksAreCompiled` below enforces that, so an
// API change that breaks an example breaks the build or a test here. The regions between
// `// README: name` and `// README end` comments are the README's blocks; edit both together.
//
// The core-library examples live in this file; the message layer's in
// Tests/WebSocketUtilTests/ReadmeExampleTests.swift and permessage-deflate's in
// Tests/WebSocketDeflateTests/ReadmeExampleTests.swift.

// MARK: - README: low-level frame loop

// README: frame loop
/// Echoes the complete frames at the start of `input` (bytes a server read from a client)
/// into `output`, answering pings with pongs. Returns how many input bytes it used; the
/// caller keeps the rest and calls again when more bytes have arrived.
func echoFrames(
    _ input: UnsafeMutableRawBufferPointer, into output: inout [UInt8]
) throws(ProtocolViolation) -> Int {
    var used = 0
    while used < input.count {
        let rest = UnsafeMutableRawBufferPointer(rebasing: input[used...])
        switch Header.decode(UnsafeRawBufferPointer(rest)) {
        case .needMore:
            return used  // .needMore(n): the header needs at least n more bytes
        case .header(let header, let size):
            if let violation = header.violation(receivedBy: .server, headerSize: size) {
                throw violation  // fail the connection: send a close with violation.closeCode
            }
            guard header.length <= UInt64(rest.count - size) else { return used }  // payload still arriving
            let end = size + Int(header.length)
            let payload = UnsafeMutableRawBufferPointer(rebasing: rest[size..<end])
            Cipher.mask(payload, key: header.maskKey)  // unmask in place
            let opcode = header.opcode == .ping ? OpCode.pong : header.opcode
            let reply = Header(fin: header.fin, opcode: opcode, length: header.length)  // servers do not mask
            withUnsafeTemporaryAllocation(byteCount: Header.maximumSize, alignment: 1) { scratch in
                let headerSize = reply.encode(into: scratch)  // 0 only if scratch were too small
                output.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[..<headerSize]))
            }
            output.append(contentsOf: UnsafeRawBufferPointer(payload))
            used += end
        }
    }
    return used
}
// README end

// MARK: - README: server handshake

// README: answer handshake
/// Answers the request bytes received so far. Returns nil when the request head is not
/// complete yet, otherwise the bytes to send back and, on success, what was agreed.
func answerHandshake(
    _ request: [UInt8], with upgrader: Upgrader
) -> (reply: [UInt8], upgraded: AcceptedUpgrade?)? {
    var response = [UInt8](repeating: 0, count: 1024)
    while true {
        let outcome = request.withUnsafeBytes { requestBytes in
            response.withUnsafeMutableBytes { upgrader.upgrade(request: requestBytes, response: $0) }
        }
        switch outcome {
        case .needMoreBytes:
            return nil  // read more, append, and call again with the whole request so far
        case .upgraded(let accepted):
            // request[accepted.consumed...] are the client's first frames, if any arrived.
            return (Array(response[..<accepted.responseLength]), accepted)
        case .rejected(_, let responseLength):
            return (Array(response[..<responseLength]), nil)  // send it, then close TCP
        case .responseBufferTooSmall(let required):
            response = [UInt8](repeating: 0, count: required)  // callbacks run again
        }
    }
}
// README end

@Suite struct ReadmeExampleTests {
    @Test("frame loop: decode, check, unmask in place, encode the reply header")
    func lowLevelFrameLoop() throws {
        // Two whole client frames and the first 3 bytes of a third, as one read may bring them.
        let ping = Frame.ping(Array("are you there?".utf8), role: .client)
        let next = Frame.text("next", role: .client).wireBytes()
        var input = Frame.text("hello", role: .client).wireBytes() + ping.wireBytes()
        let whole = input.count
        input += next.prefix(3)

        var output: [UInt8] = []
        let used = try input.withUnsafeMutableBytes { bytes in try echoFrames(bytes, into: &output) }
        #expect(used == whole)
        #expect(output == Frame.text("hello").wireBytes() + Frame.pong(Array("are you there?".utf8)).wireBytes())

        // The rest of the third frame arrives: the loop picks up where it stopped.
        var rest = Array(input[used...]) + next.dropFirst(3)
        output.removeAll()
        let usedRest = try rest.withUnsafeMutableBytes { bytes in try echoFrames(bytes, into: &output) }
        #expect(usedRest == rest.count)
        #expect(output == Frame.text("next").wireBytes())

        // Servers must not accept unmasked frames.
        var unmasked = Frame.text("hello").wireBytes()
        #expect(throws: ProtocolViolation.unmaskedClientFrame) {
            try unmasked.withUnsafeMutableBytes { bytes in try echoFrames(bytes, into: &output) }
        }
        #expect(ProtocolViolation.unmaskedClientFrame.closeCode == .protocolError)

        // A header cut short reports how much more it needs.
        #expect(Header.decode([0x81]) == .needMore(1))
        #expect(Header.decode([0x81, 0xFE, 0x01]) == .needMore(5))
    }

    @Test("frame builders, crafting and zero-copy writing")
    func frameBuilders() throws {
        // README: frame builders
        // RFC 6455 section 5.7: a masked "Hello" from a client.
        let hello = Frame(
            header: Header(opcode: .text, masked: true, maskKey: Header.maskKey(0x37, 0xfa, 0x21, 0x3d), length: 5),
            payload: Array("Hello".utf8))
        let wire = hello.wireBytes()  // 81 85 37 fa 21 3d 7f 9f 4d 51 58

        let text = Frame.text("hi")  // server role: not masked
        let binary = Frame.binary([0x00, 0xff], role: .client)  // client role: masked with a random key
        let close = Frame.close(.goingAway, reason: "restarting")

        // Any header field can be set, including values the RFC forbids (for testing peers).
        var crafted = Frame.text("hi")
        crafted.header.rsv1 = true  // RSV1 without a negotiated extension
        crafted.header.opcode = OpCode(nibble: 0x3)  // a reserved opcode
        let craftedWire = crafted.wireBytes(lengthEncoding: .extended16)  // length 2 in the 16-bit form

        // Without intermediate arrays: a header into caller-owned bytes, or a whole frame
        // (payload masked on the way) appended to a reused buffer.
        var headerBytes = [UInt8](repeating: 0, count: Header.maximumSize)
        let bigHeader = Header(opcode: .binary, length: 70_000)  // the 64-bit length form
        let headerSize = headerBytes.withUnsafeMutableBytes { bigHeader.encode(into: $0) }  // 10
        var output: [UInt8] = []
        output.reserveCapacity(64 << 10)
        let payload: [UInt8] = [1, 2, 3]
        let frameHeader = Header(opcode: .binary, masked: true, maskKey: Cipher.randomKey())  // length set by write
        payload.withUnsafeBytes { bytes in Frame.write(header: frameHeader, payload: bytes, into: &output) }
        // README end

        #expect(wire == [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58])
        #expect(text.wireBytes() == [0x81, 0x02, 0x68, 0x69])
        #expect(binary.header.masked && binary.header.opcode == .binary && binary.header.length == 2)
        #expect(close.payload == [0x03, 0xe9] + Array("restarting".utf8))
        #expect(craftedWire == [0xc3, 0x7e, 0x00, 0x02, 0x68, 0x69])
        guard case .header(let header, let size) = Header.decode(craftedWire) else {
            Issue.record("crafted frame did not decode")
            return
        }
        #expect(header.violation(receivedBy: .client, headerSize: size) == .reservedBitsSet(0b100))
        #expect(header.violation(receivedBy: .client, headerSize: size, allowedRSV: 0b100) == .reservedOpcode(OpCode(nibble: 3)))
        #expect(headerSize == 10)
        #expect(headerBytes[..<10] == [0x82, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70])

        // Frame.write set the length from the payload and masked it in place.
        guard case .header(let written, let writtenSize) = Header.decode(output) else {
            Issue.record("written frame did not decode")
            return
        }
        #expect(written.length == 3 && written.masked && writtenSize == 6 && output.count == 9)
        var unmasked = Array(output[writtenSize...])
        unmasked.withUnsafeMutableBytes { Cipher.mask($0, key: written.maskKey) }
        #expect(unmasked == payload)
    }

    @Test("close bodies: encode, decode, the violation's close code")
    func closeBodies() throws {
        // README: close bodies
        let body = CloseBody.encode(code: .goingAway, reason: "server restart")  // 03 e9 + the reason
        let decoded = try CloseBody.decode(body).get()  // (code: 1001, reason: "server restart")

        // What a server might answer to a received close body:
        var reply: [UInt8] = []
        switch CloseBody.decode([0x03, 0xed]) {  // code 1005, which may never appear on the wire
        case .success(let close):
            reply = CloseBody.encode(code: close.code ?? .normalClosure)  // echo the peer's code
        case .failure(let violation):
            reply = CloseBody.encode(code: violation.closeCode, reason: "\(violation)")  // 1002
        }
        // README end

        #expect(body == [0x03, 0xe9] + Array("server restart".utf8))
        #expect(decoded.code == .goingAway && decoded.reason == "server restart")
        #expect(reply == CloseBody.encode(code: .protocolError, reason: "close code 1005 is not allowed on the wire"))
        #expect(try CloseBody.decode([]).get().code == nil)
        #expect(CloseCode(4000).range == .privateUse && CloseCode(1005).range == .reservedNotOnWire)
        #expect(!CloseCode(1005).isAllowedOnWire && CloseCode.goingAway.meaning == "going away")
        guard case .failure(.closePayloadTooShort) = CloseBody.decode([0x03]) else {
            Issue.record("a 1-byte close body must be a violation")
            return
        }
    }

    @Test("opening handshake: Upgrader callbacks, rejection, ClientHandshake")
    func openingHandshake() throws {
        // README: upgrader
        var upgrader = Upgrader(extraHeaders: [("Server", "example")])
        var seen: [String] = []
        upgrader.onRequest = { target in
            guard HTTPHead.string(target).hasPrefix("/chat") else { throw HandshakeRejection(status: 404) }
        }
        upgrader.onHost = { host in seen.append("Host: " + HTTPHead.string(host)) }
        upgrader.onHeader = { name, value in seen.append(HTTPHead.string(name)) }  // all other fields
        upgrader.chooseProtocol = { token in HTTPHead.equals(token, "chat.v2") }
        upgrader.onBeforeUpgrade = { request in
            guard let token = request.fields.first(named: "authorization"),
                HTTPHead.equals(token, "Bearer t0k3n")
            else {
                throw HandshakeRejection(status: 401, headers: [("WWW-Authenticate", "Bearer")], body: "bad token")
            }
            return [("Set-Cookie", "session=1")]  // added to the 101 response
        }
        // README end

        // README: client handshake
        let client = ClientHandshake(
            target: "/chat?room=1", host: "example.com",
            subprotocols: ["chat.v1", "chat.v2"], extraHeaders: [("Authorization", "Bearer t0k3n")])
        // README end

        // The server above answers the request in memory.
        let (reply, upgraded) = try #require(answerHandshake(client.request, with: upgrader))

        // README: client response
        var subprotocol: String?
        switch client.validateResponse(reply) {
        case .needMoreBytes:
            break  // read more and call again with everything received so far
        case .accepted(let response):
            subprotocol = response.subprotocol  // bytes after response.consumed are frames
        case .failed(let error, _):
            print("handshake failed: \(error)")  // one line, e.g. "Sec-WebSocket-Accept mismatch (...)"
        }
        // README end

        #expect(subprotocol == "chat.v2")
        let accepted = try #require(upgraded)
        #expect(accepted.consumed == client.request.count)
        #expect(client.request.withUnsafeBytes { accepted.target(in: $0) } == "/chat?room=1")
        #expect(client.request.withUnsafeBytes { accepted.subprotocol(in: $0) } == "chat.v2")
        let head = String(decoding: reply, as: UTF8.self)
        #expect(head.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
        #expect(head.contains("\r\nSec-WebSocket-Accept: \(client.expectedAccept)\r\n"))
        #expect(head.contains("\r\nServer: example\r\n") && head.contains("\r\nSet-Cookie: session=1\r\n"))
        #expect(seen == ["Host: example.com", "Authorization"])

        // Without the token: 401 with the rejection's header and body, and the client says why.
        let stranger = ClientHandshake(target: "/chat", host: "example.com")
        let (refusal, none) = try #require(answerHandshake(stranger.request, with: upgrader))
        #expect(none == nil)
        let refusalText = String(decoding: refusal, as: UTF8.self)
        #expect(refusalText.hasPrefix("HTTP/1.1 401 Unauthorized\r\n"))
        #expect(refusalText.contains("\r\nWWW-Authenticate: Bearer\r\n") && refusalText.hasSuffix("\r\n\r\nbad token"))
        guard case .failed(let error, let response) = stranger.validateResponse(refusal) else {
            Issue.record("a 401 must fail the client handshake")
            return
        }
        #expect(error == .unexpectedStatus(401, reason: "Unauthorized"))
        #expect(response?.values(of: "www-authenticate") == ["Bearer"])

        // Another path: 404 from onRequest. Half a request: not yet.
        let lost = ClientHandshake(target: "/elsewhere", host: "example.com", extraHeaders: [("Authorization", "Bearer t0k3n")])
        let (notFound, _) = try #require(answerHandshake(lost.request, with: upgrader))
        #expect(String(decoding: notFound, as: UTF8.self).hasPrefix("HTTP/1.1 404 Not Found\r\n"))
        #expect(answerHandshake(Array(client.request.prefix(40)), with: upgrader) == nil)
    }

    @Test("every swift block of README.md is compiled by a ReadmeExampleTests.swift")
    func readmeBlocksAreCompiled() throws {
        var root = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        root.removeLast(3)  // Tests/WebSocketTests/ReadmeExampleTests.swift
        let base = root.joined(separator: "/")
        let readme = try String(contentsOfFile: base + "/README.md", encoding: .utf8)
        let sources = try ["WebSocketTests", "WebSocketUtilTests", "WebSocketDeflateTests"].map {
            try String(contentsOfFile: "\(base)/Tests/\($0)/ReadmeExampleTests.swift", encoding: .utf8)
        }
        let blocks = ReadmeBlocks.swiftBlocks(in: readme)
        #expect(blocks.count >= 8)
        let sourceLines = sources.map(ReadmeBlocks.normalizedLines)
        for block in blocks {
            let lines = ReadmeBlocks.normalizedLines(block)
            // Imports are checked on their own: the test files have theirs at the top.
            let imports = lines.filter { $0.hasPrefix("import ") }
            let code = lines.filter { !$0.hasPrefix("import ") }
            for line in imports {
                #expect(sourceLines.contains { $0.contains(line) }, "README imports '\(line)' but no test does")
            }
            let found = sourceLines.contains { ReadmeBlocks.contains($0, run: code) }
            #expect(found, "README block not found verbatim in a ReadmeExampleTests.swift:\n\(block)")
        }
    }
}

/// Finding the README's code in the test sources.
enum ReadmeBlocks {
    /// The bodies of the ```swift fences.
    static func swiftBlocks(in markdown: String) -> [String] {
        var blocks: [String] = []
        var current: [Substring]?
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if current == nil {
                if trimmed == "```swift" { current = [] }
            } else if trimmed == "```" {
                blocks.append(current!.joined(separator: "\n"))
                current = nil
            } else {
                current!.append(line)
            }
        }
        return blocks
    }

    /// Lines without indentation or trailing spaces; blank lines dropped.
    static func normalizedLines(_ text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
    }

    /// Whether `run` occurs in `lines` as consecutive lines.
    static func contains(_ lines: [String], run: [String]) -> Bool {
        guard !run.isEmpty else { return true }
        guard lines.count >= run.count else { return false }
        for start in 0...(lines.count - run.count) where lines[start] == run[0] {
            if Array(lines[start..<(start + run.count)]) == run { return true }
        }
        return false
    }
}
