import Testing
import WebSocketTransport

struct URLParsingTests {
    struct Good: Sendable, CustomTestStringConvertible {
        let input: String
        let secure: Bool
        let host: String
        let port: Int
        let target: String
        let hostHeader: String
        let normalized: String
        var testDescription: String { input }
    }

    static let good: [Good] = [
        Good(input: "ws://example.com", secure: false, host: "example.com", port: 80, target: "/",
             hostHeader: "example.com", normalized: "ws://example.com/"),
        Good(input: "wss://example.com", secure: true, host: "example.com", port: 443, target: "/",
             hostHeader: "example.com", normalized: "wss://example.com/"),
        Good(input: "ws://127.0.0.1:9001/chat", secure: false, host: "127.0.0.1", port: 9001, target: "/chat",
             hostHeader: "127.0.0.1:9001", normalized: "ws://127.0.0.1:9001/chat"),
        Good(input: "WSS://Example.COM:443/A/b?Q=1&r=2", secure: true, host: "example.com", port: 443,
             target: "/A/b?Q=1&r=2", hostHeader: "example.com", normalized: "wss://example.com/A/b?Q=1&r=2"),
        Good(input: "ws://[::1]:8080/x", secure: false, host: "::1", port: 8080, target: "/x",
             hostHeader: "[::1]:8080", normalized: "ws://[::1]:8080/x"),
        Good(input: "wss://[2001:DB8::1]/", secure: true, host: "2001:db8::1", port: 443, target: "/",
             hostHeader: "[2001:db8::1]", normalized: "wss://[2001:db8::1]/"),
        Good(input: "ws://host:80/", secure: false, host: "host", port: 80, target: "/",
             hostHeader: "host", normalized: "ws://host/"),
        Good(input: "wss://host:80/", secure: true, host: "host", port: 80, target: "/",
             hostHeader: "host:80", normalized: "wss://host:80/"),
        Good(input: "ws://host?x=1", secure: false, host: "host", port: 80, target: "/?x=1",
             hostHeader: "host", normalized: "ws://host/?x=1"),
        Good(input: "ws://host/path?", secure: false, host: "host", port: 80, target: "/path",
             hostHeader: "host", normalized: "ws://host/path"),
        Good(input: "ws://host:/p", secure: false, host: "host", port: 80, target: "/p",
             hostHeader: "host", normalized: "ws://host/p"),
        Good(input: "  ws://host/a b  ", secure: false, host: "host", port: 80, target: "/a%20b",
             hostHeader: "host", normalized: "ws://host/a%20b"),
        Good(input: "ws://host/caf\u{E9}?q={\"a\":1}", secure: false, host: "host", port: 80,
             target: "/caf%C3%A9?q=%7B%22a%22:1%7D", hostHeader: "host", normalized: "ws://host/caf%C3%A9?q=%7B%22a%22:1%7D"),
        Good(input: "ws://host/a%2Fb?x=%41&y=a?b", secure: false, host: "host", port: 80, target: "/a%2Fb?x=%41&y=a?b",
             hostHeader: "host", normalized: "ws://host/a%2Fb?x=%41&y=a?b"),
        Good(input: "ws://my_host-1.local:65535", secure: false, host: "my_host-1.local", port: 65535, target: "/",
             hostHeader: "my_host-1.local:65535", normalized: "ws://my_host-1.local:65535/"),
    ]

    @Test(arguments: good) func parsesGoodURL(_ row: Good) throws {
        let url = try WebSocketURL.parse(row.input)
        #expect(url.isSecure == row.secure)
        #expect(url.host == row.host)
        #expect(url.port == row.port)
        #expect(url.requestTarget == row.target)
        #expect(url.hostHeader == row.hostHeader)
        #expect(url.description == row.normalized)
        // The normalized form parses back to the same URL.
        #expect(try WebSocketURL.parse(url.description) == url)
    }

    @Test func pathAndQueryParts() throws {
        let url = try WebSocketURL.parse("ws://h/a/b?c=d")
        #expect(url.path == "/a/b")
        #expect(url.query == "c=d")
        #expect(try WebSocketURL.parse("ws://h/a").query == nil)
    }

