import Inspector
import WebSocket

/// What a key asks the outside world to do. The state never performs I/O itself; the
/// terminal app carries these out (and tests read them).
public enum UICommand: Equatable {
    case sendText(String, connection: Int?)
    case sendFrames([CraftedFrame], connection: Int?)
    case ping([UInt8], connection: Int?)
    case close(code: UInt16, reason: String, connection: Int?)
    case setRecording(Bool)
    case quit
}

/// The prompts of the bottom line.
public enum Prompt: Equatable, Sendable {
    case filter
    case search
    case composer
    /// The field-by-field composer (`m`, or Tab in the composer line).
    case form
    case close
    /// `q` while a recording is open.
    case confirmQuit

    var label: String {
        switch self {
        case .filter: return "filter: "
        case .search: return "search: "
        case .composer: return "send> "
        case .form: return "form> "
        case .close: return "close code [reason]: "
        case .confirmQuit: return "a recording is open: quit? (y/n) "
        }
    }
}

/// Fixed facts about the session the UI shows.
public struct UIConfig: Sendable {
    /// `demo`, `connect`, `listen`, `replay`...
    public var mode: String
    /// The URL or address shown in the status bar.
    public var endpoint: String
    /// The role frames typed in the composer are crafted for (clients mask).
    public var role: Role
    /// False for replays and other read-only timelines: sending keys say so.
    public var canSend: Bool
    public var recording: Bool
    /// The ping payload of the `p` key.
    public var pingPayload: [UInt8]

    public init(mode: String, endpoint: String, role: Role = .client, canSend: Bool = true, recording: Bool = false,
                pingPayload: [UInt8] = Array("wscope".utf8)) {
        self.mode = mode
        self.endpoint = endpoint
        self.role = role
        self.canSend = canSend
        self.recording = recording
        self.pingPayload = pingPayload
    }
}

/// Everything the screen shows, and how keys change it. Pure: no terminal, no sockets,
/// so it is driven directly by the tests. `sync()` takes in what the timeline source
/// gained since the last call.
public final class UIState {
    public let source: TimelineSource
    public let config: UIConfig
    public private(set) var stats = TimelineStats()
    /// Now, on the timeline's clock (nanoseconds since the session started), for the
    /// status bar's rates; nil (no rates shown) for a timeline that is not live.
    public var clockNs: UInt64?

    /// Traffic in the last second: the bar's rates are showing and must be redrawn as
    /// they change, even when no entry arrives.
    public var hasLiveRates: Bool {
        guard let clockNs else { return false }
        return stats.rateIn.perSecond(atNs: clockNs) != (0, 0) || stats.rateOut.perSecond(atNs: clockNs) != (0, 0)
    }

    // MARK: Size

    public private(set) var width: Int
    public private(set) var height: Int
    public var layout: Layout {
        Layout(width: width, height: height,
               connectionListHeight: ConnectionList.height(connections: stats.connectionOrder.count, terminalHeight: height))
    }

    // MARK: Rows and selection

    /// Entry indices of the rows that pass the filter; nil when there is no filter (every
    /// entry is a row), so that a million-frame timeline needs no index.
    public private(set) var filteredRows: [Int32]?
    /// Position of the selected row among the visible rows; nil when there are none.
    public private(set) var selectedRow: Int?
    /// The first row on screen.
    public private(set) var topRow = 0
    /// The selection sticks to the newest row as rows arrive.
    public private(set) var follow = true

    public private(set) var filter: Filter?
    public private(set) var search: Filter?

    // MARK: Panes

    public private(set) var focus: DetailPane?
    /// The pane shown alone (narrow layout) or on the right (wide layout, never `.header`).
    public private(set) var pane: DetailPane = .payload
    public private(set) var paneScroll: [DetailPane: Int] = [:]
    public private(set) var hexShowsWire = false

    // MARK: Overlays and input

    public private(set) var showsHelp = false
    public private(set) var prompt: Prompt?
    public private(set) var editor = LineEditor()
    /// Composer history, oldest first, at most `historyLimit`.
    public private(set) var history: [String] = []
    public static let historyLimit = 100
    private var historyIndex: Int?
    private var draft = ""
    public private(set) var message: (text: String, isError: Bool)?
    public private(set) var recording: Bool

    // MARK: Composer form

