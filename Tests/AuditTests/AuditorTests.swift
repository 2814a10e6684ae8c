import AuditCore
import Foundation
import Testing
import TransferDomain

/// Synthetic event streams: one clean case, then one injected fault each.
struct Stream {
    static let shenzhen = OfficeDirectory.standard[try! OfficeCode("440300")]!
    static let chengdu = OfficeDirectory.standard[try! OfficeCode("510100")]!
    static let person = PersonRef(PersonFacts(
        citizenID: try! CitizenID("440524188001010014"), name: "Chen Jing", hukouProvince: try! ProvinceCode("44")))
    static let form = try! TransferCalculator.informationForm(
        months: [ContributionMonth(period: try! YearMonth("2024-03"), base: try! Money("8000.00"), employerRate: .percent("16"), personalRate: .percent("8"), placeCode: shenzhen.code)],
        pre1998Account: .zero, kind: .general, transferYear: 2025, rates: CreditingRates())

    var records: [AuditRecord] = []
    var offsets: [String: Int64] = [:]
    var time = Date(timeIntervalSince1970: 1_758_844_800)  // 2025-09-26 00:00 UTC: 08:00 in Shanghai

    /// Appends `event` to its writer's topic (partition 0), one second after the previous one.
    @discardableResult
    mutating func add(_ event: TransferEvent, id: UUID = UUID(), topicOffset: Int64? = nil, at: Date? = nil) -> AuditRecord {
        let fromOrigin = event.type.writer == .origin
        time = at ?? time.addingTimeInterval(1)
        let cloud = CloudEvent(
            id: id, source: fromOrigin ? Self.shenzhen.code : Self.chengdu.code, recipient: fromOrigin ? Self.chengdu.code : Self.shenzhen.code,
            time: time, event: event)
        let topic = event.type.topic
        let offset = topicOffset ?? offsets[topic, default: 0]
        offsets[topic] = max(offsets[topic, default: 0], offset + 1)
        let record = AuditRecord(
            topic: topic, partition: 0, offset: offset, key: cloud.key, headers: Dictionary(uniqueKeysWithValues: cloud.headers.map { ($0.name, $0.value) }),
            value: try! cloud.data(), timestamp: time)
        records.append(record)
        return record
    }

    static func letter(_ caseID: CaseID, number: Int = 1, on: String = "2025-09-26") -> ContactLetterIssued {
        ContactLetterIssued(
            caseId: caseID, contactLetterNo: ContactLetterNumber(office: chengdu.code, year: 2025, sequence: number), person: person,
            origin: OfficeRef(shenzhen), destination: OfficeRef(chengdu), destinationAccount: chengdu.account, certificateNo: nil,
            applicationDate: try! LocalDate(on), issuedOn: try! LocalDate(on))
    }

    static func funds(_ caseID: CaseID, amount: Money, sequence: Int = 1, on: String = "2025-09-26", supplementary: Bool = false) -> TransferEvent {
        .fundsRemitted(FundsRemitted(
            caseId: caseID, contactLetterNo: ContactLetterNumber(office: chengdu.code, year: 2025, sequence: 1),
            remittanceId: RemittanceID(office: shenzhen.code, year: 2025, sequence: sequence), amount: amount, payerAccount: shenzhen.account,
            payeeAccount: chengdu.account, valueDate: try! LocalDate(on), supplementary: supplementary))
    }

    /// The events of one clean, completed case; `skip` leaves some out.
    mutating func cleanCase(_ caseID: CaseID = CaseID(), formOn: String = "2025-09-26", skip: Set<EventType> = []) -> CaseID {
        let letter = Self.letter(caseID)
        let all: [TransferEvent] = [
            .contactLetterIssued(letter),
            .infoFormIssued(InfoFormIssued(caseId: caseID, contactLetterNo: letter.contactLetterNo, person: Self.person, form: Self.form, issuedOn: try! LocalDate(formOn))),
            Self.funds(caseID, amount: Self.form.totalRemitted, on: formOn),
            .originRelationshipTerminated(OriginRelationshipTerminated(caseId: caseID, contactLetterNo: letter.contactLetterNo, citizenId: Self.person.citizenId, terminatedOn: try! LocalDate(formOn))),
            .transferCompleted(TransferCompleted(caseId: caseID, contactLetterNo: letter.contactLetterNo, receivedTotal: Self.form.totalRemitted, completedOn: try! LocalDate(formOn))),
        ]
        for event in all where !skip.contains(event.type) { add(event) }
        return caseID
    }

