// libFuzzer target for the recording reader, `dump` and the HAR importer
// (Sources/Inspector/Recording*.swift, HAR.swift, JSON*.swift).
//
// Built and run by `scripts/fuzz.sh recording`. By hand: as Fuzz/FrameSpecFuzz/main.swift describes (same WebSocket and Inspector
// libraries), then
//   swiftc $F -use-ld=lld -module-name RecordingFuzz Fuzz/RecordingFuzz/main.swift \
//     -L $OUT -lInspector -lWebSocket -o /tmp/recordingfuzz
//
// Run: /tmp/recordingfuzz -max_total_time=60 -max_len=8192 -dict=Fuzz/RecordingFuzz/recording.dict \
//        /tmp/recording-corpus Fuzz/RecordingFuzz/seeds

import Inspector
import WebSocket

/// Byte 0 holds options (skip bad lines, a small line cap so the over-long-line path is
/// hit); the rest is a recording file. Reading must never crash; every event must format
/// as text and JSON; `dump --json` output must itself be a recording that reads back to
/// the same events and dumps to the same bytes (normalization is idempotent). The same
/// bytes also go through the HAR importer, and what it imports must export again.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let flags = data[0]
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let options = RecordingReader.Options(
        skipBadLines: flags & 1 != 0, maxLineBytes: flags & 2 != 0 ? 64 + Int(flags >> 2) * 8 : RecordingReader.defaultMaxLineBytes)

    if let reader = try? RecordingReader(bytes: bytes, options: options) {
        _ = RecordingDump.text(reader.header)
        var events: [RecordedEvent] = []
        var failed = false
        do {
            while let event = try reader.next() {
                _ = RecordingDump.text(event)
                events.append(event)
            }
        } catch {
            precondition(!options.skipBadLines, "skipBadLines still threw: \(error)")
            precondition(error.description.hasPrefix("line "), "unexpected error: \(error)")
            failed = true
        }
        _ = HAR.export(header: reader.header, events: events)

        // dump --json, then again on its own output.
        if !failed, let first = try? RecordingReader(bytes: bytes, options: options) {
            guard let dumped = try? RecordingDump.jsonLines(from: first) else {
                preconditionFailure("dump --json failed where reading succeeded")
            }
            guard let second = try? RecordingReader(bytes: dumped), let reread = try? second.readAll() else {
                preconditionFailure("dump --json output does not read back")
            }
            precondition(reread.count == events.count, "dump --json changed the number of events")
            for (a, b) in zip(events, reread) {
                precondition(RecordingDump.json(a) == RecordingDump.json(b), "dump --json changed an event")
            }
            guard let again = try? RecordingDump.jsonLines(from: RecordingReader(bytes: dumped)) else {
                preconditionFailure("dump --json output does not dump")
            }
            precondition(again == dumped, "dump --json is not idempotent")
        }
    }

    if let imported = try? HAR.importHAR(bytes) {
        let dataFrames = imported.events.filter {
            if case .frame(_, _, let header, _, _) = $0.event { return header.opcode == .text || header.opcode == .binary }
            return false
        }.count
        let exported = HAR.export(header: imported.header, events: imported.events)
        precondition(exported.report.messages == dataFrames, "HAR export lost messages")
        guard let back = try? HAR.importHAR(exported.har) else { preconditionFailure("exported HAR does not import") }
        precondition(back.report.messages == dataFrames, "HAR round trip lost messages")
    }
    return 0
}
