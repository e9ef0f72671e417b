import Glibc
import Inspector
import Testing
import WebSocket
@testable import TerminalUI

private let key01020304 = Header.maskKey(1, 2, 3, 4)

extension UIState {
    /// Moves the form's focus to `field` with Tab.
    func focusForm(on field: ComposerForm.Field) {
        while form.focus != field { handle(.tab) }
    }

    /// Replaces the focused text field's contents.
    func fill(_ text: String) {
        handle(.ctrl("a"))
        handle(.ctrl("k"))
        type(text)
    }

    var formSpecs: [String] {
        if case .frames(let specs, _) = formBuild { return specs }
        return []
    }

    var formError: String? {
        if case .failure(_, let message) = formBuild { return message }
        return nil
    }
}

@Suite struct ComposerFormRenderTests {
    let theme = Theme.standard

    @Test func opensWithAValidFrameAndShowsItsSpec() {
        let ui = state(demoTimeline())
        ui.handle(.char("m"))
        #expect(ui.prompt == .form)
        let screen = render(ui)
        // The form covers the panes: tabsY 20, fields on 21-23, results from 24.
        #expect(screen.line(20).hasPrefix(" Frame composer  Tab ↑↓ field  ←→ Space change"))
        #expect(screen.line(21).trimmingTrailingSpaces
                == " opcode ‹0x1 text  ›  FIN [x]  RSV1 [ ]  RSV2 [ ]  RSV3 [ ]  MASK [x]")
        #expect(screen.line(22).trimmingTrailingSpaces
                == " mask key [random     ]  length [auto      ]  fragment size [one frame]")
        #expect(screen.line(23).hasPrefix(" payload ‹text › [text, with \\n \\xHH \\u{…} escapes"))
        #expect(screen.line(23).trimmingTrailingSpaces.hasSuffix("]") && DisplayWidth.of(screen.line(23)) == 120)
        #expect(screen.line(24).trimmingTrailingSpaces == " spec  text")
        // A random key is not known before sending: shown as ··.
        #expect(screen.line(25).trimmingTrailingSpaces == " wire  81 80 ·· ·· ·· ··  + 0 payload bytes, masked")
        #expect(screen.line(39).trimmingTrailingSpaces == "form> Enter sends the frames above  Esc closes the form  F1 (or ? off a text field) help")
        // The focused field is highlighted, placeholders are dimmed, no text cursor on a toggle.
        #expect(screen.style(of: "‹0x1 text  ›") == theme[.selected])
        #expect(screen.style(of: "random") == theme[.hint])
        #expect(screen.cursor == nil)
        // The timeline stays visible above the form.
        #expect(screen.line(2).contains("connecting to"))
    }

    @Test func focusedTextFieldShowsTheCursor() {
        let ui = state(demoTimeline())
        ui.handle(.char("m"))
        ui.focusForm(on: .payload)
        ui.type("héllo")
        let screen = render(ui)
        #expect(screen.line(23).hasPrefix(" payload ‹text › [héllo "))
        #expect(screen.cursor?.x == 18 + 5 && screen.cursor?.y == 23)
        #expect(screen.style(of: "héllo") == theme[.input])
        #expect(screen.line(24).trimmingTrailingSpaces == " spec  text:héllo")
        #expect(screen.line(25).hasPrefix(" wire  81 86 ·· ·· ·· ··  + 6 payload bytes, masked"))
        // Leaving the field keeps the text, shown as a value.
        ui.handle(.tab)
        #expect(render(ui).style(of: "héllo") == theme[.value])
    }

    @Test func eachFieldState() {
        let ui = state(demoTimeline())
        ui.handle(.char("m"))
        // Opcode: → cycles the defined opcodes then the reserved ones, ← goes back, a hex
        // digit picks one by number.
        var seen: [UInt8] = []
        for _ in 0..<16 {
            seen.append(ui.form.opcode.rawValue)
            ui.handle(.right)
        }
        #expect(seen == [1, 2, 0, 8, 9, 10, 3, 4, 5, 6, 7, 11, 12, 13, 14, 15])
        #expect(ui.form.opcode == .text)
        ui.handle(.left)
        #expect(ui.form.opcode.rawValue == 0xF)
        ui.type("b")
        #expect(ui.form.opcode.rawValue == 0xB)
        var screen = render(ui)
        #expect(screen.line(21).hasPrefix(" opcode ‹0xb opb   ›"))
        #expect(ui.formSpecs == ["opb"])
        // Toggles: Space, ← →, 1/0.
        ui.handle(.tab)
        ui.handle(.char(" "))
        #expect(!ui.form.fin)
        ui.handle(.tab)
        ui.handle(.right)
        ui.handle(.tab)
        ui.type("1")
        ui.handle(.tab)
        ui.type("y")
        #expect(ui.form.rsv1 && ui.form.rsv2 && ui.form.rsv3)
        ui.handle(.tab)
        ui.type("0")
        #expect(!ui.form.masked)
        screen = render(ui)
        #expect(screen.line(21).contains("FIN [ ]  RSV1 [x]  RSV2 [x]  RSV3 [x]  MASK [ ]"))
        #expect(screen.style(of: "MASK [ ]") == theme[.label])
        #expect(screen.line(22).hasPrefix(" mask key [unmasked   ]"))
        #expect(ui.formSpecs == ["opb;fin=0;rsv1=1;rsv2=1;rsv3=1;mask=none"])
        // Payload mode cycles text → hex → @file.
        ui.focusForm(on: .payloadMode)
        ui.handle(.char(" "))
        #expect(ui.form.payloadMode == .hex)
        #expect(render(ui).line(23).hasPrefix(" payload ‹hex  › [hex digits, e.g. 00 ff 10"))
        ui.handle(.right)
        #expect(ui.form.payloadMode == .file)
        #expect(render(ui).line(23).hasPrefix(" payload ‹@file› [a file name"))
        ui.handle(.right)
        #expect(ui.form.payloadMode == .text)
        // Shift-Tab and ↑ go back; both wrap around.
        ui.focusForm(on: .opcode)
        ui.handle(.backTab)
        #expect(ui.form.focus == .payload)
        ui.handle(.down)
        #expect(ui.form.focus == .opcode)
        ui.handle(.up)
        #expect(ui.form.focus == .payload)
    }

    @Test func errorsNameTheField() {
        let ui = state(demoTimeline())
        ui.handle(.char("m"))
        ui.focusForm(on: .maskKey)
        ui.fill("12345")
        var screen = render(ui)
        #expect(screen.line(24).trimmingTrailingSpaces == " ✗ mask key: 8 hex digits (37fa213d), or empty for a random key")
        #expect(screen.style(of: " mask key ") == theme[.messageError])
        #expect(screen.style(of: "✗ mask key") == theme[.messageError])
        // Enter does not send a broken form.
        #expect(ui.handle(.enter) == [])
        #expect(ui.message?.isError == true)
        ui.fill("37 fa 21 3d")
        #expect(ui.formError == nil)
        #expect(ui.formSpecs == ["text;mask=37fa213d"])

        ui.focusForm(on: .length)
        ui.fill("-1")
        #expect(ui.formError == "length: a number 0-9223372036854775807, or empty for the payload's length")
        ui.fill("")
        ui.focusForm(on: .fragmentSize)
        ui.fill("0")
        #expect(ui.formError == "fragment size: a positive number of bytes, or empty for one frame")
        ui.fill("")

        ui.focusForm(on: .payloadMode)
        ui.handle(.right)
        ui.focusForm(on: .payload)
        ui.fill("00 fg")
        #expect(ui.formError?.hasPrefix("hex: ") == true)
        screen = render(ui)
        #expect(screen.style(of: " payload ") == theme[.messageError])

        ui.focusForm(on: .payloadMode)
        ui.handle(.right)
        ui.focusForm(on: .payload)
        ui.fill("/nonexistent/wscope-form-test")
        #expect(ui.formError?.hasPrefix("@file: cannot read '/nonexistent/wscope-form-test'") == true)

        // A close body in text mode is CODE[:REASON], as in a spec.
        ui.focusForm(on: .payloadMode)
        ui.handle(.right)
        ui.focusForm(on: .opcode)
        ui.type("8")
        ui.focusForm(on: .payload)
        ui.fill("bye")
        #expect(ui.formError?.hasPrefix("close payload (CODE[:REASON]): ") == true)
        ui.fill("1000:bye")
        #expect(ui.formSpecs == ["close:1000:bye;mask=37fa213d"])
        #expect(render(ui).line(23).contains("1000:bye"))
    }

    @Test func smallestTerminalKeepsTheFieldsAndClipsTheRest() {
        let ui = state(demoTimeline(), width: 60, height: 12)
        ui.handle(.char("m"))
        ui.focusForm(on: .fragmentSize)
        ui.type("2")
        ui.focusForm(on: .payload)
        ui.type("abcdefgh")
        let screen = render(ui)
        let layout = ui.layout
        // tabsY 6, fields 7-9, one row for the specs, the bottom line.
        #expect(layout.tabsY == 6 && layout.bottomY == 11)
        #expect(screen.line(7).hasPrefix(" opcode ‹0x1 text  ›  FIN [x]  RSV1 [ ]"))
        #expect(screen.line(8).trimmingTrailingSpaces == " mask key [random  ]  length [auto  ]  fragment [2        ]")
        #expect(screen.line(9).hasPrefix(" payload ‹text › [abcdefgh"))
        #expect(screen.line(10).trimmingTrailingSpaces == " specs text:ab;fin=0")
        #expect(screen.lines.allSatisfy { DisplayWidth.of($0) <= 60 })
        // Under a listen connection list the form starts lower and still fits.
        let opened: [SessionEvent] = (2...4).map {
            .opened(connection: $0, peer: "p\($0)", request: "GET / HTTP/1.1\r\n\r\n", response: "", subprotocol: nil, extensions: nil)
        }
        for height in [12, 16, 24] {
            let listen = UIState(source: timeline(opened), config: UIConfig(mode: "listen", endpoint: "0:9001", role: .server),
                                 width: 60, height: height)
            listen.handle(.char("m"))
            listen.focusForm(on: .payload)
            listen.type("hi")
            let screen = render(listen)
            #expect(screen.lines.allSatisfy { DisplayWidth.of($0) <= 60 })
            #expect(screen.line(listen.layout.tabsY).hasPrefix(" Frame composer"))
            #expect(screen.line(listen.layout.bottomY).hasPrefix("form> "))
            if listen.layout.bottomY - listen.layout.tabsY > 4 {
                #expect(screen.line(listen.layout.tabsY + 4).trimmingTrailingSpaces == " spec  text:hi")
            }
        }
        // With room, every spec, then "… more", then the wire line.
        let tall = state(demoTimeline(), width: 100, height: 30)
        tall.handle(.char("m"))
        tall.focusForm(on: .fragmentSize)
        tall.type("1")
        tall.focusForm(on: .payload)
        tall.type(String(repeating: "x", count: 20))
        let lines = render(tall).lines
        let first = tall.layout.tabsY + 4
        #expect(lines[first].trimmingTrailingSpaces == " specs text:x;fin=0")
        #expect(lines[first + 1].trimmingTrailingSpaces == "       cont:x;fin=0")
        #expect(lines[tall.layout.bottomY - 2].contains("more fragments"))
        #expect(lines[tall.layout.bottomY - 1].contains("+ 1 payload bytes, masked  (frame 1 of 20)"))
    }
}

