import Inspector
import WebSocket

/// Where everything goes for a terminal size.
///
///     row 0                 status bar
///     row 1                 timeline column titles
///     rows 2...             timeline rows
///     tabsY                 pane titles / tabs
///     detailY...            detail panes (Header on the left when wide enough)
///     last row              prompt, message or key hints
public struct Layout: Equatable, Sendable {
    public static let minimumWidth = 60
    public static let minimumHeight = 12
    /// At this width and above, the Header pane sits left of the Payload/Hex/Close pane.
    public static let splitWidth = 100

    public let width: Int
    public let height: Int
    /// Rows of the connection list under the status bar (0: not shown).
    public let connectionListHeight: Int

    public init(width: Int, height: Int, connectionListHeight: Int = 0) {
        self.width = width
        self.height = height
        self.connectionListHeight = connectionListHeight
    }

    public var tooSmall: Bool { width < Layout.minimumWidth || height < Layout.minimumHeight }

    public var statusY: Int { 0 }
    public var connectionListY: Int { 1 }
    public var columnHeaderY: Int { 1 + connectionListHeight }
    public var timelineY: Int { columnHeaderY + 1 }
    /// Rows of the timeline (without its title row).
    public var timelineHeight: Int {
        let middle = height - 2 - connectionListHeight
        return max(3, middle / 2) - 1
    }
    public var tabsY: Int { timelineY + timelineHeight }
    public var detailY: Int { tabsY + 1 }
    public var detailHeight: Int { max(1, bottomY - detailY) }
    public var bottomY: Int { height - 1 }

    public var split: Bool { width >= Layout.splitWidth }
    public var leftPaneWidth: Int { split ? min(46, max(36, width - 80)) : width }
    public var rightPaneX: Int { split ? leftPaneWidth + 1 : 0 }
    public var rightPaneWidth: Int { split ? width - rightPaneX : width }
}

/// Draws the state into a screen model: a pure function of the state and the theme.
public enum Renderer {
    public static func render(_ state: UIState, theme: Theme) -> Screen {
        let layout = state.layout
        var screen = Screen(width: layout.width, height: layout.height, style: theme[.row])
        if layout.tooSmall {
            drawTooSmall(&screen, layout: layout, theme: theme)
            return screen
        }
        drawStatusBar(&screen, state: state, theme: theme)
        ConnectionList.draw(&screen, state: state, theme: theme)
        drawTimeline(&screen, state: state, theme: theme)
        drawPanes(&screen, state: state, theme: theme)
        if state.prompt == .form { drawForm(&screen, state: state, theme: theme) }
        drawBottomLine(&screen, state: state, theme: theme)
        if state.showsHelp { drawHelp(&screen, layout: layout, scroll: state.helpScroll, theme: theme) }
        return screen
    }

    // MARK: Too small

    static func drawTooSmall(_ screen: inout Screen, layout: Layout, theme: Theme) {
        let lines = [
            "terminal too small",
            "\(layout.width)x\(layout.height), need \(Layout.minimumWidth)x\(Layout.minimumHeight)",
            "q quits",
        ]
        let top = max(0, (layout.height - lines.count) / 2)
        for (index, line) in lines.enumerated() {
            let x = max(0, (layout.width - DisplayWidth.of(line)) / 2)
            screen.put(line, x: x, y: top + index, style: index == 0 ? theme[.messageError] : theme[.row])
        }
    }

    // MARK: Status bar

    static func drawStatusBar(_ screen: inout Screen, state: UIState, theme: Theme) {
        let width = screen.width
        screen.fill(y: 0, width: width, style: theme[.status])
        for (text, role, x) in statusBar(state, width: width) {
            screen.put(text, x: x, y: 0, style: theme[role])
        }
    }

