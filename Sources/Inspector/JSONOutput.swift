#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A growable byte buffer for writing JSON lines without per-field allocations: the
/// recording writer and `dump --json` format every line into one of these and hand its
/// bytes to a single write(2).
final class RecordingBuffer {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var capacity: Int
    var count = 0

    init(capacity: Int = 64 * 1024) {
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
    var array: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }
    var string: String { String(decoding: UnsafeBufferPointer(start: base, count: count), as: UTF8.self) }

    func removeAll() { count = 0 }

    /// Makes room for `extra` more bytes.
    @inline(__always)
    func reserve(_ extra: Int) {
        if count &+ extra > capacity { grow(count + extra) }
    }

    private func grow(_ needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    /// Gives up a large allocation once it is no longer needed.
    func shrink(to limit: Int) {
        guard capacity > limit, count <= limit else { return }
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: limit)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = limit
    }

    @inline(__always)
    func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count &+= 1
    }

    @inline(__always)
    func append(_ literal: StaticString) {
        let n = literal.utf8CodeUnitCount
        reserve(n)
        (base + count).update(from: literal.utf8Start, count: n)
        count &+= n
    }

    @inline(__always)
    func append(_ bytes: UnsafeRawBufferPointer) {
        let n = bytes.count
        guard n > 0 else { return }
        reserve(n)
        UnsafeMutableRawPointer(base + count).copyMemory(from: bytes.baseAddress!, byteCount: n)
        count &+= n
    }

    func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// Decimal digits of an unsigned integer.
    @inline(__always)
    func appendDecimal(_ value: UInt64) {
        reserve(20)
        if value < 10 {
            base[count] = UInt8(truncatingIfNeeded: value) &+ 48
            count &+= 1
            return
        }
        var digits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var n = 0
        var v = value
        withUnsafeMutableBytes(of: &digits) { scratch in
            while v > 0 {
                scratch[31 - n] = UInt8(truncatingIfNeeded: v % 10) &+ 48
                v /= 10
                n += 1
            }
            (base + count).update(from: scratch.baseAddress!.assumingMemoryBound(to: UInt8.self) + 32 - n, count: n)
        }
        count &+= n
    }

    func appendDecimal(_ value: Int64) {
        if value < 0 {
            append(UInt8(ascii: "-"))
            appendDecimal(UInt64(bitPattern: 0 &- value))
        } else {
            appendDecimal(UInt64(value))
        }
    }

    func appendDecimal(_ value: Int) { appendDecimal(Int64(value)) }

    @inline(__always)
    func appendBool(_ value: Bool) {
        if value { append("true") } else { append("false") }
    }

    /// `"…"` with the JSON escapes: quote, backslash and every control character.
    func appendJSONString(_ bytes: UnsafeRawBufferPointer) {
        reserve(bytes.count + 2)
        base[count] = UInt8(ascii: "\"")
        count &+= 1
        var runStart = 0
        var index = 0
        let n = bytes.count
        while index < n {
            let byte = bytes[index]
            if byte >= 0x20 && byte != 0x22 && byte != 0x5C {
                index &+= 1
                continue
            }
            if index > runStart { append(UnsafeRawBufferPointer(rebasing: bytes[runStart..<index])) }
            switch byte {
            case 0x22: append("\\\"")
            case 0x5C: append("\\\\")
            case 0x0A: append("\\n")
            case 0x0D: append("\\r")
            case 0x09: append("\\t")
            case 0x08: append("\\b")
            case 0x0C: append("\\f")
            default:
                append("\\u00")
                append(HexCodec.digits[Int(byte >> 4)])
                append(HexCodec.digits[Int(byte & 15)])
            }
            index &+= 1
            runStart = index
        }
        if n > runStart { append(UnsafeRawBufferPointer(rebasing: bytes[runStart..<n])) }
        append(UInt8(ascii: "\""))
    }

    func appendJSONString(_ string: String) {
        var string = string
        string.withUTF8 { appendJSONString(UnsafeRawBufferPointer($0)) }
    }

    /// A JSON string or `null`.
    func appendJSONString(_ string: String?) {
        if let string { appendJSONString(string) } else { append("null") }
    }

    /// `"…"` holding the base64 of `bytes`.
    @inline(__always)
    func appendBase64String(_ bytes: UnsafeRawBufferPointer) {
        let n = Base64Codec.encodedCount(bytes.count)
        reserve(n + 2)
        base[count] = UInt8(ascii: "\"")
        count &+= 1
        count &+= Base64Codec.encode(bytes, into: base + count)
        base[count] = UInt8(ascii: "\"")
        count &+= 1
    }

    func appendBase64String(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { appendBase64String($0) }
    }

    /// Lowercase hex digits of `bytes`, unquoted.
    func appendHex(_ bytes: UnsafeRawBufferPointer) {
        reserve(bytes.count * 2)
        for byte in bytes {
            base[count] = HexCodec.digits[Int(byte >> 4)]
            base[count &+ 1] = HexCodec.digits[Int(byte & 15)]
            count &+= 2
        }
    }

    /// Writes everything to `fd` (looping over short writes and EINTR) and empties the
    /// buffer. Returns errno on failure, leaving what was not written in the buffer.
    func write(to fd: Int32) -> Int32? {
        var offset = 0
        while offset < count {
            let written = Glibc.write(fd, base + offset, count - offset)
            if written < 0 {
                let code = errno
                if code == EINTR { continue }
                if offset > 0 {
                    (base).update(from: base + offset, count: count - offset)
                    count -= offset
                }
                return code
            }
            offset += written
        }
        count = 0
        return nil
    }
}

/// The text of an errno value.
func inspectorErrnoText(_ code: Int32) -> String {
    String(cString: strerror(code))
}
