import Glibc
import Inspector
import TerminalUI

/// The terminal UI's `r` key: while on, the session's events go to a recording file.
///
/// With `--record FILE` recording starts on, into FILE. Without it, the first `r` creates
/// `wscope-MODE-YYYYMMDD-HHMMSS.jsonl` (UTC) in the current directory and first writes every
/// event the session holds, so the file replays from the handshake on. Off stops writing;
/// on again appends to the same file (the events in between are not in it).
final class RecordingSwitch {
    private let session: Session
    private let header: RecordingHeader
    private var writer: RecordingWriter?
    private(set) var isOn = false
    private(set) var path: String?

    /// Starts recording into `path` when given; exits with one line when it cannot be created.
    init(session: Session, mode: String, endpoint: String, path: String?) {
        self.session = session
        header = RecordingHeader(mode: mode, endpoint: endpoint)
        if let path {
            do {
                try open(path)
            } catch {
                fail("\(error)")
            }
            isOn = true
        }
        session.addSink { [unowned self] entry in
            guard self.isOn, let writer = self.writer else { return }
            do {
                try writer.write(entry.event, tNs: entry.tNs)
            } catch {
                // The UI shows the state on its next change; the file keeps what it has.
                self.isOn = false
                self.writer = nil
                self.failure = "recording stopped: \(error)"
            }
        }
    }

    /// A write error seen by the sink, reported on the next toggle.
    private var failure: String?

    private func open(_ path: String) throws(RecordingError) {
        writer = try RecordingWriter(path: path, header: header, startMonotonicNanoseconds: session.startMonotonicNanoseconds)
        self.path = path
    }

    /// For `TerminalApp.Options.onRecordingChange`.
    func set(_ on: Bool) -> RecordingChange {
        if let failure {
            self.failure = nil
            return RecordingChange(isOn: false, message: failure, isError: true)
        }
        guard on else {
            isOn = false
            try? writer?.flush()
            return RecordingChange(isOn: false, message: "recording off (\(path ?? "") kept; r appends to it again)")
        }
        if writer == nil {
            let name = RecordingSwitch.freshName(mode: header.mode)
            do {
                try open(name)
                for entry in session.entries { try writer?.write(entry.event, tNs: entry.tNs) }
            } catch {
                writer = nil
                return RecordingChange(isOn: false, message: "cannot record: \(error)", isError: true)
            }
            isOn = true
            return RecordingChange(isOn: true, message: "recording to \(name), from the start of the session")
        }
        isOn = true
        return RecordingChange(isOn: true, message: "recording to \(path ?? "") again (appending)")
    }

    /// `wscope-MODE-YYYYMMDD-HHMMSS.jsonl`, with `-2`, `-3`... when that file exists.
    static func freshName(mode: String) -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let stamp = "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))-\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))"
        let base = "wscope-\(mode)-\(stamp)"
        var name = base + ".jsonl"
        var counter = 2
        while access(name, F_OK) == 0 {
            name = "\(base)-\(counter).jsonl"
            counter += 1
        }
        return name
    }
}