    /// The status bar's pieces and their columns. When the bar is too narrow, the
    /// subprotocol and extensions go first, then the endpoint is shortened.
    static func statusBar(_ state: UIState, width: Int) -> [(String, StyleRole, Int)] {
        let stats = state.stats
        struct Piece {
            var text: String
            var role: StyleRole
            var priority: Int
        }
        var pieces: [Piece] = []
        pieces.append(Piece(text: " wscope \(state.config.mode) ", role: .statusAccent, priority: 0))
        pieces.append(Piece(text: " " + Visible.text(state.config.endpoint) + " ", role: .status, priority: 2))
        let (label, alert) = connectionLabel(stats, endpoint: state.config.endpoint)
        pieces.append(Piece(text: "│ ", role: .status, priority: 0))
        pieces.append(Piece(text: label, role: alert ? .statusAlert : .status, priority: 0))
        if let version = stats.tlsVersion, stats.tlsUnverified {
            // Next to the state, so that a narrow bar cuts the counters rather than this.
            pieces.append(Piece(text: " │ ", role: .status, priority: 0))
            pieces.append(Piece(text: "\(Visible.text(version)) NOT VERIFIED", role: .statusAlert, priority: 0))
        }
        pieces.append(Piece(text: " │ in \(stats.framesIn) fr \(Format.bytes(stats.bytesIn))", role: .status, priority: 1))
        pieces.append(Piece(text: " │ out \(stats.framesOut) fr \(Format.bytes(stats.bytesOut))", role: .status, priority: 1))
        if let rates = ratesText(stats, clockNs: state.clockNs) { pieces.append(Piece(text: rates, role: .status, priority: 3)) }
        if let picked = state.pickedConnection {
            pieces.append(Piece(text: " │ #\(picked) only", role: .statusAccent, priority: 0))
        }
        if state.filter != nil {
            pieces.append(Piece(text: " │ filter \(state.rowCount)/\(stats.absorbed)", role: .status, priority: 1))
        }
        if let version = stats.tlsVersion, !stats.tlsUnverified {
            pieces.append(Piece(text: " │ \(Visible.text(version))", role: .status, priority: 3))
        }
        // The newest connection's, or the picked one's when the connection list has a pick.
        var subprotocol = stats.subprotocol, extensions = stats.extensions
        if let picked = state.pickedConnection, let summary = state.connections[picked] {
            subprotocol = summary.subprotocol
            extensions = summary.extensions
        }
        pieces.append(Piece(text: " │ proto " + (subprotocol.map { Visible.text($0) } ?? "-"), role: .status, priority: 3))
        pieces.append(Piece(text: " │ ext " + (extensions.map { Visible.text($0) } ?? "-"), role: .status, priority: 3))
        var right: [Piece] = []
        if state.follow { right.append(Piece(text: " FOLLOW ", role: .status, priority: 1)) }
        right.append(state.recording ? Piece(text: " ● REC ", role: .statusRecording, priority: 0)
                                     : Piece(text: " ○ rec ", role: .status, priority: 0))
        let rightWidth = right.reduce(0) { $0 + DisplayWidth.of($1.text) }
        let available = max(0, width - rightWidth - 1)
        func total() -> Int { pieces.reduce(0) { $0 + DisplayWidth.of($1.text) } }
        while total() > available, let index = pieces.lastIndex(where: { $0.priority == 3 }) {
            pieces.remove(at: index)
        }
        if total() > available, let index = pieces.firstIndex(where: { $0.priority == 2 }) {
            let excess = total() - available
            let current = DisplayWidth.of(pieces[index].text)
            let keep = max(8, current - excess)
            pieces[index].text = DisplayWidth.fit(pieces[index].text.dropLast(), keep - 1, ellipsis: true) + " "
        }
        var result: [(String, StyleRole, Int)] = []
        var x = 0
        for piece in pieces where x < available {
            let pieceWidth = DisplayWidth.of(piece.text)
            let text = x + pieceWidth > available ? String(DisplayWidth.prefix(piece.text, fitting: available - x)) : piece.text
            result.append((text, piece.role, x))
            x += pieceWidth
        }
        var rightX = width - rightWidth
        for piece in right where rightX >= 0 {
            result.append((piece.text, piece.role, rightX))
            rightX += DisplayWidth.of(piece.text)
        }
        return result
    }

