import Testing
import WebSocket
import WebSocketDeflate
import WebSocketUtil

/// The codec behind the message layer, as Inspector wires them: negotiate, build one
/// codec per side, and let `Connection` fragment, compress, read and decompress.
@Suite struct ConnectionIntegrationTests {
    /// Sends `messages` from a client to a server and returns what the server received,
    /// delivering the wire bytes in reads of `readSize`.
    private func transfer(
        _ messages: [(OpCode, [UInt8])], clientConfig: PerMessageDeflateConfig, serverConfig: PerMessageDeflateConfig,
        fragmentSize: Int?, readSize: Int
    ) throws -> (received: [(OpCode, [UInt8])], rsv1Frames: Int, violations: [ProtocolViolation]) {
        let negotiated = try #require(serverConfig.negotiate(offers: [clientConfig.offer()]))
        let clientParameters = try #require(try clientConfig.accept(response: negotiated.response))
        #expect(clientParameters == negotiated.parameters)

        let client = Connection(
            role: .client, messageExtension: PerMessageDeflate(parameters: clientParameters, role: .client),
            fragmentSize: fragmentSize)
        let server = Connection(
            role: .server, messageExtension: PerMessageDeflate(parameters: negotiated.parameters, role: .server))
        server.captureWire = true

        var received: [(OpCode, [UInt8])] = []
        var rsv1Frames = 0
        var violations: [ProtocolViolation] = []
        server.onEvent = { event in
            switch event {
            case .message(let opcode, let payload): received.append((opcode, Array(payload)))
            case .frameReceived(let header, _, _): if header.rsv1 { rsv1Frames += 1 }
            case .violation(let violation, _): violations.append(violation)
            default: break
            }
        }
        for (opcode, payload) in messages {
            client.send(opcode, payload: payload)
        }
        var wire: [UInt8] = []
        client.takeOutput { wire.append(contentsOf: $0) }
        var offset = 0
        while offset < wire.count {
            let end = min(offset + readSize, wire.count)
            server.receive(Array(wire[offset..<end]))
            offset = end
        }
        return (received, rsv1Frames, violations)
    }

    @Test(arguments: [(nil, 1), (7, 3), (1000, 4096), (nil, 65536)] as [(Int?, Int)])
    func messagesSurviveTheWholeStack(fragmentSize: Int?, readSize: Int) throws {
        var random = TestRandom(seed: 21)
        let messages: [(OpCode, [UInt8])] = [
            (.text, Array("Hello".utf8)),
            (.text, Array("Hello".utf8)),
            (.binary, random.text(20_000)),
            (.binary, random.bytes(500)),  // incompressible: goes out uncompressed
            (.text, []),
            (.text, Array("héllo wörld, héllo wörld, héllo wörld".utf8)),
        ]
        for (clientConfig, serverConfig) in [
            (PerMessageDeflateConfig(), PerMessageDeflateConfig()),
            (PerMessageDeflateConfig(serverNoContextTakeover: true, clientMaxWindowBits: 9),
             PerMessageDeflateConfig(clientNoContextTakeover: true, serverMaxWindowBits: 8)),
        ] {
            let result = try transfer(
                messages, clientConfig: clientConfig, serverConfig: serverConfig,
                fragmentSize: fragmentSize, readSize: readSize)
            #expect(result.violations.isEmpty)
            #expect(result.received.count == messages.count)
            for (got, sent) in zip(result.received, messages) {
                #expect(got.0 == sent.0)
                #expect(got.1 == sent.1)
            }
            // Only the first frames of the text block and the repetitive UTF-8 line carry
            // RSV1: "Hello" compresses to 7 bytes, so it goes out as is, and dropping those
            // bytes resets the compressor, so the second "Hello" cannot refer to the first.
            // The noise and the empty message do not shrink either.
            #expect(result.rsv1Frames == 2)
        }
    }

    @Test func bombIsRefusedWithCloseCode1009() throws {
        let parameters = DeflateParameters()
        let sender = PerMessageDeflate(parameters: parameters, role: .client)
        var compressed: [UInt8] = []
        let zeros = [UInt8](repeating: 0, count: 8 << 20)
        #expect(zeros.withUnsafeBytes { sender.compress($0, into: &compressed) })

        let server = Connection(
            role: .server, maxMessageBytes: 1 << 20,
            messageExtension: PerMessageDeflate(parameters: parameters, role: .server))
        var violation: ProtocolViolation?
        var messages = 0
        server.onEvent = { event in
            if case .violation(let found, _) = event { violation = found }
            if case .message = event { messages += 1 }
        }
        var frame: [UInt8] = []
        let header = Header(fin: true, rsv1: true, opcode: .binary, masked: true,
                            maskKey: Header.maskKey(1, 2, 3, 4), length: UInt64(compressed.count))
        compressed.withUnsafeBytes { Frame.write(header: header, payload: $0, into: &frame) }
        server.receive(frame)
        #expect(messages == 0)
        #expect(violation?.closeCode == .messageTooBig)
    }
}
