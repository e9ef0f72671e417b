import Testing
import WebSocket
import WebSocketUtil

@Suite("Reassembly of fragmented messages")
struct ReassemblyTests {
    let keys: [UInt32] = [
        Header.maskKey(0x01, 0x02, 0x03, 0x04), Header.maskKey(0xA5, 0x5A, 0xFF, 0x00),
        Header.maskKey(0x80, 0x7F, 0x10, 0xEE), Header.maskKey(0x00, 0x00, 0x00, 0x01),
    ]

    @Test func serverReassemblesTextWithControlFramesBetweenFragments() throws {
        let h = Harness(role: .server)
        var input: [UInt8] = []
        input += frame(.text, "Hel", fin: false, from: .client, key: keys[0])
        input += frame(.ping, bytes("p1"), from: .client, key: keys[1])
        input += frame(.continuation, "lo, ", fin: false, from: .client, key: keys[2])
        input += frame(.pong, bytes("unsolicited"), from: .client, key: keys[3])
        input += frame(.ping, [], from: .client)
        input += frame(.continuation, "wörld €𝄞", fin: true, from: .client, key: keys[1])
        h.feed(input)

        #expect(h.semanticEvents == [
            .ping(bytes("p1")), .pong(bytes("unsolicited")), .ping([]),
            .message(.text, bytes("Hello, wörld €𝄞")),
        ])
        // One .frameReceived per frame, in wire order, with the headers as sent.
        let received = h.events.compactMap { e -> Header? in
            if case .frameReceived(let header, _, _) = e { return header } else { return nil }
        }
        #expect(received.map(\.opcode) == [.text, .ping, .continuation, .pong, .ping, .continuation])
        #expect(received.map(\.fin) == [false, true, false, true, true, true])
        #expect(received.allSatisfy { $0.masked })
        #expect(received[0].maskKey == keys[0])

        // Each ping is answered with a pong carrying its payload, unmasked from a server.
        let out = try h.takeFrames()
        #expect(out.map(\.header.opcode) == [.pong, .pong])
        #expect(out.map(\.payload) == [bytes("p1"), []])
        #expect(out.allSatisfy { !$0.header.masked && $0.header.fin && $0.header.rsv == 0 })
        #expect(h.connection.closeState == .open)
    }

    @Test func serverReassemblesBinaryWithManyFragments() throws {
        let h = Harness(role: .server)
        let payload = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        var input: [UInt8] = []
        var offset = 0
        var index = 0
        // Fragment sizes 0, 1, 2, ... (an empty first fragment included), a ping after each.
        while offset < payload.count {
            let size = min(index, payload.count - offset)
            let end = offset + size
            input += frame(
                index == 0 ? .binary : .continuation, Array(payload[offset..<end]), fin: end == payload.count,
                from: .client, key: keys[index % keys.count])
            if end < payload.count { input += frame(.ping, [UInt8(index)], from: .client) }
            offset = end
            index += 1
        }
        h.feed(input)
        #expect(h.messages.count == 1)
        #expect(h.messages.first?.0 == .binary)
        #expect(h.messages.first?.1 == payload)
        let pongs = try h.takeFrames()
        #expect(pongs.count == index - 1)
        #expect(pongs.map(\.payload) == (0..<(index - 1)).map { [UInt8($0)] })
    }

    @Test func clientReassemblesUnmaskedServerFrames() throws {
        let h = Harness(role: .client)
        var input: [UInt8] = []
        input += frame(.binary, [1, 2, 3], fin: false, from: .server)
        input += frame(.ping, bytes("hi"), from: .server)
        input += frame(.continuation, [4, 5], fin: false, from: .server)
        input += frame(.continuation, [], fin: false, from: .server)
        input += frame(.continuation, [6], fin: true, from: .server)
        input += frame(.text, "second", from: .server)
        h.feed(input)
        #expect(h.semanticEvents == [.ping(bytes("hi")), .message(.binary, [1, 2, 3, 4, 5, 6]), .message(.text, bytes("second"))])
    }

    @Test func clientAutoPongIsMaskedAndEchoesPingPayload() throws {
        let h = Harness(role: .client)
        let payloads: [[UInt8]] = [bytes("ping-1"), [], Array(0..<125), [0xFF, 0x00, 0xFF]]
        for p in payloads { h.feed(frame(.ping, p, from: .server)) }
        let raw = h.take()
        let out = try decodeFrames(raw)
        #expect(out.count == payloads.count)
        for (pong, ping) in zip(out, payloads) {
            #expect(pong.header.opcode == .pong)
            #expect(pong.header.fin)
            #expect(pong.header.masked)
            #expect(pong.header.length == UInt64(ping.count))
            #expect(pong.payload == ping)
            // The wire carries the payload XORed with the frame's key.
            let keyBytes = pong.header.maskKeyBytes
            let onWire = Array(pong.wire[(pong.wire.count - ping.count)...])
            #expect(onWire == ping.enumerated().map { $0.element ^ keyBytes[$0.offset & 3] })
        }
        // Fresh key per frame (a repeat among four random 32-bit keys is practically impossible).
        #expect(Set(out.map(\.header.maskKey)).count == out.count)
        #expect(h.semanticEvents == payloads.map { .ping($0) })
    }

    @Test func autoPongCanBeTurnedOff() throws {
        let h = Harness(role: .server)
        h.connection.autoPong = false
        h.feed(frame(.ping, bytes("x"), from: .client))
        #expect(h.semanticEvents == [.ping(bytes("x"))])
        #expect(h.take().isEmpty)
    }

    @Test func emptyMessagesAreDelivered() {
        let h = Harness(role: .server)
        h.feed(frame(.text, [], from: .client))
        h.feed(frame(.binary, [], from: .client))
        h.feed(frame(.text, [], fin: false, from: .client) + frame(.continuation, [], from: .client))
        #expect(h.semanticEvents == [.message(.text, []), .message(.binary, []), .message(.text, [])])
    }

    /// 16- and 64-bit length encodings, payloads long enough for the SIMD masking path,
    /// fragment boundaries at offsets that are not multiples of 4 (the mask key rotates).
    @Test(arguments: [125, 126, 127, 65535, 65536, 70001])
    func largePayloadsUnmaskCorrectly(size: Int) {
        let h = Harness(role: .server)
        var rng = SeededRNG(seed: UInt64(size))
        let payload = (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let cut = size / 3 + 1
        let input = frame(.binary, Array(payload[..<cut]), fin: false, from: .client, key: keys[1])
            + frame(.continuation, Array(payload[cut...]), from: .client, key: keys[2])
        // Feed in odd-sized chunks so unmasking restarts at every key phase.
        var chunks: [Int] = []
        var n = 0
        while n < input.count { chunks.append(13 + chunks.count % 7); n += chunks.last! }
        h.feed(input, chunks: chunks)
        #expect(h.messages.count == 1)
        #expect(h.messages.first?.1 == payload)
    }

    @Test func messageEventsArriveOncePerMessageInOrder() {
        let h = Harness(role: .client)
        var input: [UInt8] = []
        for i in 0..<50 {
            if i % 3 == 0 {
                input += frame(.text, "m\(i)-", fin: false, from: .server) + frame(.continuation, "end", from: .server)
            } else {
                input += frame(i % 2 == 0 ? .text : .binary, "m\(i)", from: .server)
            }
        }
        h.feed(input)
        #expect(h.messages.count == 50)
        for (i, (op, payload)) in h.messages.enumerated() {
            if i % 3 == 0 {
                #expect(op == .text)
                #expect(payload == bytes("m\(i)-end"))
            } else {
                #expect(op == (i % 2 == 0 ? .text : .binary))
                #expect(payload == bytes("m\(i)"))
            }
        }
    }

    @Test func echoFromInsideTheMessageCallback() throws {
        // An echo server sends from inside onEvent; the connection must allow it.
        let server = Connection(role: .server)
        var count = 0
        server.onEvent = { event in
            if case .message(let op, let payload) = event {
                count += 1
                server.send(op, payload: payload)
            }
        }
        server.receive(frame(.text, "a", fin: false, from: .client) + frame(.continuation, "b", from: .client)
            + frame(.binary, [9], from: .client))
        var out: [UInt8] = []
        server.takeOutput { out += $0 }
        let frames = try decodeFrames(out)
        #expect(count == 2)
        #expect(frames.map(\.header.opcode) == [.text, .binary])
        #expect(frames.map(\.payload) == [bytes("ab"), [9]])
    }
}
