import ArgumentParser
import Glibc
import Inspector
import TerminalUI
import WebSocket
import WebSocketTransport

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay a recording: print it, re-send its client side (--to), or play its server side (--serve).",
        discussion: """
            Without --to or --serve the recording opens in the terminal UI to be browsed
            (read-only: nothing is sent); with --no-tui, --json, or when stdin or stdout is
            not a terminal it is printed like 'wscope dump'.

            --to URL re-sends the client's frames of every recorded connection to a live
            server, byte for byte (recorded wire bytes, mask keys and malformations kept):
            the outgoing frames of a 'connect' recording, the incoming ones of a 'listen'
            recording. Connections are replayed one after the other (sequentially), each as
            its own client connection, offering the recorded subprotocols and extensions
            (warned about when the server answers differently). The first frame goes out when
            the connection opens, the others keep their recorded distance from it, divided by
            --speed; --asap does not wait. Pings are not answered automatically (the recorded
            pongs are replayed). Once the server closes, the remaining frames are not sent.
            After a recorded close frame the server has --close-timeout seconds to close;
            without one, wscope closes (1000) --timeout seconds after the last frame.
            The live session shows in the terminal UI (read-only; it stays up when the
            replay is over, q quits) unless --no-tui is given or there is no terminal, in
            which case one line is printed per event. Exit status 0 when every connection
            opened, 1 otherwise.

            --serve [HOST:]PORT is a mock server playing the server's frames of one recorded
            connection (the first, or --conn N) to each client that connects, every client
            on its own: server frame k goes out once the client has sent as many frames as
            the recording shows before it (control frames included), and no sooner than its
            recorded gap (divided by --speed; --asap: none). A client whose frames differ
            from the recorded ones (no pings, other fragments) is paced on whole messages
            and its close from its first different frame on. Once played, the connection is
            kept until the client closes or stays silent for --idle-timeout seconds. The
            recorded subprotocol and extensions are accepted when the client offers them.
            Runs until Ctrl-C.
            """)

    @Argument(help: "A recording made with --record (or converted from HAR).")
    var file: String

    @Option(name: .long, help: ArgumentHelp("Re-send the recording's client side to this server.", valueName: "URL"))
    var to: String?

    @Option(name: .long, help: ArgumentHelp("Play the recording's server side to clients connecting here.", valueName: "[HOST:]PORT"))
    var serve: String?

    @Option(name: .long, help: "Play the recorded timing this many times faster (0.5 is half speed). Default 1.")
    var speed: Double?

    @Flag(name: .long, help: "Send the recorded frames without waiting between them.")
    var asap = false

    @Option(name: .customLong("conn"), help: "With --serve: the recorded connection to play (default: the first).")
    var conn: Int?

    @Option(name: .customLong("idle-timeout"), help: "With --serve: seconds a client may stay silent once the script was played.")
    var idleTimeout: Double = 5

    @Option(name: .long, help: "With --to: seconds to wait for answers after the last frame when the recording has no client close.")
    var timeout: Double = 2

    @Flag(name: .customLong("skip-bad-lines"), help: "Skip lines that are not valid events (each is reported) instead of stopping.")
    var skipBadLines = false

    @OptionGroup var connection: ConnectionOptions

    @Option(name: .long, help: ArgumentHelp(
        "Colours of the terminal UI: default, light, high-contrast, monochrome, or a theme file.", valueName: "NAME|FILE"))
    var theme: String?

    func validate() throws {
        if to != nil && serve != nil { throw ValidationError("--to and --serve cannot be used together") }
        if let speed {
            guard speed > 0, speed.isFinite else { throw ValidationError("--speed must be a positive number") }
            if asap { throw ValidationError("--speed and --asap cannot be used together") }
        }
        if conn != nil && serve == nil { throw ValidationError("--conn goes with --serve") }
        try validateSeconds(idleTimeout, "--idle-timeout", positive: true)
        try validateSeconds(timeout, "--timeout", positive: false)
        if connection.echo { throw ValidationError("--echo does not apply to replay") }
        if let serve {
            do { _ = try HostPort.parse(serve) } catch { throw ValidationError("\(error)") }
            if connection.cacert != nil && connection.tlsCert == nil {
                throw ValidationError("--cacert on --serve asks clients for certificates over TLS: give --tls-cert and --tls-key too")
            }
        }
    }

    /// nil: --asap.
    private var pace: Double? { asap ? nil : (speed ?? 1) }

    func run() throws {
        if let to { return replayTo(to) }
        if let serve { return replayServe(serve) }
        if usesTerminalUI { return browse() }
        printRecording()
    }

    /// The terminal UI is for a person at a terminal; scripts and pipes get lines.
    private var usesTerminalUI: Bool {
        !connection.noTUI && !connection.json && !connection.quiet && isatty(0) == 1 && isatty(1) == 1
    }

    private func loadTheme() -> Theme {
        do { return try theme.map { try Theme.load($0) } ?? .standard } catch { fail("\(error)") }
    }

    private func load() -> ReplayScript {
        let script: ReplayScript
        do {
            script = try ReplayScript.load(path: file, skipBadLines: skipBadLines)
        } catch {
            fail("\(error)")
        }
        for warning in script.warnings { StandardOutput.write("wscope: \(file): warning: \(warning)\n", fd: 2) }
        return script
    }

    private func warn(_ message: String) {
        StandardOutput.write("wscope: warning: \(message)\n", fd: 2)
    }

    private func replayTo(_ address: String) {
        let target: WebSocketURL
        do { target = try WebSocketURL.parse(address) } catch { fail("\(error)") }
        let script = load()
        let loop: EventLoop
        do { loop = try EventLoop() } catch { fail("\(error)") }
        var options = ReplayClient.Options(endpoint: connection.endpointOptions(connectingTo: target), speed: pace)
        options.linger = .milliseconds(Int(timeout * 1000))
        guard !script.connectionsToReplay.isEmpty else { fail("\(file): no connection to replay") }
        if usesTerminalUI { return replayToTUI(loop: loop, target: target, script: script, options: options) }
        // A replay is a client session: recorded as 'connect', so it can be replayed again.
        let session = connection.makeSession(mode: "connect", endpoint: target.description)
        let replay = ReplayClient(loop: loop, url: target, script: script, options: options, report: session.record)
        replay.warn = warn
        var status: Int32 = 0
        replay.onFinished = { allOpened in
            status = allOpened ? 0 : 1
            loop.stop()
        }
        var interrupted = false
        try? loop.onSignals([SIGINT, SIGTERM]) { _ in
            if interrupted { status = 1; loop.stop(); return }
            interrupted = true
            replay.interrupt()
        }
        replay.start()
        do { try loop.run() } catch { fail("\(error)") }
        if status != 0 { Glibc.exit(status) }
    }

    /// `--to` in the terminal UI: the live session as it happens, read-only. The UI stays
    /// up once the replay is over so its answers can be browsed; quitting earlier stops
    /// the replay (the current connection is closed politely).
    private func replayToTUI(loop: EventLoop, target: WebSocketURL, script: ReplayScript, options: ReplayClient.Options) {
        let chosenTheme = loadTheme()
        // The `r` key's switch writes the recording (`--record` starts it on), as in `connect`;
        // recorded as a 'connect' session, so it can be replayed again.
        var sessionOptions = connection
        sessionOptions.record = nil
        let session = sessionOptions.makeSession(mode: "connect", endpoint: target.description, printing: false)
        let recording = RecordingSwitch(session: session, mode: "connect", endpoint: target.description, path: connection.record)
        let replay = ReplayClient(loop: loop, url: target, script: script, options: options, report: session.record)
        var status: Int32 = 0
        var finished = false
        var quitting = false
        let config = UIConfig(mode: "replay", endpoint: target.description, role: .client, canSend: false,
                              recording: recording.isOn)
        let app = TerminalApp(
            loop: loop, session: session, controls: nil,
            options: TerminalApp.Options(
                config: config, theme: chosenTheme, themeIsExplicit: theme != nil, onRecordingChange: recording.set,
                onQuit: {
                    quitting = true
                    if finished { return loop.stop() }
                    replay.interrupt()
                    // The interrupted connection normally ends at once; never hang on it.
                    loop.schedule(after: .seconds(2)) { loop.stop() }
                }))
        replay.warn = { app.showMessage($0, isError: true) }
        replay.onFinished = { allOpened in
            finished = true
            status = allOpened ? 0 : 1
            if quitting { return loop.stop() }
            let count = replay.results.count
            app.showMessage(
                "replay of \(count) connection\(count == 1 ? "" : "s") done" + (allOpened ? "" : ", not every one opened") + " (q quits)",
                isError: !allOpened)
        }
        // Before start: on the first screen.
        if let warning = script.warnings.first { app.showMessage("\(file): \(warning)", isError: true) }
        do { try app.start() } catch { fail("\(error)") }
        replay.start()
        do { try loop.run() } catch {
            app.stop()
            fail("\(error)")
        }
        app.stop()
        if status != 0 || !finished { Glibc.exit(1) }
    }

    private func replayServe(_ address: String) {
        let hostPort: HostPort
        do { hostPort = try HostPort.parse(address) } catch { fail("\(error)") }
        let script = load()
        let chosen: ReplayConnection
        if let conn {
            guard let found = script.connections.first(where: { $0.id == conn }) else {
                let ids = script.connections.map { String($0.id) }.joined(separator: ", ")
                fail("\(file): no connection \(conn) in the recording (it has: \(ids.isEmpty ? "none" : ids))")
            }
            chosen = found
        } else {
            guard let first = script.connections.first(where: { $0.opened }) ?? script.connections.first else {
                fail("\(file): no connection to replay")
            }
            chosen = first
        }
        let loop: EventLoop
        do { loop = try EventLoop() } catch { fail("\(error)") }
        // The TLS files are loaded before the recording is created: a bad one leaves no file.
        let options = ReplayServer.Options(
            endpoint: connection.endpointOptions(serving: true), speed: pace, idleTimeout: .milliseconds(Int(idleTimeout * 1000)))
        let session = connection.makeSession(mode: "listen", endpoint: hostPort.description)
        let server = ReplayServer(loop: loop, connection: chosen, options: options, report: session.record)
        server.warn = warn
        do {
            try server.start(host: hostPort.host, port: hostPort.port)
        } catch {
            fail("\(error)")
        }
        runServing(loop, shutdown: server.shutdown)
    }

    /// The recording in the terminal UI, read-only: its events as they were recorded, the
    /// recording's mode and endpoint in the status bar.
    private func browse() {
        let chosenTheme = loadTheme()
        let reader: RecordingReader
        do {
            reader = try RecordingReader(path: file, options: .init(skipBadLines: skipBadLines))
        } catch {
            fail(Self.describe(error, file: file))
        }
        let timeline = ArrayTimeline()
        do {
            while let recorded = try reader.next() { timeline.append(recorded.event, tNs: recorded.tNs) }
        } catch {
            fail("\(file): \(error)\(skipBadLines ? "" : " (--skip-bad-lines continues past bad lines)")")
        }
        for warning in reader.warnings { StandardOutput.write("wscope: \(file): warning: \(warning)\n", fd: 2) }
        let header = reader.header
        let loop: EventLoop
        do { loop = try EventLoop() } catch { fail("\(error)") }
        // A listen recording's own frames were the server's.
        let config = UIConfig(mode: "replay", endpoint: header.endpoint, role: header.mode == "listen" ? .server : .client,
                              canSend: false)
        let app = TerminalApp(
            loop: loop, timeline: timeline, controls: nil,
            options: TerminalApp.Options(
                config: config, theme: chosenTheme, themeIsExplicit: theme != nil,
                onRecordingChange: { _ in RecordingChange(isOn: false, message: "this is a recording already: nothing new to record") }))
        // Before start: on the first screen.
        if let warning = reader.warnings.first {
            app.showMessage("\(file): \(warning)", isError: true)
        } else {
            app.showMessage("\(file): \(header.mode) recording of \(header.start), \(timeline.timelineCount) events (read-only)")
        }
        do { try app.start() } catch { fail("\(error)") }
        do { try loop.run() } catch {
            app.stop()
            fail("\(error)")
        }
        app.stop()
    }

    /// An error opening a recording, naming the file once.
    static func describe(_ error: RecordingError, file: String) -> String {
        if case .cannotOpen = error { return error.description }
        return "\(file): \(error)"
    }

    /// Without the terminal UI: what `wscope dump` prints.
    private func printRecording() {
        let reader: RecordingReader
        do {
            reader = try RecordingReader(path: file, options: .init(skipBadLines: skipBadLines))
        } catch {
            fail(Self.describe(error, file: file))
        }
        let summary: RecordingDump.Summary
        do {
            summary = connection.json ? try RecordingDump.writeJSON(from: reader, to: 1) : try RecordingDump.writeText(from: reader, to: 1)
        } catch {
            fail("\(file): \(error)\(skipBadLines ? "" : " (--skip-bad-lines continues past bad lines)")")
        }
        for warning in summary.warnings { StandardOutput.write("wscope: \(file): warning: \(warning)\n", fd: 2) }
    }
}
