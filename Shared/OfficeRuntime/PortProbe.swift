#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether an address:port can be listened on, checked before the office starts anything, so a
/// busy port is a clear message and an immediate exit instead of a half-started office.
enum PortProbe {
    /// `true` when binding `host:port` fails because something else listens there.
    static func inUse(host: String, port: Int) -> Bool {
        guard port > 0 else { return false }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let first = result else { return false }
        defer { freeaddrinfo(result) }
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            let fd = socket(current.pointee.ai_family, current.pointee.ai_socktype, current.pointee.ai_protocol)
            if fd >= 0 {
                defer { close(fd) }
                // As the server binds: with SO_REUSEADDR, so a socket in TIME_WAIT does not count.
                var one: Int32 = 1
                _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
                if bind(fd, current.pointee.ai_addr, current.pointee.ai_addrlen) != 0 && errno == EADDRINUSE { return true }
            }
            entry = current.pointee.ai_next
        }
        return false
    }
}
