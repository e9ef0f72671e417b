import Inspector
import WebSocket

/// One event of the timeline with its time since the session started.
public struct TimelineEntry: Sendable {
    public var tNs: UInt64
    public var event: SessionEvent

    public init(tNs: UInt64, event: SessionEvent) {
        self.tNs = tNs
        self.event = event
    }
}

/// What the UI shows: an append-only list of events. A live `Session` is one; a
/// recording loaded for `replay`, or a test, can use `ArrayTimeline`.
public protocol TimelineSource: AnyObject {
    var timelineCount: Int { get }
    func timelineEntry(at index: Int) -> TimelineEntry
    /// The indices in `range` whose events pass `test`, in order. A filter runs this over
    /// the whole timeline, so sources override it to look at their events in place
    /// rather than copy each entry out.
    func entryIndices(in range: Range<Int>, where test: (SessionEvent) -> Bool) -> [Int32]
}

extension TimelineSource {
    public func entryIndices(in range: Range<Int>, where test: (SessionEvent) -> Bool) -> [Int32] {
        var indices: [Int32] = []
        for index in range where test(timelineEntry(at: index).event) { indices.append(Int32(index)) }
        return indices
    }
}

extension Session: TimelineSource {
    public var timelineCount: Int { entries.count }

    public func timelineEntry(at index: Int) -> TimelineEntry {
        let entry = entries[index]
        return TimelineEntry(tNs: entry.tNs, event: entry.event)
    }

    public func entryIndices(in range: Range<Int>, where test: (SessionEvent) -> Bool) -> [Int32] {
        entries.withUnsafeBufferPointer { entries in
            var indices: [Int32] = []
            for index in range where test(entries[index].event) { indices.append(Int32(index)) }
            return indices
        }
    }
}

/// A timeline held in an array (tests, recordings).
public final class ArrayTimeline: TimelineSource {
    public private(set) var entries: [TimelineEntry]

    public init(_ entries: [TimelineEntry] = []) {
        self.entries = entries
    }

    public func append(_ event: SessionEvent, tNs: UInt64) {
        entries.append(TimelineEntry(tNs: tNs, event: event))
    }

    public var timelineCount: Int { entries.count }
    public func timelineEntry(at index: Int) -> TimelineEntry { entries[index] }

    public func entryIndices(in range: Range<Int>, where test: (SessionEvent) -> Bool) -> [Int32] {
        entries.withUnsafeBufferPointer { entries in
            var indices: [Int32] = []
            for index in range where test(entries[index].event) { indices.append(Int32(index)) }
            return indices
        }
    }
}

extension SessionEvent {
    /// The connection the event belongs to, if any.
    var connectionID: Int? {
        switch self {
        case .listening, .connecting: return nil
        case .opened(let id, _, _, _, _, _), .tls(let id, _), .handshakeFailed(let id, _, _), .frame(let id, _, _, _, _),
             .message(let id, _, _, _), .rawSent(let id, _), .violation(let id, _, _, _), .closed(let id, _, _, _):
            return id
        case .error(let id, _):
            return id
        }
    }

    var isFrame: Bool {
        if case .frame = self { return true }
        return false
    }
}

/// The state of one connection as the status bar shows it.
public enum ConnectionState: Equatable, Sendable {
    case connecting
    case open
    /// We or the peer sent a close frame; the closing handshake is under way.
    case closing
    case closed(code: UInt16?, clean: Bool)
    case failed(String)

    public var label: String {
        switch self {
        case .connecting: return "connecting"
        case .open: return "open"
        case .closing: return "closing"
        case .closed(let code, let clean):
            return "closed" + (code.map { " \($0)" } ?? "") + (clean ? "" : " (unclean)")
        case .failed: return "failed"
        }
    }

    public var isOpen: Bool { self == .open || self == .connecting }
}

/// Counters and connection states, updated entry by entry as the timeline grows.
public struct TimelineStats: Sendable {
    public var framesIn = 0
    public var framesOut = 0
    public var bytesIn = 0
    public var bytesOut = 0
    public var connections: [Int: ConnectionState] = [:]
    /// Connection ids in the order they first appeared.
    public var connectionOrder: [Int] = []
    public var subprotocol: String?
    public var extensions: String?
    public var listening: String?
    public var connectingTo: String?
    /// The latest TLS handshake's version ("TLSv1.3"), and whether the peer's certificate
    /// was accepted without verification (--insecure): the status bar says so loudly.
    public var tlsVersion: String?
    public var tlsUnverified = false
    /// The latest error or violation text, for the status line.
    public var lastProblem: String?
    public var absorbed = 0
    /// Frames and bytes per second in each direction over the last second of entry times.
    public var rateIn = RateMeter()
    public var rateOut = RateMeter()

