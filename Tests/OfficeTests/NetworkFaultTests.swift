import AuditCore
import DestinationOffice
import Foundation
import Kafka
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import OfficeRuntime
import OriginOffice
import Testing
import TransferDomain

#if canImport(Glibc)
import Glibc
#endif

extension FaultRuns {
    /// The network between the offices and the broker broken on purpose, under load: a dedicated
    /// embedded broker behind Tests/Scripts/tcp_proxy.py (the broker advertises the proxy, so every
    /// connection goes through it).
    @Suite("Broker and network faults (real broker behind a proxy)", .enabled(if: Broker.available), .timeLimit(.minutes(6)))
    struct NetworkFaultTests {
        let client = Client()

        /// `GET /health` of an office: the HTTP status and the body (503 is an answer here, not an error).
        func health(_ office: URL) async -> (status: Int, body: [String: Any]) {
            guard let (data, response) = try? await URLSession.shared.data(from: office.appendingPathComponent("health")) else { return (0, [:]) }
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:])
        }

        /// Runs a fault for `duration`, watching both offices' `/health`: how long until each said the
        /// broker was unavailable (nil: never did), and, after the fault is undone, how long until
        /// both were ok again.
        func fault(
            _ name: String, offices: [URL], for duration: Duration, start: () async throws -> Void, end: () async throws -> Void
        ) async throws -> (name: String, detected: [Double?], recovery: Double) {
            try await start()
            let began = ContinuousClock.now
            var detected: [Double?] = offices.map { _ in nil }
            while ContinuousClock.now - began < duration {
                for (index, office) in offices.enumerated() where detected[index] == nil {
                    let (status, body) = await health(office)
                    if status == 503, (body["broker"] as? String ?? "ok") != "ok" { detected[index] = (ContinuousClock.now - began).seconds }
                }
                try await Task.sleep(for: .milliseconds(250))
            }
            try await end()
            let ended = ContinuousClock.now
            while ContinuousClock.now - ended < .seconds(90) {
                var healthy = true
                for office in offices where await health(office).status != 200 { healthy = false }
                if healthy { break }
                try await Task.sleep(for: .milliseconds(250))
            }
            return (name, detected, (ContinuousClock.now - ended).seconds)
        }

        @Test("cut for 10 s, 200 ms latency, one direction dropped, the broker paused 20 s (SIGSTOP): the offices say so on /health, recover by themselves, and lose or double nothing")
        func brokenNetwork() async throws {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("network-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let (brokerPort, proxyPort) = (freePort(), freePort())
            let tansu = try ChildProcess.tansu(port: brokerPort, advertised: proxyPort, log: folder.appendingPathComponent("tansu.log"))
            let proxy = try ChildProcess.proxy(listen: proxyPort, target: brokerPort, log: folder.appendingPathComponent("proxy.log"))
            try await withChildren([proxy, tansu]) {
                try await waitForPort(brokerPort)
                try await waitForPort(proxyPort)
                let world = try TestWorld(servers: "127.0.0.1:\(proxyPort)")
                defer { world.cleanUp() }
                let origin = try await world.start(OriginOffice.self, code: "440300")
                let destination = try await world.start(DestinationOffice.self, code: "510100")
                let offices = [origin.url, destination.url]
                let people = applicants(120, seed: 2000)
                try await CrashTests.inParallel(people, width: 8) { person in
                    try await person.registerAtOrigin(client, origin.url)
                    try await person.registerAtDestination(client, destination.url)
                }
                // Each fault starts right after a wave of applications, so events are in flight.
                let waves = stride(from: 0, to: people.count, by: 30).map { Array(people[$0..<min($0 + 30, people.count)]) }
                let file = { (wave: [Applicant]) in
                    try await CrashTests.inParallel(wave, width: 8) { person in _ = try await person.apply(client, destination.url) }
                }
                var results: [(name: String, detected: [Double?], recovery: Double)] = []
                try await file(waves[0])
                results.append(try await fault("connections cut 10 s", offices: offices, for: .seconds(10),
                    start: { try await proxy.command("cut") }, end: { try await proxy.command("restore") }))
                try await file(waves[1])
                results.append(try await fault("200 ms latency 10 s", offices: offices, for: .seconds(10),
                    start: { try await proxy.command("latency 200") }, end: { try await proxy.command("restore") }))
                try await file(waves[2])
                results.append(try await fault("requests dropped (one direction) 10 s", offices: offices, for: .seconds(10),
                    start: { try await proxy.command("drop up") }, end: { try await proxy.command("restore") }))
                try await file(waves[3])
                results.append(try await fault("broker paused (SIGSTOP) 20 s", offices: offices, for: .seconds(20),
                    start: { tansu.signal(SIGSTOP) }, end: { tansu.signal(SIGCONT) }))

                // While it was wrong, /health said so (latency alone is not an outage).
                for result in results where !result.name.contains("latency") {
                    #expect(result.detected.allSatisfy { $0 != nil }, "\(result.name): /health said the broker was unavailable (origin, destination): \(result.detected)")
                }
                // By themselves: every case ends, nothing lost or doubled.
                let finish = ContinuousClock.now + .seconds(180)
                var (completed, closed) = (0, 0)
                while ContinuousClock.now < finish {
                    completed = try await client.count(destination.url, state: "completed")
                    closed = try await client.count(origin.url, state: "closed")
                    if completed == people.count && closed == people.count { break }
                    try await Task.sleep(for: .seconds(1))
                }
                #expect(completed == people.count && closed == people.count, "completed \(completed), closed \(closed) of \(people.count)")
                try await origin.stop()
                try await destination.stop()
                let audit = try await auditReport(world, databases: [world.settings(.origin, code: "440300")["database.path"]!, world.settings(.destination, code: "510100")["database.path"]!])
                let report = try #require(audit.report, "transfer-audit: \(audit.error)")
                #expect(audit.status == 0 && report.isClean, "\(report.text())")
                #expect(report.cases.count == people.count && report.openCases.isEmpty && report.money.conserved)
                for result in results {
                    print("network fault: \(result.name): /health unavailable after \(result.detected.map { $0.map { String(format: "%.1f s", $0) } ?? "never" }), healthy again \(String(format: "%.1f", result.recovery)) s after it ended")
                }
                FaultReport.record([
                    "test": "network cut, latency, one-way drop, broker SIGSTOP", "cases": people.count,
                    "faults": results.map(\.name), "lost": people.count - report.cases.count,
                    "duplicatedEffects": report.violations.filter { $0.rule == "duplicate-effect" }.count,
                    "redeliveriesAbsorbed": report.duplicateEvents, "maxRecoverySeconds": results.map(\.recovery).max() ?? 0, "clean": report.isClean,
                ])
            }
        }
    }
}

