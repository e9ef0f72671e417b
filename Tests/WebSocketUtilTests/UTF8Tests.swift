import Testing
import WebSocket
import WebSocketUtil

@Suite("UTF-8 validation of text messages")
struct UTF8Tests {
    static let sample = "aé€𝄞ß中文🎉z"  // 1-, 2-, 3- and 4-byte characters

    /// Every cut of the UTF-8 bytes into two fragments, every cut into reads.
    @Test func multiByteTextSplitAcrossFragmentsAtEveryByte() {
        let utf8 = bytes(Self.sample)
        for cut in 0...utf8.count {
            let h = Harness(role: .server)
            h.feed(frame(.text, Array(utf8[..<cut]), fin: false, from: .client)
                + frame(.ping, [], from: .client)
                + frame(.continuation, Array(utf8[cut...]), from: .client))
            #expect(h.messages.map(\.1) == [utf8], "fragment cut at \(cut)")
            #expect(h.violations.isEmpty)
        }
    }

    @Test func multiByteTextSplitIntoOneBytePerFragment() {
        let utf8 = bytes(Self.sample)
        let h = Harness(role: .client)
        var input: [UInt8] = []
        for (i, byte) in utf8.enumerated() {
            input += frame(i == 0 ? .text : .continuation, [byte], fin: i == utf8.count - 1, from: .server)
        }
        h.feed(input, chunks: Array(repeating: 3, count: input.count))
        #expect(h.messages.map(\.1) == [utf8])
        #expect(h.violations.isEmpty)
    }

    @Test func multiByteTextSplitAcrossReadsAtEveryByte() {
        let input = frame(.text, Self.sample, from: .client)
        for cut in 0...input.count {
            let h = Harness(role: .server)
            h.feed(input, chunks: [cut])
            #expect(h.messages.map(\.1) == [bytes(Self.sample)], "read cut at \(cut)")
        }
    }

    /// Sequences that are not UTF-8, with the index of the first byte a strict validator
    /// must reject.
    static let invalid: [(name: String, bytes: [UInt8], badIndex: Int)] = [
        ("lone continuation", [0x41, 0x80], 1),
        ("0xFF", [0x41, 0xFF], 1),
        ("0xC0 overlong", [0xC0, 0x80], 0),
        ("0xC1 overlong", [0xC1, 0xBF], 0),
        ("3-byte overlong", [0xE0, 0x80, 0x80], 1),
        ("surrogate U+D800", [0xED, 0xA0, 0x80], 1),
        ("4-byte overlong", [0xF0, 0x80, 0x80, 0x80], 1),
        ("above U+10FFFF", [0xF4, 0x90, 0x80, 0x80], 1),
        ("0xF5 lead", [0xF5, 0x80, 0x80, 0x80], 0),
        ("lead then ASCII", [0xE2, 0x82, 0x41], 2),
        ("two leads", [0xC3, 0xC3], 1),
    ]

    /// Fail fast: the violation is reported, and the 1007 close queued, as soon as the read
    /// containing the bad byte is fed — with the frame's remaining payload still to come.
    @Test(arguments: 0..<invalid.count)
    func invalidByteFailsBeforeTheFrameEnds(index: Int) throws {
        let (name, bad, badIndex) = Self.invalid[index]
        let payload = bytes("valid prefix ") + bad + [UInt8](repeating: 0x61, count: 200)
        let input = frame(.text, payload, from: .client)
        let headerSize = input.count - payload.count
        let badAt = headerSize + 13 + badIndex
        let h = Harness(role: .server)
        h.feed(Array(input[..<badAt]))
        #expect(h.violations.isEmpty, "\(name): nothing wrong yet")
        #expect(h.take().isEmpty)
        h.feed(Array(input[badAt..<(badAt + 1)]))
        #expect(h.violations == [.invalidUTF8], "\(name)")
        let out = try h.takeFrames()
        #expect(out.count == 1)
        #expect(out.first?.closeCode == .invalidPayloadData)
        #expect(h.connection.closeState == .closed)
        #expect(h.semanticEvents.last == .closingHandshakeDone)
        // The rest of the frame, and anything after it, is not read.
        let eventCount = h.events.count
        h.feed(Array(input[(badAt + 1)...]) + frame(.text, "more", from: .client) + frame(.ping, [], from: .client))
        #expect(h.events.count == eventCount)
        #expect(h.take().isEmpty)
    }