    /// The form keeps its fields between openings.
    public private(set) var form: ComposerForm
    /// What the form builds now (specs and frames, or what is wrong), refreshed on every
    /// key in the form so that the renderer only draws it.
    public private(set) var formBuild: ComposerForm.Build?
    /// The first line of the help overlay shown (it scrolls when the terminal is short).
    public private(set) var helpScroll = 0

    // MARK: Connection list (ConnectionList.swift)

    public internal(set) var connections = ConnectionTable()
    /// The connection picked in the list: only its rows show, and sending keys act on it.
    public internal(set) var pickedConnection: Int?
    public internal(set) var connectionListFocused = false
    /// The list entry under the cursor (0: all connections) and the first one on screen.
    public internal(set) var connectionListCursor = 0
    public internal(set) var connectionListTop = 0

    public init(source: TimelineSource, config: UIConfig, width: Int = 80, height: Int = 24) {
        self.source = source
        self.config = config
        self.width = width
        self.height = height
        recording = config.recording
        form = ComposerForm(role: config.role)
        sync()
    }

    // MARK: Timeline

    public var rowCount: Int { filteredRows?.count ?? stats.absorbed }

    public func entryIndex(ofRow row: Int) -> Int {
        if let filteredRows { return Int(filteredRows[row]) }
        return row
    }

    public func entry(ofRow row: Int) -> TimelineEntry {
        source.timelineEntry(at: entryIndex(ofRow: row))
    }

    public var selectedEntry: TimelineEntry? {
        selectedRow.map { entry(ofRow: $0) }
    }

    /// Takes in the entries added since the last call. Returns true when anything changed.
    @discardableResult
    public func sync() -> Bool {
        let count = source.timelineCount
        guard count > stats.absorbed else { return false }
        for index in stats.absorbed..<count {
            let entry = source.timelineEntry(at: index)
            stats.absorb(entry.event, tNs: entry.tNs)
            connections.absorb(entry.event)
            if filteredRows != nil, rowPasses(entry) { filteredRows?.append(Int32(index)) }
        }
        if rowCount > 0 {
            if follow || selectedRow == nil { selectedRow = rowCount - 1 }
        }
        keepSelectionVisible()
        return true
    }

    public func resize(width: Int, height: Int) {
        self.width = width
        self.height = height
        keepSelectionVisible()
    }

    // MARK: Keys

