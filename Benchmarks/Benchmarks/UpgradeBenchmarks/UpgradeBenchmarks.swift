// Server side of the opening handshake: a typical browser (Chrome) upgrade request,
// parsed in place and answered with a 101 written into a reused response buffer.
// One operation = one handshake.
//
// NIO: a fresh EmbeddedChannel per handshake (NIO's per-connection state lives in the
// pipeline) configured with configureHTTPServerPipeline(withServerUpgrade:) and a
// NIOWebSocketServerUpgrader; the request is written inbound and the 101 read back
// outbound. That is NIO's whole server upgrade path: llhttp parsing, HTTPRequestHead and
// HTTPHeaders, the upgrader's checks and accept key, the response encoder.

import Benchmark
import BenchmarkSupport
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOWebSocket
import WebSocket

let chromeRequest = Array("""
    GET /chat?room=42 HTTP/1.1\r
    Host: example.com:8080\r
    Connection: Upgrade\r
    Pragma: no-cache\r
    Cache-Control: no-cache\r
    User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r
    Upgrade: websocket\r
    Origin: https://example.com\r
    Sec-WebSocket-Version: 13\r
    Accept-Encoding: gzip, deflate, br, zstd\r
    Accept-Language: en-US,en;q=0.9\r
    Cookie: session=2f1c9a0e5b7d4c3e8a6f; theme=dark\r
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r
    Sec-WebSocket-Protocol: chat, superchat\r
    Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r
    \r

    """.utf8)

final class Seen {
    var hosts = 0
    var headers = 0
}

let benchmarks: @Sendable () -> Void = {
    let state = Lazy { () -> (Upgrader, UnsafeMutableRawBufferPointer, UnsafeMutableRawBufferPointer, Seen) in
        let seen = Seen()
        var upgrader = Upgrader()
        upgrader.onHost = { _ in seen.hosts &+= 1 }
        upgrader.onHeader = { _, _ in seen.headers &+= 1 }
        upgrader.chooseProtocol = { token in token.count == 4 }  // "chat"
        let request = copyToBuffer(chromeRequest)
        let response = makeBuffer(count: 1024)
        // Check the outcome once, outside the measured region.
        guard case .upgraded(let accepted) = upgrader.upgrade(request: UnsafeRawBufferPointer(request), response: response),
              accepted.subprotocol(in: UnsafeRawBufferPointer(request)) == "chat"
        else { fatalError("upgrade failed") }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: response[..<accepted.responseLength]), as: UTF8.self)
        precondition(text.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), text)
        return (upgrader, request, response, seen)
    }
    Benchmark("Upgrader.upgrade/Chrome request", configuration: configuration(ops: .kilo)) { benchmark in
        let (upgrader, request, response, _) = state.value
        let requestBytes = UnsafeRawBufferPointer(request)
        var total = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            guard case .upgraded(let accepted) = upgrader.upgrade(request: requestBytes, response: response) else {
                fatalError("upgrade failed")
            }
            total &+= accepted.responseLength
        }
        benchmark.stopMeasurement()
        blackHole(total)
    }

    let nioRequest = Lazy { byteBuffer(chromeRequest) }
    Benchmark("NIO upgrade/Chrome request", configuration: configuration(ops: .one)) { benchmark in
        let request = nioRequest.value
        var total = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let channel = EmbeddedChannel()
            let upgrader = NIOWebSocketServerUpgrader(
                shouldUpgrade: { channel, _ in
                    var headers = HTTPHeaders()
                    headers.add(name: "Sec-WebSocket-Protocol", value: "chat")
                    return channel.eventLoop.makeSucceededFuture(headers)
                },
                upgradePipelineHandler: { channel, _ in channel.eventLoop.makeSucceededVoidFuture() })
            try! channel.pipeline.syncOperations.configureHTTPServerPipeline(
                withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
            try! channel.writeInbound(request)
            channel.embeddedEventLoop.run()
            while let part = try! channel.readOutbound(as: IOData.self) { total &+= part.readableBytes }
            _ = try! channel.finish(acceptAlreadyClosed: true)
        }
        benchmark.stopMeasurement()
        precondition(total > 100, "NIO wrote \(total) bytes")
        blackHole(total)
    }
}
