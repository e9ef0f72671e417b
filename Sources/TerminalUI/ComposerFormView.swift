import Inspector
import WebSocket

/// Draws the composer form over the detail panes:
///
///     tabsY      title and the form's keys
///     +1         opcode, FIN RSV1 RSV2 RSV3 MASK toggles
///     +2         mask key, length override, fragment size
///     +3         payload mode and payload
///     +4...      the equivalent frame specs (one per fragment), then the first frame's
///                header bytes; or what is wrong
extension Renderer {
    static let formTitle = " Frame composer "
    static let formKeys = " Tab ↑↓ field  ←→ Space change  0-f opcode  Enter send  ^P ^N history  ^T spec line  ^R reset  Esc close"

    /// Widths of the short text fields, and the fragment field's label: roomy from 80
    /// columns on, tight enough for the 60-column minimum below.
    static func shortFields(width: Int) -> (maskKey: Int, length: Int, fragment: Int, fragmentLabel: String) {
        width >= 80 ? (11, 10, 9, "  fragment size ") : (8, 6, 9, "  fragment ")
    }

    static func drawForm(_ screen: inout Screen, state: UIState, theme: Theme) {
        let layout = state.layout
        let form = state.form
        let top = layout.tabsY
        let rows = layout.bottomY - top
        screen.fill(x: 0, y: top, width: layout.width, height: rows, style: theme[.row])
        screen.fill(y: top, width: layout.width, style: theme[.tab])
        let titleWidth = screen.put(formTitle, x: 0, y: top, style: theme[.tabActive])
        screen.put(formKeys, x: titleWidth, y: top, style: theme[.tab], limit: layout.width - titleWidth)

        var failedField: ComposerForm.Field?
        if case .failure(let field, _) = state.formBuild { failedField = field }
        for (index, line) in formLines(form, width: layout.width, failedField: failedField).enumerated() {
            let y = top + 1 + index
            guard y < layout.bottomY else { break }
            var x = 0
            for piece in line.pieces where x < layout.width {
                if let cursor = piece.cursor { screen.cursor = (x + cursor, y) }
                x += screen.put(piece.text, x: x, y: y, style: theme[piece.role], limit: layout.width - x)
            }
        }

        let firstResultY = top + 4
        let resultRows = layout.bottomY - firstResultY
        guard resultRows > 0 else { return }
        for (index, line) in resultLines(state.formBuild, rows: resultRows, width: layout.width).enumerated() {
            var x = 0
            for segment in line where x < layout.width {
                x += screen.put(segment.text, x: x, y: firstResultY + index, style: theme[segment.role], limit: layout.width - x)
            }
        }
    }

    struct FormPiece {
        var text: String
        var role: StyleRole
        /// The cursor's column within `text`, for the focused text field.
        var cursor: Int?

        init(_ text: String, _ role: StyleRole, cursor: Int? = nil) {
            self.text = text
            self.role = role
            self.cursor = cursor
        }
    }

    struct FormLine {
        var pieces: [FormPiece] = []
        mutating func add(_ text: String, _ role: StyleRole, cursor: Int? = nil) {
            pieces.append(FormPiece(text, role, cursor: cursor))
        }
        var width: Int { pieces.reduce(0) { $0 + DisplayWidth.of($1.text) } }
    }

