/// Close frame bodies (RFC 6455 section 5.5.1): an optional two-byte code followed by an
/// optional UTF-8 reason.

public enum CloseBody {
    /// The most reason bytes a close frame can carry (125 - 2 code bytes).
    public static let maximumReasonBytes = 123

    /// Encodes a body. A nil code yields an empty body (and drops the reason, which the RFC
    /// allows only after a code). The reason is cut at a character boundary to fit 123 bytes.
    public static func encode(code: CloseCode?, reason: String = "") -> [UInt8] {
        guard let code else { return [] }
        var body: [UInt8] = [UInt8(code.rawValue >> 8), UInt8(code.rawValue & 0xFF)]
        // Whole characters (grapheme clusters), so that a cut never leaves half of an
        // accented letter, a flag or an emoji sequence behind.
        var reasonBytes = 0
        for character in reason {
            let width = character.utf8.count
            if reasonBytes + width > maximumReasonBytes { break }
            body.append(contentsOf: character.utf8)
            reasonBytes += width
        }
        return body
    }

    /// A decoded close body: the code (nil when the body is empty, which readers report as
    /// 1005) and the reason bytes (a slice of the input).
    public struct Decoded {
        public var code: CloseCode?
        public var reason: UnsafeRawBufferPointer

        public var reasonText: String { String(decoding: reason, as: UTF8.self) }
    }

    /// Decodes and validates a received close body: a 1-byte body, a code that may not be
    /// sent, or a reason that is not UTF-8 are violations.
    public static func decode(_ payload: UnsafeRawBufferPointer) -> Result<Decoded, ProtocolViolation> {
        if payload.isEmpty { return .success(Decoded(code: nil, reason: UnsafeRawBufferPointer(start: nil, count: 0))) }
        if payload.count == 1 { return .failure(.closePayloadTooShort) }
        let code = CloseCode(UInt16(payload[0]) << 8 | UInt16(payload[1]))
        guard code.isAllowedOnWire else { return .failure(.invalidCloseCode(code.rawValue)) }
        let reason = UnsafeRawBufferPointer(rebasing: payload[2...])
        var validator = UTF8Validator()
        guard validator.validate(reason), validator.isComplete else { return .failure(.invalidUTF8) }
        return .success(Decoded(code: code, reason: reason))
    }

    /// Array convenience: the code and reason text, or the violation.
    public static func decode(_ payload: [UInt8]) -> Result<(code: CloseCode?, reason: String), ProtocolViolation> {
        payload.withUnsafeBytes { bytes in
            decode(bytes).map { (code: $0.code, reason: $0.reasonText) }
        }
    }
}
