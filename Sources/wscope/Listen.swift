import ArgumentParser
import Glibc
import Inspector
import TerminalUI
import WebSocketTransport

struct Listen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Accept WebSocket clients on [HOST:]PORT (many at once).",
        discussion: """
            With --tls-cert FILE --tls-key FILE the clients connect with wss:// (TLS); adding \
            --cacert FILE requires each client to present a certificate issued by one of the \
            authorities in FILE (a client without one fails its handshake).

            On a terminal the terminal UI opens (--no-tui prints lines instead, as it does \
            when stdin or stdout is not a terminal). With several clients the connection list \
            appears under the status bar: l focuses it, Enter picks a connection, whose rows \
            alone are then shown and which the composer (i), p and c act on.
            """)

    @Argument(help: "Address to listen on: PORT, HOST:PORT or [IPv6]:PORT (host defaults to 127.0.0.1).")
    var address: String

    @OptionGroup var connection: ConnectionOptions

    @Option(name: .long, help: ArgumentHelp(
        "Colours of the terminal UI: default, light, high-contrast, monochrome, or a theme file.", valueName: "NAME|FILE"))
    var theme: String?

    func validate() throws {
        do { _ = try HostPort.parse(address) } catch { throw ValidationError("\(error)") }
        if connection.cacert != nil && connection.tlsCert == nil {
            throw ValidationError("--cacert on listen asks clients for certificates over TLS: give --tls-cert and --tls-key too")
        }
        if let theme {
            do { _ = try Theme.load(theme) } catch { throw ValidationError("\(error)") }
        }
    }

    func run() throws {
        let hostPort: HostPort
        do { hostPort = try HostPort.parse(address) } catch { fail("\(error)") }
        let loop: EventLoop
        do { loop = try EventLoop() } catch { fail("\(error)") }
        let options = connection.endpointOptions(serving: true)
        // Without a terminal (output piped, input from a file) the line output it is.
        if !connection.noTUI && isatty(0) == 1 && isatty(1) == 1 {
            return runTUI(loop: loop, hostPort: hostPort, options: options)
        }
        let session = connection.makeSession(mode: "listen", endpoint: hostPort.description)
        let server = ServerEndpoint(loop: loop, options: options, report: session.record)
        do {
            try server.start(host: hostPort.host, port: hostPort.port)
        } catch {
            fail("\(error)")
        }
        runServing(loop, shutdown: server.shutdown)
    }
}

extension Listen {
    /// The terminal UI: one timeline for every client, the connection list once there are
    /// several; the composer, `p` and `c` act on the picked (or selected) connection.
    /// Quitting closes the open connections with 1001.
    func runTUI(loop: EventLoop, hostPort: HostPort, options: EndpointOptions) {
        let chosenTheme: Theme
        do { chosenTheme = try theme.map { try Theme.load($0) } ?? .standard } catch { fail("\(error)") }
        // The `r` key's switch writes the recording (`--record` starts it on), not makeSession.
        var sessionOptions = connection
        sessionOptions.record = nil
        let session = sessionOptions.makeSession(mode: "listen", endpoint: hostPort.description, printing: false)
        let recording = RecordingSwitch(session: session, mode: "listen", endpoint: hostPort.description, path: connection.record)
        let server = ServerEndpoint(loop: loop, options: options, report: session.record)
        do {
            try server.start(host: hostPort.host, port: hostPort.port)
        } catch {
            fail("\(error)")
        }
        // The URL clients use, with the port the kernel chose for port 0.
        let bound = HostPort(host: hostPort.host, port: server.localPort ?? hostPort.port)
        let endpoint = (options.tlsServer == nil ? "ws://" : "wss://") + bound.description
        let uiOptions = TerminalApp.Options(
            config: UIConfig(mode: "listen", endpoint: endpoint, role: .server, recording: recording.isOn),
            theme: chosenTheme, themeIsExplicit: theme != nil, onRecordingChange: recording.set)
        do {
            try TerminalApp.run(loop: loop, session: session, controls: server, options: uiOptions)
        } catch {
            server.shutdown()
            fail("\(error)")
        }
        server.shutdown()
    }
}
