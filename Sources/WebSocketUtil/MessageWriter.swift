import WebSocket

/// Turns messages into frames: fragments at a chosen size, compresses through a negotiated
/// extension, and masks with a fresh random key per frame in the client role. Frames are
/// appended to a caller-owned output buffer whose capacity is reused.
public struct MessageWriter {
    public let role: Role
    /// Largest payload per frame; nil sends every message as one frame.
    public var fragmentSize: Int?
    /// Compresses data messages when set (its first frame then carries RSV1).
    public var messageExtension: MessageExtension?
    /// Reused between messages so that compression does not allocate once warm.
    private var compressed: [UInt8] = []

    public init(role: Role, fragmentSize: Int? = nil, messageExtension: MessageExtension? = nil) {
        self.role = role
        self.fragmentSize = fragmentSize.map { max(1, $0) }
        self.messageExtension = messageExtension
    }

    /// Appends the frames of one data message (`.text` or `.binary`) to `output` and
    /// reports each frame's header to `observe` (for inspectors; pass nil when not needed).
    public mutating func writeMessage(
        _ opcode: OpCode, payload: UnsafeRawBufferPointer, into output: inout [UInt8],
        observe: ((Header, _ wireStart: Int) -> Void)? = nil
    ) {
        if let messageExtension, messageExtension.compress(payload, into: &compressed) {
            let body = compressed
            body.withUnsafeBytes { writeFragments(opcode, payload: $0, compressed: true, into: &output, observe: observe) }
        } else {
            writeFragments(opcode, payload: payload, compressed: false, into: &output, observe: observe)
        }
    }

    /// Appends one control frame (`.ping`, `.pong`, `.close`); control frames are never
    /// fragmented or compressed.
    public func writeControl(
        _ opcode: OpCode, payload: UnsafeRawBufferPointer, into output: inout [UInt8],
        observe: ((Header, _ wireStart: Int) -> Void)? = nil
    ) {
        let header = makeHeader(opcode: opcode, fin: true, rsv1: false)
        let start = output.count
        Frame.write(header: header, payload: payload, into: &output)
        observe?(withLength(header, payload.count), start)
    }

    private func writeFragments(
        _ opcode: OpCode, payload: UnsafeRawBufferPointer, compressed: Bool, into output: inout [UInt8],
        observe: ((Header, Int) -> Void)?
    ) {
        // Clamped here too: `fragmentSize` is a public var, so 0 or less may be set after init.
        let chunk = max(1, fragmentSize ?? payload.count)
        var offset = 0
        var first = true
        repeat {
            let end = min(payload.count, offset + chunk)
            let header = makeHeader(opcode: first ? opcode : OpCode(nibble: 0x0), fin: end == payload.count, rsv1: first && compressed)
            let start = output.count
            Frame.write(header: header, payload: UnsafeRawBufferPointer(rebasing: payload[offset..<end]), into: &output)
            observe?(withLength(header, end - offset), start)
            offset = end
            first = false
        } while offset < payload.count
    }

    private func makeHeader(opcode: OpCode, fin: Bool, rsv1: Bool) -> Header {
        Header(
            fin: fin, rsv1: rsv1, opcode: opcode, masked: role.masksOutgoing,
            maskKey: role.masksOutgoing ? Cipher.randomKey() : 0
        )
    }

    private func withLength(_ header: Header, _ length: Int) -> Header {
        var header = header
        header.length = UInt64(length)
        return header
    }
}
