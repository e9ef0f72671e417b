import Inspector
import Testing
import WebSocket
@testable import TerminalUI

/// The Payload pane of a frame with RSV1 set shows the message it belongs to as
/// permessage-deflate gave it back, next to the compressed size.
@Suite struct DecompressedPaneTests {
    /// "Hello" compressed with a raw DEFLATE stream, its 00 00 ff ff tail removed (RFC 7692 7.2.3.1).
    static let compressedHello = "f248cdc9c90700"

    @Test func anIncomingCompressedFrameShowsItsMessageInflated() {
        let timeline = timeline([
            frameEvent("text:hex:\(Self.compressedHello);rsv1=1", .incoming),
            .message(connection: 1, direction: .incoming, opcode: .text, payload: Array("Hello".utf8)),
        ])
        let ui = state(timeline, mode: "connect")
        ui.handle(.char("k"))
        let lines = ui.content(.payload, width: 100).plainLines
        #expect(lines.contains("decompressed (RSV1, permessage-deflate): 5 bytes from 7 compressed bytes"), "\(lines)")
        #expect(lines.contains("text, 5 bytes"))
        #expect(lines.contains("Hello"))
        // The compressed bytes are not decoded as text.
        #expect(!lines.contains { $0.contains("\\xf2") })
        let screen = render(ui)
        #expect(screen.lines.contains { $0.contains("decompressed (RSV1, permessage-deflate)") })
    }

    @Test func anOutgoingCompressedFrameFindsTheMessageRecordedBeforeIt() {
        // A sent message is recorded when it is handed to the connection, before its frames.
        let timeline = timeline([
            .message(connection: 1, direction: .outgoing, opcode: .text, payload: Array("Hello".utf8)),
            frameEvent("text:hex:\(Self.compressedHello);rsv1=1"),
            frameEvent("text:hex:\(Self.compressedHello);rsv1=1", .incoming),
            .message(connection: 1, direction: .incoming, opcode: .text, payload: Array("Hello".utf8)),
        ])
        let ui = state(timeline, mode: "connect")
        let sent = 3  // connecting, opened, message, then the sent frame
        #expect(ui.inflatedMessage(ofFrameAt: sent)?.tNs == timeline.entries[2].tNs)
        #expect(ui.inflatedMessage(ofFrameAt: sent + 1)?.tNs == timeline.entries[5].tNs)
        // Not a compressed frame, or not a frame at all: no message.
        #expect(ui.inflatedMessage(ofFrameAt: 2) == nil)
        #expect(ui.inflatedMessage(ofFrameAt: 1) == nil)
    }

    @Test func aFragmentedMessageAndOtherConnectionsInBetween() {
        let timeline = timeline([
            frameEvent("text:hex:f248cd;rsv1=1;fin=0", .incoming),
            frameEvent("ping:x", .incoming),
            frameEvent("text:other", .incoming, connection: 2),
            .message(connection: 2, direction: .incoming, opcode: .text, payload: Array("other".utf8)),
            frameEvent("cont:hex:c9c90700", .incoming),
            .message(connection: 1, direction: .incoming, opcode: .text, payload: Array("Hello".utf8)),
        ])
        let ui = state(timeline, mode: "listen")
        let message = ui.inflatedMessage(ofFrameAt: 2)
        guard case .message(1, .incoming, .text, let payload)? = message?.event else {
            Issue.record("no message for the first fragment: \(String(describing: message))")
            return
        }
        #expect(payload == Array("Hello".utf8))
        let lines = Details.payload(timeline.entries[2], message: message).map(\.plainText)
        #expect(lines.first == "decompressed (RSV1, permessage-deflate): 5 bytes from this frame's 3 compressed bytes and its continuations")
        #expect(lines.contains("Hello"))
    }

    @Test func aCompressedFrameWhoseMessageWasNotRecordedSaysSo() {
        // The next data frame starts another message before any message was recorded
        // (a violation cut the first one short, say).
        let timeline = timeline([
            frameEvent("text:hex:\(Self.compressedHello);rsv1=1", .incoming),
            frameEvent("text:plain", .incoming),
            .message(connection: 1, direction: .incoming, opcode: .text, payload: Array("plain".utf8)),
        ])
        let ui = state(timeline, mode: "connect")
        #expect(ui.inflatedMessage(ofFrameAt: 2) == nil)
        ui.handle(.char("k"))
        ui.handle(.char("k"))
        let lines = ui.content(.payload, width: 100).plainLines
        #expect(lines.first == "RSV1 set: compressed payload, shown as received (its message was not recorded)", "\(lines)")
        #expect(!lines.contains { $0.contains("decompressed") })
    }
}

extension PaneContent {
    var plainLines: [String] {
        guard case .lines(let lines) = self else { return [] }
        return lines.map(\.plainText)
    }
}
