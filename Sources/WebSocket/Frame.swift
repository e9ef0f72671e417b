/// RFC 6455 section 5.2 frame vocabulary: opcodes, close codes, the frame header and a
/// frame that borrows or owns its payload.

// The named opcodes and close codes are inlinable computed constants rather than stored
// statics: a stored static is initialised lazily, and every use from another module paid
// for that check on the hot path.

/// A frame opcode: the low four bits of the first header byte. Every value 0...15 is
/// representable, reserved ones included, so that crafted and malformed frames can be
/// described and shown.
public struct OpCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8

    /// Fails for values that do not fit in four bits.
    public init?(rawValue: UInt8) {
        guard rawValue <= 0x0F else { return nil }
        self.rawValue = rawValue
    }

    /// Keeps the low four bits of `nibble`.
    @inlinable
    public init(nibble: UInt8) { self.rawValue = nibble & 0x0F }

    @inlinable public static var continuation: OpCode { OpCode(nibble: 0x0) }
    @inlinable public static var text: OpCode { OpCode(nibble: 0x1) }
    @inlinable public static var binary: OpCode { OpCode(nibble: 0x2) }
    @inlinable public static var close: OpCode { OpCode(nibble: 0x8) }
    @inlinable public static var ping: OpCode { OpCode(nibble: 0x9) }
    @inlinable public static var pong: OpCode { OpCode(nibble: 0xA) }

    /// Control frames have the high bit of the opcode set (0x8...0xF).
    @inlinable public var isControl: Bool { rawValue & 0x08 != 0 }
    /// 0x3...0x7 (data) and 0xB...0xF (control) are reserved for future use.
    @inlinable public var isReserved: Bool {
        (0x3...0x7).contains(rawValue) || (0xB...0xF).contains(rawValue)
    }
    @inlinable public var isData: Bool { !isControl }

    public var name: String {
        switch rawValue {
        case 0x0: return "cont"
        case 0x1: return "text"
        case 0x2: return "binary"
        case 0x8: return "close"
        case 0x9: return "ping"
        case 0xA: return "pong"
        default: return "op" + String(rawValue, radix: 16)
        }
    }

    public var description: String { name }
}

/// A close status code (RFC 6455 section 7.4). Any 16-bit value is representable; use
/// `isAllowedOnWire` to ask whether a peer may send it.
public struct CloseCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }
    @inlinable public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    @inlinable public static var normalClosure: CloseCode { CloseCode(1000) }
    @inlinable public static var goingAway: CloseCode { CloseCode(1001) }
    @inlinable public static var protocolError: CloseCode { CloseCode(1002) }
    @inlinable public static var unsupportedData: CloseCode { CloseCode(1003) }
    /// Reserved: a close frame without a body is reported as this code, never sent.
    @inlinable public static var noStatusReceived: CloseCode { CloseCode(1005) }
    /// Reserved: a connection that ended without a close frame, never sent.
    @inlinable public static var abnormalClosure: CloseCode { CloseCode(1006) }
    @inlinable public static var invalidPayloadData: CloseCode { CloseCode(1007) }
    @inlinable public static var policyViolation: CloseCode { CloseCode(1008) }
    @inlinable public static var messageTooBig: CloseCode { CloseCode(1009) }
    @inlinable public static var mandatoryExtension: CloseCode { CloseCode(1010) }
    @inlinable public static var internalServerError: CloseCode { CloseCode(1011) }
    @inlinable public static var serviceRestart: CloseCode { CloseCode(1012) }
    @inlinable public static var tryAgainLater: CloseCode { CloseCode(1013) }
    @inlinable public static var badGateway: CloseCode { CloseCode(1014) }
    /// Reserved: TLS handshake failure, never sent.
    @inlinable public static var tlsHandshake: CloseCode { CloseCode(1015) }

    /// Where a code sits in the RFC 6455 section 7.4.2 / IANA ranges.
    public enum Range: Sendable, Equatable {
        /// 0-999: not used.
        case unused
        /// 1000-2999 defined by the RFC or registered with IANA.
        case protocolDefined
        /// 1000-2999 not (yet) assigned.
        case protocolUnassigned
        /// 1005, 1006, 1015: may never appear in a close frame.
        case reservedNotOnWire
        /// 3000-3999: libraries, frameworks and applications (IANA registered).
        case registered
        /// 4000-4999: private use.
        case privateUse
        /// 5000 and above: outside every range.
        case outOfRange
    }

    public var range: Range {
        switch rawValue {
        case 0..<1000: return .unused
        case 1005, 1006, 1015: return .reservedNotOnWire
        case 1000...1003, 1007...1014: return .protocolDefined
        case 1000..<3000: return .protocolUnassigned
        case 3000..<4000: return .registered
        case 4000..<5000: return .privateUse
        default: return .outOfRange
        }
    }

    /// Whether a close frame may carry this code. A received close with any other code is a
    /// protocol error (1002).
    public var isAllowedOnWire: Bool {
        switch range {
        case .protocolDefined, .registered, .privateUse: return true
        default: return false
        }
    }

    /// A short human meaning, for inspectors.
    public var meaning: String {
        switch rawValue {
        case 1000: return "normal closure"
        case 1001: return "going away"
        case 1002: return "protocol error"
        case 1003: return "unsupported data"
        case 1005: return "no status received"
        case 1006: return "abnormal closure"
        case 1007: return "invalid payload data"
        case 1008: return "policy violation"
        case 1009: return "message too big"
        case 1010: return "mandatory extension"
        case 1011: return "internal server error"
        case 1012: return "service restart"
        case 1013: return "try again later"
        case 1014: return "bad gateway"
        case 1015: return "TLS handshake failure"
        default:
            switch range {
            case .unused: return "unused (invalid)"
            case .protocolUnassigned: return "unassigned (invalid)"
            case .registered: return "registered (library/framework)"
            case .privateUse: return "private use"
            default: return "out of range (invalid)"
            }
        }
    }

    public var description: String { "\(rawValue)" }
}

