#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
#if canImport(WebSocket)
import WebSocket
#endif

/// Appends session events to a recording file (format: RecordingFormat.swift).
///
/// Crash safety: the file is opened with O_APPEND, and every flush hands whole lines to a
/// single write(2) call (looping only if the kernel writes less, which on a regular file
/// happens when the disk fills). With the default `.everyEvent` policy each event is its
/// own write, so a `kill -9` loses at most the line being written — the reader reports a
/// truncated last line as a warning and keeps everything before it.
///
/// With `.interval(milliseconds:)` lines collect in memory and go out together once that
/// long has passed since the last write (judged at each event's own timestamp), when 1 MiB
/// has collected, or when the owner calls `flush()` — an event loop should call it when it
/// goes idle and on shutdown. A `kill -9` then loses at most the events of the last
/// interval; what is on disk is still whole lines. `fsync` adds an fsync(2) after every
/// write(2), for power-loss safety at a large cost.
///
/// Not thread-safe: use it from the event loop that produces the events.
public final class RecordingWriter {
    public enum FlushPolicy: Sendable, Hashable {
        /// One write(2) per event (the default).
        case everyEvent
        /// Batch lines; write when this many milliseconds have passed since the last write,
        /// when 1 MiB is buffered, or on `flush()`.
        case interval(milliseconds: Int)
    }

    public struct Options: Sendable {
        public var flush: FlushPolicy
        public var fsync: Bool
        /// How frame lines store their wire bytes (see `WireStorage`).
        public var wire: WireStorage
        /// Start a new file (O_TRUNC). When false, lines are appended to what is there,
        /// which is only a valid recording if the file was empty.
        public var truncate: Bool
        /// Write the header line on creation (false for a stream that continues a header
        /// written elsewhere).
        public var writeHeader: Bool

        public init(
            flush: FlushPolicy = .everyEvent, fsync: Bool = false, wire: WireStorage = .default,
            truncate: Bool = true, writeHeader: Bool = true
        ) {
            self.flush = flush
            self.fsync = fsync
            self.wire = wire
            self.truncate = truncate
            self.writeHeader = writeHeader
        }
    }

    public let header: RecordingHeader
    public let path: String
    /// Monotonic time (RecordingClock.monotonicNanoseconds) of t_ns = 0.
    public let startMonotonicNanoseconds: UInt64
    public private(set) var eventsWritten = 0
    public private(set) var bytesWritten = 0

    private var fd: Int32
    private let ownsDescriptor: Bool
    private let options: Options
    private var encoder: RecordingEncoder
    private let buffer = RecordingBuffer(capacity: 64 * 1024)
    private var lastFlushNs: UInt64 = 0
    private static let batchLimit = 1 << 20

    /// Creates (or truncates) `path` and writes the header line.
    public init(
        path: String, header: RecordingHeader,
        startMonotonicNanoseconds: UInt64 = RecordingClock.monotonicNanoseconds(),
        options: Options = Options()
    ) throws(RecordingError) {
        let flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (options.truncate ? O_TRUNC : 0)
        let fd = open(path, flags, 0o644)
        guard fd >= 0 else { throw .cannotOpen(path: path, reason: inspectorErrnoText(errno)) }
        self.fd = fd
        self.ownsDescriptor = true
        self.path = path
        self.header = header
        self.startMonotonicNanoseconds = startMonotonicNanoseconds
        self.options = options
        self.encoder = RecordingEncoder(storage: options.wire)
        self.lastFlushNs = startMonotonicNanoseconds
        if options.writeHeader { try writeHeaderLine() }
    }

    /// Writes to a descriptor the caller owns (for example 1, for `--json` on stdout).
    public init(
        fileDescriptor: Int32, name: String = "stdout", header: RecordingHeader,
        startMonotonicNanoseconds: UInt64 = RecordingClock.monotonicNanoseconds(),
        options: Options = Options(wire: .always)
    ) throws(RecordingError) {
        self.fd = fileDescriptor
        self.ownsDescriptor = false
        self.path = name
        self.header = header
        self.startMonotonicNanoseconds = startMonotonicNanoseconds
        self.options = options
        self.encoder = RecordingEncoder(storage: options.wire)
        self.lastFlushNs = startMonotonicNanoseconds
        if options.writeHeader { try writeHeaderLine() }
    }

    deinit {
        if fd >= 0 {
            _ = try? flush()
            if ownsDescriptor { Glibc.close(fd) }
        }
    }

    private func writeHeaderLine() throws(RecordingError) {
        RecordingEncoder.appendHeader(header, to: buffer)
        buffer.append(0x0A)
        try flush()
    }

    /// Records an event that happened at `monotonicNanoseconds` (same clock as the start;
    /// earlier times count as 0).
    public func write(_ event: SessionEvent, at monotonicNanoseconds: UInt64) throws(RecordingError) {
        let tNs = monotonicNanoseconds >= startMonotonicNanoseconds ? monotonicNanoseconds - startMonotonicNanoseconds : 0
        try write(event, tNs: tNs, now: monotonicNanoseconds)
    }

    /// Records an event at an explicit time since the start (conversions, tests).
    public func write(_ event: SessionEvent, tNs: UInt64) throws(RecordingError) {
        try write(event, tNs: tNs, now: startMonotonicNanoseconds &+ tNs)
    }

    private func write(_ event: SessionEvent, tNs: UInt64, now: UInt64) throws(RecordingError) {
        guard fd >= 0 else { throw .io(path: path, reason: "recording already closed") }
        // Whole messages are derived from the recorded frames; replay needs only those.
        if case .message = event { return }
        encoder.append(event, tNs: tNs, to: buffer)
        buffer.append(0x0A)
        eventsWritten += 1
        switch options.flush {
        case .everyEvent:
            try flush()
        case .interval(let milliseconds):
            if buffer.count >= Self.batchLimit || now &- lastFlushNs >= UInt64(max(milliseconds, 0)) &* 1_000_000 {
                lastFlushNs = now
                try flush()
            }
        }
    }

    /// Writes buffered lines now (one write(2) call, plus fsync when configured).
    public func flush() throws(RecordingError) {
        guard buffer.count > 0, fd >= 0 else { return }
        let size = buffer.count
        if let code = buffer.write(to: fd) {
            bytesWritten += size - buffer.count
            throw .io(path: path, reason: "write failed: \(inspectorErrnoText(code))")
        }
        bytesWritten += size
        if buffer.capacity > 4 << 20 { buffer.shrink(to: 64 * 1024) }
        if options.fsync && Glibc.fsync(fd) != 0 {
            throw .io(path: path, reason: "fsync failed: \(inspectorErrnoText(errno))")
        }
    }

    /// Flushes and closes the file. Further writes fail.
    public func close() throws(RecordingError) {
        guard fd >= 0 else { return }
        defer {
            if ownsDescriptor { Glibc.close(fd) }
            fd = -1
        }
        try flush()
    }
}
