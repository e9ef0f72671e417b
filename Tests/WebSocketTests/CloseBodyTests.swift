import Testing
import WebSocket

/// `CloseBody.encode`, close frames, and the `CloseCode` range and wire tables.
struct CloseBodyTests {
    @Test func encodesCodeBigEndianThenReason() {
        #expect(CloseBody.encode(code: .normalClosure) == [0x03, 0xE8])
        #expect(CloseBody.encode(code: .normalClosure, reason: "bye") == [0x03, 0xE8, 0x62, 0x79, 0x65])
        #expect(CloseBody.encode(code: CloseCode(4999), reason: "é") == [0x13, 0x87, 0xC3, 0xA9])
        #expect(CloseBody.encode(code: CloseCode(0xABCD)) == [0xAB, 0xCD])
    }

    @Test func noCodeMeansAnEmptyBodyAndNoReason() {
        #expect(CloseBody.encode(code: nil) == [])
        #expect(CloseBody.encode(code: nil, reason: "dropped") == [])
        #expect(Frame.close(nil).wireBytes() == [0x88, 0x00])
    }

    @Test func closeFrameBuilder() {
        let frame = Frame.close(.goingAway, reason: "bye")
        #expect(frame.wireBytes() == [0x88, 0x05, 0x03, 0xE9, 0x62, 0x79, 0x65])
        let client = Frame.close(.normalClosure, role: .client)
        #expect(client.header.masked)
        let wire = client.wireBytes()
        guard case .header(let header, let size) = Header.decode(wire) else { Issue.record(); return }
        #expect(header.violation(receivedBy: .server, headerSize: size) == nil)
        #expect(FrameFixture.unmasked(Array(wire[size...]), key: header.maskKey) == [0x03, 0xE8])
    }

    @Test func encodeThenDecodeRoundTrips() {
        for code: UInt16 in [1000, 1001, 1002, 1003, 1007, 1011, 1014, 3000, 3999, 4000, 4999] {
            for reason in ["", "x", "going away", "Grüße 🎉", String(repeating: "z", count: 123)] {
                let body = CloseBody.encode(code: CloseCode(code), reason: reason)
                guard case .success(let decoded) = CloseBody.decode(body) else { Issue.record("\(code) \(reason)"); continue }
                #expect(decoded.code == CloseCode(code))
                #expect(decoded.reason == reason)
            }
        }
    }

    /// A reason longer than 123 bytes is cut, at a character boundary, to fit a control
    /// frame (125 bytes with the code).
    @Test func longReasonsAreTruncatedAtACharacterBoundary() {
        let reasons = [
            String(repeating: "a", count: 200),
            String(repeating: "é", count: 100),  // 2 bytes each
            String(repeating: "€", count: 60),  // 3 bytes each
            String(repeating: "🎉", count: 40),  // 4 bytes each
            String(repeating: "a", count: 122) + "€",  // the last character does not fit
            String(repeating: "a", count: 121) + "🎉🎉",
            String(repeating: "a", count: 120) + "€" + "b",  // exactly 123
            String(repeating: "ab€🎉", count: 30),
        ]
        for reason in reasons {
            let body = CloseBody.encode(code: .normalClosure, reason: reason)
            let reasonBytes = Array(body.dropFirst(2))
            #expect(body.count <= 125)
            #expect(reasonBytes.count <= CloseBody.maximumReasonBytes)
            #expect(CloseBody.maximumReasonBytes == 123)
            // A prefix of the original bytes, valid UTF-8, made of whole characters.
            #expect(Array(reason.utf8).starts(with: reasonBytes))
            #expect(UTF8Validator.isValid(reasonBytes))
            let text = String(decoding: reasonBytes, as: UTF8.self)
            #expect(reason.hasPrefix(text))
            // Nothing more would have fitted: the next character is too big.
            let rest = reason.dropFirst(text.count)
            if let next = rest.first {
                #expect(reasonBytes.count + next.utf8.count > 123, "cut too early: \(reasonBytes.count) bytes")
            }
            // The result is a valid close body.
            guard case .success(let decoded) = CloseBody.decode(body) else { Issue.record("\(reason)"); continue }
            #expect(decoded.reason == text)
            // And a valid control frame.
            let frame = Frame.close(.normalClosure, reason: reason)
            #expect(frame.header.length <= 125)
            #expect(frame.header.violation(receivedBy: .client, headerSize: frame.header.encodedSize) == nil)
        }
        #expect(CloseBody.encode(code: .normalClosure, reason: String(repeating: "a", count: 200)).count == 125)
        #expect(CloseBody.encode(code: .normalClosure, reason: String(repeating: "€", count: 60)).count == 2 + 123)
        #expect(CloseBody.encode(code: .normalClosure, reason: String(repeating: "🎉", count: 40)).count == 2 + 120)
        #expect(CloseBody.encode(code: .normalClosure, reason: String(repeating: "a", count: 122) + "€").count == 2 + 122)
    }

