import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Kafka
import OfficeRuntime
import OfficeStorage
import OriginOffice
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

    /// Whether the office's log (so far) contains `text`.
    func logged(_ text: String) -> Bool {
        ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains(text)
    }

    /// A safety net for a test that ends early (a failed expectation, its time limit): the
    /// office never outlives it.
    deinit { if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) } }

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

extension OfficeRuns {
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

        /// CPU seconds (user + system) the process has used, from /proc.
        static func cpuSeconds(_ pid: Int32) throws -> Double {
            let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
            // Fields after the command name (which may hold spaces) start after the last ')'.
            let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
            let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
            return (Double(fields[11])! + Double(fields[12])!) / ticks
        }

        @Test("idle offices are idle: each uses under 5 % of a core over 30 s (a spinning office uses all of one)")
        func idleOffices() async throws {
            let world = try TestWorld()
            defer { world.cleanUp() }
            let originPort = freePort()
            let destinationPort = freePort()
            let origin = try OfficeExecutable(
                "origin-office", environment: environment(world, .origin, code: "440300", port: originPort), port: originPort,
                log: world.folder.appendingPathComponent("origin.log"))
            let destination = try OfficeExecutable(
                "destination-office", environment: environment(world, .destination, code: "510100", port: destinationPort), port: destinationPort,
                log: world.folder.appendingPathComponent("destination.log"))
            for office in [origin, destination] {
                _ = try await client.waitFor(office.url.appendingPathComponent("health")) { $0["status"] as? String == "ok" }
            }
            try await Task.sleep(for: .seconds(3))  // past start-up and the first group join
            let before = try [origin, destination].map { try Self.cpuSeconds($0.process.processIdentifier) }
            try await Task.sleep(for: .seconds(30))
            let after = try [origin, destination].map { try Self.cpuSeconds($0.process.processIdentifier) }
            for (index, name) in ["origin", "destination"].enumerated() {
                let share = (after[index] - before[index]) / 30
                print("idle CPU: \(name) office \(String(format: "%.2f", share * 100)) % of a core over 30 s")
                // Measured 0.27 % on an unloaded machine, 1.9-2.5 % on a throttled one running the other
                // suites: the bound is 20 times below the spinning office it exists to catch.
                #expect(share < 0.05, "\(name) office used \(after[index] - before[index]) CPU seconds in 30 s")
            }
            origin.kill(SIGTERM)
            destination.kill(SIGTERM)
            #expect(await origin.waitForExit(limit: .seconds(30)) == 0)
            #expect(await destination.waitForExit(limit: .seconds(30)) == 0)
        }

