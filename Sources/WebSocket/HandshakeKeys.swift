/// The two keys of the opening handshake (RFC 6455 sections 4.1 and 4.2.2): the client's
/// Sec-WebSocket-Key (base64 of a random 16-byte nonce) and the server's
/// Sec-WebSocket-Accept (base64 of SHA-1 over the key text and a fixed GUID).

/// The GUID that RFC 6455 appends to the client key before hashing.
public let webSocketKeyGUID: StaticString = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/// The length of a Sec-WebSocket-Accept value: base64 of a 20-byte digest.
public let webSocketAcceptKeyCount = 28

/// The number of random bytes behind a Sec-WebSocket-Key.
public let webSocketKeyNonceCount = 16

/// The length of a Sec-WebSocket-Key value: base64 of 16 bytes.
public let webSocketKeyCount = 24

/// Writes the Sec-WebSocket-Accept value for the key text `key` (exactly as it appeared
/// in the header, whitespace trimmed) into the start of `out`. Returns 28, or 0 without
/// writing when `out` is shorter than 28 bytes. The key is hashed as text, so this works
/// for any key; checking that the key is well formed is `isValidWebSocketKey`'s job.
public func webSocketAcceptKey(for key: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int {
    guard out.count >= webSocketAcceptKeyCount else { return 0 }
    var hasher = SHA1()
    hasher.update(key)
    hasher.update(webSocketKeyGUID)
    let digest = hasher.finalize()
    return digest.withUnsafeBytes { Base64.encode($0, into: out) } ?? 0
}

/// The Sec-WebSocket-Accept value for `key`.
public func webSocketAccept(key: String) -> String {
    var key = key
    return key.withUTF8 { keyBytes in
        String(unsafeUninitializedCapacity: webSocketAcceptKeyCount) { out in
            webSocketAcceptKey(for: UnsafeRawBufferPointer(keyBytes), into: UnsafeMutableRawBufferPointer(out))
        }
    }
}

/// Whether `key` is what RFC 6455 section 4.2.1 requires of Sec-WebSocket-Key: padded
/// base64 that decodes to exactly 16 bytes.
public func isValidWebSocketKey(_ key: UnsafeRawBufferPointer) -> Bool {
    guard key.count == webSocketKeyCount else { return false }
    // 24 characters decode to at most 18 bytes; two of them are padding for a valid key.
    var decoded: (UInt64, UInt64, UInt64) = (0, 0, 0)
    let count = withUnsafeMutableBytes(of: &decoded) { Base64.decode(key, into: $0) }
    return count == webSocketKeyNonceCount
}

/// A fresh Sec-WebSocket-Key: base64 of 16 bytes from `generator`.
public func makeWebSocketKey<Generator: RandomNumberGenerator>(using generator: inout Generator) -> String {
    Base64.encode(makeWebSocketKeyNonce(using: &generator))
}

/// 16 random bytes for a Sec-WebSocket-Key.
public func makeWebSocketKeyNonce<Generator: RandomNumberGenerator>(using generator: inout Generator) -> [UInt8] {
    var nonce = [UInt8](repeating: 0, count: webSocketKeyNonceCount)
    for index in stride(from: 0, to: webSocketKeyNonceCount, by: 8) {
        let random = generator.next() as UInt64
        for byte in 0..<8 { nonce[index + byte] = UInt8(truncatingIfNeeded: random >> (byte * 8)) }
    }
    return nonce
}
