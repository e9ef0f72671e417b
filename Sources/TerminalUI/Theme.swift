import Inspector

/// Named styles. A theme file (see `themes/`) says how each role looks:
///
///     # comment
///     base = default                  (optional: roles not listed come from this theme)
///     status        = 255 on 24 bold
///     selected      = reverse
///
/// A style is `[FOREGROUND] [on BACKGROUND] [ATTRIBUTE...]` where a colour is `default`,
/// a name (`black red green yellow blue magenta cyan white`, `bright-` + name, `grey`),
/// a palette index `0`-`255` (also `color123`) or `#rrggbb` (the nearest palette colour),
/// and the attributes are `bold dim underline reverse italic` (or `plain`).

/// What a style is for.
public enum StyleRole: String, CaseIterable, Sendable {
    case status
    case statusAccent = "status-accent"
    case statusRecording = "status-recording"
    case statusAlert = "status-alert"
    case columnHeader = "column-header"
    case row
    case selected
    case incoming
    case outgoing
    case control
    case event
    case error
    case match
    case tab
    case tabActive = "tab-active"
    case paneTitle = "pane-title"
    case label
    case value
    case hexOffset = "hex-offset"
    case hexBytes = "hex-bytes"
    case hexASCII = "hex-ascii"
    case jsonKey = "json-key"
    case jsonString = "json-string"
    case jsonNumber = "json-number"
    case jsonLiteral = "json-literal"
    case jsonPunctuation = "json-punctuation"
    case help
    case helpKey = "help-key"
    case prompt
    case input
    case message
    case messageError = "message-error"
    case hint
    case border
}

/// A theme file that could not be read: where and why.
public struct ThemeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file name (or theme name) as given.
    public var source: String
    /// 1-based line number; 0 when the problem is not on one line (a missing file).
    public var line: Int
    public var message: String

    public init(source: String, line: Int, message: String) {
        self.source = source
        self.line = line
        self.message = message
    }

    public var description: String {
        line > 0 ? "\(source):\(line): \(message)" : "\(source): \(message)"
    }
}

public struct Theme: Sendable {
    public var name: String
    public private(set) var styles: [StyleRole: Style]

    public init(name: String, styles: [StyleRole: Style]) {
        self.name = name
        self.styles = styles
    }

    public subscript(role: StyleRole) -> Style {
        get { styles[role] ?? .plain }
        set { styles[role] = newValue }
    }

    // MARK: Built-in themes

    public static let builtinNames = ["default", "light", "high-contrast", "monochrome"]

    /// The text of a built-in theme, as shipped in `themes/NAME.theme`.
    public static func builtinText(_ name: String) -> String? {
        switch name {
        case "default": return BuiltinThemes.defaultTheme
        case "light": return BuiltinThemes.light
        case "high-contrast": return BuiltinThemes.highContrast
        case "monochrome": return BuiltinThemes.monochrome
        default: return nil
        }
    }

    public static func builtin(_ name: String) -> Theme? {
        guard let text = builtinText(name) else { return nil }
        // The shipped texts are tested to parse; a failure here would be a build mistake.
        return try? parse(text, name: name, fallback: nil)
    }

    public static let standard: Theme = builtin("default") ?? Theme(name: "default", styles: [:])
    public static let monochrome: Theme = builtin("monochrome") ?? Theme(name: "monochrome", styles: [:])

