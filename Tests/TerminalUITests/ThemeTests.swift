import Glibc
import Testing
@testable import TerminalUI

@Suite struct ThemeTests {
    /// themes/ at the package root, found from this file's path.
    static let themesDirectory: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)  // Tests/TerminalUITests/ThemeTests.swift
        return parts.joined(separator: "/") + "/themes"
    }()

    static func readText(_ path: String) -> String? {
        guard let bytes = try? Theme.readFile(path) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test(arguments: Theme.builtinNames)
    func builtinThemesParseAndSetEveryRole(name: String) throws {
        let text = try #require(Theme.builtinText(name))
        let theme = try Theme.parse(text, name: name, fallback: nil)
        for role in StyleRole.allCases {
            #expect(theme.styles[role] != nil, "\(name) does not set \(role.rawValue)")
        }
    }

    @Test(arguments: Theme.builtinNames)
    func shippedFilesMatchTheBuiltins(name: String) throws {
        let file = try #require(Self.readText(Self.themesDirectory + "/\(name).theme"), "themes/\(name).theme is missing")
        #expect(file == Theme.builtinText(name)! + "\n")
    }

    @Test func monochromeHasNoColours() {
        for style in Theme.monochrome.styles.values {
            #expect(style.foreground.isDefault && style.background.isDefault)
        }
        #expect(Theme.monochrome[.selected].attributes.contains(.reverse))
    }

    @Test func parsesColoursAndAttributes() throws {
        let theme = try Theme.parse("""
            # a comment
            status   = white on blue bold   # trailing comment
            selected = reverse
            error    = bright-red underline
            match    = 208 on color17
            label    = #ff0000
            """, name: "t", fallback: nil)
        #expect(theme[.status] == Style(foreground: .white, background: .blue, attributes: .bold))
        #expect(theme[.selected] == Style(attributes: .reverse))
        #expect(theme[.error] == Style(foreground: Color(index: 9)!, attributes: .underline))
        #expect(theme[.match] == Style(foreground: Color(index: 208)!, background: Color(index: 17)!))
        #expect(theme[.label].foreground == Color(index: 196)!)
    }

    @Test func missingRolesComeFromTheBase() throws {
        let theme = try Theme.parse("base = monochrome\nstatus = red\n", name: "t", fallback: .standard)
        #expect(theme[.status] == Style(foreground: .red))
        #expect(theme[.selected] == Theme.monochrome[.selected])
        let defaulted = try Theme.parse("status = red\n", name: "t", fallback: .standard)
        #expect(defaulted[.selected] == Theme.standard[.selected])
    }

    @Test func errorsNameTheLine() {
        #expect(throws: ThemeError(source: "my.theme", line: 3, message: "unknown colour or attribute 'reed'")) {
            try Theme.parse("# x\nstatus = red\nerror = reed\n", name: "my", source: "my.theme", fallback: nil)
        }
        #expect(throws: ThemeError(source: "t", line: 1, message: "unknown style role 'statuss' (did you mean 'status'?)")) {
            try Theme.parse("statuss = red", name: "t", fallback: nil)
        }
        #expect(throws: ThemeError(source: "t", line: 2, message: "expected 'ROLE = STYLE', got 'status red'")) {
            try Theme.parse("\nstatus red", name: "t", fallback: nil)
        }
        #expect(throws: ThemeError(source: "t", line: 1, message: "'on' needs a background colour")) {
            try Theme.parse("status = red on", name: "t", fallback: nil)
        }
        #expect(throws: ThemeError(source: "t", line: 1, message: "unknown base theme 'nope' (built-in: default, light, high-contrast, monochrome)")) {
            try Theme.parse("base = nope", name: "t", fallback: nil)
        }
        let error = ThemeError(source: "my.theme", line: 3, message: "unknown colour or attribute 'reed'")
        #expect(error.description == "my.theme:3: unknown colour or attribute 'reed'")
    }

    @Test func loadsByNameOrFile() throws {
        #expect(try Theme.load("light").name == "light")
        let theme = try Theme.load("/x/custom.theme", readFile: { _ in Array("status = green\n".utf8) })
        #expect(theme.name == "custom")
        #expect(theme[.status] == Style(foreground: .green))
        #expect(throws: ThemeError.self) { try Theme.load("/no/such/file.theme") }
        #expect(throws: ThemeError(source: "f", line: 1, message: "unknown colour or attribute 'blurple'")) {
            try Theme.load("f", readFile: { _ in Array("status = blurple".utf8) })
        }
    }

    @Test func serializedThemeParsesBack() throws {
        for name in Theme.builtinNames {
            let theme = Theme.builtin(name)!
            let again = try Theme.parse(theme.serialized(), name: name, fallback: nil)
            #expect(again.styles == theme.styles)
        }
    }

    @Test func noColorAndEightColourVariants() {
        let plain = Theme.standard.withoutColors
        for style in plain.styles.values { #expect(style.foreground.isDefault && style.background.isDefault) }
        #expect(plain[.status].attributes == Theme.standard[.status].attributes)
        let basic = Theme.standard.basicColors
        for style in basic.styles.values {
            #expect(style.foreground.index < 8 && style.background.index < 8)
        }
        #expect(Color(index: 196)!.basic == .red)
        #expect(Color(index: 46)!.basic == .green)
        #expect(Color(index: 21)!.basic == .blue)
        #expect(Color(index: 231)!.basic == .white)
        #expect(Color(index: 16)!.basic == .black)
        #expect(Color(index: 12)!.basic == .blue)
    }

    /// Every built-in theme draws the selected row differently from the others and makes
    /// control frames and errors stand out from data rows.
    @Test(arguments: Theme.builtinNames)
    func rolesThatMustDifferDoDiffer(name: String) {
        let theme = Theme.builtin(name)!
        #expect(theme[.selected] != theme[.row])
        #expect(theme[.control] != theme[.row])
        #expect(theme[.error] != theme[.row])
        #expect(theme[.error] != theme[.control])
        #expect(theme[.incoming] != theme[.outgoing])
    }
}
