import Glibc

// Thin helpers over Glibc. Swift's Glibc module does not import <sys/epoll.h>,
// <sys/signalfd.h> or `accept4` (it is built without _GNU_SOURCE), so those few calls are
// looked up once per event loop with dlsym and called through C function pointers, which
// keeps the C calling convention exact without a C shim target.

/// Linux calls that the Glibc module does not import.
struct LinuxCalls {
    typealias EpollCreate1 = @convention(c) (Int32) -> Int32
    typealias EpollCtl = @convention(c) (Int32, Int32, Int32, UnsafeMutableRawPointer?) -> Int32
    typealias EpollWait = @convention(c) (Int32, UnsafeMutableRawPointer?, Int32, Int32) -> Int32
    typealias SignalFD = @convention(c) (Int32, UnsafePointer<sigset_t>?, Int32) -> Int32
    typealias Accept4 = @convention(c) (
        Int32, UnsafeMutablePointer<sockaddr>?, UnsafeMutablePointer<socklen_t>?, Int32
    ) -> Int32

    let epollCreate1: EpollCreate1
    let epollCtl: EpollCtl
    let epollWait: EpollWait
    let signalfd: SignalFD
    let accept4: Accept4

    static func load() throws(TransportError) -> LinuxCalls {
        func symbol<F>(_ name: String, as type: F.Type) throws(TransportError) -> F {
            // A nil handle is RTLD_DEFAULT in glibc: search the global symbol scope.
            guard let address = dlsym(nil, name) else {
                throw TransportError(.system, "the C library has no \(name) (Linux with glibc is required)")
            }
            return unsafeBitCast(address, to: F.self)
        }
        return LinuxCalls(
            epollCreate1: try symbol("epoll_create1", as: EpollCreate1.self),
            epollCtl: try symbol("epoll_ctl", as: EpollCtl.self),
            epollWait: try symbol("epoll_wait", as: EpollWait.self),
            signalfd: try symbol("signalfd", as: SignalFD.self),
            accept4: try symbol("accept4", as: Accept4.self))
    }
}

/// Constants and the `struct epoll_event` layout from <sys/epoll.h>.
enum Epoll {
    static let readable: UInt32 = 0x001   // EPOLLIN
    static let writable: UInt32 = 0x004   // EPOLLOUT
    static let error: UInt32 = 0x008      // EPOLLERR
    static let hangUp: UInt32 = 0x010     // EPOLLHUP
    static let readHangUp: UInt32 = 0x2000  // EPOLLRDHUP

    static let add: Int32 = 1  // EPOLL_CTL_ADD
    static let delete: Int32 = 2  // EPOLL_CTL_DEL
    static let modify: Int32 = 3  // EPOLL_CTL_MOD

    // `struct epoll_event { uint32_t events; epoll_data_t data; }` is packed on x86
    // (12 bytes) and naturally aligned elsewhere (16 bytes).
    #if arch(x86_64) || arch(i386)
    static let eventSize = 12
    static let dataOffset = 4
    #else
    static let eventSize = 16
    static let dataOffset = 8
    #endif
}

/// `sizeof(struct signalfd_siginfo)`; `ssi_signo` is its first field.
let signalInfoSize = 128

@inline(__always) func errnoIsWouldBlock(_ code: Int32) -> Bool {
    code == EAGAIN || code == EWOULDBLOCK
}

func systemMessage(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "error \(code)" }
    return String(cString: text)
}

/// Nanoseconds on the monotonic clock.
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
}

extension Duration {
    /// Whole nanoseconds, clamped to 0 ... UInt64.max / 4 (about 146 years).
    var clampedNanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        if seconds < 0 || (seconds == 0 && attoseconds <= 0) { return 0 }
        let limit: UInt64 = .max / 4
        if UInt64(seconds) >= limit / 1_000_000_000 { return limit }
        return UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
    }

    /// "10 s", "1.5 s", "250 ms": for messages.
    var humanText: String {
        let nanoseconds = clampedNanoseconds
        if nanoseconds % 1_000_000_000 == 0 { return "\(nanoseconds / 1_000_000_000) s" }
        if nanoseconds >= 1_000_000_000 && nanoseconds % 100_000_000 == 0 {
            return "\(nanoseconds / 1_000_000_000).\(nanoseconds % 1_000_000_000 / 100_000_000) s"
        }
        let milliseconds = (nanoseconds + 999_999) / 1_000_000
        return "\(milliseconds) ms"
    }
}

