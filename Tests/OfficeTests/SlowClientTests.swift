import Foundation
import Kafka
import OfficeRuntime
import OriginOffice
import Testing
import TransferDomain

#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Connections that send half a request and stop are closed after the idle timeout; a connection
/// limit keeps them from taking every slot for long.
@Suite("Slow clients (mock cluster)", .timeLimit(.minutes(1)))
struct SlowClientTests {
    /// A TCP connection to 127.0.0.1:`port` that has sent `bytes`.
    static func connect(_ port: Int, sending bytes: String) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        _ = bytes.withCString { send(fd, $0, strlen($0), 0) }
        return fd
    }

    /// Whether the server closed `fd` within `limit` (a read returns end of file).
    static func closedByServer(_ fd: Int32, within limit: Double) -> Bool {
        var timeout = timeval(tv_sec: Int(limit), tv_usec: Int((limit - Double(Int(limit))) * 1_000_000))
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 512)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count == 0 { return true }
            if count < 0 { return errno == ECONNRESET }
        }
    }

    @Test("500 half-sent requests are all closed after the idle timeout, a real request is served meanwhile, an unknown method gets a problem document")
    func slowloris() async throws {
        let cluster = try KafkaMockCluster()
        try Support.createTopics(cluster)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("slow-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        let configuration = try Support.originSettings(cluster: cluster.bootstrapServers, folder: folder, ["http.idle.timeout.seconds": "2", "http.max.connections": "100"])
        let process = try await OfficeProcess<OriginOffice>(configuration: configuration, logger: Support.logger)
        let running = Task { try await process.run() }
        let port = try #require(await process.boundPort.value())
        let held = (0..<500).map { _ in Self.connect(port, sending: "GET /v1/cases HTTP/1.1\r\nHost: x\r\nX-Slow: ") }
        defer { held.forEach { close($0) } }
        // A real request gets through while they are held (slots free up as the idle timeout closes them).
        let started = ContinuousClock.now
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/cases")!)
        request.setValue("Bearer \(try await Support.token())", forHTTPHeaderField: "Authorization")
        let (data, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 200, "\(String(decoding: data, as: UTF8.self))")
        #expect(ContinuousClock.now - started < .seconds(20))
        let closed = try await Support.offPool { held.filter { Self.closedByServer($0, within: 15) }.count }
        #expect(closed == held.count, "every half-sent request is closed by the server")
        // A method HTTP/1.1 does not know: a problem document, like every other error.
        let unknown = Self.connect(port, sending: "FROB /v1/cases HTTP/1.1\r\nHost: x\r\n\r\n")
        defer { close(unknown) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        _ = setsockopt(unknown, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let answer = try await Support.offPool {
            var buffer = [UInt8](repeating: 0, count: 2048)
            var answer = ""
            while true {
                let count = recv(unknown, &buffer, buffer.count, 0)
                if count <= 0 { break }
                answer += String(decoding: buffer.prefix(count), as: UTF8.self)
            }
            return answer
        }
        #expect(answer.hasPrefix("HTTP/1.1 400"), "\(answer)")
        #expect(answer.contains("application/problem+json") && answer.contains("\"status\":400"), "\(answer)")
        await process.serviceGroup.triggerGracefulShutdown()
        try await running.value
    }
    @Test("issue 21, item 21: with slow clients holding every connection of the API port (and most of its backlog), /health there waits, but /health answers at once on the operations port")
    func operationsPortHeadroom() async throws {
        let cluster = try KafkaMockCluster()
        try Support.createTopics(cluster)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ops-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        let configuration = try Support.originSettings(cluster: cluster.bootstrapServers, folder: folder, ["http.operations.port": "0", "http.idle.timeout.seconds": "30", "http.max.connections": "50"])
        let process = try await OfficeProcess<OriginOffice>(configuration: configuration, logger: Support.logger)
        let running = Task { try await process.run() }
        let port = try #require(await process.boundPort.value())
        let operations = try #require(await process.operationsPort.value())
        #expect(operations != port)
        // 50 served and 250 waiting in the listen backlog (connects beyond the backlog would block).
        let held = try await Support.offPool { (0..<300).map { _ in Self.connect(port, sending: "GET /v1/cases HTTP/1.1\r\nHost: x\r\nX-Slow: ") } }
        defer { held.forEach { close($0) } }
        // The API port is full for the next 30 s: /health there does not answer within 3 s.
        var blocked = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/health")!)
        blocked.timeoutInterval = 3
        #expect(await (try? URLSession.shared.data(for: blocked)) == nil, "the API port is taken by the slow clients")
        // (/metrics is served beside it by the executables, which have a metrics registry.)
        for path in ["health"] {
            let started = ContinuousClock.now
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(operations)/\(path)")!)
            request.timeoutInterval = 20
            let (_, response) = try await URLSession.shared.data(for: request)
            #expect([200, 503].contains((response as? HTTPURLResponse)?.statusCode ?? 0), "\(path) answers")
            // Well before the slow clients' 30 s; not 3 s, which a fully loaded 2-core machine
            // running the whole suite in parallel once exceeded (3.3 s).
            #expect(ContinuousClock.now - started < .seconds(10), "\(path) at once, not after the slow clients")
        }
        // Only /health and /metrics there.
        let (_, other) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(operations)/v1/cases")!)
        #expect((other as? HTTPURLResponse)?.statusCode == 404)
        await process.serviceGroup.triggerGracefulShutdown()
        try await running.value
    }
}
