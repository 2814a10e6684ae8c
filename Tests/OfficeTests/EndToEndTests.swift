import DestinationOffice
import Foundation
import GRDB
import Kafka
import OfficeRuntime
import OfficeStorage
import OriginOffice
import Testing
import TransferDomain

extension OfficeRuns {
    /// Both services and the real broker, in this process, driven through their HTTP APIs.
    @Suite("End to end: both offices on the real broker", .enabled(if: Broker.available), .timeLimit(.minutes(3)))
    struct EndToEndTests {
        let client = Client()
    
        /// Waits until `office` has consumed every record in `messages`.
        func waitConsumed(_ database: any OfficeStore, _ messages: [KafkaMessage], limit: Duration = .seconds(30)) async throws {
            var needed: [TopicPartition: Int64] = [:]
            for message in messages { needed[message.topicPartition] = max(needed[message.topicPartition] ?? 0, message.offset + 1) }
            let clock = ContinuousClock()
            let start = clock.now
            while clock.now - start < limit {
                let positions = try await database.read { try $0.positions() }
                if needed.allSatisfy({ (positions[$0.key] ?? 0) >= $0.value }) { return }
                try await Task.sleep(for: .milliseconds(100))
            }
            Issue.record("the office did not consume \(messages.count) records within \(limit)")
        }

