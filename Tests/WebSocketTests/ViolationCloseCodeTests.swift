import Testing
import WebSocket

/// Every `ProtocolViolation` the header and close-body checks detect, with the close code
/// RFC 6455 prescribes for it.
struct ViolationCloseCodeTests {
    /// A valid header as `role` would receive it: masked from a client, unmasked from a server.
    static func received(
        by role: Role, fin: Bool = true, rsv: UInt8 = 0, opcode: OpCode = .binary, length: UInt64 = 10
    ) -> Header {
        Header(
            fin: fin, rsv1: rsv & 4 != 0, rsv2: rsv & 2 != 0, rsv3: rsv & 1 != 0, opcode: opcode,
            masked: role == .server, maskKey: role == .server ? Header.maskKey(9, 8, 7, 6) : 0, length: length)
    }

    /// The verdict on a header as the wire carries it: encoded with `encoding`, decoded,
    /// then judged with the size decoding reported.
    static func verdict(
        _ header: Header, by role: Role, encoding: LengthEncoding = .minimal, allowedRSV: UInt8 = 0
    ) -> ProtocolViolation? {
        let bytes = header.encoded(lengthEncoding: encoding)
        guard case .header(let decoded, let size) = Header.decode(bytes) else {
            Issue.record("could not decode \(FrameFixture.hexString(bytes))")
            return nil
        }
        #expect(decoded == header)
        return decoded.violation(receivedBy: role, headerSize: size, allowedRSV: allowedRSV)
    }

    static let roles: [Role] = [.client, .server]

    @Test(arguments: roles)
    func validHeadersPass(role: Role) {
        for opcode in [OpCode.continuation, .text, .binary] {
            for fin in [false, true] {
                for length: UInt64 in [0, 125, 126, 65535, 65536, UInt64(Int64.max)] {
                    #expect(Self.verdict(Self.received(by: role, fin: fin, opcode: opcode, length: length), by: role) == nil)
                }
            }
        }
        for opcode in [OpCode.close, .ping, .pong] {
            for length: UInt64 in [0, 1, 2, 124, 125] {
                #expect(Self.verdict(Self.received(by: role, opcode: opcode, length: length), by: role) == nil)
            }
        }
    }

    @Test(arguments: roles)
    func reservedBitsWithoutAnExtension(role: Role) {
        for bits in UInt8(1)...7 {
            let header = Self.received(by: role, rsv: bits)
            let violation = Self.verdict(header, by: role)
            #expect(violation == .reservedBitsSet(bits))
            #expect(violation?.closeCode == .protocolError)
            #expect(violation?.closeCode.rawValue == 1002)
            // With permessage-deflate negotiated RSV1 is allowed; RSV2 and RSV3 still are not.
            let withDeflate = Self.verdict(header, by: role, allowedRSV: 0b100)
            #expect(withDeflate == (bits & 0b011 == 0 ? nil : .reservedBitsSet(bits & 0b011)))
            // Allowing every bit allows every bit.
            #expect(Self.verdict(header, by: role, allowedRSV: 0b111) == nil)
        }
        #expect(ProtocolViolation.reservedBitsSet(0b100).description.contains("RSV1"))
        #expect(ProtocolViolation.reservedBitsSet(0b011).description.contains("RSV2+RSV3"))
    }

    @Test(arguments: [3, 4, 5, 6, 7, 11, 12, 13, 14, 15] as [UInt8])
    func reservedOpcodes(raw: UInt8) {
        for role in Self.roles {
            let opcode = OpCode(nibble: raw)
            let violation = Self.verdict(Self.received(by: role, opcode: opcode, length: 3), by: role)
            #expect(violation == .reservedOpcode(opcode))
            #expect(violation?.closeCode == .protocolError)
        }
    }

    @Test(arguments: [OpCode.close, .ping, .pong])
    func fragmentedControlFrames(opcode: OpCode) {
        for role in Self.roles {
            let violation = Self.verdict(Self.received(by: role, fin: false, opcode: opcode, length: 2), by: role)
            #expect(violation == .fragmentedControlFrame(opcode))
            #expect(violation?.closeCode == .protocolError)
        }
    }

    @Test(arguments: [OpCode.close, .ping, .pong])
    func controlFramesLongerThan125Bytes(opcode: OpCode) {
        for role in Self.roles {
            for length: UInt64 in [126, 127, 65535, 65536, 1 << 40] {
                let violation = Self.verdict(Self.received(by: role, opcode: opcode, length: length), by: role)
                #expect(violation == .controlFrameTooLong(opcode, length: length))
                #expect(violation?.closeCode == .protocolError)
            }
        }
        // The RFC's 126-byte ping.
        let ping = Self.received(by: .client, opcode: .ping, length: 126)
        #expect(ping.encoded() == [0x89, 0x7E, 0x00, 0x7E])
        #expect(Self.verdict(ping, by: .client)?.closeCode.rawValue == 1002)
    }

