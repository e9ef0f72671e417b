import ArgumentParser
import Glibc
import Inspector
import WebSocket
import WebSocketTransport

@main
struct WScope: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wscope",
        abstract: "A WebSocket inspector: connect, listen, watch every frame, craft and replay.",
        subcommands: [Demo.self, Connect.self, Listen.self, Send.self, Dump.self, Convert.self, Replay.self]
    )

    /// As ArgumentParser's, except that usage errors exit with 2 (DESIGN.md: 0 ok, 1 runtime
    /// failure, 2 usage) instead of its default 64.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if exitCode(for: error) == .validationFailure {
                StandardOutput.write(fullMessage(for: error) + "\n", fd: 2)
                Glibc.exit(2)
            }
            exit(withError: error)
        }
    }
}

/// Options every connection command shares.
struct ConnectionOptions: ParsableArguments {
    @Flag(name: .long, help: "Echo every text and binary message back as the same type.")
    var echo = false

    @Flag(name: .customLong("no-tui"), help: "Print one line per event instead of opening the terminal UI.")
    var noTUI = false

    @Flag(name: .long, help: "With --no-tui: print nothing per frame (for benchmarks and conformance runs).")
    var quiet = false

    @Flag(name: .long, help: "With --no-tui: print one JSON object per line in the recording format instead of text.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Record the session to FILE (JSON Lines, see DESIGN.md).", valueName: "FILE"))
    var record: String?

    @Option(name: .customLong("max-message"), help: "Largest message accepted, in bytes (close 1009 beyond).")
    var maxMessage: Int = 64 << 20

    @Option(name: .customLong("fragment"), help: "Split outgoing messages into frames of at most this many bytes.")
    var fragmentSize: Int?

    @Option(name: .customShort("H"), help: "Extra handshake header 'Name: value' (repeatable).")
    var header: [String] = []

    @Option(name: .long, help: "Offer (connect) or accept (listen) this subprotocol (repeatable).")
    var subprotocol: [String] = []

    @Flag(name: .long, help: "Negotiate permessage-deflate (RFC 7692).")
    var deflate = false

    @Option(name: .customLong("deflate-params"), help: ArgumentHelp(
        "permessage-deflate parameters for our offer (connect) or our limits (listen), e.g. 'server_no_context_takeover; client_max_window_bits=10'. Implies --deflate.",
        valueName: "PARAMS"))
    var deflateParams: String?

    @Option(name: .customLong("close-timeout"), help: "Seconds to wait for the peer's part of the closing handshake.")
    var closeTimeout: Double = 3

    @Option(name: .customLong("connect-timeout"), help: "Seconds a client may take to connect, TLS handshake included.")
    var connectTimeout: Double = 10

    @Option(name: .long, help: ArgumentHelp(
        "wss:// clients: trust the certificate authorities in this PEM file instead of the system's. listen, replay --serve: require client certificates issued by them.",
        valueName: "FILE"))
    var cacert: String?

    @Flag(name: .long, help: "wss:// clients: do not verify the server's certificate or name (prints a warning every run).")
    var insecure = false

    @Option(name: .customLong("tls-cert"), help: ArgumentHelp(
        "listen, replay --serve: serve wss with this certificate (PEM, chain after it). wss:// clients: present it as client certificate. Needs --tls-key.",
        valueName: "FILE"))
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: ArgumentHelp("The private key (PEM, unencrypted) of --tls-cert.", valueName: "FILE"))
    var tlsKey: String?

    func validate() throws {
        guard maxMessage > 0 else { throw ValidationError("--max-message must be positive") }
        if let fragmentSize, fragmentSize <= 0 { throw ValidationError("--fragment must be positive") }
        for value in header where !value.contains(":") {
            throw ValidationError("-H expects 'Name: value', got '\(value)'")
        }
        if let deflateParams { _ = try DeflateNegotiator(parameters: deflateParams) }
        try validateSeconds(connectTimeout, "--connect-timeout", positive: true)
        try validateSeconds(closeTimeout, "--close-timeout", positive: false)
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
    }

    /// `target`: the URL a client connects to; `serving`: a server, which serves wss with
    /// --tls-cert. The TLS files are loaded here, so a missing or bad one ends the run
    /// with one line.
    func endpointOptions(connectingTo target: WebSocketURL? = nil, serving: Bool = false) -> EndpointOptions {
        var options = EndpointOptions()
        options.connectTimeout = .milliseconds(Int(connectTimeout * 1000))
        if let target { options.tlsClient = clientTLS(for: target) }
        if serving { options.tlsServer = serverTLS() }
        options.echo = echo
        options.maxMessageBytes = maxMessage
        options.fragmentSize = fragmentSize
        options.subprotocols = subprotocol
        options.extraHeaders = header.map { line in
            let colon = line.firstIndex(of: ":")!  // checked in validate()
            return (String(line[..<colon]).trimmingSpaces, String(line[line.index(after: colon)...]).trimmingSpaces)
        }
        options.closeTimeout = .milliseconds(Int(closeTimeout * 1000))
        // A recording keeps every frame even when nothing is printed.
        options.reportFrames = !quiet || record != nil
        if let deflateParams {
            options.extensionNegotiator = try? DeflateNegotiator(parameters: deflateParams)
        } else if deflate {
            options.extensionNegotiator = DeflateNegotiator()
        }
        return options
    }

    /// The TLS context of a wss:// client (nil for ws://). Exits with one line when a file
    /// cannot be used; warns on every run that --insecure verifies nothing.
    func clientTLS(for target: WebSocketURL) -> TLSContext? {
        guard target.isSecure else {
            if cacert != nil || insecure || tlsCert != nil {
                StandardOutput.write("wscope: warning: --cacert, --insecure and --tls-cert/--tls-key apply to wss:// only; ws:// does not use TLS\n", fd: 2)
            }
            return nil
        }
        if insecure {
            StandardOutput.write("wscope: WARNING: --insecure: the server's certificate and name are NOT verified; anyone on the path can read and change this connection\n", fd: 2)
        }
        let configuration = TLSClientConfiguration(
            caFile: cacert, insecure: insecure, certificateFile: tlsCert, privateKeyFile: tlsKey)
        do {
            return try TLSContext(client: configuration)
        } catch {
            fail("\(error)")
        }
    }

    /// The TLS context of `listen --tls-cert --tls-key [--cacert]` (nil without
    /// --tls-cert). Exits with one line when a file cannot be used.
    func serverTLS() -> TLSContext? {
        // validate() saw both or neither.
        guard let tlsCert, let tlsKey else {
            if cacert != nil { fail("--cacert on a server asks clients for certificates over TLS: give --tls-cert and --tls-key too") }
            return nil
        }
        if insecure {
            StandardOutput.write("wscope: warning: --insecure applies to wss:// clients only; a server checks client certificates only with --cacert\n", fd: 2)
        }
        do {
            return try TLSContext(server: TLSServerConfiguration(certificateFile: tlsCert, privateKeyFile: tlsKey, clientCAFile: cacert))
        } catch {
            fail("\(error)")
        }
    }

    /// The session with its sinks: the line or JSON printer on stdout (flushed per line so
    /// the output can be piped) and the recording file. Exits with one line when the
    /// recording cannot be created.
    func makeSession(mode: String, endpoint: String, printing: Bool = true) -> Session {
        let session = Session(keepsEntries: !quiet || !printing)
        let header = RecordingHeader(mode: mode, endpoint: endpoint)
        if let record {
            do {
                let writer = try RecordingWriter(path: record, header: header, startMonotonicNanoseconds: session.startMonotonicNanoseconds)
                var failed = false
                session.addSink { entry in
                    guard !failed else { return }
                    do {
                        try writer.write(entry.event, tNs: entry.tNs)
                    } catch {
                        failed = true
                        StandardOutput.write("wscope: recording stopped: \(error)\n", fd: 2)
                    }
                }
            } catch {
                fail("\(error)")
            }
        }
        guard printing else { return session }
        let quiet = self.quiet
        if json && !quiet {
            do {
                let writer = try RecordingWriter(fileDescriptor: 1, header: header, startMonotonicNanoseconds: session.startMonotonicNanoseconds)
                session.addSink { entry in try? writer.write(entry.event, tNs: entry.tNs) }
            } catch {
                fail("\(error)")
            }
            return session
        }
        session.addSink { entry in
            if quiet {
                switch entry.event {
                case .listening, .error, .handshakeFailed: break
                default: return
                }
            }
            StandardOutput.writeLine(EventLine.format(entry.event))
        }
        return session
    }
}