    /// Applies one key; returns what the outside world should do.
    @discardableResult
    public func handle(_ key: Key) -> [UICommand] {
        if key == .ctrl("c") { return [.quit] }
        // Esc followed quickly by a key arrives as one Alt sequence; outside the line
        // editor's Alt-b / Alt-f it means Esc, then the key.
        if case .alt(let character) = key, !(prompt != nil && (character == "b" || character == "f")) {
            return handle(.escape) + handle(.char(character))
        }
        if case .mouse(let event) = key { return handleMouse(event) }
        if showsHelp {
            let hidden = max(0, Renderer.helpLines.count - Renderer.helpRows(layout: layout))
            switch key {
            case .char("j"), .down: helpScroll = min(hidden, helpScroll + 1)
            case .char("k"), .up: helpScroll = max(0, helpScroll - 1)
            case .pageDown, .char(" "): helpScroll = min(hidden, helpScroll + max(1, Renderer.helpRows(layout: layout) - 1))
            case .pageUp: helpScroll = max(0, helpScroll - max(1, Renderer.helpRows(layout: layout) - 1))
            default: showsHelp = false
            }
            return []
        }
        if key == .function(1) {
            // F1 opens the help from anywhere, prompts and the form included.
            showsHelp = true
            helpScroll = 0
            return []
        }
        if prompt != nil { return handlePromptKey(key) }
        message = nil
        if layout.tooSmall {
            if key == .char("q") { return [.quit] }
            return []
        }
        if connectionListFocused, handleConnectionListKey(key) { return [] }
        if let focus, handlePaneKey(key, pane: focus) { return [] }
        switch key {
        case .char("q"):
            if recording {
                openPrompt(.confirmQuit, text: "")
                return []
            }
            return [.quit]
        case .char("?"), .function(1):
            showsHelp = true
            helpScroll = 0
        case .char("j"), .down: moveSelection(by: 1)
        case .char("k"), .up: moveSelection(by: -1)
        case .pageDown, .ctrl("f"), .char(" "): moveSelection(by: max(1, layout.timelineHeight - 1))
        case .pageUp, .ctrl("b"): moveSelection(by: -max(1, layout.timelineHeight - 1))
        case .char("g"), .home: select(row: 0)
        case .char("G"), .end:
            if rowCount > 0 { select(row: rowCount - 1) }
            follow = true
        case .char("f"):
            follow.toggle()
            if follow, rowCount > 0 { select(row: rowCount - 1) }
            message = (follow ? "follow: on (the newest frame stays selected)" : "follow: off", false)
        case .tab: cycleFocus(forward: true)
        case .backTab: cycleFocus(forward: false)
        case .char("1"): showPane(.header)
        case .char("2"): showPane(.payload)
        case .char("3"): showPane(.hex)
        case .char("4"): showPane(.close)
        case .char("w"):
            hexShowsWire.toggle()
            paneScroll[.hex] = 0
            message = (hexShowsWire ? "hex: wire bytes" : "hex: payload bytes", false)
        case .char("/"): openPrompt(.filter, text: filter?.text ?? "")
        case .char("s"): openPrompt(.search, text: search?.text ?? "")
        case .char("n"): searchNext(forward: true)
        case .char("N"): searchNext(forward: false)
        case .char("i"), .char(":"):
            guard requireSending() else { return [] }
            openPrompt(.composer, text: "")
        case .char("e"): return resendSelected()
        case .char("E"):
            guard requireSending() else { return [] }
            guard let loaded = selectedFrameForm() else {
                if let spec = selectedFrameSpec() {
                    // Raw bytes have no header fields for the form: edit them as a line.
                    openPrompt(.composer, text: spec)
                    message = ("raw bytes: edit them here, Enter sends", false)
                } else {
                    message = ("the selected row is not a frame", true)
                }
                return []
            }
            openForm(loaded)
            message = ("the selected frame is in the form: edit it, Enter sends", false)
        case .char("m"):
            guard requireSending() else { return [] }
            openForm(nil)
        case .char("p"):
            guard requireSending(), let connection = targetConnection() else { return [] }
            message = ("ping sent" + connectionSuffix(connection), false)
            return [.ping(config.pingPayload, connection: connection)]
        case .char("c"):
            guard requireSending(), targetConnection() != nil else { return [] }
            openPrompt(.close, text: "1000 ")
        case .char("l"):
            focus = nil
            focusConnectionList()
        case .char("r"):
            recording.toggle()
            message = (recording ? "recording on" : "recording off", false)
            return [.setRecording(recording)]
        case .escape:
            if focus != nil {
                focus = nil
            } else if search != nil {
                search = nil
                message = ("search cleared", false)
            } else if filter != nil {
                applyFilter(nil)
                message = ("filter cleared", false)
            } else if pickedConnection != nil {
                pickConnection(nil)
            }
        default:
            break
        }
        return []
    }

    private func requireSending() -> Bool {
        if !config.canSend { message = ("this timeline is read-only", true) }
        return config.canSend
    }

    // MARK: Selection

    public func select(row: Int) {
        guard rowCount > 0 else {
            selectedRow = nil
            return
        }
        let clamped = min(max(0, row), rowCount - 1)
        if clamped != selectedRow { paneScroll = [:] }
        selectedRow = clamped
        follow = clamped == rowCount - 1 && follow
        keepSelectionVisible()
    }

    private func moveSelection(by delta: Int) {
        guard rowCount > 0 else { return }
        let current = selectedRow ?? (delta > 0 ? -1 : rowCount)
        if delta < 0 { follow = false }
        select(row: current + delta)
        if delta > 0 && selectedRow == rowCount - 1 && current == rowCount - 1 { follow = true }
    }

    func keepSelectionVisible() {
        let visible = max(1, layout.timelineHeight)
        if let selectedRow {
            if selectedRow < topRow { topRow = selectedRow }
            if selectedRow >= topRow + visible { topRow = selectedRow - visible + 1 }
        }
        topRow = max(0, min(topRow, rowCount - visible))
    }

    // MARK: Panes

    private func showPane(_ pane: DetailPane) {
        if pane == .header {
            if !layout.split { self.pane = .header }
        } else {
            self.pane = pane
        }
        if focus != nil { focus = pane }
    }

