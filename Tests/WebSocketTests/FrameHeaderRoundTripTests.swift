import Testing
import WebSocket

/// Property tests over every combination of header fields: FIN, RSV1-3, all 16 opcodes,
/// masked or not, and the lengths at each boundary of the three length forms. Headers
/// only; no payload is allocated.
struct FrameHeaderRoundTripTests {
    /// The boundaries of the 7-bit, 16-bit and 64-bit length forms, and the extremes.
    static let lengths: [UInt64] = [0, 1, 125, 126, 127, 65535, 65536, 1 << 32, (1 << 32) + 1, UInt64(Int64.max)]

    /// Every header of the cross product, with random mask keys (seeded per opcode).
    static func headers(opcode: UInt8) -> [Header] {
        var random = FrameTestRandom(seed: 0xF4A3_0000 + UInt64(opcode))
        var result: [Header] = []
        for fin in [false, true] {
            for rsv in UInt8(0)...7 {
                for masked in [false, true] {
                    for length in lengths {
                        result.append(
                            Header(
                                fin: fin, rsv1: rsv & 4 != 0, rsv2: rsv & 2 != 0, rsv3: rsv & 1 != 0,
                                opcode: OpCode(nibble: opcode), masked: masked,
                                maskKey: masked ? random.maskKey() : 0, length: length))
                    }
                }
            }
        }
        return result
    }

    static func expectedSize(_ header: Header, _ encoding: LengthEncoding = .minimal) -> Int {
        let lengthBytes: Int
        switch encoding {
        case .minimal: lengthBytes = header.length < 126 ? 0 : header.length <= 0xFFFF ? 2 : 8
        case .extended16: lengthBytes = 2
        case .extended64: lengthBytes = 8
        }
        return 2 + lengthBytes + (header.masked ? 4 : 0)
    }

    @Test(arguments: UInt8(0)...15)
    func encodeThenDecodeGivesTheSameHeader(opcode: UInt8) {
        for header in Self.headers(opcode: opcode) {
            let size = Self.expectedSize(header)
            #expect(header.encodedSize == size, "\(header)")
            #expect(header.encodedSize(lengthEncoding: .minimal) == size)

            let bytes = header.encoded()
            #expect(bytes.count == size, "\(header)")
            #expect(bytes == FrameFixture.referenceEncoding(header), "\(header)")
            #expect(Header.decode(bytes) == .header(header, size: size), "\(header)")
            #expect(Header.decode(bytes.span) == .header(header, size: size), "\(header)")

            // Trailing bytes (the payload) do not change the header.
            #expect(Header.decode(bytes + [0xFF, 0x00, 0x81]) == .header(header, size: size))
            // The decoded header is judged minimal.
            if case .nonMinimalLength = header.violation(receivedBy: .server, headerSize: size) {
                Issue.record("minimal encoding judged non-minimal: \(header)")
            }
            if case .nonMinimalLength = header.violation(receivedBy: .client, headerSize: size) {
                Issue.record("minimal encoding judged non-minimal: \(header)")
            }
        }
    }

    /// `encode(into:)` writes exactly `encodedSize` bytes into a buffer of that size, and
    /// writes nothing (returns 0) into a smaller one.
    @Test(arguments: UInt8(0)...15)
    func encodeIntoExactAndShortBuffers(opcode: UInt8) {
        for header in Self.headers(opcode: opcode) {
            let size = header.encodedSize
            for capacity in 0...Header.maximumSize {
                var buffer = [UInt8](repeating: 0xA5, count: Header.maximumSize + 4)
                let written = buffer.withUnsafeMutableBytes {
                    header.encode(into: UnsafeMutableRawBufferPointer(rebasing: $0[1..<(1 + capacity)]))
                }
                if capacity < size {
                    #expect(written == 0, "\(header) capacity \(capacity)")
                    #expect(buffer.allSatisfy { $0 == 0xA5 }, "wrote into a short buffer: \(header) capacity \(capacity)")
                } else {
                    #expect(written == size, "\(header) capacity \(capacity)")
                    #expect(Array(buffer[1...size]) == FrameFixture.referenceEncoding(header))
                    #expect(buffer[0] == 0xA5 && buffer[(size + 1)...].allSatisfy { $0 == 0xA5 }, "wrote outside: \(header)")
                }
            }
        }
    }

    /// Every strict prefix of an encoded header asks for exactly the bytes still missing:
    /// up to two bytes it cannot know the size, so it asks for the rest of the first two.
    @Test(arguments: UInt8(0)...15)
    func strictPrefixesNeedTheExactMissingCount(opcode: UInt8) {
        for header in Self.headers(opcode: opcode) {
            for encoding in [LengthEncoding.minimal, .extended16, .extended64] {
                let bytes = header.encoded(lengthEncoding: encoding)
                if bytes.isEmpty { continue }  // length does not fit 16 bits
                for count in 0..<bytes.count {
                    let expected = count < 2 ? 2 - count : bytes.count - count
                    let prefix = Array(bytes[..<count])
                    #expect(Header.decode(prefix) == .needMore(expected), "\(header) \(encoding) prefix \(count)")
                    #expect(Header.decode(prefix.span) == .needMore(expected))
                }
            }
        }
    }

