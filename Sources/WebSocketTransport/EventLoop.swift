import Glibc

/// Something registered with the loop's epoll set. The loop keeps a strong reference to
/// each registered source (so a connection lives until it is closed) and looks sources up
/// by a token that is never reused, so an event for a source closed earlier in the same
/// batch cannot reach a new source that got the same file descriptor number.
protocol EventSource: AnyObject {
    func handleEvents(_ events: UInt32)
    /// The loop is being destroyed: close the file descriptor, call nobody.
    func loopWillClose()
}

/// Identifies a timer for `EventLoop.cancel(_:)`.
public struct TimerID: Hashable, Sendable {
    let sequence: UInt64
}

/// A readability watch from `EventLoop.watchReadable(fd:_:)`.
public struct Watch: Hashable, Sendable {
    let token: UInt64
    public let fd: Int32
}

/// One single-threaded epoll event loop: sockets, timers, signals (signalfd) and other
/// readable descriptors such as a terminal. Not thread-safe: create it, use it and run it
/// on one thread; every callback runs on that thread, inside `run()`.
///
/// Each iteration waits in epoll_wait (level-triggered) until the nearest timer, handles
/// the ready descriptors, fires the due timers in deadline order, then runs the
/// `runSoon` actions queued before that point. `stop()` takes effect at the end of the
/// current iteration.
///
/// Creating a loop sets SIGPIPE to be ignored for the process (writes also use
/// MSG_NOSIGNAL; a TLS library writing to the socket would not). Destroying a loop closes
/// every descriptor it still owns without calling any delegate.
public final class EventLoop {
    let calls: LinuxCalls
    private let epollFD: Int32
    private var sources: [UInt64: EventSource] = [:]
    private var nextToken: UInt64 = 1
    private var lastConnectionID = 0

    /// The loop-owned buffer every connection reads into; valid only during a `didRead`.
    let readBuffer: UnsafeMutableRawBufferPointer
    static let readBufferSize = 256 * 1024
    /// A second loop-owned buffer for moving bytes between layers outside of reads (TLS
    /// records from OpenSSL's memory BIO to the socket). Valid until the next call out.
    let scratchBuffer: UnsafeMutableRawBufferPointer
    static let scratchBufferSize = 64 * 1024
    private let eventBuffer: UnsafeMutableRawPointer
    private static let maxEvents = 256

    private var timers = TimerHeap()
    private var timerActions: [UInt64: () -> Void] = [:]
    private var nextTimerSequence: UInt64 = 1

    private var soon: [() -> Void] = []
    private var spareSoon: [() -> Void] = []

    /// Watches on descriptors epoll cannot watch (regular files, /dev/null): always ready.
    private var alwaysReady: [UInt64] = []

    private var signals: SignalSource?

    private var running = false
    private var stopRequested = false

    public init() throws(TransportError) {
        calls = try LinuxCalls.load()
        epollFD = calls.epollCreate1(O_CLOEXEC)
        if epollFD < 0 {
            let code = errno
            throw TransportError(.system, code: code, "cannot create the event loop (epoll): \(systemMessage(code))")
        }
        signal(SIGPIPE, SIG_IGN)
        readBuffer = .allocate(byteCount: Self.readBufferSize, alignment: 16)
        scratchBuffer = .allocate(byteCount: Self.scratchBufferSize, alignment: 16)
        eventBuffer = .allocate(byteCount: Self.maxEvents * Epoll.eventSize, alignment: 8)
    }

    deinit {
        for source in sources.values { source.loopWillClose() }
        sources.removeAll()
        signals?.loopWillClose()
        Glibc.close(epollFD)
        readBuffer.deallocate()
        scratchBuffer.deallocate()
        eventBuffer.deallocate()
    }

    // MARK: Running

    /// Dispatches events, timers and `runSoon` actions until `stop()`; then returns (and
    /// may be called again). Throws only if epoll itself fails.
    public func run() throws(TransportError) {
        precondition(!running, "EventLoop.run() called from inside the loop")
        running = true
        defer {
            running = false
            stopRequested = false
        }
        while !stopRequested {
            try runOnce(maxWait: nil)
        }
    }