    func audit(asOf: String = "2025-10-01", deadLetters: [AuditRecord] = []) -> AuditReport {
        Auditor(asOf: try! LocalDate(asOf)).audit(records: records, deadLetters: deadLetters)
    }
}

@Suite("transfer-audit on synthetic streams")
struct AuditorTests {
    func rules(_ report: AuditReport) -> [String] { report.violations.map(\.rule).sorted() }

    @Test("a clean stream audits clean; duplicate deliveries are counted, not violations")
    func clean() {
        var stream = Stream()
        let caseID = stream.cleanCase()
        // The same funds event delivered twice (same ce_id): at-least-once delivery.
        let again = stream.records[2]
        stream.records.append(AuditRecord(topic: again.topic, partition: 0, offset: 99, key: again.key, headers: again.headers, value: again.value, timestamp: again.timestamp))
        let report = stream.audit()
        #expect(report.isClean, "\(report.findings)")
        #expect(report.duplicateEvents == 1)
        #expect(report.casesByDestinationState == ["completed": 1])
        #expect(report.casesByOriginState == ["closed": 1])
        #expect(report.money.conserved && report.money.remitted == Stream.form.totalRemitted.description)
        #expect(report.cases.first?.caseId == caseID.description)
        #expect(report.deadlines.breached == 0 && report.deadlines.met == 3)
    }

    @Test("a lost funds event is found, naming the case and the evidence")
    func lostFunds() {
        var stream = Stream()
        let caseID = stream.cleanCase(skip: [.fundsRemitted, .transferCompleted])
        let report = stream.audit()
        let finding = report.violations.first { $0.rule == "lost-event" }
        #expect(finding?.caseId == caseID.description)
        #expect(finding?.message.contains("remittance") == true)
        #expect(report.openCases.count == 1)
    }

    @Test("a remittance re-sent under a new event id is a duplicate effect, with both records as evidence")
    func duplicatedRemittance() {
        var stream = Stream()
        let caseID = stream.cleanCase(skip: [.transferCompleted])
        stream.add(Stream.funds(caseID, amount: Stream.form.totalRemitted))
        let finding = stream.audit().violations.first { $0.rule == "duplicate-effect" }
        #expect(finding?.evidence.count == 2)
        #expect(finding?.evidence.allSatisfy { $0.contains("pension.transfer.origin-events[0]@") } == true)
    }

    @Test("a second outcome for one contact letter is found")
    func secondOutcome() {
        var stream = Stream()
        let caseID = stream.cleanCase(skip: [.transferCompleted])
        stream.add(.contactLetterReturned(ContactLetterReturned(
            caseId: caseID, contactLetterNo: Stream.letter(caseID).contactLetterNo, reasons: [.arrearsOutstanding], returnedOn: try! LocalDate("2025-09-27"))))
        #expect(rules(stream.audit()).contains("one-outcome-per-letter"))
    }

    @Test("an amount off by one fen breaks remittance = ⑥")
    func offByOneFen() throws {
        var stream = Stream()
        let caseID = CaseID()
        let letter = Stream.letter(caseID)
        stream.add(.contactLetterIssued(letter))
        stream.add(.infoFormIssued(InfoFormIssued(caseId: caseID, contactLetterNo: letter.contactLetterNo, person: Stream.person, form: Stream.form, issuedOn: letter.issuedOn)))
        let short = stream.add(Stream.funds(caseID, amount: try Stream.form.totalRemitted - Money(fen: 1)))
        stream.add(.originRelationshipTerminated(OriginRelationshipTerminated(caseId: caseID, contactLetterNo: letter.contactLetterNo, citizenId: Stream.person.citizenId, terminatedOn: letter.issuedOn)))
        let finding = stream.audit().violations.first { $0.rule == "remittance-equals-total" }
        #expect(finding?.evidence == [short.evidence])
        #expect(finding?.message.contains(Stream.form.totalRemitted.description) == true)
    }

