#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
#if canImport(WebSocket)
import WebSocket
#endif

/// The fast path of the recording reader: a frame line exactly as `RecordingEncoder`
/// writes it (keys in order, no whitespace, no escapes, padded base64, lowercase mask) is
/// recognized by matching its literal pieces and parsing the values between them, with no
/// allocation. Anything else — other key orders, whitespace, escapes, extra keys, error
/// frames, any doubt — returns nil and goes through the general scanner, which also
/// produces the error messages. A line the fast path accepts is already in normalized
/// form, so `dump --json` copies it as it is (frames with "wire" do) or rebuilds only the
/// "wire" field (frames with "wire_header").
struct CanonicalFrameLine {
    var conn: Int
    var direction: Direction
    var tNs: UInt64
    var header: Header
    /// Offsets of the base64 text (between the quotes) in the line.
    var payload: Range<Int>
    var wire: Range<Int>
    /// `wire` holds "wire_header" (header bytes only) rather than "wire".
    var wireIsHeaderOnly: Bool
    /// Where the wire field's key starts (for rewriting it).
    var wireKeyStart: Int

    /// Parses `line` if it is a canonical frame line.
    static func parse(_ line: UnsafeRawBufferPointer) -> CanonicalFrameLine? {
        guard let base = line.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        var cursor = Cursor(base: base, end: line.count)
        guard cursor.literal("{\"type\":\"frame\",\"conn\":"),
              let conn = cursor.unsigned(), conn <= UInt64(Int.max)
        else { return nil }
        let direction: Direction
        if cursor.literal(",\"dir\":\"in\",\"t_ns\":") {
            direction = .incoming
        } else if cursor.literal(",\"dir\":\"out\",\"t_ns\":") {
            direction = .outgoing
        } else {
            return nil
        }
        guard let tNs = cursor.unsigned(),
              cursor.literal(",\"fin\":"), let fin = cursor.bool(),
              cursor.literal(",\"rsv1\":"), let rsv1 = cursor.bool(),
              cursor.literal(",\"rsv2\":"), let rsv2 = cursor.bool(),
              cursor.literal(",\"rsv3\":"), let rsv3 = cursor.bool(),
              cursor.literal(",\"opcode\":"), let opcode = cursor.unsigned(), opcode <= 15,
              cursor.literal(",\"masked\":"), let masked = cursor.bool(),
              cursor.literal(",\"mask\":")
        else { return nil }
        var key: UInt32 = 0
        if masked {
            guard let parsed = cursor.maskKey() else { return nil }
            key = parsed
        } else {
            guard cursor.literal("null") else { return nil }
        }
        guard cursor.literal(",\"length\":"), let length = cursor.unsigned(),
              cursor.literal(",\"payload\":\""), let payload = cursor.base64()
        else { return nil }
        let wireKeyStart = cursor.pos
        let headerOnly: Bool
        if cursor.literal(",\"wire\":\"") {
            headerOnly = false
        } else if cursor.literal(",\"wire_header\":\"") {
            headerOnly = true
        } else {
            return nil
        }
        guard let wire = cursor.base64(), cursor.literal("}"), cursor.pos == cursor.end else { return nil }
        let header = Header(
            fin: fin, rsv1: rsv1, rsv2: rsv2, rsv3: rsv3, opcode: OpCode(nibble: UInt8(opcode)),
            masked: masked, maskKey: key, length: length)
        return CanonicalFrameLine(
            conn: Int(conn), direction: direction, tNs: tNs, header: header,
            payload: payload, wire: wire, wireIsHeaderOnly: headerOnly, wireKeyStart: wireKeyStart)
    }

    /// The event, decoding the base64 fields; nil when "wire_header" is not a header.
    func event(_ line: UnsafeRawBufferPointer) -> SessionEvent? {
        guard let payloadBytes = try? Base64Codec.decode(UnsafeRawBufferPointer(rebasing: line[payload])).get(),
              let wireBytes = self.wireBytes(line, payload: payloadBytes)
        else { return nil }
        return .frame(connection: conn, direction: direction, header: header, payload: payloadBytes, wire: wireBytes)
    }

