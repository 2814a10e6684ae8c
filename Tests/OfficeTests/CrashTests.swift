import AuditCore
import Foundation
import GRDB
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import OfficeRuntime
import OfficeStorage
import Testing
import TransferDomain

#if canImport(Glibc)
import Glibc
#endif

extension FaultRuns {
    /// The offices killed at the moments that matter, under a real load, then the audit.
    @Suite("Crashes at the worst moments (executables, real broker)", .enabled(if: Broker.available), .timeLimit(.minutes(10)))
    struct CrashTests {
        let client = Client()

        /// Office settings as environment variables (what an operator sets).
        static func environment(_ world: TestWorld, _ role: OfficeRole, code: String, port: Int) -> [String: String] {
            var environment: [String: String] = [:]
            for (name, value) in world.settings(role, code: code, port: port) {
                environment[name.uppercased().replacingOccurrences(of: ".", with: "_")] = value
            }
            environment["LOG_LEVEL"] = ProcessInfo.processInfo.environment["CRASH_LOG_LEVEL"] ?? "notice"
            environment["SHUTDOWN_TIMEOUT_SECONDS"] = "10"
            // Deaths only once the consumer has been a settled group member for 8 s: Tansu never
            // completes a rebalance again after a member dies during one (docs/operations.md).
            environment["OFFICE_FAULT_POINTS_SETTLE_SECONDS"] = "8"
            return environment
        }

        @Test("500 cases while both offices are SIGKILLed at every fault point (commit/publish, publish/mark-sent, apply/offset) and SIGTERMed under load: every case terminal, nothing lost or doubled, money conserved, audit CLEAN")
        func killedAtEveryPoint() async throws {
            // FAULTS_CASES makes a longer soak run (make faults SOAK=1); 500 in make test.
            let total = ProcessInfo.processInfo.environment["FAULTS_CASES"].flatMap(Int.init) ?? 500
            let world = try TestWorld()
            defer { world.cleanUp() }
            let (originPort, destinationPort) = (freePort(), freePort())
            let originEnvironment = Self.environment(world, .origin, code: "440300", port: originPort)
            let destinationEnvironment = Self.environment(world, .destination, code: "510100", port: destinationPort)
            // Each life dies at its armed point, the n-th time it passes it; the last life has none.
            let origin = try SupervisedOffice(
                "origin-office", environment: originEnvironment, port: originPort, log: world.folder.appendingPathComponent("origin.log"),
                lives: ["consumer.after-apply=120", "relay.before-publish=60", "relay.after-publish=60", nil])
            let destination = try SupervisedOffice(
                "destination-office", environment: destinationEnvironment, port: destinationPort, log: world.folder.appendingPathComponent("destination.log"),
                lives: ["relay.after-publish=100", "consumer.after-apply=150", "relay.before-publish=30", nil])
            defer {
                origin.abandon()
                destination.abandon()
            }
            let originURL = await origin.url
            let destinationURL = await destination.url
            for url in [originURL, destinationURL] {
                _ = try await client.waitFor(url.appendingPathComponent("health"), limit: .seconds(60)) { $0["status"] as? String == "ok" }
            }
            await origin.startWatching()
            await destination.startWatching()
            let started = ContinuousClock.now

            // Registration (no event flows yet, so no office dies during it), eight at a time.
            let people = applicants(total)
            try await Self.inParallel(people, width: 8) { person in
                try await person.registerAtOrigin(client, originURL)
                try await person.registerAtDestination(client, destinationURL)
            }
            // Applications, eight at a time, through the destination's deaths: a request that meets a
            // dead office is sent again once it is back. One whose answer was lost after its commit
            // comes back as a second case rejected D05 (a transfer for the person is already open),
            // as it would for a clerk who files again: counted below, never a second transfer.
            // Paced (25 every 4 s) so that events flow while the later lives come up, join their
            // group and settle (OFFICE_FAULT_POINTS_SETTLE_SECONDS) before their fault points count.
            let held = 100
            let paced = Array(people.dropLast(held))
            for start in stride(from: 0, to: paced.count, by: 25) {
                try await file(Array(paced[start..<min(start + 25, paced.count)]), at: destinationURL)
                try await Task.sleep(for: .seconds(4))
            }
            // Every planned SIGKILL has happened (or the run would not prove anything).
            let deadline = ContinuousClock.now + .seconds(240)
            while ContinuousClock.now < deadline {
                let (originLeft, destinationLeft) = (await origin.livesLeft, await destination.livesLeft)
                if originLeft == 0 && destinationLeft == 0 { break }
                try await Task.sleep(for: .milliseconds(500))
            }
            let originKills = await origin.kills
            let destinationKills = await destination.kills
            #expect(originKills.map(\.point) == ["consumer.after-apply", "relay.before-publish", "relay.after-publish"])
            #expect(destinationKills.map(\.point) == ["relay.after-publish", "consumer.after-apply", "relay.before-publish"])
            let unexpected = await origin.unexpected + destination.unexpected
            #expect(unexpected.isEmpty, "no death but the planned ones")

            // SIGTERM under load: the last applications go in, and both offices are stopped while
            // their letters and answers are in flight.
            try await file(Array(people.suffix(held)), at: destinationURL)
            try await Task.sleep(for: .milliseconds(700))
            async let originStop = origin.terminate(limit: .seconds(25))
            async let destinationStop = destination.terminate(limit: .seconds(25))
            let (originExit, destinationExit) = await (originStop, destinationStop)
            #expect(originExit.status == 0 && destinationExit.status == 0, "SIGTERM: exit 0 (origin \(String(describing: originExit.status)), destination \(String(describing: destinationExit.status)))")
            #expect(originExit.seconds < 10 + 1 && destinationExit.seconds < 10 + 1, "within SHUTDOWN_TIMEOUT_SECONDS (10 s): \(originExit.seconds) s, \(destinationExit.seconds) s")
            let inFlight = try await Self.unfinished(originEnvironment, destinationEnvironment)
            try await origin.restart()
            try await destination.restart()

            // Every case ends.
            let finish = ContinuousClock.now + .seconds(300)
            var (completed, closed) = (0, 0)
            while ContinuousClock.now < finish {
                completed = try await client.retrying { try await client.count(destinationURL, state: "completed") }
                closed = try await client.retrying { try await client.count(originURL, state: "closed") }
                if completed == total && closed == total { break }
                try await Task.sleep(for: .seconds(1))
            }
            let seconds = (ContinuousClock.now - started).seconds
            #expect(completed == total && closed == total, "completed \(completed), closed \(closed) of \(total)")
            let refiled = try await client.retrying { try await client.count(destinationURL, state: "rejected") }
            var components = URLComponents(url: destinationURL.appendingPathComponent("v1/cases"), resolvingAgainstBaseURL: false)!
            components.queryItems = [.init(name: "state", value: "rejected"), .init(name: "limit", value: "1000")]
            for summary in try await client.call("GET", components.url!)["cases"] as? [[String: Any]] ?? [] {
                let view = try await client.call("GET", destinationURL.appendingPathComponent("v1/cases/\(summary["caseId"] as? String ?? "")"))
                #expect(view["reviewReasons"] as? [String] == ["D05"], "a rejected case can only be an application filed again: \(view)")
            }
            await origin.stop()
            await destination.stop()

            // The audit replays everything and compares with both databases.
            let audit = try await auditReport(world, databases: [originEnvironment["DATABASE_PATH"]!, destinationEnvironment["DATABASE_PATH"]!])
            let report = try #require(audit.report, "transfer-audit: \(audit.error)")
            #expect(audit.status == 0, "\(report.text())")
            #expect(report.isClean)
            #expect(report.cases.count == total + refiled && report.openCases.isEmpty)
            #expect(report.casesByDestinationState == (refiled == 0 ? ["completed": total] : ["completed": total, "rejected": refiled]))
            #expect(report.casesByOriginState["closed"] == total)
            #expect(report.money.conserved)
            #expect(report.deadLetters.isEmpty)
            #expect(report.signatures?.refused == 0)
            let recoveries = (originKills + destinationKills).map(\.recovery.seconds)
            print("crash test: \(total) cases in \(Int(seconds)) s; kills \(originKills.map(\.point)) / \(destinationKills.map(\.point)); redeliveries absorbed \(report.duplicateEvents); applications filed again after a lost answer (rejected D05) \(refiled); in flight at SIGTERM \(inFlight); max recovery \(String(format: "%.1f", recoveries.max() ?? 0)) s")
            FaultReport.record([
                "test": "SIGKILL at fault points, SIGTERM under load", "cases": total,
                "faults": (originKills + destinationKills).map { "SIGKILL \($0.point)" } + ["SIGTERM both offices"],
                "lost": total - (report.casesByDestinationState["completed"] ?? 0),
                "duplicatedEffects": report.violations.filter { $0.rule == "duplicate-effect" }.count,
                "redeliveriesAbsorbed": report.duplicateEvents,
                "maxRecoverySeconds": recoveries.max() ?? 0,
                "peakRSSKiB": max(await origin.peakRSSKiB, await destination.peakRSSKiB),
                "seconds": seconds, "clean": report.isClean,
            ])
        }