@Suite struct ComposerFormBuildTests {
    /// The form filled by keys, as a user would: reserved opcode 0x3, RSV1, a mask key, a
    /// length that lies, and 4-byte fragments.
    func malformedForm(role: Role = .client) -> UIState {
        let ui = UIState(source: demoTimeline(), config: UIConfig(mode: "demo", endpoint: "ws://x/", role: role), width: 120, height: 40)
        ui.handle(.char("m"))
        ui.type("3")
        ui.focusForm(on: .rsv1)
        ui.handle(.char(" "))
        ui.focusForm(on: .mask)
        if !ui.form.masked { ui.handle(.char(" ")) }
        ui.focusForm(on: .maskKey)
        ui.type("01020304")
        ui.focusForm(on: .length)
        ui.type("100")
        ui.focusForm(on: .fragmentSize)
        ui.type("4")
        ui.focusForm(on: .payload)
        ui.type("hello world")
        return ui
    }

    @Test func reservedOpcodeRSV1MaskKeyLengthAndFragmentsMakeTheSpecsWireBytes() throws {
        let ui = malformedForm()
        let specs = [
            "op3:hell;fin=0;rsv1=1;mask=01020304;len=100",
            "cont:o wo;fin=0;rsv1=1;mask=01020304;len=100",
            "cont:rld;rsv1=1;mask=01020304;len=100",
        ]
        #expect(ui.formSpecs == specs)
        let commands = ui.handle(.enter)
        guard case .sendFrames(let frames, let connection) = commands.first, commands.count == 1 else {
            Issue.record("expected one sendFrames, got \(commands)")
            return
        }
        #expect(connection == 1)
        let expected = try specs.map { try FrameSpec.parse($0, role: .client, readFile: { _ in [] }) }
        #expect(frames.map(\.wire) == expected.map(\.wire))
        #expect(frames == expected)
        // And the bytes themselves: no FIN, RSV1, opcode 3; MASK with length field 100;
        // the key; "hell" masked with it.
        let key: [UInt8] = [1, 2, 3, 4]
        let masked = Array("hell".utf8).enumerated().map { $0.element ^ key[$0.offset % 4] }
        #expect(frames[0].wire == [0x43, 0x80 | 100, 1, 2, 3, 4] + masked)
        #expect(frames[1].wire.prefix(2) == [0x40, 0xE4])
        #expect(frames[2].wire.prefix(2) == [0xC0, 0xE4] && frames[2].payload == Array("rld".utf8))
        // Every frame sent is in the history, as its spec.
        #expect(ui.history.suffix(3) == specs)
        #expect(ui.message?.text == "sent 3 fragments, 11 bytes")
        #expect(ui.prompt == .form)  // stays open for the next one
    }

