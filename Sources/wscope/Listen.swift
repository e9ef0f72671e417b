import ArgumentParser
import Glibc
import Inspector
import WebSocketTransport

struct Listen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Accept WebSocket clients on [HOST:]PORT (many at once).",
        discussion: """
            With --tls-cert FILE --tls-key FILE the clients connect with wss:// (TLS); adding \
            --cacert FILE requires each client to present a certificate issued by one of the \
            authorities in FILE (a client without one fails its handshake).
            """)

    @Argument(help: "Address to listen on: PORT, HOST:PORT or [IPv6]:PORT (host defaults to 127.0.0.1).")
    var address: String

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        do { _ = try HostPort.parse(address) } catch { throw ValidationError("\(error)") }
        if connection.cacert != nil && connection.tlsCert == nil {
            throw ValidationError("--cacert on listen asks clients for certificates over TLS: give --tls-cert and --tls-key too")
        }
    }

    func run() throws {
        let hostPort: HostPort
        do { hostPort = try HostPort.parse(address) } catch { fail("\(error)") }
        let loop: EventLoop
        do { loop = try EventLoop() } catch { fail("\(error)") }
        var options = connection.endpointOptions()
        options.tlsServer = connection.serverTLS()
        let session = connection.makeSession(mode: "listen", endpoint: hostPort.description)
        let server = ServerEndpoint(loop: loop, options: options, report: session.record)
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
            // Give open connections their closing handshake, then stop regardless.
            loop.schedule(after: .milliseconds(500)) { loop.stop() }
        }
        do { try loop.run() } catch { fail("\(error)") }
    }
}