extension String {
    var trimmingSpaces: String {
        var slice = Substring(self)
        while slice.first == " " || slice.first == "\t" { slice.removeFirst() }
        while slice.last == " " || slice.last == "\t" { slice.removeLast() }
        return String(slice)
    }
}

/// Checks a number of seconds from the command line: turned into milliseconds later, an
/// infinite or huge one would trap in the conversion to Int.
func validateSeconds(_ value: Double, _ option: String, positive: Bool) throws {
    let limit = 1_000_000.0
    guard positive ? value > 0 : value >= 0, value <= limit else {
        throw ValidationError("\(option) must be \(positive ? "more than 0" : "0 or more") and at most \(Int(limit)) seconds")
    }
}

/// Runs a server's loop until SIGINT or SIGTERM: the first signal shuts the server down and
/// gives open connections half a second for their closing handshake; a second one stops at once.
func runServing(_ loop: EventLoop, shutdown: @escaping () -> Void) {
    var stopping = false
    try? loop.onSignals([SIGINT, SIGTERM]) { _ in
        if stopping { loop.stop(); return }
        stopping = true
        shutdown()
        loop.schedule(after: .milliseconds(500)) { loop.stop() }
    }
    do { try loop.run() } catch { fail("\(error)") }
}

/// Prints one line to stderr and exits with status 1 (runtime failure).
func fail(_ message: String) -> Never {
    StandardOutput.write("wscope: \(message)\n", fd: 2)
    Glibc.exit(1)
}

/// Unbuffered writes, so that every line reaches a pipe as soon as it is printed.
enum StandardOutput {
    static func writeLine(_ line: String) { write(line + "\n", fd: 1) }

    static func write(_ text: String, fd: Int32) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }
                offset += written
            }
        }
    }
}