    @Test func unmaskedFrameReceivedByServer() {
        for opcode in [OpCode.text, .binary, .continuation, .close, .ping, .pong] {
            let header = Header(opcode: opcode, masked: false, length: 5)
            let violation = Self.verdict(header, by: .server)
            #expect(violation == .unmaskedClientFrame)
            #expect(violation?.closeCode == .protocolError)
        }
    }

    @Test func maskedFrameReceivedByClient() {
        for opcode in [OpCode.text, .binary, .continuation, .close, .ping, .pong] {
            let header = Header(opcode: opcode, masked: true, maskKey: 0x0102_0304, length: 5)
            let violation = Self.verdict(header, by: .client)
            #expect(violation == .maskedServerFrame)
            #expect(violation?.closeCode == .protocolError)
        }
    }

    @Test(arguments: roles)
    func nonMinimalLengths(role: Role) {
        // 16-bit form for a 7-bit length, 64-bit form for 7- and 16-bit lengths.
        for length: UInt64 in [0, 1, 125] {
            for encoding in [LengthEncoding.extended16, .extended64] {
                let violation = Self.verdict(Self.received(by: role, length: length), by: role, encoding: encoding)
                #expect(violation == .nonMinimalLength(length))
                #expect(violation?.closeCode == .protocolError)
            }
        }
        for length: UInt64 in [126, 127, 65535] {
            let violation = Self.verdict(Self.received(by: role, length: length), by: role, encoding: .extended64)
            #expect(violation == .nonMinimalLength(length))
            #expect(violation?.closeCode.rawValue == 1002)
            // Its minimal 16-bit form passes.
            #expect(Self.verdict(Self.received(by: role, length: length), by: role, encoding: .extended16) == nil)
        }
        // Raw bytes, as a crafting peer would send them: 0x82 0x7E 0x00 0x05 from a server.
        if role == .client {
            guard case .header(let header, let size) = Header.decode([0x82, 0x7E, 0x00, 0x05]) else { Issue.record(); return }
            #expect(header.violation(receivedBy: .client, headerSize: size) == .nonMinimalLength(5))
        }
        // A non-minimal control frame is judged on its length form too.
        let ping = Self.verdict(Self.received(by: role, opcode: .ping, length: 5), by: role, encoding: .extended16)
        #expect(ping == .nonMinimalLength(5))
    }

    @Test(arguments: roles)
    func lengthWithTheMostSignificantBitSet(role: Role) {
        for length: UInt64 in [1 << 63, (1 << 63) + 1, UInt64.max] {
            let violation = Self.verdict(Self.received(by: role, length: length), by: role)
            #expect(violation == .lengthMostSignificantBitSet)
            #expect(violation?.closeCode == .protocolError)
        }
        // From the raw bytes 0x82 0x7F 0x80 00 00 00 00 00 00 00.
        var bytes: [UInt8] = [0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]
        if role == .client { bytes = [0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0] }
        guard case .header(let header, let size) = Header.decode(bytes) else { Issue.record(); return }
        #expect(header.length == 1 << 63)
        #expect(header.violation(receivedBy: role, headerSize: size) == .lengthMostSignificantBitSet)
    }

    /// When several things are wrong, the first check in wire order wins: RSV, then opcode,
    /// then control-frame rules, then masking, then the length.
    @Test func checksRunInWireOrder() {
        let everything = Header(fin: false, rsv1: true, opcode: OpCode(nibble: 0xB), masked: false, length: 1 << 63)
        #expect(everything.violation(receivedBy: .server, headerSize: 10) == .reservedBitsSet(0b100))
        var next = everything
        next.rsv1 = false
        #expect(next.violation(receivedBy: .server, headerSize: 10) == .reservedOpcode(OpCode(nibble: 0xB)))
        next.opcode = .ping
        #expect(next.violation(receivedBy: .server, headerSize: 10) == .fragmentedControlFrame(.ping))
        next.fin = true
        #expect(next.violation(receivedBy: .server, headerSize: 10) == .controlFrameTooLong(.ping, length: 1 << 63))
        next.opcode = .binary
        #expect(next.violation(receivedBy: .server, headerSize: 10) == .unmaskedClientFrame)
        next.masked = true
        #expect(next.violation(receivedBy: .server, headerSize: 14) == .lengthMostSignificantBitSet)
        next.length = 5
        #expect(next.violation(receivedBy: .server, headerSize: 14) == .nonMinimalLength(5))
        #expect(next.violation(receivedBy: .server, headerSize: 6) == nil)
    }

    // MARK: Close bodies

    static func decodeClose(_ bytes: [UInt8]) -> Result<(code: CloseCode?, reason: String), ProtocolViolation> {
        CloseBody.decode(bytes)
    }

    static func violation(_ result: Result<(code: CloseCode?, reason: String), ProtocolViolation>) -> ProtocolViolation? {
        if case .failure(let violation) = result { return violation }
        return nil
    }

    @Test func closeBodyOfOneByte() {
        for byte: UInt8 in [0x00, 0x03, 0xE8, 0xFF] {
            let violation = Self.violation(Self.decodeClose([byte]))
            #expect(violation == .closePayloadTooShort)
            #expect(violation?.closeCode.rawValue == 1002)
        }
    }

