// libFuzzer target for the frame-spec parser (Sources/Inspector/FrameSpec.swift).
//
// Built and run by `scripts/fuzz.sh frame-spec`. By hand (from the package root): each
// library is its own module, as in SwiftPM, so the sources keep their `import WebSocket`
// lines. The Inspector module is built from the
// files the frame-spec language and recordings need (the rest of Inspector pulls in the
// transport):
//
//   OUT=/tmp/inspectorfuzz-build; mkdir -p $OUT
//   F="-parse-as-library -sanitize=fuzzer,address -O -g -I $OUT"
//   swiftc $F -module-name WebSocket -emit-module -emit-module-path $OUT/WebSocket.swiftmodule \
//     -emit-library -static -o $OUT/libWebSocket.a Sources/WebSocket/*.swift
//   I=Sources/Inspector
//   swiftc $F -module-name Inspector -emit-module -emit-module-path $OUT/Inspector.swiftmodule \
//     -emit-library -static -o $OUT/libInspector.a $I/FrameSpec.swift $I/Recording*.swift \
//     $I/HAR.swift $I/JSON*.swift $I/SafeText.swift $I/SessionEvent.swift $I/EventLine.swift
//   swiftc $F -use-ld=lld -module-name FrameSpecFuzz Fuzz/FrameSpecFuzz/main.swift \
//     -L $OUT -lInspector -lWebSocket -o /tmp/framespecfuzz
//
// Run: /tmp/framespecfuzz -max_total_time=60 -max_len=512 -dict=Fuzz/FrameSpecFuzz/framespec.dict \
//        /tmp/framespec-corpus Fuzz/FrameSpecFuzz/seeds
// (-use-ld=lld only silences gold's "cannot export local symbol __asan_*" warnings.)

import Inspector
import WebSocket

/// Arbitrary bytes are a spec (decoded as UTF-8, invalid bytes replaced). Byte 0's low
/// bit picks the role. The parser must never crash; an error must point inside the spec
/// (or just past its end); a frame's wire bytes must be its header and payload as the
/// spec says; and its canonical rendering must parse back to the same frame.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let role: Role = data[0] & 1 == 0 ? .client : .server
    let spec = String(decoding: UnsafeBufferPointer(start: data + 1, count: size - 1), as: UTF8.self)
    let key = Header.maskKey(0xA1, 0xB2, 0xC3, 0xD4)
    let readFile: FrameSpec.FileReader = { path in
        if path == "missing" { throw FuzzFileError() }
        return Array(path.utf8.prefix(64))
    }
    let frame: CraftedFrame
    do {
        frame = try FrameSpec.parse(spec, role: role, readFile: readFile, randomKey: { key })
    } catch {
        let columns = spec.unicodeScalars.count + 1
        precondition(error.column >= 1 && error.column <= columns, "column \(error.column) outside 1...\(columns): \(error)")
        precondition(!error.message.isEmpty)
        precondition(!error.description.contains("\u{1b}"), "unescaped escape in \(error)")
        _ = error.pointing(into: spec)
        return 0
    }
    precondition(frame.repeatCount >= 1)
    precondition(frame.writes.reduce(0) { $0 + $1.count } == frame.wire.count)
    guard let header = frame.header else {
        precondition(frame.wire == frame.payload)
        return 0
    }
    precondition(frame.wire == Frame(header: header, payload: frame.payload).wireBytes(lengthEncoding: frame.lengthEncoding))
    if case .header(let decoded, _) = Header.decode(frame.wire) {
        precondition(decoded == header, "wire header \(decoded) != \(header)")
    } else {
        preconditionFailure("wire bytes do not start with a header")
    }
    let canonical = FrameSpec.render(frame, role: role, includeMaskKey: true)
    do {
        let again = try FrameSpec.parse(canonical, role: role, readFile: readFile, randomKey: { key })
        precondition(again.header == header && again.payload == frame.payload && again.wire == frame.wire,
                     "round trip changed the frame: \(canonical)")
        precondition(FrameSpec.render(again, role: role, includeMaskKey: true) == canonical, "rendering is not canonical")
    } catch {
        preconditionFailure("canonical spec '\(canonical)' does not parse: \(error)")
    }
    return 0
}

struct FuzzFileError: Error {}
