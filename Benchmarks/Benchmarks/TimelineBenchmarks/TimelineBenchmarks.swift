// The terminal UI's store and screen model with a million frames (issue #5): no ncurses,
// no sockets; what `TerminalApp` does between the network and the terminal.
//
// The frames: 20-byte text payloads ("message number N"), alternately sent (masked) and
// received, each as an endpoint reports it (`SessionEvent.frame` with its own payload and
// wire arrays).
//
// `Timeline ingest`: one operation = one frame: its event is built (payload and wire
// arrays, as the endpoint builds them) and handed to `Session.record`, the store; every
// 10,000 frames the UI takes them in (`UIState.sync`) and draws a 120x40 screen
// (`Renderer.render`), as the app does when it redraws at 30 Hz under 300,000 frames/s.
// Custom metric: "resident bytes per frame", the growth of the process's resident set
// over the first million frames it stores (each benchmark runs in a fresh process; later
// iterations reuse the memory the first one freed, so the first one's figure is reported
// for all) divided by the frame count. Reference: `Event build only`, the same
// loop without the store and the UI (the events are built and dropped), so that the
// difference is the store's cost.
//
// On a timeline of 1,000,000 such frames (built once): `Timeline draw` renders one
// 120x40 screen with a different row selected each time; `Timeline filter/EXPR` types
// `/EXPR` and Enter (the filter runs over every entry when Enter is pressed; only Enter is
// measured) and is cleared with Esc outside the measured region; `Timeline page down`,
// `G` and `g` press the key and draw the screen, without and with a filter.

import Benchmark
import BenchmarkSupport
import Glibc
import Inspector
import TerminalUI
import WebSocket

let residentPerFrame = BenchmarkMetric.custom("resident bytes per frame", polarity: .prefersSmaller, useScalingFactor: false)

let frameCount = 1_000_000
let redrawEvery = 10_000

func timelineConfiguration(ops: BenchmarkScalingFactor, extra: [BenchmarkMetric] = [], seconds: Int = 2) -> Benchmark.Configuration {
    .init(
        metrics: standardMetrics + extra,
        tags: ["ops": "\(ops.rawValue)", "bytes": "0"],
        timeUnits: .nanoseconds,
        warmupIterations: ops == .mega ? 1 : 10,
        scalingFactor: ops,
        maxDuration: .seconds(seconds),
        maxIterations: 100_000
    )
}

/// The payloads: "message number N" cut to 20 bytes, for N below 100,000.
let payloads: [[UInt8]] = (0..<100_000).map { Array("message number \($0)".utf8.prefix(20)) }
let sentHeader = Header(opcode: .text, masked: true, maskKey: 0x3d21_fa37, length: 0)
let receivedHeader = Header(opcode: .text, length: 0)

/// The event of frame `index`, with new arrays, as an endpoint reports it.
@inline(__always)
func makeFrame(_ index: Int) -> SessionEvent {
    var payload = [UInt8]()
    payload.append(contentsOf: payloads[index % payloads.count])
    var header = index % 2 == 0 ? sentHeader : receivedHeader
    header.length = UInt64(payload.count)
    let wire = Frame(header: header, payload: payload).wireBytes()
    return .frame(connection: 1, direction: index % 2 == 0 ? .outgoing : .incoming, header: header, payload: payload, wire: wire)
}

