import Testing
import WebSocket

/// The examples of RFC 6455 section 5.7, byte for byte, in both directions.
struct FrameRFCExampleTests {
    static let hello = Array("Hello".utf8)
    /// The mask key of the section 5.7 masked examples: 0x37 0xfa 0x21 0x3d.
    static let rfcKey = Header.maskKey(0x37, 0xFA, 0x21, 0x3D)

    /// Decodes `wire` as one frame: checks the header, that the payload fills the rest of
    /// the bytes exactly, and returns the unmasked payload.
    static func decodeFrame(
        _ wire: [UInt8], expecting expected: Header, headerSize: Int, sourceLocation: SourceLocation = #_sourceLocation
    ) -> [UInt8]? {
        guard case .header(let header, let size) = Header.decode(wire) else {
            Issue.record("no header in \(FrameFixture.hexString(Array(wire.prefix(14))))", sourceLocation: sourceLocation)
            return nil
        }
        #expect(header == expected, sourceLocation: sourceLocation)
        #expect(size == headerSize, sourceLocation: sourceLocation)
        #expect(size == header.encodedSize, sourceLocation: sourceLocation)
        #expect(UInt64(wire.count - size) == header.length, sourceLocation: sourceLocation)
        let payload = Array(wire[size...])
        return header.masked ? FrameFixture.unmasked(payload, key: header.maskKey) : payload
    }

    /// Every way the library can produce the wire bytes of `frame`.
    static func expectEncodings(of frame: Frame, equal wire: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        let wireBytes = frame.wireBytes() == wire
        #expect(wireBytes, "wireBytes()", sourceLocation: sourceLocation)
        let minimal = frame.wireBytes(lengthEncoding: .minimal) == wire
        #expect(minimal, "wireBytes(lengthEncoding: .minimal)", sourceLocation: sourceLocation)

        let headerSize = frame.header.encodedSize
        #expect(frame.header.encoded() == Array(wire[..<headerSize]), sourceLocation: sourceLocation)
        var buffer = [UInt8](repeating: 0xEE, count: Header.maximumSize)
        let headerWritten = buffer.withUnsafeMutableBytes { frame.header.encode(into: $0) }
        #expect(headerWritten == headerSize, sourceLocation: sourceLocation)
        #expect(Array(buffer[..<headerSize]) == Array(wire[..<headerSize]), sourceLocation: sourceLocation)

        // The zero-copy writer appends to existing output and reuses it.
        var output: [UInt8] = [0xAB, 0xCD]
        frame.payload.withUnsafeBytes { Frame.write(header: frame.header, payload: $0, into: &output) }
        let written = Array(output[2...]) == wire
        #expect(written, "Frame.write", sourceLocation: sourceLocation)
        #expect(output[..<2] == [0xAB, 0xCD], sourceLocation: sourceLocation)
    }

    @Test func singleFrameUnmaskedText() {
        let wire = FrameFixture.hex("0x81 0x05 0x48 0x65 0x6c 0x6c 0x6f")
        let header = Header(fin: true, opcode: .text, masked: false, length: 5)
        #expect(Self.decodeFrame(wire, expecting: header, headerSize: 2) == Self.hello)
        Self.expectEncodings(of: Frame(header: header, payload: Self.hello), equal: wire)
        // The builder for a server (which never masks) gives the same bytes.
        #expect(Frame.text("Hello", role: .server).wireBytes() == wire)
    }

    @Test func singleFrameMaskedText() {
        let wire = FrameFixture.hex("0x81 0x85 0x37 0xfa 0x21 0x3d 0x7f 0x9f 0x4d 0x51 0x58")
        let header = Header(fin: true, opcode: .text, masked: true, maskKey: Self.rfcKey, length: 5)
        #expect(header.maskKeyBytes == [0x37, 0xFA, 0x21, 0x3D])
        #expect(Self.decodeFrame(wire, expecting: header, headerSize: 6) == Self.hello)
        Self.expectEncodings(of: Frame(header: header, payload: Self.hello), equal: wire)

        // Unmasking the masked payload one byte at a time at running offsets.
        var payload = Array(wire[6...])
        for index in payload.indices {
            payload.withUnsafeMutableBytes {
                Cipher.mask(UnsafeMutableRawBufferPointer(rebasing: $0[index...index]), key: Self.rfcKey, offset: index)
            }
        }
        #expect(payload == Self.hello)
    }

