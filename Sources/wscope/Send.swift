import ArgumentParser
import Glibc
import Inspector
import WebSocket
import WebSocketTransport

struct Send: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Connect, write frames exactly as specified, print what comes back.",
        discussion: """
            Each SPEC is KIND[:PAYLOAD][;OVERRIDE]... (see DESIGN.md, "Frame spec"), e.g.
              text:hello   'op3:x'   'text:hi;rsv1=1'   'ping:x;len=200'   'text:abc;mask=none'
              'close:1000:bye'   'text:\\xff\\xfe'   'binary:@file.bin;chop=3'   'raw:8100'
            Frames go out in order, byte for byte; then wscope waits --timeout seconds for the
            server's answers (or its close) and closes politely if the server did not.
            """)

    @Argument(help: "The server's URL, e.g. ws://127.0.0.1:9001/ or wss://example.com/ (TLS: see --cacert, --insecure).")
    var url: String

    @Argument(help: "Frame specs, sent in order.")
    var specs: [String] = []

    @Option(name: .long, help: "Seconds to wait for answers after the last frame.")
    var timeout: Double = 2

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard !specs.isEmpty else { throw ValidationError("give at least one frame spec") }
        try validateSeconds(timeout, "--timeout", positive: false)
        for spec in specs {
            do {
                _ = try FrameSpec.parse(spec, role: .client)
            } catch {
                throw ValidationError("bad frame spec, column \(error.column): \(error.message)\n\(error.pointing(into: spec))")
            }
        }
    }

    func run() throws {
        let target: WebSocketURL
        do { target = try WebSocketURL.parse(url) } catch { fail("\(error)") }
        var frames: [CraftedFrame] = []
        for spec in specs {
            guard let frame = try? FrameSpec.parse(spec, role: .client) else { fail("bad frame spec '\(spec)'") }
            frames.append(frame)
        }
        let loop: EventLoop
        do { loop = try EventLoop() } catch { fail("\(error)") }
        // TLS files first: a bad one ends the run before a recording is created.
        let options = connection.endpointOptions(connectingTo: target)
        let session = connection.makeSession(mode: "connect", endpoint: target.description)
        let client = ClientEndpoint(loop: loop, url: target, options: options, report: session.record)
        var status: Int32 = 0
        client.onFinished = { opened in
            status = opened ? 0 : 1
            loop.stop()
        }
        try? loop.onSignals([SIGINT, SIGTERM]) { _ in client.interrupt() }
        client.start()
        let wait = Duration.milliseconds(Int(timeout * 1000))
        client.sendCrafted(frames) {
            _ = loop.schedule(after: wait) { client.close(code: .normalClosure, reason: "") }
        }
        do { try loop.run() } catch { fail("\(error)") }
        if status != 0 { Glibc.exit(status) }
    }
}