func residentBytes() -> Int {
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

let config = UIConfig(mode: "connect", endpoint: "ws://127.0.0.1:9001/")

/// A UI over a session holding a million frames, built once.
final class Million: @unchecked Sendable {
    let session = Session(startMonotonicNanoseconds: 0)
    let ui: UIState

    init() {
        for index in 0..<frameCount { session.record(makeFrame(index)) }
        ui = UIState(source: session, config: config, width: 120, height: 40)
    }

    /// Types `/text` and Enter.
    func filter(_ text: String) {
        ui.handle(.char("/"))
        for character in text { ui.handle(.char(character)) }
        ui.handle(.enter)
    }

    func clearFilter() {
        ui.handle(.escape)
        ui.handle(.escape)
        precondition(ui.filter == nil && ui.rowCount == frameCount)
    }
}

let million = Lazy { Million() }
let firstGrowth = Box<Int?>(nil)

let benchmarks: @Sendable () -> Void = {
    Benchmark("Timeline ingest/16B text 1M", configuration: timelineConfiguration(ops: .mega, extra: [residentPerFrame], seconds: 8)) { benchmark in
        let residentBefore = residentBytes()
        var session: Session? = Session()
        var ui: UIState? = UIState(source: session!, config: config, width: 120, height: 40)
        var cells = 0
        benchmark.startMeasurement()
        for index in benchmark.scaledIterations {
            session!.record(makeFrame(index))
            if index % redrawEvery == redrawEvery - 1 {
                ui!.sync()
                cells &+= Renderer.render(ui!, theme: .standard).width
            }
        }
        ui!.sync()
        cells &+= Renderer.render(ui!, theme: .standard).width
        benchmark.stopMeasurement()
        precondition(ui!.rowCount == frameCount)
        if firstGrowth.value == nil { firstGrowth.value = (residentBytes() - residentBefore) / frameCount }
        benchmark.measurement(residentPerFrame, firstGrowth.value ?? 0)
        ui = nil
        session = nil
        blackHole(cells)
    }

    Benchmark("Event build only/16B text 1M", configuration: timelineConfiguration(ops: .mega, seconds: 4)) { benchmark in
        var checksum = 0
        benchmark.startMeasurement()
        for index in benchmark.scaledIterations {
            if case .frame(_, _, _, let payload, let wire) = makeFrame(index) { checksum &+= payload.count &+ wire.count }
        }
        benchmark.stopMeasurement()
        blackHole(checksum)
    }

    Benchmark("Timeline draw/120x40 1M", configuration: timelineConfiguration(ops: .one)) { benchmark in
        let state = million.value
        var row = 0
        for _ in benchmark.scaledIterations {
            row = (row &+ 7919) % frameCount
            state.ui.select(row: row)
            benchmark.startMeasurement()
            let screen = Renderer.render(state.ui, theme: .standard)
            benchmark.stopMeasurement()
            blackHole(screen.width)
        }
    }

    // A few kinds of filter: header fields only, a word (payload bytes searched in place),
    // a regular expression (the payload decoded as text).
    for expression in ["dir:in len>10", "op:ping", "number 4242", #"re:"number 9+$""#] {
        Benchmark("Timeline filter/\(expression) 1M", configuration: timelineConfiguration(ops: .one, seconds: 4)) { benchmark in
            let state = million.value
            state.clearFilter()
            state.ui.handle(.char("/"))
            for character in expression { state.ui.handle(.char(character)) }
            benchmark.startMeasurement()
            state.ui.handle(.enter)
            benchmark.stopMeasurement()
            precondition(state.ui.filter != nil)
            blackHole(state.ui.rowCount)
        }
    }

    for (name, key) in [("page down", Key.pageDown), ("G", Key.char("G")), ("g", Key.char("g"))] {
        for filtered in [false, true] {
            let label = "Timeline \(name)\(filtered ? " filtered" : "")/1M"
            Benchmark(label, configuration: timelineConfiguration(ops: .one)) { benchmark in
                let state = million.value
                if filtered ? state.ui.filter == nil : state.ui.filter != nil {
                    state.clearFilter()
                    if filtered { state.filter("dir:in") }
                }
                if key == .pageDown, let row = state.ui.selectedRow, row >= state.ui.rowCount - 100 { state.ui.handle(.char("g")) }
                benchmark.startMeasurement()
                state.ui.handle(key)
                let screen = Renderer.render(state.ui, theme: .standard)
                benchmark.stopMeasurement()
                blackHole(screen.width)
            }
        }
    }
}
