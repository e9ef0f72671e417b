/// Writes an HTTP head into a caller-owned buffer without allocating. It keeps counting
/// after the buffer is full, so a caller whose buffer was too small learns how big it
/// must be.
struct HandshakeWriter {
    private let buffer: UnsafeMutableRawBufferPointer
    /// Bytes written so far, or that would have been written had the buffer been big enough.
    private(set) var count = 0

    init(_ buffer: UnsafeMutableRawBufferPointer) { self.buffer = buffer }

    var overflowed: Bool { count > buffer.count }

    mutating func write(_ bytes: UnsafeRawBufferPointer) {
        let end = count &+ bytes.count
        if end <= buffer.count, let destination = buffer.baseAddress, let source = bytes.baseAddress {
            (destination + count).copyMemory(from: source, byteCount: bytes.count)
        }
        count = end
    }

    mutating func write(_ literal: StaticString) {
        write(UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    mutating func write(byte: UInt8) {
        if count < buffer.count { buffer[count] = byte }
        count &+= 1
    }

    /// Writes the UTF-8 of `text` as it is (for bodies).
    mutating func write(_ text: String) {
        let written: Void? = text.utf8.withContiguousStorageIfAvailable { write(UnsafeRawBufferPointer($0)) }
        if written == nil {
            for byte in text.utf8 { write(byte: byte) }
        }
    }

    /// Writes `text` for use inside a head line: control bytes (CR and LF above all)
    /// become spaces, so that an application string can never end the line early or
    /// inject a header.
    mutating func writeHeaderText(_ text: String) {
        let written: Void? = text.utf8.withContiguousStorageIfAvailable { writeHeaderText(UnsafeRawBufferPointer($0)) }
        if written == nil {
            for byte in text.utf8 { write(byte: ASCII.isFieldValueCharacter(byte) ? byte : ASCII.space) }
        }
    }

    /// Same as `writeHeaderText`, for bytes from a request.
    mutating func writeHeaderText(_ bytes: UnsafeRawBufferPointer) {
        guard ASCII.isFieldValue(bytes) else {
            for byte in bytes { write(byte: ASCII.isFieldValueCharacter(byte) ? byte : ASCII.space) }
            return
        }
        write(bytes)
    }

    mutating func writeDecimal(_ value: Int) {
        if value < 0 { write(byte: UInt8(ascii: "-")) }
        let magnitude = value.magnitude
        var divisor: UInt = 1
        while divisor <= magnitude / 10 { divisor &*= 10 }
        var rest = magnitude
        while divisor > 0 {
            write(byte: UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }

    /// `Name: value\r\n`, both sanitised.
    mutating func writeHeader(_ name: String, _ value: String) {
        writeHeaderText(name)
        write(": ")
        writeHeaderText(value)
        write("\r\n")
    }

    /// Gives direct access to the next `byteCount` bytes of the buffer, when they fit, for
    /// a value computed in place (the accept key); otherwise just counts them.
    mutating func writeInPlace(byteCount: Int, _ body: (UnsafeMutableRawBufferPointer) -> Void) {
        let end = count &+ byteCount
        if end <= buffer.count {
            body(UnsafeMutableRawBufferPointer(rebasing: buffer[count..<end]))
        }
        count = end
    }
}
