import AuditCore
import DestinationOffice
import EventSigning
import Foundation
import Kafka
import OfficeRuntime
import Testing
import TransferDomain

extension OfficeRuns {
    /// Every kind of broken or hostile record the contract names, on one partition of a destination's
    /// inbox, with the valid events of a case between them: each refused or applied exactly as
    /// docs/event-contract.md says, the partition flowing past each, nothing applied twice.
    @Suite("Hostile and broken records (real broker)", .enabled(if: Broker.available), .timeLimit(.minutes(3)))
    struct HostileRecordsTests {
        let client = Client()

        @Test("not JSON, bad CloudEvents headers, unknown type, newer major version, a value over the size limit, an unknown case, another office as sender, three decimals, an exponent: each dead-lettered with its reason; funds before the form applied; the same remittance under a new event id applied once; the audit names the duplicate")
        func hostileStream() async throws {
            let world = try TestWorld()
            defer { world.cleanUp() }
            let destination = try await world.start(DestinationOffice.self, code: "510100")
            let year = Support.businessYear
            let person = Applicant.make(birth: "19880203", sequence: "861", from: "2021-01", to: "\(year - 1)-12")
            try await person.registerAtDestination(client, destination.url)
            let caseID = try await person.apply(client, destination.url)
            let (letterEvent, letter) = try await world.firstContactLetter(to: "440300")
            let form = try TransferCalculator.informationForm(
                months: person.months, pre1998Account: .zero, kind: .general, transferYear: year,
                rates: try Support.configuration(.origin, code: "440300").creditingRates)
            let shenzhen = try #require(OfficeDirectory.standard[try OfficeCode("440300")])
            let hangzhou = try #require(OfficeDirectory.standard[try OfficeCode("330100")])
            let chengdu = try OfficeCode("510100")
            let inbox = world.inbox("510100", .destination)
            let funds = FundsRemitted(
                caseId: letter.caseId, contactLetterNo: letter.contactLetterNo, remittanceId: RemittanceID(office: shenzhen.code, year: year, sequence: 1),
                amount: form.totalRemitted, payerAccount: shenzhen.account, payeeAccount: letter.destinationAccount, valueDate: Support.today)
            // Playing the origin, on the offices' business clock: a second after the letter, and so on.
            var tick = 0.0
            func time() -> Date {
                tick += 0.01
                return letterEvent.time.addingTimeInterval(tick)
            }
            let fundsEvent = CloudEvent(source: shenzhen.code, recipient: chengdu, time: time(), event: .fundsRemitted(funds))

            /// A record of `event` (signed by the office it names) whose value or headers a test changed.
            func record(_ event: CloudEvent, value: [UInt8]? = nil, headers change: ([(name: String, value: String)]) -> [(name: String, value: String)] = { $0 }) throws -> KafkaRecord {
                let bytes = try value ?? Array(event.data())
                let headers = change(event.headers)
                let signature = try Support.eventKeys.signers[event.source.rawValue]!.signatureHeaders(headers: headers, value: bytes)
                return KafkaRecord(topic: inbox, key: Array(event.key.utf8), value: bytes, headers: (headers + signature).map { KafkaHeader(name: $0.name, string: $0.value) })
            }
            func amount(_ text: String) throws -> [UInt8] {
                var object = try #require(try JSONSerialization.jsonObject(with: try fundsEvent.data()) as? [String: Any])
                object["amount"] = text
                return Array(try JSONSerialization.data(withJSONObject: object))
            }
            func exponent() throws -> [UInt8] {
                // A number where the contract wants a string of yuan with two decimals.
                Array(String(decoding: try fundsEvent.data(), as: UTF8.self).replacingOccurrences(of: "\"amount\":\"\(form.totalRemitted)\"", with: "\"amount\":1e5").utf8)
            }
            let unknownCase = CloudEvent(source: shenzhen.code, recipient: chengdu, time: time(), event: .fundsRemitted(FundsRemitted(
                caseId: CaseID(), contactLetterNo: letter.contactLetterNo, remittanceId: RemittanceID(office: shenzhen.code, year: year, sequence: 9),
                amount: Money(fen: 100), payerAccount: shenzhen.account, payeeAccount: letter.destinationAccount, valueDate: Support.today)))
            let wrongSender = CloudEvent(source: hangzhou.code, recipient: chengdu, time: time(), event: .fundsRemitted(FundsRemitted(
                caseId: letter.caseId, contactLetterNo: letter.contactLetterNo, remittanceId: RemittanceID(office: hangzhou.code, year: year, sequence: 1),
                amount: Money(fen: 100), payerAccount: hangzhou.account, payeeAccount: letter.destinationAccount, valueDate: Support.today)))
            let sameRemittanceAgain = CloudEvent(source: shenzhen.code, recipient: chengdu, time: time(), event: .fundsRemitted(funds))  // a new ce_id
            let terminated = CloudEvent(source: shenzhen.code, recipient: chengdu, time: time(), event: .originRelationshipTerminated(OriginRelationshipTerminated(
                caseId: letter.caseId, contactLetterNo: letter.contactLetterNo, citizenId: person.id, terminatedOn: Support.today)))
            let formEvent = CloudEvent(source: shenzhen.code, recipient: chengdu, time: time(), event: .infoFormIssued(InfoFormIssued(
                caseId: letter.caseId, contactLetterNo: letter.contactLetterNo, person: letter.person, form: form, issuedOn: Support.today)))
            // Over the producer's and the dead-letter topic's limit: the dead letter drops the value.
            let big = Array(repeating: UInt8(ascii: "x"), count: 1_500_000)
            let stream: [(KafkaRecord, String?)] = [
                (try record(fundsEvent, value: Array("{not json".utf8)), "malformed"),
                (try record(fundsEvent, headers: { $0.filter { $0.name != "ce_specversion" } }), "malformed"),
                (try record(fundsEvent, headers: { $0.map { $0.name == "ce_time" ? ($0.name, "yesterday") : $0 } }), "malformed"),
                (try record(fundsEvent, headers: { $0.map { $0.name == "ce_type" ? ($0.name, "pension.transfer.funds-doubled.v1") : $0 } }), "unknown-type"),
                (try record(fundsEvent, headers: { $0.map { $0.name == "ce_type" ? ($0.name, "pension.transfer.funds-remitted.v2") : $0 } }), "unknown-major-version"),
                (try record(fundsEvent, value: big), "malformed"),
                (try record(unknownCase), "unknown-case"),
                (try record(wrongSender), "wrong-sender"),
                (try record(fundsEvent, value: try amount("1.234")), "malformed"),
                (try record(fundsEvent, value: try exponent()), "malformed"),
                (try record(fundsEvent), nil),  // funds before the form: applied
                (try record(sameRemittanceAgain), nil),  // the same remittance id again: applied once
                (try record(formEvent), nil),  // the form: the case matches and completes
                (try record(terminated), nil),
            ]
            let producer = try KafkaProducer(configuration: .init(client: try world.client("hostile"), maxMessageBytes: 3_000_000), logger: Support.logger)
            for (record, _) in stream { _ = try await producer.send(record) }
            await producer.close()

            let done = try await client.waitFor(destination.url.appendingPathComponent("v1/cases/\(caseID)"), limit: .seconds(60)) { $0["state"] as? String == "completed" }
            #expect(done["received"] as? String == form.totalRemitted.description, "the remittance counted once")
            #expect((done["remittances"] as? [Any])?.count == 1)
            var letters: [KafkaMessage] = []
            let expected = stream.compactMap(\.1)
            for _ in 0..<100 where letters.count < expected.count {
                letters = try await world.records(world.deadLetterTopic)
                if letters.count < expected.count { try await Task.sleep(for: .milliseconds(200)) }
            }
            let ordered = letters.sorted { Int($0.header("dlq_offset") ?? "") ?? 0 < Int($1.header("dlq_offset") ?? "") ?? 0 }
            #expect(ordered.compactMap { $0.header("dlq_reason") }.sorted() == expected.sorted())
            #expect(ordered.allSatisfy { $0.header("dlq_topic") == inbox && $0.header("dlq_consumer") != nil })
            let oversized = ordered.first { $0.header("dlq_value_bytes") == String(big.count) }
            #expect(oversized?.header("dlq_dropped")?.contains("value") == true && oversized?.value == nil, "the dead letter fits: the value is left out and named")
            try await destination.stop()

            // The audit: every refused record reported apart; the re-sent remittance is a duplicate
            // effect of the sender (a violation naming both records), absorbed by the destination.
            let audit = try await auditReport(world, databases: [world.settings(.destination, code: "510100")["database.path"]!])
            let report = try #require(audit.report, "transfer-audit: \(audit.error)")
            let duplicate = report.violations.first { $0.rule == "duplicate-effect" }
            #expect(duplicate?.evidence.count == 2, "both remittance records named: \(report.text())")
            // This test's origin sent funds before its form, which no office does: the audit says so
            // too, and then judges the destination's completion against that origin's books (funds
            // its state machine could not take), as an origin office would refuse it (no office
            // here plays the origin to dead-letter it).
            #expect(Set(report.violations.map(\.rule)).isSubset(of: ["duplicate-effect", "per-case-order", "rejected-not-dead-lettered"]), "\(report.text())")
            #expect(report.deadLetters.count == expected.count)
            #expect(report.money.remitted == form.totalRemitted.description && report.money.conserved, "the remittance counted once")
            FaultReport.record([
                "test": "hostile and broken records", "cases": 1, "faults": expected.map { "record: \($0)" } + ["same remittance, new event id"],
                "lost": 0, "duplicatedEffects": 0, "clean": duplicate != nil && report.money.conserved,
            ])
        }
    }
}