    /// " │ ← 1200 fr/s 35.2 KiB/s → 3 fr/s 120 B/s" (← in, → out, as in the timeline) for the
    /// directions with traffic in the last second of a live timeline; nil when both are
    /// quiet or the timeline is not live. After the counters, so that a narrow bar drops
    /// the rates (after the subprotocol and extensions) and keeps the counts whole.
    static func ratesText(_ stats: TimelineStats, clockNs: UInt64?) -> String? {
        guard let clockNs else { return nil }
        var text = ""
        for (arrow, meter) in [("←", stats.rateIn), ("→", stats.rateOut)] {
            let rate = meter.perSecond(atNs: clockNs)
            guard rate.frames > 0 || rate.bytes > 0 else { continue }
            text += " \(arrow) \(rate.frames) fr/s \(Format.bytes(rate.bytes))/s"
        }
        return text.isEmpty ? nil : " │" + text
    }

    /// `endpoint`: what the bar shows already (the address is not repeated).
    static func connectionLabel(_ stats: TimelineStats, endpoint: String = "") -> (String, Bool) {
        let states = stats.connectionOrder.compactMap { stats.connections[$0] }
        if let listening = stats.listening {
            let open = states.filter { $0 == .open }.count
            let clients = "\(open) of \(states.count) clients open"
            // The endpoint shows the address already when it is the listening URL.
            return (endpoint.hasSuffix(listening) ? clients : "listening \(Visible.text(listening)), \(clients)", false)
        }
        guard !states.isEmpty else { return ("idle", false) }
        if states.count == 1 {
            let state = states[0]
            switch state {
            case .closed(_, let clean): return (state.label, !clean)
            case .failed: return (state.label, true)
            default: return (state.label, false)
            }
        }
        let open = states.filter { $0 == .open }.count
        return ("\(open) open of \(states.count)", false)
    }

    // MARK: Timeline

    static let timeWidth = 9
    static let lengthWidth = 8

    static func drawTimeline(_ screen: inout Screen, state: UIState, theme: Theme) {
        let layout = state.layout
        let showConnection = state.stats.showsConnectionIDs
        screen.fill(y: layout.columnHeaderY, width: layout.width, style: theme[.columnHeader])
        screen.put(columnTitles(showConnection: showConnection), x: 0, y: layout.columnHeaderY, style: theme[.columnHeader])
        if state.rowCount == 0 {
            let text = state.filter != nil ? "  no rows match the filter (Esc clears it)" : "  waiting for events…"
            screen.put(text, x: 0, y: layout.timelineY, style: theme[.hint])
            return
        }
        for line in 0..<layout.timelineHeight {
            let row = state.topRow + line
            guard row < state.rowCount else { break }
            let y = layout.timelineY + line
            let entry = state.entry(ofRow: row)
            let selected = row == state.selectedRow
            let segments = timelineRow(entry, showConnection: showConnection, match: state.rowMatchesSearch(row))
            var x = 0
            if selected { screen.fill(y: y, width: layout.width, style: theme[.selected]) }
            for segment in segments where x < layout.width {
                x += screen.put(segment.text, x: x, y: y, style: theme[selected ? .selected : segment.role])
            }
        }
    }

    public static func columnTitles(showConnection: Bool) -> String {
        var text = " " + DisplayWidth.rightAligned("TIME", timeWidth) + " DIR "
        if showConnection { text += "CONN " }
        text += "OPCODE  FIN RSV MASK " + DisplayWidth.rightAligned("LENGTH", lengthWidth) + "  PAYLOAD"
        return text
    }