        @Test("happy path to the fen, every D and O code to its final state, temporary account, and redelivery of every event changes nothing")
        func fullProcess() async throws {
            let world = try TestWorld()
            defer { world.cleanUp() }
            let origin = try await world.start(OriginOffice.self, code: "440300")
            let destination = try await world.start(DestinationOffice.self, code: "510100")
            let year = Support.businessYear

            // The happy path: one from before 1998 (with ①), one recent, one temporary account at the origin.
            var people: [String: Applicant] = [
                "early": .make(birth: "19700101", sequence: "011", hukou: "51", from: "1996-01", to: "2024-06", base: "5000.00", pre1998: "1234.56"),
                "recent": .make(birth: "19900202", sequence: "021", from: "2019-01", to: "\(year - 1)-10"),
            ]
            var temporary = Applicant.make(birth: "19920303", sequence: "031", from: "2020-01", to: "\(year - 1)-06", base: "6000.00")
            temporary.kind = .temporary
            people["temporaryAtOrigin"] = temporary
            var cases: [String: String] = [:]
            for (_, person) in people {
                try await person.registerAtOrigin(client, origin.url)
                try await person.registerAtDestination(client, destination.url)
            }
            // A payment certificate before applying: the destination learns of it from the origin's event.
            let certificate = try await client.call(
                "POST", origin.url.appendingPathComponent("v1/persons/\(people["recent"]!.id.rawValue)/certificates"),
                ["destinationOffice": "510100", "materials": ["identityDocument": "ID", "householdRegister": "H", "laborContractTermination": "T"]])
            let certificateNo = certificate["certificateNo"] as? String
            // Apply only once the destination has taken the origin's certificate event.
            var certificateRecords: [KafkaMessage] = []
            for _ in 0..<100 where certificateRecords.isEmpty {
                certificateRecords = try await world.records(world.inbox("510100", .destination)).filter { $0.header("ce_type") == EventType.paymentCertificateIssued.ceType }
                if certificateRecords.isEmpty { try await Task.sleep(for: .milliseconds(100)) }
            }
            try await waitConsumed(destination.database, certificateRecords)
            for (label, person) in people {
                cases[label] = try await person.apply(client, destination.url, certificate: label == "recent" ? certificateNo : nil)
            }

            // Every reason code the two offices can reach through their APIs.
            func applicant(_ sequence: String, birth: String = "19880808", hukou: String = "44") -> Applicant {
                .make(birth: birth, sequence: sequence, hukou: hukou, from: "2020-01", to: "2024-12")
            }
            let d01 = applicant("101")
            try await d01.registerAtOrigin(client, origin.url)
            cases["D01"] = try await client.call("POST", destination.url.appendingPathComponent("v1/applications"), [
                "citizenId": d01.id.rawValue, "originOffice": "440300", "name": d01.name, "hukouProvince": "44",
            ])["caseId"] as? String
            let d02 = applicant("103", birth: "19700101")  // a man of 56, hukou Guangdong, moving to Sichuan
            try await d02.registerAtOrigin(client, origin.url)
            try await d02.registerAtDestination(client, destination.url)
            cases["D02"] = try await d02.apply(client, destination.url)
            let d03 = applicant("105")
            try await d03.registerAtDestination(client, destination.url, pension: true)
            cases["D03"] = try await d03.apply(client, destination.url)
            let d04 = applicant("107")
            try await d04.registerAtDestination(client, destination.url)
            cases["D04"] = try await d04.apply(client, destination.url, certificate: "PC-440300-\(year)-999999")
            let d05 = applicant("109")
            try await d05.registerAtDestination(client, destination.url)
            _ = try await d05.apply(client, destination.url, origin: "330100")  // no office 330100 runs: this case stays open
            cases["D05"] = try await d05.apply(client, destination.url, origin: "330100")
            let d07 = applicant("111")
            try await d07.registerAtDestination(client, destination.url)
            cases["D07"] = try await d07.apply(client, destination.url, origin: "510700")
            let o01 = applicant("113")
            try await o01.registerAtOrigin(client, origin.url, status: "contributing")
            try await o01.registerAtDestination(client, destination.url)
            cases["O01"] = try await o01.apply(client, destination.url)
            let o02 = applicant("115")
            try await o02.registerAtOrigin(client, origin.url, arrears: "120.00")
            try await o02.registerAtDestination(client, destination.url)
            cases["O02"] = try await o02.apply(client, destination.url)
            let o03 = applicant("117")
            try await o03.registerAtOrigin(client, origin.url, name: "Somebody Else")
            try await o03.registerAtDestination(client, destination.url)
            cases["O03"] = try await o03.apply(client, destination.url)
            let o05 = applicant("119")
            try await o05.registerAtOrigin(client, origin.url, status: "contributing")
            try await client.call("PUT", origin.url.appendingPathComponent("v1/persons/\(o05.id.rawValue)"), ["name": o05.name, "hukouProvince": "44", "status": "retired"])
            try await o05.registerAtDestination(client, destination.url)
            cases["O05"] = try await o05.apply(client, destination.url)

            // Final states and codes.
            let expected: [String: (String, String?)] = [
                "early": ("completed", nil), "recent": ("completed", nil), "temporaryAtOrigin": ("completed", nil),
                "D01": ("rejected", "D01"), "D02": ("temporary-account-opened", "D02"), "D03": ("rejected", "D03"),
                "D05": ("rejected", "D05"), "D07": ("rejected", "D07"),
                "O01": ("letter-returned", "O01"), "O02": ("letter-returned", "O02"), "O03": ("letter-returned", "O03"),
                "O05": ("letter-returned", "O05"),
            ]
            for (label, (state, code)) in expected.sorted(by: { $0.key < $1.key }) {
                let caseID = try #require(cases[label])
                let view = try await client.waitFor(destination.url.appendingPathComponent("v1/cases/\(caseID)")) { terminalStates.contains($0["state"] as? String ?? "") }
                #expect(view["state"] as? String == state, "\(label)")
                if let code {
                    let reasons = (view["reviewReasons"] as? [String] ?? []) + (view["returnReasons"] as? [String] ?? [])
                    #expect(reasons.contains(code), "\(label): \(reasons)")
                }
            }
            // A certificate number the destination has not received: the review waits for it (the
            // wait's end, a D04, is tested on a controlled clock in DestinationHTTPTests).
            let waiting = try await client.call("GET", destination.url.appendingPathComponent("v1/cases/\(try #require(cases["D04"]))"))
            #expect(waiting["state"] as? String == "awaiting-certificate")
            #expect((waiting["deadlines"] as? [String: Any])?["certificateWait"] != nil)
            // Amounts to the fen, against the domain's own computation, on both sides.
            for label in ["early", "recent", "temporaryAtOrigin"] {
                let caseID = try #require(cases[label])
                let total = try people[label]!.expectedTotal(year: year).description
                let destinationView = try await client.call("GET", destination.url.appendingPathComponent("v1/cases/\(caseID)"))
                #expect(destinationView["received"] as? String == total, "\(label)")
                #expect(destinationView["expected"] as? String == total, "\(label)")
                let originView = try await client.waitFor(origin.url.appendingPathComponent("v1/cases/\(caseID)")) { $0["state"] as? String == "closed" }
                #expect(originView["remitted"] as? String == total, "\(label)")
                let person = try await client.call("GET", origin.url.appendingPathComponent("v1/persons/\(people[label]!.id.rawValue)"))
                #expect(person["status"] as? String == "transferred")
            }
            // Contribution periods accumulate at the destination.
            let early = try await client.call("GET", destination.url.appendingPathComponent("v1/persons/\(people["early"]!.id.rawValue)"))
            #expect((early["cumulativeMonths"] as? Int ?? 0) >= people["early"]!.months.count)

            // O04: the same person again, after the transfer out.
            let again = try await people["recent"]!.apply(client, destination.url)
            let o04 = try await client.waitFor(destination.url.appendingPathComponent("v1/cases/\(again)")) { terminalStates.contains($0["state"] as? String ?? "") }
            #expect(o04["returnReasons"] as? [String] == ["O04"])

            // Redeliver every event of both topics (same ce_id): nothing may change.
            let outboxBefore = try await (origin.database.writer.read { try Outbox.pendingCount($0) + Outbox.sentCount($0) },
                                          destination.database.writer.read { try Outbox.pendingCount($0) + Outbox.sentCount($0) })
            let destinationRecords = try await world.records(world.inbox("440300", .origin))
            let originRecords = try await world.records(world.inbox("510100", .destination))
            // Discrepancies and refunds are redelivered in the two tests below.
            #expect(Set(destinationRecords.compactMap { $0.header("ce_type") }).count == 4)
            #expect(Set(originRecords.compactMap { $0.header("ce_type") }).count == 5, "every origin event type was exchanged")
            try await world.redeliver(destinationRecords + originRecords)
            let redeliveredDestination = try await world.records(world.inbox("440300", .origin))
            let redeliveredOrigin = try await world.records(world.inbox("510100", .destination))
            try await waitConsumed(origin.database, redeliveredDestination)
            try await waitConsumed(destination.database, redeliveredOrigin)
            let outboxAfter = try await (origin.database.writer.read { try Outbox.pendingCount($0) + Outbox.sentCount($0) },
                                         destination.database.writer.read { try Outbox.pendingCount($0) + Outbox.sentCount($0) })
            #expect(outboxAfter.0 == outboxBefore.0 && outboxAfter.1 == outboxBefore.1, "no new events from redeliveries")
            for label in ["early", "recent", "temporaryAtOrigin"] {
                let view = try await client.call("GET", destination.url.appendingPathComponent("v1/cases/\(cases[label]!)"))
                #expect(view["received"] as? String == (try people[label]!.expectedTotal(year: year)).description, "still posted once: \(label)")
                #expect((view["remittances"] as? [Any])?.count == 1)
            }
            #expect(try await world.records(world.deadLetterTopic).isEmpty, "nothing dead-lettered")
            try await origin.stop()
            try await destination.stop()
        }

