import WebSocket

/// A per-message extension negotiated in the opening handshake (RFC 7692 permessage-deflate
/// is the only one registered today). The message layer calls it for every data message
/// whose first frame carries RSV1; the extension owns its own reusable buffers, so a warm
/// connection compresses and decompresses without allocating.
///
/// Lives here rather than in WebSocketDeflate so that the message layer does not depend on
/// zlib: WebSocketDeflate implements it, Inspector wires the two together.
public protocol MessageExtension: AnyObject {
    /// Feeds one data frame payload of a compressed message (already unmasked).
    /// Decompressed bytes are appended to `output`. When `isFinal` is true the message ends
    /// with this frame and the extension appends the RFC 7692 tail itself.
    /// Fails with `.messageTooBig` as soon as `output.count` would exceed `limit`, before
    /// inflating the rest (so a decompression bomb costs at most `limit` bytes), and with
    /// `.invalidData` for a stream zlib rejects.
    func decompress(
        _ input: UnsafeRawBufferPointer, isFinal: Bool, into output: inout [UInt8], limit: Int
    ) -> ExtensionFailure?

    /// Compresses a whole message payload; the result (without the 4-byte tail) replaces
    /// `output`'s contents. Returns false when compression is not worth it or failed, in which
    /// case the caller sends the message uncompressed (RSV1 clear).
    func compress(_ message: UnsafeRawBufferPointer, into output: inout [UInt8]) -> Bool
}

public enum ExtensionFailure: Error, Equatable, Sendable {
    case messageTooBig
    case invalidData(String)

    public var closeCode: CloseCode {
        switch self {
        case .messageTooBig: return .messageTooBig
        case .invalidData: return .invalidPayloadData
        }
    }
}