    @Test func serverRoleSpellsOutRandomMasking() throws {
        let ui = malformedForm(role: .server)
        #expect(ui.formSpecs.first == "op3:hell;fin=0;rsv1=1;mask=01020304;len=100")
        ui.focusForm(on: .maskKey)
        ui.fill("")
        #expect(ui.formSpecs.first == "op3:hell;fin=0;rsv1=1;mask=random;len=100")
        // A server's default form is unmasked and says nothing about masking.
        let plain = ComposerForm(role: .server)
        guard case .frames(let specs, let frames) = plain.build(role: .server) else {
            Issue.record("expected frames")
            return
        }
        #expect(specs == ["text"] && frames[0].wire == [0x81, 0x00])
        // A client's random keys come from the key source, fresh for every build.
        var next: UInt32 = 7
        guard case .frames(_, let masked) = ComposerForm(role: .client).build(role: .client, randomKey: { next += 1; return next }) else {
            Issue.record("expected frames")
            return
        }
        #expect(masked[0].header?.maskKey == 8 && masked[0].maskKeyIsRandom)
    }

    @Test func textPayloadTakesEscapesAndLiteralSeparators() throws {
        var form = ComposerForm(role: .server)
        form.payload.set(#"a;b:c\x00\n\u{1F600}"#)
        guard case .frames(let specs, let frames) = form.build(role: .server) else {
            Issue.record("expected frames")
            return
        }
        #expect(frames[0].payload == Array("a;b:c\u{0}\n😀".utf8))
        #expect(specs == [#"text:a\;b:c\x00\n😀"#])
        // What would read as another payload form in a spec is text here.
        for literal in ["hex:00", "@file", "base64:AA=="] {
            form.payload.set(literal)
            guard case .frames(_, let built) = form.build(role: .server) else {
                Issue.record("expected frames for \(literal)")
                continue
            }
            #expect(built[0].payload == Array(literal.utf8))
        }
        // A bad escape is an error near the user's column.
        form.payload.set(#"ab\q"#)
        guard case .failure(.payload, let message) = form.build(role: .server) else {
            Issue.record("expected a payload error")
            return
        }
        #expect(message.hasPrefix("text: ") && message.contains("column 3"))
    }

    @Test func filePayloads() throws {
        let path = "/tmp/wscope-form-test-\(getpid()).bin"
        let bytes: [UInt8] = [0x00, 0xFF, 0x10, 0x41, 0x42]
        let file = fopen(path, "wb")
        _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        fclose(file)
        defer { unlink(path) }
        var form = ComposerForm(role: .client)
        form.opcode = .binary
        form.payloadMode = .file
        form.payload.set(path)
        form.maskKey.set("00000000")
        guard case .frames(let specs, let frames) = form.build(role: .client) else {
            Issue.record("expected frames")
            return
        }
        // One frame keeps the @path spelling; the bytes are the file's.
        #expect(specs == ["binary:@\(path);mask=00000000"])
        #expect(frames[0].wire == [0x82, 0x85, 0, 0, 0, 0] + bytes)
        // Fragments carry the bytes themselves.
        form.fragmentSize.set("3")
        guard case .frames(let fragmentSpecs, let fragments) = form.build(role: .client) else {
            Issue.record("expected frames")
            return
        }
        #expect(fragmentSpecs == ["binary:hex:00ff10;fin=0;mask=00000000", "cont:AB;mask=00000000"])
        #expect(fragments.map(\.payload) == [[0x00, 0xFF, 0x10], [0x41, 0x42]])
        // Loading the one-frame spec back gives the file field again.
        guard case .success(let loaded) = ComposerForm.load(line: specs[0], role: .client) else {
            Issue.record("expected a form")
            return
        }
        #expect(loaded.payloadMode == .file && loaded.payload.text == path && loaded.maskKey.text == "00000000")
    }

    @Test func onlyRegularFilesAreRead() {
        // /dev/zero never ends and a FIFO blocks: the UI's thread must not read them.
        var form = ComposerForm(role: .client)
        form.payloadMode = .file
        for (path, reason) in [("/dev/zero", "'/dev/zero' is not a regular file"), ("/tmp", "'/tmp' is not a regular file")] {
            form.payload.set(path)
            guard case .failure(.payload, let message) = form.build(role: .client) else {
                Issue.record("expected a payload error for \(path)")
                continue
            }
            #expect(message.contains(reason), "\(message)")
            form.fragmentSize.set("4")  // the fragmenting path reads too
            guard case .failure(.payload, let fragmented) = form.build(role: .client) else {
                Issue.record("expected a payload error for \(path) in fragments")
                continue
            }
            #expect(fragmented.contains(reason))
            form.fragmentSize.set("")
        }
        // The composer line too.
        let ui = state(demoTimeline())
        ui.handle(.char("i"))
        ui.type("binary:@/dev/zero")
        #expect(ui.handle(.enter) == [])
        #expect(ui.message?.text.contains("'/dev/zero' is not a regular file") == true)
    }

    @Test func aFIFOIsRefusedWithoutBlockingAndAChangedFileIsReadAgain() throws {
        let directory = "/tmp/wscope-composer-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        #expect(mkdir(directory, 0o700) == 0)
        defer {
            unlink(directory + "/fifo")
            unlink(directory + "/payload")
            rmdir(directory)
        }
        // Opening a FIFO for reading blocks until a writer comes, unless done non-blocking.
        #expect(mkfifo(directory + "/fifo", 0o600) == 0)
        #expect(throws: (any Error).self) { try ComposerForm.readFile(directory + "/fifo") }

        let path = directory + "/payload"
        func write(_ text: String) {
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            _ = text.utf8CString.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, text.utf8.count) }
            close(fd)
        }
        write("first")
        #expect(try ComposerForm.readFile(path) == Array("first".utf8))
        #expect(try ComposerForm.readFile(path) == Array("first".utf8))
        write("second, longer")
        #expect(try ComposerForm.readFile(path) == Array("second, longer".utf8))
    }