    /// Makes `run()` return at the end of the current iteration (or at once, if called
    /// before `run()`).
    public func stop() {
        stopRequested = true
    }

    /// One iteration: waits at most `maxWait` (nil: until the next timer or event).
    func runOnce(maxWait: Duration?) throws(TransportError) {
        var timeout = waitMilliseconds()
        if let maxWait {
            let limit = Int32(clamping: (maxWait.clampedNanoseconds + 999_999) / 1_000_000)
            timeout = timeout < 0 ? limit : min(timeout, limit)
        }
        var count = calls.epollWait(epollFD, eventBuffer, Int32(Self.maxEvents), timeout)
        if count < 0 {
            let code = errno
            guard code == EINTR else {
                throw TransportError(.system, code: code, "event loop failed (epoll_wait): \(systemMessage(code))")
            }
            count = 0
        }
        for index in 0..<Int(count) {
            let base = eventBuffer + index * Epoll.eventSize
            let events = base.loadUnaligned(as: UInt32.self)
            let token = base.loadUnaligned(fromByteOffset: Epoll.dataOffset, as: UInt64.self)
            sources[token]?.handleEvents(events)
        }
        if !alwaysReady.isEmpty {
            for token in alwaysReady {
                sources[token]?.handleEvents(Epoll.readable)
            }
        }
        fireDueTimers()
        runSoonActions()
    }

    /// epoll_wait's timeout: 0 when work is queued, -1 when there is no timer.
    private func waitMilliseconds() -> Int32 {
        if !soon.isEmpty || !alwaysReady.isEmpty { return 0 }
        while let first = timers.first, timerActions[first.sequence] == nil {
            _ = timers.popFirst()  // cancelled
        }
        guard let first = timers.first else { return -1 }
        let now = monotonicNanoseconds()
        if first.deadline <= now { return 0 }
        return Int32(clamping: (first.deadline - now + 999_999) / 1_000_000)
    }

    // MARK: Soon

    /// Runs `action` on the next iteration, after that iteration's events and timers.
    /// Actions run in the order they were queued.
    public func runSoon(_ action: @escaping () -> Void) {
        soon.append(action)
    }

    private func runSoonActions() {
        guard !soon.isEmpty else { return }
        // Actions queued by these actions wait for the next iteration.
        swap(&soon, &spareSoon)
        for action in spareSoon { action() }
        spareSoon.removeAll(keepingCapacity: true)
    }

    // MARK: Timers

    /// Calls `action` once, `after` from now (monotonic clock). Timers with the same
    /// deadline fire in the order they were scheduled. A timer scheduled by a firing timer
    /// never fires in the same iteration.
    @discardableResult
    public func schedule(after delay: Duration, _ action: @escaping () -> Void) -> TimerID {
        let sequence = nextTimerSequence
        nextTimerSequence += 1
        timers.insert(TimerEntry(deadline: monotonicNanoseconds() &+ delay.clampedNanoseconds, sequence: sequence))
        timerActions[sequence] = action
        return TimerID(sequence: sequence)
    }

    /// Cancels a timer that has not fired yet; cancelling a fired or cancelled timer does
    /// nothing.
    public func cancel(_ timer: TimerID) {
        guard timerActions.removeValue(forKey: timer.sequence) != nil else { return }
        // Cancelled entries leave the heap lazily; rebuild when they dominate it.
        if timers.count > 64 && timers.count > 4 * timerActions.count {
            timers.removeAll { timerActions[$0.sequence] == nil }
        }
    }

    /// The number of timers scheduled and not yet fired or cancelled.
    public var pendingTimerCount: Int { timerActions.count }

    private func fireDueTimers() {
        guard !timers.isEmpty else { return }
        let now = monotonicNanoseconds()
        let limit = nextTimerSequence
        while let first = timers.first, first.deadline <= now, first.sequence < limit {
            _ = timers.popFirst()
            guard let action = timerActions.removeValue(forKey: first.sequence) else { continue }
            action()
        }
    }

