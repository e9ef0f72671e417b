import Inspector
import Testing
import WebSocketTransport
@testable import TerminalUI

/// The status bar's TLS slot: the negotiated version, and a loud alert when the peer's
/// certificate was accepted unverified (--insecure, whose stderr warning the TUI covers).
@Suite struct StatusBarTLSTests {
    static func timeline(_ info: TLSInfo) -> ArrayTimeline {
        let timeline = ArrayTimeline()
        timeline.append(.connecting(url: "wss://example.com/"), tNs: 0)
        timeline.append(.tls(connection: 1, info: info), tNs: 1_000)
        timeline.append(.opened(connection: 1, peer: "93.184.215.14:443", request: "GET / HTTP/1.1\r\n\r\n",
                                response: "HTTP/1.1 101 Switching Protocols\r\n\r\n", subprotocol: nil, extensions: nil), tNs: 2_000)
        return timeline
    }

    @Test func verifiedShowsTheVersion() {
        let info = TLSInfo(version: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", serverName: "example.com",
                           peerSubject: "CN=example.com", verified: true)
        let screen = render(state(Self.timeline(info), mode: "connect"))
        #expect(screen.line(0).contains("│ open │ in 0 fr 0 B │ out 0 fr 0 B │ TLSv1.3 │ proto -"))
        #expect(!screen.line(0).contains("NOT VERIFIED"))
        // The handshake is a row of the timeline too.
        #expect(screen.lines.contains { $0.contains("#1 tls TLSv1.3 TLS_AES_256_GCM_SHA384 sni=example.com peer=\"CN=example.com\" verified") })
    }

    @Test func unverifiedIsAnAlertThatSurvivesANarrowBar() {
        let info = TLSInfo(version: "TLSv1.2", cipher: "ECDHE-RSA-AES128-GCM-SHA256", peerSubject: "CN=self", verified: false)
        let screen = render(state(Self.timeline(info), width: 80, height: 24, mode: "connect"))
        #expect(screen.line(0).contains("TLSv1.2 NOT VERIFIED"))
        #expect(!screen.line(0).contains("proto"), "the optional pieces went first")
        #expect(screen.style(of: "TLSv1.2 NOT VERIFIED") == Theme.standard[.statusAlert])
    }

    @Test func plainConnectionsHaveNoTLSSlot() {
        let screen = render(state(demoTimeline()))
        #expect(!screen.line(0).contains("TLS"))
    }
}