        /// Files applications for `people`, eight at a time, through the destination's restarts.
        func file(_ people: [Applicant], at destination: URL) async throws {
            try await Self.inParallel(people, width: 8) { person in
                _ = try await client.retrying { try await person.apply(client, destination) }
            }
        }

        /// Runs `body` for every item, at most `width` at once.
        static func inParallel<T: Sendable>(_ items: [T], width: Int, _ body: @escaping @Sendable (T) async throws -> Void) async throws {
            try await withThrowingTaskGroup(of: Void.self) { group in
                var iterator = items.makeIterator()
                for _ in 0..<width {
                    guard let item = iterator.next() else { break }
                    group.addTask { try await body(item) }
                }
                while try await group.next() != nil {
                    if let item = iterator.next() { group.addTask { try await body(item) } }
                }
            }
        }

        /// What was in flight when the offices stopped: cases not yet closed at the origin plus events
        /// not yet sent by either (read from the databases).
        static func unfinished(_ origin: [String: String], _ destination: [String: String]) async throws -> Int {
            var count = 0
            for (environment, sql) in [
                (origin, "SELECT (SELECT COUNT(*) FROM outbox WHERE sentAt IS NULL) + (SELECT COUNT(*) FROM originCase WHERE state != 'closed')"),
                (destination, "SELECT (SELECT COUNT(*) FROM outbox WHERE sentAt IS NULL) + (SELECT COUNT(*) FROM destinationCase WHERE state != 'completed')"),
            ] {
                let database = try SQLiteStore(path: environment["DATABASE_PATH"]!, migrations: { _ in })
                count += try await database.writer.read { try Int.fetchOne($0, sql: sql) ?? 0 }
            }
            return count
        }
    }
}