    /// `--theme NAME|FILE`: a built-in name, else a file path.
    public static func load(_ nameOrPath: String, readFile: (String) throws -> [UInt8] = Theme.readFile) throws(ThemeError) -> Theme {
        if let theme = builtin(nameOrPath) { return theme }
        let bytes: [UInt8]
        do {
            bytes = try readFile(nameOrPath)
        } catch {
            let names = builtinNames.joined(separator: ", ")
            throw ThemeError(source: nameOrPath, line: 0,
                             message: "not a built-in theme (\(names)) and not a readable file: \(error)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ThemeError(source: nameOrPath, line: 0, message: "not UTF-8 text")
        }
        let base = nameOrPath.split(separator: "/").last.map(String.init) ?? nameOrPath
        let name = base.hasSuffix(".theme") ? String(base.dropLast(6)) : base
        return try parse(text, name: name, source: nameOrPath, fallback: standard)
    }

    public static func readFile(_ path: String) throws -> [UInt8] {
        try FrameSpec.readFile(path)
    }

    // MARK: Parsing

    /// Parses a theme file. Roles it does not set come from its `base = NAME` line, else
    /// from `fallback` (nil: plain).
    public static func parse(_ text: String, name: String, source: String? = nil, fallback: Theme?) throws(ThemeError) -> Theme {
        let source = source ?? name
        var styles: [StyleRole: Style] = [:]
        var base = fallback
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = Substring(rawLine)
            if let hash = line.firstIndex(of: "#"), !isColourHash(line, at: hash) {
                line = line[..<hash]
            }
            let trimmed = line.trimmed
            if trimmed.isEmpty { continue }
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw ThemeError(source: source, line: lineNumber, message: "expected 'ROLE = STYLE', got '\(escaped(trimmed))'")
            }
            let key = trimmed[..<equals].trimmed.lowercased()
            let value = trimmed[trimmed.index(after: equals)...].trimmed
            if key == "base" {
                guard let theme = builtin(String(value)) else {
                    throw ThemeError(source: source, line: lineNumber,
                                     message: "unknown base theme '\(escaped(value))' (built-in: \(builtinNames.joined(separator: ", ")))")
                }
                base = theme
                continue
            }
            guard let role = StyleRole(rawValue: key) else {
                let hint = suggestion(for: key).map { " (did you mean '\($0)'?)" } ?? ""
                throw ThemeError(source: source, line: lineNumber, message: "unknown style role '\(escaped(key))'\(hint)")
            }
            do {
                styles[role] = try parseStyle(value)
            } catch let message {
                throw ThemeError(source: source, line: lineNumber, message: message.text)
            }
        }
        var theme = Theme(name: name, styles: base?.styles ?? [:])
        for (role, style) in styles { theme[role] = style }
        return theme
    }

    struct StyleMessage: Error { var text: String }

    /// `FOREGROUND [on BACKGROUND] [ATTRIBUTE...]`.
    static func parseStyle(_ text: Substring) throws(StyleMessage) -> Style {
        var style = Style()
        var words = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { $0.lowercased() }
        if words.isEmpty { throw StyleMessage(text: "empty style (use 'plain' for no colour and no attributes)") }
        var index = 0
        var sawForeground = false
        while index < words.count {
            let word = words[index]
            if word == "on" {
                guard index + 1 < words.count else { throw StyleMessage(text: "'on' needs a background colour") }
                guard let colour = parseColour(words[index + 1]) else {
                    throw StyleMessage(text: "unknown colour '\(escaped(words[index + 1]))'")
                }
                style.background = colour
                index += 2
                continue
            }
            if word == "plain" || word == "normal" { index += 1; continue }
            if let attribute = Attributes.named.first(where: { $0.0 == word })?.1 {
                style.attributes.insert(attribute)
                index += 1
                continue
            }
            if let colour = parseColour(word) {
                if sawForeground {
                    throw StyleMessage(text: "two foreground colours ('\(style.foreground)' and '\(escaped(word))'); write 'FG on BG'")
                }
                sawForeground = true
                style.foreground = colour
                index += 1
                continue
            }
            throw StyleMessage(text: "unknown colour or attribute '\(escaped(word))'")
        }
        words.removeAll()
        return style
    }

    static func parseColour(_ word: String) -> Color? {
        if word == "default" || word == "none" { return .default }
        if let index = Color.basicNames.firstIndex(of: word) { return Color(index: index) }
        for prefix in ["bright-", "bright"] where word.hasPrefix(prefix) {
            if let index = Color.basicNames.firstIndex(of: String(word.dropFirst(prefix.count))) { return Color(index: index + 8) }
        }
        if word == "grey" || word == "gray" { return Color(index: 8) }
        var number = Substring(word)
        for prefix in ["colour", "color"] where number.hasPrefix(prefix) { number = number.dropFirst(prefix.count) }
        if let value = Int(number), number.allSatisfy(\.isASCII) { return Color(index: value) }
        if word.hasPrefix("#"), word.count == 7, let rgb = Int(word.dropFirst(), radix: 16) {
            return nearestPaletteColour(r: rgb >> 16 & 0xFF, g: rgb >> 8 & 0xFF, b: rgb & 0xFF)
        }
        return nil
    }

    /// The nearest colour of the 6x6x6 cube or the grey ramp.
    static func nearestPaletteColour(r: Int, g: Int, b: Int) -> Color? {
        let levels = [0, 95, 135, 175, 215, 255]
        func nearestLevel(_ value: Int) -> Int {
            var best = 0
            for (index, level) in levels.enumerated() where abs(level - value) < abs(levels[best] - value) { best = index }
            return best
        }
        let (ri, gi, bi) = (nearestLevel(r), nearestLevel(g), nearestLevel(b))
        let cube = 16 + 36 * ri + 6 * gi + bi
        let cubeDistance = sq(levels[ri] - r) + sq(levels[gi] - g) + sq(levels[bi] - b)
        let grey = (r + g + b) / 3
        let greyIndex = min(23, max(0, (grey - 8 + 5) / 10))
        let greyLevel = 8 + greyIndex * 10
        let greyDistance = sq(greyLevel - r) + sq(greyLevel - g) + sq(greyLevel - b)
        return Color(index: greyDistance < cubeDistance ? 232 + greyIndex : cube)
    }

    private static func sq(_ value: Int) -> Int { value * value }

    private static func isColourHash(_ line: Substring, at index: Substring.Index) -> Bool {
        // `#rrggbb` after '=' is a colour, not a comment.
        guard let equals = line.firstIndex(of: "="), equals < index else { return false }
        let rest = line[line.index(after: index)...].prefix(6)
        return rest.count == 6 && rest.allSatisfy(\.isHexDigit)
    }

    private static func suggestion(for key: String) -> String? {
        StyleRole.allCases.map(\.rawValue).min { distance($0, key) < distance($1, key) }
            .flatMap { distance($0, key) <= 3 ? $0 : nil }
    }

    /// Levenshtein distance, for "did you mean".
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in stride(from: 1, through: b.count, by: 1) {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }

    private static func escaped(_ text: some StringProtocol) -> String {
        SafeText.escape(String(text))
    }

    // MARK: Variants

    /// Colours removed, attributes kept (NO_COLOR, terminals without colour).
    public var withoutColors: Theme {
        var copy = self
        for (role, style) in styles { copy.styles[role] = style.withoutColors }
        return copy
    }

    /// Palette colours mapped to the 8 basic colours.
    public var basicColors: Theme {
        var copy = self
        for (role, style) in styles {
            copy.styles[role] = Style(foreground: style.foreground.basic, background: style.background.basic, attributes: style.attributes)
        }
        return copy
    }

    /// The theme as a file (every role, in the canonical order).
    public func serialized() -> String {
        var text = "# wscope theme: \(name)\n"
        let width = StyleRole.allCases.map(\.rawValue.count).max() ?? 0
        for role in StyleRole.allCases {
            let style = self[role]
            let spelled = style == .plain ? "plain" : style.description
            text += role.rawValue + String(repeating: " ", count: width - role.rawValue.count + 1) + "= " + spelled + "\n"
        }
        return text
    }
}

extension Substring {
    var trimmed: Substring {
        var slice = self
        while let first = slice.first, first == " " || first == "\t" || first == "\r" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" || last == "\r" { slice.removeLast() }
        return slice
    }
}
