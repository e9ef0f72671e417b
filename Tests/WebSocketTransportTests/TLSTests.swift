import Glibc
import Testing
@testable import WebSocketTransport

extension TransportTests {
    // MARK: Our client and our server

    @Test func tlsEchoBothWaysWithLargeWrites() throws {
        let certificates = try TestCertificates.get()
        let loop = try EventLoop()
        let context = try TLSContext(server: certificates.server)
        let server = try TLSTestServer(loop: loop, context: context, echo: true)
        let client = TLSClientConfiguration(caFile: certificates.caCertificate)

        // Four clients each send 3 MiB in random chunks (at most 256 KiB queued) and check
        // every echoed byte.
        let clientCount = 4
        let size = 3 << 20
        let pattern = randomBytes(size + clientCount * 4099, seed: 11)
        var clients: [EchoClient] = []
        var connections: [TLSConnection] = []
        var done = 0
        var failures: [TransportError] = []
        pattern.withUnsafeBytes { pattern in
            for index in 0..<clientCount {
                let window = UnsafeRawBufferPointer(rebasing: pattern[index * 4099..<index * 4099 + size])
                let echoClient = EchoClient(expected: window, seed: UInt64(index) + 7)
                echoClient.onFinished = {
                    done += 1
                    if done == clientCount { loop.stop() }
                }
                clients.append(echoClient)
                TLSConnector.connect(loop: loop, host: "127.0.0.1", port: server.port, configuration: client) { result in
                    switch result {
                    case .success(let connection):
                        connections.append(connection)
                        echoClient.start(connection)
                    case .failure(let error):
                        failures.append(error)
                        loop.stop()
                    }
                }
            }
            run(loop)
        }
        #expect(failures.isEmpty, "\(failures)")
        #expect(done == clientCount)
        for (index, echoClient) in clients.enumerated() {
            #expect(echoClient.received == size, "client \(index) received \(echoClient.received)")
            #expect(echoClient.mismatchAt == nil, "client \(index) got a wrong byte at \(echoClient.mismatchAt ?? -1)")
            #expect(echoClient.closeError == nil)
        }
        // Each side saw the handshake once and reports what was negotiated.
        #expect(turn(loop, until: { server.recorders.count == clientCount && server.recorders.allSatisfy(\.closed) }))
        for recorder in server.recorders {
            #expect(recorder.establishedCount == 1)
            #expect(recorder.closeError == nil)
            #expect(recorder.info?.version == "TLSv1.3")
            #expect(recorder.info?.peerSubject == nil)  // no client certificate
            #expect(recorder.info?.serverName == nil)  // no SNI for an IP address
        }
        for connection in connections {
            let info = try #require(connection.negotiated)
            #expect(info.version == "TLSv1.3")
            #expect(info.cipher.hasPrefix("TLS_"), "\(info.cipher)")
            #expect(info.peerSubject == "O=wscope tests,CN=localhost")
            #expect(info.peerIssuer == "CN=wscope test CA")
            #expect(info.verified)
            #expect(info.description.hasPrefix("TLSv1.3 TLS_"), "\(info.description)")
            #expect(!connection.isOpen)
        }
        server.listener.close()
    }

