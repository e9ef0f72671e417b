import ArgumentParser
import Glibc
import Inspector
import TerminalUI
import WebSocket
import WebSocketTransport

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start a built-in echo server on loopback, connect to it and exchange example frames.")

    @Flag(name: .customLong("no-tui"), help: "Print one line per event instead of opening the terminal UI.")
    var noTUI = false

    @Option(name: .long, help: ArgumentHelp(
        "Colours: default, light, high-contrast, monochrome, or a theme file (see themes/).", valueName: "NAME|FILE"))
    var theme: String?

    func validate() throws {
        if let theme {
            do { _ = try Theme.load(theme) } catch { throw ValidationError("\(error)") }
        }
    }

    /// The example exchange: text, binary, a ping, a fragmented message, JSON.
    static func exchange(_ client: ClientEndpoint) -> [() -> Void] {
        [
            { client.sendText("Hello from wscope 👋") },
            { client.send(.binary, payload: [0x00, 0x01, 0x02, 0xfe, 0xff]) },
            { client.ping(Array("are you there?".utf8)) },
            { client.send(.text, payload: Array("a message in three fragments".utf8), fragmentSize: 10) },
            { client.sendText(#"{"type":"json","ok":true}"#) },
        ]
    }

    func run() throws {
        let loop: EventLoop
        do { loop = try EventLoop() } catch { fail("\(error)") }
        var serverOptions = EndpointOptions()
        serverOptions.echo = true
        serverOptions.reportFrames = false
        let server = ServerEndpoint(loop: loop, options: serverOptions, report: { _ in })
        do { try server.start(host: "127.0.0.1", port: 0) } catch { fail("\(error)") }
        guard let port = server.localPort, let url = try? WebSocketURL.parse("ws://127.0.0.1:\(port)/demo") else {
            fail("could not start the demo server")
        }
        if noTUI {
            runLines(loop: loop, server: server, url: url)
        } else {
            runTUI(loop: loop, server: server, url: url)
        }
    }

    /// `--no-tui`: the scripted exchange, one line per event, then close and exit.
    private func runLines(loop: EventLoop, server: ServerEndpoint, url: WebSocketURL) {
        let client = ClientEndpoint(loop: loop, url: url, options: EndpointOptions(), report: { event in
            StandardOutput.writeLine(EventLine.format(event))
        })
        client.onFinished = { _ in loop.stop() }
        client.start()
        let steps = Demo.exchange(client) + [{ client.close(code: .normalClosure, reason: "demo done") }]
        for (index, step) in steps.enumerated() {
            loop.schedule(after: .milliseconds(150 * (index + 1)), step)
        }
        loop.schedule(after: .seconds(5)) { loop.stop() }
        do { try loop.run() } catch { fail("\(error)") }
        server.shutdown()
    }

    /// The terminal UI: the exchange runs, then the connection stays open for the user to
    /// compose frames to the echo server until they quit.
    private func runTUI(loop: EventLoop, server: ServerEndpoint, url: WebSocketURL) {
        let chosenTheme: Theme
        do { chosenTheme = try theme.map { try Theme.load($0) } ?? .standard } catch { fail("\(error)") }
        let session = Session()
        let recording = RecordingSwitch(session: session, mode: "demo", endpoint: url.description, path: nil)
        let client = ClientEndpoint(loop: loop, url: url, options: EndpointOptions(), report: session.record)
        client.start()
        for (index, step) in Demo.exchange(client).enumerated() {
            loop.schedule(after: .milliseconds(150 * (index + 1)), step)
        }
        let options = TerminalApp.Options(
            config: UIConfig(mode: "demo", endpoint: url.description, role: .client),
            theme: chosenTheme, themeIsExplicit: theme != nil, onRecordingChange: recording.set)
        do {
            try TerminalApp.run(loop: loop, session: session, client: client, options: options)
        } catch {
            server.shutdown()
            fail("\(error)")
        }
        server.shutdown()
    }
}
