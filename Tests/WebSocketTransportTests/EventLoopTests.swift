import Glibc
import Testing
@testable import WebSocketTransport

extension TransportTests {
    @Test func timersFireInDeadlineOrderAndCancelWorks() throws {
        let loop = try EventLoop()
        var fired: [String] = []
        let start = ContinuousClock.now
        var elapsedAtC: Duration = .zero
        loop.schedule(after: .milliseconds(30)) { fired.append("c"); elapsedAtC = ContinuousClock.now - start }
        loop.schedule(after: .milliseconds(10)) { fired.append("a") }
        let cancelled = loop.schedule(after: .milliseconds(15)) { fired.append("cancelled") }
        loop.schedule(after: .milliseconds(20)) { fired.append("b") }
        // Equal delays fire in the order they were scheduled.
        for name in ["z1", "z2", "z3"] { loop.schedule(after: .zero) { fired.append(name) } }
        loop.schedule(after: .milliseconds(40)) { loop.stop() }
        loop.cancel(cancelled)
        #expect(loop.pendingTimerCount == 7)
        run(loop)
        #expect(fired == ["z1", "z2", "z3", "a", "b", "c"])
        #expect(elapsedAtC >= .milliseconds(30))
        loop.cancel(cancelled)  // cancelling again, or after firing, does nothing
        #expect(loop.pendingTimerCount == 0)
    }

    @Test func timerScheduledFromATimerWaitsForTheNextIteration() throws {
        let loop = try EventLoop()
        var count = 0
        func again() {
            count += 1
            if count < 100 { loop.schedule(after: .zero, again) } else { loop.stop() }
        }
        loop.schedule(after: .zero, again)
        var otherRan = false
        loop.runSoon { otherRan = true }
        run(loop, limit: .seconds(5))
        #expect(count == 100)
        #expect(otherRan)
    }

    @Test func manyCancelledTimersDoNotAccumulate() throws {
        let loop = try EventLoop()
        for _ in 0..<10_000 {
            let id = loop.schedule(after: .seconds(60)) {}
            loop.cancel(id)
        }
        #expect(loop.pendingTimerCount == 0)
        var fired = false
        loop.schedule(after: .milliseconds(1)) { fired = true; loop.stop() }
        run(loop, limit: .seconds(5))
        #expect(fired)
    }

    @Test func runSoonRunsInOrderOnTheNextIteration() throws {
        let loop = try EventLoop()
        var order: [Int] = []
        loop.runSoon {
            order.append(1)
            loop.runSoon { order.append(3); loop.stop() }
        }
        loop.runSoon { order.append(2) }
        run(loop, limit: .seconds(5))
        #expect(order == [1, 2, 3])
    }

    @Test func stopBeforeRunReturnsAndRunCanBeCalledAgain() throws {
        let loop = try EventLoop()
        loop.stop()
        try loop.run()  // returns at once
        var ran = false
        loop.runSoon { ran = true; loop.stop() }
        run(loop, limit: .seconds(5))
        #expect(ran)
    }

    @Test func signalsArriveThroughSignalfd() throws {
        let loop = try EventLoop()
        var received: [Int32] = []
        try loop.onSignals([SIGUSR1]) { received.append($0) }
        try loop.onSignals([SIGUSR2]) { signal in
            received.append(signal)
            loop.stop()
        }
        loop.runSoon {
            // raise() targets this thread, which blocks both signals: they wait in the
            // signalfd instead of killing the process.
            raise(SIGUSR1)
            raise(SIGUSR2)
        }
        run(loop, limit: .seconds(5))
        #expect(received.sorted() == [SIGUSR1, SIGUSR2].sorted())
    }

    @Test func watchReadableOnAPipe() throws {
        let loop = try EventLoop()
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]) }
        var lines: [String] = []
        var watch: Watch?
        watch = try loop.watchReadable(fd: fds[0]) {
            var buffer = [UInt8](repeating: 0, count: 256)
            let count = read(fds[0], &buffer, buffer.count)
            if count > 0 {
                lines.append(String(decoding: buffer[..<count], as: UTF8.self))
            } else {
                lines.append("<eof>")
                loop.unwatch(watch!)
                loop.unwatch(watch!)  // twice is harmless
                loop.stop()
            }
        }
        loop.runSoon { _ = write(fds[1], "hi\n", 3) }
        loop.schedule(after: .milliseconds(20)) { close(fds[1]) }
        run(loop, limit: .seconds(5))
        #expect(lines == ["hi\n", "<eof>"])
        #expect(loop.registeredSourceCount == 0)
    }

    @Test func watchReadableOnDevNullIsAlwaysReady() throws {
        // epoll cannot watch /dev/null or regular files (stdin redirected from a file).
        let loop = try EventLoop()
        let fd = open("/dev/null", O_RDONLY)
        defer { close(fd) }
        var calls = 0
        var watch: Watch?
        watch = try loop.watchReadable(fd: fd) {
            calls += 1
            var byte: UInt8 = 0
            if read(fd, &byte, 1) == 0 {
                loop.unwatch(watch!)
                loop.stop()
            }
        }
        run(loop, limit: .seconds(5))
        #expect(calls == 1)
    }

    @Test func watchingABadDescriptorThrows() throws {
        let loop = try EventLoop()
        #expect(throws: TransportError.self) { _ = try loop.watchReadable(fd: 9999) {} }
    }
}
