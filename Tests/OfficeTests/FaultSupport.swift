import AuditCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import OfficeRuntime
import Synchronization
import Testing
import TransferDomain

#if canImport(Glibc)
import Glibc
#endif

/// An office executable kept running by a supervisor, as systemd or compose would: when it dies
/// it is started again on the same database. Each life may arm a fault point
/// (`OFFICE_FAULT_POINTS`); the supervisor checks that a death was the armed point (its log line
/// and SIGKILL), and measures the recovery (restart to `/health` ok; the restart waits out the dead
/// member's group session first) and the peak resident memory.
actor SupervisedOffice {
    let executable: String
    let environment: [String: String]
    let port: Int
    let log: URL
    let client = Client()
    private(set) var office: OfficeExecutable {
        didSet { abandonment.withLock { $0.office = office } }
    }
    /// What ``abandon()`` needs without the actor: the running office, and whether it was abandoned.
    private nonisolated let abandonment = Mutex<(office: OfficeExecutable?, abandoned: Bool)>((nil, false))
    private var lives: [String?]
    /// The fault points that killed a life, with the time from the death to `/health` ok again.
    private(set) var kills: [(point: String, recovery: Duration)] = []
    /// Deaths nobody planned (exit status, signal): must stay empty.
    private(set) var unexpected: [String] = []
    private(set) var peakRSSKiB = 0
    private var watching: Task<Void, Never>?
    private var stopping = false

    /// Starts the first life; `lives` are the fault points of this life and the ones after it
    /// (nil: no fault point).
    init(_ executable: String, environment: [String: String], port: Int, log: URL, lives: [String?]) throws {
        self.executable = executable
        self.environment = environment
        self.port = port
        self.log = log
        var lives = lives
        let first = lives.isEmpty ? nil : lives.removeFirst()
        self.lives = lives
        let office = try Self.launch(executable, environment, port, log, faults: first)
        self.office = office
        abandonment.withLock { $0.office = office }
    }

    /// For a test that ends early (`defer`): kills the office at once and restarts nothing.
    nonisolated func abandon() {
        let office = abandonment.withLock { state -> OfficeExecutable? in
            state.abandoned = true
            return state.office
        }
        if let office, office.process.isRunning { office.kill(SIGKILL) }
    }

    static func launch(_ executable: String, _ environment: [String: String], _ port: Int, _ log: URL, faults: String?) throws -> OfficeExecutable {
        var environment = environment
        environment["OFFICE_FAULT_POINTS"] = faults ?? ""
        return try OfficeExecutable(executable, environment: environment, port: port, log: log)
    }

    var url: URL { office.url }
    var livesLeft: Int { lives.count }

    func startWatching() {
        watching = Task { await self.watch() }
    }

    private func watch() async {
        while !stopping && !abandonment.withLock({ $0.abandoned }) {
            sampleMemory()
            guard !office.process.isRunning else {
                try? await Task.sleep(for: .milliseconds(200))
                continue
            }
            if stopping || abandonment.withLock({ $0.abandoned }) { return }
            let signal = office.process.terminationReason == .uncaughtSignal ? office.process.terminationStatus : 0
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            // "fault point <name> reached (hit <n>): SIGKILL", once per death, in order.
            let hits = text.components(separatedBy: "fault point ").dropFirst().filter { $0.contains(" reached (hit ") }
            let atFaultPoint = signal == SIGKILL && hits.count > kills.count
            if signal == SIGKILL, let line = hits.dropFirst(kills.count).first {
                let point = line.prefix { $0 != " " }
                kills.append((String(point), .zero))
            } else {
                unexpected.append("exit status \(office.process.terminationStatus), signal \(signal)")
            }
            let next = lives.isEmpty ? nil : lives.removeFirst()
            // After a death at a fault point, the dead member stays in its consumer group until its
            // session times out. A new life joining before that starts a rebalance in which that
            // member expires, which can leave the embedded broker's group stuck (docs/operations.md,
            // "Fault points"): the next life starts once the session is over, as an operator's
            // restart after a crash usually does. Recovery is measured from the restart. (Any other
            // death, e.g. librdkafka's crash against a broker restarted empty, restarts at once.)
            if atFaultPoint {
                let session = Int(environment["KAFKA_SESSION_TIMEOUT_MS"] ?? "") ?? 6000
                try? await Task.sleep(for: .milliseconds(session + 1000))
            }
            let relaunched = ContinuousClock.now
            guard let restarted = try? Self.launch(executable, environment, port, log, faults: next) else {
                unexpected.append("could not restart")
                return
            }
            office = restarted
            _ = try? await client.waitFor(url.appendingPathComponent("health"), limit: .seconds(60)) { $0["status"] as? String == "ok" }
            if !kills.isEmpty, kills[kills.count - 1].recovery == .zero {
                kills[kills.count - 1].recovery = ContinuousClock.now - relaunched
            }
        }
    }

    private func sampleMemory() {
        guard office.process.isRunning,
              let status = try? String(contentsOfFile: "/proc/\(office.process.processIdentifier)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { return }
        peakRSSKiB = max(peakRSSKiB, kib)
    }

    /// Sends SIGTERM and waits for the exit: its status and how long it took (nil: not within `limit`).
    func terminate(limit: Duration) async -> (status: Int32?, seconds: Double) {
        stopping = true
        await watching?.value
        sampleMemory()
        let started = ContinuousClock.now
        office.kill(SIGTERM)
        let status = await office.waitForExit(limit: limit)
        return (status, (ContinuousClock.now - started).seconds)
    }

    /// Starts the office again (no fault point) and waits until it is healthy.
    func restart() async throws {
        office = try Self.launch(executable, environment, port, log, faults: nil)
        stopping = false
        _ = try await client.waitFor(url.appendingPathComponent("health"), limit: .seconds(60)) { $0["status"] as? String == "ok" }
        startWatching()
    }

    /// Stops for good (SIGTERM, then SIGKILL).
    func stop() async {
        stopping = true
        await watching?.value
        if office.process.isRunning {
            office.kill(SIGTERM)
            if await office.waitForExit(limit: .seconds(20)) == nil {
                office.kill(SIGKILL)
                _ = await office.waitForExit(limit: .seconds(5))
            }
        }
    }
}

/// A figure for `make faults`: tests append one JSON line each to `$FAULTS_REPORT` when it is set.
enum FaultReport {
    static func record(_ fields: [String: Any]) {
        guard let path = ProcessInfo.processInfo.environment["FAULTS_REPORT"],
              let data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
        else { return }
        if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: path) else { return }
        handle.seekToEndOfFile()
        handle.write(data + Data("\n".utf8))
        try? handle.close()
    }
}

