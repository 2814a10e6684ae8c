import AuditCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import OfficeRuntime
import OfficeStorage
import Synchronization
import Testing
import TransferDomain

#if canImport(Glibc)
import Glibc
#endif

extension OfficeRuns {
    /// An office as several instances sharing one PostgreSQL database and one consumer group: one
    /// instance of each office dies (SIGKILL) in the middle of a run, or is cut off from the
    /// database, and the other carries on alone.
    @Suite(
        "Several instances of each office on PostgreSQL (executables, real broker)", .enabled(if: Broker.available && PostgresTest.available),
        .timeLimit(.minutes(15)))
    struct HighAvailabilityTests {
        let client = Client()

        /// An instance's settings: the world's, on the shared PostgreSQL database instead of a file.
        static func environment(_ world: TestWorld, _ role: OfficeRole, code: String, port: Int, database: String) -> [String: String] {
            var environment = FaultRuns.CrashTests.environment(world, role, code: code, port: port)
            environment["DATABASE_PATH"] = nil
            environment["DATABASE_URL"] = database
            environment["DATABASE_POOL_SIZE"] = "6"
            return environment
        }

        /// The last lines of each instance's log, for a failure's message.
        static func logTails(_ offices: [OfficeExecutable], lines: Int = 15) -> String {
            offices.map { office in
                let text = (try? String(contentsOf: office.log, encoding: .utf8)) ?? ""
                return "--- \(office.log.lastPathComponent):\n" + text.split(separator: "\n").suffix(lines).joined(separator: "\n")
            }.joined(separator: "\n")
        }

        /// Whether this instance's log says it took the outbox relay lock.
        static func holdsRelay(_ office: OfficeExecutable) -> Bool {
            office.logged("This instance runs the outbox relay")
        }