    @Test("completion before the match is found")
    func completionBeforeMatch() {
        var stream = Stream()
        let caseID = CaseID()
        let letter = Stream.letter(caseID)
        stream.add(.contactLetterIssued(letter))
        stream.add(.infoFormIssued(InfoFormIssued(caseId: caseID, contactLetterNo: letter.contactLetterNo, person: Stream.person, form: Stream.form, issuedOn: letter.issuedOn)))
        let completed = stream.add(.transferCompleted(TransferCompleted(caseId: caseID, contactLetterNo: letter.contactLetterNo, receivedTotal: Stream.form.totalRemitted, completedOn: letter.issuedOn)))
        stream.add(Stream.funds(caseID, amount: Stream.form.totalRemitted))
        stream.add(.originRelationshipTerminated(OriginRelationshipTerminated(caseId: caseID, contactLetterNo: letter.contactLetterNo, citizenId: Stream.person.citizenId, terminatedOn: letter.issuedOn)))
        let finding = stream.audit().violations.first { $0.rule == "completion-only-after-match" }
        #expect(finding?.evidence == [completed.evidence])
    }

    @Test("reordered case events on one partition are a per-case order violation")
    func reordered() {
        var stream = Stream()
        let caseID = CaseID()
        let letter = Stream.letter(caseID)
        stream.add(.contactLetterIssued(letter))
        // The origin's termination sits before its form and funds in the partition.
        stream.add(.originRelationshipTerminated(OriginRelationshipTerminated(caseId: caseID, contactLetterNo: letter.contactLetterNo, citizenId: Stream.person.citizenId, terminatedOn: letter.issuedOn)), topicOffset: 0)
        stream.add(.infoFormIssued(InfoFormIssued(caseId: caseID, contactLetterNo: letter.contactLetterNo, person: Stream.person, form: Stream.form, issuedOn: letter.issuedOn)), topicOffset: 1)
        stream.add(Stream.funds(caseID, amount: Stream.form.totalRemitted), topicOffset: 2)
        let finding = stream.audit().violations.first { $0.rule == "per-case-order" }
        #expect(finding?.message.contains("termination") == true)
        #expect(finding?.evidence.first?.contains("origin-events[0]@0") == true)
    }

    /// National Day 2025: Oct 1-8 off, Sep 28 and Oct 11 worked. 15 working days after the letter
    /// of Fri 2025-09-26 end on Thu 2025-10-23 (a weekday-only count would say Fri 10-17).
    @Test("origin deadlines are counted across National Day: met on the 23rd, breached on the 24th", arguments: [
        ("2025-10-23", false), ("2025-10-24", true),
    ])
    func deadlineAcrossHoliday(formOn: String, breached: Bool) {
        var stream = Stream()
        _ = stream.cleanCase(formOn: formOn)
        let report = stream.audit(asOf: "2025-11-30")
        let check = report.cases.first?.deadlines.first { $0.step == "originAnswer" }
        #expect(check?.due == "2025-10-23")
        #expect(check?.status == (breached ? .breached : .met))
        #expect(rules(report).contains("deadline") == breached)
    }

