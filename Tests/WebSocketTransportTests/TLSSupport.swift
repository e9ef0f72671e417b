import Glibc
import Testing
@testable import WebSocketTransport

// Helpers for the TLS tests: a child process on pipes (the `openssl` command), the test
// certificates, and recording delegates.

struct ChildProcessError: Error, CustomStringConvertible {
    let description: String
}

/// A child process with stdin on a pipe and stdout + stderr merged on another pipe.
final class ChildProcess {
    let pid: pid_t
    private(set) var input: Int32
    private(set) var output: Int32
    private(set) var collected: [UInt8] = []
    private(set) var exitStatus: Int32?

    init(_ arguments: [String]) throws {
        var inPipe: [Int32] = [-1, -1]
        var outPipe: [Int32] = [-1, -1]
        guard pipe(&inPipe) == 0 else { throw ChildProcessError(description: "pipe failed") }
        guard pipe(&outPipe) == 0 else {
            close(inPipe[0]); close(inPipe[1])
            throw ChildProcessError(description: "pipe failed")
        }
        // Every pipe end closes on exec; the child gets its copies through dup2.
        for fd in inPipe + outPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 2)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let status = posix_spawnp(&child, arguments[0], &actions, nil, argv, environ)
        close(inPipe[0])
        close(outPipe[1])
        guard status == 0 else {
            close(inPipe[1]); close(outPipe[0])
            throw ChildProcessError(description: "cannot run \(arguments[0]): \(String(cString: strerror(status)))")
        }
        pid = child
        input = inPipe[1]
        output = outPipe[0]
        _ = fcntl(output, F_SETFL, fcntl(output, F_GETFL) | O_NONBLOCK)
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        if input >= 0 { close(input) }
        if output >= 0 { close(output) }
    }

    var text: String { String(decoding: collected, as: UTF8.self) }

    func send(_ text: String) {
        guard input >= 0 else { return }
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(input, $0.baseAddress, $0.count) }
    }

    func closeInput() {
        if input >= 0 { close(input) }
        input = -1
    }

    /// Reads what is available now; returns false at end of file.
    @discardableResult
    func drain() -> Bool {
        guard output >= 0 else { return false }
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = read(output, &chunk, chunk.count)
            if count > 0 {
                collected += chunk[..<count]
                continue
            }
            if count == 0 {
                close(output)
                output = -1
                return false
            }
            return errno == EAGAIN || errno == EINTR
        }
    }

    /// Polls (draining the output) until `condition` holds on the output so far.
    @discardableResult
    func waitForOutput(limit: Duration = .seconds(10), _ condition: (String) -> Bool) -> Bool {
        let deadline = ContinuousClock.now + limit
        while true {
            let open = drain()
            if condition(text) { return true }
            if !open || ContinuousClock.now >= deadline { return false }
            usleep(5000)
        }
    }

    /// Waits for the exit (draining the output); SIGKILL after `limit`. Returns the exit
    /// code, or 128 + signal.
    @discardableResult
    func wait(limit: Duration = .seconds(10)) -> Int32 {
        if let exitStatus { return exitStatus }
        let deadline = ContinuousClock.now + limit
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            drain()
            if ContinuousClock.now >= deadline {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                break
            }
            usleep(5000)
        }
        while drain() {}
        let signal = status & 0x7f
        let code = signal == 0 ? (status >> 8) & 0xff : 128 + signal
        exitStatus = code
        return code
    }

    func terminate() {
        guard exitStatus == nil else { return }
        kill(pid, SIGTERM)
        wait(limit: .seconds(5))
    }

    /// Runs to completion; throws with the output unless it exits with 0.
    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let child = try ChildProcess(arguments)
        child.closeInput()
        let status = child.wait(limit: .seconds(30))
        guard status == 0 else {
            throw ChildProcessError(description: "\(arguments.joined(separator: " ")) exited with \(status): \(child.text)")
        }
        return child.text
    }
}

/// Certificates made with the `openssl` command once per test run, in a temporary
/// directory removed at exit: a CA and, signed by it, a server certificate for localhost
/// and 127.0.0.1, an expired one, one for another host and a client certificate; a
/// self-signed server certificate; a key that matches none; an encrypted key.
struct TestCertificates: Sendable {
    let directory: String
    var caCertificate: String { directory + "/ca.pem" }
    var serverCertificate: String { directory + "/server.pem" }
    var serverKey: String { directory + "/server.key" }
    /// Expired, same key as the server's.
    var expiredCertificate: String { directory + "/expired.pem" }
    /// For other.example only, same key as the server's.
    var otherHostCertificate: String { directory + "/other.pem" }
    /// Self-signed for localhost and 127.0.0.1, same key as the server's.
    var selfSignedCertificate: String { directory + "/self.pem" }
    var clientCertificate: String { directory + "/client.pem" }
    var clientKey: String { directory + "/client.key" }
    var strangerKey: String { directory + "/stranger.key" }
    var encryptedKey: String { directory + "/encrypted.key" }
    var notPEM: String { directory + "/not.pem" }

