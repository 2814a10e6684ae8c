import Foundation
import Kafka
import OfficeRuntime
import Testing
import TransferDomain

#if canImport(Glibc)
import Glibc
#endif

/// An office executable run as its own process, configured only by environment variables.
final class OfficeExecutable: @unchecked Sendable {
    let process = Process()
    let url: URL
    let log: URL

    init(_ name: String, environment: [String: String], port: Int, log: URL) throws {
        let binaries = ProcessInfo.processInfo.environment["OFFICE_BIN_DIR"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent(".build/debug")
        let executable = binaries.appendingPathComponent(name)
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw Broker.Missing.executable(executable.path)
        }
        process.executableURL = executable
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if !FileManager.default.fileExists(atPath: log.path) { _ = FileManager.default.createFile(atPath: log.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        url = URL(string: "http://127.0.0.1:\(port)")!
        self.log = log
        try process.run()
    }

    func kill(_ signal: Int32) { Glibc.kill(process.processIdentifier, signal) }

    /// Waits for the process to exit; its status, or nil after `limit`.
    func waitForExit(limit: Duration) async -> Int32? {
        let clock = ContinuousClock()
        let start = clock.now
        while process.isRunning {
            if clock.now - start > limit { return nil }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return process.terminationStatus
    }
}

extension Broker.Missing {
    static func executable(_ path: String) -> any Error {
        struct NotBuilt: Error, CustomStringConvertible {
            var path: String
            var description: String { "\(path) is not built: run `swift build` first (make test does)" }
        }
        return NotBuilt(path: path)
    }
}

/// A free TCP port on 127.0.0.1 (bound to port 0, then released).
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}

@Suite("The office executables", .enabled(if: Broker.available), .timeLimit(.minutes(3)))
struct ExecutableTests {
    let client = Client()

    func environment(_ world: TestWorld, _ role: OfficeRole, code: String, port: Int) -> [String: String] {
        var environment: [String: String] = [:]
        for (name, value) in world.settings(role, code: code, port: port) {
            environment[name.uppercased().replacingOccurrences(of: ".", with: "_")] = value
        }
        environment["LOG_LEVEL"] = "notice"
        return environment
    }

    @Test("an origin killed (SIGKILL) mid-case and restarted finishes every case without loss or doubled money; SIGTERM stops both cleanly")
    func restartMidCase() async throws {
        let world = try TestWorld()
        defer { world.cleanUp() }
        let originPort = freePort()
        let destinationPort = freePort()
        let originEnvironment = environment(world, .origin, code: "440300", port: originPort)
        var origin = try OfficeExecutable("origin-office", environment: originEnvironment, port: originPort, log: world.folder.appendingPathComponent("origin.log"))
        let destination = try OfficeExecutable(
            "destination-office", environment: environment(world, .destination, code: "510100", port: destinationPort),
            port: destinationPort, log: world.folder.appendingPathComponent("destination.log"))
        for office in [origin, destination] {
            _ = try await client.waitFor(office.url.appendingPathComponent("health")) { $0["status"] as? String == "ok" }
        }
        let year = BusinessClock().today.year
        let people = (0..<12).map { index in
            Applicant.make(birth: "1985\(String(format: "%02d", index % 12 + 1))15", sequence: String(format: "%03d", 201 + 2 * index), from: "20\(10 + index % 8)-01", to: "\(year - 1)-11")
        }
        for person in people {
            try await person.registerAtOrigin(client, origin.url)
            try await person.registerAtDestination(client, destination.url)
        }
        var cases: [String] = []
        for person in people { cases.append(try await person.apply(client, destination.url)) }

        // Kill the origin without warning while letters are in flight, then start it again on the same database.
        try await Task.sleep(for: .milliseconds(300))
        origin.kill(SIGKILL)
        #expect(await origin.waitForExit(limit: .seconds(10)) != nil)
        origin = try OfficeExecutable("origin-office", environment: originEnvironment, port: originPort, log: world.folder.appendingPathComponent("origin.log"))

        for (person, caseID) in zip(people, cases) {
            let view = try await client.waitFor(destination.url.appendingPathComponent("v1/cases/\(caseID)"), limit: .seconds(60)) { $0["state"] as? String == "completed" }
            #expect(view["received"] as? String == (try person.expectedTotal(year: year)).description)
        }
        // At most once in effect: one remittance id per case, however often its event was sent.
        let remittances = try await world.records(world.originTopic).compactMap { record -> (String, String)? in
            guard record.header("ce_type") == EventType.fundsRemitted.ceType, let value = record.value,
                  let object = try? JSONSerialization.jsonObject(with: Data(value)) as? [String: Any] else { return nil }
            return (object["caseId"] as? String ?? "", object["remittanceId"] as? String ?? "")
        }
        let idsByCase = Dictionary(grouping: remittances, by: \.0).mapValues { Set($0.map(\.1)) }
        #expect(idsByCase.count == cases.count)
        #expect(idsByCase.values.allSatisfy { $0.count == 1 })
        #expect(try await world.records(world.deadLetterTopic).isEmpty)

        // Graceful shutdown: both exit 0, well inside their bound.
        origin.kill(SIGTERM)
        destination.kill(SIGTERM)
        #expect(await origin.waitForExit(limit: .seconds(30)) == 0)
        #expect(await destination.waitForExit(limit: .seconds(30)) == 0)
    }
}