    // MARK: Signals

    /// Delivers `signals` to `handler` on the loop through a signalfd. The signals are
    /// blocked for the calling thread (pthread_sigmask), so call this on the thread that
    /// runs the loop, and before starting other threads (they inherit the mask; a thread
    /// that does not block a signal would take it with its default action). A later call
    /// for the same signal replaces its handler. The signals stay blocked after the loop
    /// is gone.
    public func onSignals(_ signals: [Int32], _ handler: @escaping (Int32) -> Void) throws(TransportError) {
        var added = sigset_t()
        sigemptyset(&added)
        for number in signals {
            if sigaddset(&added, number) != 0 {
                throw TransportError(.system, code: EINVAL, "cannot watch signal \(number): not a valid signal number")
            }
        }
        if self.signals == nil {
            let source = try SignalSource(loop: self)
            self.signals = source
        }
        try self.signals!.add(signals, mask: added, handler: handler)
    }

    // MARK: Watches

    /// Calls `handler` whenever `fd` is readable (level-triggered: until the handler reads
    /// what is there or unwatches; end of file and errors count as readable). The loop
    /// never closes `fd`. A regular file or /dev/null, which epoll cannot watch, is
    /// treated as always readable.
    public func watchReadable(fd: Int32, _ handler: @escaping () -> Void) throws(TransportError) -> Watch {
        let source = WatchSource(fd: fd, handler: handler)
        let token = makeToken()
        if control(Epoll.add, fd: fd, events: Epoll.readable, token: token) != 0 {
            let code = errno
            guard code == EPERM else {
                throw TransportError(.system, code: code, "cannot watch file descriptor \(fd): \(systemMessage(code))")
            }
            source.polled = true
            alwaysReady.append(token)
        }
        sources[token] = source
        return Watch(token: token, fd: fd)
    }

    /// Stops a watch; the descriptor stays open. Unwatching twice does nothing.
    public func unwatch(_ watch: Watch) {
        guard let source = sources.removeValue(forKey: watch.token) as? WatchSource else { return }
        if source.polled {
            alwaysReady.removeAll { $0 == watch.token }
        } else {
            _ = control(Epoll.delete, fd: source.fd, events: 0, token: watch.token)
        }
    }

    // MARK: Registration (for sockets)

    func makeToken() -> UInt64 {
        defer { nextToken += 1 }
        return nextToken
    }

    func makeConnectionID() -> Int {
        lastConnectionID += 1
        return lastConnectionID
    }

    /// Adds `fd` to the epoll set; returns errno on failure, 0 on success.
    func register(_ source: EventSource, fd: Int32, events: UInt32, token: UInt64) -> Int32 {
        if control(Epoll.add, fd: fd, events: events, token: token) != 0 { return errno }
        sources[token] = source
        return 0
    }

    /// Removes the source from the epoll set and from the loop (the caller closes `fd`).
    func deregister(fd: Int32, token: UInt64) {
        _ = control(Epoll.delete, fd: fd, events: 0, token: token)
        sources[token] = nil
    }

    @discardableResult
    func control(_ operation: Int32, fd: Int32, events: UInt32, token: UInt64) -> Int32 {
        withUnsafeTemporaryAllocation(byteCount: 16, alignment: 8) { event in
            event.storeBytes(of: events, toByteOffset: 0, as: UInt32.self)
            event.storeBytes(of: token, toByteOffset: Epoll.dataOffset, as: UInt64.self)
            return calls.epollCtl(epollFD, operation, fd, event.baseAddress)
        }
    }

    /// Registered sockets, watches and the signalfd (tests use it to prove nothing leaks).
    var registeredSourceCount: Int { sources.count }
}

// MARK: - Sources owned by the loop

final class WatchSource: EventSource {
    let fd: Int32
    let handler: () -> Void
    var polled = false

