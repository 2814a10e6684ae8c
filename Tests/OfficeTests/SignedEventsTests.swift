import AuditCore
import Crypto
import EventSigning
import Foundation
import Kafka
import OfficeRuntime
import OriginOffice
import Testing
import TransferDomain

extension OfficeRuns {
    /// Signed events and per-office inboxes on the real broker: what a forger can and cannot do, key
    /// rotation, and that an office reads only its own mail.
    @Suite("Signed events and office inboxes on the real broker", .enabled(if: Broker.available), .timeLimit(.minutes(3)))
    struct SignedEventsTests {
        let client = Client()

        /// A Chengdu contact letter to `origin` for `person`, dated on the test business date.
        func letter(_ person: Applicant, sequence: Int, origin: String = "440300", account: BankAccount? = nil) throws -> CloudEvent {
            let chengdu = try #require(OfficeDirectory.standard[try OfficeCode("510100")])
            let from = try #require(OfficeDirectory.standard[try OfficeCode(origin)])
            let letter = ContactLetterIssued(
                caseId: CaseID(), contactLetterNo: ContactLetterNumber(office: chengdu.code, year: Support.businessYear, sequence: sequence),
                person: PersonRef(PersonFacts(citizenID: person.id, name: person.name, hukouProvince: try ProvinceCode(person.hukou))),
                origin: OfficeRef(from), destination: OfficeRef(chengdu), destinationAccount: account ?? chengdu.account, certificateNo: nil,
                applicationDate: Support.today, issuedOn: Support.today)
            return CloudEvent(source: chengdu.code, recipient: from.code, time: Date(), event: .contactLetterIssued(letter))
        }