    @Test func tooManyFragments() {
        var form = ComposerForm(role: .server)
        form.payload.set(String(repeating: "x", count: ComposerForm.maximumFragments + 1))
        form.fragmentSize.set("1")
        #expect(form.build(role: .server) == .failure(field: .fragmentSize, message: "fragment size: 10001 fragments, at most 10000"))
    }
}

@Suite struct ComposerFormFlowTests {
    @Test func resendingASelectedFrameLoadsItIntoTheForm() throws {
        let ui = state(timeline([frameEvent("text:x;rsv2=1;fin=0;len=9"), frameEvent("binary:hex:000102feff", .incoming)]))
        ui.select(row: 2)
        ui.handle(.char("E"))
        #expect(ui.prompt == .form)
        #expect(ui.form.opcode == .text && !ui.form.fin && ui.form.rsv2 && ui.form.masked)
        #expect(ui.form.length.text == "9" && ui.form.payload.text == "x" && ui.form.maskKey.text.isEmpty)
        #expect(ui.formSpecs == ["text:x;fin=0;rsv2=1;len=9"])
        // Edit it: set FIN, then send.
        ui.focusForm(on: .fin)
        ui.handle(.char(" "))
        guard case .sendFrames(let frames, 1) = ui.handle(.enter).first else {
            Issue.record("expected frames")
            return
        }
        #expect(frames[0].wire[0] == 0xA1 && frames[0].wire[1] == 0x80 | 9)
        // An incoming binary frame: masked for us, payload as hex.
        ui.handle(.escape)
        ui.select(row: 3)
        ui.handle(.char("E"))
        #expect(ui.form.opcode == .binary && ui.form.masked && ui.form.payloadMode == .hex)
        #expect(ui.form.payload.text == "000102feff")
        #expect(ui.formSpecs == ["binary:hex:000102feff"])
        // Not a frame.
        ui.handle(.escape)
        ui.select(row: 0)
        ui.handle(.char("E"))
        #expect(ui.prompt == nil && ui.message?.text == "the selected row is not a frame")
        // Raw bytes we sent go to the composer line as a raw: spec.
        let raw = state(timeline([.rawSent(connection: 1, wire: [0x81, 0x00])]))
        raw.select(row: 2)
        raw.handle(.char("E"))
        #expect(raw.prompt == .composer && raw.editor.text == "raw:8100")
    }