/// The decoded fields of a frame header (RFC 6455 section 5.2). Holds exactly what the
/// wire said, valid or not; `Header.violation(role:allowedRSV:)` judges it.
public struct Header: Hashable, Sendable {
    /// The first two header bytes as they go on the wire, minus the 7-bit length: the low
    /// byte is FIN, RSV1-3 and the opcode, bit 15 is MASK. Packed so that decoding and
    /// encoding move the flags in one go instead of bit by bit.
    @usableFromInline var leadingBits: UInt16
    /// The four mask key octets as they appear on the wire, packed in memory order (load
    /// the four wire bytes as a native `UInt32`). Meaningful only when `masked`.
    public var maskKey: UInt32
    /// Payload length as the length field says.
    public var length: UInt64

    @inlinable
    public init(
        fin: Bool = true, rsv1: Bool = false, rsv2: Bool = false, rsv3: Bool = false,
        opcode: OpCode, masked: Bool = false, maskKey: UInt32 = 0, length: UInt64 = 0
    ) {
        let first = Header.bit(fin) << 7 | Header.bit(rsv1) << 6 | Header.bit(rsv2) << 5 | Header.bit(rsv3) << 4 | opcode.rawValue
        self.leadingBits = UInt16(first) | UInt16(Header.bit(masked)) << 15
        self.maskKey = maskKey
        self.length = length
    }

    /// A header from its first two wire bytes (the 7-bit length in `b1` is ignored).
    @inlinable
    init(b0: UInt8, b1: UInt8, maskKey: UInt32, length: UInt64) {
        self.leadingBits = UInt16(b0) | UInt16(b1 & 0x80) << 8
        self.maskKey = maskKey
        self.length = length
    }

    /// 1 for true, 0 for false, without a branch (`cond ? 0x80 : 0` chains compile to
    /// branch trees).
    @inlinable @inline(__always)
    static func bit(_ value: Bool) -> UInt8 {
        unsafeBitCast(value, to: UInt8.self)
    }

    @inlinable @inline(__always)
    func flag(_ mask: UInt16) -> Bool { leadingBits & mask != 0 }

    @inlinable @inline(__always)
    mutating func setFlag(_ mask: UInt16, _ value: Bool) {
        leadingBits = value ? leadingBits | mask : leadingBits & ~mask
    }

    public var fin: Bool {
        @inlinable get { flag(0x80) }
        @inlinable set { setFlag(0x80, newValue) }
    }
    public var rsv1: Bool {
        @inlinable get { flag(0x40) }
        @inlinable set { setFlag(0x40, newValue) }
    }
    public var rsv2: Bool {
        @inlinable get { flag(0x20) }
        @inlinable set { setFlag(0x20, newValue) }
    }
    public var rsv3: Bool {
        @inlinable get { flag(0x10) }
        @inlinable set { setFlag(0x10, newValue) }
    }
    public var opcode: OpCode {
        @inlinable get { OpCode(nibble: UInt8(truncatingIfNeeded: leadingBits)) }
        @inlinable set { leadingBits = leadingBits & ~0x0F | UInt16(newValue.rawValue) }
    }
    public var masked: Bool {
        @inlinable get { flag(0x8000) }
        @inlinable set { setFlag(0x8000, newValue) }
    }

    /// RSV1-3 as the three bits 0b100 (RSV1), 0b010 (RSV2), 0b001 (RSV3).
    @inlinable public var rsv: UInt8 {
        UInt8(truncatingIfNeeded: leadingBits >> 4) & 0x07
    }

    /// The mask key as its four wire octets.
    public var maskKeyBytes: [UInt8] {
        withUnsafeBytes(of: maskKey) { Array($0) }
    }

    /// Packs four wire octets into the `maskKey` representation.
    @inlinable
    public static func maskKey(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8) -> UInt32 {
        var key: UInt32 = 0
        withUnsafeMutableBytes(of: &key) {
            $0[0] = b0; $0[1] = b1; $0[2] = b2; $0[3] = b3
        }
        return key
    }

    /// Bytes this header takes on the wire with minimal length encoding.
    @inlinable public var encodedSize: Int {
        (length < 126 ? 2 : length <= 0xFFFF ? 4 : 10) + (masked ? 4 : 0)
    }
}

/// Which end of the connection we are: clients mask, servers do not.
public enum Role: Sendable, Hashable {
    case client
    case server

    /// Frames this role sends must (client) or must not (server) be masked.
    @inlinable public var masksOutgoing: Bool { self == .client }
    public var peer: Role { self == .client ? .server : .client }
}

/// A frame with an owned payload (unmasked). The low-level API works on borrowed
/// buffers; this type is for builders, tests and tools that want a value.
public struct Frame: Hashable, Sendable {
    public var header: Header
    /// Unmasked payload bytes.
    public var payload: [UInt8]

    public init(header: Header, payload: [UInt8]) {
        self.header = header
        self.payload = payload
    }
}
