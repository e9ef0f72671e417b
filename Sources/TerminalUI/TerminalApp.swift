import Glibc
import Inspector
import WebSocket
import WebSocketTransport

/// What the UI's sending keys act on. `connection` is the connection the user targets
/// (the selected row's when open, else the newest open one); a single-connection
/// endpoint may ignore it.
public protocol TerminalControls: AnyObject {
    func sendText(_ text: String, connection: Int?)
    func sendCrafted(_ frames: [CraftedFrame], connection: Int?)
    func ping(_ payload: [UInt8], connection: Int?)
    func close(code: CloseCode, reason: String, connection: Int?)
}

extension ClientEndpoint: TerminalControls {
    public func sendText(_ text: String, connection: Int?) { sendText(text) }
    public func sendCrafted(_ frames: [CraftedFrame], connection: Int?) { sendCrafted(frames, done: {}) }
    public func ping(_ payload: [UInt8], connection: Int?) { ping(payload) }
    public func close(code: CloseCode, reason: String, connection: Int?) { close(code: code, reason: reason) }
}

/// What turning recording on or off did, for the status bar and the message line.
public struct RecordingChange: Sendable, Equatable {
    public var isOn: Bool
    public var message: String
    public var isError: Bool

    public init(isOn: Bool, message: String, isError: Bool = false) {
        self.isOn = isOn
        self.message = message
        self.isError = isError
    }
}

/// The terminal UI on an event loop: reads keys when stdin is readable, redraws on a timer
/// (at most ~30 times a second) when the timeline or the state changed, follows the
/// terminal's size (SIGWINCH) and gives the terminal back on quit, Ctrl-C, SIGTERM,
/// SIGHUP, and (as far as possible) on a crash.
///
/// Typical use (what `wscope demo` does):
///
///     let session = Session()
///     let client = ClientEndpoint(loop: loop, url: url, options: options, report: session.record)
///     client.start()
///     try TerminalApp.run(loop: loop, session: session, client: client,
///                         options: .init(config: UIConfig(mode: "connect", endpoint: url.description)))
///
/// Do not add sinks that print to stdout while the UI is up.
public final class TerminalApp {
    public struct Options {
        public var config: UIConfig
        /// The theme as chosen (`Theme.load`); adapted to the terminal's colours.
        public var theme: Theme
        /// The user picked the theme: with NO_COLOR its attributes are kept instead of
        /// switching to the monochrome theme.
        public var themeIsExplicit: Bool
        /// Called when the user toggles recording with `r`: starts or stops it and says
        /// what happened (a recording that could not start stays off).
        public var onRecordingChange: ((Bool) -> RecordingChange)?
        /// Called when the user quits, after the terminal was given back. Nil: `run`
        /// closes open connections (1001) and stops the loop shortly after.
        public var onQuit: (() -> Void)?
        /// Largest redraw rate.
        public var framesPerSecond: Int

        public init(config: UIConfig, theme: Theme = .standard, themeIsExplicit: Bool = false,
                    onRecordingChange: ((Bool) -> RecordingChange)? = nil, onQuit: (() -> Void)? = nil, framesPerSecond: Int = 30) {
            self.config = config
            self.theme = theme
            self.themeIsExplicit = themeIsExplicit
            self.onRecordingChange = onRecordingChange
            self.onQuit = onQuit
            self.framesPerSecond = framesPerSecond
        }
    }

    public let loop: EventLoop
    public let state: UIState
    private let controls: TerminalControls?
    private var options: Options
    private var theme: Theme
    private var terminal: CursesTerminal?
    private var decoder = KeyDecoder()
    private var watch: Watch?
    private var redrawTimer: TimerID?
    private var escapeTimer: TimerID?
    private var lastDraw: UInt64 = 0
    private var quitting = false
    private var readBuffer = [UInt8](repeating: 0, count: 4096)
    /// The session's t = 0 on the monotonic clock, for the status bar's rates; nil for a
    /// timeline that is not live (a replayed recording has no "now").
    private var clockStart: UInt64?
    /// Redraws while the rates are nonzero, so that they fall to zero when traffic stops.
    private var rateTimer: TimerID?

