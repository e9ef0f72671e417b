import Inspector
import WebSocket

/// `wscope listen`: the composer, `p` and `c` act on the connection the UI targets; with
/// no target (nil) on every open connection.
extension ServerEndpoint: TerminalControls {
    private func targets(_ connection: Int?) -> [Int] {
        connection.map { [$0] } ?? openConnectionIDs
    }

    public func sendText(_ text: String, connection: Int?) {
        for id in targets(connection) { sendText(text, to: id) }
    }

    public func sendCrafted(_ frames: [CraftedFrame], connection: Int?) {
        for id in targets(connection) { sendCrafted(frames, to: id) }
    }

    public func ping(_ payload: [UInt8], connection: Int?) {
        for id in targets(connection) { ping(payload, to: id) }
    }

    public func close(code: CloseCode, reason: String, connection: Int?) {
        for id in targets(connection) { close(code: code, reason: reason, connection: id) }
    }
}

/// What the connection list shows about one connection besides its state (which
/// `TimelineStats` keeps).
public struct ConnectionSummary: Equatable, Sendable {
    public var id: Int
    /// The peer's address; empty until the opening handshake said it.
    public var peer = ""
    public var subprotocol: String?
    public var extensions: String?
    public var framesIn = 0
    public var framesOut = 0

    public init(id: Int) {
        self.id = id
    }
}

/// Per-connection summaries in the order the connections first appeared, updated event by
/// event as the timeline grows.
public struct ConnectionTable: Sendable {
    public private(set) var rows: [ConnectionSummary] = []
    private var positions: [Int: Int] = [:]

    public init() {}

    public subscript(id: Int) -> ConnectionSummary? {
        positions[id].map { rows[$0] }
    }

    public mutating func absorb(_ event: SessionEvent) {
        guard let id = event.connectionID else { return }
        let position: Int
        if let known = positions[id] {
            position = known
        } else {
            position = rows.count
            positions[id] = position
            rows.append(ConnectionSummary(id: id))
        }
        switch event {
        case .opened(_, let peer, _, _, let subprotocol, let extensions):
            rows[position].peer = peer
            rows[position].subprotocol = subprotocol
            rows[position].extensions = extensions
        case .handshakeFailed(_, let peer, _):
            rows[position].peer = peer
        case .frame(_, let direction, _, _, _):
            if direction == .incoming { rows[position].framesIn += 1 } else { rows[position].framesOut += 1 }
        default:
            break
        }
    }
}

/// The connection list between the status bar and the timeline, shown once a timeline has
/// several connections (`listen` with more than one client). Its first row stands for all
/// connections; picking a connection (Enter on it, or a click) shows only its rows and
/// makes it the target of the composer, `p` and `c`.
public enum ConnectionList {
    /// Rows of the list on screen, its title row included; 0 when it is not shown.
    public static func height(connections: Int, terminalHeight: Int) -> Int {
        guard connections > 1 else { return 0 }
        // Entries shown at once: the "all" row and the connections, fewer on short
        // terminals so that the timeline keeps its rows; the rest scroll.
        let cap = max(2, (terminalHeight - Layout.minimumHeight) / 4 + 2)
        return min(connections + 1, cap) + 1
    }

    static let idWidth = 6
    static let peerWidth = 23
    static let stateWidth = 22
    static let protocolWidth = 12
    static let framesWidth = 18

    /// The title row's text.
    public static func title(width: Int) -> String {
        let text = "   " + DisplayWidth.fit("CONN", idWidth) + DisplayWidth.fit("PEER", peerWidth)
            + DisplayWidth.fit("STATE", stateWidth) + DisplayWidth.fit("PROTO", protocolWidth)
        return text + columns(extensions: "EXTENSIONS", frames: "FRAMES IN/OUT", width: width - DisplayWidth.of(text))
    }

    /// The list's entry `index` (0: all connections) as styled segments, `width` columns.
    public static func entry(_ index: Int, state: UIState, width: Int) -> StyledLine {
        let stats = state.stats
        if index == 0 {
            let open = stats.openConnections.count
            let hint = state.connectionListFocused ? "↑↓ move  Enter picks  Esc leaves the list" : "l: pick a connection"
            return [Segment(state.pickedConnection == nil ? " ▸ " : "   ", .match),
                    Segment(DisplayWidth.fit("all", idWidth) + DisplayWidth.fit("every connection: \(open) open of \(stats.connectionOrder.count)", peerWidth + stateWidth), .event),
                    Segment(hint, .hint)]
        }
        let id = stats.connectionOrder[index - 1]
        let summary = state.connections[id] ?? ConnectionSummary(id: id)
        let connectionState = stats.connections[id] ?? .open
        let role: StyleRole
        switch connectionState {
        case .failed, .closed(_, clean: false): role = .error
        case .closed, .closing: role = .event
        case .open, .connecting: role = .row
        }
        var text = DisplayWidth.fit("#\(id)", idWidth)
        text += DisplayWidth.fit(Visible.text(summary.peer.isEmpty ? "-" : summary.peer), peerWidth - 1, ellipsis: true) + " "
        text += DisplayWidth.fit(connectionState.label, stateWidth - 1, ellipsis: true) + " "
        text += DisplayWidth.fit(summary.subprotocol.map { Visible.text($0) } ?? "-", protocolWidth - 1, ellipsis: true) + " "
        let frames = "\(summary.framesIn) / \(summary.framesOut)"
        text += columns(extensions: summary.extensions.map { Visible.text($0) } ?? "-", frames: frames,
                        width: width - 3 - DisplayWidth.of(text))
        return [Segment(state.pickedConnection == id ? " ▸ " : "   ", .match), Segment(text, role)]
    }

