import ArgumentParser
import Glibc
import Inspector
import TerminalUI
import WebSocket
import WebSocketTransport

struct Connect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Open a client connection to a ws:// or wss:// URL.",
        discussion: """
            wss:// verifies the server's certificate chain against the system's trust store \
            (or --cacert FILE) and its name against the URL's host, which is also sent in SNI; \
            --insecure skips both (with a warning). --tls-cert/--tls-key present a client \
            certificate. The TLS version, cipher and certificate are shown as a 'tls' event.
            """)

    @Argument(help: "The server's URL, e.g. ws://127.0.0.1:9001/chat or wss://example.com/chat")
    var url: String

    @OptionGroup var connection: ConnectionOptions

    @Option(name: .long, help: ArgumentHelp(
        "Colours of the terminal UI: default, light, high-contrast, monochrome, or a theme file.", valueName: "NAME|FILE"))
    var theme: String?

    func run() throws {
        let target: WebSocketURL
        do {
            target = try WebSocketURL.parse(url)
        } catch {
            fail("\(error)")
        }
        let loop: EventLoop
        do { loop = try EventLoop() } catch { fail("\(error)") }
        if !connection.noTUI { return runTUI(loop: loop, target: target) }
        // TLS files first: a bad one ends the run before a recording is created.
        let options = connection.endpointOptions(connectingTo: target)
        let session = connection.makeSession(mode: "connect", endpoint: target.description)
        let client = ClientEndpoint(loop: loop, url: target, options: options, report: session.record)
        var status: Int32 = 0
        client.onFinished = { opened in
            status = opened ? 0 : 1
            loop.stop()
        }
        var interrupted = false
        try? loop.onSignals([SIGINT, SIGTERM]) { _ in
            if interrupted { loop.stop(); return }
            interrupted = true
            client.interrupt()
        }
        if !connection.echo {
            // Each line typed on stdin goes out as a text message; end of input closes.
            let lines = LineReader(fd: 0)
            var watch: Watch?
            watch = try? loop.watchReadable(fd: 0) {
                let (received, ended) = lines.read()
                for line in received { InputLine.handle(line, client: client) }
                if ended {
                    if let watch { loop.unwatch(watch) }
                    watch = nil
                    client.close(code: .normalClosure, reason: "")
                }
            }
        }
        client.start()
        do { try loop.run() } catch { fail("\(error)") }
        if status != 0 { Glibc.exit(status) }
    }
}

extension Connect {
    /// The terminal UI: the timeline of the connection, the composer sends to it. The UI
    /// stays up after the connection ends so the session can still be browsed.
    func runTUI(loop: EventLoop, target: WebSocketURL) {
        let chosenTheme: Theme
        do { chosenTheme = try theme.map { try Theme.load($0) } ?? .standard } catch { fail("\(error)") }
        // TLS files first: a bad one ends the run before a recording is created.
        let endpointOptions = connection.endpointOptions(connectingTo: target)
        // The `r` key's switch writes the recording (`--record` starts it on), not makeSession.
        var sessionOptions = connection
        sessionOptions.record = nil
        let session = sessionOptions.makeSession(mode: "connect", endpoint: target.description, printing: false)
        let recording = RecordingSwitch(session: session, mode: "connect", endpoint: target.description, path: connection.record)
        let client = ClientEndpoint(loop: loop, url: target, options: endpointOptions, report: session.record)
        client.start()
        let options = TerminalApp.Options(
            config: UIConfig(mode: "connect", endpoint: target.description, role: .client, recording: recording.isOn),
            theme: chosenTheme, themeIsExplicit: theme != nil, onRecordingChange: recording.set)
        do {
            try TerminalApp.run(loop: loop, session: session, client: client, options: options)
        } catch {
            fail("\(error)")
        }
        let opened = session.entries.contains { if case .opened = $0.event { return true } else { return false } }
        if !opened { Glibc.exit(1) }
    }
}

/// What a line typed on stdin does: a text message, or one of the slash commands.
enum InputLine {
    static let help = """
        Each line is sent as a text message. Commands:
          /frame SPEC       send a crafted frame (see the frame-spec language in DESIGN.md)
          /ping [TEXT]      send a ping
          /close [CODE [REASON]]  start the closing handshake (default 1000)
          //TEXT            send "/TEXT" as text
          /help             this list
        """

    static func handle(_ line: String, client: ClientEndpoint) {
        guard line.hasPrefix("/") else { return client.sendText(line) }
        if line.hasPrefix("//") { return client.sendText(String(line.dropFirst())) }
        let command = line.prefix { $0 != " " }
        let argument = line.dropFirst(command.count).drop { $0 == " " }
        switch command {
        case "/frame":
            do {
                let frame = try FrameSpec.parse(String(argument), role: .client)
                client.sendCrafted([frame])
            } catch {
                StandardOutput.write("wscope: \(error.message) (column \(error.column))\n\(error.pointing(into: String(argument)))\n", fd: 2)
            }
        case "/ping":
            client.ping(Array(argument.utf8))
        case "/close":
            let parts = argument.split(separator: " ", maxSplits: 1)
            var code = CloseCode.normalClosure
            if let first = parts.first {
                guard let value = UInt16(first) else {
                    return StandardOutput.write("wscope: /close expects a numeric code, got '\(first)'\n", fd: 2)
                }
                code = CloseCode(value)
            }
            client.close(code: code, reason: parts.count > 1 ? String(parts[1]) : "")
        case "/help":
            StandardOutput.write(help, fd: 2)
        default:
            StandardOutput.write("wscope: unknown command '\(command)' (/help lists them; //text sends '/text')\n", fd: 2)
        }
    }
}

/// Splits what a file descriptor delivers into lines, keeping a partial last line.
final class LineReader {
    private let fd: Int32
    private var pending: [UInt8] = []
    private var buffer = [UInt8](repeating: 0, count: 65536)

    init(fd: Int32) { self.fd = fd }

    /// The complete lines read now, and whether the input ended (a partial last line is
    /// then returned too).
    func read() -> (lines: [String], ended: Bool) {
        let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if count <= 0 {
            let last = pending.isEmpty ? [] : [String(decoding: pending, as: UTF8.self)]
            pending = []
            return (last, true)
        }
        pending.append(contentsOf: buffer[..<count])
        var lines: [String] = []
        while let newline = pending.firstIndex(of: 0x0A) {
            var line = pending[..<newline]
            if line.last == 0x0D { line = line.dropLast() }
            lines.append(String(decoding: line, as: UTF8.self))
            pending.removeSubrange(...newline)
        }
        return (lines, false)
    }
}
