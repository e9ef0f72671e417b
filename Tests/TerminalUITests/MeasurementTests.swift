import Glibc
import Inspector
import Testing
import WebSocket
@testable import TerminalUI

/// A rough measurement, not a timed test: memory per stored frame and the time to draw
/// one screen over a timeline of a million frames. Runs only when asked:
///
///     WSCOPE_TUI_MEASURE=1 swift test -c release --filter TerminalUITests.MeasurementTests
///
/// and prints its numbers.
@Suite struct MeasurementTests {
    static var enabled: Bool { getenv("WSCOPE_TUI_MEASURE") != nil }

    static func residentBytes() -> Int {
        let fd = open("/proc/self/statm", O_RDONLY)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return 0 }
        let fields = String(decoding: buffer[0..<count], as: UTF8.self).split(separator: " ")
        guard fields.count >= 2, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    @Test(.enabled(if: MeasurementTests.enabled))
    func millionFrames() {
        let count = Int(getenv("WSCOPE_TUI_MEASURE_FRAMES").flatMap { Int(String(cString: $0)) } ?? 1_000_000)
        let residentBefore = Self.residentBytes()
        let session = Session()
        var start = Self.now()
        for index in 0..<count {
            // Typical small frames: a 20-byte text payload each way, masked when sent.
            let payload = Array("message number \(index % 100_000)".utf8.prefix(20))
            if index % 2 == 0 {
                let header = Header(opcode: .text, masked: true, maskKey: 0x3d21fa37, length: UInt64(payload.count))
                let wire = Frame(header: header, payload: payload).wireBytes()
                session.record(.frame(connection: 1, direction: .outgoing, header: header, payload: payload, wire: wire))
            } else {
                let header = Header(opcode: .text, length: UInt64(payload.count))
                let wire = Frame(header: header, payload: payload).wireBytes()
                session.record(.frame(connection: 1, direction: .incoming, header: header, payload: payload, wire: wire))
            }
        }
        let recordSeconds = Double(Self.now() - start) / 1e9
        let residentPerFrame = Double(Self.residentBytes() - residentBefore) / Double(count)

        start = Self.now()
        let ui = UIState(source: session, config: UIConfig(mode: "measure", endpoint: "ws://x"), width: 120, height: 40)
        let syncSeconds = Double(Self.now() - start) / 1e9
        let residentWithState = Double(Self.residentBytes() - residentBefore) / Double(count)

        var screen = Renderer.render(ui, theme: .standard)
        let draws = 200
        start = Self.now()
        for draw in 0..<draws {
            ui.select(row: (draw * 7919) % count)
            screen = Renderer.render(ui, theme: .standard)
        }
        let drawMicroseconds = Double(Self.now() - start) / 1e3 / Double(draws)

        start = Self.now()
        ui.applyFilter(try! Filter.parse("dir:in len>10"))
        let filterSeconds = Double(Self.now() - start) / 1e9
        let residentWithFilter = Double(Self.residentBytes() - residentBefore) / Double(count)
        start = Self.now()
        for draw in 0..<draws {
            ui.select(row: (draw * 7919) % ui.rowCount)
            screen = Renderer.render(ui, theme: .standard)
        }
        let filteredDrawMicroseconds = Double(Self.now() - start) / 1e3 / Double(draws)
        start = Self.now()
        ui.applyFilter(try! Filter.parse("hello"))
        let textSeconds = Double(Self.now() - start) / 1e9
        start = Self.now()
        ui.applyFilter(try! Filter.parse("re:\"number 9+$\""))
        let regexSeconds = Double(Self.now() - start) / 1e9

        print("""
            measurement: \(count) frames of 20-byte payloads, half sent (masked), half received
              record into Session:           \(fixed(recordSeconds, 2)) s
              resident bytes per frame:      \(fixed(residentPerFrame, 0)) (Session entry + payload and wire arrays)
              UIState first sync:            \(fixed(syncSeconds, 3)) s (stats over every entry)
              resident per frame with UI:    \(fixed(residentWithState, 0))
              draw one 120x40 screen:        \(fixed(drawMicroseconds, 1)) µs (timeline, panes, status; random selection)
              filter dir:in len>10:          \(fixed(filterSeconds, 3)) s, then \(fixed(residentWithFilter, 0)) resident bytes per frame
              draw with the filter:          \(fixed(filteredDrawMicroseconds, 1)) µs
              filter hello (text):           \(fixed(textSeconds, 3)) s
              filter re:"number 9+$":        \(fixed(regexSeconds, 3)) s (\(ui.rowCount) rows)
            """)
        #expect(screen.width == 120)
    }
}

/// `value` with `digits` decimals (no Foundation here).
private func fixed(_ value: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = Int((value * scale).rounded())
    if digits == 0 { return String(scaled) }
    let whole = scaled / Int(scale)
    var fraction = String(abs(scaled) % Int(scale))
    while fraction.count < digits { fraction = "0" + fraction }
    return "\(whole).\(fraction)"
}