    init(fd: Int32, handler: @escaping () -> Void) {
        self.fd = fd
        self.handler = handler
    }

    func handleEvents(_ events: UInt32) { handler() }
    func loopWillClose() {}
}

/// The loop's one signalfd; its mask grows with each `onSignals` call.
final class SignalSource: EventSource {
    private unowned let loop: EventLoop
    private var fd: Int32
    private let token: UInt64
    private var mask = sigset_t()
    private var handlers: [Int32: (Int32) -> Void] = [:]

    init(loop: EventLoop) throws(TransportError) {
        self.loop = loop
        sigemptyset(&mask)
        fd = loop.calls.signalfd(-1, &mask, O_NONBLOCK | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            throw TransportError(.system, code: code, "cannot create a signalfd: \(systemMessage(code))")
        }
        token = loop.makeToken()
        let status = loop.register(self, fd: fd, events: Epoll.readable, token: token)
        if status != 0 {
            Glibc.close(fd)
            fd = -1
            throw TransportError(.system, code: status, "cannot watch the signalfd: \(systemMessage(status))")
        }
    }

    func add(_ signals: [Int32], mask added: sigset_t, handler: @escaping (Int32) -> Void) throws(TransportError) {
        var added = added
        let status = pthread_sigmask(SIG_BLOCK, &added, nil)
        if status != 0 {
            throw TransportError(.system, code: status, "cannot block signals: \(systemMessage(status))")
        }
        var combined = mask
        for number in signals { sigaddset(&combined, number) }
        if loop.calls.signalfd(fd, &combined, O_NONBLOCK | O_CLOEXEC) < 0 {
            let code = errno
            throw TransportError(.system, code: code, "cannot update the signalfd: \(systemMessage(code))")
        }
        mask = combined
        for number in signals { handlers[number] = handler }
    }

    func handleEvents(_ events: UInt32) {
        withUnsafeTemporaryAllocation(byteCount: signalInfoSize * 8, alignment: 8) { buffer in
            while fd >= 0 {
                let count = read(fd, buffer.baseAddress, buffer.count)
                if count < 0 && errno == EINTR { continue }
                guard count >= signalInfoSize else { return }
                for offset in stride(from: 0, to: count - signalInfoSize + 1, by: signalInfoSize) {
                    let number = Int32(bitPattern: buffer.load(fromByteOffset: offset, as: UInt32.self))
                    handlers[number]?(number)
                }
            }
        }
    }

    func loopWillClose() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }
}

// MARK: - Timer heap

struct TimerEntry {
    var deadline: UInt64
    var sequence: UInt64

    @inline(__always) static func before(_ a: TimerEntry, _ b: TimerEntry) -> Bool {
        a.deadline != b.deadline ? a.deadline < b.deadline : a.sequence < b.sequence
    }
}

/// A binary min-heap ordered by (deadline, sequence).
struct TimerHeap {
    private var entries: [TimerEntry] = []

    var first: TimerEntry? { entries.first }
    var count: Int { entries.count }
    var isEmpty: Bool { entries.isEmpty }

    mutating func insert(_ entry: TimerEntry) {
        entries.append(entry)
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard TimerEntry.before(entries[child], entries[parent]) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    mutating func popFirst() -> TimerEntry? {
        guard !entries.isEmpty else { return nil }
        let first = entries[0]
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            siftDown(0)
        }
        return first
    }

    mutating func removeAll(where shouldRemove: (TimerEntry) -> Bool) {
        entries.removeAll(where: shouldRemove)
        if entries.count > 1 {
            for index in stride(from: entries.count / 2 - 1, through: 0, by: -1) { siftDown(index) }
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < entries.count else { return }
            var smallest = left
            let right = left + 1
            if right < entries.count && TimerEntry.before(entries[right], entries[left]) { smallest = right }
            guard TimerEntry.before(entries[smallest], entries[parent]) else { return }
            entries.swapAt(smallest, parent)
            parent = smallest
        }
    }
}