    /// A character of several scalars (a letter with a combining accent, a flag, a family
    /// emoji) is kept whole or dropped whole, never split into its scalars.
    @Test func truncationKeepsGraphemeClustersWhole() {
        let cases: [(String, Int)] = [
            ("e\u{301}", 122),  // e + combining acute: 3 bytes
            ("🇸🇪", 119),  // two regional indicators: 8 bytes, the first would fit
            ("👩‍👩‍👧", 119),  // woman ZWJ woman ZWJ girl: 18 bytes
        ]
        for (cluster, prefixCount) in cases {
            let reason = String(repeating: "a", count: prefixCount) + cluster
            #expect(reason.utf8.count > 123)
            let reasonBytes = Array(CloseBody.encode(code: .normalClosure, reason: reason).dropFirst(2))
            #expect(reasonBytes == Array(repeating: UInt8(ascii: "a"), count: prefixCount), "split \(cluster.unicodeScalars.map { $0.value })")
        }
    }

    // MARK: CloseCode tables

    @Test func rangeTable() {
        let expectations: [(ClosedRange<UInt16>, CloseCode.Range)] = [
            (0...999, .unused),
            (1000...1003, .protocolDefined),
            (1004...1004, .protocolUnassigned),
            (1005...1006, .reservedNotOnWire),
            (1007...1014, .protocolDefined),
            (1015...1015, .reservedNotOnWire),
            (1016...2999, .protocolUnassigned),
            (3000...3999, .registered),
            (4000...4999, .privateUse),
            (5000...65535, .outOfRange),
        ]
        var covered = 0
        for (codes, range) in expectations {
            for raw in codes {
                if CloseCode(raw).range != range { Issue.record("\(raw) is \(CloseCode(raw).range), expected \(range)") }
                covered += 1
            }
        }
        #expect(covered == 65536)
    }

    @Test func wireTableFollowsTheRanges() {
        for raw in UInt16(0)...UInt16.max {
            let code = CloseCode(raw)
            let expected: Bool
            switch code.range {
            case .protocolDefined, .registered, .privateUse: expected = true
            case .unused, .protocolUnassigned, .reservedNotOnWire, .outOfRange: expected = false
            }
            if code.isAllowedOnWire != expected { Issue.record("\(raw)") }
        }
        for code in [CloseCode.noStatusReceived, .abnormalClosure, .tlsHandshake] { #expect(!code.isAllowedOnWire) }
        for code in [
            CloseCode.normalClosure, .goingAway, .protocolError, .unsupportedData, .invalidPayloadData, .policyViolation,
            .messageTooBig, .mandatoryExtension, .internalServerError, .serviceRestart, .tryAgainLater, .badGateway,
        ] {
            #expect(code.isAllowedOnWire)
            #expect(code.range == .protocolDefined)
        }
    }

    @Test func namedCodesHaveTheirRFCValues() {
        let table: [(CloseCode, UInt16, String)] = [
            (.normalClosure, 1000, "normal closure"), (.goingAway, 1001, "going away"),
            (.protocolError, 1002, "protocol error"), (.unsupportedData, 1003, "unsupported data"),
            (.noStatusReceived, 1005, "no status received"), (.abnormalClosure, 1006, "abnormal closure"),
            (.invalidPayloadData, 1007, "invalid payload data"), (.policyViolation, 1008, "policy violation"),
            (.messageTooBig, 1009, "message too big"), (.mandatoryExtension, 1010, "mandatory extension"),
            (.internalServerError, 1011, "internal server error"), (.serviceRestart, 1012, "service restart"),
            (.tryAgainLater, 1013, "try again later"), (.badGateway, 1014, "bad gateway"),
            (.tlsHandshake, 1015, "TLS handshake failure"),
        ]
        for (code, raw, meaning) in table {
            #expect(code.rawValue == raw)
            #expect(CloseCode(rawValue: raw) == code)
            #expect(code.meaning == meaning)
            #expect(code.description == "\(raw)")
        }
        #expect(CloseCode(999).meaning.contains("invalid"))
        #expect(CloseCode(1004).meaning.contains("invalid"))
        #expect(CloseCode(3000).meaning.contains("registered"))
        #expect(CloseCode(4000).meaning.contains("private"))
        #expect(CloseCode(5000).meaning.contains("invalid"))
    }
}