    /// The extensions column taking what is left, then the frame counts right-aligned.
    private static func columns(extensions: String, frames: String, width: Int) -> String {
        let extensionsWidth = max(0, width - framesWidth)
        guard extensionsWidth >= 4 else { return DisplayWidth.rightAligned(frames, max(0, width - 1)) }
        return DisplayWidth.fit(extensions, extensionsWidth - 1, ellipsis: true) + " " + DisplayWidth.rightAligned(frames, framesWidth)
    }

    static func draw(_ screen: inout Screen, state: UIState, theme: Theme) {
        let layout = state.layout
        guard layout.connectionListHeight > 0 else { return }
        let titleY = layout.connectionListY
        screen.fill(y: titleY, width: layout.width, style: theme[.columnHeader])
        screen.put(title(width: layout.width), x: 0, y: titleY, style: theme[.columnHeader])
        let entries = state.stats.connectionOrder.count + 1
        for line in 0..<(layout.connectionListHeight - 1) {
            let index = state.connectionListTop + line
            guard index < entries else { break }
            let y = titleY + 1 + line
            let cursor = state.connectionListFocused && index == state.connectionListCursor
            if cursor { screen.fill(y: y, width: layout.width, style: theme[.selected]) }
            var x = 0
            for segment in entry(index, state: state, width: layout.width) where x < layout.width {
                x += screen.put(segment.text, x: x, y: y, style: theme[cursor ? .selected : segment.role], limit: layout.width - x)
            }
        }
    }
}

extension UIState {
    /// The connection id of the list's entry `index`; nil for the "all" entry.
    func connectionOfListEntry(_ index: Int) -> Int? {
        index == 0 ? nil : stats.connectionOrder[index - 1]
    }

    /// `l`: the cursor goes to the picked entry.
    func focusConnectionList() {
        guard layout.connectionListHeight > 0 else {
            showMessage("one connection: no list to pick from", isError: true)
            return
        }
        connectionListFocused = true
        connectionListCursor = pickedConnection.flatMap { stats.connectionOrder.firstIndex(of: $0).map { $0 + 1 } } ?? 0
        keepListCursorVisible()
    }

    /// Keys while the list has the focus; false for a key the list does not take (the list
    /// then lets go of the focus and the key acts as usual).
    func handleConnectionListKey(_ key: Key) -> Bool {
        let entries = stats.connectionOrder.count + 1
        switch key {
        case .char("j"), .down: connectionListCursor = min(entries - 1, connectionListCursor + 1)
        case .char("k"), .up: connectionListCursor = max(0, connectionListCursor - 1)
        case .char("g"), .home: connectionListCursor = 0
        case .char("G"), .end: connectionListCursor = entries - 1
        case .enter:
            pickConnection(connectionOfListEntry(connectionListCursor))
            connectionListFocused = false
        case .escape, .char("l"):
            connectionListFocused = false
        default:
            connectionListFocused = false
            return false
        }
        keepListCursorVisible()
        return true
    }

    /// A click or the wheel on the list: true when the event was on it.
    func handleConnectionListMouse(_ event: MouseEvent) -> Bool {
        let layout = self.layout
        let firstY = layout.connectionListY + 1
        guard layout.connectionListHeight > 0, event.y >= layout.connectionListY,
              event.y < layout.connectionListY + layout.connectionListHeight else { return false }
        let entries = stats.connectionOrder.count + 1
        switch event.kind {
        case .wheelUp, .wheelDown:
            let visible = layout.connectionListHeight - 1
            connectionListTop = max(0, min(entries - visible, connectionListTop + (event.kind == .wheelUp ? -1 : 1)))
        case .press(button: 0) where event.y >= firstY:
            let index = connectionListTop + event.y - firstY
            if index < entries {
                connectionListCursor = index
                pickConnection(connectionOfListEntry(index))
            }
        default:
            break
        }
        return true
    }

    /// Shows only `id`'s rows (all rows for nil) and makes it the target of sending keys.
    func pickConnection(_ id: Int?) {
        guard id != pickedConnection else { return }
        pickedConnection = id
        applyFilter(filter)
        if let id {
            let state = stats.connections[id]?.label ?? "unknown"
            showMessage("showing #\(id) only (\(state)): i, p and c act on it; Esc shows all")
        } else {
            showMessage("showing every connection")
        }
    }

    func keepListCursorVisible() {
        let visible = max(1, layout.connectionListHeight - 1)
        let entries = stats.connectionOrder.count + 1
        if connectionListCursor < connectionListTop { connectionListTop = connectionListCursor }
        if connectionListCursor >= connectionListTop + visible { connectionListTop = connectionListCursor - visible + 1 }
        connectionListTop = max(0, min(connectionListTop, entries - visible))
    }

    /// Whether `entry` is a row: it passes the filter and belongs to the picked connection.
    func rowPasses(_ entry: TimelineEntry) -> Bool {
        if let pickedConnection, entry.event.connectionID != pickedConnection { return false }
        return filter?.matches(entry) ?? true
    }
}
