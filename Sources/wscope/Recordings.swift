import ArgumentParser
import Glibc
import Inspector

struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a recording, one event per line (--json: JSON Lines).")

    @Argument(help: "A recording made with --record.")
    var file: String

    @Flag(name: .long, help: "Print JSON Lines (the recording format, normalised) instead of text.")
    var json = false

    @Flag(name: .customLong("skip-bad-lines"), help: "Skip lines that are not valid events (each is reported) instead of stopping.")
    var skipBadLines = false

    func run() throws {
        let reader: RecordingReader
        do {
            reader = try RecordingReader(path: file, options: .init(skipBadLines: skipBadLines))
        } catch {
            fail("\(file): \(error)")
        }
        let summary: RecordingDump.Summary
        do {
            summary = json ? try RecordingDump.writeJSON(from: reader, to: 1) : try RecordingDump.writeText(from: reader, to: 1)
        } catch {
            fail("\(file): \(error)\(skipBadLines ? "" : " (--skip-bad-lines continues past bad lines)")")
        }
        for warning in summary.warnings { StandardOutput.write("wscope: \(file): warning: \(warning)\n", fd: 2) }
    }
}

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert between a recording and a HAR file (Chrome DevTools _webSocketMessages).",
        discussion: "The input's format is read from its content; OUT ending in .har gets HAR, anything else a recording.")

    @Argument(help: "A recording or a HAR file.")
    var input: String

    @Argument(help: "The file to write.")
    var output: String

    @Flag(name: .customLong("skip-bad-lines"), help: "Skip bad lines of an input recording instead of stopping.")
    var skipBadLines = false

    func run() throws {
        let inflater = try? Self.inflater(for: input)
        do {
            let result = try HAR.convert(
                input: input, output: output, skipBadLines: skipBadLines,
                decompress: inflater.map { inflater in { inflater.inflate(connection: $0, direction: $1, compressed: $2) } })
            for warning in result.warnings { StandardOutput.write("wscope: \(input): warning: \(warning)\n", fd: 2) }
            for note in result.report.notes { StandardOutput.write("wscope: note: \(note)\n", fd: 2) }
            let what = result.conversion == .recordingToHAR ? "HAR" : "recording"
            StandardOutput.writeLine(
                "wrote \(output) (\(what)): \(result.report.connections) connection(s), \(result.report.messages) message(s)")
        } catch {
            fail("\(error)")
        }
    }

    /// Reads the open events first, so compressed messages can be shown inflated in HAR.
    static func inflater(for path: String) throws -> RecordingInflater {
        let reader = try RecordingReader(path: path, options: .init(skipBadLines: true))
        let inflater = RecordingInflater(mode: reader.header.mode)
        while let recorded = try reader.next() {
            if case .opened(let connection, _, _, _, _, let extensions) = recorded.event {
                inflater.opened(connection: connection, extensions: extensions)
            }
        }
        return inflater
    }
}