    var server: TLSServerConfiguration {
        TLSServerConfiguration(certificateFile: serverCertificate, privateKeyFile: serverKey)
    }

    static let shared: Result<TestCertificates, ChildProcessError> = Result { () throws(ChildProcessError) in try make() }

    static func get() throws -> TestCertificates { try shared.get() }

    private static let config = """
        [req]
        distinguished_name = dn
        prompt = no
        [dn]
        CN = placeholder
        [v3_ca]
        basicConstraints = critical, CA:TRUE
        keyUsage = critical, keyCertSign, cRLSign
        subjectKeyIdentifier = hash
        [v3_server]
        basicConstraints = CA:FALSE
        keyUsage = critical, digitalSignature, keyEncipherment
        extendedKeyUsage = serverAuth
        subjectAltName = DNS:localhost, IP:127.0.0.1
        [v3_other]
        basicConstraints = CA:FALSE
        keyUsage = critical, digitalSignature, keyEncipherment
        extendedKeyUsage = serverAuth
        subjectAltName = DNS:other.example
        [v3_client]
        basicConstraints = CA:FALSE
        keyUsage = critical, digitalSignature
        extendedKeyUsage = clientAuth

        """

    private static func make() throws(ChildProcessError) -> TestCertificates {
        var template = Array("/tmp/wscope-tls-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw ChildProcessError(description: "mkdtemp failed") }
        let directory = String(cString: made)
        atexit {
            if case .success(let certificates) = TestCertificates.shared {
                removeFlatDirectory(certificates.directory)
            }
        }
        let d = directory
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        func sign(_ csr: String, _ out: String, serial: Int, days: Int, section: String) throws {
            try ChildProcess.run([
                "openssl", "x509", "-req", "-in", "\(d)/\(csr)", "-CA", "\(d)/ca.pem", "-CAkey", "\(d)/ca.key",
                "-set_serial", "\(serial)", "-days", "\(days)", "-extfile", "\(d)/openssl.cnf",
                "-extensions", section, "-out", "\(d)/\(out)",
            ])
        }
        do {
            try writeFile("\(d)/openssl.cnf", config)
            try writeFile("\(d)/not.pem", "this is not a certificate\n")
            try ChildProcess.run(["openssl", "req", "-x509", "-config", "\(d)/openssl.cnf", "-extensions", "v3_ca"]
                + ec + ["-keyout", "\(d)/ca.key", "-out", "\(d)/ca.pem", "-days", "3650", "-subj", "/CN=wscope test CA"])
            try ChildProcess.run(["openssl", "req", "-new", "-config", "\(d)/openssl.cnf"] + ec
                + ["-keyout", "\(d)/server.key", "-out", "\(d)/server.csr", "-subj", "/CN=localhost/O=wscope tests"])
            try sign("server.csr", "server.pem", serial: 2, days: 365, section: "v3_server")
            // notBefore now, notAfter a day earlier.
            try sign("server.csr", "expired.pem", serial: 3, days: -1, section: "v3_server")
            try ChildProcess.run(["openssl", "req", "-new", "-config", "\(d)/openssl.cnf", "-key", "\(d)/server.key",
                                  "-out", "\(d)/other.csr", "-subj", "/CN=other.example"])
            try sign("other.csr", "other.pem", serial: 4, days: 365, section: "v3_other")
            try ChildProcess.run(["openssl", "req", "-x509", "-config", "\(d)/openssl.cnf", "-extensions", "v3_server",
                                  "-key", "\(d)/server.key", "-out", "\(d)/self.pem", "-days", "365",
                                  "-subj", "/CN=localhost/O=self-signed"])
            try ChildProcess.run(["openssl", "req", "-new", "-config", "\(d)/openssl.cnf"] + ec
                + ["-keyout", "\(d)/client.key", "-out", "\(d)/client.csr", "-subj", "/CN=wscope client"])
            try sign("client.csr", "client.pem", serial: 5, days: 365, section: "v3_client")
            try ChildProcess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                                  "-out", "\(d)/stranger.key"])
            try ChildProcess.run(["openssl", "pkey", "-in", "\(d)/server.key", "-aes256", "-passout", "pass:secret",
                                  "-out", "\(d)/encrypted.key"])
        } catch let error as ChildProcessError {
            throw error
        } catch {
            throw ChildProcessError(description: "\(error)")
        }
        return TestCertificates(directory: directory)
    }
}