extension FaultRuns {
    @Suite("The embedded broker restarted empty", .enabled(if: Broker.available), .timeLimit(.minutes(4)))
    struct BrokerRestartTests {
        let client = Client()

        /// The office's `outbox_pending_events` gauge (nil while /metrics cannot be read).
        static func outboxPending(_ office: URL) async -> Int? {
            guard let (data, _) = try? await URLSession.shared.data(from: office.appendingPathComponent("metrics")) else { return nil }
            let line = String(decoding: data, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("outbox_pending_events ") }
            return line.flatMap { Double($0.split(separator: " ").last ?? "") }.map { Int($0) }
        }

        @Test("the broker restarted empty: the offices say so in logs and metrics, keep serving HTTP, recreate their topics, get a new producer identity and carry on")
        func restartedEmpty() async throws {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("restart-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let brokerPort = freePort()
            var tansu = try ChildProcess.tansu(port: brokerPort, log: folder.appendingPathComponent("tansu.log"))
            try await waitForPort(brokerPort)
            let world = try TestWorld(servers: "127.0.0.1:\(brokerPort)")
            defer { world.cleanUp() }
            let (originPort, destinationPort) = (freePort(), freePort())
            var originEnvironment = CrashTests.environment(world, .origin, code: "440300", port: originPort)
            var destinationEnvironment = CrashTests.environment(world, .destination, code: "510100", port: destinationPort)
            for key in ["KAFKA_TOPIC_CHECK_SECONDS"] { originEnvironment[key] = "2"; destinationEnvironment[key] = "2" }
            let origin = try SupervisedOffice("origin-office", environment: originEnvironment, port: originPort, log: world.folder.appendingPathComponent("origin.log"), lives: [])
            let destination = try SupervisedOffice(
                "destination-office", environment: destinationEnvironment, port: destinationPort, log: world.folder.appendingPathComponent("destination.log"), lives: [])
            defer {
                origin.abandon()
                destination.abandon()
            }
            let (originURL, destinationURL) = (await origin.url, await destination.url)
            for url in [originURL, destinationURL] {
                _ = try await client.waitFor(url.appendingPathComponent("health"), limit: .seconds(60)) { $0["status"] as? String == "ok" }
            }
            await origin.startWatching()
            await destination.startWatching()
            do {
                let people = applicants(60, seed: 4000)
                try await CrashTests.inParallel(people, width: 8) { person in
                    try await person.registerAtOrigin(client, originURL)
                    try await person.registerAtDestination(client, destinationURL)
                }
                try await CrashTests.inParallel(Array(people.prefix(30)), width: 8) { person in _ = try await person.apply(client, destinationURL) }
                _ = try await client.waitFor(destinationURL.appendingPathComponent("v1/cases").appending(queryItems: [.init(name: "state", value: "completed"), .init(name: "limit", value: "1")]), limit: .seconds(90)) {
                    $0["total"] as? Int == 30
                }
                // The first cases are over on both sides and nothing of theirs is still waiting in an
                // outbox: otherwise a late event of theirs (the origin's answer to the completion)
                // would be published to the new broker and the audit below would see a 31st case.
                let drainedBy = ContinuousClock.now + .seconds(90)
                var drained = false
                while !drained && ContinuousClock.now < drainedBy {
                    let closed = try await client.count(originURL, state: "closed")
                    let pending = [await Self.outboxPending(originURL), await Self.outboxPending(destinationURL)]
                    drained = closed == 30 && pending == [0, 0]
                    if !drained { try await Task.sleep(for: .milliseconds(500)) }
                }
                #expect(drained, "the first 30 cases closed at the origin and both outboxes empty before the broker goes")

                // The broker goes and comes back with nothing: no topics, no records, no offsets.
                await tansu.stop()
                tansu = try ChildProcess.tansu(port: brokerPort, log: folder.appendingPathComponent("tansu-2.log"))
                try await waitForPort(brokerPort)
                let restarted = ContinuousClock.now
                // As `scripts/broker start` does, the topics are there again before the offices look
                // (check every 2 s): they must notice the reset by the new cluster id, not by a
                // missing topic.
                let admin = try KafkaAdminClient(configuration: KafkaConfiguration(bootstrapServers: [world.servers], clientID: "operator"), logger: Support.logger)
                try await admin.createTopics(
                    [world.inbox("440300", .origin), world.inbox("510100", .destination), world.deadLetterTopic].map { KafkaNewTopic(name: $0, partitions: 3) }, timeout: .seconds(5))
                // HTTP is served all along.
                #expect(try await client.count(destinationURL, state: "completed") == 30)
                // Loudly: each office says so in its log and counts it - unless librdkafka crashed it
                // first. (Against the embedded broker restarted empty, librdkafka 2.8-2.14 can
                // dereference a topic without a name in a leader update - a zero topic id from the
                // broker - and the process dies with SIGSEGV; its supervisor starts it again and the
                // new life simply finds, or creates, the topics. See docs/operations.md.)
                var said: [Bool] = [false, false]
                let logs = [world.folder.appendingPathComponent("origin.log"), world.folder.appendingPathComponent("destination.log")]
                let offices = [origin, destination]
                while ContinuousClock.now - restarted < .seconds(40) {
                    for index in 0..<2 where !said[index] {
                        let text = try String(contentsOf: logs[index], encoding: .utf8)
                        let died = !(await offices[index].unexpected.isEmpty)
                        said[index] = text.contains("The broker has lost this office's topics") || died
                    }
                    if said.allSatisfy({ $0 }) { break }
                    try await Task.sleep(for: .milliseconds(500))
                }
                #expect(said == [true, true], "each office logged that the broker lost its topics (or died and was restarted)")
                for (index, url) in [originURL, destinationURL].enumerated() {
                    // The metric lives in the process that noticed; a life that librdkafka ended (even
                    // while we ask) started again without it.
                    var metrics: String?
                    for _ in 0..<3 {
                        _ = try await client.waitFor(url.appendingPathComponent("health"), limit: .seconds(60)) { $0["status"] as? String == "ok" }
                        guard await offices[index].unexpected.isEmpty else { break }
                        if let (data, _) = try? await URLSession.shared.data(from: url.appendingPathComponent("metrics")) {
                            metrics = String(decoding: data, as: UTF8.self)
                            break
                        }
                        try await Task.sleep(for: .seconds(2))
                    }
                    guard await offices[index].unexpected.isEmpty else { continue }
                    #expect(metrics?.contains("kafka_topics_lost_total") == true, "the metric counts it")
                }
                // And carry on: new cases go through on the new broker.
                try await CrashTests.inParallel(Array(people.suffix(30)), width: 8) { person in
                    _ = try await client.retrying { try await person.apply(client, destinationURL) }
                }
                let finish = ContinuousClock.now + .seconds(120)
                var completed = 0
                while ContinuousClock.now < finish {
                    completed = try await client.count(destinationURL, state: "completed")
                    if completed == 60 { break }
                    try await Task.sleep(for: .seconds(1))
                }
                #expect(completed == 60)
                let crashes = await origin.unexpected + destination.unexpected
                #expect(crashes.allSatisfy { $0.hasSuffix("signal 11") }, "no death but librdkafka's known crash: \(crashes)")
                print("broker restarted empty: topics recreated and new cases completing \(String(format: "%.1f", (ContinuousClock.now - restarted).seconds)) s after the restart; offices that librdkafka crashed and their supervisor restarted: \(crashes.count)")
                await origin.stop()
                await destination.stop()
                // The new broker holds only what came after it: those cases audit clean.
                let audit = try await auditReport(world, databases: [])
                let report = try #require(audit.report, "transfer-audit: \(audit.error)")
                #expect(audit.status == 0 && report.isClean, "\(report.text())")
                #expect(report.cases.count == 30)
                FaultReport.record([
                    "test": "embedded broker restarted empty", "cases": 60, "faults": ["broker restart (empty)"], "lost": 0, "officeCrashes": crashes.count,
                    "duplicatedEffects": report.violations.filter { $0.rule == "duplicate-effect" }.count, "clean": report.isClean,
                    "maxRecoverySeconds": (ContinuousClock.now - restarted).seconds,
                ])
            } catch {
                await origin.stop()
                await destination.stop()
                await tansu.stop()
                throw error
            }
            await tansu.stop()
        }
    }
}
