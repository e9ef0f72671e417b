import Glibc
import Testing
@testable import WebSocketTransport

/// One client of the echo test: sends its 1 MiB window of the pattern in random-sized
/// chunks, keeping at most 256 KiB queued, and checks every echoed byte.
final class EchoClient: ConnectionDelegate {
    let expected: UnsafeRawBufferPointer
    var generator: SplitMix64
    var connection: StreamConnection?
    var sent = 0
    var received = 0
    var mismatchAt: Int?
    var finished = false
    var closeError: TransportError?
    var onFinished: () -> Void = {}

    init(expected: UnsafeRawBufferPointer, seed: UInt64) {
        self.expected = expected
        generator = SplitMix64(seed: seed)
    }

    func start(_ connection: StreamConnection) {
        self.connection = connection
        connection.delegate = self
        pump()
    }

    func pump() {
        guard let connection else { return }
        while sent < expected.count && connection.pendingOutputBytes < 256 * 1024 {
            let size = min(Int.random(in: 1...16384, using: &generator), expected.count - sent)
            connection.write(UnsafeRawBufferPointer(rebasing: expected[sent..<sent + size]))
            sent += size
        }
    }

    func connection(_ connection: StreamConnection, didRead bytes: UnsafeRawBufferPointer) {
        let expectedSlice = UnsafeRawBufferPointer(rebasing: expected[received..<min(received + bytes.count, expected.count)])
        if mismatchAt == nil && (expectedSlice.count != bytes.count
            || memcmp(expectedSlice.baseAddress!, bytes.baseAddress!, bytes.count) != 0) {
            mismatchAt = received
        }
        received += bytes.count
        if received >= expected.count {
            connection.close()
        } else {
            pump()
        }
    }

    func connectionDidDrain(_ connection: StreamConnection) { pump() }

    func connectionDidClose(_ connection: StreamConnection, error: TransportError?) {
        closeError = error
        finished = true
        onFinished()
    }
}

extension TransportTests {
    @Test func fiftyEchoClientsOnOneLoop() throws {
        let loop = try EventLoop()
        let server = EchoHandler()
        let listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0) { connection in
            connection.delegate = server
            server.connections.append(connection)
        }
        #expect(listener.localPort > 0)