func writeFile(_ path: String, _ text: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw ChildProcessError(description: "cannot write \(path)") }
    defer { close(fd) }
    let bytes = Array(text.utf8)
    guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
        throw ChildProcessError(description: "cannot write \(path)")
    }
}

/// Removes a directory that holds only files.
func removeFlatDirectory(_ path: String) {
    guard let directory = opendir(path) else { return }
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name != "." && name != ".." { unlink(path + "/" + name) }
    }
    closedir(directory)
    rmdir(path)
}

/// Records what a TLS (or any stream) connection delivers.
final class TLSRecorder: ConnectionDelegate {
    var received: [UInt8] = []
    var info: TLSInfo?
    var establishedCount = 0
    var closed = false
    var closeError: TransportError?
    var closeCount = 0
    var drainCount = 0
    var echo = false
    var onRead: ((StreamConnection, UnsafeRawBufferPointer) -> Void)?
    var onEstablished: ((StreamConnection) -> Void)?

    var text: String { String(decoding: received, as: UTF8.self) }

    func connectionDidEstablishTLS(_ connection: StreamConnection, info: TLSInfo) {
        self.info = info
        establishedCount += 1
        onEstablished?(connection)
    }

    func connection(_ connection: StreamConnection, didRead bytes: UnsafeRawBufferPointer) {
        received.append(contentsOf: bytes)
        if echo { connection.write(bytes) }
        onRead?(connection, bytes)
    }

    func connectionDidClose(_ connection: StreamConnection, error: TransportError?) {
        closed = true
        closeError = error
        closeCount += 1
    }

    func connectionDidDrain(_ connection: StreamConnection) {
        drainCount += 1
    }
}

/// A TLS server of our own on 127.0.0.1: every accepted connection is wrapped and gets a
/// `TLSRecorder` (set up by `configure`).
final class TLSTestServer {
    let listener: TCPListener
    var connections: [TLSConnection] = []
    var recorders: [TLSRecorder] = []

    init(loop: EventLoop, context: TLSContext, echo: Bool = false,
         configure: @escaping (TLSConnection, TLSRecorder) -> Void = { _, _ in }) throws {
        var accepted: (TCPConnection) -> Void = { _ in }
        listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0) { accepted($0) }
        accepted = { [unowned self] tcp in
            let connection = TLSConnection(server: tcp, context: context)
            let recorder = TLSRecorder()
            recorder.echo = echo
            connection.delegate = recorder
            self.connections.append(connection)
            self.recorders.append(recorder)
            configure(connection, recorder)
        }
    }

    var port: Int { listener.localPort }
    var first: TLSRecorder? { recorders.first }
}

/// TLSConnector.connect, turning the loop until it completes.
func tlsConnectNow(_ loop: EventLoop, host: String = "127.0.0.1", port: Int,
                   configuration: TLSClientConfiguration,
                   timeout: Duration = .seconds(5)) -> Result<TLSConnection, TransportError>? {
    var result: Result<TLSConnection, TransportError>?
    TLSConnector.connect(loop: loop, host: host, port: port, configuration: configuration, timeout: timeout) {
        result = $0
    }
    turn(loop, until: { result != nil })
    return result
}

extension Result {
    var failureValue: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

/// The port in s_server's "ACCEPT 127.0.0.1:PORT" line.
func acceptedPort(_ output: String) -> Int? {
    for line in output.split(separator: "\n") where line.hasPrefix("ACCEPT") {
        if let port = line.split(separator: ":").last.flatMap({ Int($0) }) { return port }
    }
    return nil
}

/// Starts `openssl s_server` on a free loopback port with `arguments`; returns it once
/// it listens.
func startOpenSSLServer(_ arguments: [String]) throws -> (ChildProcess, Int) {
    let server = try ChildProcess(["openssl", "s_server", "-accept", "127.0.0.1:0", "-naccept", "1"] + arguments)
    guard server.waitForOutput({ acceptedPort($0) != nil }), let port = acceptedPort(server.text) else {
        server.terminate()
        throw ChildProcessError(description: "s_server did not start: \(server.text)")
    }
    return (server, port)
}

/// Forwards what one TCP connection reads to `target`; can flip the last byte of the next
/// chunk (inside a record's authentication tag).
final class Relay: ConnectionDelegate {
    var target: TCPConnection?
    var corruptNext = false

    func connection(_ connection: StreamConnection, didRead bytes: UnsafeRawBufferPointer) {
        if corruptNext && bytes.count > 0 {
            corruptNext = false
            var copy = Array(bytes)
            copy[copy.count - 1] ^= 0xff
            target?.write(copy)
        } else {
            target?.write(bytes)
        }
    }

    func connectionDidClose(_ connection: StreamConnection, error: TransportError?) {
        target?.close()
    }
}
