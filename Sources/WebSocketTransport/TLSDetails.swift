import COpenSSL
import Glibc

/// Reading negotiated parameters and certificates out of OpenSSL, for `TLSInfo` and for
/// error messages. Certificate contents are peer data: decoded leniently, never trusted.
enum TLSDetails {
    static func info(of ssl: OpaquePointer, isServer: Bool, sentServerName: String?, verified: Bool) -> TLSInfo {
        let version = SSL_get_version(ssl).map { String(cString: $0) } ?? "?"
        let cipher = SSL_get_current_cipher(ssl).flatMap { SSL_CIPHER_get_name($0) }.map { String(cString: $0) } ?? "?"
        var alpnData: UnsafePointer<UInt8>?
        var alpnLength: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &alpnData, &alpnLength)
        let alpn = alpnData.flatMap { data in
            alpnLength > 0 ? String(decoding: UnsafeBufferPointer(start: data, count: Int(alpnLength)), as: UTF8.self) : nil
        }
        let serverName: String?
        if isServer {
            serverName = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name).map { String(cString: $0) }
        } else {
            serverName = sentServerName.flatMap { isIPAddress($0) ? nil : $0 }
        }
        let peer = SSL_get0_peer_certificate(ssl)
        return TLSInfo(
            version: version, cipher: cipher, alpn: alpn, serverName: serverName,
            peerSubject: peer.flatMap { nameText(X509_get_subject_name($0)) },
            peerIssuer: peer.flatMap { nameText(X509_get_issuer_name($0)) },
            verified: verified && peer != nil)
    }

    /// "CN=localhost,O=Example" (RFC 2253 order).
    static func nameText(_ name: OpaquePointer?) -> String? {
        guard let name, let bio = BIO_new(BIO_s_mem()) else { return nil }
        defer { BIO_free(bio) }
        guard X509_NAME_print_ex(bio, name, 0, wscope_name_print_flags()) >= 0 else { return nil }
        return bioText(bio)
    }

    /// Everything in a memory BIO as text (invalid UTF-8 replaced).
    static func bioText(_ bio: OpaquePointer) -> String {
        var bytes: [UInt8] = []
        withUnsafeTemporaryAllocation(byteCount: 512, alignment: 1) { chunk in
            while true {
                let count = BIO_read(bio, chunk.baseAddress, Int32(chunk.count))
                guard count > 0 else { return }
                bytes += UnsafeRawBufferPointer(start: chunk.baseAddress, count: Int(count))
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The leaf certificate the peer sent, even when verification failed (the session
    /// keeps it only on success; the chain is kept either way). Not retained.
    static func peerLeaf(_ ssl: OpaquePointer) -> OpaquePointer? {
        if let leaf = SSL_get0_peer_certificate(ssl) { return leaf }
        guard let chain = SSL_get_peer_cert_chain(ssl), wscope_x509_stack_count(chain) > 0 else { return nil }
        return wscope_x509_stack_value(chain, 0)
    }

    /// The last certificate of the chain the peer sent (whose issuer was not found).
    static func peerTop(_ ssl: OpaquePointer) -> OpaquePointer? {
        guard let chain = SSL_get_peer_cert_chain(ssl) else { return peerLeaf(ssl) }
        let count = wscope_x509_stack_count(chain)
        return count > 0 ? wscope_x509_stack_value(chain, count - 1) : peerLeaf(ssl)
    }

    /// The names a certificate is for: its subjectAltName DNS names and IP addresses,
    /// else its common name.
    static func certificateNames(_ certificate: OpaquePointer) -> [String] {
        var names: [String] = []
        if let raw = X509_get_ext_d2i(certificate, NID_subject_alt_name, nil, nil) {
            let list = OpaquePointer(raw)
            defer { GENERAL_NAMES_free(list) }
            for index in 0..<wscope_general_names_count(list) {
                var data: UnsafePointer<UInt8>?
                var length: Int32 = 0
                let type = wscope_general_name(list, index, &data, &length)
                guard let data, length > 0 else { continue }
                let bytes = UnsafeBufferPointer(start: data, count: Int(length))
                if type == GEN_DNS {
                    names.append(String(decoding: bytes, as: UTF8.self))
                } else if type == GEN_IPADD, let address = ipText(bytes) {
                    names.append(address)
                }
            }
        }
        if names.isEmpty, let subject = X509_get_subject_name(certificate) {
            let index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1)
            if index >= 0, let entry = X509_NAME_get_entry(subject, index), let value = X509_NAME_ENTRY_get_data(entry),
               let data = ASN1_STRING_get0_data(value) {
                let length = Int(ASN1_STRING_length(value))
                if length > 0 { names.append(String(decoding: UnsafeBufferPointer(start: data, count: length), as: UTF8.self)) }
            }
        }
        return names
    }

    static func ipText(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard bytes.count == 4 || bytes.count == 16, let base = bytes.baseAddress else { return nil }
        var text = [CChar](repeating: 0, count: 64)
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        guard inet_ntop(family, base, &text, socklen_t(text.count)) != nil else { return nil }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func timeText(_ time: UnsafePointer<ASN1_TIME>?) -> String? {
        guard let time, let bio = BIO_new(BIO_s_mem()) else { return nil }
        defer { BIO_free(bio) }
        guard ASN1_TIME_print(bio, time) == 1 else { return nil }
        return bioText(bio)
    }

    /// A failed verification (`SSL_get_verify_result`) in words.
    static func verificationFailure(_ result: Int32, ssl: OpaquePointer, expectedName: String?) -> String {
        let leaf = peerLeaf(ssl)
        switch result {
        case X509_V_ERR_CERT_HAS_EXPIRED:
            if let leaf, X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0,
               let date = timeText(X509_get0_notAfter(leaf)) {
                return "certificate has expired (on \(date))"
            }
            return "certificate has expired"
        case X509_V_ERR_CERT_NOT_YET_VALID:
            if let leaf, X509_cmp_current_time(X509_get0_notBefore(leaf)) > 0,
               let date = timeText(X509_get0_notBefore(leaf)) {
                return "certificate is not yet valid (from \(date))"
            }
            return "certificate is not yet valid"
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
            return "unknown certificate authority (self-signed certificate)"
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
            return "unknown certificate authority (self-signed certificate in the chain)"
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT,
             X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
            if let top = peerTop(ssl), let issuer = nameText(X509_get_issuer_name(top)), !issuer.isEmpty {
                return "unknown certificate authority (issuer '\(issuer)' is not trusted)"
            }
            return "unknown certificate authority (untrusted issuer)"
        case X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH:
            let kind = result == X509_V_ERR_HOSTNAME_MISMATCH ? "hostname" : "IP address"
            var names = leaf.map(certificateNames) ?? []
            let total = names.count
            if names.count > 4 { names = Array(names.prefix(4)) + ["\(total - 4) more"] }
            let listed = names.isEmpty ? "no name" : names.joined(separator: ", ")
            if let expectedName {
                return "\(kind) mismatch (certificate is for \(listed), not \(expectedName))"
            }
            return "\(kind) mismatch (certificate is for \(listed))"
        case X509_V_ERR_CERT_REVOKED:
            return "certificate has been revoked"
        case X509_V_ERR_CERT_SIGNATURE_FAILURE, X509_V_ERR_CRL_SIGNATURE_FAILURE:
            return "certificate signature is invalid"
        case X509_V_ERR_INVALID_PURPOSE:
            return "certificate is not meant for this use (key usage)"
        case X509_V_ERR_INVALID_CA:
            return "an issuing certificate is not a certificate authority"
        case X509_V_ERR_EE_KEY_TOO_SMALL, X509_V_ERR_CA_KEY_TOO_SMALL:
            return "certificate key is too small"
        case X509_V_ERR_CA_MD_TOO_WEAK:
            return "certificate signature algorithm is too weak"
        default:
            let text = X509_verify_cert_error_string(Int(result)).map { String(cString: $0) } ?? "error \(result)"
            return "certificate verification failed (\(text))"
        }
    }
}