    /// Non-minimal encodings carry the same header, take their own size, and are flagged
    /// as such unless the chosen form happens to be the minimal one for the length.
    @Test(arguments: [LengthEncoding.extended16, .extended64])
    func explicitLengthEncodingsRoundTripAndAreJudged(encoding: LengthEncoding) {
        var random = FrameTestRandom(seed: encoding == .extended16 ? 16 : 64)
        var lengths = Self.lengths
        for _ in 0..<64 { lengths.append(random.next() % 70_000) }
        for length in lengths {
            for masked in [false, true] {
                for opcode in [OpCode.binary, .text, .continuation, .ping, .close] {
                    let header = Header(opcode: opcode, masked: masked, maskKey: masked ? random.maskKey() : 0, length: length)
                    let bytes = header.encoded(lengthEncoding: encoding)
                    if encoding == .extended16 && length > 0xFFFF {
                        #expect(bytes.isEmpty, "a 16-bit length cannot carry \(length)")
                        var buffer = [UInt8](repeating: 0, count: Header.maximumSize)
                        #expect(buffer.withUnsafeMutableBytes { header.encode(into: $0, lengthEncoding: encoding) } == 0)
                        continue
                    }
                    let size = Self.expectedSize(header, encoding)
                    #expect(header.encodedSize(lengthEncoding: encoding) == size)
                    #expect(bytes == FrameFixture.referenceEncoding(header, lengthEncoding: encoding), "\(header)")
                    #expect(Header.decode(bytes) == .header(header, size: size), "\(header) \(encoding)")

                    let role: Role = masked ? .server : .client
                    let violation = header.violation(receivedBy: role, headerSize: size)
                    let isMinimal = encoding == .extended16 ? length >= 126 : length > 0xFFFF
                    if opcode.isControl && length > 125 {
                        #expect(violation == .controlFrameTooLong(opcode, length: length))
                    } else if length >> 63 != 0 {
                        #expect(violation == .lengthMostSignificantBitSet)
                    } else if isMinimal {
                        #expect(violation == nil, "\(header) \(encoding)")
                    } else {
                        #expect(violation == .nonMinimalLength(length), "\(header) \(encoding)")
                        #expect(violation?.closeCode == .protocolError)
                    }
                }
            }
        }
    }

    /// Random headers from random bytes: whatever 14 bytes say, decoding then re-encoding
    /// with the same length form gives the bytes back.
    @Test func decodeThenEncodeReproducesAnyWireHeader() {
        var random = FrameTestRandom(seed: 0xDEC0DE)
        for _ in 0..<20_000 {
            let bytes = random.bytes(Header.maximumSize)
            guard case .header(let header, let size) = Header.decode(bytes) else {
                Issue.record("14 bytes always hold a header")
                continue
            }
            let form: LengthEncoding = bytes[1] & 0x7F == 127 ? .extended64 : bytes[1] & 0x7F == 126 ? .extended16 : .minimal
            #expect(header.encoded(lengthEncoding: form) == Array(bytes[..<size]), "\(FrameFixture.hexString(bytes))")
            #expect(size == header.encodedSize(lengthEncoding: form))
            #expect(size <= Header.maximumSize && size >= Header.minimumSize)
        }
    }

    @Test func maskKeyPacksTheWireOctetsInOrder() {
        var random = FrameTestRandom(seed: 4)
        for _ in 0..<1000 {
            let octets = random.bytes(4)
            let key = Header.maskKey(octets[0], octets[1], octets[2], octets[3])
            #expect(Header(opcode: .text, masked: true, maskKey: key).maskKeyBytes == octets)
            // The key is the four wire bytes loaded as a native UInt32.
            #expect(key == octets.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })
        }
    }

    @Test func opcodeTables() {
        let names = ["cont", "text", "binary", "op3", "op4", "op5", "op6", "op7", "close", "ping", "pong", "opb", "opc", "opd", "ope", "opf"]
        for raw in UInt8(0)...15 {
            let op = OpCode(nibble: raw)
            #expect(OpCode(rawValue: raw) == op)
            #expect(op.isControl == (raw >= 8))
            #expect(op.isData == (raw < 8))
            #expect(op.isReserved == ![0, 1, 2, 8, 9, 10].contains(raw))
            #expect(op.name == names[Int(raw)])
            #expect(OpCode(nibble: raw | 0xF0) == op)
        }
        for raw in UInt8(16)...255 { #expect(OpCode(rawValue: raw) == nil) }
    }

    @Test func rsvBitsPackAsThreeBits() {
        for bits in UInt8(0)...7 {
            let header = Header(rsv1: bits & 4 != 0, rsv2: bits & 2 != 0, rsv3: bits & 1 != 0, opcode: .binary)
            #expect(header.rsv == bits)
            #expect(header.encoded()[0] == 0x82 | bits << 4)
        }
    }
}