    @Test func lineAndFormSwitch() {
        let ui = state(demoTimeline())
        ui.handle(.char("i"))
        ui.type("ping:are you there;rsv3=1")
        ui.handle(.tab)
        #expect(ui.prompt == .form)
        #expect(ui.form.opcode == .ping && ui.form.rsv3 && ui.form.payload.text == "are you there")
        #expect(ui.form.focus == .payload)
        ui.handle(.ctrl("t"))
        #expect(ui.prompt == .composer && ui.editor.text == "ping:are you there;rsv3=1")
        // Plain text becomes a text payload.
        ui.handle(.ctrl("u"))
        ui.type("just words: here")
        ui.handle(.tab)
        #expect(ui.form.opcode == .text && ui.form.payload.text == "just words: here")
        // raw: bytes have no fields.
        ui.handle(.escape)
        ui.handle(.char("i"))
        ui.type("raw:8100")
        ui.handle(.tab)
        #expect(ui.prompt == .composer)
        #expect(ui.message?.text == "cannot edit in the form: raw: bytes have no header fields to edit in the form")
        // Fragments cannot become one line.
        ui.handle(.ctrl("u"))
        ui.handle(.tab)
        ui.focusForm(on: .fragmentSize)
        ui.type("2")
        ui.handle(.ctrl("t"))
        #expect(ui.prompt == .form && ui.message?.text == "8 fragments are 8 specs: clear the fragment size first")
        // Esc closes the form and keeps it for the next time; Ctrl-R resets it.
        ui.handle(.escape)
        #expect(ui.prompt == nil)
        ui.handle(.char("m"))
        #expect(ui.form.fragmentSize.text == "2")
        ui.handle(.ctrl("r"))
        #expect(ui.form == ComposerForm(role: .client))
    }