// MARK: Socket addresses

/// A resolved socket address, copied out of getaddrinfo/accept so it outlives them.
struct SocketAddress {
    var storage = sockaddr_storage()
    var length: socklen_t = 0

    var family: Int32 { Int32(storage.ss_family) }

    init() {}

    init(_ address: UnsafePointer<sockaddr>, length: socklen_t) {
        self.length = min(length, socklen_t(MemoryLayout<sockaddr_storage>.size))
        withUnsafeMutableBytes(of: &storage) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(start: address, count: Int(self.length)))
        }
    }

    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafeBytes(of: storage) { raw in
            body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
        }
    }

    /// "127.0.0.1:80" or "[::1]:80"; an IPv4-mapped IPv6 address is shown as IPv4.
    var description: String {
        let (host, port) = numeric
        return joinHostPort(host, port)
    }

    var numeric: (host: String, port: Int) {
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        var service = [CChar](repeating: 0, count: 32)
        let status = withSockaddr { address, length in
            getnameinfo(address, length, &host, socklen_t(host.count), &service, socklen_t(service.count),
                        NI_NUMERICHOST | NI_NUMERICSERV)
        }
        guard status == 0 else { return ("?", 0) }
        var text = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if text.hasPrefix("::ffff:"), text.contains(".") { text.removeFirst(7) }
        let port = Int(String(decoding: service.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)) ?? 0
        return (text, port)
    }

    static func local(of fd: Int32) -> SocketAddress {
        var address = SocketAddress()
        address.length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &address.storage) { storage in
            storage.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &address.length) }
        }
        return address
    }

    static func remote(of fd: Int32) -> SocketAddress {
        var address = SocketAddress()
        address.length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &address.storage) { storage in
            storage.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &address.length) }
        }
        if status != 0 { address.length = 0 }
        return address
    }
}

/// "host:port", with an IPv6 host in brackets.
func joinHostPort(_ host: String, _ port: Int) -> String {
    host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
}

/// Resolves with getaddrinfo. Blocking, as documented for `TCPConnector.connect`.
func resolve(host: String, port: Int, passive: Bool) throws(TransportError) -> [SocketAddress] {
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    hints.ai_protocol = Int32(IPPROTO_TCP)
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0)
    var name = host
    if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
    var list: UnsafeMutablePointer<addrinfo>?
    let status: Int32
    if name.isEmpty || name == "*" {
        status = getaddrinfo(nil, String(port), &hints, &list)
    } else {
        status = getaddrinfo(name, String(port), &hints, &list)
    }
    guard status == 0 else {
        let reason = status == EAI_SYSTEM ? systemMessage(errno) : String(cString: gai_strerror(status))
        throw TransportError(.unresolvable, "cannot resolve host '\(host)': \(reason)")
    }
    defer { freeaddrinfo(list) }
    var addresses: [SocketAddress] = []
    var entry = list
    while let current = entry {
        if let address = current.pointee.ai_addr {
            let candidate = SocketAddress(address, length: current.pointee.ai_addrlen)
            // getaddrinfo may list the same address twice (e.g. /etc/hosts and DNS).
            if !addresses.contains(where: { $0.description == candidate.description }) {
                addresses.append(candidate)
            }
        }
        entry = current.pointee.ai_next
    }
    if addresses.isEmpty {
        throw TransportError(.unresolvable, "cannot resolve host '\(host)': no addresses")
    }
    return addresses
}

@inline(__always) func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) {
    var value = value
    _ = setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
}

/// The pending error of a socket (SO_ERROR), 0 when there is none.
func pendingSocketError(_ fd: Int32) -> Int32 {
    var code: Int32 = 0
    var length = socklen_t(MemoryLayout<Int32>.size)
    if getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) != 0 { return errno }
    return code
}

let streamSocketFlags = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
let acceptFlags = Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