    /// Timeline → Header → Payload → Hex → Close → timeline.
    private func cycleFocus(forward: Bool) {
        let order: [DetailPane?] = [nil, .header, .payload, .hex, .close]
        let index = order.firstIndex { $0 == focus } ?? 0
        let next = order[(index + (forward ? 1 : order.count - 1)) % order.count]
        focus = next
        if let next { showPane(next) }
    }

    /// The pane currently shown in the single pane (narrow) or the right pane (wide).
    public var shownPane: DetailPane {
        if layout.split { return pane == .header ? .payload : pane }
        return pane
    }

    private func handlePaneKey(_ key: Key, pane: DetailPane) -> Bool {
        let page = max(1, layout.detailHeight - 1)
        switch key {
        case .char("j"), .down: scrollPane(pane, by: 1)
        case .char("k"), .up: scrollPane(pane, by: -1)
        case .pageDown, .char(" "): scrollPane(pane, by: page)
        case .pageUp: scrollPane(pane, by: -page)
        case .char("g"), .home: paneScroll[pane] = 0
        case .char("G"), .end: scrollPane(pane, by: Int.max / 2)
        default: return false
        }
        return true
    }

    func scrollPane(_ pane: DetailPane, by delta: Int) {
        let lines = content(pane, width: paneWidth(pane)).lineCount
        let visible = max(1, layout.detailHeight)
        let maximum = max(0, lines - visible)
        paneScroll[pane] = max(0, min(maximum, (paneScroll[pane] ?? 0) + delta))
    }

    public func paneWidth(_ pane: DetailPane) -> Int {
        let layout = self.layout
        // One column of padding on the left of each pane.
        if layout.split { return pane == .header ? layout.leftPaneWidth - 1 : layout.rightPaneWidth - 1 }
        return layout.width - 1
    }

    private var contentCache: (entry: Int, pane: DetailPane, width: Int, wire: Bool, content: PaneContent)?

    /// The content of a pane for the selected entry (cached while nothing changes).
    public func content(_ pane: DetailPane, width: Int) -> PaneContent {
        let selectedIndex = selectedRow.map { self.entryIndex(ofRow: $0) } ?? -1
        if let cache = contentCache, cache.entry == selectedIndex, cache.pane == pane, cache.width == width, cache.wire == hexShowsWire {
            return cache.content
        }
        var message: TimelineEntry?
        if pane == .payload, selectedIndex >= 0 { message = inflatedMessage(ofFrameAt: selectedIndex) }
        let content = Details.content(pane, entry: selectedEntry, width: width, hexShowsWire: hexShowsWire, message: message)
        // A compressed frame whose message has not arrived yet (its last fragment is still
        // on the way) is looked at again on the next draw.
        if message == nil, pane == .payload, let entry = selectedEntry, case .frame(_, _, let header, _, _) = entry.event, header.rsv1 {
            contentCache = nil
        } else {
            contentCache = (selectedIndex, pane, width, hexShowsWire, content)
        }
        return content
    }

    /// How far `inflatedMessage` looks for the message of a compressed frame (a message
    /// split into more fragments than this shows no decompressed view). Bounded because a
    /// frame whose message has not arrived is looked up again on every redraw.
    static let messageSearchLimit = 20_000

    /// The `.message` entry that a compressed (RSV1) first frame of a message belongs to:
    /// same connection and direction, with no other message's first frame in between. An
    /// incoming message is recorded when its last frame arrived (after the frame); an
    /// outgoing one when it was handed to the connection (before its frames).
    func inflatedMessage(ofFrameAt index: Int) -> TimelineEntry? {
        guard index < stats.absorbed,
              case .frame(let id, let direction, let header, _, _) = source.timelineEntry(at: index).event,
              header.rsv1, header.opcode.isData, header.opcode != .continuation else { return nil }
        let forward = direction == .incoming
        var position = index
        for _ in 0..<Self.messageSearchLimit {
            position += forward ? 1 : -1
            guard position >= 0, position < stats.absorbed else { return nil }
            let entry = source.timelineEntry(at: position)
            switch entry.event {
            case .message(id, direction, _, _):
                return entry
            case .frame(id, direction, let other, _, _) where other.opcode.isData && other.opcode != .continuation:
                // Another message's first frame: this frame's message was not recorded.
                return nil
            default:
                continue
            }
        }
        return nil
    }