        let clientCount = 50
        let size = 1 << 20
        // One pattern; each client sends a different 1 MiB window of it.
        let pattern = randomBytes(size + clientCount * 4099, seed: 42)
        var clients: [EchoClient] = []
        var done = 0
        var connectErrors: [TransportError] = []
        try pattern.withUnsafeBytes { pattern in
            for index in 0..<clientCount {
                let window = UnsafeRawBufferPointer(rebasing: pattern[index * 4099..<index * 4099 + size])
                let client = EchoClient(expected: window, seed: UInt64(index) + 1)
                client.onFinished = {
                    done += 1
                    if done == clientCount { loop.stop() }
                }
                clients.append(client)
                TCPConnector.connect(loop: loop, host: "127.0.0.1", port: listener.localPort) { result in
                    switch result {
                    case .success(let connection): client.start(connection)
                    case .failure(let error):
                        connectErrors.append(error)
                        loop.stop()
                    }
                }
            }
            run(loop)
            _ = try #require(connectErrors.isEmpty, "\(connectErrors)")
        }
        #expect(done == clientCount)
        for (index, client) in clients.enumerated() {
            #expect(client.received == size, "client \(index) received \(client.received)")
            #expect(client.mismatchAt == nil, "client \(index) got a wrong byte at \(client.mismatchAt ?? -1)")
            #expect(client.closeError == nil)
        }
        // The server sees every client's EOF.
        #expect(turn(loop, until: { server.closedCount == clientCount }))
        #expect(server.errors.isEmpty, "\(server.errors)")
        let ids = clients.compactMap { $0.connection?.id }
        #expect(Set(ids).count == clientCount)
        listener.close()
    }

    @Test func largeWriteWaitsForEPOLLOUTWhileReaderPauses() throws {
        let loop = try EventLoop()
        let reader = Recorder()
        var serverSide: TCPConnection?
        let listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0) { connection in
            connection.pauseReading()
            connection.delegate = reader
            serverSide = connection
        }
        let writer = Recorder()
        let client = try #require(try connectNow(loop, port: listener.localPort)?.get())
        client.delegate = writer
        #expect(turn(loop, until: { serverSide != nil }))

        let payload = randomBytes(8 << 20, seed: 7)
        client.write(payload)
        let queuedAtOnce = client.pendingOutputBytes
        #expect(queuedAtOnce > 0, "8 MiB should not fit in the socket buffers of a paused reader")

        // While the reader is paused the queue stays put and nothing is delivered.
        let pauseEnd = ContinuousClock.now + .milliseconds(150)
        turn(loop, until: { ContinuousClock.now >= pauseEnd })
        #expect(client.pendingOutputBytes > 0)
        #expect(reader.received.isEmpty)
        #expect(writer.drainCount == 0)

        serverSide?.resumeReading()
        #expect(turn(loop, until: { reader.received.count == payload.count }))
        #expect(client.pendingOutputBytes == 0)
        #expect(writer.drainCount == 1)
        expectSameBytes(reader.received, payload)

        client.close()
        #expect(turn(loop, until: { reader.closed && writer.closed }))
        #expect(reader.closeError == nil)
        #expect(writer.closeError == nil)
        #expect(reader.closeCount == 1 && writer.closeCount == 1)
        listener.close()
    }

    @Test func gracefulCloseDeliversEverythingQueued() throws {
        let loop = try EventLoop()
        let payload = randomBytes(6 << 20, seed: 9)
        let serverEnd = Recorder()
        var queuedAtClose = 0
        var serverSide: TCPConnection?
        let listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0) { connection in
            connection.delegate = serverEnd
            serverSide = connection
            connection.write(payload)
            queuedAtClose = connection.pendingOutputBytes
            connection.close()
            // After close: not open, further writes ignored, close/abort again harmless.
            #expect(!connection.isOpen)
            connection.write([1, 2, 3])
            connection.close()
        }
        let clientEnd = Recorder()
        let client = try #require(try connectNow(loop, port: listener.localPort)?.get())
        client.delegate = clientEnd
        #expect(turn(loop, until: { clientEnd.closed && serverEnd.closed }))
        #expect(queuedAtClose > 0, "the test needs output still queued at close()")
        #expect(clientEnd.received.count == payload.count)
        expectSameBytes(clientEnd.received, payload)
        #expect(clientEnd.closeError == nil)
        #expect(serverEnd.closeError == nil)
        #expect(serverEnd.closeCount == 1 && clientEnd.closeCount == 1)
        #expect(!client.isOpen)
        serverSide?.abort()  // after close: nothing happens, no second didClose
        turn(loop, until: { loop.registeredSourceCount == 1 })
        #expect(serverEnd.closeCount == 1)
        listener.close()
        #expect(loop.registeredSourceCount == 0)
    }

    @Test func closeGivesUpWhenThePeerStopsReading() throws {
        let loop = try EventLoop()
        let serverEnd = Recorder()
        var serverSide: TCPConnection?
        let listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0) { connection in
            connection.delegate = serverEnd
            serverSide = connection
        }
        let client = try #require(try connectNow(loop, port: listener.localPort)?.get())
        let clientEnd = Recorder()
        client.delegate = clientEnd
        client.pauseReading()  // and never resumes
        #expect(turn(loop, until: { serverSide != nil }))
        let server = try #require(serverSide)
        server.closeTimeout = .milliseconds(200)
        server.write(randomBytes(8 << 20, seed: 3))
        #expect(server.pendingOutputBytes > 0)
        server.close()
        let start = ContinuousClock.now
        #expect(turn(loop, until: { serverEnd.closed }))
        let elapsed = ContinuousClock.now - start
        #expect(serverEnd.closeError?.kind == .timedOut)
        #expect(serverEnd.closeError?.description.hasPrefix(
            "gave up closing after 200 ms without progress: the peer is not reading (") == true,
            "\(serverEnd.closeError?.description ?? "nil")")
        #expect(elapsed >= .milliseconds(190) && elapsed < .seconds(3), "\(elapsed)")
        #expect(server.pendingOutputBytes == 0)
        client.abort()
        listener.close()
    }

    @Test func closingKeepsReadingSoABlockedWriterCanFinish() throws {
        // The client behaves like a blocking program: it reads the reply only once its
        // whole request is sent. The server replies and closes after the first bytes; if
        // it stopped reading on close, neither side could make progress.
        let loop = try EventLoop()
        let reply = randomBytes(2 << 20, seed: 5)
        let serverEnd = Recorder()
        var queuedAtClose = 0
        serverEnd.onRead = { connection, _ in
            guard connection.isOpen else { return }
            connection.write(reply)
            queuedAtClose = connection.pendingOutputBytes
            connection.close()
        }
        let listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0) { connection in
            connection.delegate = serverEnd
            // Small fixed buffers (no autotuning), so the request cannot hide in them.
            var size: Int32 = 64 * 1024
            setsockopt(connection.fileDescriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            setsockopt(connection.fileDescriptor, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        let client = try #require(try connectNow(loop, port: listener.localPort)?.get())
        var size: Int32 = 64 * 1024
        setsockopt(client.fileDescriptor, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(client.fileDescriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        final class BlockingClient: ConnectionDelegate {
            var received: [UInt8] = []
            var closed = false
            var error: TransportError?
            func connection(_ connection: StreamConnection, didRead bytes: UnsafeRawBufferPointer) {
                received.append(contentsOf: bytes)
            }
            func connectionDidDrain(_ connection: StreamConnection) { connection.resumeReading() }
            func connectionDidClose(_ connection: StreamConnection, error: TransportError?) {
                closed = true
                self.error = error
            }
        }
        let blocking = BlockingClient()
        client.delegate = blocking
        client.pauseReading()
        client.write(randomBytes(16 << 20, seed: 6))
        #expect(client.pendingOutputBytes > 0)
        #expect(turn(loop, until: { blocking.closed && serverEnd.closed }, limit: .seconds(10)))
        #expect(queuedAtClose > 0, "the reply must still be queued when the server closes")
        expectSameBytes(blocking.received, reply)
        #expect(blocking.error == nil)
        #expect(serverEnd.closeError == nil)
        listener.close()
    }

    @Test func peerEOFAfterRequestStillFlushesReply() throws {
        // A client that sends a request and shuts its side at once still gets the reply
        // the server queues in response (half-close), then the server sees a nil error.
        let loop = try EventLoop()
        let reply = randomBytes(3 << 20, seed: 11)
        let serverEnd = Recorder()
        serverEnd.onRead = { connection, _ in connection.write(reply) }
        let listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0) { $0.delegate = serverEnd }

        let raw = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(raw) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(listener.localPort).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(raw, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        #expect(connected == 0)
        _ = "GET".withCString { send(raw, $0, 3, 0) }
        shutdown(raw, Int32(SHUT_WR))
        // Read on the raw socket while turning the loop.
        var got: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        let flags = fcntl(raw, F_GETFL)
        _ = fcntl(raw, F_SETFL, flags | O_NONBLOCK)
        var sawEOF = false
        #expect(turn(loop, until: {
            while true {
                let count = recv(raw, &chunk, chunk.count, 0)
                if count > 0 { got.append(contentsOf: chunk[..<count]); continue }
                if count == 0 { sawEOF = true }
                break
            }
            return sawEOF && serverEnd.closed
        }))
        expectSameBytes(got, reply)
        #expect(serverEnd.received == Array("GET".utf8))
        #expect(serverEnd.closeError == nil)
        listener.close()
    }

    @Test func connectionRefusedMessage() throws {
        let loop = try EventLoop()
        // A port that was just free: bind, note it, close.
        let probe = try TCPListener(loop: loop, host: "127.0.0.1", port: 0) { _ in }
        let port = probe.localPort
        probe.close()
        let result = try #require(connectNow(loop, port: port))
        guard case .failure(let error) = result else {
            Issue.record("connected to a closed port")
            return
        }
        #expect(error.description == "connection refused by 127.0.0.1:\(port)")
        #expect(error.kind == .connectionRefused)
    }

    @Test func connectTriesEachAddressAndWorksOverIPv6() throws {
        let loop = try EventLoop()
        let server = EchoHandler()
        guard let listener = try? TCPListener(loop: loop, host: "::1", port: 0, onAccept: { $0.delegate = server }) else {
            return  // no IPv6 loopback on this machine
        }
        #expect(listener.localDescription == "[::1]:\(listener.localPort)")
        let client = try #require(try connectNow(loop, host: "::1", port: listener.localPort)?.get())
        #expect(client.remoteDescription == "[::1]:\(listener.localPort)")
        #expect(client.localDescription.hasPrefix("[::1]:"))
        let recorder = Recorder()
        client.delegate = recorder
        client.write(Array("ping".utf8))
        #expect(turn(loop, until: { recorder.received.count == 4 }))
        #expect(recorder.received == Array("ping".utf8))
        client.abort()
        listener.close()
    }

    @Test func unresolvableHostMessage() throws {
        let loop = try EventLoop()
        let start = ContinuousClock.now
        let result = try #require(connectNow(loop, host: "nosuch.invalid", port: 80, timeout: .seconds(2)))
        guard case .failure(let error) = result else {
            Issue.record("resolved nosuch.invalid")
            return
        }
        #expect(error.kind == .unresolvable)
        #expect(error.description.hasPrefix("cannot resolve host 'nosuch.invalid': "), "\(error)")
        #expect(error.description.count > "cannot resolve host 'nosuch.invalid': ".count)
        #expect(ContinuousClock.now - start < .seconds(30))
    }

    @Test func busyPortMessage() throws {
        let loop = try EventLoop()
        let first = try TCPListener(loop: loop, host: "127.0.0.1", port: 0) { _ in }
        #expect(throws: TransportError(.addressInUse, code: EADDRINUSE, "address 127.0.0.1:\(first.localPort) already in use")) {
            _ = try TCPListener(loop: loop, host: "127.0.0.1", port: first.localPort) { _ in }
        }
        first.close()
        // After close the port is free again (SO_REUSEADDR).
        let second = try TCPListener(loop: loop, host: "127.0.0.1", port: first.localPort) { _ in }
        #expect(second.localPort == first.localPort)
        second.close()
    }

    @Test func connectTimeoutMessage() throws {
        // A listener with backlog 0 that never accepts: once its queue holds one
        // connection, the kernel drops further SYNs, so those connects time out.
        let loop = try EventLoop()
        let raw = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(raw) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let port = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address -> Int in
                bind(raw, address, length)
                listen(raw, 0)
                getsockname(raw, address, &length)
                return Int(UInt16(bigEndian: pointer.pointee.sin_port))
            }
        }
        var results: [Result<TCPConnection, TransportError>] = []
        for _ in 0..<3 {
            TCPConnector.connect(loop: loop, host: "127.0.0.1", port: port, timeout: .milliseconds(300)) {
                results.append($0)
            }
        }
        let start = ContinuousClock.now
        #expect(turn(loop, until: { results.count == 3 }))
        let messages = results.compactMap { result -> String? in
            if case .failure(let error) = result { return error.description }
            return nil
        }
        #expect(messages.contains("connection to 127.0.0.1:\(port) timed out after 300 ms"), "\(messages)")
        #expect(ContinuousClock.now - start < .seconds(3))
        for case .success(let connection) in results { connection.abort() }
    }

    @Test func peerResetIsReported() throws {
        let loop = try EventLoop()
        var serverSide: TCPConnection?
        let listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0) { serverSide = $0 }
        let client = try #require(try connectNow(loop, port: listener.localPort)?.get())
        let recorder = Recorder()
        client.delegate = recorder
        #expect(turn(loop, until: { serverSide != nil }))
        // SO_LINGER with a zero timeout turns close into a reset.
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        let fd = try #require(serverSide?.fileDescriptor)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        serverSide?.abort()
        #expect(turn(loop, until: { recorder.closed }))
        #expect(recorder.closeError?.description == "connection reset by peer")
        #expect(recorder.closeError?.kind == .connectionReset)
        #expect(!client.isOpen)
        listener.close()
    }

    @Test func writeToResetPeerFailsWithoutSIGPIPE() throws {
        let loop = try EventLoop()
        var serverSide: TCPConnection?
        let listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0) { serverSide = $0 }
        let client = try #require(try connectNow(loop, port: listener.localPort)?.get())
        let recorder = Recorder()
        client.delegate = recorder
        client.pauseReading()  // so the failure is found by writing
        #expect(turn(loop, until: { serverSide != nil }))
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(serverSide!.fileDescriptor, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        serverSide?.abort()
        // Let the reset arrive, then write until the kernel reports it.
        let until = ContinuousClock.now + .milliseconds(50)
        turn(loop, until: { ContinuousClock.now >= until })
        let chunk = [UInt8](repeating: 0x41, count: 1024)
        for _ in 0..<10 where client.isOpen { client.write(chunk) }
        #expect(turn(loop, until: { recorder.closed }))
        #expect(recorder.closeCount == 1)
        let message = recorder.closeError?.description ?? "nil"
        #expect(message == "connection reset by peer" || message == "connection closed by peer while sending", "\(message)")
        listener.close()
    }

    @Test func pausedReadingStillSeesEOFAfterResume() throws {
        let loop = try EventLoop()
        var serverSide: TCPConnection?
        let listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0) { serverSide = $0 }
        let client = try #require(try connectNow(loop, port: listener.localPort)?.get())
        let recorder = Recorder()
        client.delegate = recorder
        client.pauseReading()
        #expect(turn(loop, until: { serverSide != nil }))
        serverSide?.write(Array("last words".utf8))
        serverSide?.close()
        // The hang-up must not spin the loop or be lost while paused.
        let until = ContinuousClock.now + .milliseconds(100)
        var iterations = 0
        turn(loop, until: { iterations += 1; return ContinuousClock.now >= until })
        #expect(iterations < 1000, "the loop spun while the connection was paused")
        #expect(!recorder.closed)
        client.resumeReading()
        #expect(turn(loop, until: { recorder.closed }))
        #expect(recorder.received == Array("last words".utf8))
        #expect(recorder.closeError == nil)
        listener.close()
    }

    @Test func noDescriptorLeak() throws {
        let before = openDescriptors()
        var port = 0
        do {
            let loop = try EventLoop()
            let server = EchoHandler()
            // All 200 connect before the loop accepts any: a backlog below that would make
            // the kernel drop SYNs, which are only retried after a second.
            let listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0, backlog: 1024) { connection in
                connection.delegate = server
            }
            port = listener.localPort
            let count = 200
            var finished = 0
            var recorders: [Recorder] = []
            for index in 0..<count {
                let recorder = Recorder()
                recorders.append(recorder)
                let message = Array("hello \(index)".utf8)
                recorder.onRead = { connection, _ in
                    if recorder.received.count >= message.count { connection.close() }
                }
                recorder.onClose = { _ in finished += 1 }
                TCPConnector.connect(loop: loop, host: "127.0.0.1", port: port) { result in
                    guard case .success(let connection) = result else {
                        finished += 1
                        return
                    }
                    connection.delegate = recorder
                    connection.write(message)
                }
            }
            #expect(turn(loop, until: { finished == count && server.closedCount == count }))
            #expect(recorders.allSatisfy { $0.closeError == nil && $0.closeCount == 1 })
            // Lingering sockets finish once the peers' EOFs are read.
            #expect(turn(loop, until: { loop.registeredSourceCount == 1 }))
            #expect(descriptorsOnPort(port).count == 1, "only the listener should be left")
            listener.close()
            #expect(descriptorsOnPort(port).isEmpty)

            // Connections still open when the loop goes away are closed by its deinit.
            let second = try TCPListener(loop: loop, host: "127.0.0.1", port: 0) { $0.delegate = server }
            var open: [TCPConnection] = []
            for _ in 0..<20 {
                if case .success(let connection)? = connectNow(loop, port: second.localPort) { open.append(connection) }
            }
            #expect(open.count == 20)
            _ = try loop.onSignals([SIGUSR2]) { _ in }
            _ = try loop.watchReadable(fd: 0) {}
        }
        // The loop, its epoll descriptor, signalfd and every socket are gone.
        let after = openDescriptors()
        let beforeSet = Set(before.map(\.fd))
        let new = after.filter { !beforeSet.contains($0.fd) }
        #expect(after.count == before.count, "descriptors before \(before.count), after \(after.count); new: \(new)")
        #expect(descriptorsOnPort(port).isEmpty)
    }
}
