import Foundation
import Testing
import WebSocket

@Suite("SHA-1")
struct SHA1Tests {
    // FIPS 180 / RFC 3174 test vectors.
    @Test("FIPS 180 vectors", arguments: [
        ("", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ("abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
        (
            "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
            "a49b2446a02c645bf419f995b67091253a04a259"
        ),
        ("The quick brown fox jumps over the lazy dog", "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"),
    ])
    func vector(input: String, digest: String) {
        #expect(SHA1.hash(input).description == digest)
        #expect(SHA1.hash(Array(input.utf8)).bytes.count == 20)
    }

    @Test("one million 'a'")
    func millionA() {
        let input = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(SHA1.hash(input).description == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }

    @Test("lengths around the padding boundary and any split give the same digest as one update")
    func incrementalUpdates() {
        // 55, 56 and 64 bytes are where the length does or does not fit in the last block.
        for length in [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 200] {
            let message = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
            let whole = SHA1.hash(message)
            for chunk in [1, 3, 17, 64, 100] {
                var hasher = SHA1()
                var start = 0
                while start < message.count {
                    let end = min(start + chunk, message.count)
                    hasher.update(Array(message[start..<end]))
                    start = end
                }
                #expect(hasher.finalize() == whole, "length \(length) chunk \(chunk)")
            }
        }
    }

    @Test("a 1 KiB message in pieces matches the reference digest of the whole")
    func chunkedMatchesReference() {
        // sha1sum of 1024 bytes 0x00...0xff repeated four times.
        let message = (0..<1024).map { UInt8(truncatingIfNeeded: $0) }
        #expect(SHA1.hash(message).description == "5b00669c480d5cffbdfa8bdba99561160f2d1b77")
    }
}

@Suite("Base64")
struct Base64Tests {
    // RFC 4648 section 10.
    static let vectors: [(String, String)] = [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
    ]

    @Test("RFC 4648 vectors encode", arguments: vectors)
    func encode(plain: String, encoded: String) {
        #expect(Base64.encode(Array(plain.utf8)) == encoded)
        #expect(Base64.encode(utf8: plain) == encoded)
    }

    @Test("RFC 4648 vectors decode", arguments: vectors)
    func decode(plain: String, encoded: String) {
        #expect(Base64.decode(encoded) == Array(plain.utf8))
    }

    @Test("encoding into a buffer reports the length and refuses a short buffer")
    func encodeIntoBuffer() {
        let input: [UInt8] = Array("foobar".utf8)
        var output = [UInt8](repeating: 0, count: 8)
        let written = input.withUnsafeBytes { source in output.withUnsafeMutableBytes { Base64.encode(source, into: $0) } }
        #expect(written == 8)
        #expect(String(decoding: output, as: UTF8.self) == "Zm9vYmFy")

        var short = [UInt8](repeating: 0, count: 7)
        let refused = input.withUnsafeBytes { source in short.withUnsafeMutableBytes { Base64.encode(source, into: $0) } }
        #expect(refused == nil)
        #expect(short == [UInt8](repeating: 0, count: 7))
    }

    @Test("invalid input is refused", arguments: [
        "Zm9", "Zm9vY", "Zm9v!A==", "Z===", "====", "Zg=a", "=Zg=", "Zm=v", "Zm9v Yg==", "Zg==Zg==", "Zm9vYg=\n",
    ])
    func invalid(encoded: String) {
        #expect(Base64.decode(encoded) == nil)
    }

    @Test("decoding refuses an output buffer that is too small")
    func decodeShortBuffer() {
        let encoded = Array("Zm9vYmFy".utf8)
        var output = [UInt8](repeating: 0, count: 5)
        let written = encoded.withUnsafeBytes { source in output.withUnsafeMutableBytes { Base64.decode(source, into: $0) } }
        #expect(written == nil)
    }

    @Test("matches Foundation on every length up to 100 bytes")
    func matchesFoundation() {
        var generator = SystemRandomNumberGenerator()
        for length in 0...100 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let expected = Data(bytes).base64EncodedString()
            #expect(Base64.encode(bytes) == expected)
            #expect(Base64.decode(expected) == bytes)
        }
    }
}

@Suite("Handshake keys")
struct HandshakeKeyTests {
    @Test("RFC 6455 section 1.3: the sample key gives the sample accept value")
    func rfcExample() {
        #expect(webSocketAccept(key: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        #expect(Base64.encode(utf8: "the sample nonce") == "dGhlIHNhbXBsZSBub25jZQ==")
    }

    @Test("the buffer API writes 28 bytes, and nothing into a short buffer")
    func bufferAPI() {
        let key = Array("dGhlIHNhbXBsZSBub25jZQ==".utf8)
        var out = [UInt8](repeating: 0, count: 32)
        let written = key.withUnsafeBytes { k in out.withUnsafeMutableBytes { webSocketAcceptKey(for: k, into: $0) } }
        #expect(written == 28)
        #expect(String(decoding: out[..<28], as: UTF8.self) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")

        var short = [UInt8](repeating: 0, count: 27)
        let refused = key.withUnsafeBytes { k in short.withUnsafeMutableBytes { webSocketAcceptKey(for: k, into: $0) } }
        #expect(refused == 0)
    }

    @Test("key validity: base64 of exactly 16 bytes", arguments: [
        ("dGhlIHNhbXBsZSBub25jZQ==", true),
        ("AAAAAAAAAAAAAAAAAAAAAA==", true),
        ("dGhlIHNhbXBsZSBub25jZQ", false),  // padding missing
        ("dGhlIHNhbXBsZSBub25jZTE=", false),  // 17 bytes
        ("dGhlIHNhbXBsZSBub25j", false),  // 15 bytes
        ("dGhlIHNhbXBsZSBub25jZ!==", false),  // not base64
        ("", false),
    ])
    func keyValidity(key: String, valid: Bool) {
        let bytes = Array(key.utf8)
        #expect(bytes.withUnsafeBytes { isValidWebSocketKey($0) } == valid)
    }

    @Test("generated keys are valid and differ")
    func generatedKeys() {
        var generator = SystemRandomNumberGenerator()
        let first = makeWebSocketKey(using: &generator)
        let second = makeWebSocketKey(using: &generator)
        #expect(first != second)
        #expect(Array(first.utf8).withUnsafeBytes { isValidWebSocketKey($0) })
    }
}