    // MARK: Mouse

    private func handleMouse(_ event: MouseEvent) -> [UICommand] {
        let layout = self.layout
        if showsHelp {
            if case .press = event.kind { showsHelp = false }
            return []
        }
        guard !layout.tooSmall else { return [] }
        if handleConnectionListMouse(event) { return [] }
        let inTimeline = event.y >= layout.timelineY && event.y < layout.timelineY + layout.timelineHeight
        let inDetail = event.y >= layout.detailY && event.y < layout.detailY + layout.detailHeight
        let detailPane: DetailPane = layout.split && event.x < layout.leftPaneWidth ? .header : shownPane
        switch event.kind {
        case .wheelUp, .wheelDown:
            let delta = event.kind == .wheelUp ? -3 : 3
            if inTimeline { moveSelection(by: delta) } else if inDetail { scrollPane(detailPane, by: delta) }
        case .press(button: 0):
            if inTimeline {
                let row = topRow + event.y - layout.timelineY
                focus = nil
                if row < rowCount {
                    follow = false
                    select(row: row)
                }
            } else if event.y == layout.tabsY {
                if let tab = Renderer.tabs(layout: layout, shown: shownPane, focus: focus).first(where: { event.x >= $0.x && event.x < $0.x + $0.width }) {
                    showPane(tab.pane)
                    focus = tab.pane
                }
            } else if inDetail {
                focus = detailPane
            }
        default:
            break
        }
        return []
    }

    // MARK: Prompts

    private func openPrompt(_ prompt: Prompt, text: String) {
        self.prompt = prompt
        editor = LineEditor(text)
        historyIndex = nil
        draft = ""
        message = nil
    }

    private func closePrompt() {
        prompt = nil
        editor = LineEditor()
        historyIndex = nil
    }

    private func handlePromptKey(_ key: Key) -> [UICommand] {
        guard let prompt else { return [] }
        if prompt == .form { return handleFormKey(key) }
        if prompt == .confirmQuit {
            closePrompt()
            if key == .char("y") || key == .char("Y") { return [.quit] }
            message = ("not quitting", false)
            return []
        }
        switch key {
        case .escape:
            closePrompt()
            return []
        case .enter:
            return submit(prompt)
        case .up where prompt == .composer:
            recallHistory(older: true)
            return []
        case .down where prompt == .composer:
            recallHistory(older: false)
            return []
        case .tab where prompt == .composer:
            switchToForm()
            return []
        default:
            if editor.handle(key) { message = nil }
            return []
        }
    }

    private func recallHistory(older: Bool) {
        guard !history.isEmpty else { return }
        if older {
            if historyIndex == nil {
                draft = editor.text
                historyIndex = history.count - 1
            } else if historyIndex! > 0 {
                historyIndex! -= 1
            }
            editor.set(history[historyIndex!])
        } else {
            guard let index = historyIndex else { return }
            if index + 1 < history.count {
                historyIndex = index + 1
                editor.set(history[index + 1])
            } else {
                historyIndex = nil
                editor.set(draft)
            }
        }
    }

    private func remember(_ line: String) {
        if history.last != line { history.append(line) }
        if history.count > UIState.historyLimit { history.removeFirst(history.count - UIState.historyLimit) }
        historyIndex = nil
        draft = ""
    }