    @Test("a record that breaks the schema is a violation unless a consumer dead-lettered it")
    func schemaBreaking() {
        var stream = Stream()
        _ = stream.cleanCase()
        var bad = stream.records[1]
        bad.offset = 50
        bad.headers["ce_id"] = UUID().uuidString.lowercased()
        bad.value = Data("{\"caseId\": 42}".utf8)
        stream.records.append(bad)
        let deadLetter = AuditRecord(
            topic: Topics.deadLetter, partition: 0, offset: 0, key: nil,
            headers: ["dlq_topic": bad.topic, "dlq_partition": "0", "dlq_offset": "50", "dlq_reason": "malformed", "dlq_consumer": "destination-office-510100"],
            value: bad.value, timestamp: nil)
        // Without a dead-letter record, a consumer took (or skipped) a record it must refuse.
        let finding = stream.audit().violations.first { $0.rule == "schema" }
        #expect(finding?.evidence == [bad.evidence])
        #expect(finding?.message.contains("no dead-letter record") == true)
        // With one, the consumer did what the contract says: reported apart, not a violation.
        let report = stream.audit(deadLetters: [deadLetter])
        #expect(report.isClean)
        #expect(report.rejected.map(\.evidence) == [bad.evidence])
        #expect(report.deadLetters.map(\.reason) == ["malformed"])
    }

    @Test("an open case is reported as open with its age, not as a violation")
    func openCase() {
        var stream = Stream()
        stream.add(.contactLetterIssued(Stream.letter(CaseID())))
        let report = stream.audit(asOf: "2025-09-30")
        #expect(report.isClean)
        #expect(report.openCases.first?.openForDays == 4)
        #expect(report.deadlines.met == 1 && report.deadlines.pending == 1, "review done, the origin's answer pending")
    }

    @Test("one contact-letter number on two cases is found; money must be conserved by completions")
    func uniqueLettersAndMoney() throws {
        var stream = Stream()
        let first = CaseID()
        let second = CaseID()
        stream.add(.contactLetterIssued(Stream.letter(first)))
        stream.add(.contactLetterIssued(Stream.letter(second)))
        #expect(rules(stream.audit(asOf: "2025-09-27")).contains("unique-contact-letter"))

        var money = Stream()
        let caseID = money.cleanCase(skip: [.transferCompleted])
        money.add(.transferCompleted(TransferCompleted(
            caseId: caseID, contactLetterNo: Stream.letter(caseID).contactLetterNo, receivedTotal: try Stream.form.totalRemitted + Money(fen: 100),
            completedOn: try! LocalDate("2025-09-26"))))
        #expect(rules(money.audit()).contains("money-conserved"))
    }

    @Test("rebuild equals live: differing state or amount, and cases on one side only")
    func liveComparison() {
        var stream = Stream()
        let caseID = stream.cleanCase()
        let report = stream.audit()
        let same = LiveComparison.compare(report, stored: [StoredCase(caseId: caseID.description, state: "completed", amount: Stream.form.totalRemitted)], role: .destination, office: "510100")
        #expect(same.isEmpty)
        let differs = LiveComparison.compare(report, stored: [StoredCase(caseId: caseID.description, state: "completed", amount: Money(fen: 1))], role: .destination, office: "510100")
        #expect(differs.map(\.rule) == ["rebuild-equals-live"])
        let extra = LiveComparison.compare(report, stored: [], role: .origin, office: "440300")
        #expect(extra.first?.message.contains("does not store it") == true)
    }

    /// A dead-letter record for `record`, as a consumer writes it.
    static func deadLetter(of record: AuditRecord, reason: String, offset: Int64) -> AuditRecord {
        AuditRecord(
            topic: "pension.transfer.dead-letter", partition: 0, offset: offset, key: record.key,
            headers: record.headers.merging([
                "dlq_topic": record.topic, "dlq_partition": String(record.partition), "dlq_offset": String(record.offset), "dlq_reason": reason,
                "dlq_consumer": "destination-office-510100",
            ]) { $1 },
            value: record.value, timestamp: record.timestamp)
    }

