import Glibc
import Testing
@testable import WebSocketTransport

/// All tests that open descriptors run one at a time, so that the descriptor count in
/// `noDescriptorLeak` sees only its own.
@Suite(.serialized) struct TransportTests {}

/// Runs `loop` until `stop()` or `limit`; records an issue on the time limit.
func run(_ loop: EventLoop, limit: Duration = .seconds(20), sourceLocation: SourceLocation = #_sourceLocation) {
    var timedOut = false
    let guardTimer = loop.schedule(after: limit) { [unowned loop] in
        timedOut = true
        loop.stop()
    }
    do {
        try loop.run()
    } catch {
        Issue.record("run() threw \(error)", sourceLocation: sourceLocation)
    }
    loop.cancel(guardTimer)
    if timedOut { Issue.record("the loop did not stop within \(limit)", sourceLocation: sourceLocation) }
}

/// Turns the loop until `condition` holds (or `limit`); returns whether it held.
@discardableResult
func turn(_ loop: EventLoop, until condition: () -> Bool, limit: Duration = .seconds(10)) -> Bool {
    let deadline = ContinuousClock.now + limit
    while !condition() {
        if ContinuousClock.now >= deadline { return false }
        try? loop.runOnce(maxWait: .milliseconds(10))
    }
    return true
}

/// The entries of /proc/self/fd, each as (number, link target).
func openDescriptors() -> [(fd: Int32, target: String)] {
    guard let directory = opendir("/proc/self/fd") else { return [] }
    defer { closedir(directory) }
    let own = dirfd(directory)
    var result: [(Int32, String)] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        guard let fd = Int32(name), fd != own else { continue }
        var target = [CChar](repeating: 0, count: 256)
        let length = readlink("/proc/self/fd/\(name)", &target, target.count - 1)
        let text = length > 0
            ? String(decoding: target[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
        result.append((fd, text))
    }
    return result
}

/// Socket inodes of TCP connections (any state) whose local or remote port is `port`,
/// from /proc/net/tcp and tcp6.
func tcpSocketInodes(port: Int) -> Set<String> {
    var inodes = Set<String>()
    let portHex = String(port, radix: 16, uppercase: true)
    let padded = String(repeating: "0", count: max(0, 4 - portHex.count)) + portHex
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
        guard let text = readFile(file) else { continue }
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            guard fields.count > 9 else { continue }
            let local = fields[1].split(separator: ":").last ?? ""
            let remote = fields[2].split(separator: ":").last ?? ""
            if local == padded || remote == padded { inodes.insert(String(fields[9])) }
        }
    }
    inodes.remove("0")  // TIME_WAIT and similar entries own no socket
    return inodes
}

/// Our descriptors that are sockets belonging to connections on `port`.
func descriptorsOnPort(_ port: Int) -> [Int32] {
    let inodes = tcpSocketInodes(port: port)
    return openDescriptors().filter { entry in
        entry.target.hasPrefix("socket:[") && inodes.contains(String(entry.target.dropFirst(8).dropLast()))
    }.map(\.fd)
}

func readFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = read(fd, &chunk, chunk.count)
        if count <= 0 { break }
        bytes.append(contentsOf: chunk[..<count])
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// A fast deterministic generator (SplitMix64) for chunk sizes and payloads.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// `count` pseudo-random bytes, filled a word at a time.
func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var generator = SplitMix64(seed: seed)
    var bytes = [UInt8](repeating: 0, count: count)
    bytes.withUnsafeMutableBytes { raw in
        var offset = 0
        while offset + 8 <= raw.count {
            raw.storeBytes(of: generator.next(), toByteOffset: offset, as: UInt64.self)
            offset += 8
        }
        while offset < raw.count {
            raw[offset] = UInt8(truncatingIfNeeded: generator.next())
            offset += 1
        }
    }
    return bytes
}

/// Records what a connection receives and how it ends.
final class Recorder: ConnectionDelegate {
    var received: [UInt8] = []
    var closed = false
    var closeError: TransportError?
    var closeCount = 0
    var drainCount = 0
    var onRead: ((StreamConnection, UnsafeRawBufferPointer) -> Void)?
    var onClose: ((TransportError?) -> Void)?

    func connection(_ connection: StreamConnection, didRead bytes: UnsafeRawBufferPointer) {
        received.append(contentsOf: bytes)
        onRead?(connection, bytes)
    }

    func connectionDidClose(_ connection: StreamConnection, error: TransportError?) {
        closed = true
        closeError = error
        closeCount += 1
        onClose?(error)
    }

    func connectionDidDrain(_ connection: StreamConnection) {
        drainCount += 1
    }
}

/// Echoes every byte back.
final class EchoHandler: ConnectionDelegate {
    var connections: [TCPConnection] = []
    var closedCount = 0
    var errors: [TransportError] = []

    func connection(_ connection: StreamConnection, didRead bytes: UnsafeRawBufferPointer) {
        connection.write(bytes)
    }

    func connectionDidClose(_ connection: StreamConnection, error: TransportError?) {
        closedCount += 1
        if let error { errors.append(error) }
    }
}

/// Connects and waits (turning the loop) for the result.
func connectNow(_ loop: EventLoop, host: String = "127.0.0.1", port: Int,
                timeout: Duration = .seconds(5)) -> Result<TCPConnection, TransportError>? {
    var result: Result<TCPConnection, TransportError>?
    TCPConnector.connect(loop: loop, host: host, port: port, timeout: timeout) { result = $0 }
    turn(loop, until: { result != nil })
    return result
}

/// Byte equality that reports only the first difference (`#expect(a == b)` on megabyte
/// arrays would print them whole, and so would `#expect(f(a, b))`).
func expectSameBytes(_ actual: [UInt8], _ expected: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
    if actual.count != expected.count {
        Issue.record("got \(actual.count) bytes, expected \(expected.count)", sourceLocation: sourceLocation)
        return
    }
    let equal = actual.withUnsafeBytes { a in
        expected.withUnsafeBytes { b in a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 }
    }
    if !equal, let index = actual.indices.first(where: { actual[$0] != expected[$0] }) {
        Issue.record("first difference at byte \(index)", sourceLocation: sourceLocation)
    }
}
