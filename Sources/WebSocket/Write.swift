/// Header encoding into caller-owned bytes, and frame builders.

/// How the payload length is written. RFC 6455 requires `.minimal`; the others exist to
/// craft non-minimal encodings that a strict peer must reject.
public enum LengthEncoding: Sendable, Hashable {
    case minimal
    /// 126 followed by a 16-bit length, even for lengths below 126.
    case extended16
    /// 127 followed by a 64-bit length, even for lengths below 65536.
    case extended64
}

extension Header {
    /// Size of this header on the wire for a given length encoding.
    @inlinable
    public func encodedSize(lengthEncoding: LengthEncoding) -> Int {
        let lengthBytes: Int
        switch lengthEncoding {
        case .minimal: return encodedSize
        case .extended16: lengthBytes = 2
        case .extended64: lengthBytes = 8
        }
        return 2 + lengthBytes + (masked ? 4 : 0)
    }

    /// Writes the header with a minimal length encoding into the start of `buffer` and
    /// returns the number of bytes written, or 0 when the buffer is too small (a header is
    /// never empty). `buffer` needs at most `Header.maximumSize` bytes.
    ///
    /// Branch-light on purpose (see Benchmarks/): the flag bits are packed without
    /// conditionals, the first two bytes go out in one store, and the size check is made
    /// once per length form.
    @inlinable
    public func encode(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        // First two bytes as one little-endian 16-bit word: byte 0 in the low bits.
        let leading = leadingBits
        let keySize = Int(truncatingIfNeeded: leadingBits >> 13) & 4
        let size: Int
        if length < 126 {
            size = 2 &+ keySize
            guard buffer.count >= size else { return 0 }
            base.storeBytes(of: (leading | UInt16(truncatingIfNeeded: length) << 8).littleEndian, as: UInt16.self)
        } else if length <= 0xFFFF {
            size = 4 &+ keySize
            guard buffer.count >= size else { return 0 }
            base.storeBytes(of: (leading | 126 << 8).littleEndian, as: UInt16.self)
            base.storeBytes(of: UInt16(truncatingIfNeeded: length).bigEndian, toByteOffset: 2, as: UInt16.self)
        } else {
            size = 10 &+ keySize
            guard buffer.count >= size else { return 0 }
            base.storeBytes(of: (leading | 127 << 8).littleEndian, as: UInt16.self)
            base.storeBytes(of: length.bigEndian, toByteOffset: 2, as: UInt64.self)
        }
        if masked {
            base.storeBytes(of: maskKey, toByteOffset: size &- 4, as: UInt32.self)
        }
        return size
    }

    /// FIN, RSV1-3 and the opcode as the first header byte.
    @inlinable
    var firstByte: UInt8 { UInt8(truncatingIfNeeded: leadingBits) }

    /// Writes the header with the given length encoding (non-minimal ones are protocol
    /// violations, for crafting). Returns the bytes written, or 0 when the buffer is too
    /// small or the length does not fit the chosen encoding.
    public func encode(into buffer: UnsafeMutableRawBufferPointer, lengthEncoding: LengthEncoding) -> Int {
        if lengthEncoding == .minimal { return encode(into: buffer) }
        let size = encodedSize(lengthEncoding: lengthEncoding)
        guard buffer.count >= size, let base = buffer.baseAddress else { return 0 }
        if lengthEncoding == .extended16 && length > 0xFFFF { return 0 }
        base.storeBytes(of: firstByte, as: UInt8.self)
        var offset = 2
        if lengthEncoding == .extended16 {
            base.storeBytes(of: (masked ? 0x80 : 0) | 126, toByteOffset: 1, as: UInt8.self)
            base.storeBytes(of: UInt16(truncatingIfNeeded: length).bigEndian, toByteOffset: 2, as: UInt16.self)
            offset = 4
        } else {
            base.storeBytes(of: (masked ? 0x80 : 0) | 127, toByteOffset: 1, as: UInt8.self)
            base.storeBytes(of: length.bigEndian, toByteOffset: 2, as: UInt64.self)
            offset = 10
        }
        if masked {
            base.storeBytes(of: maskKey, toByteOffset: offset, as: UInt32.self)
            offset += 4
        }
        return offset
    }

    /// The encoded header as an array (convenience for tests and tools).
    public func encoded(lengthEncoding: LengthEncoding = .minimal) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Header.maximumSize)
        let size = bytes.withUnsafeMutableBytes { encode(into: $0, lengthEncoding: lengthEncoding) }
        bytes.removeSubrange(size...)
        return bytes
    }
}

extension Frame {
    /// A final text frame. `masked` with a random key when `role` is `.client`.
    public static func text(_ text: String, role: Role = .server) -> Frame {
        data(.text, Array(text.utf8), role: role)
    }

    public static func binary(_ bytes: [UInt8], role: Role = .server) -> Frame {
        data(.binary, bytes, role: role)
    }

    public static func ping(_ payload: [UInt8] = [], role: Role = .server) -> Frame {
        data(.ping, payload, role: role)
    }

    public static func pong(_ payload: [UInt8] = [], role: Role = .server) -> Frame {
        data(.pong, payload, role: role)
    }

    /// A close frame; a nil code gives an empty body.
    public static func close(_ code: CloseCode? = .normalClosure, reason: String = "", role: Role = .server) -> Frame {
        data(.close, CloseBody.encode(code: code, reason: reason), role: role)
    }

    /// A single final frame with the given opcode and payload, masked as `role` requires.
    public static func data(_ opcode: OpCode, _ payload: [UInt8], fin: Bool = true, role: Role = .server) -> Frame {
        Frame(
            header: Header(
                fin: fin, opcode: opcode, masked: role.masksOutgoing,
                maskKey: role.masksOutgoing ? Cipher.randomKey() : 0, length: UInt64(payload.count)
            ),
            payload: payload
        )
    }

    /// The frame's exact wire bytes: header followed by the payload, masked if the header
    /// says so. `header.length` is written as is, even when it differs from the payload.
    public func wireBytes(lengthEncoding: LengthEncoding = .minimal) -> [UInt8] {
        var bytes = header.encoded(lengthEncoding: lengthEncoding)
        let start = bytes.count
        bytes.append(contentsOf: payload)
        if header.masked {
            bytes.withUnsafeMutableBytes {
                Cipher.mask(UnsafeMutableRawBufferPointer(rebasing: $0[start...]), key: header.maskKey)
            }
        }
        return bytes
    }

    /// Appends a frame built from `header` and `payload` to `output` without intermediate
    /// buffers: the header's `length` is set from the payload and the payload is masked in
    /// the output when `header.masked`. Reuses `output`'s capacity.
    public static func write(
        header: Header, payload: UnsafeRawBufferPointer, into output: inout [UInt8]
    ) {
        var header = header
        header.length = UInt64(payload.count)
        let headerSize = header.encodedSize
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: headerSize))
        output.withUnsafeMutableBytes {
            _ = header.encode(into: UnsafeMutableRawBufferPointer(rebasing: $0[start...]))
        }
        output.append(contentsOf: payload)
        if header.masked {
            output.withUnsafeMutableBytes {
                Cipher.mask(UnsafeMutableRawBufferPointer(rebasing: $0[(start + headerSize)...]), key: header.maskKey)
            }
        }
    }
}