    @Test func recallsSentFramesIntoTheForm() {
        let ui = state(demoTimeline())
        ui.handle(.char("i"))
        for index in 0..<102 {
            ui.type("text:m\(index)")
            ui.handle(.enter)
        }
        ui.type("plain words")
        ui.handle(.enter)
        #expect(ui.history.count == 100)
        ui.handle(.escape)
        ui.handle(.char("m"))
        ui.handle(.ctrl("p"))
        #expect(ui.form.payload.text == "plain words" && ui.form.opcode == .text)
        ui.handle(.ctrl("p"))
        #expect(ui.form.payload.text == "m101")
        #expect(ui.message?.text == "sent 2 ago: text:m101")
        for _ in 0..<200 { ui.handle(.pageUp) }
        #expect(ui.form.payload.text == "m3")  // the oldest of the last 100
        ui.handle(.ctrl("n"))
        #expect(ui.form.payload.text == "m4")
        // Sent from the form, then recalled in the line.
        ui.handle(.enter)
        ui.handle(.escape)
        ui.handle(.char("i"))
        ui.handle(.up)
        #expect(ui.editor.text == "text:m4")
    }

    @Test func quitAsksWhileRecording() {
        let ui = UIState(source: demoTimeline(), config: UIConfig(mode: "demo", endpoint: "x", recording: true), width: 120, height: 40)
        #expect(ui.handle(.char("q")) == [])
        #expect(ui.prompt == .confirmQuit)
        #expect(render(ui).line(39).hasPrefix("a recording is open: quit? (y/n)"))
        #expect(ui.handle(.char("n")) == [])
        #expect(ui.prompt == nil && ui.message?.text == "not quitting")
        ui.handle(.char("q"))
        #expect(ui.handle(.char("y")) == [.quit])
        // Ctrl-C does not ask; without a recording q does not ask.
        #expect(ui.handle(.ctrl("c")) == [.quit])
        ui.handle(.char("r"))
        #expect(!ui.recording)
        #expect(ui.handle(.char("q")) == [.quit])
    }