    private func submit(_ prompt: Prompt) -> [UICommand] {
        let text = editor.text
        switch prompt {
        case .filter:
            if text.trimmingTrailingSpaces.isEmpty {
                applyFilter(nil)
                closePrompt()
                message = ("filter cleared", false)
                return []
            }
            do {
                let parsed = try Filter.parse(text)
                applyFilter(parsed)
                closePrompt()
                message = ("filter: \(rowCount) of \(stats.absorbed) rows", false)
            } catch {
                message = (error.message, true)
            }
        case .search:
            if text.trimmingTrailingSpaces.isEmpty {
                search = nil
                closePrompt()
                return []
            }
            do {
                search = try Filter.parse(text)
                closePrompt()
                searchNext(forward: true, includingCurrent: true)
            } catch {
                message = (error.message, true)
            }
        case .composer:
            if text.isEmpty {
                closePrompt()
                return []
            }
            guard let connection = targetConnection() else { return [] }
            switch Composer.interpret(text, role: config.role) {
            case .text(let message):
                remember(text)
                editor = LineEditor()
                self.message = ("sent text, \(message.utf8.count) bytes" + connectionSuffix(connection), false)
                follow = true
                return [.sendText(message, connection: connection)]
            case .frames(let frames):
                remember(text)
                editor = LineEditor()
                message = ("sent \(Composer.describe(frames))" + connectionSuffix(connection), false)
                follow = true
                return [.sendFrames(frames, connection: connection)]
            case .failure(let error):
                message = (error, true)
            }
        case .form, .confirmQuit:
            break
        case .close:
            let parts = text.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            var code: UInt16 = 1000
            if let first = parts.first {
                guard let value = UInt16(first) else {
                    message = ("close code must be a number 0-65535, got '\(Visible.text(first))'", true)
                    return []
                }
                code = value
            }
            let reason = parts.count > 1 ? String(parts[1]) : ""
            guard let connection = targetConnection() else { return [] }
            closePrompt()
            message = ("closing with \(code)" + connectionSuffix(connection), false)
            follow = true
            return [.close(code: code, reason: reason, connection: connection)]
        }
        return []
    }

    /// The connection a key sends on: the one picked in the connection list, else the
    /// selected row's when it is open, else the newest open one. Sets an error message and
    /// returns nil when that one is not open.
    func targetConnection() -> Int? {
        if let pickedConnection {
            if stats.connections[pickedConnection]?.isOpen == true { return pickedConnection }
            message = ("#\(pickedConnection) is \(stats.connections[pickedConnection]?.label ?? "gone"): Esc shows every connection", true)
            return nil
        }
        if let selected = selectedEntry?.event.connectionID, stats.connections[selected]?.isOpen == true {
            return selected
        }
        if let newest = stats.connectionOrder.last(where: { stats.connections[$0]?.isOpen == true }) {
            return newest
        }
        message = ("not connected: no open connection", true)
        return nil
    }

    private func connectionSuffix(_ id: Int) -> String {
        stats.showsConnectionIDs ? " on #\(id)" : ""
    }

    // MARK: Filter and search

    func applyFilter(_ newFilter: Filter?) {
        let selectedEntryIndex = selectedRow.map { entryIndex(ofRow: $0) }
        filter = newFilter?.isEmpty == true ? nil : newFilter
        if filter != nil || pickedConnection != nil {
            // rowPasses, on the events in place (a million entries take well under 100 ms).
            let picked = pickedConnection, filter = filter
            filteredRows = source.entryIndices(in: 0..<stats.absorbed) { event in
                if let picked, event.connectionID != picked { return false }
                return filter?.matches(event: event) ?? true
            }
        } else {
            filteredRows = nil
        }
        paneScroll = [:]
        guard rowCount > 0 else {
            selectedRow = nil
            topRow = 0
            return
        }
        if follow {
            selectedRow = rowCount - 1
        } else if let selectedEntryIndex {
            selectedRow = nearestRow(toEntry: selectedEntryIndex)
        } else {
            selectedRow = 0
        }
        keepSelectionVisible()
    }

    /// The row showing `entry`, or the last row before it (the first row if none).
    private func nearestRow(toEntry entry: Int) -> Int {
        guard let filteredRows else { return min(entry, rowCount - 1) }
        var low = 0, high = filteredRows.count
        while low < high {
            let middle = (low + high) / 2
            if Int(filteredRows[middle]) <= entry { low = middle + 1 } else { high = middle }
        }
        return max(0, low - 1)
    }

    public func rowMatchesSearch(_ row: Int) -> Bool {
        guard let search else { return false }
        return search.matches(entry(ofRow: row))
    }

    private func searchNext(forward: Bool, includingCurrent: Bool = false) {
        guard let search else {
            message = ("no search: press s to search", true)
            return
        }
        guard rowCount > 0 else { return }
        let start = selectedRow ?? 0
        for step in (includingCurrent ? 0 : 1)...rowCount {
            let row = forward ? (start + step) % rowCount : (start - step % rowCount + rowCount) % rowCount
            if search.matches(entry(ofRow: row)) {
                follow = false
                select(row: row)
                message = ("match: row \(row + 1) of \(rowCount)", false)
                return
            }
        }
        message = ("no match for '\(Visible.text(search.text))'", true)
    }