    static let bad: [(String, String)] = [
        ("", "empty URL: expected something like ws://host:port/path"),
        ("   ", "empty URL: expected something like ws://host:port/path"),
        ("http://example.com/chat",
         "'http://example.com/chat' is an HTTP URL; a WebSocket URL starts with ws:// (try ws://example.com/chat)"),
        ("HTTPS://example.com",
         "'HTTPS://example.com' is an HTTP URL; a WebSocket URL starts with wss:// (try wss://example.com)"),
        ("ftp://example.com", "unsupported scheme 'ftp' in 'ftp://example.com': a WebSocket URL starts with ws:// or wss://"),
        ("localhost:8080", "missing scheme in 'localhost:8080': write ws://localhost:8080 (or wss:// for TLS)"),
        ("example.com/chat", "missing scheme in 'example.com/chat': write ws://example.com/chat (or wss:// for TLS)"),
        ("ws:example.com", "missing '//' after 'ws:' in 'ws:example.com': expected ws://HOST[:PORT]/PATH"),
        ("ws:///chat", "missing host in 'ws:///chat': expected ws://HOST[:PORT]/PATH"),
        ("wss://", "missing host in 'wss://': expected wss://HOST[:PORT]/PATH"),
        ("ws://user:secret@example.com/",
         "user info ('...@' before the host) is not allowed in a WebSocket URL; send credentials in an Authorization header instead"),
        ("ws://example.com/chat#top",
         "fragment '#top' is not allowed in a WebSocket URL (RFC 6455 section 3); remove it, or write '#' as %23 if it belongs to the path or query"),
        ("ws://example.com#", "fragment '#' is not allowed in a WebSocket URL (RFC 6455 section 3); remove it, or write '#' as %23 if it belongs to the path or query"),
        ("ws://example.com:0/", "invalid port '0' in 'ws://example.com:0/': expected a number from 1 to 65535"),
        ("ws://example.com:65536", "invalid port '65536' in 'ws://example.com:65536': expected a number from 1 to 65535"),
        ("ws://example.com:http", "invalid port 'http' in 'ws://example.com:http': expected a number from 1 to 65535"),
        ("ws://example.com:-1", "invalid port '-1' in 'ws://example.com:-1': expected a number from 1 to 65535"),
        ("ws://::1:8080/", "IPv6 address '::1:8080' must be in brackets, e.g. ws://[::1]:8080/"),
        ("ws://[::1/", "unterminated IPv6 address '[::1': missing ']'"),
        ("ws://[::g]/", "invalid IPv6 address [::g]"),
        ("ws://[]/", "invalid IPv6 address []"),
        ("ws://[::1]x/", "unexpected 'x' after IPv6 address [::1]: expected ':PORT'"),
        ("ws://[fe80::1%25eth0]/", "IPv6 zone identifiers ('%…') are not supported: [fe80::1%25eth0]"),
        ("ws://exa mple.com/", "invalid character ' ' in host 'exa mple.com'"),
        ("ws://b\u{FC}cher.de/", "non-ASCII host name 'b\u{FC}cher.de' is not supported: use its punycode (xn--) form"),
        ("ws://:8080/", "missing host: expected a name or address before ':'"),
        ("ws://host/a%zzb", "invalid percent-encoding '%zz' in the path: '%' must be followed by two hex digits (write a literal '%' as %25)"),
        ("ws://host/?q=100%", "invalid percent-encoding '%' in the query: '%' must be followed by two hex digits (write a literal '%' as %25)"),
        ("ws://host/a\tb", "control character \\x09 in the path of the URL"),
    ]

    @Test(arguments: bad) func rejectsBadURL(_ input: String, _ message: String) {
        #expect(throws: URLError(message)) { try WebSocketURL.parse(input) }
    }

    // MARK: HostPort

    @Test func parsesHostPort() throws {
        #expect(try HostPort.parse("8080") == HostPort(host: "127.0.0.1", port: 8080))
        #expect(try HostPort.parse("8080", defaultHost: "0.0.0.0") == HostPort(host: "0.0.0.0", port: 8080))
        #expect(try HostPort.parse("0") == HostPort(host: "127.0.0.1", port: 0))
        #expect(try HostPort.parse("localhost:9001") == HostPort(host: "localhost", port: 9001))
        #expect(try HostPort.parse("0.0.0.0:80") == HostPort(host: "0.0.0.0", port: 80))
        #expect(try HostPort.parse("[::1]:8080") == HostPort(host: "::1", port: 8080))
        #expect(try HostPort.parse("[::]:8080") == HostPort(host: "::", port: 8080))
        #expect(try HostPort.parse(":8080") == HostPort(host: "127.0.0.1", port: 8080))
        #expect(try HostPort.parse(" Example.COM:1 ") == HostPort(host: "example.com", port: 1))
        #expect(try HostPort.parse("[::1]:8080").description == "[::1]:8080")
        #expect(try HostPort.parse("9000").description == "127.0.0.1:9000")
    }

    static let badHostPorts: [(String, String)] = [
        ("", "empty address: expected PORT, HOST:PORT or [IPv6]:PORT"),
        ("localhost", "missing port in 'localhost': expected localhost:PORT (or just PORT)"),
        ("localhost:", "missing port in 'localhost:': expected HOST:PORT"),
        ("localhost:http", "invalid port 'http' in 'localhost:http': expected a number from 0 to 65535"),
        ("70000", "invalid port '70000' in '70000': expected a number from 0 to 65535"),
        ("host:65536", "invalid port '65536' in 'host:65536': expected a number from 0 to 65535"),
        ("::1", "IPv6 address in '::1' must be in brackets: [IPv6]:PORT, e.g. [::1]:8080"),
        ("::1:8080", "IPv6 address in '::1:8080' must be in brackets: [IPv6]:PORT, e.g. [::1]:8080"),
        ("[::1]", "missing port in '[::1]': expected [::1]:PORT"),
        ("[::1", "unterminated IPv6 address in '[::1': missing ']'"),
        ("[zz]:80", "invalid IPv6 address [zz]"),
        ("ws://localhost:8080", "'ws://localhost:8080' is a URL; expected PORT, HOST:PORT or [IPv6]:PORT"),
        ("bad host:80", "invalid character ' ' in host 'bad host'"),
    ]

    @Test(arguments: badHostPorts) func rejectsBadHostPort(_ input: String, _ message: String) {
        #expect(throws: URLError(message)) { try HostPort.parse(input) }
    }
}