        /// Dead letters of the world, waiting (up to 20 s) until there are `count` of them.
        func deadLetters(_ world: TestWorld, count: Int) async throws -> [KafkaMessage] {
            let deadline = ContinuousClock.now + .seconds(20)
            var records = try await world.records(world.deadLetterTopic)
            while records.count < count && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(300))
                records = try await world.records(world.deadLetterTopic)
            }
            return records
        }

        @Test("forged letters (wrong key, unknown key, another office's key, altered value, no signature, a doubled header) are dead-lettered with their reason and reported by transfer-audit; the valid letter behind them is applied; a Python verifier written from the docs agrees record by record")
        func forgeries() async throws {
            let world = try TestWorld()
            defer { world.cleanUp() }
            let origin = try await world.start(OriginOffice.self, code: "440300")
            let person = Applicant.make(birth: "19850505", sequence: "611", from: "2019-01", to: "\(Support.businessYear - 1)-12")
            try await person.registerAtOrigin(client, origin.url)
            let good = try letter(person, sequence: 501)
            let inbox = world.inbox("440300", .origin)
            let chengdu = Support.eventKeys.signers["510100"]!
            let stranger = Curve25519.Signing.PrivateKey()
            let value = Array(try good.data())
            let plain = good.headers
            func record(_ headers: [(name: String, value: String)], _ value: [UInt8]) -> KafkaRecord {
                KafkaRecord(topic: inbox, key: Array(good.key.utf8), value: value, headers: headers.map { KafkaHeader(name: $0.name, string: $0.value) })
            }
            // Signed by a key nobody published, under Chengdu's key id.
            let wrongKey = try EventSigner(privateKey: stranger, office: "510100").signatureHeaders(headers: plain, value: value)
                .map { $0.name == EventSignature.keyHeader ? (name: $0.name, value: chengdu.keyID) : $0 }
            // Signed by a key of its own id that the directory does not list.
            let unknownKey = try EventSigner(privateKey: stranger, office: "510100").signatureHeaders(headers: plain, value: value)
            // Signed with Hangzhou's real key while claiming to come from Chengdu.
            let otherOffice = try Support.eventKeys.signers["330100"]!.signatureHeaders(headers: plain, value: value)
            // Chengdu's genuine signature on a value whose remittance account was changed afterwards.
            let diverted = Array(String(decoding: value, as: UTF8.self)
                .replacingOccurrences(of: OfficeDirectory.standard[try OfficeCode("510100")]!.account.accountNumber, with: "6222999988887777").utf8)
            #expect(diverted != value)
            let genuine = try chengdu.signatureHeaders(headers: plain, value: value)
            // A second ce_type after the signed one: a reader taking the other copy would see another event.
            let doubled = plain + genuine + [(name: "ce_type", value: EventType.transferCompleted.ceType)]
            try await world.send([
                record(plain + wrongKey, value),
                record(plain + unknownKey, value),
                record(plain + otherOffice, value),
                record(plain + genuine, diverted),
                record(plain, value),
                record(doubled, value),
                record(plain + genuine, value),  // the valid letter, right behind the forgeries on the same partition
            ])

            let view = try await client.waitFor(origin.url.appendingPathComponent("v1/cases/\(good.subject)")) { $0["state"] as? String == "terminated" }
            #expect(view["remitted"] as? String == (try person.expectedTotal(year: Support.businessYear)).description)
            #expect(try await client.call("GET", origin.url.appendingPathComponent("v1/cases"))["count"] as? Int == 1)
            let letters = try await deadLetters(world, count: 6)
            #expect(letters.count == 6)
            #expect(letters.sorted { $0.header("dlq_offset").flatMap(Int.init) ?? 0 < $1.header("dlq_offset").flatMap(Int.init) ?? 0 }.compactMap { $0.header("dlq_reason") }
                == ["bad-signature", "unknown-key", "bad-signature", "bad-signature", "bad-signature", "bad-signature"])
            #expect(letters.contains { $0.header("dlq_detail")?.contains("belongs to office 330100") == true })
            #expect(letters.contains { $0.header("dlq_detail")?.contains("appears more than once") == true })
            // The origin's remittance went out signed, to Chengdu's inbox only.
            let sent = try await world.firstRecord(world.inbox("510100", .destination), type: .fundsRemitted)
            #expect(sent?.header(EventSignature.keyHeader) == Support.eventKeys.signers["440300"]!.keyID)
            try await origin.stop()

            // transfer-audit: six signature violations with their places; the good case is not touched by them.
            let audit = try await Support.runTool("transfer-audit", [
                "--brokers", world.servers, "--inbox-prefix", world.inboxPrefix, "--keys", Support.eventKeys.directory,
                "--dead-letter-topic", world.deadLetterTopic, "--format", "json", "--as-of", Support.today.description,
            ])
            #expect(audit.status == 1, "\(audit.error)")
            let report = try JSONDecoder().decode(AuditReport.self, from: audit.output)
            let signatureViolations = report.violations.filter { $0.rule == "signature" }
            #expect(signatureViolations.count == 6)
            #expect(report.violations.count == 6, "no other violation: \(report.text())")
            #expect(signatureViolations.allSatisfy { $0.evidence.first?.hasPrefix(inbox + "[") == true && $0.message.contains("dead-lettered it") })
            #expect(report.rejected.map(\.reason).sorted() == ["bad-signature", "bad-signature", "bad-signature", "bad-signature", "bad-signature", "unknown-key"])
            #expect(report.cases.count == 1)
            // Without the directory the audit refuses to pretend.
            let keyless = try await Support.runTool("transfer-audit", ["--brokers", world.servers, "--inbox-prefix", world.inboxPrefix], environment: [:])
            #expect(keyless.status == 2 && keyless.error.contains("--keys"))

            // The same records through a verifier in another language, written from docs/event-contract.md.
            let records = try await world.records(inbox) + world.records(world.inbox("510100", .destination))
            let verdicts = try await PythonVerifier.verify(records, keys: Support.eventKeys.directory, folder: world.folder)
            let received = records.filter { $0.topic == inbox }
            #expect(verdicts.count == records.count)
            #expect(received.map { verdicts[$0.place]?.reason ?? "valid" }
                == ["bad-signature", "unknown-key", "bad-signature", "bad-signature", "bad-signature", "bad-signature", "valid"])
            #expect(records.filter { $0.topic != inbox }.allSatisfy { verdicts[$0.place]?.valid == true }, "everything the origin signed verifies")
        }

        @Test("key rotation: during the overlap letters signed with the old and the new key are both applied; once the old key is retired what it signs is dead-lettered as unknown-key")
        func rotation() async throws {
            let world = try TestWorld()
            defer { world.cleanUp() }
            let old = Support.eventKeys.signers["510100"]!
            let new = EventSigner(privateKey: Curve25519.Signing.PrivateKey(), office: "510100")
            let overlap = EventKeyDirectory(keys: Support.eventKeys.keys.keys + [.init(office: "510100", id: new.keyID, publicKey: new.publicKey, retired: false)])
            let overlapPath = world.folder.appendingPathComponent("keys-overlap.json").path
            try overlap.json().write(to: URL(fileURLWithPath: overlapPath))
            let people = (0..<4).map { Applicant.make(birth: "1984040\($0 + 1)", sequence: String(format: "%03d", 621 + 2 * $0), from: "2020-01", to: "\(Support.businessYear - 1)-12") }

            var origin = try await world.start(OriginOffice.self, code: "440300", extra: ["event.keys.file": overlapPath])
            for person in people { try await person.registerAtOrigin(client, origin.url) }
            let first = try letter(people[0], sequence: 601)
            let second = try letter(people[1], sequence: 602)
            try await world.send([
                try Support.signedRecord(first, signer: old, topic: world.inbox("440300", .origin)),
                try Support.signedRecord(second, signer: new, topic: world.inbox("440300", .origin)),
            ])
            for event in [first, second] {
                _ = try await client.waitFor(origin.url.appendingPathComponent("v1/cases/\(event.subject)")) { $0["state"] as? String == "terminated" }
            }
            try await origin.stop()

            // The old key retired (event-keys retire does the same to the file).
            let retired = EventKeyDirectory(keys: overlap.keys.map { key in
                var key = key
                if key.id == old.keyID { key.retired = true }
                return key
            })
            let retiredPath = world.folder.appendingPathComponent("keys-retired.json").path
            try retired.json().write(to: URL(fileURLWithPath: retiredPath))
            origin = try await world.start(OriginOffice.self, code: "440300", extra: ["event.keys.file": retiredPath])
            let late = try letter(people[2], sequence: 603)
            let current = try letter(people[3], sequence: 604)
            try await world.send([
                try Support.signedRecord(late, signer: old, topic: world.inbox("440300", .origin)),
                try Support.signedRecord(current, signer: new, topic: world.inbox("440300", .origin)),
            ])
            _ = try await client.waitFor(origin.url.appendingPathComponent("v1/cases/\(current.subject)")) { $0["state"] as? String == "terminated" }
            let letters = try await deadLetters(world, count: 1)
            #expect(letters.compactMap { $0.header("dlq_reason") } == ["unknown-key"])
            #expect(letters.first?.header("dlq_detail")?.contains("retired") == true)
            #expect(try await client.call("GET", origin.url.appendingPathComponent("v1/cases"))["count"] as? Int == 3)
            try await origin.stop()
        }

        @Test("each office fetches only its own inbox: Hangzhou's consumer never receives a record of Shenzhen's mail, and the senders write to the recipient's inbox only")
        func ownMailOnly() async throws {
            let world = try TestWorld()
            defer { world.cleanUp() }
            let shenzhen = try await world.start(OriginOffice.self, code: "440300")
            let hangzhou = try await world.start(OriginOffice.self, code: "330100")
            var letters: [String: [CloudEvent]] = [:]
            for index in 0..<5 {
                let office = index < 3 ? "440300" : "330100"
                let person = Applicant.make(
                    birth: "1983030\(index + 1)", sequence: String(format: "%03d", 651 + 2 * index), hukou: String(office.prefix(2)), origin: office,
                    from: "2020-01", to: "\(Support.businessYear - 1)-12")
                try await person.registerAtOrigin(client, index < 3 ? shenzhen.url : hangzhou.url)
                letters[office, default: []].append(try letter(person, sequence: 701 + index, origin: office))
            }
            for (office, events) in letters {
                try await world.send(try events.map { try Support.signedRecord($0, topic: world.inbox(office, .origin)) })
            }
            for (office, events) in letters {
                let url = office == "440300" ? shenzhen.url : hangzhou.url
                for event in events {
                    _ = try await client.waitFor(url.appendingPathComponent("v1/cases/\(event.subject)")) { $0["state"] as? String == "terminated" }
                }
            }
            let fetchedByHangzhou = hangzhou.process.consumer.fetchedRecords
            let fetchedByShenzhen = shenzhen.process.consumer.fetchedRecords
            #expect(Set(fetchedByHangzhou.keys) == [world.inbox("330100", .origin)], "\(fetchedByHangzhou)")
            #expect(Set(fetchedByShenzhen.keys) == [world.inbox("440300", .origin)], "\(fetchedByShenzhen)")
            #expect((fetchedByHangzhou[world.inbox("330100", .origin)] ?? 0) >= 2 && (fetchedByShenzhen[world.inbox("440300", .origin)] ?? 0) >= 3)
            try await shenzhen.stop()
            try await hangzhou.stop()

            // Every record in an inbox is addressed to its owner; both origins wrote to Chengdu's inbox only.
            for office in ["440300", "330100"] {
                #expect(try await world.records(world.inbox(office, .origin)).allSatisfy { $0.header("ce_recipient") == office })
            }
            let toChengdu = try await world.records(world.inbox("510100", .destination))
            #expect(toChengdu.allSatisfy { $0.header("ce_recipient") == "510100" })
            #expect(Set(toChengdu.compactMap { $0.header("ce_source") }) == ["/offices/440300", "/offices/330100"])
            #expect(try await world.records(world.inbox("110000", .destination)).isEmpty, "Beijing's destination inbox (the origins create it) holds nothing")
        }
    }
}

