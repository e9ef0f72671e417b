import WebSocket
import WebSocketTransport

/// Which way a frame travelled, seen from wscope.
public enum Direction: String, Sendable, Hashable {
    case incoming = "in"
    case outgoing = "out"
}

/// Everything a session reports: the Inspector's vocabulary, shared by the line printer,
/// the recording writer and the terminal UI.
public enum SessionEvent: Sendable {
    case listening(address: String)
    case connecting(url: String)
    /// The opening handshake completed. Heads are the raw HTTP texts.
    case opened(connection: Int, peer: String, request: String, response: String, subprotocol: String?, extensions: String?)
    /// The TLS handshake of a wss:// connection completed (before the opening handshake):
    /// version, cipher, ALPN, SNI, the peer's certificate and whether it was verified.
    case tls(connection: Int, info: TLSInfo)
    /// The peer's handshake was refused (server) or its response refused (client).
    case handshakeFailed(connection: Int, peer: String, reason: String)
    case frame(connection: Int, direction: Direction, header: Header, payload: [UInt8], wire: [UInt8])
    /// A whole data message as the application sees it (after reassembly and
    /// decompression). Reported when an extension transforms payloads, so that the frame
    /// events' compressed bytes are not all one sees.
    case message(connection: Int, direction: Direction, opcode: OpCode, payload: [UInt8])
    /// Crafted `raw:` bytes that do not form one frame were written as they are.
    case rawSent(connection: Int, wire: [UInt8])
    /// The peer broke the protocol; we failed the connection with `code`.
    case violation(connection: Int, description: String, code: CloseCode, wire: [UInt8])
    /// The connection is gone. `clean` is true when both close frames were exchanged.
    case closed(connection: Int, code: CloseCode?, reason: String, clean: Bool)
    case error(connection: Int?, message: String)
}