        @Test("an origin killed (SIGKILL) mid-case and restarted finishes every case without loss or doubled money; SIGTERM stops both cleanly")
        func restartMidCase() async throws {
            let world = try TestWorld()
            defer { world.cleanUp() }
            let originPort = freePort()
            let destinationPort = freePort()
            let originEnvironment = environment(world, .origin, code: "440300", port: originPort)
            // The first life dies (SIGKILL, no clean-up) right after the broker acknowledged its
            // tenth answer and before that answer's outbox row is marked sent: work in flight at any
            // speed. (A kill from outside once the first case showed up raced the office: on a fast
            // run it had already answered and sent all 40.)
            var firstLife = originEnvironment
            firstLife["OFFICE_FAULT_POINTS"] = "relay.after-publish=10"
            let originLog = world.folder.appendingPathComponent("origin.log")
            var origin = try OfficeExecutable("origin-office", environment: firstLife, port: originPort, log: originLog)
            let destination = try OfficeExecutable(
                "destination-office", environment: environment(world, .destination, code: "510100", port: destinationPort),
                port: destinationPort, log: world.folder.appendingPathComponent("destination.log"))
            for office in [origin, destination] {
                _ = try await client.waitFor(office.url.appendingPathComponent("health")) { $0["status"] as? String == "ok" }
            }
            let year = Support.businessYear
            let people = (0..<40).map { index in
                Applicant.make(birth: "1985\(String(format: "%02d", index % 12 + 1))\(10 + index / 12)", sequence: String(format: "%03d", 201 + 2 * index), from: "20\(10 + index % 8)-01", to: "\(year - 1)-11")
            }
            for person in people {
                try await person.registerAtOrigin(client, origin.url)
                try await person.registerAtDestination(client, destination.url)
            }
            var cases: [String] = []
            for person in people { cases.append(try await person.apply(client, destination.url)) }

            #expect(await origin.waitForExit(limit: .seconds(60)) != nil, "the origin never reached its fault point")
            let log = try String(contentsOf: originLog, encoding: .utf8)
            #expect(log.contains("fault point relay.after-publish reached (hit 10): SIGKILL"))
            // What the kill left: the answer published but not marked sent (it goes out again), and
            // whatever had not been answered or published yet.
            let originDatabase = try SQLiteStore(path: originEnvironment["DATABASE_PATH"]!, migrations: { OriginOffice.registerMigrations(&$0) })
            let (answered, unsent) = try await originDatabase.writer.read { db in
                (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM originCase") ?? 0, try Outbox.pendingCount(db))
            }
            #expect(unsent > 0, "killed with \(answered) of \(cases.count) letters answered and \(unsent) events unsent")
            origin = try OfficeExecutable("origin-office", environment: originEnvironment, port: originPort, log: originLog)

            for (person, caseID) in zip(people, cases) {
                let view = try await client.waitFor(destination.url.appendingPathComponent("v1/cases/\(caseID)"), limit: .seconds(60)) { $0["state"] as? String == "completed" }
                #expect(view["received"] as? String == (try person.expectedTotal(year: year)).description)
            }
            // At most once in effect: one remittance id per case, however often its event was sent.
            let remittances = try await world.records(world.inbox("510100", .destination)).compactMap { record -> (String, String)? in
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

        @Test("issue 22, item 4: a destination killed (SIGKILL) right after asking for a batch's offset commit, not waiting for it, loses nothing and doubles nothing once restarted")
        func crashBetweenTransactionAndCommit() async throws {
            let world = try TestWorld()
            defer { world.cleanUp() }
            let originPort = freePort()
            let destinationPort = freePort()
            var originEnvironment = environment(world, .origin, code: "440300", port: originPort)
            originEnvironment["LOG_LEVEL"] = "info" // its "Partitions assigned"
            let originLog = world.folder.appendingPathComponent("origin.log")
            var origin = try OfficeExecutable("origin-office", environment: originEnvironment, port: originPort, log: originLog)
            let destinationEnvironment = environment(world, .destination, code: "510100", port: destinationPort)
            // The first life dies right after requesting the commit of its first batch of the
            // origin's answers (its transaction is durable; the commit most likely never left the
            // process): the batch is delivered again to the next life.
            var firstLife = destinationEnvironment
            firstLife["OFFICE_FAULT_POINTS"] = "consumer.after-commit-request=1"
            let destinationLog = world.folder.appendingPathComponent("destination.log")
            var destination = try OfficeExecutable("destination-office", environment: firstLife, port: destinationPort, log: destinationLog)
            defer { for office in [origin, destination] where office.process.isRunning { office.kill(SIGKILL) } }
            for office in [origin, destination] {
                _ = try await client.waitFor(office.url.appendingPathComponent("health")) { $0["status"] as? String == "ok" }
            }
            let year = Support.businessYear
            let people = (0..<30).map { index in
                Applicant.make(birth: "1987\(String(format: "%02d", index % 12 + 1))\(10 + index / 12)", sequence: String(format: "%03d", 301 + 2 * index), from: "20\(12 + index % 6)-01", to: "\(year - 1)-10")
            }
            for person in people {
                try await person.registerAtOrigin(client, origin.url)
                try await person.registerAtDestination(client, destination.url)
            }
            // The origin is away while the applications are filed, so no answer reaches the
            // destination (and no commit fires its fault point) before every case is filed. It
            // stops only once it holds its partitions: a member stopped while its first join is
            // still pending cannot leave the embedded broker's group, and the group then waits
            // for it.
            let joined = ContinuousClock.now + .seconds(60)
            while !origin.logged("Partitions assigned") && ContinuousClock.now < joined { try await Task.sleep(for: .milliseconds(200)) }
            try #require(origin.logged("Partitions assigned"), "the origin never got its partitions")
            origin.kill(SIGTERM)
            #expect(await origin.waitForExit(limit: .seconds(30)) == 0)
            var cases: [String] = []
            let stopped = ContinuousClock.now
            for person in people { cases.append(try await person.apply(client, destination.url)) }
            // Restarted once the stopped member's session (6 s) is over, as a supervisor's restart
            // delay would: should its leave not have reached the broker, the group waits for it
            // no longer.
            try await Task.sleep(until: stopped + .seconds(7))
            origin = try OfficeExecutable("origin-office", environment: originEnvironment, port: originPort, log: originLog)
            let died = await destination.waitForExit(limit: .seconds(60))
            let firstLog = try String(contentsOf: destinationLog, encoding: .utf8)
            #expect(died != nil, "the destination never reached its fault point: \(firstLog.suffix(3000)); the origin's log: \((try? String(contentsOf: originLog, encoding: .utf8))?.suffix(3000) ?? "")")
            #expect(firstLog.contains("fault point consumer.after-commit-request reached (hit 1): SIGKILL"))
            // The dead member's group session ends before the next life joins (as a supervisor's restart would).
            try await Task.sleep(for: .seconds(7))
            destination = try OfficeExecutable("destination-office", environment: destinationEnvironment, port: destinationPort, log: destinationLog)
            for (person, caseID) in zip(people, cases) {
                let view = try await client.waitFor(destination.url.appendingPathComponent("v1/cases/\(caseID)"), limit: .seconds(90)) { $0["state"] as? String == "completed" }
                #expect(view["received"] as? String == (try person.expectedTotal(year: year)).description)
            }
            // Quiet, then stopped: the audit compares both stores with the topics.
            let closing = ContinuousClock.now + .seconds(60)
            while try await client.count(origin.url, state: "closed") < people.count && ContinuousClock.now < closing { try await Task.sleep(for: .milliseconds(250)) }
            // What the second life was given again and recognised (its inbox): the batch whose
            // commit the first life requested but never saw through, if the request was lost.
            let (metrics, _) = try await URLSession.shared.data(from: destination.url.appendingPathComponent("metrics"))
            let redelivered = String(decoding: metrics, as: UTF8.self).split(separator: "\n")
                .filter { $0.hasPrefix("events_processed_total{") && $0.contains("outcome=\"duplicate\"") }
                .compactMap { Double($0.split(separator: " ").last ?? "") }.reduce(0, +)
            for office in [origin, destination] {
                office.kill(SIGTERM)
                #expect(await office.waitForExit(limit: .seconds(30)) == 0)
            }
            let audit = try await auditReport(world, databases: ["origin-440300", "destination-510100"].map { world.folder.appendingPathComponent("\($0).sqlite").path })
            let report = try #require(audit.report, "transfer-audit: \(audit.error)")
            #expect(audit.status == 0 && report.isClean && report.openCases.isEmpty, "\(report.text())")
            #expect(report.casesByDestinationState["completed"] == people.count)
            print("consumer crash after an unconfirmed commit: \(people.count) cases completed once each, \(Int(redelivered)) redelivered events recognised by the inbox, audit clean")
        }

        @Test("at LOG_LEVEL=trace, a demo-sized run writes no full citizen ID and no name to any log, dead letter or metric")
        func privateDataStaysPrivate() async throws {
            let world = try TestWorld()
            defer { world.cleanUp() }
            let originPort = freePort()
            let destinationPort = freePort()
            var originEnvironment = environment(world, .origin, code: "440300", port: originPort)
            var destinationEnvironment = environment(world, .destination, code: "510100", port: destinationPort)
            originEnvironment["LOG_LEVEL"] = "trace"
            destinationEnvironment["LOG_LEVEL"] = "trace"
            let originLog = world.folder.appendingPathComponent("origin-trace.log")
            let destinationLog = world.folder.appendingPathComponent("destination-trace.log")
            let origin = try OfficeExecutable("origin-office", environment: originEnvironment, port: originPort, log: originLog)
            let destination = try OfficeExecutable("destination-office", environment: destinationEnvironment, port: destinationPort, log: destinationLog)
            for office in [origin, destination] {
                _ = try await client.waitFor(office.url.appendingPathComponent("health")) { $0["status"] as? String == "ok" }
            }
            let people = (0..<40).map { index in
                Applicant.make(birth: "1984\(String(format: "%02d", index % 12 + 1))\(10 + index / 12)", sequence: String(format: "%03d", 601 + 2 * index), from: "2015-01", to: "2025-10")
            }
            var cases: [String] = []
            for (index, person) in people.enumerated() {
                // Some with arrears (returned letters), some unknown at the origin (O03): every path logs.
                if index % 8 != 7 { try await person.registerAtOrigin(client, origin.url, arrears: index % 8 == 3 ? "10.00" : "0.00") }
                try await person.registerAtDestination(client, destination.url)
                cases.append(try await person.apply(client, destination.url))
            }
            for caseID in cases {
                _ = try await client.waitFor(destination.url.appendingPathComponent("v1/cases/\(caseID)"), limit: .seconds(60)) { terminalStates.contains($0["state"] as? String ?? "") }
            }
            // A letter whose citizen ID breaks the schema (a lower-case x): refused, and the dead-letter
            // detail that quotes the number shows it masked.
            let poisoned = people[0]
            let wrongDigit = String(poisoned.id.rawValue.dropLast()) + "x"
            let chengdu = OfficeDirectory.standard[try OfficeCode("510100")]!
            let shenzhen = OfficeDirectory.standard[try OfficeCode("440300")]!
            let letter = CloudEvent(
                source: chengdu.code, recipient: shenzhen.code, time: Date(),
                event: .contactLetterIssued(ContactLetterIssued(
                    caseId: CaseID(), contactLetterNo: ContactLetterNumber(office: chengdu.code, year: 2026, sequence: 900),
                    person: PersonRef(PersonFacts(citizenID: poisoned.id, name: poisoned.name, hukouProvince: try ProvinceCode("44"))),
                    origin: OfficeRef(shenzhen), destination: OfficeRef(chengdu), destinationAccount: chengdu.account, certificateNo: nil,
                    applicationDate: Support.today, issuedOn: Support.today)))
            let value = String(decoding: try letter.data(), as: UTF8.self).replacingOccurrences(of: poisoned.id.rawValue, with: wrongDigit)
            try await world.redeliver([KafkaMessage(
                topic: world.inbox("440300", .origin), partition: 0, offset: 0, key: Array(letter.key.utf8), value: Array(value.utf8),
                headers: try EndToEndTests.signed(letter.headers.map { KafkaHeader(name: $0.name, string: $0.value) }, Array(value.utf8)), timestamp: nil)])
            var deadLetters: [KafkaMessage] = []
            for _ in 0..<100 where deadLetters.isEmpty {
                deadLetters = try await world.records(world.deadLetterTopic)
                if deadLetters.isEmpty { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(deadLetters.count == 1)
            // The position the office applied its inbox to, read from its store (issue 21, item 15).
            var metrics = Data()
            for _ in 0..<40 {
                metrics = try await URLSession.shared.data(from: origin.url.appendingPathComponent("metrics")).0
                if String(decoding: metrics, as: UTF8.self).contains("consumer_applied_offset{") { break }
                try await Task.sleep(for: .milliseconds(250))
            }
            #expect(String(decoding: metrics, as: UTF8.self).contains("consumer_applied_offset{topic=\"\(world.inbox("440300", .origin))\""))
            origin.kill(SIGTERM)
            destination.kill(SIGTERM)
            #expect(await origin.waitForExit(limit: .seconds(30)) == 0)
            #expect(await destination.waitForExit(limit: .seconds(30)) == 0)

            let logs = try String(contentsOf: originLog, encoding: .utf8) + String(contentsOf: destinationLog, encoding: .utf8)
            #expect(logs.count > 10_000, "trace logs were written (\(logs.count) characters)")
            // The detail text is masked; the original record (value and headers) is kept as it came, to be replayed.
            let deadLetterText = deadLetters.compactMap { $0.header("dlq_detail") }.joined(separator: "\n")
            #expect(deadLetterText.contains(String(wrongDigit.prefix(6)) + "********" + String(wrongDigit.suffix(4))), "the detail names the ID masked: \(deadLetterText)")
            let metricsText = String(decoding: metrics, as: UTF8.self)
            for person in people {
                #expect(!logs.contains(person.id.rawValue), "full ID \(person.id.masked) in a log")
                #expect(!logs.contains(person.name), "name \(person.name) in a log")
                #expect(!metricsText.contains(person.id.rawValue))
            }
            #expect(!deadLetterText.contains(wrongDigit) && !logs.contains(wrongDigit), "full ID in the dead-letter detail or a log")
        }
    }
}

