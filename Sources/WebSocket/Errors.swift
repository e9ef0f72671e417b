/// Protocol violations, each with the close code RFC 6455 prescribes for it, and the
/// header checks that detect them.

public enum ProtocolViolation: Error, Hashable, Sendable, CustomStringConvertible {
    /// RSV bits set that no negotiated extension defines (section 5.2). Carries the bits
    /// as 0b100 = RSV1, 0b010 = RSV2, 0b001 = RSV3.
    case reservedBitsSet(UInt8)
    /// Opcode 0x3-0x7 or 0xB-0xF (section 5.2).
    case reservedOpcode(OpCode)
    /// A control frame with FIN clear (section 5.5).
    case fragmentedControlFrame(OpCode)
    /// A control frame with more than 125 payload bytes (section 5.5).
    case controlFrameTooLong(OpCode, length: UInt64)
    /// A client frame without a mask (section 5.1).
    case unmaskedClientFrame
    /// A server frame with a mask (section 5.1).
    case maskedServerFrame
    /// A length that a shorter encoding could have carried (section 5.2: "the minimal
    /// number of bytes MUST be used").
    case nonMinimalLength(UInt64)
    /// A 64-bit length with its most significant bit set (section 5.2).
    case lengthMostSignificantBitSet
    /// A continuation frame with no message in progress (section 5.4).
    case unexpectedContinuation
    /// A new text or binary frame while a fragmented message is in progress (section 5.4).
    case expectedContinuation(OpCode)
    /// A close body of exactly one byte (section 5.5.1).
    case closePayloadTooShort
    /// A close code that may not appear on the wire (section 7.4).
    case invalidCloseCode(UInt16)
    /// A text message or close reason that is not UTF-8 (section 8.1).
    case invalidUTF8
    /// A message over the configured limit (section 7.4.1, 1009).
    case messageTooBig(limit: Int)
    /// A data frame whose RSV1 claims compression in a place the extension forbids it:
    /// on a continuation frame (RFC 7692 section 6.1).
    case compressedContinuation
    /// A compressed message that the extension could not decompress (RFC 7692 8.2.3).
    case invalidCompressedData(String)

    /// The close code to send when failing the connection for this violation.
    public var closeCode: CloseCode {
        switch self {
        case .invalidUTF8, .invalidCompressedData: return .invalidPayloadData
        case .messageTooBig: return .messageTooBig
        default: return .protocolError
        }
    }

    public var description: String {
        switch self {
        case .reservedBitsSet(let bits):
            let names = [(4, "RSV1"), (2, "RSV2"), (1, "RSV3")].filter { bits & UInt8($0.0) != 0 }.map(\.1)
            return "reserved bit \(names.joined(separator: "+")) set without a negotiated extension"
        case .reservedOpcode(let op): return "reserved opcode 0x\(String(op.rawValue, radix: 16))"
        case .fragmentedControlFrame(let op): return "fragmented control frame (\(op.name) with FIN clear)"
        case .controlFrameTooLong(let op, let length): return "\(op.name) frame payload of \(length) bytes exceeds 125"
        case .unmaskedClientFrame: return "client frame is not masked"
        case .maskedServerFrame: return "server frame is masked"
        case .nonMinimalLength(let length): return "length \(length) not minimally encoded"
        case .lengthMostSignificantBitSet: return "64-bit payload length has its most significant bit set"
        case .unexpectedContinuation: return "continuation frame without a message in progress"
        case .expectedContinuation(let op): return "\(op.name) frame while a fragmented message is in progress"
        case .closePayloadTooShort: return "close frame payload of 1 byte"
        case .invalidCloseCode(let code): return "close code \(code) is not allowed on the wire"
        case .invalidUTF8: return "invalid UTF-8 in text"
        case .messageTooBig(let limit): return "message exceeds \(limit) bytes"
        case .compressedContinuation: return "RSV1 set on a continuation frame"
        case .invalidCompressedData(let reason): return "invalid compressed data: \(reason)"
        }
    }
}

extension Header {
    /// Checks a received header for violations that the header alone reveals, in the order
    /// a peer would notice them. `headerSize` is the size `decode` reported (to detect
    /// non-minimal lengths); `allowedRSV` are the bits negotiated extensions may use
    /// (0b100 for permessage-deflate; whether RSV1 fits the frame's place in its message is
    /// the message layer's judgement).
    @inlinable
    public func violation(receivedBy role: Role, headerSize: Int, allowedRSV: UInt8 = 0) -> ProtocolViolation? {
        let rsvBits = rsv
        if rsvBits & ~allowedRSV != 0 { return .reservedBitsSet(rsvBits & ~allowedRSV) }
        if opcode.isReserved { return .reservedOpcode(opcode) }
        if opcode.isControl {
            if !fin { return .fragmentedControlFrame(opcode) }
            if length > 125 { return .controlFrameTooLong(opcode, length: length) }
        }
        if masked != (role == .server) {
            return role == .server ? .unmaskedClientFrame : .maskedServerFrame
        }
        if length & (1 << 63) != 0 { return .lengthMostSignificantBitSet }
        if headerSize != encodedSize { return .nonMinimalLength(length) }
        return nil
    }
}
