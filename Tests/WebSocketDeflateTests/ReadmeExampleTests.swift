import Testing
import WebSocket
import WebSocketDeflate
import WebSocketUtil

// The README's permessage-deflate example, compiled and checked (see
// Tests/WebSocketTests/ReadmeExampleTests.swift for how README blocks are matched).

// README: deflate negotiation
/// A client and a server that negotiate permessage-deflate in memory; nil when the
/// handshake fails.
func deflateConnections() throws -> (client: Connection, server: Connection)? {
    // Client: offer permessage-deflate in the opening handshake.
    let clientConfig = PerMessageDeflateConfig()
    let handshake = ClientHandshake(target: "/", host: "example.com", extensionOffer: clientConfig.offer())

    // Server: answer the offers from the Upgrader's callback; this one also limits the
    // client's compression window to 2^10 bytes.
    let serverConfig = PerMessageDeflateConfig(clientMaxWindowBits: 10)
    var serverParameters: DeflateParameters?
    var upgrader = Upgrader()
    upgrader.negotiateExtensions = { offers in
        let values = offers.map { HTTPHead.string($0.text) }
        guard let (answer, parameters) = serverConfig.negotiate(offers: values) else { return nil }  // declined
        serverParameters = parameters
        return answer  // the response's Sec-WebSocket-Extensions value
    }
    let (_, reply) = upgrader.upgrade(request: handshake.request)  // array convenience
    let server = Connection(
        role: .server, messageExtension: serverParameters.map { PerMessageDeflate(parameters: $0, role: .server) })

    // Client: check the answer. A thrown error must fail the connection; nil means the
    // server declined and messages go uncompressed.
    guard case .accepted(let response) = handshake.validateResponse(reply) else { return nil }
    let clientParameters = try response.extensions.flatMap { try clientConfig.accept(response: $0) }
    let client = Connection(
        role: .client, messageExtension: clientParameters.map { PerMessageDeflate(parameters: $0, role: .client) })
    return (client, server)
}
// README end

@Suite struct ReadmeExampleTests {
    @Test("permessage-deflate: negotiate through the handshake, plug the codec into Connection")
    func deflateThroughConnection() throws {
        let (client, server) = try #require(try deflateConnections())
        var received: [String] = []
        var compressedFrames = 0
        server.captureWire = true
        server.onEvent = { event in
            switch event {
            case .message(_, let payload): received.append(String(decoding: payload, as: UTF8.self))
            case .frameReceived(let header, _, _): if header.rsv1 { compressedFrames += 1 }
            case .violation(let violation, _): Issue.record("violation: \(violation)")
            default: break
            }
        }

        // README: deflate use
        client.sendText(String(repeating: "compress me ", count: 100))  // 1200 bytes
        var wire: [UInt8] = []
        client.takeOutput { bytes in wire.append(contentsOf: bytes) }  // one frame, RSV1 set, about 30 bytes
        server.receive(wire)  // .message(.text, ...) with the 1200 bytes
        // README end

        #expect(received == [String(repeating: "compress me ", count: 100)])
        #expect(compressedFrames == 1)
        #expect(wire.count < 40, "\(wire.count) bytes on the wire")  // 31 here; zlib versions may differ slightly

        // What each side agreed, and the same config checked directly.
        let offer = PerMessageDeflateConfig().offer()
        #expect(offer == "permessage-deflate; client_max_window_bits")
        let answer = try #require(PerMessageDeflateConfig(clientMaxWindowBits: 10).negotiate(offers: [offer]))
        #expect(answer.response == "permessage-deflate; client_max_window_bits=10")
        #expect(answer.parameters == DeflateParameters(clientMaxWindowBits: 10))
        let accepted = try PerMessageDeflateConfig().accept(response: answer.response)
        #expect(accepted == answer.parameters)
        #expect(PerMessageDeflateConfig().negotiate(offers: ["x-webkit-deflate-frame"]) == nil)
        #expect(throws: DeflateNegotiationError.self) {
            try PerMessageDeflateConfig(offersClientMaxWindowBits: false).accept(response: answer.response)
        }

        // Echo back: the server compresses too, and the client inflates.
        var echoed: [String] = []
        client.onEvent = { event in
            if case .message(_, let payload) = event { echoed.append(String(decoding: payload, as: UTF8.self)) }
        }
        server.sendText("compressed reply compressed reply compressed reply")
        server.takeOutput { client.receive($0) }
        #expect(echoed == ["compressed reply compressed reply compressed reply"])
    }
}