    // MARK: Resending

    /// The selected frame as a frame spec for our role (an incoming frame is masked the
    /// way we must mask; everything else about its header is kept).
    public func selectedFrameSpec() -> String? {
        guard let entry = selectedEntry else { return nil }
        switch entry.event {
        case .frame(_, let direction, var header, let payload, let wire):
            if direction == .incoming { header.masked = config.role.masksOutgoing }
            return FrameSpec.render(header: header, payload: payload, role: config.role,
                                    lengthEncoding: FrameSpec.lengthEncoding(ofWire: wire))
        case .message(_, _, let opcode, let payload):
            let header = Header(opcode: opcode, masked: config.role.masksOutgoing, length: UInt64(payload.count))
            return FrameSpec.render(header: header, payload: payload, role: config.role)
        case .rawSent(_, let wire):
            return "raw:" + SafeText.hex(wire)
        default:
            return nil
        }
    }

    private func resendSelected() -> [UICommand] {
        guard requireSending() else { return [] }
        guard let spec = selectedFrameSpec() else {
            message = ("the selected row is not a frame", true)
            return []
        }
        guard let connection = targetConnection() else { return [] }
        do {
            let frame = try FrameSpec.parse(spec, role: config.role, readFile: ComposerForm.readFile)
            remember(spec)
            follow = true
            message = ("resent: \(Visible.text(spec.count > 60 ? String(spec.prefix(59)) + "…" : spec))" + connectionSuffix(connection), false)
            return [.sendFrames([frame], connection: connection)]
        } catch {
            message = ("cannot resend: \(error.message)", true)
            return []
        }
    }

    // MARK: Composer form

    private func openForm(_ loaded: ComposerForm?) {
        openPrompt(.form, text: "")
        if let loaded { form = loaded }
        refreshFormBuild()
    }

    /// Tab in the composer line: the line (a spec or text) goes into the form; an empty
    /// line opens the form as it was left.
    private func switchToForm() {
        let line = editor.text
        if line.isEmpty {
            openForm(nil)
            return
        }
        switch ComposerForm.load(line: line, role: config.role) {
        case .success(let loaded):
            openForm(loaded)
        case .failure(let error):
            message = ("cannot edit in the form: \(error.message)", true)
        }
    }

    /// The selected frame, loaded into a form for our role (an incoming frame is masked
    /// the way we must mask; everything else about its header is kept).
    public func selectedFrameForm() -> ComposerForm? {
        guard let entry = selectedEntry else { return nil }
        switch entry.event {
        case .frame(_, let direction, var header, let payload, _):
            if direction == .incoming { header.masked = config.role.masksOutgoing }
            // The timeline does not say whether a key was chosen or random: a resend
            // gets a fresh one unless the user types a key.
            var form = ComposerForm(header: header, payload: payload, maskKeyIsRandom: true, role: config.role)
            form.focus = .opcode
            return form
        case .message(_, _, let opcode, let payload):
            let header = Header(opcode: opcode, masked: config.role.masksOutgoing, length: UInt64(payload.count))
            return ComposerForm(header: header, payload: payload, maskKeyIsRandom: true, role: config.role)
        default:
            return nil
        }
    }

    private func refreshFormBuild() {
        formBuild = form.build(role: config.role)
    }

    private func handleFormKey(_ key: Key) -> [UICommand] {
        switch key {
        case .escape:
            closePrompt()
            formBuild = nil
            return []
        case .enter:
            return sendForm()
        case .ctrl("t"):
            switch formBuild {
            case .frames(let specs, _) where specs.count == 1:
                let spec = specs[0]
                openPrompt(.composer, text: spec)
                message = ("the form as a frame spec: edit it, Enter sends, Tab goes back", false)
            case .frames(let specs, _):
                message = ("\(specs.count) fragments are \(specs.count) specs: clear the fragment size first", true)
            case .failure(_, let error):
                message = (error, true)
            case nil:
                break
            }
            return []
        case .ctrl("p"), .pageUp:
            recallIntoForm(older: true)
            return []
        case .ctrl("n"), .pageDown:
            recallIntoForm(older: false)
            return []
        case .char("?") where !form.focus.isText:
            showsHelp = true
            helpScroll = 0
            return []
        case .ctrl("r"):
            form = ComposerForm(role: config.role)
            historyIndex = nil
            message = ("form reset", false)
        default:
            guard form.handle(key) else { return [] }
            message = nil
        }
        refreshFormBuild()
        return []
    }