    /// The three lines of fields, as pieces.
    static func formLines(_ form: ComposerForm, width: Int, failedField: ComposerForm.Field?) -> [FormLine] {
        func label(_ text: String, _ field: ComposerForm.Field) -> FormPiece {
            FormPiece(text, field == failedField ? .messageError : .label)
        }
        func valueRole(_ field: ComposerForm.Field) -> StyleRole {
            form.focus == field ? .selected : .value
        }
        func textField(_ editor: LineEditor, _ field: ComposerForm.Field, width: Int, placeholder: String) -> [FormPiece] {
            let inner = max(1, width)
            if form.focus == field {
                let (text, cursor) = editor.visible(width: inner)
                let padded = text + String(repeating: " ", count: max(0, inner - DisplayWidth.of(text)))
                return [FormPiece("[", .label), FormPiece(padded, .input, cursor: cursor), FormPiece("]", .label)]
            }
            if editor.text.isEmpty {
                return [FormPiece("[", .label), FormPiece(DisplayWidth.fit(placeholder, inner), .hint), FormPiece("]", .label)]
            }
            let shown = DisplayWidth.fit(Visible.text(editor.text), inner, ellipsis: true)
            return [FormPiece("[", .label), FormPiece(DisplayWidth.fit(shown, inner), .value), FormPiece("]", .label)]
        }

        var first = FormLine()
        first.pieces.append(label(" opcode ", .opcode))
        let opcode = form.opcode
        first.add("‹0x" + String(opcode.rawValue, radix: 16) + " " + DisplayWidth.fit(opcode.name, 6) + "›",
                  form.focus == .opcode ? .selected : (opcode.isReserved ? .error : .value))
        for (name, field) in [("FIN", ComposerForm.Field.fin), ("RSV1", .rsv1), ("RSV2", .rsv2), ("RSV3", .rsv3), ("MASK", .mask)] {
            first.pieces.append(label("  \(name) ", field))
            first.add(form.flag(field) ? "[x]" : "[ ]", valueRole(field))
        }

        let fields = shortFields(width: width)
        var second = FormLine()
        second.pieces.append(label(" mask key ", .maskKey))
        if form.masked {
            second.pieces += textField(form.maskKey, .maskKey, width: fields.maskKey, placeholder: "random")
        } else {
            let shown = DisplayWidth.fit("unmasked", fields.maskKey)
            second.add("[" + shown + "]", form.focus == .maskKey ? .selected : .hint)
        }
        second.pieces.append(label("  length ", .length))
        second.pieces += textField(form.length, .length, width: fields.length, placeholder: "auto")
        second.pieces.append(label(fields.fragmentLabel, .fragmentSize))
        second.pieces += textField(form.fragmentSize, .fragmentSize, width: fields.fragment, placeholder: "one frame")

        var third = FormLine()
        third.pieces.append(label(" payload ", .payload))
        third.add("‹" + DisplayWidth.fit(form.payloadMode.rawValue, 5) + "›", valueRole(.payloadMode))
        third.add(" ", .label)
        let placeholder: String
        switch form.payloadMode {
        case .text: placeholder = form.opcode == .close ? "CODE[:REASON], e.g. 1000:bye" : "text, with \\n \\xHH \\u{…} escapes"
        case .hex: placeholder = "hex digits, e.g. 00 ff 10"
        case .file: placeholder = "a file name"
        }
        third.pieces += textField(form.payload, .payload, width: max(1, width - third.width - 2), placeholder: placeholder)
        return [first, second, third]
    }

    /// The equivalent specs and the first frame's header bytes, or the error, in `rows` lines.
    static func resultLines(_ build: ComposerForm.Build?, rows: Int, width: Int) -> [StyledLine] {
        guard rows > 0, let build else { return [] }
        switch build {
        case .failure(_, let message):
            return [[Segment(" ✗ ", .messageError), Segment(message, .messageError)]]
        case .frames(let specs, let frames):
            var lines: [StyledLine] = []
            let wireRow = rows >= 2 ? 1 : 0
            var specRows = rows - wireRow
            if specs.count > specRows { specRows = max(1, specRows - 1) }
            for (index, spec) in specs.prefix(specRows).enumerated() {
                let label = index == 0 ? (specs.count > 1 ? " specs " : " spec  ") : "       "
                lines.append([Segment(label, .label), Segment(Visible.text(spec), .value)])
            }
            if specs.count > specRows && lines.count < rows - wireRow {
                lines.append([Segment("       ", .label), Segment("… \(specs.count - specRows) more fragments", .hint)])
            }
            if wireRow == 1, let frame = frames.first {
                lines.append(wireLine(frame, frameCount: frames.count))
            }
            return lines
        }
    }

    /// The first frame's header bytes (a random key is shown as `··`, it changes at send).
    static func wireLine(_ frame: CraftedFrame, frameCount: Int) -> StyledLine {
        let headerLength = frame.wire.count - frame.payload.count
        var header = Array(frame.wire.prefix(max(0, headerLength))).map { SafeText.hex($0) }
        if frame.maskKeyIsRandom, frame.header?.masked == true, header.count >= 4 {
            for index in (header.count - 4)..<header.count { header[index] = "··" }
        }
        var text = header.joined(separator: " ")
        text += "  + \(frame.payload.count) payload bytes"
        if frame.header?.masked == true { text += ", masked" }
        if frameCount > 1 { text += "  (frame 1 of \(frameCount))" }
        return [Segment(" wire  ", .label), Segment(text, .hexBytes)]
    }
}
