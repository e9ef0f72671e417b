import CZlib
import Testing
import WebSocket
import WebSocketDeflate
import WebSocketUtil

let hello = Array("Hello".utf8)

/// RFC 7692 section 7.2.3, byte for byte.
@Suite struct RFCExampleTests {
    @Test func compressedHelloDecompresses() {
        let (_, client) = codecPair()
        #expect(client.decompressed(hex("f2 48 cd c9 c9 07 00")) == .success(hello))
    }

    @Test func compressorProducesTheRFCBytes() {
        let (server, _) = codecPair()
        #expect(server.compressed(hello) == hex("f2 48 cd c9 c9 07 00"))
    }

    @Test func sharingTheWindowAcrossMessages() {
        let (server, client) = codecPair()
        #expect(server.compressed(hello) == hex("f2 48 cd c9 c9 07 00"))
        #expect(server.compressed(hello) == hex("f2 00 11 00 00"))
        #expect(client.decompressed(hex("f2 48 cd c9 c9 07 00")) == .success(hello))
        #expect(client.decompressed(hex("f2 00 11 00 00")) == .success(hello))
    }

    @Test func noCompressionBlock() {
        let (_, client) = codecPair()
        #expect(client.decompressed(hex("00 05 00 fa ff 48 65 6c 6c 6f 00")) == .success(hello))
    }

    @Test func blockWithBFINALSet() {
        let (_, client) = codecPair()
        #expect(client.decompressed(hex("f3 48 cd c9 c9 07 00 00")) == .success(hello))
        // The window survives the final block: the next message refers back to it.
        #expect(client.decompressed(hex("f2 00 11 00 00")) == .success(hello))
    }

    @Test func finalBlockWithoutTrailingByteIsAccepted() {
        // A Z_FINISH-style sender stops right after the final block.
        let (_, client) = codecPair()
        #expect(client.decompressed(hex("f3 48 cd c9 c9 07 00")) == .success(hello))
        #expect(client.decompressed(hex("f2 00 11 00 00")) == .success(hello))
    }

    @Test func dataAfterAFinalBlockSharesTheWindow() {
        // A BFINAL-flushing sender continues the message with a new stream that refers
        // back across the final block.
        let payload = hex("f3 48 cd c9 c9 07 00 f2 00 11 00 00")
        for split in 0...payload.count {
            let (_, client) = codecPair()
            let result = client.decompressed(fragments: [Array(payload[..<split]), Array(payload[split...])])
            #expect(result == .success(hello + hello), "split at \(split)")
        }
    }

    @Test func finalBlockRestartsArePaidForWithOutput() {
        // "03 00" is an empty fixed-Huffman block with BFINAL set: each one forces a
        // window-preserving restart while producing nothing.
        let emptyFinalBlock = hex("03 00")
        let (_, client) = codecPair()
        #expect(client.decompressed(Array(repeating: emptyFinalBlock, count: 10).flatMap { $0 }) == .success([]))
        guard case .failure(.invalidData(let reason)) =
            client.decompressed(Array(repeating: emptyFinalBlock, count: 1000).flatMap { $0 })
        else {
            Issue.record("a thousand empty final blocks were accepted")
            return
        }
        #expect(reason == "too many final deflate blocks in one message")
    }

    @Test func twoDeflateBlocksInOneMessage() {
        let (_, client) = codecPair()
        #expect(client.decompressed(hex("f2 48 05 00 00 00 ff ff ca c9 c9 07 00")) == .success(hello))
    }

    @Test func emptyLastFragment() {
        // 7.2.3.6: a sender that learns of the message end after flushing sends 00.
        let (_, client) = codecPair()
        let result = client.decompressed(fragments: [hex("f2 48 cd c9 c9 07 00 00 00 ff ff"), hex("00")])
        #expect(result == .success(hello))
    }

    static let examples: [[UInt8]] = [
        hex("f2 48 cd c9 c9 07 00"),
        hex("00 05 00 fa ff 48 65 6c 6c 6f 00"),
        hex("f3 48 cd c9 c9 07 00 00"),
        hex("f2 48 05 00 00 00 ff ff ca c9 c9 07 00"),
    ]

    @Test(arguments: examples)
    func fragmentedAtEveryPosition(_ payload: [UInt8]) {
        for split in 0...payload.count {
            let (_, client) = codecPair()
            let result = client.decompressed(fragments: [Array(payload[..<split]), Array(payload[split...])])
            #expect(result == .success(hello), "split at \(split)")
        }
        let (_, client) = codecPair()
        #expect(client.decompressed(fragments: payload.map { [$0] }) == .success(hello), "byte by byte")
    }
}