    public init() {}

    /// `tNs`: the entry's time, for the rates.
    public mutating func absorb(_ event: SessionEvent, tNs: UInt64 = 0) {
        absorbed += 1
        // A connection first seen in a frame (a timeline that starts mid-way) is open.
        if let id = event.connectionID, connections[id] == nil, event.isFrame { note(id, .open) }
        switch event {
        case .listening(let address):
            listening = address
        case .connecting(let url):
            connectingTo = url
            if connections[1] == nil && connectionOrder.isEmpty {
                // A client's connection is #1 once it opens; show it as connecting meanwhile.
                note(1, .connecting)
            }
        case .opened(let id, _, _, _, let subprotocol, let extensions):
            note(id, .open)
            self.subprotocol = subprotocol
            self.extensions = extensions
        case .handshakeFailed(let id, _, let reason):
            note(id, .failed(reason))
            lastProblem = reason
        case .frame(let id, let direction, let header, _, let wire):
            if direction == .incoming {
                framesIn += 1
                bytesIn += wire.count
                rateIn.add(frames: 1, bytes: wire.count, atNs: tNs)
            } else {
                framesOut += 1
                bytesOut += wire.count
                rateOut.add(frames: 1, bytes: wire.count, atNs: tNs)
            }
            if header.opcode == .close, connections[id] == .open { note(id, .closing) }
        case .message:
            break
        case .tls(_, let info):
            tlsVersion = info.version
            tlsUnverified = info.peerSubject != nil && !info.verified
        case .rawSent(_, let wire):
            bytesOut += wire.count
            rateOut.add(frames: 0, bytes: wire.count, atNs: tNs)
        case .violation(_, let description, _, _):
            lastProblem = description
        case .closed(let id, let code, _, let clean):
            note(id, .closed(code: code?.rawValue, clean: clean))
        case .error(let id, let message):
            lastProblem = message
            if let id, connections[id] == .connecting { note(id, .failed(message)) }
            if id == nil, connections[1] == .connecting { note(1, .failed(message)) }
        }
    }

    private mutating func note(_ id: Int, _ state: ConnectionState) {
        if connections[id] == nil { connectionOrder.append(id) }
        connections[id] = state
    }

    public var openConnections: [Int] {
        connectionOrder.filter { connections[$0] == .open }
    }

    /// More than one connection was seen: rows show their connection id.
    public var showsConnectionIDs: Bool { connectionOrder.count > 1 }
}

/// Frames and bytes per second over the last complete second, kept as 100 ms buckets so
/// that a flood of entries costs a few additions each and no memory grows. The bucket
/// being filled is not counted (it would make the rate dip at every bucket boundary), so
/// the figure lags by at most 100 ms. Times only move forward (the timeline's monotonic
/// clock); a time older than its slot's bucket is dropped.
public struct RateMeter: Sendable, Equatable {
    public static let bucketNs: UInt64 = 100_000_000
    /// Buckets in the one-second window.
    public static let windowBuckets = 10
    /// One more slot for the bucket being filled.
    static let slotCount = windowBuckets + 1

    private var bucketIndex = [UInt64](repeating: .max, count: RateMeter.slotCount)
    private var bucketFrames = [Int](repeating: 0, count: RateMeter.slotCount)
    private var bucketBytes = [Int](repeating: 0, count: RateMeter.slotCount)

    public init() {}

    public mutating func add(frames: Int, bytes: Int, atNs tNs: UInt64) {
        let index = tNs / Self.bucketNs
        let slot = Int(index % UInt64(Self.slotCount))
        if bucketIndex[slot] != index {
            // The slot holds a bucket of more than a second ago, or a newer one when this
            // time is out of order: then this entry is too old to count.
            if bucketIndex[slot] != .max, bucketIndex[slot] > index { return }
            bucketIndex[slot] = index
            bucketFrames[slot] = 0
            bucketBytes[slot] = 0
        }
        bucketFrames[slot] += frames
        bucketBytes[slot] += bytes
    }

    /// Frames and bytes in the ten whole buckets before the one `nowNs` falls in.
    public func perSecond(atNs nowNs: UInt64) -> (frames: Int, bytes: Int) {
        let current = nowNs / Self.bucketNs
        let oldest = current >= UInt64(Self.windowBuckets) ? current - UInt64(Self.windowBuckets) : 0
        var frames = 0, bytes = 0
        for slot in 0..<Self.slotCount where bucketIndex[slot] != .max && bucketIndex[slot] >= oldest && bucketIndex[slot] < current {
            frames += bucketFrames[slot]
            bytes += bucketBytes[slot]
        }
        return (frames, bytes)
    }
}