    /// A UI over any timeline; call `timelineDidChange()` when it grows (a `Session` is
    /// watched automatically by the other initializer).
    public init(loop: EventLoop, timeline: TimelineSource, controls: TerminalControls?, options: Options) {
        self.loop = loop
        self.controls = controls
        self.options = options
        var config = options.config
        if controls == nil { config.canSend = false }
        state = UIState(source: timeline, config: config)
        theme = options.theme
    }

    public convenience init(loop: EventLoop, session: Session, controls: TerminalControls?, options: Options) {
        self.init(loop: loop, timeline: session, controls: controls, options: options)
        clockStart = session.startMonotonicNanoseconds
        session.addSink { [weak self] _ in self?.timelineDidChange() }
    }

    /// Takes over the terminal and starts watching stdin and the signals.
    public func start() throws(TerminalError) {
        let noColor = getenv("NO_COLOR").map { $0.pointee != 0 } ?? false
        let terminal = try CursesTerminal(colors: !noColor)
        self.terminal = terminal
        switch terminal.colorMode {
        case .none:
            theme = (options.themeIsExplicit ? options.theme : Theme.monochrome).withoutColors
        case .basic8:
            theme = options.theme.basicColors
        case .palette256:
            theme = options.theme
        }
        do {
            watch = try loop.watchReadable(fd: 0) { [unowned self] in self.readInput() }
            try loop.onSignals([SIGWINCH, SIGINT, SIGTERM, SIGHUP]) { [weak self] number in
                guard let self else { return }
                if number == SIGWINCH {
                    self.resize()
                } else {
                    self.quit()
                }
            }
        } catch {
            stop()
            throw TerminalError("\(error)")
        }
        resize()
    }

    /// Gives the terminal back (idempotent). The loop keeps running.
    public func stop() {
        if let watch { loop.unwatch(watch) }
        watch = nil
        if let redrawTimer { loop.cancel(redrawTimer) }
        redrawTimer = nil
        if let escapeTimer { loop.cancel(escapeTimer) }
        escapeTimer = nil
        if let rateTimer { loop.cancel(rateTimer) }
        rateTimer = nil
        terminal?.end()
        terminal = nil
    }

    public var isActive: Bool { terminal?.active == true }

    /// The timeline grew or something outside changed: redraw soon.
    public func timelineDidChange() {
        setNeedsRedraw()
    }

    /// Shows a line in the message area (for the embedding command).
    public func showMessage(_ text: String, isError: Bool = false) {
        state.showMessage(text, isError: isError)
        setNeedsRedraw()
    }

    // MARK: Input

    private func readInput() {
        let count = readBuffer.withUnsafeMutableBytes { Glibc.read(0, $0.baseAddress, $0.count) }
        if count < 0 {
            if errno == EINTR || errno == EAGAIN { return }
            quit()
            return
        }
        if count == 0 {
            // The terminal went away.
            quit()
            return
        }
        let keys = decoder.feed(readBuffer[0..<count])
        handle(keys)
        if decoder.hasPending {
            if let escapeTimer { loop.cancel(escapeTimer) }
            escapeTimer = loop.schedule(after: .milliseconds(30)) { [weak self] in
                guard let self else { return }
                self.escapeTimer = nil
                self.handle(self.decoder.flush())
            }
        }
    }

    private func handle(_ keys: [Key]) {
        for key in keys {
            for command in state.handle(key) { execute(command) }
            if quitting { return }
        }
        setNeedsRedraw()
    }