        @Test("two destination and two origin instances on PostgreSQL carry 500 cases while the relay-holding instance of each is SIGKILLed: the other takes over, every case terminal, one remittance per case, numbers gap-free, audit CLEAN against the databases")
        func oneInstanceOfEachKilled() async throws {
            let total = ProcessInfo.processInfo.environment["HA_CASES"].flatMap(Int.init) ?? 500
            let world = try TestWorld()
            defer { world.cleanUp() }
            let originDatabase = try await PostgresTest.createDatabase(prefix: "ha_origin")
            let destinationDatabase = try await PostgresTest.createDatabase(prefix: "ha_destination")
            func launch(_ role: OfficeRole, _ code: String, _ database: String, _ name: String) throws -> OfficeExecutable {
                let port = freePort()
                return try OfficeExecutable(
                    "\(role.rawValue)-office", environment: Self.environment(world, role, code: code, port: port, database: database), port: port,
                    log: world.folder.appendingPathComponent("\(name).log"))
            }
            let origins = [try launch(.origin, "440300", originDatabase, "origin-a"), try launch(.origin, "440300", originDatabase, "origin-b")]
            let destinations = [
                try launch(.destination, "510100", destinationDatabase, "destination-a"), try launch(.destination, "510100", destinationDatabase, "destination-b"),
            ]
            defer {
                for office in origins + destinations where office.process.isRunning { office.kill(SIGKILL) }
            }
            for office in origins + destinations {
                _ = try await client.waitFor(office.url.appendingPathComponent("health"), limit: .seconds(60)) { $0["status"] as? String == "ok" }
            }
            let started = ContinuousClock.now

            // Registration, each person at one instance of each office (the instances share the data).
            let people = applicants(total)
            try await FaultRuns.CrashTests.inParallel(Array(people.enumerated()), width: 8) { [client] item in
                try await client.retrying { try await item.element.registerAtOrigin(client, origins[item.offset % 2].url) }
                try await client.retrying { try await item.element.registerAtDestination(client, destinations[(item.offset + 1) % 2].url) }
            }

            // Applications alternate between the destination instances; one that meets a dead
            // instance goes to the other. An answer lost with the instance after its commit comes back
            // as a second case rejected D05 (as for a clerk who files again), counted below.
            let filed = Atomic<Int>(0)
            let alive = Mutex<[Bool]>([true, true])
            let filingEnded = Atomic<Bool>(false)
            let filing = Task { [client] in
                defer { filingEnded.store(true, ordering: .releasing) }
                try await FaultRuns.CrashTests.inParallel(Array(people.enumerated()), width: 8) { item in
                    var index = item.offset % 2
                    let deadline = ContinuousClock.now + .seconds(120)
                    while true {
                        do {
                            _ = try await item.element.apply(client, destinations[index].url)
                            break
                        } catch let failure as Client.Failure where failure.status != 503 {
                            throw failure
                        } catch {
                            // Refused, timed out or 503 (busy): the clerk tries again, at the other
                            // instance once this one is known dead.
                            if ContinuousClock.now > deadline { throw error }
                            if !alive.withLock({ $0[index] }) { index = 1 - index }
                            try await Task.sleep(for: .milliseconds(100))
                        }
                    }
                    filed.add(1, ordering: .relaxed)
                }
            }

            // A third of the way in, the instance of each office that runs its relay dies. (Filing
            // that fails first ends the test with its error, not a wait for the time limit.)
            let thirdLimit = ContinuousClock.now + .seconds(300)
            while filed.load(ordering: .relaxed) < total / 3 {
                if ContinuousClock.now > thirdLimit {
                    filing.cancel()
                    Issue.record("a third of \(total) applications not filed within 300 s (\(filed.load(ordering: .relaxed)) filed)\n\(Self.logTails(origins + destinations))")
                    return
                }
                if filingEnded.load(ordering: .acquiring) {
                    do { try await filing.value } catch {
                        Issue.record("filing failed before a third was filed: \(error)\n\(Self.logTails(origins + destinations))")
                        throw error
                    }
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            let relayDestination = try #require(destinations.firstIndex(where: Self.holdsRelay), "one destination instance runs the relay")
            let relayOrigin = try #require(origins.firstIndex(where: Self.holdsRelay), "one origin instance runs the relay")
            let killedAt = ContinuousClock.now
            alive.withLock { $0[relayDestination] = false }
            destinations[relayDestination].kill(SIGKILL)
            origins[relayOrigin].kill(SIGKILL)
            let destinationSurvivor = destinations[1 - relayDestination]
            let originSurvivor = origins[1 - relayOrigin]
            // Takeover: the survivor of each office takes the relay lock.
            var takeover: [String: Double] = [:]
            let takeoverLimit = ContinuousClock.now + .seconds(60)
            while takeover.count < 2 && ContinuousClock.now < takeoverLimit {
                if takeover["destination"] == nil, Self.holdsRelay(destinationSurvivor) { takeover["destination"] = (ContinuousClock.now - killedAt).seconds }
                if takeover["origin"] == nil, Self.holdsRelay(originSurvivor) { takeover["origin"] = (ContinuousClock.now - killedAt).seconds }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(takeover.count == 2, "the surviving instances take the relay over: \(takeover)")
            try await filing.value

            // Every case ends, carried by the survivors alone.
            let finish = ContinuousClock.now + .seconds(300)
            var (completed, closed) = (0, 0)
            while ContinuousClock.now < finish {
                completed = try await client.retrying { try await client.count(destinationSurvivor.url, state: "completed") }
                closed = try await client.retrying { try await client.count(originSurvivor.url, state: "closed") }
                if completed == total && closed == total { break }
                try await Task.sleep(for: .seconds(1))
            }
            let seconds = (ContinuousClock.now - started).seconds
            #expect(completed == total && closed == total, "completed \(completed), closed \(closed) of \(total)")
            let refiled = try await client.retrying { try await client.count(destinationSurvivor.url, state: "rejected") }
            for office in [destinationSurvivor, originSurvivor] {
                office.kill(SIGTERM)
                #expect(await office.waitForExit(limit: .seconds(20)) == 0, "a surviving instance stops cleanly")
            }

            // The shared databases: one remittance per case, document numbers unique and gap-free.
            let logger = Logger(label: "ha-test")
            let origin = try await PostgresStore(url: originDatabase, lockName: "check", migrations: [], connections: 1, migrate: false, logger: logger)
            let destination = try await PostgresStore(
                url: destinationDatabase, lockName: "check", migrations: [], connections: 1, migrate: false, logger: logger)
            let (remitted, remittedCases, remittanceNumbers) = try await origin.read { transaction in
                let sql = try PostgresTransaction.of(transaction)
                return (
                    try sql.query("SELECT COUNT(*) AS n FROM remittance WHERE kind = 'remitted'")[0].int("n"),
                    try sql.query("SELECT COUNT(DISTINCT caseId) AS n FROM remittance WHERE kind = 'remitted'")[0].int("n"),
                    try sql.query("SELECT remittanceId FROM remittance").map { try $0.string("remittanceId") })
            }
            let letters = try await destination.read { transaction in
                try PostgresTransaction.of(transaction).query("SELECT contactLetterNo FROM destinationCase WHERE contactLetterNo IS NOT NULL")
                    .map { try $0.string("contactLetterNo") }
            }
            await origin.close()
            await destination.close()
            #expect(remitted == total && remittedCases == total, "one remittance per case: \(remitted) remittances for \(remittedCases) cases")
            let sequence = { (numbers: [String]) in numbers.compactMap { Int($0.split(separator: "-").last ?? "") }.sorted() }
            #expect(sequence(letters) == Array(1...total), "contact letter numbers 1...\(total), none missing or twice")
            #expect(sequence(remittanceNumbers) == Array(1...remittanceNumbers.count), "remittance numbers gap-free")

            // The audit replays the topics and compares with both PostgreSQL databases.
            let audit = try await auditReport(world, databases: [originDatabase, destinationDatabase])
            let report = try #require(audit.report, "transfer-audit: \(audit.error)")
            #expect(audit.status == 0, "\(report.text())")
            #expect(report.isClean && report.openCases.isEmpty && report.money.conserved)
            #expect(report.cases.count == total + refiled)
            #expect(report.casesByOriginState["closed"] == total)
            #expect(report.deadLetters.isEmpty)
            print(String(
                format: "high availability: %d cases on 2+2 instances (PostgreSQL) in %.0f s; SIGKILL of the relay-holding instance of each office at %d filed; relay takeover %.2f s (destination), %.2f s (origin); redeliveries absorbed %d; filed again after a lost answer %d",
                total, seconds, total / 3, takeover["destination"] ?? -1, takeover["origin"] ?? -1, report.duplicateEvents, refiled))
            FaultReport.record([
                "test": "2+2 instances on PostgreSQL, SIGKILL of one instance of each office", "cases": total,
                "faults": ["SIGKILL destination instance (relay holder)", "SIGKILL origin instance (relay holder)"],
                "lost": total - completed, "duplicatedEffects": report.violations.filter { $0.rule == "duplicate-effect" }.count,
                "redeliveriesAbsorbed": report.duplicateEvents, "maxRecoverySeconds": max(takeover["destination"] ?? 0, takeover["origin"] ?? 0),
                "seconds": seconds, "clean": report.isClean,
            ])
            await PostgresTest.dropDatabase(originDatabase)
            await PostgresTest.dropDatabase(destinationDatabase)
        }

        @Test("issue 21, item 5: a network cut, not a death: the relay holder's traffic to PostgreSQL is black-holed; the other instance takes the relay over within the lease and stays available, nothing is lost or doubled, and the old holder neither relays when the network heals nor hangs on SIGTERM")
        func relayHolderCutOff() async throws {
            let total = ProcessInfo.processInfo.environment["CUT_CASES"].flatMap(Int.init) ?? 60
            let world = try TestWorld()
            defer { world.cleanUp() }
            let database = try await PostgresTest.createDatabase(prefix: "cut_destination")
            let server = try #require(URLComponents(string: database))
            let serverPort = try #require(server.port)
            // Each destination instance reaches PostgreSQL through a proxy of its own: cutting it cuts
            // that instance off (its packets go nowhere, nothing is closed), as a network would.
            let proxyPorts = [freePort(), freePort()]
            let proxies = try proxyPorts.enumerated().map { index, port in
                try ChildProcess.proxy(listen: port, target: serverPort, log: world.folder.appendingPathComponent("pg-proxy-\(index).log"))
            }
            try await withChildren(proxies) {
                for port in proxyPorts { try await waitForPort(port) }
                let originPort = freePort()
                let origin = try OfficeExecutable(
                    "origin-office", environment: FaultRuns.CrashTests.environment(world, .origin, code: "440300", port: originPort), port: originPort,
                    log: world.folder.appendingPathComponent("origin.log"))
                let destinations = try (0..<2).map { index -> OfficeExecutable in
                    var through = server
                    through.port = proxyPorts[index]
                    let port = freePort()
                    var environment = Self.environment(world, .destination, code: "510100", port: port, database: try #require(through.string))
                    environment["DATABASE_RELAY_LEASE_SECONDS"] = "5"
                    environment["DATABASE_STATEMENT_TIMEOUT_SECONDS"] = "5"
                    return try OfficeExecutable(
                        "destination-office", environment: environment, port: port, log: world.folder.appendingPathComponent("destination-\(index).log"))
                }
                defer {
                    for office in destinations + [origin] where office.process.isRunning { office.kill(SIGKILL) }
                }
                for office in destinations + [origin] {
                    _ = try await client.waitFor(office.url.appendingPathComponent("health"), limit: .seconds(60)) { $0["status"] as? String == "ok" }
                }
                let people = applicants(total, seed: 7)
                try await FaultRuns.CrashTests.inParallel(Array(people.enumerated()), width: 8) { [client] item in
                    try await item.element.registerAtOrigin(client, origin.url)
                    try await item.element.registerAtDestination(client, destinations[item.offset % 2].url)
                }
                // A third of the applications before the cut, at both instances.
                let before = total / 3
                try await FaultRuns.CrashTests.inParallel(Array(people.prefix(before).enumerated()), width: 8) { [client] item in
                    _ = try await item.element.apply(client, destinations[item.offset % 2].url)
                }
                let holder = try #require(destinations.firstIndex(where: Self.holdsRelay), "one destination instance runs the relay")
                let survivor = destinations[1 - holder]
                let cutAt = ContinuousClock.now
                try await proxies[holder].command("drop both")

                // The rest at the instance that can still reach the database, while the cut lasts.
                try await FaultRuns.CrashTests.inParallel(Array(people.dropFirst(before)), width: 8) { [client] person in
                    _ = try await person.apply(client, survivor.url)
                }
                // During the cut every contact letter leaves the office (the survivor relays the ones
                // the cut holder had not sent too) and the origin answers it. (The cut instance keeps
                // its partitions of the inbox meanwhile: answers on them wait for the network.)
                var takeover: Double?
                var statuses: [String: Int] = [:]
                let limit = ContinuousClock.now + .seconds(120)
                var answered = 0
                while ContinuousClock.now < limit {
                    if takeover == nil, Self.holdsRelay(survivor) { takeover = (ContinuousClock.now - cutAt).seconds }
                    if let (_, response) = try? await URLSession.shared.data(from: survivor.url.appendingPathComponent("health")),
                        let status = (response as? HTTPURLResponse)?.statusCode {
                        statuses["\(status)", default: 0] += 1
                    }
                    if let terminated = try? await client.count(origin.url, state: "terminated"), let closed = try? await client.count(origin.url, state: "closed") {
                        answered = terminated + closed
                    }
                    if answered == total && takeover != nil { break }
                    try await Task.sleep(for: .milliseconds(500))
                }
                let lettersOut = (ContinuousClock.now - cutAt).seconds
                #expect(answered == total, "every letter left the office and was answered during the cut: \(answered) of \(total)")
                #expect(try #require(takeover, "the survivor takes the relay over") < 5 + 10, "within the lease (5 s) and a relay round or two")
                #expect(statuses["503"] == nil, "the survivor's /health stayed available: \(statuses)")

                // The network heals: the old holder finds the lease taken and does not relay; every case completes.
                try await proxies[holder].command("restore")
                var completed = 0
                let finish = ContinuousClock.now + .seconds(120)
                while ContinuousClock.now < finish {
                    completed = (try? await client.count(survivor.url, state: "completed")) ?? completed
                    if completed == total { break }
                    try await Task.sleep(for: .milliseconds(500))
                }
                #expect(completed == total, "every case completed once the network healed: \(completed) of \(total)")
                // Quiet before the stop: the audit compares stores with topics, so every completion
                // must have left the shared outbox (the cut holder applied its partitions' answers
                // after the heal; the survivor's relay publishes those rows on its next rounds) and
                // reached the origin.
                let check = try await PostgresStore(url: database, lockName: "check", migrations: [], connections: 1, migrate: false, logger: Logger(label: "cut-test"))
                var (unsent, closed) = (-1, 0)
                let completedAt = ContinuousClock.now
                let quiet = completedAt + .seconds(60)
                while ContinuousClock.now < quiet {
                    unsent = try await check.read { try PostgresTransaction.of($0).query("SELECT COUNT(*) AS n FROM outbox WHERE sentAt IS NULL")[0].int("n") }
                    closed = (try? await client.count(origin.url, state: "closed")) ?? closed
                    if unsent == 0 && closed == total { break }
                    try await Task.sleep(for: .milliseconds(250))
                }
                await check.close()
                let quietSeconds = (ContinuousClock.now - completedAt).seconds
                #expect(unsent == 0 && closed == total, "the outbox drained (\(unsent) unsent) and the origin closed \(closed) of \(total)")
                let announcements = ((try? String(contentsOf: destinations[holder].log, encoding: .utf8)) ?? "")
                    .components(separatedBy: "This instance runs the outbox relay").count - 1
                #expect(announcements == 1, "the old holder took the relay only once, before the cut")
                let startedStop = ContinuousClock.now
                for office in destinations + [origin] {
                    office.kill(SIGTERM)
                    #expect(await office.waitForExit(limit: .seconds(20)) == 0, "stops cleanly on SIGTERM")
                }
                let stopSeconds = (ContinuousClock.now - startedStop).seconds

                // Nothing lost, nothing doubled, per-case order kept: the audit against both stores.
                let audit = try await auditReport(world, databases: [database, world.folder.appendingPathComponent("origin-440300.sqlite").path])
                let report = try #require(audit.report, "transfer-audit: \(audit.error)")
                #expect(audit.status == 0, "\(report.text())")
                #expect(report.isClean && report.openCases.isEmpty && report.money.conserved)
                #expect(report.casesByDestinationState["completed"] == total)
                #expect(report.deadLetters.isEmpty)
                print(String(
                    format: "relay holder cut off: %d cases; takeover %.1f s after the cut (lease 5 s); every letter answered %.1f s after the cut; outbox empty %.1f s after the last completion; survivor /health %@; redeliveries absorbed %d; stop of all three %.1f s",
                    total, takeover ?? -1, lettersOut, quietSeconds, statuses.description, report.duplicateEvents, stopSeconds))
            }
            await PostgresTest.dropDatabase(database)
        }
    }
}
