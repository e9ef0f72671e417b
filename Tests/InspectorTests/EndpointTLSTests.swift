import Testing
import WebSocket
import WebSocketTransport
@testable import Inspector
#if canImport(Glibc)
import Glibc
#endif

/// Certificates made with the `openssl` command once per test run: a CA, a server
/// certificate for IP 127.0.0.1 only, an expired one, and a client certificate.
struct EndpointTestCertificates: Sendable {
    let directory: String
    var ca: String { directory + "/ca.pem" }
    var serverCert: String { directory + "/server.pem" }
    var serverKey: String { directory + "/server.key" }
    var expiredCert: String { directory + "/expired.pem" }
    var clientCert: String { directory + "/client.pem" }
    var clientKey: String { directory + "/client.key" }

    private static let made: Result<EndpointTestCertificates, OpenSSLCommandError> = Result { () throws(OpenSSLCommandError) in
        try make()
    }

    static func get() throws -> EndpointTestCertificates { try made.get() }

    private static func make() throws(OpenSSLCommandError) -> EndpointTestCertificates {
        var template = Array("/tmp/wscope-inspector-tls-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw OpenSSLCommandError(description: "mkdtemp failed")
        }
        let d = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        func write(_ name: String, _ text: String) throws(OpenSSLCommandError) {
            guard let file = fopen(d + "/" + name, "w") else { throw OpenSSLCommandError(description: "cannot write \(name)") }
            fputs(text, file)
            fclose(file)
        }
        try write("server.ext", "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
        try write("client.ext", "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n")
        try openssl(["req", "-x509"] + ec + ["-keyout", "\(d)/ca.key", "-out", "\(d)/ca.pem", "-days", "2",
                     "-subj", "/CN=wscope inspector test CA",
                     "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        try openssl(["req"] + ec + ["-keyout", "\(d)/server.key", "-out", "\(d)/server.csr", "-subj", "/CN=127.0.0.1"])
        try openssl(["req"] + ec + ["-keyout", "\(d)/client.key", "-out", "\(d)/client.csr", "-subj", "/CN=wscope test client"])
        func sign(_ csr: String, _ out: String, days: Int, ext: String) throws(OpenSSLCommandError) {
            try openssl(["x509", "-req", "-in", "\(d)/\(csr)", "-CA", "\(d)/ca.pem", "-CAkey", "\(d)/ca.key",
                         "-CAcreateserial", "-days", String(days), "-extfile", "\(d)/\(ext)", "-out", "\(d)/\(out)"])
        }
        try sign("server.csr", "server.pem", days: 2, ext: "server.ext")
        try sign("server.csr", "expired.pem", days: -1, ext: "server.ext")
        try sign("client.csr", "client.pem", days: 2, ext: "client.ext")
        return EndpointTestCertificates(directory: d)
    }

    /// Runs `openssl ARGS` with its output discarded; throws unless it exits 0.
    private static func openssl(_ arguments: [String]) throws(OpenSSLCommandError) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var argv: [UnsafeMutablePointer<CChar>?] = (["openssl"] + arguments).map { strdup($0) }
        argv.append(nil)
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        guard posix_spawnp(&child, "openssl", &actions, nil, argv, environ) == 0 else {
            throw OpenSSLCommandError(description: "cannot run openssl")
        }
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else { throw OpenSSLCommandError(description: "openssl \(arguments.prefix(2).joined(separator: " ")) failed") }
    }
}

struct OpenSSLCommandError: Error, CustomStringConvertible {
    let description: String
}

/// The endpoints over TLS: `listen --tls-cert` and `connect wss://` on one loop, with the
/// TLS event, verification failures, --insecure and client certificates.
@Suite("Server and client endpoints over TLS")
struct EndpointTLSTests {
    struct Outcome {
        var server: [SessionEvent]
        var client: [SessionEvent]
        var opened: Bool
    }

    /// A wss echo server (`tlsServer`) and a client of `host` (`tlsClient`) sending "over
    /// tls" and closing; runs until the client finishes.
    static func session(server: TLSServerConfiguration?, client: TLSClientConfiguration,
                        host: String = "127.0.0.1", plainServer: Bool = false) throws -> Outcome {
        let loop = try EventLoop()
        var serverOptions = EndpointOptions()
        serverOptions.echo = true
        if let server { serverOptions.tlsServer = try TLSContext(server: server) }
        var serverEvents: [SessionEvent] = []
        var clientEvents: [SessionEvent] = []
        let endpoint = ServerEndpoint(loop: loop, options: serverOptions) { serverEvents.append($0) }
        try endpoint.start(host: "127.0.0.1", port: 0)
        let port = try #require(endpoint.localPort)
        var clientOptions = EndpointOptions()
        clientOptions.tlsClient = try TLSContext(client: client)
        clientOptions.connectTimeout = .seconds(5)
        let url = try WebSocketURL.parse("wss://\(host):\(port)/tls")
        let clientEndpoint = ClientEndpoint(loop: loop, url: url, options: clientOptions) { clientEvents.append($0) }
        var opened = false
        clientEndpoint.onFinished = { wasOpened in
            opened = wasOpened
            // Let the server see its side of the end before stopping.
            _ = loop.schedule(after: .milliseconds(100)) { loop.stop() }
        }
        let timeout = loop.schedule(after: .seconds(10)) { loop.stop() }
        clientEndpoint.start()
        clientEndpoint.sendText("over tls")
        clientEndpoint.close(code: .normalClosure, reason: "done")
        try loop.run()
        loop.cancel(timeout)
        endpoint.shutdown()
        return Outcome(server: serverEvents, client: clientEvents, opened: opened)
    }

    static func tlsInfo(_ events: [SessionEvent]) -> TLSInfo? {
        for case .tls(_, let info) in events { return info }
        return nil
    }

    static func index(_ events: [SessionEvent], _ matches: (SessionEvent) -> Bool) -> Int? {
        events.firstIndex(where: matches)
    }

    static func incomingTexts(_ events: [SessionEvent]) -> [String] {
        events.compactMap {
            if case .frame(_, .incoming, let header, let payload, _) = $0, header.opcode == .text {
                return String(decoding: payload, as: UTF8.self)
            }
            return nil
        }
    }

    /// Every error-like line of a side: handshake failures and errors.
    static func problems(_ events: [SessionEvent]) -> [String] {
        events.compactMap {
            switch $0 {
            case .handshakeFailed(_, _, let reason): return reason
            case .error(_, let message): return message
            default: return nil
            }
        }
    }

    @Test func echoOverVerifiedTLSReportsTheHandshakeBeforeTheOpen() throws {
        let certs = try EndpointTestCertificates.get()
        let outcome = try Self.session(
            server: TLSServerConfiguration(certificateFile: certs.serverCert, privateKeyFile: certs.serverKey),
            client: TLSClientConfiguration(caFile: certs.ca))
        #expect(outcome.opened)
        #expect(Self.incomingTexts(outcome.client) == ["over tls"])
        #expect(Self.incomingTexts(outcome.server) == ["over tls"])
        let info = try #require(Self.tlsInfo(outcome.client))
        #expect(info.version.hasPrefix("TLSv1."))
        #expect(!info.cipher.isEmpty && info.cipher != "?")
        #expect(info.peerSubject == "CN=127.0.0.1")
        #expect(info.peerIssuer == "CN=wscope inspector test CA")
        #expect(info.verified)
        #expect(info.serverName == nil, "an IP address is not sent in SNI")
        let tlsAt = try #require(Self.index(outcome.client) { if case .tls = $0 { return true } else { return false } })
        let openAt = try #require(Self.index(outcome.client) { if case .opened = $0 { return true } else { return false } })
        #expect(tlsAt < openAt)
        // The server saw the same handshake, from a client without a certificate.
        let serverInfo = try #require(Self.tlsInfo(outcome.server))
        #expect(serverInfo.version == info.version && serverInfo.cipher == info.cipher)
        #expect(serverInfo.peerSubject == nil && !serverInfo.verified)
        #expect(Self.problems(outcome.server).isEmpty && Self.problems(outcome.client).isEmpty)
        if case .closed(_, let code, _, let clean)? = outcome.client.last {
            #expect(code == .normalClosure && clean)
        } else {
            Issue.record("the client's last event is not its clean close: \(outcome.client.last.map { canonical($0) } ?? "none")")
        }
    }

    @Test func theTLSEventLineAndRecordingLine() throws {
        let info = TLSInfo(version: "TLSv1.3", cipher: "TLS_AES_128_GCM_SHA256", alpn: "http/1.1", serverName: "example.com",
                           peerSubject: "CN=evil\u{1b}[2J", peerIssuer: "CN=Example CA", verified: false)
        let line = EventLine.format(.tls(connection: 2, info: info))
        #expect(line == #"#2 tls TLSv1.3 TLS_AES_128_GCM_SHA256 alpn=http/1.1 sni=example.com peer="CN=evil\x1b[2J" NOT VERIFIED"#)
        let verified = TLSInfo(version: "TLSv1.2", cipher: "ECDHE-ECDSA-AES128-GCM-SHA256", peerSubject: "CN=a", verified: true)
        #expect(EventLine.format(.tls(connection: 1, info: verified)) == #"#1 tls TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256 peer="CN=a" verified"#)
        let anonymous = TLSInfo(version: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", verified: false)
        #expect(EventLine.format(.tls(connection: 3, info: anonymous)) == "#3 tls TLSv1.3 TLS_AES_256_GCM_SHA384 no peer certificate")

        // Written, read back, written again: the same line; every field survives.
        let json = RecordingFormat.line(for: .tls(connection: 2, info: info), tNs: 1234)
        #expect(json.hasPrefix(#"{"type":"tls","conn":2,"t_ns":1234,"tls_version":"TLSv1.3","cipher":"TLS_AES_128_GCM_SHA256","alpn":"http/1.1","sni":"example.com","peer_subject":"CN=evil\u001b[2J""#))
        #expect(json.hasSuffix(#""verified":false}"#))
        let file = RecordingFormat.headerLine(RecordingHeader(mode: "connect", endpoint: "wss://example.com/")) + "\n"
            + json + "\n" + RecordingFormat.line(for: .tls(connection: 3, info: anonymous), tNs: 5) + "\n"
        let reader = try RecordingReader(bytes: Array(file.utf8))
        let events = try reader.readAll()
        #expect(events.count == 2)
        guard events.count == 2, case .tls(2, let readInfo) = events[0].event, case .tls(3, let readAnonymous) = events[1].event else {
            Issue.record("not read back as tls events")
            return
        }
        #expect(readInfo == info && readAnonymous == anonymous && events[0].tNs == 1234)
        #expect(canonical(events[0].event, 1234) == json)
        // dump: text and normalized JSON.
        #expect(RecordingDump.text(events[0]).hasSuffix(line))
        let dumped = String(decoding: try RecordingDump.jsonLines(from: RecordingReader(bytes: Array(file.utf8))), as: UTF8.self)
        #expect(dumped.split(separator: "\n").dropFirst().first.map(String.init) == json)
        // A tls line without its version is a bad line that names the field.
        let broken = RecordingFormat.headerLine(RecordingHeader(mode: "connect", endpoint: "x")) + "\n"
            + #"{"type":"tls","conn":1,"t_ns":0,"cipher":"X","verified":true}"# + "\n"
        #expect(throws: RecordingError.badLine(line: 2, reason: "tls event has no \"tls_version\"")) {
            _ = try RecordingReader(bytes: Array(broken.utf8)).readAll()
        }
    }

    @Test func unknownAuthorityFailsTheClientWithOneReason() throws {
        let certs = try EndpointTestCertificates.get()
        // No caFile: the system's trust store, which does not know the test CA.
        let outcome = try Self.session(
            server: TLSServerConfiguration(certificateFile: certs.serverCert, privateKeyFile: certs.serverKey),
            client: TLSClientConfiguration())
        #expect(!outcome.opened)
        let problems = Self.problems(outcome.client)
        #expect(problems.count == 1)
        #expect(problems.first?.contains("unknown certificate authority") == true, "\(problems)")
        #expect(Self.tlsInfo(outcome.client) == nil)
        // The server hears the client's alert as this connection's handshake failure.
        let serverProblems = Self.problems(outcome.server)
        #expect(serverProblems.count == 1)
        #expect(serverProblems.first?.contains("unknown ca") == true, "\(serverProblems)")
        // Said once: the event names the peer, the reason does not repeat it.
        #expect(serverProblems.first?.hasPrefix("TLS: the peer sent the alert") == true, "\(serverProblems)")
    }

    @Test func expiredCertificateAndHostnameMismatchAreNamed() throws {
        let certs = try EndpointTestCertificates.get()
        let expired = try Self.session(
            server: TLSServerConfiguration(certificateFile: certs.expiredCert, privateKeyFile: certs.serverKey),
            client: TLSClientConfiguration(caFile: certs.ca))
        #expect(!expired.opened)
        #expect(Self.problems(expired.client).count == 1)
        #expect(Self.problems(expired.client).first?.contains("certificate has expired") == true, "\(Self.problems(expired.client))")
        // The certificate is for 127.0.0.1 only; "localhost" resolves there but is not its name.
        let mismatch = try Self.session(
            server: TLSServerConfiguration(certificateFile: certs.serverCert, privateKeyFile: certs.serverKey),
            client: TLSClientConfiguration(caFile: certs.ca), host: "localhost")
        #expect(!mismatch.opened)
        #expect(Self.problems(mismatch.client).count == 1)
        #expect(Self.problems(mismatch.client).first?.contains("hostname mismatch (certificate is for 127.0.0.1, not localhost)") == true,
                "\(Self.problems(mismatch.client))")
    }

    @Test func insecureConnectsAnywayAndSaysItDidNotVerify() throws {
        let certs = try EndpointTestCertificates.get()
        let outcome = try Self.session(
            server: TLSServerConfiguration(certificateFile: certs.expiredCert, privateKeyFile: certs.serverKey),
            client: TLSClientConfiguration(insecure: true), host: "localhost")
        #expect(outcome.opened)
        #expect(Self.incomingTexts(outcome.client) == ["over tls"])
        let info = try #require(Self.tlsInfo(outcome.client))
        #expect(!info.verified && info.peerSubject == "CN=127.0.0.1" && info.serverName == "localhost")
        #expect(EventLine.format(.tls(connection: 1, info: info)).hasSuffix("NOT VERIFIED"))
    }

    @Test func clientCertificatesAreRequiredAndVerifiedWhenTheServerHasAClientCA() throws {
        let certs = try EndpointTestCertificates.get()
        let server = TLSServerConfiguration(certificateFile: certs.serverCert, privateKeyFile: certs.serverKey, clientCAFile: certs.ca)
        let with = try Self.session(
            server: server,
            client: TLSClientConfiguration(caFile: certs.ca, certificateFile: certs.clientCert, privateKeyFile: certs.clientKey))
        #expect(with.opened)
        #expect(Self.incomingTexts(with.server) == ["over tls"])
        let seen = try #require(Self.tlsInfo(with.server))
        #expect(seen.peerSubject == "CN=wscope test client" && seen.verified)
        #expect(EventLine.format(.tls(connection: 1, info: seen)).hasSuffix(#"peer="CN=wscope test client" verified"#))

        let without = try Self.session(server: server, client: TLSClientConfiguration(caFile: certs.ca))
        #expect(!without.opened)
        #expect(Self.incomingTexts(without.server).isEmpty)
        let serverProblems = Self.problems(without.server)
        #expect(serverProblems.count == 1)
        #expect(serverProblems.first?.contains("certificate") == true, "\(serverProblems)")
        #expect(Self.problems(without.client).count == 1, "\(Self.problems(without.client))")
    }

    @Test func aPlainServerAnsweringATLSClientIsOneClearError() throws {
        let certs = try EndpointTestCertificates.get()
        let outcome = try Self.session(server: nil, client: TLSClientConfiguration(caFile: certs.ca))
        #expect(!outcome.opened)
        let problems = Self.problems(outcome.client)
        #expect(problems.count == 1)
        #expect(problems.first?.contains("TLS handshake with 127.0.0.1:") == true, "\(problems)")
        #expect(problems.first?.contains("\n") == false)
    }

    @Test func aServerThatNeverAnswersTheHandshakeTimesOut() throws {
        let loop = try EventLoop()
        // Accepts the TCP connection and then says nothing.
        var silent: [TCPConnection] = []
        let listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0) { silent.append($0) }
        var options = EndpointOptions()
        options.connectTimeout = .milliseconds(300)
        let url = try WebSocketURL.parse("wss://127.0.0.1:\(listener.localPort)/")
        var events: [SessionEvent] = []
        let client = ClientEndpoint(loop: loop, url: url, options: options) { events.append($0) }
        var opened: Bool?
        client.onFinished = { opened = $0; loop.stop() }
        let started = ContinuousClock.now
        let timeout = loop.schedule(after: .seconds(10)) { loop.stop() }
        client.start()
        try loop.run()
        loop.cancel(timeout)
        listener.close()
        #expect(opened == false)
        #expect(ContinuousClock.now - started < .seconds(5))
        let problems = Self.problems(events)
        #expect(problems.count == 1)
        #expect(problems.first?.contains("timed out") == true, "\(problems)")
        #expect(!silent.isEmpty, "the TCP connection was accepted")
    }
}
