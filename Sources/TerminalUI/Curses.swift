import CNCurses
import Glibc

/// Why the terminal UI could not start.
public struct TerminalError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The ncurses side: owns the terminal between `init` and `end()`, paints screen models
/// (only the cells that changed since the last paint) and maps styles to colour pairs.
/// Keys are not read through ncurses: the app reads stdin itself (see `KeyDecoder`).
final class CursesTerminal {
    enum ColorMode: Equatable {
        case none
        case basic8
        case palette256
    }

    private(set) var colorMode: ColorMode = .none
    private(set) var width = 0
    private(set) var height = 0
    private var terminal: OpaquePointer?
    private var previous: Screen?
    private var pairs: [PairKey: Int32] = [:]
    private var nextPair: Int32 = 1
    private var maximumPairs: Int32 = 0
    private var cursorVisible = false
    private(set) var active = false
    /// The locale's character set is UTF-8; otherwise non-ASCII characters are drawn as "?".
    private var unicode = true

    private struct PairKey: Hashable {
        var foreground: Int16
        var background: Int16
    }

    /// Puts the terminal in full-screen raw mode. `colors: false` is NO_COLOR.
    init(colors: Bool) throws(TerminalError) {
        guard isatty(0) == 1, isatty(1) == 1 else {
            throw TerminalError("the terminal UI needs a terminal on stdin and stdout (use --no-tui)")
        }
        setlocale(LC_ALL, "")
        if !Self.localeIsUTF8() {
            // A C/POSIX locale cannot draw "→" or "│"; the C.UTF-8 locale can.
            if setlocale(LC_CTYPE, "C.UTF-8") == nil || !Self.localeIsUTF8() {
                _ = setlocale(LC_CTYPE, "en_US.UTF-8")
            }
        }
        unicode = Self.localeIsUTF8()
        TerminalRestore.save()
        guard let terminal = wscope_newterm() else {
            let name = getenv("TERM").map { String(cString: $0) } ?? "(unset)"
            throw TerminalError("cannot open the terminal (TERM=\(name)); use --no-tui")
        }
        self.terminal = terminal
        set_term(terminal)
        active = true
        TerminalRestore.activate()
        raw()
        noecho()
        nonl()
        intrflush(wscope_stdscr(), false)
        keypad(wscope_stdscr(), false)
        meta(wscope_stdscr(), true)
        curs_set(0)
        leaveok(wscope_stdscr(), false)
        if colors && has_colors() {
            start_color()
            use_default_colors()
            let count = wscope_colors()
            colorMode = count >= 256 ? .palette256 : (count >= 8 ? .basic8 : .none)
            maximumPairs = Int32(wscope_color_pairs())
        }
        // Mouse reports as SGR sequences (clicks and the wheel), decoded by KeyDecoder.
        TerminalRestore.writeRaw("\u{1B}[?1000h\u{1B}[?1006h")
        updateSize()
    }

    private static func localeIsUTF8() -> Bool {
        wscope_codeset_is_utf8() != 0
    }

    /// Reads the size from the kernel and tells ncurses; the next paint redraws everything.
    @discardableResult
    func updateSize() -> (width: Int, height: Int) {
        var rows: Int32 = 0
        var columns: Int32 = 0
        if wscope_window_size(1, &rows, &columns) == 0, rows > 0, columns > 0 {
            if rows != wscope_lines() || columns != wscope_cols() { resizeterm(rows, columns) }
        }
        width = Int(wscope_cols())
        height = Int(wscope_lines())
        previous = nil
        return (width, height)
    }

    /// Paints the screen model; unchanged rows and cells are skipped.
    func paint(_ screen: Screen) {
        guard active else { return }
        let full = previous == nil || previous!.width != screen.width || previous!.height != screen.height
        if full {
            erase()
        }
        let limitY = min(screen.height, height)
        let limitX = min(screen.width, width)
        for y in 0..<limitY {
            var first = 0
            var last = limitX - 1
            if !full, let previous {
                first = -1
                for x in 0..<limitX where previous[x, y] != screen[x, y] {
                    if first < 0 { first = x }
                    last = x
                }
                if first < 0 { continue }
                // A wide character's halves are redrawn together.
                if first > 0 && (screen[first, y].isContinuation || previous[first, y].isContinuation) { first -= 1 }
                if last + 1 < limitX && (screen[last, y].width == 2 || previous[last, y].width == 2) { last += 1 }
            }
            var x = first
            while x <= last {
                let cell = screen[x, y]
                if cell.isContinuation {
                    x += 1
                    continue
                }
                draw(cell, x: x, y: y, lastColumn: limitX - 1)
                x += max(1, Int(cell.width))
            }
        }
        if let cursor = screen.cursor, cursor.x < width, cursor.y < height {
            if !cursorVisible { curs_set(1) }
            cursorVisible = true
            move(Int32(cursor.y), Int32(cursor.x))
        } else {
            if cursorVisible { curs_set(0) }
            cursorVisible = false
            move(Int32(max(0, height - 1)), 0)
        }
        refresh()
        previous = screen
    }