    /// One timeline row as styled segments: gutter (search match), time, direction, the
    /// connection when several, then opcode, FIN, RSV1-3, MASK, length and payload preview
    /// for frames, or the event's line for other events.
    public static func timelineRow(_ entry: TimelineEntry, showConnection: Bool, match: Bool = false) -> StyledLine {
        var segments: StyledLine = []
        segments.append(Segment(match ? "*" : " ", .match))
        segments.append(Segment(DisplayWidth.rightAligned(Format.time(entry.tNs), timeWidth) + " ", .row))
        let event = entry.event
        func connection() {
            guard showConnection else { return }
            let id = event.connectionID.map { "#\($0)" } ?? ""
            segments.append(Segment(DisplayWidth.fit(id, 5), .row))
        }
        switch event {
        case .frame(_, let direction, let header, let payload, _):
            let role: StyleRole = header.opcode.isControl ? .control : (header.opcode.isReserved ? .error : .row)
            segments.append(Segment(direction == .incoming ? " ←  " : " →  ", direction == .incoming ? .incoming : .outgoing))
            connection()
            segments.append(Segment(DisplayWidth.fit(header.opcode.name, 7) + " ", role))
            let rsv = (header.rsv1 ? "1" : "-") + (header.rsv2 ? "2" : "-") + (header.rsv3 ? "3" : "-")
            segments.append(Segment((header.fin ? "FIN " : "--- ") + rsv + " " + (header.masked ? "MASK " : "---- "),
                                    header.rsv != 0 ? .control : role))
            segments.append(Segment(DisplayWidth.rightAligned(String(header.length), lengthWidth) + "  ", role))
            segments.append(Segment(EventLine.preview(header, payload), role))
        case .message(_, let direction, let opcode, let payload):
            segments.append(Segment(direction == .incoming ? " ⇐  " : " ⇒  ", direction == .incoming ? .incoming : .outgoing))
            connection()
            segments.append(Segment(DisplayWidth.fit(opcode.name, 7) + " ", .event))
            segments.append(Segment(DisplayWidth.fit("message", 13), .event))
            segments.append(Segment(DisplayWidth.rightAligned(String(payload.count), lengthWidth) + "  ", .event))
            let header = Header(opcode: opcode, length: UInt64(payload.count))
            segments.append(Segment(EventLine.preview(header, payload), .row))
        case .rawSent(_, let wire):
            segments.append(Segment(" →  ", .outgoing))
            connection()
            segments.append(Segment(DisplayWidth.fit("raw", 7) + " " + DisplayWidth.fit("", 13), .control))
            segments.append(Segment(DisplayWidth.rightAligned(String(wire.count), lengthWidth) + "  ", .control))
            segments.append(Segment("hex:" + SafeText.hex(Array(wire.prefix(40))) + (wire.count > 40 ? "…" : ""), .control))
        default:
            let problem = Details.isProblem(event)
            segments.append(Segment(problem ? " !  " : " •  ", problem ? .error : .event))
            connection()
            segments.append(Segment(EventLine.format(event), problem ? .error : .event))
        }
        return segments
    }

    // MARK: Panes

    /// The pane titles on the tabs row, with their columns (for mouse clicks too).
    public static func tabs(layout: Layout, shown: DetailPane, focus: DetailPane?) -> [(pane: DetailPane, x: Int, width: Int, active: Bool)] {
        var result: [(pane: DetailPane, x: Int, width: Int, active: Bool)] = []
        if layout.split {
            result.append((.header, 0, DisplayWidth.of(tabLabel(.header, focus: focus)), true))
            var x = layout.rightPaneX
            for pane in [DetailPane.payload, .hex, .close] {
                let width = DisplayWidth.of(tabLabel(pane, focus: focus))
                result.append((pane, x, width, pane == shown))
                x += width + 1
            }
        } else {
            var x = 0
            for pane in DetailPane.allCases {
                let width = DisplayWidth.of(tabLabel(pane, focus: focus))
                result.append((pane, x, width, pane == shown))
                x += width + 1
            }
        }
        return result
    }

    static func tabLabel(_ pane: DetailPane, focus: DetailPane?) -> String {
        focus == pane ? "[\(pane.title)]" : " \(pane.title) "
    }

    static func drawPanes(_ screen: inout Screen, state: UIState, theme: Theme) {
        let layout = state.layout
        screen.fill(y: layout.tabsY, width: layout.width, style: theme[.tab])
        for tab in tabs(layout: layout, shown: state.shownPane, focus: state.focus) {
            screen.put(tabLabel(tab.pane, focus: state.focus), x: tab.x, y: layout.tabsY,
                       style: theme[tab.active ? (layout.split && tab.pane == .header ? .paneTitle : .tabActive) : .tab])
        }
        if layout.split {
            drawPane(&screen, state: state, pane: .header, x: 1, width: layout.leftPaneWidth - 1, theme: theme, showPosition: false)
            for y in layout.tabsY..<(layout.detailY + layout.detailHeight) {
                screen.put("│", x: layout.leftPaneWidth, y: y, style: theme[y == layout.tabsY ? .tab : .border])
            }
            drawPane(&screen, state: state, pane: state.shownPane, x: layout.rightPaneX + 1, width: layout.rightPaneWidth - 1, theme: theme, showPosition: true)
        } else {
            drawPane(&screen, state: state, pane: state.shownPane, x: 1, width: layout.width - 1, theme: theme, showPosition: true)
        }
    }