    @Test func clientBuilderMasksWithAFreshKey() {
        let frame = Frame.text("Hello", role: .client)
        #expect(frame.header.masked)
        let wire = frame.wireBytes()
        #expect(wire.count == 2 + 4 + 5)
        #expect(wire[0] == 0x81 && wire[1] == 0x85)
        #expect(Array(wire[2..<6]) == frame.header.maskKeyBytes)
        #expect(Self.decodeFrame(wire, expecting: frame.header, headerSize: 6) == Self.hello)
    }

    @Test func fragmentedUnmaskedText() {
        let first = FrameFixture.hex("0x01 0x03 0x48 0x65 0x6c")
        let second = FrameFixture.hex("0x80 0x02 0x6c 0x6f")
        let firstHeader = Header(fin: false, opcode: .text, length: 3)
        let secondHeader = Header(fin: true, opcode: .continuation, length: 2)
        #expect(Self.decodeFrame(first, expecting: firstHeader, headerSize: 2) == Array("Hel".utf8))
        #expect(Self.decodeFrame(second, expecting: secondHeader, headerSize: 2) == Array("lo".utf8))
        Self.expectEncodings(of: Frame(header: firstHeader, payload: Array("Hel".utf8)), equal: first)
        Self.expectEncodings(of: Frame(header: secondHeader, payload: Array("lo".utf8)), equal: second)
        #expect(Frame.data(.text, Array("Hel".utf8), fin: false).wireBytes() == first)
        #expect(Frame.data(.continuation, Array("lo".utf8)).wireBytes() == second)

        // Both frames back to back in one buffer, read like a reader does.
        let stream = first + second
        guard case .header(let h1, let s1) = Header.decode(stream) else { Issue.record("first"); return }
        let next = s1 + Int(h1.length)
        guard case .header(let h2, let s2) = Header.decode(Array(stream[next...])) else { Issue.record("second"); return }
        #expect(h1 == firstHeader && h2 == secondHeader)
        #expect(stream[s1..<next] + stream[(next + s2)...] == ArraySlice("Hello".utf8))
        #expect(h1.violation(receivedBy: .client, headerSize: s1) == nil)
        #expect(h2.violation(receivedBy: .client, headerSize: s2) == nil)
    }

    @Test func unmaskedPing() {
        let wire = FrameFixture.hex("0x89 0x05 0x48 0x65 0x6c 0x6c 0x6f")
        let header = Header(fin: true, opcode: .ping, length: 5)
        #expect(Self.decodeFrame(wire, expecting: header, headerSize: 2) == Self.hello)
        Self.expectEncodings(of: Frame(header: header, payload: Self.hello), equal: wire)
        #expect(Frame.ping(Self.hello).wireBytes() == wire)
        #expect(header.violation(receivedBy: .client, headerSize: 2) == nil)
    }

    @Test func maskedPong() {
        let wire = FrameFixture.hex("0x8a 0x85 0x37 0xfa 0x21 0x3d 0x7f 0x9f 0x4d 0x51 0x58")
        let header = Header(fin: true, opcode: .pong, masked: true, maskKey: Self.rfcKey, length: 5)
        #expect(Self.decodeFrame(wire, expecting: header, headerSize: 6) == Self.hello)
        Self.expectEncodings(of: Frame(header: header, payload: Self.hello), equal: wire)
        #expect(header.violation(receivedBy: .server, headerSize: 6) == nil)
    }