@Suite struct CodecTests {
    @Test func longMessageFragmentedAtEveryPosition() {
        var random = TestRandom(seed: 7)
        let message = random.text(600) + random.bytes(40) + random.text(200)
        let (server, _) = codecPair()
        let payload = server.compressed(message)!
        for split in 0...payload.count {
            for secondSplit in [split, (split + payload.count) / 2] {
                let (_, client) = codecPair()
                let pieces = [Array(payload[..<split]), Array(payload[split..<secondSplit]), Array(payload[secondSplit...])]
                #expect(client.decompressed(fragments: pieces) == .success(message), "splits \(split), \(secondSplit)")
            }
        }
    }

    @Test func serverNoContextTakeover() {
        let parameters = DeflateParameters(serverNoContextTakeover: true)
        let (server, client) = codecPair(parameters)
        var random = TestRandom(seed: 1)
        let first = random.text(2000)
        let second = first.prefix(1500) + random.text(500)
        #expect(server.compressed(hello) == hex("f2 48 cd c9 c9 07 00"))
        #expect(server.compressed(hello) == hex("f2 48 cd c9 c9 07 00"))
        let firstPayload = server.compressed(first)!
        let secondPayload = server.compressed(Array(second))!
        #expect(secondPayload == codecPair(parameters).server.compressed(Array(second)), "same as a fresh compressor")
        #expect(client.decompressed(firstPayload) == .success(first))
        #expect(client.decompressed(secondPayload) == .success(Array(second)))

        // The client's decompressor drops its window too: a message that refers to the
        // previous one is invalid under server_no_context_takeover.
        #expect(client.decompressed(hex("f2 48 cd c9 c9 07 00")) == .success(hello))
        guard case .failure(.invalidData) = client.decompressed(hex("f2 00 11 00 00")) else {
            Issue.record("a back-reference across messages was accepted")
            return
        }
    }

    @Test func clientNoContextTakeover() {
        let parameters = DeflateParameters(clientNoContextTakeover: true)
        let (server, client) = codecPair(parameters)
        #expect(client.compressed(hello) == hex("f2 48 cd c9 c9 07 00"))
        #expect(client.compressed(hello) == hex("f2 48 cd c9 c9 07 00"))
        // The server still takes context over in its own direction.
        #expect(server.compressed(hello) == hex("f2 48 cd c9 c9 07 00"))
        #expect(server.compressed(hello) == hex("f2 00 11 00 00"))
        // And its decompressor resets per client message.
        #expect(server.decompressed(hex("f2 48 cd c9 c9 07 00")) == .success(hello))
        #expect(server.decompressed(hex("f2 48 cd c9 c9 07 00")) == .success(hello))
        if case .success = server.decompressed(hex("f2 00 11 00 00")) {
            Issue.record("a back-reference across messages was accepted")
        }
    }

    /// Our codec against zlib called directly with matching window bits, both ways. For 8
    /// our compressor runs zlib with 9, whose output must still fit a 256-byte window.
    @Test(arguments: 8...15)
    func windowBitsRoundTripAgainstZlib(bits: Int) {
        let parameters = DeflateParameters(serverMaxWindowBits: bits, clientMaxWindowBits: bits)
        var random = TestRandom(seed: UInt64(bits))
        let messages = (0..<6).map { index in
            index == 3 ? random.bytes(3000) : random.text(500 + index * 4000)
        }
        let (server, client) = codecPair(parameters)

        let ourPayloads = messages.map { server.compressed($0)! }
        let zlibDecoded = zlibDecompressMessages(ourPayloads, windowBits: Int32(bits)) == messages
        #expect(zlibDecoded, "zlib inflate with \(bits) window bits decodes our compressor")

        let zlibPayloads = zlibCompressMessages(messages, windowBits: Int32(max(bits, 9)))
        for (index, (payload, message)) in zip(zlibPayloads, messages).enumerated() {
            let decoded = (try? client.decompressed(fragments: fragments(payload, size: 1000)).get()) == message
            #expect(decoded, "message \(index) from zlib decodes")
        }
    }

    @Test func smallerWindowIsEnforced() {
        // A 15-bit stream referring 20 000 bytes back cannot decode with a 10-bit window.
        var random = TestRandom(seed: 3)
        let block = random.bytes(20_000)
        let payloads = zlibCompressMessages([block, block], windowBits: 15)
        let (_, client) = codecPair(DeflateParameters(serverMaxWindowBits: 10))
        #expect(client.decompressed(payloads[0]) == .success(block))
        guard case .failure(.invalidData) = client.decompressed(payloads[1]) else {
            Issue.record("distance beyond the agreed window was accepted")
            return
        }
    }

