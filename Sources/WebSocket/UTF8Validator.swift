/// Incremental UTF-8 validation (RFC 3629), for text messages that arrive in fragments and
/// frames that arrive in pieces: it keeps the state of a character cut at a boundary and
/// reports the first invalid byte as soon as it is seen ("fail fast", RFC 6455 8.1).

public struct UTF8Validator: Sendable, Hashable {
    /// Continuation bytes still expected for the current character.
    @usableFromInline var pending: UInt8 = 0
    /// Allowed range of the next continuation byte. Only the first continuation byte after
    /// E0, ED, F0 or F4 is narrower than 0x80...0xBF; it rules out overlong forms, UTF-16
    /// surrogates and code points above U+10FFFF.
    @usableFromInline var lower: UInt8 = 0x80
    @usableFromInline var upper: UInt8 = 0xBF

    @inlinable public init() {}

    /// True when no character is cut open: the text so far ends on a character boundary.
    @inlinable public var isComplete: Bool { pending == 0 }

    @inlinable public mutating func reset() { self = UTF8Validator() }

    /// Feeds the next bytes. Returns false at the first byte that cannot be part of valid
    /// UTF-8 (the state is then meaningless until `reset`).
    @inlinable
    public mutating func validate(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var index = 0
        while index < count {
            if pending == 0 {
                // ASCII runs go eight bytes at a time.
                while index &+ 8 <= count {
                    let word = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                    if word & 0x8080_8080_8080_8080 != 0 { break }
                    index &+= 8
                }
                guard index < count else { return true }
                let byte = base.load(fromByteOffset: index, as: UInt8.self)
                index &+= 1
                switch byte {
                case 0x00...0x7F: continue
                case 0xC2...0xDF: pending = 1; lower = 0x80; upper = 0xBF
                case 0xE0: pending = 2; lower = 0xA0; upper = 0xBF
                case 0xE1...0xEC, 0xEE...0xEF: pending = 2; lower = 0x80; upper = 0xBF
                case 0xED: pending = 2; lower = 0x80; upper = 0x9F
                case 0xF0: pending = 3; lower = 0x90; upper = 0xBF
                case 0xF1...0xF3: pending = 3; lower = 0x80; upper = 0xBF
                case 0xF4: pending = 3; lower = 0x80; upper = 0x8F
                default: return false
                }
            } else {
                let byte = base.load(fromByteOffset: index, as: UInt8.self)
                index &+= 1
                guard byte >= lower && byte <= upper else { return false }
                pending &-= 1
                lower = 0x80
                upper = 0xBF
            }
        }
        return true
    }

    /// Whole-buffer check: valid and complete.
    public static func isValid(_ bytes: [UInt8]) -> Bool {
        var validator = UTF8Validator()
        return bytes.withUnsafeBytes { validator.validate($0) } && validator.isComplete
    }
}