    /// The bad byte in a later fragment (the first fragment left a character open) is
    /// caught with that fragment's first payload byte, before the message ends.
    @Test func invalidContinuationOfACharacterOpenedInThePreviousFragment() throws {
        let h = Harness(role: .server)
        h.feed(frame(.text, [0x61, 0xE2, 0x82], fin: false, from: .client))
        h.feed(frame(.ping, bytes("between"), from: .client))
        #expect(h.violations.isEmpty)
        let second = frame(.continuation, [0x41] + [UInt8](repeating: 0x62, count: 50), from: .client)
        let headerSize = second.count - 51
        h.feed(Array(second[..<headerSize]))
        #expect(h.violations.isEmpty)
        h.feed(Array(second[headerSize..<(headerSize + 1)]))
        #expect(h.violations == [.invalidUTF8])
        let out = try h.takeFrames()
        #expect(out.map(\.header.opcode) == [.pong, .close])
        #expect(out.last?.closeCode == .invalidPayloadData)
        #expect(h.messages.isEmpty)
    }

    @Test func invalidByteInTheFirstOfManyFragmentsFailsAtOnce() throws {
        let h = Harness(role: .client)
        h.feed(frame(.text, [0x61, 0xFE], fin: false, from: .server))
        #expect(h.violations == [.invalidUTF8])
        #expect(try h.takeFrames().map(\.closeCode) == [.invalidPayloadData])
    }

    /// A message that ends with an incomplete character fails at FIN, not earlier.
    @Test func truncatedCharacterAtTheEndOfAMessageFailsAtFin() throws {
        let h = Harness(role: .server)
        h.feed(frame(.text, [0x61, 0xF0, 0x9F], fin: false, from: .client))
        h.feed(frame(.continuation, [0x8E], fin: false, from: .client))
        #expect(h.violations.isEmpty)
        #expect(h.take().isEmpty)
        h.feed(frame(.continuation, [], fin: true, from: .client))
        #expect(h.violations == [.invalidUTF8])
        #expect(try h.takeFrames().map(\.closeCode) == [.invalidPayloadData])
        #expect(h.messages.isEmpty)
    }

    @Test func truncatedCharacterInAnUnfragmentedFrameFailsWithItsLastByte() throws {
        let payload: [UInt8] = [0x61, 0x62, 0xE2]
        let input = frame(.text, payload, from: .client)
        let h = Harness(role: .server)
        h.feed(Array(input.dropLast()))
        #expect(h.violations.isEmpty)
        h.feed([input.last!])
        #expect(h.violations == [.invalidUTF8])
        #expect(try h.takeFrames().map(\.closeCode) == [.invalidPayloadData])
    }

    @Test func binaryMessagesAreNotValidated() {
        let h = Harness(role: .server)
        let junk: [UInt8] = [0xFF, 0xFE, 0xC0, 0x80, 0xED, 0xA0, 0x80, 0xE2]
        h.feed(frame(.binary, junk, fin: false, from: .client) + frame(.continuation, [0xF0], from: .client))
        #expect(h.messages.map(\.1) == [junk + [0xF0]])
        #expect(h.violations.isEmpty)
    }

    /// A text message after one that ended cleanly starts with fresh validator state.
    @Test func validatorStateDoesNotLeakBetweenMessages() {
        let h = Harness(role: .server)
        // Binary message ending in a lead byte, then a text message starting with a
        // continuation-looking ASCII byte: both fine.
        h.feed(frame(.binary, [0xE2], from: .client) + frame(.text, "A", from: .client))
        #expect(h.messages.map(\.1) == [[0xE2], bytes("A")])
        #expect(h.violations.isEmpty)
    }

    @Test func invalidUTF8InACloseReasonFailsWith1007() throws {
        let h = Harness(role: .server)
        h.feed(frame(.close, [0x03, 0xE8, 0x61, 0xFF], from: .client))
        #expect(h.violations == [.invalidUTF8])
        #expect(try h.takeFrames().map(\.closeCode) == [.invalidPayloadData])
        #expect(!h.semanticEvents.contains(.closeReceived(code: .normalClosure, reason: "a\u{FFFD}")))
    }

    @Test func truncatedCharacterInACloseReasonFailsWith1007() throws {
        let h = Harness(role: .client)
        h.feed(frame(.close, [0x03, 0xE8] + Array("é".utf8.dropLast()), from: .server))
        #expect(h.violations == [.invalidUTF8])
        #expect(try h.takeFrames().map(\.closeCode) == [.invalidPayloadData])
    }

    @Test func validMultiByteCloseReasonIsReported() throws {
        let h = Harness(role: .server)
        h.feed(closeFrame(.goingAway, reason: "tschüß €", from: .client))
        #expect(h.semanticEvents.first == .closeReceived(code: .goingAway, reason: "tschüß €"))
    }
}
