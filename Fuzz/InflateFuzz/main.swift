// Build (from the package root). Each library is its own module, as in SwiftPM, so the
// sources keep their `import WebSocket` / `import WebSocketUtil` lines unchanged:
//
//   OUT=/tmp/inflatefuzz-build; mkdir -p $OUT
//   F="-parse-as-library -sanitize=fuzzer,address -O -g -I $OUT"
//   swiftc $F -module-name WebSocket -emit-module -emit-module-path $OUT/WebSocket.swiftmodule \
//     -emit-library -static -o $OUT/libWebSocket.a Sources/WebSocket/*.swift
//   swiftc $F -module-name WebSocketUtil -emit-module -emit-module-path $OUT/WebSocketUtil.swiftmodule \
//     -emit-library -static -o $OUT/libWebSocketUtil.a Sources/WebSocketUtil/*.swift
//   swiftc $F -I Sources/CZlib -module-name WebSocketDeflate -emit-module \
//     -emit-module-path $OUT/WebSocketDeflate.swiftmodule \
//     -emit-library -static -o $OUT/libWebSocketDeflate.a Sources/WebSocketDeflate/*.swift
//   swiftc $F -use-ld=lld -I Sources/CZlib -module-name InflateFuzz Fuzz/InflateFuzz/main.swift \
//     -L $OUT -lWebSocketDeflate -lWebSocketUtil -lWebSocket -lz -o /tmp/inflatefuzz
//
// Run: /tmp/inflatefuzz -max_total_time=60 -max_len=4096 CORPUS_DIR
// (-use-ld=lld only silences gold's "cannot export local symbol __asan_*" warnings.)

import WebSocket
import WebSocketDeflate
import WebSocketUtil

/// libFuzzer target for permessage-deflate. Arbitrary bytes become the fragments of
/// compressed messages fed to the decompressor, which must never crash, never let the
/// output pass the limit, and stay usable after any failure. The same bytes then make a
/// compress/decompress round trip, which must be exact.
///
/// Input layout: byte 0 picks the negotiated parameters and our role, byte 1 the limit
/// (in steps of 64 bytes, so the limit path is hit often). Then each control byte `c`
/// announces a fragment of `c % 32 + 1` bytes taken from what follows; `c >= 0xF0` (or
/// the end of the input) makes it the message's last fragment, so one input holds several
/// messages that share a window.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    let bytes = UnsafeRawBufferPointer(input)
    guard input.count >= 2 else { return 0 }
    let selector = input[0]
    let parameters = DeflateParameters(
        serverNoContextTakeover: selector & 0x80 != 0,
        clientNoContextTakeover: selector & 0x40 != 0,
        serverMaxWindowBits: 8 + Int(selector & 0x07),
        clientMaxWindowBits: 8 + Int((selector >> 3) & 0x07))
    let role: Role = selector & 0x20 != 0 ? .server : .client
    let limit = Int(input[1]) * 64
    let codec = PerMessageDeflate(parameters: parameters, role: role)

    var output: [UInt8] = []
    var position = 2
    while position < input.count {
        let control = input[position]
        position += 1
        let length = min(Int(control % 32) + 1, input.count - position)
        let isFinal = control >= 0xF0 || position + length >= input.count
        let fragment = UnsafeRawBufferPointer(rebasing: bytes[position..<(position + length)])
        position += length
        let failure = codec.decompress(fragment, isFinal: isFinal, into: &output, limit: limit)
        precondition(output.count <= limit, "output \(output.count) exceeds limit \(limit)")
        // On failure the connection would close; the codec must still be usable.
        if failure != nil || isFinal { output.removeAll(keepingCapacity: true) }
    }

    // Every input ended its last message, so a self-contained message must decode now.
    let hello: [UInt8] = [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]
    if limit >= 5 {
        let failure = hello.withUnsafeBytes { codec.decompress($0, isFinal: true, into: &output, limit: limit) }
        precondition(failure == nil && output == Array("Hello".utf8), "codec unusable after fuzz input: \(String(describing: failure))")
    }

    // Round trip: our compressor in the peer's role feeds our decompressor.
    let sender = PerMessageDeflate(parameters: parameters, role: role.peer)
    sender.compressesOnlyWhenSmaller = false
    let receiver = PerMessageDeflate(parameters: parameters, role: role)
    var compressed: [UInt8] = []
    var decompressed: [UInt8] = []
    for _ in 0..<2 {  // twice, so the second message may refer to the first
        precondition(sender.compress(bytes, into: &compressed), "compression failed")
        decompressed.removeAll(keepingCapacity: true)
        let failure = compressed.withUnsafeBytes {
            receiver.decompress($0, isFinal: true, into: &decompressed, limit: input.count)
        }
        precondition(failure == nil && decompressed.elementsEqual(input), "round trip mismatch: \(String(describing: failure))")
    }
    return 0
}
