import WebSocket
import WebSocketTransport

/// One human-readable line per session event, for `--no-tui`. Peer bytes pass through
/// `SafeText`, so nothing a peer sends can act on the terminal.
public enum EventLine {
    /// Longest payload preview in characters.
    public static let previewLimit = 80

    public static func format(_ event: SessionEvent) -> String {
        switch event {
        case .listening(let address):
            return "listening on \(address)"
        case .connecting(let url):
            return "connecting to \(url)"
        case .opened(let id, let peer, let request, _, let subprotocol, let extensions):
            let target = requestTarget(request)
            var line = "#\(id) open \(peer) \(SafeText.escape(target, limit: 200))"
            if let subprotocol { line += " protocol=\(SafeText.escape(subprotocol))" }
            if let extensions { line += " extensions=\(SafeText.escape(extensions))" }
            return line
        case .tls(let id, let info):
            return "#\(id) " + tls(info)
        case .handshakeFailed(let id, let peer, let reason):
            return "#\(id) handshake failed \(peer): \(SafeText.escape(reason))"
        case .frame(let id, let direction, let header, let payload, _):
            return "#\(id) \(direction == .incoming ? "<-" : "->") \(describe(header)) \(preview(header, payload))"
        case .message(let id, let direction, let opcode, let payload):
            let header = Header(fin: true, opcode: opcode, length: UInt64(payload.count))
            let arrow = direction == .incoming ? "<=" : "=>"
            return "#\(id) \(arrow) \(opcode.name.padding(6)) message len=\(payload.count) \(preview(header, payload))"
        case .rawSent(let id, let wire):
            let shown = wire.prefix(previewLimit / 2)
            return "#\(id) -> raw    \(wire.count) bytes hex:" + SafeText.hex(Array(shown)) + (wire.count > shown.count ? "…" : "")
        case .violation(let id, let description, let code, _):
            return "#\(id) protocol violation: \(description); closing with \(code.rawValue) (\(code.meaning))"
        case .closed(let id, let code, let reason, let clean):
            var line = "#\(id) closed"
            if let code { line += " \(code.rawValue) (\(code.meaning))" }
            if !reason.isEmpty { line += " \"\(SafeText.escape(reason))\"" }
            line += clean ? " cleanly" : " without closing handshake"
            return line
        case .error(let id, let message):
            return (id.map { "#\($0) " } ?? "") + "error: \(SafeText.escape(message))"
        }
    }

    /// `tls TLSv1.3 TLS_AES_256_GCM_SHA384 alpn=http/1.1 sni=example.com peer="CN=example.com" verified`.
    /// A peer certificate that was not checked says so loudly; a peer that sent none
    /// (a client of a server that does not ask for one) shows no `peer=`.
    public static func tls(_ info: TLSInfo) -> String {
        var line = "tls \(SafeText.escape(info.version, limit: 40)) \(SafeText.escape(info.cipher, limit: 80))"
        if let alpn = info.alpn { line += " alpn=\(SafeText.escape(alpn, limit: 80))" }
        if let serverName = info.serverName { line += " sni=\(SafeText.escape(serverName, limit: 200))" }
        if let subject = info.peerSubject {
            line += " peer=\"\(SafeText.escape(subject, limit: 200))\""
            line += info.verified ? " verified" : " NOT VERIFIED"
        } else {
            line += " no peer certificate"
        }
        return line
    }

    /// `text FIN RSV1 MASK=37fa213d len=5`: the header's fields, flags only when set.
    public static func describe(_ header: Header) -> String {
        var parts = [header.opcode.name.padding(6)]
        parts.append(header.fin ? "FIN" : "---")
        var flags = ""
        if header.rsv1 { flags += " RSV1" }
        if header.rsv2 { flags += " RSV2" }
        if header.rsv3 { flags += " RSV3" }
        if header.masked {
            flags += " MASK=" + SafeText.hex(header.maskKeyBytes)
        }
        return parts.joined(separator: " ") + flags + " len=\(header.length)"
    }

    /// A quoted, escaped preview of the payload; close frames show code and reason.
    public static func preview(_ header: Header, _ payload: [UInt8]) -> String {
        if header.opcode == .close {
            switch CloseBody.decode(payload) {
            case .success(let body):
                guard let code = body.code else { return "(no status)" }
                return "\(code.rawValue) (\(code.meaning))" + (body.reason.isEmpty ? "" : " \"\(SafeText.escape(body.reason, limit: previewLimit))\"")
            case .failure(let violation):
                return "invalid close body: \(violation.description)"
            }
        }
        if payload.isEmpty { return "" }
        if header.opcode == .binary || header.rsv1 || !UTF8Validator.isValid(payload) {
            let shown = payload.prefix(previewLimit / 2)
            return "hex:" + SafeText.hex(Array(shown)) + (payload.count > shown.count ? "…" : "")
        }
        return "\"" + SafeText.escape(payload, limit: previewLimit) + "\""
    }

    private static func requestTarget(_ request: String) -> String {
        let firstLine = request.split(separator: "\r\n", maxSplits: 1).first.map(String.init) ?? ""
        let parts = firstLine.split(separator: " ")
        return parts.count >= 2 ? String(parts[1]) : firstLine
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
