import Inspector
import Testing
@testable import TerminalUI

/// The status bar's frames/s and bytes/s, computed from the entries' own times over the
/// last second (synthetic times here: nothing sleeps, nothing is timed).
@Suite struct StatusBarRateTests {
    @Test func theMeterCountsTheLastCompleteSecond() {
        var meter = RateMeter()
        #expect(meter.perSecond(atNs: 0) == (0, 0))
        // 10 frames of 100 bytes at 0.05 s, 0.15 s, ..., 0.95 s.
        for index in 0..<10 { meter.add(frames: 1, bytes: 100, atNs: UInt64(index) * 100_000_000 + 50_000_000) }
        // The 100 ms being filled is left out: at 0.999 s the frame of 0.95 s is not in yet.
        #expect(meter.perSecond(atNs: 999_000_000) == (9, 900))
        #expect(meter.perSecond(atNs: 1_000_000_000) == (10, 1000))
        // At 1.25 s the window is 0.2-1.2 s: the frames of 0.05 s and 0.15 s have left it.
        #expect(meter.perSecond(atNs: 1_250_000_000) == (8, 800))
        meter.add(frames: 1, bytes: 7, atNs: 1_260_000_000)
        #expect(meter.perSecond(atNs: 1_260_000_000) == (8, 800))
        #expect(meter.perSecond(atNs: 1_300_000_000) == (8, 707))
        // A quiet second later, nothing is left.
        #expect(meter.perSecond(atNs: 2_200_000_000) == (1, 7))
        #expect(meter.perSecond(atNs: 2_300_000_000) == (0, 0))
    }

    @Test func aSlotReusedAfterASecondStartsAfresh() {
        var meter = RateMeter()
        meter.add(frames: 5, bytes: 50, atNs: 10_000_000)
        // 1.11 s falls in the same slot as 0.01 s, one lap of eleven buckets later.
        meter.add(frames: 1, bytes: 1, atNs: 1_110_000_000)
        #expect(meter.perSecond(atNs: 1_200_000_000) == (1, 1))
        // An entry older than the slot's bucket is too old to count.
        meter.add(frames: 3, bytes: 3, atNs: 20_000_000)
        #expect(meter.perSecond(atNs: 1_200_000_000) == (1, 1))
    }

    @Test func aFloodIsCountedPerDirection() {
        let timeline = timeline([])
        // 2,000 incoming frames of 12 wire bytes in 0.5 s, and one outgoing ping.
        for index in 0..<2_000 {
            timeline.append(frameEvent("text:0123456789", .incoming), tNs: 1_000_000_000 + UInt64(index) * 250_000)
        }
        timeline.append(frameEvent("ping:x"), tNs: 1_500_000_000)
        let ui = state(timeline, width: 160, mode: "connect")
        ui.clockNs = 1_600_000_000
        #expect(ui.stats.rateIn.perSecond(atNs: 1_600_000_000) == (2_000, 24_000))
        #expect(ui.stats.rateOut.perSecond(atNs: 1_600_000_000) == (1, 7))
        #expect(ui.hasLiveRates)
        let bar = render(ui).line(0)
        #expect(bar.contains("│ in 2000 fr 23.4 KiB │ out 1 fr 7 B │ ← 2000 fr/s 23.4 KiB/s → 1 fr/s 7 B/s │"), "\(bar)")
        // Two seconds later the rates are gone and so is the need to redraw for them.
        ui.clockNs = 3_600_000_000
        #expect(!ui.hasLiveRates)
        let quiet = render(ui).line(0)
        #expect(quiet.contains("│ in 2000 fr 23.4 KiB │ out 1 fr 7 B │ proto -"), "\(quiet)")
        #expect(!quiet.contains("/s"))
        // Only the outgoing side is busy: only its rate shows.
        timeline.append(frameEvent("ping:y"), tNs: 3_650_000_000)
        ui.sync()
        ui.clockNs = 3_700_000_000
        #expect(render(ui).line(0).contains("│ out 2 fr 14 B │ → 1 fr/s 7 B/s │ proto -"))
    }

    @Test func withoutAClockThereAreNoRates() {
        // A replayed recording has no "now": its bar shows counts only.
        let ui = state(demoTimeline(), mode: "replay")
        #expect(ui.clockNs == nil && !ui.hasLiveRates)
        #expect(!render(ui).line(0).contains("/s"))
    }

    @Test func aNarrowBarDropsTheRatesAfterProtoAndExtensionsAndBeforeTheCounts() {
        let timeline = timeline([])
        for index in 0..<50 { timeline.append(frameEvent("text:hello", .incoming), tNs: 1_000_000_000 + UInt64(index) * 1_000_000) }
        timeline.append(frameEvent("text:hi"), tNs: 1_060_000_000)
        let ui = state(timeline, width: 150, height: 24, mode: "connect")
        ui.clockNs = 1_100_000_000
        let rates = "│ in 50 fr 350 B │ out 1 fr 8 B │ ← 50 fr/s 350 B/s → 1 fr/s 8 B/s"
        let wide = render(ui).line(0)
        #expect(wide.contains(rates + " │ proto - │ ext -"), "\(wide)")
        ui.resize(width: 132, height: 24)
        let narrower = render(ui).line(0)
        #expect(narrower.contains(rates + " "), "\(narrower)")
        #expect(!narrower.contains("proto"), "\(narrower)")
        ui.resize(width: 100, height: 24)
        let narrow = render(ui).line(0)
        #expect(narrow.contains("│ in 50 fr 350 B │ out 1 fr 8 B "), "\(narrow)")
        #expect(!narrow.contains("/s"), "\(narrow)")
    }
}