    private func draw(_ cell: Cell, x: Int, y: Int, lastColumn: Int) {
        let attributes = attributes(cell.style)
        let pair = self.pair(cell.style)
        var scalars = Array(cell.character.unicodeScalars)
        let wanted = Int(cell.width)
        var padding = 0
        if !unicode && scalars.contains(where: { $0.value > 0x7E }) {
            scalars = ["?"]
            padding = wanted - 1
        } else {
            let library = Int(wscope_wcwidth(wchar_t(bitPattern: scalars[0].value)))
            let othersCombine = scalars.dropFirst().allSatisfy { wscope_wcwidth(wchar_t(bitPattern: $0.value)) == 0 }
            if library == wanted && othersCombine && scalars.count <= 5 {
                // Drawn as is.
            } else if wanted == 2 && library == 1 {
                // The C library thinks it is narrow (an older Unicode table): draw the
                // base character and a space so that the columns still line up.
                scalars = [scalars[0]]
                padding = 1
            } else {
                scalars = ["?"]
                padding = wanted - 1
            }
        }
        if x + Int(cell.width) - 1 > lastColumn && wanted == 2 {
            scalars = [" "]
            padding = 0
        }
        var text = scalars.map { wchar_t(bitPattern: $0.value) }
        text.append(0)
        _ = wscope_put_cell(Int32(y), Int32(x), text, attributes, pair)
        if padding > 0 && x + 1 <= lastColumn {
            let space: [wchar_t] = [0x20, 0]
            _ = wscope_put_cell(Int32(y), Int32(x + 1), space, attributes, pair)
        }
    }

    private func attributes(_ style: Style) -> attr_t {
        var value = wscope_attr_normal()
        if style.attributes.contains(.bold) { value |= wscope_attr_bold() }
        if style.attributes.contains(.dim) { value |= wscope_attr_dim() }
        if style.attributes.contains(.underline) { value |= wscope_attr_underline() }
        if style.attributes.contains(.reverse) { value |= wscope_attr_reverse() }
        if style.attributes.contains(.italic) { value |= wscope_attr_italic() }
        return value
    }

    private func pair(_ style: Style) -> Int32 {
        guard colorMode != .none else { return 0 }
        var foreground = style.foreground
        var background = style.background
        if colorMode == .basic8 {
            foreground = foreground.basic
            background = background.basic
        }
        if foreground.isDefault && background.isDefault { return 0 }
        let key = PairKey(foreground: foreground.index, background: background.index)
        if let pair = pairs[key] { return pair }
        guard nextPair < maximumPairs else { return 0 }
        let pair = nextPair
        nextPair += 1
        _ = wscope_init_pair(pair, Int32(key.foreground), Int32(key.background))
        pairs[key] = pair
        return pair
    }

    /// Gives the terminal back: mouse reports off, cursor on, normal screen, cooked mode.
    func end() {
        guard active else { return }
        active = false
        TerminalRestore.writeRaw("\u{1B}[?1006l\u{1B}[?1000l")
        curs_set(1)
        endwin()
        if let terminal { delscreen(terminal) }
        terminal = nil
        TerminalRestore.deactivate()
    }

    deinit { end() }
}

/// Last-resort terminal restoration when the process dies with the UI up: a crash
/// (SIGSEGV, SIGILL from a Swift trap, SIGABRT...) or `exit()` from elsewhere. The
/// handlers write fixed escape sequences and restore the saved termios (both
/// async-signal-safe), then let the signal take its original course.
enum TerminalRestore {
    nonisolated(unsafe) private static var saved = termios()
    nonisolated(unsafe) private static var hasSaved = false
    nonisolated(unsafe) private static var isActive = false
    nonisolated(unsafe) private static var installed = false
    nonisolated(unsafe) private static var previousActions = UnsafeMutablePointer<sigaction>.allocate(capacity: 65)
    static let crashSignals: [Int32] = [SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGABRT, SIGFPE]

    static func save() {
        hasSaved = tcgetattr(0, &saved) == 0
        guard !installed else { return }
        installed = true
        for number in crashSignals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                TerminalRestore.emergencyRestore()
                // Put back whatever handled the signal before (the Swift runtime's
                // backtracer, or the default action) and let it happen again: raised
                // now, it is delivered when this handler returns (a fault would also
                // recur when the instruction runs again).
                sigaction(number, TerminalRestore.previousActions + Int(number), nil)
                raise(number)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(number, &action, previousActions + Int(number))
        }
        atexit { TerminalRestore.exitRestore() }
    }

    static func activate() { isActive = true }
    static func deactivate() { isActive = false }

    /// From a signal handler: no allocation, no ncurses.
    static func emergencyRestore() {
        guard isActive else { return }
        isActive = false
        let reset: StaticString = "\u{1B}[?1006l\u{1B}[?1000l\u{1B}[0m\u{1B}[?25h\u{1B}[?1049l\r\n"
        _ = Glibc.write(1, reset.utf8Start, reset.utf8CodeUnitCount)
        if hasSaved { tcsetattr(0, TCSANOW, &saved) }
    }

    /// At exit(): ncurses can still be asked to clean up.
    static func exitRestore() {
        guard isActive else { return }
        writeRaw("\u{1B}[?1006l\u{1B}[?1000l")
        endwin()
        isActive = false
        if hasSaved { tcsetattr(0, TCSANOW, &saved) }
    }

    static func writeRaw(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(1, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }
                offset += written
            }
        }
    }
}