    func wireBytes(_ line: UnsafeRawBufferPointer, payload: [UInt8]) -> [UInt8]? {
        guard var bytes = try? Base64Codec.decode(UnsafeRawBufferPointer(rebasing: line[wire])).get() else { return nil }
        guard wireIsHeaderOnly else { return bytes }
        guard case .header(let decoded, let size) = Header.decode(bytes), size == bytes.count else { return nil }
        bytes.append(contentsOf: payload)
        if decoded.masked {
            bytes.withUnsafeMutableBytes { Cipher.mask(UnsafeMutableRawBufferPointer(rebasing: $0[size...]), key: decoded.maskKey) }
        }
        return bytes
    }

    /// Appends the normalized line (no newline). False when "wire_header" cannot be
    /// expanded (the caller then takes the general path, which reports why).
    func appendNormalized(_ line: UnsafeRawBufferPointer, to out: RecordingBuffer) -> Bool {
        guard wireIsHeaderOnly else {
            out.append(line)
            return true
        }
        guard let payloadBytes = try? Base64Codec.decode(UnsafeRawBufferPointer(rebasing: line[payload])).get(),
              let wireBytes = self.wireBytes(line, payload: payloadBytes)
        else { return false }
        out.append(UnsafeRawBufferPointer(rebasing: line[0..<wireKeyStart]))
        out.append(",\"wire\":")
        out.appendBase64String(wireBytes)
        out.append("}")
        return true
    }

    struct Cursor {
        let base: UnsafePointer<UInt8>
        let end: Int
        var pos = 0

        init(base: UnsafePointer<UInt8>, end: Int) {
            self.base = base
            self.end = end
        }

        @inline(__always)
        mutating func literal(_ text: StaticString) -> Bool {
            let n = text.utf8CodeUnitCount
            guard end - pos >= n, memcmp(base + pos, text.utf8Start, n) == 0 else { return false }
            pos += n
            return true
        }

        /// Digits without a leading zero (unless the number is 0), fitting UInt64.
        @inline(__always)
        mutating func unsigned() -> UInt64? {
            let start = pos
            var value: UInt64 = 0
            while pos < end {
                let digit = base[pos] &- 0x30
                if digit > 9 { break }
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (s, o2) = m.addingReportingOverflow(UInt64(digit))
                if o1 || o2 { return nil }
                value = s
                pos += 1
            }
            let count = pos - start
            guard count > 0, count == 1 || base[start] != 0x30 else { return nil }
            return value
        }

        @inline(__always)
        mutating func bool() -> Bool? {
            if literal("true") { return true }
            if literal("false") { return false }
            return nil
        }

        /// `"37fa213d"`: eight lowercase hex digits in quotes.
        @inline(__always)
        mutating func maskKey() -> UInt32? {
            guard end - pos >= 10, base[pos] == 0x22, base[pos + 9] == 0x22 else { return nil }
            var key: UInt32 = 0
            let ok = withUnsafeMutableBytes(of: &key) { keyBytes -> Bool in
                for i in 0..<4 {
                    guard let hi = Cursor.lowerHex(base[pos + 1 + 2 * i]), let lo = Cursor.lowerHex(base[pos + 2 + 2 * i]) else {
                        return false
                    }
                    keyBytes[i] = hi << 4 | lo
                }
                return true
            }
            guard ok else { return nil }
            pos += 10
            return key
        }

        @inline(__always)
        static func lowerHex(_ c: UInt8) -> UInt8? {
            if c &- 0x30 < 10 { return c &- 0x30 }
            if c &- 0x61 < 6 { return c &- 0x61 &+ 10 }
            return nil
        }

        /// Padded standard base64 up to the closing quote (consumed). Returns the text's
        /// range without the quotes.
        @inline(__always)
        mutating func base64() -> Range<Int>? {
            let start = pos
            var bad: UInt8 = 0
            Base64Codec.values.withUnsafeBufferPointer { table in
                let t = table.baseAddress!
                // Four characters a step while all are in the alphabet.
                while end - pos >= 4 {
                    let v = t[Int(base[pos])] | t[Int(base[pos + 1])] | t[Int(base[pos + 2])] | t[Int(base[pos + 3])]
                    if v & 0xC0 != 0 { break }
                    pos += 4
                }
                while pos < end {
                    let value = t[Int(base[pos])]
                    if value == 0xFF { break }
                    bad |= value
                    pos += 1
                }
            }
            var pads = 0
            while pads < 2 && pos < end && base[pos] == UInt8(ascii: "=") {
                pads += 1
                pos += 1
            }
            guard bad & 0xC0 == 0, pos < end, base[pos] == 0x22, (pos - start) % 4 == 0 else { return nil }
            let range = start..<pos
            pos += 1
            return range
        }
    }
}