    @Test(arguments: ["random", "text"])
    func sixteenMebibyteRoundTrip(kind: String) {
        var random = TestRandom(seed: 16)
        let size = 16 << 20
        let message = kind == "random" ? random.bytes(size) : random.text(size)
        let (server, client) = codecPair()
        let payload = server.compressed(message)!
        if kind == "text" { #expect(payload.count < size / 2) }
        // The limit equals the size exactly: a message that just fits is accepted.
        let result = client.decompressed(fragments: fragments(payload, size: 100_000), limit: size)
        // Compared as a Bool: a failing #expect would print 16 MiB of bytes.
        let roundTripped = (try? result.get()) == message
        #expect(roundTripped)
        // And one byte less is too big.
        let (_, fresh) = codecPair()
        #expect(fresh.decompressed(fragments: fragments(payload, size: 100_000), limit: size - 1).failure == .messageTooBig)
    }

    @Test func decompressionBombStopsAtTheLimit() {
        let zeros = [UInt8](repeating: 0, count: 10 << 20)
        let bomb = zlibCompressMessages([zeros], windowBits: 15, level: 9)[0]
        #expect(bomb.count < 16 << 10)
        let limit = 1 << 20
        for fragmentSize in [bomb.count, 100, 1] {
            let (_, client) = codecPair()
            var output: [UInt8] = []
            var failure: ExtensionFailure?
            for (index, piece) in fragments(bomb, size: fragmentSize).enumerated() where failure == nil {
                failure = piece.withUnsafeBytes {
                    client.decompress($0, isFinal: index == (bomb.count - 1) / fragmentSize, into: &output, limit: limit)
                }
            }
            #expect(failure == .messageTooBig)
            #expect(output.count <= limit)
            #expect(output.capacity < 2 << 20, "capacity \(output.capacity)")
        }
    }

    @Test func limitCountsWhatTheOutputAlreadyHolds() {
        let (_, client) = codecPair()
        var output = [UInt8](repeating: 1, count: 3)
        let failure = hex("f2 48 cd c9 c9 07 00").withUnsafeBytes {
            client.decompress($0, isFinal: true, into: &output, limit: 7)
        }
        #expect(failure == .messageTooBig)
        #expect(output.count <= 7)
    }

    @Test func unlimitedAndTightLimits() {
        let (_, client) = codecPair()
        #expect(client.decompressed(hex("f2 48 cd c9 c9 07 00"), limit: .max) == .success(hello))
        #expect(client.decompressed(hex("f2 00 11 00 00"), limit: 5) == .success(hello))
        #expect(client.decompressed(hex("f2 00 11 00 00"), limit: 4) == .failure(.messageTooBig))
        #expect(client.decompressed(hex("f2 48 cd c9 c9 07 00"), limit: 0) == .failure(.messageTooBig))
    }

    @Test(arguments: [
        "ff ff ff ff",  // reserved block type 11
        "00 05 00 00 00 48 65 6c 6c 6f 00",  // stored block whose NLEN is not ~LEN
        "f2 48 cd",  // ends inside a block
        "f2 00 11 00 00",  // refers to a window that is empty
        "f3 48 cd c9 c9 07 00 ff",  // a final block followed by a reserved block type
    ])
    func invalidDataIsReported(_ payload: String) {
        let (_, client) = codecPair()
        guard case .failure(.invalidData(let reason)) = client.decompressed(hex(payload)) else {
            Issue.record("\(payload) was accepted")
            return
        }
        #expect(!reason.isEmpty)
        // The codec stays usable after a failure.
        #expect(client.decompressed(hex("f2 48 cd c9 c9 07 00")) == .success(hello))
    }

    @Test func randomGarbageNeverCrashes() {
        var random = TestRandom(seed: 99)
        let (_, client) = codecPair()
        for round in 0..<2000 {
            let garbage = random.bytes(Int(random.next() % 64))
            let result = client.decompressed(fragments: fragments(garbage, size: 1 + round % 7), limit: 4096)
            if case .success(let output) = result { #expect(output.count <= 4096) }
        }
    }

    /// A small last fragment is inflated together with the RFC 7692 tail in one call; an
    /// empty last fragment takes the two-call path. Both must agree on every input, valid
    /// or not, including streams that end on a final block (where the tail must not be
    /// fed), and must leave the codec in the same state (checked with a message that
    /// refers back to the window).
    @Test func lastFragmentJoinedWithTheTailMatchesTheTwoCallPath() {
        var random = TestRandom(seed: 2024)
        let (server, _) = codecPair()
        var inputs: [[UInt8]] = RFCExampleTests.examples + [
            hex("f3 48 cd c9 c9 07 00"), hex("f3 48 cd c9 c9 07 00 f2 00 11 00 00"), hex("03 00"), hex("03 00 03 00"),
            hex("00"), hex("01 00 00 ff ff"), hex("00 00 00 ff ff"), hex("f2 48 cd c9 c9 07 00 00 00 ff ff"),
            hex("f2 48 cd c9 c9 07 00 03 00"), hex("f3 48 cd c9 c9 07 00 00 00"), hex("f3 48 cd c9 c9 07 00 01 00 00 ff ff"),
        ]
        for size in [1, 20, 300, 1000, 1020, 1024] {
            let message = random.text(size * 3)
            inputs.append(Array(server.compressed(message)!.prefix(1024)))
        }
        for _ in 0..<1500 {
            var input = inputs[Int(random.next() % UInt64(inputs.count))]
            switch random.next() % 4 {
            case 0: input = random.bytes(Int(random.next() % 40))
            case 1 where !input.isEmpty: input[Int(random.next() % UInt64(input.count))] ^= UInt8(1 << (random.next() % 8))
            case 2 where !input.isEmpty: input.removeLast(Int(random.next() % UInt64(min(input.count, 6))))
            default: break
            }
            inputs.append(input)
        }
        let followUp = hex("f2 00 11 00 00")  // "Hello" again if the window ends with it
        for (index, input) in inputs.enumerated() where !input.isEmpty && input.count <= 1024 {
            for limit in [Int.max, 3] {
                let (_, joined) = codecPair()
                let (_, apart) = codecPair()
                let joinedResult = joined.decompressed(fragments: [input], limit: limit)
                let apartResult = apart.decompressed(fragments: [input, []], limit: limit)
                #expect(joinedResult == apartResult, "input \(index): \(hexString(input)) limit \(limit)")
                #expect(joined.decompressed(followUp) == apart.decompressed(followUp), "after input \(index)")
            }
        }
    }

    @Test func emptyMessages() {
        let (server, client) = codecPair()
        #expect(server.compressed([]) == hex("00"))
        #expect(client.decompressed(hex("00")) == .success([]))
        #expect(client.decompressed([]) == .success([]))
        #expect(client.decompressed(hex("f2 48 cd c9 c9 07 00")) == .success(hello))
    }

    @Test func incompressibleMessageIsSentAsIsAndForgotten() {
        let server = PerMessageDeflate(parameters: DeflateParameters(), role: .server)
        let (_, client) = codecPair()
        var random = TestRandom(seed: 5)
        let noise = random.bytes(300)
        let first = random.text(1000)
        let firstPayload = server.compressed(first)!
        #expect(client.decompressed(firstPayload) == .success(first))
        #expect(server.compressed(noise) == nil, "random bytes do not shrink")
        #expect(server.compressed([]) == nil)
        // The peer never saw `noise`, so the next message must not refer to it.
        let third = noise + noise + random.text(100)
        let thirdPayload = server.compressed(third)!
        #expect(client.decompressed(thirdPayload) == .success(third))
    }

    @Test func warmCodecReusesTheOutputBuffers() {
        let (server, client) = codecPair()
        var random = TestRandom(seed: 11)
        let messages = (0..<8).map { _ in random.text(50_000) }
        var compressed: [UInt8] = []
        var decompressed: [UInt8] = []
        var addresses: Set<UnsafeRawPointer> = []
        for round in 0..<40 {
            let message = messages[round % messages.count]
            #expect(message.withUnsafeBytes { server.compress($0, into: &compressed) })
            decompressed.removeAll(keepingCapacity: true)
            let failure = compressed.withUnsafeBytes {
                client.decompress($0, isFinal: true, into: &decompressed, limit: 1 << 20)
            }
            #expect(failure == nil)
            #expect(decompressed == message)
            if round >= messages.count {
                _ = compressed.withUnsafeBytes { addresses.insert(UnsafeRawPointer($0.baseAddress!)) }
                _ = decompressed.withUnsafeBytes { addresses.insert(UnsafeRawPointer($0.baseAddress!)) }
            }
        }
        #expect(addresses.count == 2, "buffers were reallocated after warm-up")
    }

    @Test func compressionLevelsAndMemoryLevelsRoundTrip() {
        var random = TestRandom(seed: 12)
        let message = random.text(30_000)
        for level in [-1, 0, 1, 9] {
            let server = PerMessageDeflate(parameters: DeflateParameters(), role: .server, compressionLevel: level, memoryLevel: 1)
            server.compressesOnlyWhenSmaller = false
            let payload = server.compressed(message)!
            #expect(codecPair().client.decompressed(payload) == .success(message), "level \(level)")
        }
    }
}