        @Test("destination: funds before the form, a shortfall raised as a discrepancy and settled by a supplementary remittance")
        func reversedOrderAndDiscrepancy() async throws {
            let world = try TestWorld()
            defer { world.cleanUp() }
            let destination = try await world.start(DestinationOffice.self, code: "510100")
            let year = Support.businessYear
            let person = Applicant.make(birth: "19890909", sequence: "041", from: "2021-01", to: "\(year - 1)-12")
            try await person.registerAtDestination(client, destination.url)
            let caseID = try await person.apply(client, destination.url)
            let (_, letter) = try await world.firstContactLetter(to: "440300")
            // This test plays the origin office 440300.
            let form = try TransferCalculator.informationForm(
                months: person.months, pre1998Account: .zero, kind: .general, transferYear: year,
                rates: try Support.configuration(.origin, code: "440300").creditingRates)
            let shenzhen = try #require(OfficeDirectory.standard[try OfficeCode("440300")])
            func send(_ event: TransferEvent) async throws {
                try await world.publish(CloudEvent(source: shenzhen.code, recipient: try OfficeCode("510100"), time: Date(), event: event))
            }
            let short = try form.totalRemitted - Money(fen: 1)
            try await send(.fundsRemitted(FundsRemitted(
                caseId: letter.caseId, contactLetterNo: letter.contactLetterNo, remittanceId: RemittanceID(office: shenzhen.code, year: year, sequence: 1),
                amount: short, payerAccount: shenzhen.account, payeeAccount: letter.destinationAccount, valueDate: Support.today)))
            _ = try await client.waitFor(destination.url.appendingPathComponent("v1/cases/\(caseID)")) { $0["state"] as? String == "awaiting-form" }
            try await send(.infoFormIssued(InfoFormIssued(caseId: letter.caseId, contactLetterNo: letter.contactLetterNo, person: letter.person, form: form, issuedOn: Support.today)))
            let discrepant = try await client.waitFor(destination.url.appendingPathComponent("v1/cases/\(caseID)")) { $0["state"] as? String == "discrepancy" }
            #expect(discrepant["difference"] as? String == "-0.01")
            // The destination told the origin.
            var raised: ReconciliationDiscrepancyRaised?
            for _ in 0..<50 where raised == nil {
                for record in try await world.records(world.inbox("440300", .origin)) where record.header("ce_type") == EventType.reconciliationDiscrepancyRaised.ceType {
                    if case .reconciliationDiscrepancyRaised(let event) = try record.cloudEvent().event { raised = event }
                }
                if raised == nil { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(raised?.expected == form.totalRemitted && raised?.received == short)
            // The supplementary remittance settles it; the case completes.
            try await send(.fundsRemitted(FundsRemitted(
                caseId: letter.caseId, contactLetterNo: letter.contactLetterNo, remittanceId: RemittanceID(office: shenzhen.code, year: year, sequence: 2),
                amount: Money(fen: 1), payerAccount: shenzhen.account, payeeAccount: letter.destinationAccount, valueDate: Support.today, supplementary: true)))
            let done = try await client.waitFor(destination.url.appendingPathComponent("v1/cases/\(caseID)")) { $0["state"] as? String == "completed" }
            #expect(done["received"] as? String == form.totalRemitted.description)

            // An excess: the destination raises it, refunds it at once, and completes. Redelivering
            // the remittance changes nothing.
            let second = Applicant.make(birth: "19890910", sequence: "043", from: "2022-01", to: "\(year - 1)-12")
            try await second.registerAtDestination(client, destination.url)
            let secondCase = try await second.apply(client, destination.url)
            var secondLetter: ContactLetterIssued?
            for _ in 0..<50 where secondLetter == nil {
                for record in try await world.records(world.inbox("440300", .origin)) where record.header("ce_subject") == secondCase {
                    if case .contactLetterIssued(let event) = try record.cloudEvent().event { secondLetter = event }
                }
                if secondLetter == nil { try await Task.sleep(for: .milliseconds(200)) }
            }
            let letter2 = try #require(secondLetter)
            let form2 = try TransferCalculator.informationForm(
                months: second.months, pre1998Account: .zero, kind: .general, transferYear: year,
                rates: try Support.configuration(.origin, code: "440300").creditingRates)
            try await send(.infoFormIssued(InfoFormIssued(caseId: letter2.caseId, contactLetterNo: letter2.contactLetterNo, person: letter2.person, form: form2, issuedOn: Support.today)))
            try await send(.fundsRemitted(FundsRemitted(
                caseId: letter2.caseId, contactLetterNo: letter2.contactLetterNo, remittanceId: RemittanceID(office: shenzhen.code, year: year, sequence: 3),
                amount: try form2.totalRemitted + Money(fen: 50), payerAccount: shenzhen.account, payeeAccount: letter2.destinationAccount, valueDate: Support.today)))
            let excess = try await client.waitFor(destination.url.appendingPathComponent("v1/cases/\(secondCase)")) { $0["state"] as? String == "completed" }
            #expect(excess["received"] as? String == form2.totalRemitted.description, "received net of the refunded 0.50")
            let kinds = (excess["remittances"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }
            #expect(kinds == ["received", "refunded"])
            let types = try await world.records(world.inbox("440300", .origin)).filter { $0.header("ce_subject") == secondCase }.compactMap { $0.header("ce_type") }
            #expect(types == [EventType.contactLetterIssued, .reconciliationDiscrepancyRaised, .excessRefunded, .transferCompleted].map(\.ceType))
            let incoming = try await world.records(world.inbox("510100", .destination))
            try await world.redeliver(incoming)
            try await waitConsumed(destination.database, try await world.records(world.inbox("510100", .destination)))
            let after = try await client.call("GET", destination.url.appendingPathComponent("v1/cases/\(secondCase)"))
            #expect(after["received"] as? String == form2.totalRemitted.description)
            #expect(try await world.records(world.deadLetterTopic).isEmpty)
            try await destination.stop()
        }

        @Test("origin: another office's letter ignored; poison records dead-lettered while the next is processed; claims about money its books do not show refused, the case up for review (issue 21)")
        func originSupplementaryOtherOfficeAndPoison() async throws {
            let world = try TestWorld()
            defer { world.cleanUp() }
            let origin = try await world.start(OriginOffice.self, code: "440300")
            let year = Support.businessYear
            let person = Applicant.make(birth: "19870707", sequence: "051", from: "2020-01", to: "\(year - 1)-12")
            try await person.registerAtOrigin(client, origin.url)
            let chengdu = try #require(OfficeDirectory.standard[try OfficeCode("510100")])
            let shenzhen = try #require(OfficeDirectory.standard[try OfficeCode("440300")])
            let caseID = CaseID()
            let letterNo = ContactLetterNumber(office: chengdu.code, year: year, sequence: 77)
            let letter = ContactLetterIssued(
                caseId: caseID, contactLetterNo: letterNo,
                person: PersonRef(PersonFacts(citizenID: person.id, name: person.name, hukouProvince: try ProvinceCode("44"))),
                origin: OfficeRef(shenzhen), destination: OfficeRef(chengdu), destinationAccount: chengdu.account, certificateNo: nil,
                applicationDate: Support.today, issuedOn: Support.today)

            // 1. The same letter addressed to another office (Beijing): ignored.
            try await world.publish(CloudEvent(source: chengdu.code, recipient: try OfficeCode("110000"), time: Date(), event: .contactLetterIssued(letter)), to: world.inbox("440300", .origin))
            // 2. Poison: not JSON; then an unknown type; then an unknown major version. Same key, same partition.
            let producer = try KafkaProducer(configuration: .init(client: KafkaConfiguration(bootstrapServers: [world.servers], clientID: "poison")), logger: Support.logger)
            let key = Array(caseID.description.utf8)
            let good = CloudEvent(source: chengdu.code, recipient: shenzhen.code, time: Date(), event: .contactLetterIssued(letter))
            var poisonHeaders = good.headers.map { KafkaHeader(name: $0.name, string: $0.value) }
            // Properly signed by Chengdu: what is wrong is the content, not the signature.
            let inbox = world.inbox("440300", .origin)
            _ = try await producer.send(KafkaRecord(topic: inbox, key: key, value: Array("{not json".utf8), headers: try Self.signed(poisonHeaders, Array("{not json".utf8))))
            poisonHeaders = poisonHeaders.map { $0.name == "ce_type" ? KafkaHeader(name: "ce_type", string: "pension.transfer.letter-lost.v1") : $0 }
            _ = try await producer.send(KafkaRecord(topic: inbox, key: key, value: Array(try good.data()), headers: try Self.signed(poisonHeaders, Array(try good.data()))))
            poisonHeaders = poisonHeaders.map { $0.name == "ce_type" ? KafkaHeader(name: "ce_type", string: "pension.transfer.contact-letter-issued.v2") : $0 }
            _ = try await producer.send(KafkaRecord(topic: inbox, key: key, value: Array(try good.data()), headers: try Self.signed(poisonHeaders, Array(try good.data()))))
            // 3. The real letter, right behind the poison.
            _ = try await producer.send(try Support.signedRecord(good, topic: inbox))
            await producer.close()

            let view = try await client.waitFor(origin.url.appendingPathComponent("v1/cases/\(caseID)")) { $0["state"] as? String == "terminated" }
            let total = try person.expectedTotal(year: year)
            #expect(view["remitted"] as? String == total.description)
            let cases = try await client.call("GET", origin.url.appendingPathComponent("v1/cases"))
            #expect(cases["count"] as? Int == 1, "the letter addressed to Beijing made no case")

            var deadLetters: [KafkaMessage] = []
            for _ in 0..<50 where deadLetters.count < 3 {
                deadLetters = try await world.records(world.deadLetterTopic)
                if deadLetters.count < 3 { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(deadLetters.compactMap { $0.header("dlq_reason") }.sorted() == ["malformed", "unknown-major-version", "unknown-type"])
            for record in deadLetters {
                #expect(record.header("dlq_topic") == world.inbox("440300", .origin))
                #expect(record.header("dlq_partition") != nil && record.header("dlq_offset") != nil)
                #expect(record.header("dlq_consumer") == "g-\(world.id)-origin-440300")
                #expect(record.header("ce_id") == good.id.uuidString.lowercased(), "original headers kept")
            }

            // Issue 21: a validly signed destination claims a shortfall the origin's books do not
            // show (ten million, twice under new event ids, then 1.00 of a ⑥ remitted in full),
            // a refund nobody asked for, and a completion of 0.00. Nothing is paid or booked; every
            // claim is dead-lettered with its reason and the case shows as needing review.
            func claim(_ event: TransferEvent) async throws {
                try await world.publish(CloudEvent(source: chengdu.code, recipient: shenzhen.code, time: Date(), event: event))
            }
            for (expected, received) in [(try Money("9999999.99"), Money.zero), (try Money("9999999.99"), Money.zero), (total, try total - Money(yuan: 1))] {
                try await claim(.reconciliationDiscrepancyRaised(try ReconciliationDiscrepancyRaised(
                    caseId: caseID, contactLetterNo: letterNo, expected: expected, received: received, raisedOn: Support.today)))
            }
            try await claim(.excessRefunded(ExcessRefunded(
                caseId: caseID, contactLetterNo: letterNo, refundId: RemittanceID(office: chengdu.code, year: year, sequence: 9), amount: Money(yuan: 10),
                payerAccount: chengdu.account, payeeAccount: shenzhen.account, valueDate: Support.today)))
            try await claim(.transferCompleted(TransferCompleted(caseId: caseID, contactLetterNo: letterNo, receivedTotal: .zero, completedOn: Support.today)))
            let reviewed = try await client.waitFor(origin.url.appendingPathComponent("v1/cases/\(caseID)")) { ($0["refusedClaims"] as? [Any])?.count == 5 }
            #expect(reviewed["needsReview"] as? Bool == true)
            #expect(reviewed["state"] as? String == "terminated")
            #expect(reviewed["remitted"] as? String == total.description)
            #expect((reviewed["remittances"] as? [Any])?.count == 1, "nothing paid or booked on a claim")
            for _ in 0..<50 where deadLetters.count < 8 {
                deadLetters = try await world.records(world.deadLetterTopic)
                if deadLetters.count < 8 { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(deadLetters.dropFirst(3).compactMap { $0.header("dlq_reason") }
                    == ["claim-mismatch", "claim-mismatch", "claim-mismatch", "refund-not-owed", "claim-mismatch"])
            let paid = try await world.records(world.inbox("510100", .destination)).filter { record in
                if case .fundsRemitted(let funds)? = try? record.cloudEvent().event { return funds.supplementary }
                return false
            }
            #expect(paid.isEmpty, "no supplementary remittance")
            // The genuine completion names what the origin remitted and closes the case.
            try await claim(.transferCompleted(TransferCompleted(caseId: caseID, contactLetterNo: letterNo, receivedTotal: total, completedOn: Support.today)))
            _ = try await client.waitFor(origin.url.appendingPathComponent("v1/cases/\(caseID)")) { $0["state"] as? String == "closed" }
            try await origin.stop()
        }

        @Test("issue 24, item 1 (Social Insurance Law Art. 19: every city both receives and sends relationships): a chain Shenzhen → Chengdu → Hangzhou with Chengdu running both roles side by side; each side reads only its own inbox, both transfers complete, nothing is dead-lettered")
        func cityWithBothRoles() async throws {
            let world = try TestWorld()
            defer { world.cleanUp() }
            let shenzhen = try await world.start(OriginOffice.self, code: "440300")
            let chengduIn = try await world.start(DestinationOffice.self, code: "510100")
            let chengduOut = try await world.start(OriginOffice.self, code: "510100")
            let hangzhou = try await world.start(DestinationOffice.self, code: "330100")
            let year = Support.businessYear
            // One person arrives in Chengdu from Shenzhen while another leaves Chengdu for Hangzhou.
            let arriving = Applicant.make(birth: "19860412", sequence: "061", hukou: "51", from: "2015-01", to: "\(year - 1)-09")
            let leaving = Applicant.make(birth: "19890923", sequence: "063", hukou: "33", origin: "510100", from: "2016-03", to: "\(year - 1)-08")
            try await arriving.registerAtOrigin(client, shenzhen.url)
            try await arriving.registerAtDestination(client, chengduIn.url)
            try await leaving.registerAtOrigin(client, chengduOut.url)
            try await leaving.registerAtDestination(client, hangzhou.url)
            let arrival = try await arriving.apply(client, chengduIn.url, origin: "440300")
            let departure = try await leaving.apply(client, hangzhou.url, origin: "510100")

            let arrived = try await client.waitFor(chengduIn.url.appendingPathComponent("v1/cases/\(arrival)"), limit: .seconds(60)) { $0["state"] as? String == "completed" }
            #expect(arrived["received"] as? String == (try arriving.expectedTotal(year: year)).description)
            let departed = try await client.waitFor(hangzhou.url.appendingPathComponent("v1/cases/\(departure)"), limit: .seconds(60)) { $0["state"] as? String == "completed" }
            #expect(departed["received"] as? String == (try leaving.expectedTotal(year: year)).description)
            // Chengdu's origin side answered the letter and closed its case on the completion.
            let cases = try await client.call("GET", chengduOut.url.appendingPathComponent("v1/cases"))
            #expect(cases["count"] as? Int == 1)
            _ = try await client.waitFor(chengduOut.url.appendingPathComponent("v1/cases/\(departure)")) { $0["state"] as? String == "closed" }
            _ = try await client.waitFor(shenzhen.url.appendingPathComponent("v1/cases/\(arrival)")) { $0["state"] as? String == "closed" }

            // Each of Chengdu's two services fetched from its own role's inbox only.
            #expect(Set(chengduIn.process.consumer.fetchedRecords.keys) == [world.inbox("510100", .destination)])
            #expect(Set(chengduOut.process.consumer.fetchedRecords.keys) == [world.inbox("510100", .origin)])
            #expect(try await world.records(world.deadLetterTopic).isEmpty, "no legitimate record dead-lettered")
            for office in [chengduIn.database, chengduOut.database] {
                #expect(try await office.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM deadLetterLog") } == 0)
            }
            try await shenzhen.stop()
            try await chengduIn.stop()
            try await chengduOut.stop()
            try await hangzhou.stop()
            // The audit reads all four inboxes and agrees with all four databases, Chengdu's two included.
            let databases = ["origin-440300", "destination-510100", "origin-510100", "destination-330100"].map { world.folder.appendingPathComponent("\($0).sqlite").path }
            let audit = try await auditReport(world, databases: databases)
            #expect(audit.status == 0, "\(audit.error)")
            #expect(audit.report?.isClean == true)
            #expect(audit.report?.casesByDestinationState == ["completed": 2])
        }

        @Test("issue 24, item 3 (MOHRSS 2009 No. 187; 2010 No. 70 Art. 10, transfer first, clear afterwards): a person who paid in Shenzhen until May and in Chengdu since March is credited each month once; Chengdu names the cleared months and what goes back to the person")
        func overlappingMonths() async throws {
            let world = try TestWorld()
            defer { world.cleanUp() }
            let origin = try await world.start(OriginOffice.self, code: "440300")
            let destination = try await world.start(DestinationOffice.self, code: "510100")
            // Registered in Chengdu on 2026-03-02 (paying from March); Shenzhen's record runs to May.
            let person = Applicant.make(birth: "19910118", sequence: "071", hukou: "51", from: "2021-01", to: "2026-05", base: "10000.00")
            try await person.registerAtOrigin(client, origin.url)
            try await person.registerAtDestination(client, destination.url)
            let caseID = try await person.apply(client, destination.url)
            let view = try await client.waitFor(destination.url.appendingPathComponent("v1/cases/\(caseID)")) { $0["state"] as? String == "completed" }
            #expect(view["received"] as? String == (try person.expectedTotal(year: Support.businessYear)).description, "the whole ⑥ moves first")
            let record = try await client.call("GET", destination.url.appendingPathComponent("v1/persons/\(person.id.rawValue)"))
            // 2021-01 .. 2026-06 (Chengdu's own months run to the business date's month): 66 months, not 69.
            #expect(record["cumulativeMonths"] as? Int == 66)
            let cleared = record["clearedMonths"] as? [[String: Any]] ?? []
            #expect(cleared.map { $0["period"] as? String ?? "" } == ["2026-03", "2026-04", "2026-05"])
            #expect(record["returnedToPerson"] as? String == "2400.00", "8% of 10000.00 for each of three months")
            try await origin.stop()
            try await destination.stop()
        }

        @Test("issue 24, item 2 (Social Insurance Law Art. 19, periods accumulate; 2009 No. 66, the funds follow the person): what arrives stays. Shenzhen → Chengdu → Hangzhou: Hangzhou credits Shenzhen's years, Chengdu's and its own, and receives the ⑥ of all of them; Shenzhen → Chengdu → Shenzhen: the stays add up at Shenzhen, whose origin side holds the person again")
        func whatArrivesStays() async throws {
            let world = try TestWorld()
            defer { world.cleanUp() }
            let shenzhenOut = try await world.start(OriginOffice.self, code: "440300")
            let shenzhenIn = try await world.start(DestinationOffice.self, code: "440300")
            let chengduIn = try await world.start(DestinationOffice.self, code: "510100")
            let chengduOut = try await world.start(OriginOffice.self, code: "510100")
            let hangzhouIn = try await world.start(DestinationOffice.self, code: "330100")
            let year = Support.businessYear
            let rates = try OfficeConfiguration.parseRates(Support.rates)

            // Two people leave Shenzhen for Chengdu: one moves on to Hangzhou, one comes back.
            let movingOn = Applicant.make(birth: "19850615", sequence: "081", hukou: "51", from: "2012-01", to: "2018-12", base: "7000.00", pre1998: "0.00")
            let comingBack = Applicant.make(birth: "19800920", sequence: "083", hukou: "44", from: "2010-01", to: "2015-12", base: "9000.00")
            /// Registers `person` at `destination` (paying there from `since`), files the transfer
            /// from `origin` and waits for it to complete: the case as the destination shows it.
            func transfer(_ person: Applicant, to destination: URL, from origin: String, since: String) async throws -> [String: Any] {
                try await client.call("PUT", destination.appendingPathComponent("v1/persons/\(person.id.rawValue)"), [
                    "name": person.name, "hukouProvince": person.hukou, "registeredOn": "\(since)-02", "contributingSince": since,
                ])
                let caseID = try await person.apply(client, destination, origin: origin)
                return try await client.waitFor(destination.appendingPathComponent("v1/cases/\(caseID)"), limit: .seconds(60)) { $0["state"] as? String == "completed" }
            }
            for (person, since) in [(movingOn, "2019-01"), (comingBack, "2016-01")] {
                try await person.registerAtOrigin(client, shenzhenOut.url)
                _ = try await transfer(person, to: chengduIn.url, from: "440300", since: since)
            }
            // Chengdu's origin side now holds both people with Shenzhen's months, entered by nobody.
            for person in [movingOn, comingBack] {
                let record = try await client.waitFor(chengduOut.url.appendingPathComponent("v1/persons/\(person.id.rawValue)")) { $0["monthsPaid"] as? Int == person.months.count }
                #expect(record["status"] as? String == "contributing")
            }
            // They work in Chengdu for some years (the clerk records Chengdu's own months), then leave.
            func chengduMonths(_ from: String, _ to: String, base: String) -> [ContributionMonth] {
                Applicant.make(birth: "19850615", sequence: "081", origin: "510100", from: from, to: to, base: base).months
            }
            let movingOnChengdu = chengduMonths("2019-01", "2025-12", base: "7500.00")
            let comingBackChengdu = chengduMonths("2016-01", "2024-12", base: "9500.00")
            for (person, months) in [(movingOn, movingOnChengdu), (comingBack, comingBackChengdu)] {
                let url = chengduOut.url.appendingPathComponent("v1/persons/\(person.id.rawValue)")
                try await client.call("POST", url.appendingPathComponent("months"), [
                    "months": months.map { ["period": $0.period.description, "base": $0.base.description, "employerRate": $0.employerRate.description, "personalRate": $0.personalRate.description] },
                ])
                try await client.call("POST", url.appendingPathComponent("suspension"), [:])
            }

            // On to Hangzhou: the form carries Shenzhen's and Chengdu's months, and ⑥ is all of them.
            let completed = try await transfer(movingOn, to: hangzhouIn.url, from: "510100", since: "2026-03")
            let whole = try TransferCalculator.informationForm(
                months: movingOn.months + movingOnChengdu, pre1998Account: .zero, kind: .general, transferYear: year, rates: rates)
            #expect(completed["received"] as? String == whole.totalRemitted.description)
            let atHangzhou = try await client.call("GET", hangzhouIn.url.appendingPathComponent("v1/persons/\(movingOn.id.rawValue)"))
            let places = Dictionary(uniqueKeysWithValues: (atHangzhou["places"] as? [[String: Any]] ?? []).map { ($0["placeCode"] as? String ?? "", $0["months"] as? Int ?? 0) })
            #expect(places == ["440300": 84, "510100": 84, "330100": 4], "Shenzhen's years, Chengdu's and Hangzhou's own")
            #expect(atHangzhou["cumulativeMonths"] as? Int == 172)

            // Back to Shenzhen: its destination side credits both stays; its origin side holds the person again.
            let returned = try await transfer(comingBack, to: shenzhenIn.url, from: "510100", since: "2026-03")
            let both = try TransferCalculator.informationForm(
                months: comingBack.months + comingBackChengdu, pre1998Account: .zero, kind: .general, transferYear: year, rates: rates)
            #expect(returned["received"] as? String == both.totalRemitted.description)
            let atShenzhen = try await client.call("GET", shenzhenIn.url.appendingPathComponent("v1/persons/\(comingBack.id.rawValue)"))
            let history = (atShenzhen["places"] as? [[String: Any]] ?? []).map { "\($0["placeCode"] as? String ?? "") \($0["months"] as? Int ?? 0)" }
            #expect(history == ["440300 72", "510100 108", "440300 4"], "the first stay, Chengdu, and the stay that began in March")
            #expect(atShenzhen["cumulativeMonths"] as? Int == 184)
            let again = try await client.waitFor(shenzhenOut.url.appendingPathComponent("v1/persons/\(comingBack.id.rawValue)")) { $0["monthsPaid"] as? Int == 180 }
            #expect(again["status"] as? String == "contributing", "transferred out once, contributing here again")
            #expect(again["insuredFrom"] as? String == "2010-01" && again["insuredTo"] as? String == "2024-12")

            for office in [shenzhenOut.database, chengduOut.database] {
                #expect(try await office.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM deadLetterLog") } == 0)
            }
            #expect(try await world.records(world.deadLetterTopic).isEmpty)
            try await shenzhenOut.stop()
            try await shenzhenIn.stop()
            try await chengduIn.stop()
            try await chengduOut.stop()
            try await hangzhouIn.stop()
            let databases = ["origin-440300", "destination-440300", "destination-510100", "origin-510100", "destination-330100"]
                .map { world.folder.appendingPathComponent("\($0).sqlite").path }
            let audit = try await auditReport(world, databases: databases)
            #expect(audit.status == 0, "\(audit.error)")
            #expect(audit.report?.isClean == true, "\(audit.report.map { $0.findings.map(\.message) } ?? [])")
        }

        @Test("issue 24, item 4 (MOHRSS 2016 No. 5, the certificate's identity is checked against the applicant): an application naming a payment certificate Chengdu already holds for someone else is rejected D04 at once, while that person's own transfer completes with it")
        func certificateForSomeoneElse() async throws {
            let world = try TestWorld()
            defer { world.cleanUp() }
            let origin = try await world.start(OriginOffice.self, code: "440300")
            let destination = try await world.start(DestinationOffice.self, code: "510100")
            let holder = Applicant.make(birth: "19890412", sequence: "101", hukou: "51", from: "2018-01", to: "2026-02")
            let other = Applicant.make(birth: "19900707", sequence: "103", hukou: "51", from: "2019-01", to: "2026-02")
            for person in [holder, other] {
                try await person.registerAtOrigin(client, origin.url)
                try await person.registerAtDestination(client, destination.url)
            }
            let certificate = try await client.call(
                "POST", origin.url.appendingPathComponent("v1/persons/\(holder.id.rawValue)/certificates"),
                ["destinationOffice": "510100", "materials": ["identityDocument": "ID", "householdRegister": "H", "laborContractTermination": "T"]])
            let number = try #require(certificate["certificateNo"] as? String)
            // The holder applies with it: once their letter is out, Chengdu holds the certificate.
            let holderCase = try await holder.apply(client, destination.url, certificate: number)
            _ = try await client.waitFor(destination.url.appendingPathComponent("v1/cases/\(holderCase)")) { $0["contactLetterNo"] is String }
            // Someone else names the same number: no five-day wait for a certificate that will never be theirs.
            let filed = try await client.call("POST", destination.url.appendingPathComponent("v1/applications"), [
                "citizenId": other.id.rawValue, "originOffice": "440300", "certificateNo": number,
            ])
            #expect(filed["state"] as? String == "rejected" && filed["reasons"] as? [String] == ["D04"], "\(filed)")
            let completed = try await client.waitFor(destination.url.appendingPathComponent("v1/cases/\(holderCase)")) { $0["state"] as? String == "completed" }
            #expect(completed["received"] as? String == (try holder.expectedTotal(year: Support.businessYear)).description)
            // Quiet before the audit: the origin has taken the completion too.
            _ = try await client.waitFor(origin.url.appendingPathComponent("v1/cases/\(holderCase)")) { $0["state"] as? String == "closed" }
            try await origin.stop()
            try await destination.stop()
            let audit = try await auditReport(world, databases: ["origin-440300", "destination-510100"].map { world.folder.appendingPathComponent("\($0).sqlite").path })
            #expect(audit.status == 0 && audit.report?.isClean == true, "\(audit.error) \(audit.report.map { $0.findings.map(\.message) } ?? [])")
        }

        @Test("issue 24, item 5 (MOHRSS 2009 No. 66 Art. 6-7; NPC Standing Committee, 13 September 2024, pension age): temporary accounts come home. Hangzhou, the claiming place, collects a retiring man's temporary accounts from Shenzhen and Chengdu, credits both periods and receives both ⑥; a holder with no temporary account returns the letter (O08); before pension age and away from the claiming place the collection is refused (C01, C02)")
        func temporaryAccountsCollected() async throws {
            let world = try TestWorld()
            defer { world.cleanUp() }
            let shenzhen = try await world.start(OriginOffice.self, code: "440300")
            let chengdu = try await world.start(OriginOffice.self, code: "510100")
            let hangzhou = try await world.start(DestinationOffice.self, code: "330100")
            let rates = try OfficeConfiguration.parseRates(Support.rates)

            // Zhejiang hukou, born 1965-03-10: pension age 60 years and 1 month, reached 2025-04-10.
            // Temporary accounts in Shenzhen (2010-2014) and Chengdu (2015-2020); paying in Hangzhou since 2021.
            var retiring = Applicant.make(birth: "19650310", sequence: "091", hukou: "33", from: "2010-01", to: "2014-12", base: "8000.00")
            retiring.kind = .temporary
            var atChengdu = retiring
            atChengdu.months = Applicant.make(birth: "19650310", sequence: "091", origin: "510100", from: "2015-01", to: "2020-12", base: "7000.00").months
            try await retiring.registerAtOrigin(client, shenzhen.url)
            try await atChengdu.registerAtOrigin(client, chengdu.url)
            try await client.call("PUT", hangzhou.url.appendingPathComponent("v1/persons/\(retiring.id.rawValue)"), [
                "name": retiring.name, "hukouProvince": "33", "registeredOn": "2021-01-04", "contributingSince": "2021-01",
            ])
            let collection = try await client.call("POST", hangzhou.url.appendingPathComponent("v1/collections"), [
                "citizenId": retiring.id.rawValue, "holderOffices": ["440300", "510100"],
            ])
            let cases = collection["cases"] as? [[String: Any]] ?? []
            #expect(cases.map { $0["state"] as? String ?? "" } == ["contact-letter-sent", "contact-letter-sent"], "\(collection)")
            #expect(cases.map { $0["holderOffice"] as? String ?? "" } == ["440300", "510100"])
            var received: [String] = []
            for item in cases {
                let view = try await client.waitFor(hangzhou.url.appendingPathComponent("v1/cases/\(item["caseId"] as? String ?? "")"), limit: .seconds(60)) {
                    $0["state"] as? String == "completed"
                }
                #expect(view["purpose"] as? String == "collection")
                received.append(view["received"] as? String ?? "")
            }
            // Each holder sends its temporary account's ⑥ (⑤ at the employer's 16%, not 12%).
            let expected = try [retiring.months, atChengdu.months].map {
                try TransferCalculator.informationForm(months: $0, pre1998Account: .zero, kind: .temporary, transferYear: Support.businessYear, rates: rates).totalRemitted.description
            }
            #expect(received == expected)
            let person = try await client.call("GET", hangzhou.url.appendingPathComponent("v1/persons/\(retiring.id.rawValue)"))
            let places = (person["places"] as? [[String: Any]] ?? []).map { "\($0["placeCode"] as? String ?? "") \($0["accountKind"] as? String ?? "") \($0["months"] as? Int ?? 0)" }
            #expect(Set(places) == ["440300 temporary 60", "510100 temporary 72", "330100 general 66"], "both temporary periods credited beside Hangzhou's own")
            #expect(person["cumulativeMonths"] as? Int == 60 + 72 + 66)
            #expect((person["claimingPlace"] as? [String: Any])?["rule"] as? Int == 1, "temporary places never qualify: Hangzhou stays the claiming place")
            for holder in [shenzhen, chengdu] {
                let record = try await client.call("GET", holder.url.appendingPathComponent("v1/persons/\(retiring.id.rawValue)"))
                #expect(record["status"] as? String == "transferred", "the temporary account is closed at the holder")
            }

            // A general relationship is not collected: Shenzhen returns the letter (O08).
            let general = Applicant.make(birth: "19600505", sequence: "093", hukou: "33", from: "2012-01", to: "2019-12")
            try await general.registerAtOrigin(client, shenzhen.url)
            try await client.call("PUT", hangzhou.url.appendingPathComponent("v1/persons/\(general.id.rawValue)"), [
                "name": general.name, "hukouProvince": "33", "registeredOn": "2020-01-06", "contributingSince": "2020-01",
            ])
            let refused = try await client.call("POST", hangzhou.url.appendingPathComponent("v1/collections"), ["citizenId": general.id.rawValue, "holderOffices": ["440300"]])
            let refusedID = ((refused["cases"] as? [[String: Any]])?.first?["caseId"] as? String) ?? ""
            let returned = try await client.waitFor(hangzhou.url.appendingPathComponent("v1/cases/\(refusedID)")) { $0["state"] as? String == "letter-returned" }
            #expect(returned["returnReasons"] as? [String] == ["O08"])

            // Before pension age (born 1966-08-10: 60 years and 5 months, 2027-01-10), with a Guangdong
            // hukou and no place here: both codes at once, and no letter leaves.
            let early = Applicant.make(birth: "19660810", sequence: "095", hukou: "44", from: "2012-01", to: "2019-12")
            try await client.call("PUT", hangzhou.url.appendingPathComponent("v1/persons/\(early.id.rawValue)"), [
                "name": early.name, "hukouProvince": "44", "registeredOn": "2020-01-06", "contributing": false,
            ])
            let tooEarly = try await client.call("POST", hangzhou.url.appendingPathComponent("v1/collections"), [
                "citizenId": early.id.rawValue, "holderOffices": ["510100"], "pensionCategory": "worker",
            ])
            let first = (tooEarly["cases"] as? [[String: Any]])?.first ?? [:]
            #expect(first["state"] as? String == "rejected" && first["reasons"] as? [String] == ["C01", "C02"], "\(tooEarly)")
            // Bad input is refused with the field named, nothing filed.
            for (body, field) in [
                (["citizenId": early.id.rawValue, "holderOffices": [String]()], "holderOffices"),
                (["citizenId": early.id.rawValue, "holderOffices": ["330100"]], "holderOffices[0]"),
                (["citizenId": early.id.rawValue, "holderOffices": ["510100", "510100"]], "holderOffices"),
                (["citizenId": Support.citizenID(birth: "19600101", sequence: "097").rawValue, "holderOffices": ["510100"]], "citizenId"),
            ] as [([String: Any], String)] {
                do {
                    try await client.call("POST", hangzhou.url.appendingPathComponent("v1/collections"), body)
                    Issue.record("\(body) was accepted")
                } catch let failure as Client.Failure {
                    let problem = (try? JSONSerialization.jsonObject(with: Data(failure.body.utf8))) as? [String: Any] ?? [:]
                    #expect(failure.status == 422 && problem["field"] as? String == field, "\(body): \(failure)")
                }
            }

            #expect(try await world.records(world.deadLetterTopic).isEmpty)
            // Quiet before the audit: each holder has taken its completion.
            for (holder, item) in zip([shenzhen, chengdu], cases) {
                _ = try await client.waitFor(holder.url.appendingPathComponent("v1/cases/\(item["caseId"] as? String ?? "")")) { $0["state"] as? String == "closed" }
            }
            try await shenzhen.stop()
            try await chengdu.stop()
            try await hangzhou.stop()
            let databases = ["origin-440300", "origin-510100", "destination-330100"].map { world.folder.appendingPathComponent("\($0).sqlite").path }
            let audit = try await auditReport(world, databases: databases)
            #expect(audit.status == 0, "\(audit.error)")
            #expect(audit.report?.isClean == true, "\(audit.report.map { $0.findings.map(\.message) } ?? [])")
        }

        /// `headers` with a valid Chengdu signature over them and `value` added.
        static func signed(_ headers: [KafkaHeader], _ value: [UInt8], by office: String = "510100") throws -> [KafkaHeader] {
            let pairs = headers.compactMap { header in header.stringValue.map { (name: header.name, value: $0) } }
            return headers + (try Support.eventKeys.signers[office]!.signatureHeaders(headers: pairs, value: value)).map { KafkaHeader(name: $0.name, string: $0.value) }
        }
    }
}