/// Runs Tests/Scripts/verify_event_signatures.py (Python's `cryptography`) on records.
enum PythonVerifier {
    struct Verdict: Decodable {
        var place: String
        var valid: Bool
        var reason: String?
    }

    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Scripts/verify_event_signatures.py").path
    }

    /// The verdict on each record, by `topic[partition]@offset`.
    static func verify(_ records: [KafkaMessage], keys: String, folder: URL) async throws -> [String: Verdict] {
        let input: [[String: Any]] = records.map { record in
            [
                "place": record.place,
                "headers": record.headers.map { [$0.name, $0.stringValue ?? ""] },
                "value": Data(record.value ?? []).base64EncodedString(),
            ]
        }
        let path = folder.appendingPathComponent("records-\(UUID().uuidString.prefix(6)).json")
        try JSONSerialization.data(withJSONObject: input).write(to: path)
        let result = try await Support.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", script, "--keys", keys, path.path])
        #expect(result.status == 0, "the Python verifier failed (is cryptography installed? scripts/bootstrap installs it): \(result.error)")
        var verdicts: [String: Verdict] = [:]
        for line in String(decoding: result.output, as: UTF8.self).split(separator: "\n") {
            let verdict = try JSONDecoder().decode(Verdict.self, from: Data(line.utf8))
            verdicts[verdict.place] = verdict
        }
        return verdicts
    }
}

extension KafkaMessage {
    /// `topic[partition]@offset`, as the audit names records.
    var place: String { "\(topic)[\(partition)]@\(offset)" }
}