    /// Ctrl-P / Ctrl-N in the form: the frames sent before, newest first, loaded into the
    /// form (a line that was plain text becomes a text payload).
    private func recallIntoForm(older: Bool) {
        guard !history.isEmpty else {
            message = ("nothing sent yet", true)
            return
        }
        var index: Int
        if let current = historyIndex {
            index = current + (older ? -1 : 1)
        } else {
            guard older else { return }
            index = history.count - 1
        }
        index = max(0, index)
        guard index < history.count else {
            historyIndex = nil
            message = ("newest: back to the last form", false)
            return
        }
        historyIndex = index
        switch ComposerForm.load(line: history[index], role: config.role) {
        case .success(var loaded):
            loaded.focus = form.focus
            form = loaded
            message = ("sent \(history.count - index) ago: " + Visible.text(history[index]), false)
        case .failure(let error):
            message = ("cannot edit '\(Visible.text(history[index]))' in the form: \(error.message)", true)
        }
    }

    private func sendForm() -> [UICommand] {
        refreshFormBuild()
        switch formBuild {
        case .frames(let specs, _):
            guard let connection = targetConnection() else { return [] }
            // Built again for sending, so that random mask keys are fresh for every send.
            guard case .frames(_, let frames) = form.build(role: config.role) else { return [] }
            for spec in specs { remember(spec) }
            follow = true
            let what = frames.count == 1 ? Composer.describe(frames) : "\(frames.count) fragments, \(frames.reduce(0) { $0 + $1.payload.count }) bytes"
            message = ("sent \(what)" + connectionSuffix(connection), false)
            return [.sendFrames(frames, connection: connection)]
        case .failure(_, let error):
            message = (error, true)
            return []
        case nil:
            return []
        }
    }

    // MARK: Outside changes

    /// Sets the recording flag from outside (a recording that failed, for instance).
    public func setRecording(_ on: Bool) {
        recording = on
    }

    public func showMessage(_ text: String, isError: Bool = false) {
        message = (text, isError)
    }
}

/// The composer's reading of a line: a frame spec, or plain text for a text message.
public enum Composer {
    public enum Interpretation: Equatable {
        case text(String)
        case frames([CraftedFrame])
        case failure(String)
    }

    /// A line is a frame spec when it starts with a frame kind followed by `:`, `;` or
    /// nothing (`text:hi`, `ping`, `close:1000:bye`, `binary:hex:00ff;rsv1=1`); anything
    /// else is sent as a text message as typed (`text:ping` sends the word "ping").
    public static func interpret(_ line: String, role: Role) -> Interpretation {
        let kind = line.prefix { $0 != ":" && $0 != ";" }.lowercased()
        guard isKind(kind) else { return .text(line) }
        do {
            return .frames([try FrameSpec.parse(line, role: role, readFile: ComposerForm.readFile)])
        } catch {
            return .failure("frame spec: \(error.message) (column \(error.column))")
        }
    }

    static func isKind(_ word: String) -> Bool {
        if ["text", "binary", "bin", "ping", "pong", "close", "cont", "continuation", "raw"].contains(word) { return true }
        guard word.hasPrefix("op"), word.count > 2 else { return false }
        var digits = word.dropFirst(2)
        if digits.hasPrefix("0x") { return UInt8(digits.dropFirst(2), radix: 16).map { $0 <= 15 } ?? false }
        if digits.count == 1 { return UInt8(digits, radix: 16) != nil }
        digits = digits.drop { $0 == "0" }
        return UInt8(digits).map { $0 <= 15 } ?? false
    }

    static func describe(_ frames: [CraftedFrame]) -> String {
        guard let frame = frames.first else { return "nothing" }
        if let header = frame.header {
            var text = "\(header.opcode.name) frame, \(frame.payload.count) bytes"
            if frame.repeatCount > 1 { text += " ×\(frame.repeatCount)" }
            return text
        }
        return "\(frame.wire.count) raw bytes"
    }
}