    @Test(arguments: [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535] as [UInt16])
    func invalidCloseCodes(code: UInt16) {
        let body = [UInt8(code >> 8), UInt8(code & 0xFF)]
        for suffix in [[], Array("bye".utf8)] {
            let violation = Self.violation(Self.decodeClose(body + suffix))
            #expect(violation == .invalidCloseCode(code))
            #expect(violation?.closeCode == .protocolError)
        }
        #expect(!CloseCode(code).isAllowedOnWire)
    }

    @Test(arguments: [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999] as [UInt16])
    func validCloseCodes(code: UInt16) {
        let body = [UInt8(code >> 8), UInt8(code & 0xFF)]
        guard case .success(let empty) = Self.decodeClose(body) else { Issue.record("\(code) refused"); return }
        #expect(empty.code == CloseCode(code))
        #expect(empty.reason == "")
        guard case .success(let withReason) = Self.decodeClose(body + Array("going → away".utf8)) else {
            Issue.record("\(code) with a reason refused")
            return
        }
        #expect(withReason.code == CloseCode(code))
        #expect(withReason.reason == "going → away")
        #expect(CloseCode(code).isAllowedOnWire)
    }

    /// Every 16-bit code: the decoder accepts exactly the codes `isAllowedOnWire` allows,
    /// which are exactly 1000-1003, 1007-1014 and 3000-4999.
    @Test func closeCodeDecodingMatchesTheWireTable() {
        for raw in UInt16(0)...UInt16.max {
            let allowed = (1000...1003).contains(raw) || (1007...1014).contains(raw) || (3000...4999).contains(raw)
            #expect(CloseCode(raw).isAllowedOnWire == allowed, "\(raw)")
            let decoded = Self.decodeClose([UInt8(raw >> 8), UInt8(raw & 0xFF)])
            switch decoded {
            case .success(let body): #expect(allowed && body.code?.rawValue == raw, "\(raw)")
            case .failure(let violation): #expect(!allowed && violation == .invalidCloseCode(raw), "\(raw)")
            }
        }
    }

    @Test func emptyCloseBodyHasNoCode() {
        guard case .success(let body) = Self.decodeClose([]) else { Issue.record(); return }
        #expect(body.code == nil)
        #expect(body.reason == "")
        let decoded = [UInt8]().withUnsafeBytes { CloseBody.decode($0) }
        guard case .success(let raw) = decoded else { Issue.record(); return }
        #expect(raw.code == nil && raw.reason.isEmpty)
    }

    @Test func invalidUTF8Reason() {
        for reason: [UInt8] in [[0xFF], [0xC3], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xC0, 0x80], Array("ok".utf8) + [0x80], [0xF4, 0x90, 0x80, 0x80]] {
            let violation = Self.violation(Self.decodeClose([0x03, 0xE8] + reason))
            #expect(violation == .invalidUTF8, "\(FrameFixture.hexString(reason))")
            #expect(violation?.closeCode == .invalidPayloadData)
            #expect(violation?.closeCode.rawValue == 1007)
        }
        // A bad code is reported before a bad reason.
        #expect(Self.violation(Self.decodeClose([0x03, 0xED, 0xFF])) == .invalidCloseCode(1005))
    }

    @Test func closeReasonSliceIsInPlace() {
        let body: [UInt8] = [0x0F, 0xA0] + Array("private ✓".utf8)
        body.withUnsafeBytes { bytes in
            guard case .success(let decoded) = CloseBody.decode(bytes) else { Issue.record(); return }
            #expect(decoded.code == CloseCode(4000))
            #expect(decoded.reason.baseAddress == bytes.baseAddress! + 2)
            #expect(decoded.reason.count == bytes.count - 2)
            #expect(decoded.reasonText == "private ✓")
        }
    }

    // MARK: Close codes of the other violations

    @Test func closeCodeOfEveryViolation() {
        let table: [(ProtocolViolation, UInt16)] = [
            (.reservedBitsSet(0b001), 1002),
            (.reservedOpcode(OpCode(nibble: 3)), 1002),
            (.fragmentedControlFrame(.ping), 1002),
            (.controlFrameTooLong(.pong, length: 126), 1002),
            (.unmaskedClientFrame, 1002),
            (.maskedServerFrame, 1002),
            (.nonMinimalLength(5), 1002),
            (.lengthMostSignificantBitSet, 1002),
            (.unexpectedContinuation, 1002),
            (.expectedContinuation(.text), 1002),
            (.closePayloadTooShort, 1002),
            (.invalidCloseCode(1005), 1002),
            (.invalidUTF8, 1007),
            (.messageTooBig(limit: 1 << 20), 1009),
            (.compressedContinuation, 1002),
            (.invalidCompressedData("bad block"), 1007),
        ]
        for (violation, code) in table {
            #expect(violation.closeCode.rawValue == code, "\(violation)")
            #expect(!violation.description.isEmpty)
        }
        #expect(ProtocolViolation.messageTooBig(limit: 1024).closeCode == .messageTooBig)
        #expect(ProtocolViolation.messageTooBig(limit: 1024).description.contains("1024"))
    }
}
