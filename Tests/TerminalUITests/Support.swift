import Inspector
import TerminalUI
import WebSocket

/// A frame event from a frame spec, with a fixed mask key so that wire bytes are stable.
func frameEvent(_ spec: String, _ direction: Direction = .outgoing, connection: Int = 1,
                maskKey: UInt32 = Header.maskKey(0x37, 0xfa, 0x21, 0x3d)) -> SessionEvent {
    let role: Role = direction == .outgoing ? .client : .server
    let frame = try! FrameSpec.parse(spec, role: role, readFile: { _ in [] }, randomKey: { maskKey })
    return .frame(connection: connection, direction: direction, header: frame.header!, payload: frame.payload, wire: frame.wire)
}

/// A timeline with the demo's shape: connecting, open, then the given events 100 ms apart.
func timeline(_ events: [SessionEvent], opened: Bool = true) -> ArrayTimeline {
    let timeline = ArrayTimeline()
    var t: UInt64 = 0
    if opened {
        timeline.append(.connecting(url: "ws://127.0.0.1:9001/demo"), tNs: 0)
        timeline.append(.opened(connection: 1, peer: "127.0.0.1:9001", request: "GET /demo HTTP/1.1\r\nHost: 127.0.0.1:9001\r\n\r\n",
                                response: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
                                subprotocol: nil, extensions: nil), tNs: 25_000_000)
        t = 25_000_000
    }
    for event in events {
        t += 100_000_000
        timeline.append(event, tNs: t)
    }
    return timeline
}

/// The demo exchange as the client's session records it.
func demoTimeline() -> ArrayTimeline {
    timeline([
        frameEvent("text:Hello from wscope 👋"),
        frameEvent("text:Hello from wscope 👋", .incoming),
        frameEvent("binary:hex:000102feff"),
        frameEvent("binary:hex:000102feff", .incoming),
        frameEvent("ping:are you there?"),
        frameEvent("pong:are you there?", .incoming),
        frameEvent(#"text:{"type":"json","ok":true}"#),
        frameEvent(#"text:{"type":"json","ok":true}"#, .incoming),
    ])
}

func state(_ timeline: TimelineSource, width: Int = 120, height: Int = 40, mode: String = "demo") -> UIState {
    UIState(source: timeline, config: UIConfig(mode: mode, endpoint: "ws://127.0.0.1:9001/demo"), width: width, height: height)
}

func render(_ state: UIState, theme: Theme = .standard) -> Screen {
    Renderer.render(state, theme: theme)
}

extension UIState {
    /// Types each character of `text` as a key.
    @discardableResult
    func type(_ text: String) -> [UICommand] {
        var commands: [UICommand] = []
        for character in text { commands += handle(.char(character)) }
        return commands
    }
}

extension Screen {
    /// Rows that contain `needle`.
    func rows(containing needle: String) -> [Int] {
        (0..<height).filter { line($0).contains(needle) }
    }
}
