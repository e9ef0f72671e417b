// WebSocketUtil.Connection with a warm connection (created and fed once before the first
// measured iteration, then reused by every iteration). One operation = one message.
//
// Receive: a server connection fed a batch of 1000 masked single-frame messages (one
// `receive` call for the whole batch, or the batch cut into 1000-byte reads, which splits
// headers and payloads across calls). Send: 1000 `send` calls then one `takeOutput`.

import Benchmark
import BenchmarkSupport
import WebSocket
import WebSocketUtil

final class Counter {
    var messages = 0
    var bytes = 0
    var pings = 0
}

func makeServer(_ counter: Counter) -> Connection {
    let connection = Connection(role: .server)
    connection.onEvent = { event in
        switch event {
        case .message(_, let payload):
            counter.messages &+= 1
            counter.bytes &+= payload.count
        case .ping:
            counter.pings &+= 1
        case .violation(let violation, _):
            fatalError("unexpected violation \(violation)")
        default:
            break
        }
    }
    return connection
}

/// Wire bytes of `count` masked client frames with `opcode` and the given payload.
func clientFrames(count: Int, opcode: OpCode, payload: [UInt8]) -> [UInt8] {
    var bytes: [UInt8] = []
    for index in 0..<count {
        let frame = Frame(
            header: Header(opcode: opcode, masked: true, maskKey: UInt32(truncatingIfNeeded: index &* 0x9E37_79B9 | 1),
                           length: UInt64(payload.count)),
            payload: payload)
        bytes += frame.wireBytes()
    }
    return bytes
}

let textPayload = Array("Hello, wscope! 0123456789 abcdef".utf8)  // 32 bytes
let binaryPayload = [UInt8](repeating: 0xA5, count: 32)

struct ReceiveCase {
    let name: String
    let opcode: OpCode
    let payload: [UInt8]
    let readSize: Int?
}

let receiveCases = [
    ReceiveCase(name: "text 32B", opcode: .text, payload: textPayload, readSize: nil),
    ReceiveCase(name: "binary 32B", opcode: .binary, payload: binaryPayload, readSize: nil),
    ReceiveCase(name: "text 32B, 1000-byte reads", opcode: .text, payload: textPayload, readSize: 1000),
    ReceiveCase(name: "ping 16B + auto pong", opcode: .ping, payload: Array(textPayload[..<16]), readSize: nil),
]

let benchmarks: @Sendable () -> Void = {
    for testCase in receiveCases {
        let state = Lazy { () -> (Connection, Counter, UnsafeMutableRawBufferPointer) in
            let counter = Counter()
            let connection = makeServer(counter)
            let input = copyToBuffer(clientFrames(count: 1000, opcode: testCase.opcode, payload: testCase.payload))
            // Warm up: one full batch, so that every buffer has reached its working capacity.
            feed(connection, input, readSize: testCase.readSize)
            connection.takeOutput { blackHole($0.count) }
            return (connection, counter, input)
        }
        Benchmark("Connection.receive/\(testCase.name)", configuration: configuration(ops: .kilo)) { benchmark in
            let (connection, counter, input) = state.value
            let before = counter.messages &+ counter.pings
            benchmark.startMeasurement()
            feed(connection, input, readSize: testCase.readSize)
            connection.takeOutput { blackHole($0.count) }
            benchmark.stopMeasurement()
            precondition(counter.messages &+ counter.pings &- before == 1000, "\(counter.messages)")
        }
    }

    for role in [Role.server, Role.client] {
        let connection = Lazy { () -> Connection in
            let connection = Connection(role: role)
            // Warm up: one batch grows the output buffer to its working size.
            textPayload.withUnsafeBytes { payload in
                for _ in 0..<1000 { connection.send(.text, payload: payload) }
            }
            connection.takeOutput { blackHole($0.count) }
            return connection
        }
        let name = role == .server ? "server (unmasked)" : "client (masked, random key)"
        Benchmark("Connection.send/text 32B \(name)", configuration: configuration(ops: .kilo)) { benchmark in
            let connection = connection.value
            textPayload.withUnsafeBytes { payload in
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    connection.send(.text, payload: payload)
                }
                connection.takeOutput { blackHole($0.count) }
                benchmark.stopMeasurement()
            }
        }
    }
}

func feed(_ connection: Connection, _ input: UnsafeMutableRawBufferPointer, readSize: Int?) {
    let bytes = UnsafeRawBufferPointer(input)
    guard let readSize else { return connection.receive(bytes) }
    var offset = 0
    while offset < bytes.count {
        let end = min(offset + readSize, bytes.count)
        connection.receive(UnsafeRawBufferPointer(rebasing: bytes[offset..<end]))
        offset = end
    }
}
