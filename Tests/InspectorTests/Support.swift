import WebSocket
@testable import Inspector
#if canImport(Glibc)
import Glibc
#endif

/// A fresh directory under /tmp, removed by `remove()`.
final class TempDirectory {
    let path: String

    init() {
        var template = Array("/tmp/wscope-inspector-tests-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(created != nil, "mkdtemp failed")
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func file(_ name: String) -> String { path + "/" + name }

    deinit {
        if let dir = opendir(path) {
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                if name != "." && name != ".." { unlink(file(name)) }
            }
            closedir(dir)
        }
        rmdir(path)
    }
}

func writeFile(_ path: String, _ bytes: [UInt8]) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    precondition(fd >= 0)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
        precondition(n > 0)
        offset += n
    }
    close(fd)
}

func appendFile(_ path: String, _ bytes: [UInt8]) {
    let fd = open(path, O_WRONLY | O_APPEND)
    precondition(fd >= 0)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, bytes.count) }
    close(fd)
}

func readFile(_ path: String) -> [UInt8] {
    (try? FrameSpec.readFile(path)) ?? []
}

func fileSize(_ path: String) -> Int {
    var info = stat()
    return stat(path, &info) == 0 ? Int(info.st_size) : -1
}

func lines(_ bytes: [UInt8]) -> [String] {
    String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
}

/// The canonical full line of an event: two events are equal when these are.
func canonical(_ event: SessionEvent, _ tNs: UInt64 = 0) -> String {
    RecordingFormat.line(for: event, tNs: tNs, wire: .always)
}

func maskedFrame(_ opcode: OpCode, _ payload: [UInt8], fin: Bool = true, key: UInt32 = Header.maskKey(1, 2, 3, 4)) -> (Header, [UInt8]) {
    let frame = Frame(header: Header(fin: fin, opcode: opcode, masked: true, maskKey: key, length: UInt64(payload.count)), payload: payload)
    return (frame.header, frame.wireBytes())
}

func plainFrame(_ opcode: OpCode, _ payload: [UInt8], fin: Bool = true) -> (Header, [UInt8]) {
    let frame = Frame(header: Header(fin: fin, opcode: opcode, length: UInt64(payload.count)), payload: payload)
    return (frame.header, frame.wireBytes())
}

func frameEvent(_ conn: Int, _ dir: Direction, _ opcode: OpCode, _ payload: [UInt8], fin: Bool = true) -> SessionEvent {
    let (header, wire) = dir == .outgoing ? maskedFrame(opcode, payload, fin: fin) : plainFrame(opcode, payload, fin: fin)
    return .frame(connection: conn, direction: dir, header: header, payload: payload, wire: wire)
}

/// One of every event type, with awkward content.
func sampleEvents() -> [SessionEvent] {
    var events: [SessionEvent] = []
    events.append(.listening(address: "127.0.0.1:9001"))
    events.append(.connecting(url: "ws://127.0.0.1:9001/chat?x=1"))
    events.append(.opened(
        connection: 1, peer: "127.0.0.1:9001",
        request: "GET /chat HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nX-Quote: \"q\" \\ \u{1b}[2J é😀\r\n\r\n",
        response: "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
        subprotocol: "chat", extensions: nil))
    events.append(.opened(connection: 2, peer: "[::1]:5000", request: "GET / HTTP/1.1\r\n\r\n", response: "", subprotocol: nil, extensions: "permessage-deflate"))
    events.append(.handshakeFailed(connection: 3, peer: "10.0.0.1:1", reason: "bad \"Upgrade\" header"))
    events.append(frameEvent(1, .outgoing, .text, Array("hello".utf8)))
    events.append(frameEvent(1, .incoming, .text, Array("hello".utf8)))
    events.append(frameEvent(1, .outgoing, .binary, (0..<2000).map { UInt8(truncatingIfNeeded: $0 * 7) }))
    events.append(frameEvent(1, .incoming, .binary, (0..<70000).map { UInt8(truncatingIfNeeded: $0) }))
    events.append(frameEvent(1, .outgoing, .ping, []))
    events.append(frameEvent(1, .incoming, .text, [0xFF, 0x1B, 0x00], fin: false))
    // A crafted frame whose wire bytes cannot be rebuilt: length field lies.
    let lying = try! FrameSpec.parse("binary:hex:" + String(repeating: "ab", count: 1500) + ";len=9;rsv2=1", role: .client)
    events.append(.frame(connection: 1, direction: .outgoing, header: lying.header!, payload: lying.payload, wire: lying.wire))
    // Non-minimal length encoding (rebuildable only by keeping the header bytes).
    let long16 = try! FrameSpec.parse("binary:hex:" + String(repeating: "cd", count: 2000) + ";len64", role: .server)
    events.append(.frame(connection: 1, direction: .incoming, header: long16.header!, payload: long16.payload, wire: long16.wire))
    // Violations: a whole bad frame, a header cut short, nothing at all.
    events.append(.violation(connection: 1, description: "reserved opcode 0x3", code: .protocolError, wire: [0x83, 0x02, 0x68, 0x69]))
    events.append(.violation(connection: 1, description: "cut", code: .protocolError, wire: [0x81, 0xFE, 0x01]))
    events.append(.violation(connection: 2, description: "invalid UTF-8", code: .invalidPayloadData, wire: []))
    events.append(.violation(connection: 2, description: "partial payload", code: .messageTooBig, wire: [0x82, 0x85, 1, 2, 3, 4, 0x10]))
    events.append(.closed(connection: 1, code: .normalClosure, reason: "bye \u{7}", clean: true))
    events.append(.closed(connection: 2, code: nil, reason: "", clean: false))
    events.append(.error(connection: 2, message: "connection reset"))
    events.append(.error(connection: nil, message: "listener: too many open files"))
    return events
}
