import AuditCore
import DestinationOffice
import Foundation
import Kafka
import OfficeRuntime
import OfficeStorage
import OriginOffice
import Testing
import TransferDomain

extension OfficeRuns {
    @Suite("transfer-audit against a real run of both offices", .enabled(if: Broker.available), .timeLimit(.minutes(3)))
    struct AuditEndToEndTests {
        let client = Client()

        @Test("a clean run audits clean, rebuild equals live, and a case still open is reported open, not as a violation")
        func cleanRun() async throws {
            let world = try TestWorld()
            defer { world.cleanUp() }
            let origin = try await world.start(OriginOffice.self, code: "440300")
            let destination = try await world.start(DestinationOffice.self, code: "510100")
            let year = Support.businessYear
            var cases: [String] = []
            for index in 0..<4 {
                let person = Applicant.make(birth: "19860\(index + 1)11", sequence: String(format: "%03d", 301 + 2 * index), from: "2018-01", to: "\(year - 1)-12")
                try await person.registerAtOrigin(client, origin.url, arrears: index == 3 ? "10.00" : "0.00")
                try await person.registerAtDestination(client, destination.url)
                cases.append(try await person.apply(client, destination.url))
            }
            // A letter to an origin that is not running (Hangzhou): the case stays open.
            let waiting = Applicant.make(birth: "19860601", sequence: "401", from: "2018-01", to: "\(year - 1)-12")
            try await waiting.registerAtDestination(client, destination.url)
            let openCase = try await waiting.apply(client, destination.url, origin: "330100")
            for caseID in cases {
                _ = try await client.waitFor(destination.url.appendingPathComponent("v1/cases/\(caseID)")) { terminalStates.contains($0["state"] as? String ?? "") }
            }
            for caseID in cases.prefix(3) {
                _ = try await client.waitFor(origin.url.appendingPathComponent("v1/cases/\(caseID)")) { $0["state"] as? String == "closed" }
            }
            try await origin.stop()
            try await destination.stop()

            // The real executable, as an operator runs it.
            let audit = try await Support.runTool("transfer-audit", [
                "--brokers", world.servers, "--inbox-prefix", world.inboxPrefix, "--keys", Support.eventKeys.directory,
                "--dead-letter-topic", world.deadLetterTopic, "--format", "json", "--as-of", Support.today.description,
                "--compare-db", world.settings(.destination, code: "510100")["database.path"]!,
                "--compare-db", world.settings(.origin, code: "440300")["database.path"]!,
            ])
            let report = try JSONDecoder().decode(AuditReport.self, from: audit.output)
            #expect(audit.status == 0, "\(report.text())")
            #expect(report.isClean)
            #expect(report.cases.count == 5)
            #expect(report.casesByDestinationState["completed"] == 3 && report.casesByDestinationState["letter-returned"] == 1)
            #expect(report.openCases.map(\.caseId) == [openCase])
            #expect(report.money.conserved)
            #expect(report.deadLetters.isEmpty)
            #expect(report.signatures?.refused == 0 && (report.signatures?.verified ?? 0) == report.recordsRead, "every record verified")

            // Tampering with the origin's database is caught by the comparison.
            let originPath = world.settings(.origin, code: "440300")["database.path"]!
            let tampered = try SQLiteStore(path: originPath, migrations: { OriginOffice.registerMigrations(&$0) })
            let tamperedCase = cases[0]
            try await tampered.writer.write { db in
                try db.execute(sql: "UPDATE originCase SET events = '[]', state = 'letter-received' WHERE caseId = ?", arguments: [tamperedCase])
            }
            let second = try await Support.runTool("transfer-audit", [
                "--brokers", world.servers, "--inbox-prefix", world.inboxPrefix, "--keys", Support.eventKeys.directory,
                "--dead-letter-topic", world.deadLetterTopic, "--as-of", Support.today.description, "--compare-db", originPath,
            ])
            #expect(second.status == 1)
            #expect(String(decoding: second.output, as: UTF8.self).contains("rebuild-equals-live case \(cases[0])"))
        }

        @Test("event-bench generate writes signed completed cases that audit CLEAN with its key directory, and are refused under another directory")
        func generatedStream() async throws {
            let prefix = "t-\(UUID().uuidString.prefix(8).lowercased())-bench."
            let keys = FileManager.default.temporaryDirectory.appendingPathComponent("event-bench-\(UUID().uuidString.prefix(8)).json").path
            defer { try? FileManager.default.removeItem(atPath: keys) }
            let generated = try await Support.runTool("event-bench", [
                "generate", "--brokers", try #require(Broker.servers), "--records", "60", "--inbox-prefix", prefix, "--partitions", "2", "--keys", keys,
            ])
            #expect(generated.status == 0, "\(generated.error)")
            #expect(String(decoding: generated.output, as: UTF8.self).contains("60 records of 10 completed cases"))
            func audit(_ directory: String) async throws -> (Int32, AuditReport) {
                let run = try await Support.runTool("transfer-audit", [
                    "--brokers", try #require(Broker.servers), "--inbox-prefix", prefix, "--dead-letter-topic", prefix + "dead-letter",
                    "--keys", directory, "--format", "json",
                ])
                return (run.status, try JSONDecoder().decode(AuditReport.self, from: run.output))
            }
            let (status, report) = try await audit(keys)
            #expect(status == 0 && report.isClean, "\(report.text())")
            #expect(report.cases.count == 10 && report.casesByDestinationState["completed"] == 10 && report.casesByOriginState["closed"] == 10)
            #expect(report.money.conserved && report.openCases.isEmpty)
            #expect(report.signatures?.verified == 60)
            // The office keys of the test offices know nothing of the run's keys: every record refused.
            let (otherStatus, other) = try await audit(Support.eventKeys.directory)
            #expect(otherStatus != 0 && other.signatures?.refused == 60, "\(other.text())")
        }
    }
}