    static func drawPane(_ screen: inout Screen, state: UIState, pane: DetailPane, x: Int, width: Int, theme: Theme, showPosition: Bool) {
        let layout = state.layout
        let content = state.content(pane, width: width)
        let scroll = min(state.paneScroll[pane] ?? 0, max(0, content.lineCount - layout.detailHeight))
        for line in 0..<layout.detailHeight {
            let index = scroll + line
            guard index < content.lineCount else { break }
            var column = x
            for segment in content.line(index) where column < x + width {
                column += screen.put(segment.text, x: column, y: layout.detailY + line, style: theme[segment.role], limit: x + width - column)
            }
        }
        if showPosition && content.lineCount > layout.detailHeight {
            let last = min(content.lineCount, scroll + layout.detailHeight)
            let position = " \(scroll + 1)-\(last)/\(content.lineCount) "
            let positionWidth = DisplayWidth.of(position)
            screen.put(position, x: x + width - positionWidth, y: layout.tabsY, style: theme[.tab])
        }
    }

    // MARK: Bottom line

    static let hints = "? help  q quit  j/k move  Tab panes  / filter  s search  i send  m form  e resend  p ping  c close  r rec"
    static let formHints = "Enter sends the frames above  Esc closes the form  F1 (or ? off a text field) help"

    static func drawBottomLine(_ screen: inout Screen, state: UIState, theme: Theme) {
        let layout = state.layout
        let y = layout.bottomY
        screen.fill(y: y, width: layout.width, style: theme[.row])
        if state.prompt == .form {
            let x = screen.put(Prompt.form.label, x: 0, y: y, style: theme[.prompt])
            if let message = state.message {
                screen.put(message.text, x: x, y: y, style: theme[message.isError ? .messageError : .message], limit: layout.width - x)
            } else {
                screen.put(formHints, x: x, y: y, style: theme[.hint], limit: layout.width - x)
            }
            return
        }
        if let prompt = state.prompt {
            var label = prompt.label
            if prompt == .composer, state.stats.showsConnectionIDs, let id = state.targetConnectionForDisplay() {
                label = "send #\(id)> "
            }
            let x = screen.put(label, x: 0, y: y, style: theme[.prompt])
            var available = layout.width - x
            if let message = state.message {
                // What the last Enter did (sent, or why not) stays visible next to the input.
                let messageText = "  " + message.text + " "
                let messageWidth = min(DisplayWidth.of(messageText), max(0, available - 20))
                if messageWidth > 0 {
                    screen.put(messageText, x: layout.width - messageWidth, y: y,
                               style: theme[message.isError ? .messageError : .message], limit: messageWidth)
                    available -= messageWidth
                }
            }
            let (text, cursor) = state.editor.visible(width: available)
            screen.put(text, x: x, y: y, style: theme[.input], limit: available)
            screen.cursor = (x + cursor, y)
            return
        }
        if let message = state.message {
            screen.put(" " + message.text, x: 0, y: y, style: theme[message.isError ? .messageError : .message])
            return
        }
        screen.put(" " + hints, x: 0, y: y, style: theme[.hint])
    }

    // MARK: Help

