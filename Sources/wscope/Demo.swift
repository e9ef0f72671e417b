import ArgumentParser
import Glibc
import Inspector
import WebSocket
import WebSocketTransport

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start a built-in echo server on loopback, connect to it and exchange example frames.")

    @Flag(name: .customLong("no-tui"), help: "Print one line per event instead of opening the terminal UI.")
    var noTUI = false

    func run() throws {
        let loop: EventLoop
        do { loop = try EventLoop() } catch { fail("\(error)") }
        let print: (SessionEvent) -> Void = { event in
            StandardOutput.writeLine(EventLine.format(event))
        }
        var serverOptions = EndpointOptions()
        serverOptions.echo = true
        serverOptions.reportFrames = false
        let server = ServerEndpoint(loop: loop, options: serverOptions, report: { _ in })
        do { try server.start(host: "127.0.0.1", port: 0) } catch { fail("\(error)") }
        guard let port = server.localPort, let url = try? WebSocketURL.parse("ws://127.0.0.1:\(port)/demo") else {
            fail("could not start the demo server")
        }
        let client = ClientEndpoint(loop: loop, url: url, options: EndpointOptions(), report: { event in
            print(event)
        })
        client.onFinished = { _ in loop.stop() }
        client.start()
        // The example exchange: text, binary, a ping, a fragmented message, then close.
        let steps: [() -> Void] = [
            { client.sendText("Hello from wscope 👋") },
            { client.send(.binary, payload: [0x00, 0x01, 0x02, 0xfe, 0xff]) },
            { client.ping(Array("are you there?".utf8)) },
            { client.send(.text, payload: Array("a message in three fragments".utf8), fragmentSize: 10) },
            { client.sendText(#"{"type":"json","ok":true}"#) },
            { client.close(code: .normalClosure, reason: "demo done") },
        ]
        for (index, step) in steps.enumerated() {
            loop.schedule(after: .milliseconds(150 * (index + 1)), step)
        }
        loop.schedule(after: .seconds(5)) { loop.stop() }
        do { try loop.run() } catch { fail("\(error)") }
        server.shutdown()
    }
}