    @Test func helpListsTheFormKeysAndScrollsWhenShort() {
        let ui = state(demoTimeline(), width: 80, height: 24)
        ui.handle(.char("m"))
        ui.handle(.function(1))  // F1: `?` is text in the form
        #expect(ui.showsHelp)
        var screen = render(ui)
        #expect(screen.find("j/↓ PgDn more") != nil)
        #expect(screen.find("q  Ctrl-C") == nil)
        ui.handle(.pageDown)
        ui.handle(.pageDown)
        screen = render(ui)
        #expect(screen.find("q  Ctrl-C      quit (q asks first while recording)") != nil)
        #expect(screen.find("k/↑ back") != nil)
        ui.handle(.char("x"))
        #expect(!ui.showsHelp && ui.prompt == .form)
        // On the opcode (not a text field) ? opens the help too; in the payload it is text.
        ui.handle(.char("?"))
        #expect(ui.showsHelp)
        ui.handle(.escape)
        ui.handle(.backTab)
        ui.handle(.char("?"))
        #expect(!ui.showsHelp && ui.form.payload.text == "?")
        let tall = state(demoTimeline(), width: 120, height: 40)
        tall.handle(.char("?"))
        let all = render(tall)
        for key in ["m", "  Tab ↓  ↑", "  ← → Space", "  0-9 a-f", "  ^P ^N", "  ^T", "E", "e", "p", "c", "r"] {
            #expect(all.find("│ " + DisplayWidth.fit(key, 15)) != nil, "help lists \(key)")
        }
        #expect(all.find("any key closes") != nil)
    }
}
