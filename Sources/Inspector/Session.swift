/// The append-only timeline of one `connect`, `listen` or `replay` run: every event with
/// its monotonic time since the start, handed to the sinks (line printer, JSON printer,
/// recording file, terminal UI) as it happens.
public final class Session {
    public struct Entry: Sendable {
        /// Nanoseconds since the session started (monotonic clock).
        public let tNs: UInt64
        public let event: SessionEvent
    }

    /// Monotonic time (RecordingClock.monotonicNanoseconds) of t = 0.
    public let startMonotonicNanoseconds: UInt64
    /// Every event so far, oldest first; empty when `keepsEntries` is false.
    public private(set) var entries: [Entry] = []
    /// Off for long benchmark or conformance runs, where nobody browses the timeline.
    public let keepsEntries: Bool
    private var sinks: [(Entry) -> Void] = []

    public init(keepsEntries: Bool = true, startMonotonicNanoseconds: UInt64 = RecordingClock.monotonicNanoseconds()) {
        self.keepsEntries = keepsEntries
        self.startMonotonicNanoseconds = startMonotonicNanoseconds
    }

    public func addSink(_ sink: @escaping (Entry) -> Void) {
        sinks.append(sink)
    }

    /// Timestamps the event and passes it on. Endpoints take this as their `report`.
    public func record(_ event: SessionEvent) {
        let now = RecordingClock.monotonicNanoseconds()
        let entry = Entry(tNs: now >= startMonotonicNanoseconds ? now - startMonotonicNanoseconds : 0, event: event)
        if keepsEntries { entries.append(entry) }
        for sink in sinks { sink(entry) }
    }
}
