import ArgumentParser
import Glibc
import Inspector
import WebSocket
import WebSocketTransport

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay a recording: print it, re-send its client side (--to), or play its server side (--serve).",
        discussion: """
            Without --to or --serve the recording is printed like 'wscope dump' (the terminal
            UI browser is not there yet).

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
            Exit status 0 when every connection opened, 1 otherwise.

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

    func validate() throws {
        if to != nil && serve != nil { throw ValidationError("--to and --serve cannot be used together") }
        if let speed {
            guard speed > 0, speed.isFinite else { throw ValidationError("--speed must be a positive number") }
            if asap { throw ValidationError("--speed and --asap cannot be used together") }
        }
        if conn != nil && serve == nil { throw ValidationError("--conn goes with --serve") }
        guard idleTimeout > 0 else { throw ValidationError("--idle-timeout must be positive") }
        guard timeout >= 0 else { throw ValidationError("--timeout must not be negative") }
        if connection.echo { throw ValidationError("--echo does not apply to replay") }
        if let serve {
            do { _ = try HostPort.parse(serve) } catch { throw ValidationError("\(error)") }
        }
    }

    /// nil: --asap.
    private var pace: Double? { asap ? nil : (speed ?? 1) }

    func run() throws {
        if let to { return replayTo(to) }
        if let serve { return replayServe(serve) }
        printRecording()
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
        let session = connection.makeSession(mode: "listen", endpoint: hostPort.description)
        let options = ReplayServer.Options(
            endpoint: connection.endpointOptions(), speed: pace, idleTimeout: .milliseconds(Int(idleTimeout * 1000)))
        let server = ReplayServer(loop: loop, connection: chosen, options: options, report: session.record)
        server.warn = warn
        do {
            try server.start(host: hostPort.host, port: hostPort.port)
        } catch {
            fail("\(error)")
        }
        var stopping = false
        try? loop.onSignals([SIGINT, SIGTERM]) { _ in
            if stopping { loop.stop(); return }
            stopping = true
            server.shutdown()
            loop.schedule(after: .milliseconds(500)) { loop.stop() }
        }
        do { try loop.run() } catch { fail("\(error)") }
    }

    /// Until the terminal UI browses recordings: what `wscope dump` prints.
    private func printRecording() {
        let reader: RecordingReader
        do {
            reader = try RecordingReader(path: file, options: .init(skipBadLines: skipBadLines))
        } catch {
            fail("\(file): \(error)")
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