    public static let helpLines: [(String, String)] = [
        ("j k ↓ ↑", "select the next / previous row"),
        ("PgDn PgUp", "a page down / up"),
        ("g G Home End", "first / last row (G follows the newest)"),
        ("f", "follow the newest row on / off"),
        ("Tab Shift-Tab", "focus the next pane (j/k then scroll it)"),
        ("1 2 3 4", "show Header, Payload, Hex, Close"),
        ("w", "Hex pane: payload or wire bytes"),
        ("/", "filter: dir:in op:ping fin rsv1 mask len>100"),
        ("", "conn:2 kind:error re:REGEX text, !term negates"),
        ("s  n  N", "search (same terms), next, previous match"),
        ("i  :", "compose: text, or a frame spec such as"),
        ("", "text:hi;rsv1=1  binary:hex:00ff  ping:x"),
        ("", "close:1000:bye  raw:8100  (↑ ↓ history)"),
        ("  Tab", "  edit the line in the composer form"),
        ("m", "composer form: every header field, one by one"),
        ("  Tab ↓  ↑", "  next / previous field (Shift-Tab too)"),
        ("  ← → Space", "  cycle opcode (reserved 0x3-7, 0xb-f too),"),
        ("", "  toggle FIN RSV1-3 MASK, cycle payload mode"),
        ("  0-9 a-f", "  opcode field: set the opcode by number"),
        ("  fields", "  mask key (hex, empty = random), length,"),
        ("", "  fragment size, payload as text, hex, @file"),
        ("  Enter", "  send the frames the spec lines show"),
        ("  ^P ^N", "  recall the last 100 sent frames (PgUp PgDn)"),
        ("  ^T", "  the form as a frame spec line"),
        ("  ^R  Esc", "  reset the form / close it (it is kept)"),
        ("e", "resend the selected frame as it was"),
        ("E", "load the selected frame into the form"),
        ("p", "send a ping"),
        ("c", "close the connection (asks for the code)"),
        ("l", "connection list (listen): pick the connection"),
        ("", "to show and to send to; Esc shows all again"),
        ("r", "recording on / off"),
        ("Esc", "close a prompt, leave a pane, clear search/filter"),
        ("q  Ctrl-C", "quit (q asks first while recording)"),
    ]

    /// Help lines that fit in the overlay; the rest scroll (j/k, PgDn/PgUp).
    static func helpRows(layout: Layout) -> Int {
        max(1, min(layout.height - 2, helpLines.count + 4) - 4)
    }

    static func drawHelp(_ screen: inout Screen, layout: Layout, scroll: Int, theme: Theme) {
        let keyWidth = 15
        let contentWidth = keyWidth + (helpLines.map { DisplayWidth.of($0.1) }.max() ?? 0)
        let boxWidth = min(layout.width - 2, contentWidth + 4)
        let boxHeight = min(layout.height - 2, helpLines.count + 4)
        let left = (layout.width - boxWidth) / 2
        let top = (layout.height - boxHeight) / 2
        let style = theme[.help]
        screen.fill(x: left, y: top, width: boxWidth, height: boxHeight, style: style)
        let horizontal = String(repeating: "─", count: boxWidth - 2)
        screen.put("┌" + horizontal + "┐", x: left, y: top, style: style)
        screen.put("└" + horizontal + "┘", x: left, y: top + boxHeight - 1, style: style)
        for y in (top + 1)..<(top + boxHeight - 1) {
            screen.put("│", x: left, y: y, style: style)
            screen.put("│", x: left + boxWidth - 1, y: y, style: style)
        }
        screen.put(" wscope keys ", x: left + 2, y: top, style: theme[.helpKey])
        let inner = boxWidth - 4
        let rows = helpRows(layout: layout)
        let first = min(scroll, max(0, helpLines.count - rows))
        for (index, (keys, text)) in helpLines.dropFirst(first).enumerated() {
            let y = top + 2 + index
            guard index < rows else { break }
            let used = screen.put(DisplayWidth.fit(keys, keyWidth), x: left + 2, y: y, style: theme[.helpKey], limit: inner)
            screen.put(text, x: left + 2 + used, y: y, style: style, limit: inner - used)
        }
        let more = first + rows < helpLines.count
        let footer = more ? " j/↓ PgDn more, any other key closes " : (first > 0 ? " k/↑ back, any other key closes " : " any key closes ")
        screen.put(footer, x: left + boxWidth - 2 - DisplayWidth.of(footer), y: top + boxHeight - 1, style: style)
    }
}

extension UIState {
    /// The composer's target for the prompt label (no error message when there is none).
    func targetConnectionForDisplay() -> Int? {
        if let pickedConnection { return stats.connections[pickedConnection]?.isOpen == true ? pickedConnection : nil }
        if let selected = selectedEntry?.event.connectionID, stats.connections[selected]?.isOpen == true { return selected }
        return stats.connectionOrder.last { stats.connections[$0]?.isOpen == true }
    }
}