    private func execute(_ command: UICommand) {
        switch command {
        case .sendText(let text, let connection):
            controls?.sendText(text, connection: connection)
        case .sendFrames(let frames, let connection):
            controls?.sendCrafted(frames, connection: connection)
        case .ping(let payload, let connection):
            controls?.ping(payload, connection: connection)
        case .close(let code, let reason, let connection):
            controls?.close(code: CloseCode(code), reason: reason, connection: connection)
        case .setRecording(let on):
            if let onRecordingChange = options.onRecordingChange {
                let change = onRecordingChange(on)
                state.setRecording(change.isOn)
                state.showMessage(change.message, isError: change.isError)
            } else {
                state.showMessage(on ? "recording on (no --record file: nothing is written)" : "recording off")
            }
        case .quit:
            quit()
        }
    }

    private func quit() {
        guard !quitting else {
            // A second Ctrl-C or SIGTERM: stop now.
            loop.stop()
            return
        }
        quitting = true
        stop()
        if let onQuit = options.onQuit {
            onQuit()
            return
        }
        let open = state.stats.openConnections
        if let controls, !open.isEmpty {
            for id in open { controls.close(code: .goingAway, reason: "wscope quit", connection: id) }
            loop.schedule(after: .milliseconds(300)) { [loop] in loop.stop() }
        } else {
            loop.stop()
        }
    }

    // MARK: Drawing

    private func resize() {
        guard let terminal else { return }
        let size = terminal.updateSize()
        state.resize(width: size.width, height: size.height)
        draw()
    }

    private func setNeedsRedraw() {
        guard terminal != nil, redrawTimer == nil else { return }
        let interval = UInt64(1_000_000_000 / max(1, options.framesPerSecond))
        let now = TerminalApp.now()
        let elapsed = now &- lastDraw
        let delay = elapsed >= interval ? 0 : interval - elapsed
        redrawTimer = loop.schedule(after: .nanoseconds(Int64(delay))) { [weak self] in
            guard let self else { return }
            self.redrawTimer = nil
            self.draw()
        }
    }

    private func draw() {
        guard let terminal, terminal.active else { return }
        state.sync()
        if let clockStart {
            let now = RecordingClock.monotonicNanoseconds()
            state.clockNs = now >= clockStart ? now - clockStart : 0
        }
        let screen = Renderer.render(state, theme: theme)
        terminal.paint(screen)
        lastDraw = TerminalApp.now()
        if state.hasLiveRates, rateTimer == nil {
            rateTimer = loop.schedule(after: .milliseconds(250)) { [weak self] in
                guard let self else { return }
                self.rateTimer = nil
                self.setNeedsRedraw()
            }
        }
    }

    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    // MARK: One call

    /// Runs the UI over a client connection until the user quits: takes over the terminal,
    /// runs the loop, gives the terminal back. Throws when the terminal cannot be used
    /// (not a TTY, unknown TERM) before anything is drawn.
    public static func run(loop: EventLoop, session: Session, client: ClientEndpoint?, options: Options) throws(TerminalError) {
        try run(loop: loop, session: session, controls: client, options: options)
    }

    /// The same for any sender (a listening server wraps its connections in one).
    public static func run(loop: EventLoop, session: Session, controls: TerminalControls?, options: Options) throws(TerminalError) {
        try run(TerminalApp(loop: loop, session: session, controls: controls, options: options))
    }

    /// The same over a timeline that is not a live session (a recording for `replay`);
    /// without controls the sending keys say the timeline is read-only.
    public static func run(loop: EventLoop, timeline: TimelineSource, controls: TerminalControls?, options: Options) throws(TerminalError) {
        try run(TerminalApp(loop: loop, timeline: timeline, controls: controls, options: options))
    }

    private static func run(_ app: TerminalApp) throws(TerminalError) {
        let loop = app.loop
        try app.start()
        defer { app.stop() }
        do {
            try loop.run()
        } catch {
            app.stop()
            throw TerminalError("\(error)")
        }
    }
}