    @Test func tlsLargeWriteWaitsWhileReaderPauses() throws {
        let certificates = try TestCertificates.get()
        let loop = try EventLoop()
        let server = try TLSTestServer(loop: loop, context: try TLSContext(server: certificates.server)) { connection, _ in
            connection.pauseReading()
        }
        let writer = TLSRecorder()
        let client = try #require(try tlsConnectNow(
            loop, host: "localhost", port: server.port,
            configuration: TLSClientConfiguration(caFile: certificates.caCertificate))?.get())
        client.delegate = writer
        #expect(turn(loop, until: { server.connections.first?.negotiated != nil }))
        #expect(server.first?.info?.serverName == "localhost")

        let payload = randomBytes(8 << 20, seed: 3)
        client.write(payload)
        #expect(client.pendingOutputBytes > 0, "8 MiB should not fit in the socket buffers of a paused reader")
        let pauseEnd = ContinuousClock.now + .milliseconds(150)
        turn(loop, until: { ContinuousClock.now >= pauseEnd })
        let reader = try #require(server.first)
        #expect(client.pendingOutputBytes > 0)
        #expect(reader.received.isEmpty)
        #expect(writer.drainCount == 0)

        // Resume and pause again after each delivery: plaintext already decrypted must
        // wait for the next resume, not arrive while paused.
        let serverSide = try #require(server.connections.first)
        var deliveriesWhilePaused = 0
        reader.onRead = { connection, _ in
            if serverSide.isReadingPaused { deliveriesWhilePaused += 1 }
            connection.pauseReading()
            loop.runSoon { connection.resumeReading() }
        }
        serverSide.resumeReading()
        #expect(turn(loop, until: { reader.received.count == payload.count }))
        #expect(deliveriesWhilePaused == 0)
        #expect(turn(loop, until: { client.pendingOutputBytes == 0 }))
        #expect(writer.drainCount == 1)
        expectSameBytes(reader.received, payload)

        client.close()
        #expect(turn(loop, until: { reader.closed && writer.closed }))
        #expect(reader.closeError == nil)
        #expect(writer.closeError == nil)
        #expect(reader.closeCount == 1 && writer.closeCount == 1)
        server.listener.close()
    }

    @Test func tlsGracefulCloseDeliversEverythingQueued() throws {
        let certificates = try TestCertificates.get()
        let loop = try EventLoop()
        let payload = randomBytes(6 << 20, seed: 5)
        var queuedAtClose = 0
        let server = try TLSTestServer(loop: loop, context: try TLSContext(server: certificates.server)) { connection, _ in
            // Written before the handshake: buffered, then sent, then close_notify.
            connection.write(payload)
            connection.close()
            queuedAtClose = connection.pendingOutputBytes
            #expect(!connection.isOpen)
            connection.write([1, 2, 3])  // ignored
        }
        let clientEnd = TLSRecorder()
        let client = try #require(try tlsConnectNow(
            loop, port: server.port, configuration: TLSClientConfiguration(caFile: certificates.caCertificate))?.get())
        client.delegate = clientEnd
        let serverEnd = try #require(server.first)
        #expect(turn(loop, until: { clientEnd.closed && serverEnd.closed }))
        #expect(queuedAtClose == payload.count)
        expectSameBytes(clientEnd.received, payload)
        #expect(clientEnd.closeError == nil)
        #expect(serverEnd.closeError == nil)
        #expect(serverEnd.establishedCount == 1)
        #expect(clientEnd.closeCount == 1 && serverEnd.closeCount == 1)
        server.listener.close()
    }

    @Test func tlsWritesBeforeTheHandshakeAndCloseAreDelivered() throws {
        let certificates = try TestCertificates.get()
        let loop = try EventLoop()
        let server = try TLSTestServer(loop: loop, context: try TLSContext(server: certificates.server))
        let tcp = try #require(try connectNow(loop, port: server.port)?.get())
        let context = try TLSContext(client: TLSClientConfiguration(caFile: certificates.caCertificate))
        let client = TLSConnection(client: tcp, context: context, serverName: "localhost")
        let clientEnd = TLSRecorder()
        client.delegate = clientEnd
        client.write(Array("early ".utf8))
        client.write(Array("bytes".utf8))
        #expect(client.pendingOutputBytes == 11)
        client.close()
        let serverEnd = try #require({ turn(loop, until: { server.first?.closed == true }); return server.first }())
        #expect(serverEnd.text == "early bytes")
        #expect(serverEnd.closeError == nil)
        #expect(turn(loop, until: { clientEnd.closed }))
        #expect(clientEnd.establishedCount == 1)
        #expect(clientEnd.closeError == nil)
        #expect(client.negotiated?.serverName == "localhost")
        server.listener.close()
    }

    @Test func tlsClientCertificate() throws {
        let certificates = try TestCertificates.get()
        let loop = try EventLoop()
        var serverConfiguration = certificates.server
        serverConfiguration.clientCAFile = certificates.caCertificate
        serverConfiguration.alpn = ["http/1.1"]
        let server = try TLSTestServer(loop: loop, context: try TLSContext(server: serverConfiguration), echo: true)

        var withCertificate = TLSClientConfiguration(caFile: certificates.caCertificate)
        withCertificate.certificateFile = certificates.clientCertificate
        withCertificate.privateKeyFile = certificates.clientKey
        withCertificate.alpn = ["h2", "http/1.1"]
        let client = try #require(try tlsConnectNow(loop, port: server.port, configuration: withCertificate)?.get())
        let clientEnd = TLSRecorder()
        client.delegate = clientEnd
        client.write(Array("ping".utf8))
        #expect(turn(loop, until: { clientEnd.text == "ping" }))
        let serverEnd = try #require(server.first)
        #expect(serverEnd.info?.peerSubject == "CN=wscope client")
        #expect(serverEnd.info?.verified == true)
        #expect(serverEnd.info?.alpn == "http/1.1")
        #expect(client.negotiated?.alpn == "http/1.1")
        client.close()
        #expect(turn(loop, until: { clientEnd.closed && serverEnd.closed }))

        // Without a certificate the server refuses. With TLS 1.3 the client learns it
        // after its side of the handshake, on the first read.
        let result = tlsConnectNow(loop, port: server.port,
                                   configuration: TLSClientConfiguration(caFile: certificates.caCertificate))
        var clientError = result?.failureValue
        if case .success(let connection)? = result {
            let recorder = TLSRecorder()
            connection.delegate = recorder
            #expect(turn(loop, until: { recorder.closed }))
            clientError = recorder.closeError
        }
        #expect(clientError?.kind == .tls)
        #expect(clientError?.description.hasSuffix("the server requires a client certificate") == true,
                "\(clientError?.description ?? "nil")")
        #expect(turn(loop, until: { server.recorders.count == 2 && server.recorders[1].closed }))
        let refused = server.recorders[1].closeError?.description ?? "nil"
        #expect(refused.hasSuffix("failed: the client sent no certificate (one is required)"), "\(refused)")
        server.listener.close()
    }

    // MARK: Verification

    @Test func tlsVerificationFailuresNameTheReason() throws {
        let c = try TestCertificates.get()
        let ca = TLSClientConfiguration(caFile: c.caCertificate)
        struct Case {
            let certificate: String
            let host: String
            let configuration: TLSClientConfiguration
            let reason: String
        }
        let cases = [
            Case(certificate: c.selfSignedCertificate, host: "localhost", configuration: ca,
                 reason: "unknown certificate authority (self-signed certificate)"),
            // The system store does not know our CA.
            Case(certificate: c.serverCertificate, host: "localhost", configuration: TLSClientConfiguration(),
                 reason: "unknown certificate authority (issuer 'CN=wscope test CA' is not trusted)"),
            Case(certificate: c.expiredCertificate, host: "localhost", configuration: ca,
                 reason: "certificate has expired (on "),
            Case(certificate: c.otherHostCertificate, host: "localhost", configuration: ca,
                 reason: "hostname mismatch (certificate is for other.example, not localhost)"),
            Case(certificate: c.otherHostCertificate, host: "127.0.0.1", configuration: ca,
                 reason: "IP address mismatch (certificate is for other.example, not 127.0.0.1)"),
            // serverName overrides the host for SNI and verification.
            Case(certificate: c.serverCertificate, host: "127.0.0.1",
                 configuration: TLSClientConfiguration(serverName: "www.example.com", caFile: c.caCertificate),
                 reason: "hostname mismatch (certificate is for localhost, 127.0.0.1, not www.example.com)"),
        ]
        for test in cases {
            let loop = try EventLoop()
            let context = try TLSContext(server: TLSServerConfiguration(certificateFile: test.certificate,
                                                                        privateKeyFile: c.serverKey))
            let server = try TLSTestServer(loop: loop, context: context)
            let result = tlsConnectNow(loop, host: test.host, port: server.port, configuration: test.configuration)
            let error = try #require(result?.failureValue, "\(test.reason): connected")
            #expect(error.kind == .tls)
            let expected = "TLS handshake with \(test.host == "localhost" ? "127.0.0.1" : test.host):\(server.port) failed: \(test.reason)"
            #expect(error.description.hasPrefix(expected), "\(error.description)")
            #expect(!error.description.contains("\n"))
            // The server hears of it too (our client sends an alert).
            #expect(turn(loop, until: { server.first?.closed == true }))
            let serverError = server.first?.closeError
            #expect(serverError?.kind == .tls, "\(serverError?.description ?? "nil")")
            server.listener.close()
        }
    }

    @Test func tlsAlertFromTheClientIsReportedByTheServer() throws {
        let c = try TestCertificates.get()
        let loop = try EventLoop()
        let context = try TLSContext(server: TLSServerConfiguration(certificateFile: c.selfSignedCertificate,
                                                                    privateKeyFile: c.serverKey))
        let server = try TLSTestServer(loop: loop, context: context)
        _ = tlsConnectNow(loop, port: server.port, configuration: TLSClientConfiguration(caFile: c.caCertificate))
        #expect(turn(loop, until: { server.first?.closed == true }))
        let message = server.first?.closeError?.description ?? "nil"
        #expect(message == "TLS handshake with \(server.connections[0].remoteDescription) failed: the peer sent the alert 'unknown ca' (it does not accept our certificate)", "\(message)")
        server.listener.close()
    }

    @Test func tlsInsecureAcceptsSelfSigned() throws {
        let c = try TestCertificates.get()
        let loop = try EventLoop()
        let context = try TLSContext(server: TLSServerConfiguration(certificateFile: c.selfSignedCertificate,
                                                                    privateKeyFile: c.serverKey))
        let server = try TLSTestServer(loop: loop, context: context, echo: true)
        // Even with the wrong name.
        let client = try #require(try tlsConnectNow(
            loop, port: server.port, configuration: TLSClientConfiguration(serverName: "wrong.example", insecure: true))?.get())
        let info = try #require(client.negotiated)
        #expect(!info.verified)
        #expect(info.peerSubject == "O=self-signed,CN=localhost")
        #expect(info.description.hasSuffix("certificate O=self-signed,CN=localhost (not verified)"), "\(info)")
        let recorder = TLSRecorder()
        client.delegate = recorder
        client.write(Array("hello".utf8))
        #expect(turn(loop, until: { recorder.text == "hello" }))
        #expect(server.first?.info?.serverName == "wrong.example")
        client.close()
        #expect(turn(loop, until: { recorder.closed }))
        #expect(recorder.closeError == nil)
        server.listener.close()
    }

    @Test func tlsCorruptRecordFailsTheConnection() throws {
        let c = try TestCertificates.get()
        let loop = try EventLoop()
        let server = try TLSTestServer(loop: loop, context: try TLSContext(server: c.server))
        // A relay between client and server that can flip a byte of what the server sends.
        let toClient = Relay()
        let toServer = Relay()
        let relay = try TCPListener(loop: loop, host: "127.0.0.1", port: 0) { inbound in
            inbound.pauseReading()  // until the other side is connected
            TCPConnector.connect(loop: loop, host: "127.0.0.1", port: server.port) { result in
                guard case .success(let outbound) = result else { return inbound.abort() }
                toServer.target = outbound
                toClient.target = inbound
                inbound.delegate = toServer
                outbound.delegate = toClient
                inbound.resumeReading()
            }
        }
        let client = try #require(try tlsConnectNow(
            loop, host: "localhost", port: relay.localPort,
            configuration: TLSClientConfiguration(caFile: c.caCertificate))?.get())
        let clientEnd = TLSRecorder()
        client.delegate = clientEnd
        #expect(turn(loop, until: { server.connections.first?.negotiated != nil }))
        server.connections[0].write(Array("intact".utf8))
        #expect(turn(loop, until: { clientEnd.text == "intact" }))
        toClient.corruptNext = true
        server.connections[0].write(Array("this record is damaged on the way".utf8))
        #expect(turn(loop, until: { clientEnd.closed }))
        let error = try #require(clientEnd.closeError)
        #expect(error.kind == .tls)
        #expect(error.description.hasPrefix("TLS with 127.0.0.1:\(relay.localPort) failed: "), "\(error)")
        #expect(error.description.contains("bad record mac"), "\(error)")
        #expect(clientEnd.text == "intact")
        // Our alert reaches the server.
        #expect(turn(loop, until: { server.first?.closed == true }))
        let serverError = server.first?.closeError?.description ?? "nil"
        #expect(serverError.contains("the peer sent the alert 'bad record mac'"), "\(serverError)")
        relay.close()
        server.listener.close()
    }

    // MARK: Not TLS, timeouts, cancel

    @Test func tlsAgainstPlainPeers() throws {
        let c = try TestCertificates.get()
        let loop = try EventLoop()
        // A TLS client at a plain server that answers with HTTP.
        let plain = Recorder()
        let plainListener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0) { connection in
            connection.delegate = plain
            connection.write(Array("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".utf8))
        }
        let result = tlsConnectNow(loop, port: plainListener.localPort,
                                   configuration: TLSClientConfiguration(caFile: c.caCertificate))
        let error = try #require(result?.failureValue)
        #expect(error.kind == .tls)
        #expect(error.description.hasPrefix("TLS handshake with 127.0.0.1:\(plainListener.localPort) failed: the server does not speak TLS ("),
                "\(error.description)")

        // A plain HTTP client at a TLS server.
        let server = try TLSTestServer(loop: loop, context: try TLSContext(server: c.server))
        let tcp = try #require(try connectNow(loop, port: server.port)?.get())
        let httpClient = Recorder()
        tcp.delegate = httpClient
        tcp.write(Array("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8))
        #expect(turn(loop, until: { server.first?.closed == true && httpClient.closed }))
        let serverError = server.first?.closeError?.description ?? "nil"
        #expect(serverError.hasSuffix("failed: the client sent plain HTTP, not TLS (a ws:// client?)"), "\(serverError)")

        // A server that accepts and says nothing: the handshake times out.
        let silent = try TCPListener(loop: loop, host: "127.0.0.1", port: 0) { $0.delegate = plain }
        let start = ContinuousClock.now
        let timedOut = tlsConnectNow(loop, port: silent.localPort,
                                     configuration: TLSClientConfiguration(caFile: c.caCertificate),
                                     timeout: .milliseconds(300))
        let timeout = try #require(timedOut?.failureValue)
        #expect(timeout.kind == .timedOut)
        #expect(timeout.description.hasPrefix("TLS handshake with 127.0.0.1:\(silent.localPort) timed out after "),
                "\(timeout.description)")
        #expect(ContinuousClock.now - start < .seconds(3))

        // The peer hangs up in the middle of the handshake.
        let hangUp = try TCPListener(loop: loop, host: "127.0.0.1", port: 0) { connection in
            connection.delegate = plain
            connection.close()
        }
        let hungUp = try #require(tlsConnectNow(loop, port: hangUp.localPort,
                                                configuration: TLSClientConfiguration(insecure: true))?.failureValue)
        #expect(hungUp.description.hasPrefix("TLS handshake with 127.0.0.1:\(hangUp.localPort) failed: "), "\(hungUp)")
        for listener in [plainListener, server.listener, silent, hangUp] { listener.close() }
    }

    @Test func tlsConnectAttemptCanBeCancelled() throws {
        let c = try TestCertificates.get()
        let loop = try EventLoop()
        var accepted: [TCPConnection] = []
        let silent = try TCPListener(loop: loop, host: "127.0.0.1", port: 0) { accepted.append($0) }
        var called = false
        let attempt = TLSConnector.connect(loop: loop, host: "127.0.0.1", port: silent.localPort,
                                           configuration: TLSClientConfiguration(caFile: c.caCertificate)) { _ in
            called = true
        }
        #expect(turn(loop, until: { accepted.count == 1 }))
        let deadline = ContinuousClock.now + .milliseconds(50)
        turn(loop, until: { ContinuousClock.now >= deadline })  // the ClientHello is out
        #expect(attempt.isPending)
        attempt.cancel()
        #expect(!attempt.isPending)
        let recorder = Recorder()
        accepted[0].delegate = recorder
        #expect(turn(loop, until: { recorder.closed }))  // our side went away
        let after = ContinuousClock.now + .milliseconds(50)
        turn(loop, until: { ContinuousClock.now >= after })
        #expect(!called)
        silent.close()
        #expect(turn(loop, until: { loop.registeredSourceCount == 0 }))
    }

    // MARK: Configuration errors

    @Test func tlsConfigurationErrorsAreOneClearLine() throws {
        let c = try TestCertificates.get()
        func serverError(_ certificate: String, _ key: String) -> String {
            do {
                _ = try TLSContext(server: TLSServerConfiguration(certificateFile: certificate, privateKeyFile: key))
                return "no error"
            } catch {
                #expect(error.kind == .tls)
                return error.description
            }
        }
        func clientError(_ configuration: TLSClientConfiguration) -> String {
            do {
                _ = try TLSContext(client: configuration)
                return "no error"
            } catch {
                #expect(error.kind == .tls)
                return error.description
            }
        }
        let missing = c.directory + "/missing.pem"
        #expect(serverError(missing, c.serverKey) == "cannot read certificate '\(missing)': No such file or directory")
        #expect(serverError(c.serverCertificate, missing) == "cannot read private key '\(missing)': No such file or directory")
        #expect(serverError(c.directory, c.serverKey) == "cannot read certificate '\(c.directory)': Is a directory")
        #expect(serverError(c.notPEM, c.serverKey) == "cannot read certificate '\(c.notPEM)': no PEM certificate in it")
        #expect(serverError(c.serverCertificate, c.notPEM) == "cannot read private key '\(c.notPEM)': no PEM private key in it")
        #expect(serverError(c.serverCertificate, c.strangerKey)
            == "private key does not match certificate (key '\(c.strangerKey)', certificate '\(c.serverCertificate)')")
        #expect(serverError(c.serverCertificate, c.clientKey)
            == "private key does not match certificate (key '\(c.clientKey)', certificate '\(c.serverCertificate)')")
        #expect(serverError(c.serverCertificate, c.encryptedKey)
            == "cannot read private key '\(c.encryptedKey)': it is encrypted (a passphrase-protected key is not supported)")
        #expect(serverError(c.serverCertificate, c.serverKey) == "no error")

        #expect(clientError(TLSClientConfiguration(caFile: missing)) == "cannot read CA file '\(missing)': No such file or directory")
        #expect(clientError(TLSClientConfiguration(caFile: c.notPEM)) == "cannot read CA file '\(c.notPEM)': no PEM certificate in it")
        #expect(clientError(TLSClientConfiguration(certificateFile: c.clientCertificate))
            == "a client certificate needs both a certificate file and a private key file")
        #expect(clientError(TLSClientConfiguration(certificateFile: c.clientCertificate, privateKeyFile: c.serverKey))
            == "private key does not match certificate (key '\(c.serverKey)', certificate '\(c.clientCertificate)')")
        #expect(clientError(TLSClientConfiguration(alpn: [""])) == "invalid ALPN protocol name '': 1 to 255 bytes expected")
        #expect(clientError(TLSClientConfiguration(caFile: c.caCertificate)) == "no error")
        #expect(clientError(TLSClientConfiguration()) == "no error")  // the system store

        // Through the connector: reported to the completion, from the loop.
        let loop = try EventLoop()
        var result: Result<TLSConnection, TransportError>?
        TLSConnector.connect(loop: loop, host: "127.0.0.1", port: 9, configuration: TLSClientConfiguration(caFile: missing)) {
            result = $0
        }
        #expect(result == nil)
        #expect(turn(loop, until: { result != nil }))
        #expect(result?.failureValue?.description == "cannot read CA file '\(missing)': No such file or directory")

        // A server context cannot start a client connection.
        let listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0) { _ in }
        let tcp = try #require(try connectNow(loop, port: listener.localPort)?.get())
        let wrong = TLSConnection(client: tcp, context: try TLSContext(server: c.server))
        let recorder = TLSRecorder()
        wrong.delegate = recorder
        #expect(turn(loop, until: { recorder.closed }))
        #expect(recorder.closeError?.description == "a TLS server context cannot start a client connection")
        listener.close()
    }

    // MARK: Interoperability with the openssl command

    @Test func tlsClientToOpenSSLServer() throws {
        let c = try TestCertificates.get()
        // -rev answers each line reversed; -tlsextdebug prints the ClientHello extensions.
        let (process, port) = try startOpenSSLServer([
            "-cert", c.serverCertificate, "-key", c.serverKey, "-rev", "-tlsextdebug",
        ])
        defer { process.terminate() }
        let loop = try EventLoop()
        let client = try #require(try tlsConnectNow(
            loop, host: "localhost", port: port, configuration: TLSClientConfiguration(caFile: c.caCertificate))?.get())
        let recorder = TLSRecorder()
        client.delegate = recorder
        client.write(Array("hello wscope\n".utf8))
        #expect(turn(loop, until: { recorder.text.contains("epocsw olleh") }), "\(recorder.text)")
        #expect(client.negotiated?.version == "TLSv1.3")
        #expect(client.negotiated?.peerSubject == "O=wscope tests,CN=localhost")
        client.close()
        #expect(turn(loop, until: { recorder.closed }))
        #expect(recorder.closeError == nil)
        #expect(process.wait() == 0)
        // SNI was sent: s_server dumps the server_name extension with the name in it.
        #expect(process.text.contains("TLS client extension \"server name\""), "\(process.text)")
        #expect(process.text.contains("localhost"))
    }

    @Test func tlsClientToOpenSSLServerTLS12AndPeerClose() throws {
        let c = try TestCertificates.get()
        // -www answers a GET with a page, then closes (close_notify).
        let (process, port) = try startOpenSSLServer([
            "-cert", c.serverCertificate, "-key", c.serverKey, "-www", "-tls1_2",
        ])
        defer { process.terminate() }
        let loop = try EventLoop()
        let client = try #require(try tlsConnectNow(
            loop, port: port, configuration: TLSClientConfiguration(caFile: c.caCertificate))?.get())
        let info = try #require(client.negotiated)
        #expect(info.version == "TLSv1.2")
        #expect(info.cipher.hasPrefix("ECDHE-ECDSA-"), "\(info.cipher)")
        let recorder = TLSRecorder()
        client.delegate = recorder
        client.write(Array("GET / HTTP/1.0\r\n\r\n".utf8))
        #expect(turn(loop, until: { recorder.closed }))
        #expect(recorder.closeError == nil)
        #expect(recorder.text.hasPrefix("HTTP/1.0 200 ok"), "\(recorder.text.prefix(200))")
        #expect(recorder.text.contains(info.cipher))
        #expect(process.wait() == 0)
    }

    @Test func tlsRefusesVersionsBelow12() throws {
        let c = try TestCertificates.get()
        let (process, port) = try startOpenSSLServer([
            "-cert", c.serverCertificate, "-key", c.serverKey, "-www", "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0",
        ])
        defer { process.terminate() }
        let loop = try EventLoop()
        let error = try #require(tlsConnectNow(
            loop, port: port, configuration: TLSClientConfiguration(caFile: c.caCertificate))?.failureValue)
        #expect(error.kind == .tls)
        #expect(error.description.hasPrefix("TLS handshake with 127.0.0.1:\(port) failed: "), "\(error.description)")
        #expect(error.description.contains("version"), "\(error.description)")
    }

    @Test func tlsServerAcceptsOpenSSLClient() throws {
        let c = try TestCertificates.get()
        let loop = try EventLoop()
        var configuration = c.server
        configuration.alpn = ["http/1.1"]
        let server = try TLSTestServer(loop: loop, context: try TLSContext(server: configuration)) { _, recorder in
            recorder.onRead = { [unowned recorder] connection, _ in
                if recorder.text.contains("ping\n") {
                    connection.write(Array("pong\n".utf8))
                    connection.close()
                }
            }
        }
        let process = try ChildProcess([
            "openssl", "s_client", "-connect", "127.0.0.1:\(server.port)", "-servername", "localhost",
            "-CAfile", c.caCertificate, "-verify_return_error", "-alpn", "http/1.1", "-quiet", "-no_ign_eof",
        ])
        defer { process.terminate() }
        #expect(turn(loop, until: { server.connections.first?.negotiated != nil }))
        process.send("ping\n")
        let serverEnd = try #require(server.first)
        #expect(turn(loop, until: { serverEnd.closed }))
        #expect(serverEnd.closeError == nil)
        #expect(process.wait() == 0, "\(process.text)")
        #expect(process.text.contains("pong"), "\(process.text)")
        let info = try #require(serverEnd.info)
        #expect(info.serverName == "localhost")
        #expect(info.alpn == "http/1.1")
        #expect(info.version == "TLSv1.3")
        server.listener.close()
    }

    // MARK: Resources

    @Test func tlsNoDescriptorLeak() throws {
        let c = try TestCertificates.get()
        let before = openDescriptors()
        var port = 0
        do {
            let loop = try EventLoop()
            let server = try TLSTestServer(loop: loop, context: try TLSContext(server: c.server), echo: true)
            port = server.port
            let context = try TLSContext(client: TLSClientConfiguration(caFile: c.caCertificate))
            let count = 30
            var recorders: [TLSRecorder] = []
            var failures: [TransportError] = []
            for index in 0..<count {
                let recorder = TLSRecorder()
                recorders.append(recorder)
                let message = Array("hello \(index)".utf8)
                recorder.onRead = { [unowned recorder] connection, _ in
                    if recorder.received.count >= message.count { connection.close() }
                }
                TLSConnector.connect(loop: loop, host: "127.0.0.1", port: port, context: context) { result in
                    switch result {
                    case .success(let connection):
                        connection.delegate = recorder
                        connection.write(message)
                    case .failure(let error):
                        failures.append(error)
                    }
                }
            }
            #expect(turn(loop, until: { recorders.allSatisfy(\.closed) || !failures.isEmpty }))
            #expect(failures.isEmpty, "\(failures)")
            #expect(recorders.allSatisfy { $0.closeError == nil && $0.closeCount == 1 })
            // Failures too: an unknown CA, and a handshake abandoned halfway.
            #expect(tlsConnectNow(loop, port: port, configuration: TLSClientConfiguration())?.failureValue != nil)
            let halfway = try #require(try connectNow(loop, port: port)?.get())
            TLSConnection(client: halfway, context: context).abort()
            #expect(turn(loop, until: { server.recorders.count == count + 2 && server.recorders.allSatisfy(\.closed) }))
            #expect(turn(loop, until: { loop.registeredSourceCount == 1 }))
            #expect(descriptorsOnPort(port).count == 1, "only the listener should be left")
            server.listener.close()

            // Connections still open (and one mid-handshake) when the loop goes away.
            let second = try TLSTestServer(loop: loop, context: try TLSContext(server: c.server))
            var open: [TLSConnection] = []
            for _ in 0..<5 {
                if case .success(let connection)? = tlsConnectNow(
                    loop, port: second.port, configuration: TLSClientConfiguration(caFile: c.caCertificate)) {
                    open.append(connection)
                }
            }
            #expect(open.count == 5)
            if case .success(let tcp)? = connectNow(loop, port: second.port) {
                _ = TLSConnection(client: tcp, context: context)
            }
        }
        let after = openDescriptors()
        let beforeSet = Set(before.map(\.fd))
        let new = after.filter { !beforeSet.contains($0.fd) }
        #expect(after.count == before.count, "descriptors before \(before.count), after \(after.count); new: \(new)")
        #expect(descriptorsOnPort(port).isEmpty)
    }
}