extension Client {
    /// `body` again and again while the office is away (connection refused, restarting), up to
    /// `limit`; an HTTP error answer other than 503 is returned to the caller as it is.
    func retrying<T>(limit: Duration = .seconds(120), _ body: () async throws -> T) async throws -> T {
        let deadline = ContinuousClock.now + limit
        while true {
            do {
                return try await body()
            } catch let failure as Failure where failure.status != 503 {
                throw failure
            } catch {
                // Refused, timed out, or 503 (the office says: try again).
                if ContinuousClock.now > deadline { throw error }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    /// How many cases the office lists in `state`.
    func count(_ office: URL, state: String) async throws -> Int {
        var components = URLComponents(url: office.appendingPathComponent("v1/cases"), resolvingAgainstBaseURL: false)!
        components.queryItems = [.init(name: "state", value: state), .init(name: "limit", value: "1")]
        return try await call("GET", components.url!)["total"] as? Int ?? 0
    }
}

/// The audit of a world's topics, as its JSON report.
func auditReport(_ world: TestWorld, databases: [String]) async throws -> (status: Int32, report: AuditReport?, error: String) {
    var arguments = [
        "--brokers", world.servers, "--inbox-prefix", world.inboxPrefix, "--keys", Support.eventKeys.directory,
        "--dead-letter-topic", world.deadLetterTopic, "--format", "json", "--as-of", Support.today.description,
    ]
    for database in databases { arguments += ["--compare-db", database] }
    var environment = ProcessInfo.processInfo.environment
    for (key, value) in world.security { environment[key.uppercased().replacingOccurrences(of: ".", with: "_")] = value }
    let result = try await Support.runTool("transfer-audit", arguments, environment: environment)
    return (result.status, try? JSONDecoder().decode(AuditReport.self, from: result.output), result.error)
}

/// `count` applicants with distinct citizen IDs and varied ledgers at `origin`.
func applicants(_ count: Int, origin: String = "440300", seed: Int = 0) -> [Applicant] {
    (0..<count).map { index in
        let number = seed + index
        let day = Calendar(identifier: .gregorian).date(byAdding: .day, value: number, to: Date(timeIntervalSince1970: 347_155_200))!  // 1981-01-01
        let birth = ISO8601DateFormatter.string(from: day, timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withYear, .withMonth, .withDay])
        return Applicant.make(
            birth: birth, sequence: String(format: "%03d", 101 + (number * 2) % 898), origin: origin,
            from: "20\(15 + number % 9)-0\(1 + number % 9)", to: "\(Support.businessYear - 1)-12", base: "\(6000 + (number % 40) * 150).00")
    }
}

/// The repository's root folder.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A child process a test owns (a dedicated broker, a proxy); ``withChildren(_:_:)`` stops it
/// (SIGTERM, then SIGKILL) when the test ends, waiting off the cooperative pool.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    private let input: Pipe?

    init(_ executable: String, _ arguments: [String], log: URL, commands: Bool = false) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !FileManager.default.fileExists(atPath: log.path) { FileManager.default.createFile(atPath: log.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        // A proxy reads its commands from standard input; others get none.
        input = commands ? Pipe() : nil
        process.standardInput = input ?? FileHandle.nullDevice
        try process.run()
    }

    /// The embedded broker on 127.0.0.1:`port`, advertising `advertised` (a proxy in front of it).
    static func tansu(port: Int, advertised: Int? = nil, authentication: Bool = false, log: URL) throws -> ChildProcess {
        try ChildProcess(
            repositoryRoot.appendingPathComponent(".tools/tansu/bin/tansu").path,
            ["broker", "--cluster-id", "tansu-\(UUID().uuidString.prefix(8))",  // a new cluster at each start, as scripts/broker does
             "--listener-url", "tcp://127.0.0.1:\(port)", "--advertised-listener-url", "tcp://127.0.0.1:\(advertised ?? port)"]
                + (authentication ? ["--authentication"] : []),
            log: log)
    }

    /// Tests/Scripts/tcp_proxy.py from `listen` to `target`, terminating TLS when `tls` is given.
    static func proxy(listen: Int, target: Int, tls: (certificate: String, key: String)? = nil, log: URL) throws -> ChildProcess {
        var arguments = ["python3", repositoryRoot.appendingPathComponent("Tests/Scripts/tcp_proxy.py").path, "--listen", "127.0.0.1:\(listen)", "--target", "127.0.0.1:\(target)"]
        if let tls { arguments += ["--cert", tls.certificate, "--key", tls.key] }
        return try ChildProcess("/usr/bin/env", arguments, log: log, commands: true)
    }

    /// Sends a proxy command (`cut`, `latency 200`, `drop up`, `restore`).
    func command(_ line: String) async throws {
        input?.fileHandleForWriting.write(Data((line + "\n").utf8))
        try await Task.sleep(for: .milliseconds(100))
    }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    func stop() async {
        let process = self.process
        _ = try? await Support.offPool {
            guard process.isRunning else { return }
            kill(process.processIdentifier, SIGCONT)  // a paused process cannot act on SIGTERM
            process.terminate()
            for _ in 0..<50 where process.isRunning { usleep(100_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
    }

    /// A safety net only (it does not wait): ``withChildren(_:_:)`` stops children properly.
    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
}

/// Runs `body`, then stops `children` whether it threw or not.
func withChildren<T>(_ children: [ChildProcess], _ body: () async throws -> T) async throws -> T {
    do {
        let result = try await body()
        for child in children { await child.stop() }
        return result
    } catch {
        for child in children { await child.stop() }
        throw error
    }
}

/// Waits (up to 10 s) until something accepts connections on 127.0.0.1:`port`.
func waitForPort(_ port: Int) async throws {
    for _ in 0..<100 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let result = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        close(fd)
        if result == 0 { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    throw TestFailure("nothing listens on 127.0.0.1:\(port)")
}