    @Test("records the offices refuse (another sender, another letter, a form that does not add up, a negative amount) are reported apart and never counted as money")
    func rejectedRecords() throws {
        var stream = Stream()
        let caseID = stream.cleanCase()
        let letter = Stream.letter(caseID)
        // A remittance for the case claiming to come from a third office (Hangzhou).
        let hangzhou = OfficeDirectory.standard[try OfficeCode("330100")]!
        let forged = CloudEvent(
            source: hangzhou.code, recipient: Stream.chengdu.code, time: stream.time.addingTimeInterval(1),
            event: .fundsRemitted(FundsRemitted(
                caseId: caseID, contactLetterNo: letter.contactLetterNo, remittanceId: RemittanceID(office: hangzhou.code, year: 2025, sequence: 9),
                amount: try Money("1000000.00"), payerAccount: hangzhou.account, payeeAccount: Stream.chengdu.account,
                valueDate: try LocalDate("2025-09-26"))))
        let forgedRecord = AuditRecord(
            topic: EventType.fundsRemitted.topic, partition: 0, offset: 100, key: forged.key,
            headers: Dictionary(uniqueKeysWithValues: forged.headers.map { ($0.name, $0.value) }), value: try forged.data(), timestamp: forged.time)
        stream.records.append(forgedRecord)
        // A remittance naming another contact letter.
        var other = try #require(stream.add(Stream.funds(caseID, amount: try Money("5.00"), sequence: 7)).value)
        var object = try #require(try JSONSerialization.jsonObject(with: other) as? [String: Any])
        object["contactLetterNo"] = "CL-510100-2025-000999"
        other = try JSONSerialization.data(withJSONObject: object)
        stream.records[stream.records.count - 1].value = other
        let otherLetter = stream.records[stream.records.count - 1]
        // A negative amount: breaks the schema.
        var negative = stream.add(Stream.funds(caseID, amount: try Money("5.00"), sequence: 8))
        let negativeValue = try #require(negative.value)
        object = try #require(try JSONSerialization.jsonObject(with: negativeValue) as? [String: Any])
        object["amount"] = "-5.00"
        negative.value = try JSONSerialization.data(withJSONObject: object)
        stream.records[stream.records.count - 1] = negative

        let deadLetters = [
            Self.deadLetter(of: forgedRecord, reason: "wrong-sender", offset: 0), Self.deadLetter(of: otherLetter, reason: "contact-letter-mismatch", offset: 1),
            Self.deadLetter(of: negative, reason: "malformed", offset: 2),
        ]
        let report = stream.audit(deadLetters: deadLetters)
        #expect(report.isClean, "\(report.text())")
        #expect(report.money.remitted == Stream.form.totalRemitted.description, "only the real remittance counts")
        #expect(report.money.conserved)
        #expect(Set(report.rejected.map(\.reason)) == ["wrong-sender", "contact-letter-mismatch", "malformed"])
        #expect(report.rejected.allSatisfy { $0.deadLettered })

        // The same records without dead-letter records: each is a violation (an office took them).
        let unguarded = stream.audit()
        #expect(rules(unguarded).filter { $0 == "rejected-not-dead-lettered" }.count == 2)
        #expect(rules(unguarded).contains("schema"))
        #expect(unguarded.money.remitted == Stream.form.totalRemitted.description)
    }

    @Test("a form whose lines do not add up is refused as the destination refuses it")
    func formArithmetic() throws {
        var stream = Stream()
        let caseID = CaseID()
        let letter = Stream.letter(caseID)
        stream.add(.contactLetterIssued(letter))
        var bad = Stream.form
        bad.totalRemitted = try bad.totalRemitted + Money(fen: 1)
        let record = stream.add(.infoFormIssued(InfoFormIssued(caseId: caseID, contactLetterNo: letter.contactLetterNo, person: Stream.person, form: bad, issuedOn: letter.issuedOn)))
        let report = stream.audit(asOf: "2025-09-27", deadLetters: [Self.deadLetter(of: record, reason: "form-arithmetic", offset: 0)])
        #expect(report.rejected.map(\.reason) == ["form-arithmetic"])
        #expect(report.cases.first?.expected == nil, "the form was not taken")
        #expect(report.isClean)
    }
}