    @Test func binary256BytesUses16BitLength() {
        let payload = (0..<256).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let wire = FrameFixture.hex("0x82 0x7E 0x01 0x00") + payload
        let header = Header(fin: true, opcode: .binary, length: 256)
        #expect(header.encodedSize == 4)
        #expect(Self.decodeFrame(wire, expecting: header, headerSize: 4) == payload)
        Self.expectEncodings(of: Frame(header: header, payload: payload), equal: wire)
        #expect(Frame.binary(payload).wireBytes() == wire)
    }

    @Test func binary64KiBUses64BitLength() {
        let payload = (0..<65536).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 3) }
        let wire = FrameFixture.hex("0x82 0x7F 0x00 0x00 0x00 0x00 0x00 0x01 0x00 0x00") + payload
        let header = Header(fin: true, opcode: .binary, length: 65536)
        #expect(header.encodedSize == 10)
        let decoded = Self.decodeFrame(wire, expecting: header, headerSize: 10) == payload
        #expect(decoded)
        Self.expectEncodings(of: Frame(header: header, payload: payload), equal: wire)
        let built = Frame.binary(payload).wireBytes() == wire
        #expect(built)
    }

    @Test func masked64KiBRoundTripsThroughTheWire() {
        var random = FrameTestRandom(seed: 0x5_7)
        let payload = random.bytes(65536)
        let key = random.maskKey()
        let header = Header(opcode: .binary, masked: true, maskKey: key, length: 65536)
        let wire = Frame(header: header, payload: payload).wireBytes()
        #expect(Array(wire[..<14]) == FrameFixture.hex("82 ff 00 00 00 00 00 01 00 00") + header.maskKeyBytes)
        let decoded = Self.decodeFrame(wire, expecting: header, headerSize: 14) == payload
        #expect(decoded)
    }

    /// Decoding reads the header from any address (unaligned loads), through both the raw
    /// buffer and the `Span` entry points.
    @Test(arguments: 0..<8)
    func decodeAtAnyAlignment(shift: Int) {
        let wire = FrameFixture.hex("0x82 0xFF 0x00 0x00 0x00 0x00 0x00 0x01 0x00 0x00 0x37 0xfa 0x21 0x3d")
        let expected = Header(opcode: .binary, masked: true, maskKey: Self.rfcKey, length: 65536)
        let buffer = [UInt8](repeating: 0xAA, count: shift) + wire + [0xBB]
        let result = buffer.withUnsafeBytes { Header.decode(UnsafeRawBufferPointer(rebasing: $0[shift...])) }
        #expect(result == .header(expected, size: 14))
        let copy = Array(buffer[shift...])
        #expect(Header.decode(copy.span) == .header(expected, size: 14))
    }

    /// A length field that disagrees with the payload is written as is (for crafting).
    @Test func wireBytesWritesALyingLength() {
        let frame = Frame(header: Header(opcode: .text, length: 200), payload: Self.hello)
        let wire = frame.wireBytes()
        #expect(wire == [0x81, 0x7E, 0x00, 0xC8] + Self.hello)
        // Frame.write instead sets the length from the payload.
        var output: [UInt8] = []
        Self.hello.withUnsafeBytes { Frame.write(header: frame.header, payload: $0, into: &output) }
        #expect(output == [0x81, 0x05] + Self.hello)
    }

    @Test func nonMinimalEncodingsOfTheRFCText() {
        let header = Header(opcode: .text, length: 5)
        let frame = Frame(header: header, payload: Self.hello)
        #expect(frame.wireBytes(lengthEncoding: .extended16) == [0x81, 0x7E, 0x00, 0x05] + Self.hello)
        #expect(
            frame.wireBytes(lengthEncoding: .extended64) == [0x81, 0x7F, 0, 0, 0, 0, 0, 0, 0, 0x05] + Self.hello)
        let masked = Frame(header: Header(opcode: .text, masked: true, maskKey: Self.rfcKey, length: 5), payload: Self.hello)
        #expect(
            masked.wireBytes(lengthEncoding: .extended16)
                == FrameFixture.hex("81 fe 00 05 37 fa 21 3d 7f 9f 4d 51 58"))
    }
}
