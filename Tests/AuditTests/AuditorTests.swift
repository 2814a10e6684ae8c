import AuditCore
import EventSigning
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

    /// Each office's signing key, and the directory that lists them.
    static let signers = Dictionary(uniqueKeysWithValues: ["440300", "510100", "330100"].map { ($0, EventSigner.generate(office: $0)) })
    static let directory = EventKeyDirectory(keys: signers.values.map(\.directoryEntry))

    var records: [AuditRecord] = []
    var offsets: [String: Int64] = [:]
    var time = Date(timeIntervalSince1970: 1_758_844_800)  // 2025-09-26 00:00 UTC: 08:00 in Shanghai

    /// Appends `event` to its writer's topic (partition 0), one second after the previous one.
    @discardableResult
    mutating func add(
        _ event: TransferEvent, id: UUID = UUID(), topicOffset: Int64? = nil, at: Date? = nil, route: (source: OfficeCode, recipient: OfficeCode)? = nil
    ) -> AuditRecord {
        let fromOrigin = event.type.writer == .origin
        time = at ?? time.addingTimeInterval(1)
        let source = route?.source ?? (fromOrigin ? Self.shenzhen.code : Self.chengdu.code)
        let recipient = route?.recipient ?? (fromOrigin ? Self.chengdu.code : Self.shenzhen.code)
        let cloud = CloudEvent(id: id, source: source, recipient: recipient, time: time, event: event)
        // The recipient's inbox.
        let topic = Topics.inbox(recipient, event.type.reader)
        let offset = topicOffset ?? offsets[topic, default: 0]
        offsets[topic] = max(offsets[topic, default: 0], offset + 1)
        let value = try! cloud.data()
        let signature = try! Self.signers[cloud.source.rawValue]!.signatureHeaders(headers: cloud.headers, value: Array(value))
        let record = AuditRecord(
            topic: topic, partition: 0, offset: offset, key: cloud.key,
            headers: Dictionary(uniqueKeysWithValues: (cloud.headers + signature).map { ($0.name, $0.value) }), value: value, timestamp: time)
        records.append(record)
        return record
    }

    /// `record` signed afresh by the office its `ce_source` names (after a test changed it).
    static func signed(_ record: AuditRecord) -> AuditRecord {
        var record = record
        let office = String(record.headers["ce_source"]!.dropFirst("/offices/".count))
        let headers = record.headers.filter { !$0.key.hasPrefix("ce_signature") }.map { (name: $0.key, value: $0.value) }
        for header in try! signers[office]!.signatureHeaders(headers: headers, value: Array(record.value ?? Data())) {
            record.headers[header.name] = header.value
        }
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

    /// The audit of the stream, signatures checked against ``directory`` (`keys: nil`: not checked).
    func audit(asOf: String = "2025-10-01", deadLetters: [AuditRecord] = [], keys: EventKeyDirectory? = Stream.directory) -> AuditReport {
        Auditor(asOf: try! LocalDate(asOf), keys: keys).audit(records: records, deadLetters: deadLetters)
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

    @Test("issue 24, item 5: a collection answered with a temporary account's form is clean; one answered with a general relationship's form is a violation (the holder owed O08)", arguments: [AccountKind.temporary, .general])
    func collection(kind: AccountKind) throws {
        var stream = Stream()
        let caseID = CaseID()
        var letter = Stream.letter(caseID)
        letter.purpose = .collection
        let form = try TransferCalculator.informationForm(
            months: [ContributionMonth(period: try YearMonth("2024-03"), base: try Money("8000.00"), employerRate: .percent("16"), personalRate: .percent("8"), placeCode: Stream.shenzhen.code)],
            pre1998Account: .zero, kind: kind, transferYear: 2025, rates: CreditingRates())
        stream.add(.contactLetterIssued(letter))
        stream.add(.infoFormIssued(InfoFormIssued(caseId: caseID, contactLetterNo: letter.contactLetterNo, person: Stream.person, form: form, issuedOn: try LocalDate("2025-09-26"))))
        stream.add(Stream.funds(caseID, amount: form.totalRemitted))
        stream.add(.originRelationshipTerminated(OriginRelationshipTerminated(caseId: caseID, contactLetterNo: letter.contactLetterNo, citizenId: Stream.person.citizenId, terminatedOn: try LocalDate("2025-09-26"))))
        stream.add(.transferCompleted(TransferCompleted(caseId: caseID, contactLetterNo: letter.contactLetterNo, receivedTotal: form.totalRemitted, completedOn: try LocalDate("2025-09-26"))))
        let report = stream.audit()
        #expect(rules(report) == (kind == .temporary ? [] : ["collection-not-temporary"]), "\(report.findings)")
        #expect(report.casesByDestinationState == ["completed": 1])
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
        #expect(finding?.evidence.allSatisfy { $0.contains("pension.transfer.inbox.510100.destination[0]@") } == true)
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

    @Test("completion before the match is found (and the origin must refuse it)")
    func completionBeforeMatch() throws {
        var stream = Stream()
        let caseID = CaseID()
        let letter = Stream.letter(caseID)
        stream.add(.contactLetterIssued(letter))
        stream.add(.infoFormIssued(InfoFormIssued(caseId: caseID, contactLetterNo: letter.contactLetterNo, person: Stream.person, form: Stream.form, issuedOn: letter.issuedOn)))
        // The funds never reach ⑥: a completion naming ⑥ cannot follow a match, whatever the order
        // (an early completion whose total the funds do reach is ordered after them, as a skewed
        // clock would have it).
        stream.add(Stream.funds(caseID, amount: try Stream.form.totalRemitted - Money(fen: 1)))
        stream.add(.originRelationshipTerminated(OriginRelationshipTerminated(caseId: caseID, contactLetterNo: letter.contactLetterNo, citizenId: Stream.person.citizenId, terminatedOn: letter.issuedOn)))
        let completed = stream.add(.transferCompleted(TransferCompleted(caseId: caseID, contactLetterNo: letter.contactLetterNo, receivedTotal: Stream.form.totalRemitted, completedOn: letter.issuedOn)))
        let report = stream.audit()
        let finding = report.violations.first { $0.rule == "completion-only-after-match" }
        #expect(finding?.evidence == [completed.evidence])
        #expect(report.rejected.map(\.reason) == ["claim-mismatch"], "the origin refuses a completion before it remitted ⑥")
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
        #expect(finding?.evidence.first?.contains("inbox.510100.destination[0]@0") == true)
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
        bad = Stream.signed(bad)  // signed by its office: what is wrong is the content
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
        // Signed with Hangzhou's own key: the signature is good, the sender is not the case's origin.
        let forgedRecord = Stream.signed(AuditRecord(
            topic: Topics.inbox(Stream.chengdu.code, .destination), partition: 0, offset: 100, key: forged.key,
            headers: Dictionary(uniqueKeysWithValues: forged.headers.map { ($0.name, $0.value) }), value: try forged.data(), timestamp: forged.time))
        stream.records.append(forgedRecord)
        // A remittance naming another contact letter.
        var other = try #require(stream.add(Stream.funds(caseID, amount: try Money("5.00"), sequence: 7)).value)
        var object = try #require(try JSONSerialization.jsonObject(with: other) as? [String: Any])
        object["contactLetterNo"] = "CL-510100-2025-000999"
        other = try JSONSerialization.data(withJSONObject: object)
        stream.records[stream.records.count - 1].value = other
        stream.records[stream.records.count - 1] = Stream.signed(stream.records[stream.records.count - 1])
        let otherLetter = stream.records[stream.records.count - 1]
        // A negative amount: breaks the schema.
        var negative = stream.add(Stream.funds(caseID, amount: try Money("5.00"), sequence: 8))
        let negativeValue = try #require(negative.value)
        object = try #require(try JSONSerialization.jsonObject(with: negativeValue) as? [String: Any])
        object["amount"] = "-5.00"
        negative.value = try JSONSerialization.data(withJSONObject: object)
        negative = Stream.signed(negative)
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

@Suite("transfer-audit checks signatures")
struct AuditSignatureTests {
    @Test("a forged, altered, unsigned, retired-key or doubled-header record is a violation with its place and takes no part in the case; dead-lettered or not, it is reported")
    func forgedRecords() throws {
        var stream = Stream()
        let caseID = stream.cleanCase(skip: [.transferCompleted])
        // The completion, in five untrustworthy versions; none may close the case.
        let completion = stream.add(.transferCompleted(TransferCompleted(
            caseId: caseID, contactLetterNo: Stream.letter(caseID).contactLetterNo, receivedTotal: Stream.form.totalRemitted,
            completedOn: try LocalDate("2025-09-26"))))
        stream.records.removeLast()
        func variant(_ offset: Int64, _ change: (inout AuditRecord) -> Void) -> AuditRecord {
            var record = completion
            record.offset = offset
            change(&record)
            return record
        }
        let stranger = EventSigner.generate(office: "510100")
        let forgedRecords = [
            // Signed by a key the directory does not list.
            variant(10) { record in
                let headers = record.headers.filter { !$0.key.hasPrefix("ce_signature") }.map { (name: $0.key, value: $0.value) }
                for header in try! stranger.signatureHeaders(headers: headers, value: Array(record.value!)) { record.headers[header.name] = header.value }
            },
            // Chengdu's signature over other bytes: the received total raised afterwards.
            variant(11) { record in
                record.value = Data(String(decoding: record.value!, as: UTF8.self).replacingOccurrences(of: Stream.form.totalRemitted.description, with: "999999.99").utf8)
            },
            // No signature at all.
            variant(12) { record in record.headers = record.headers.filter { !$0.key.hasPrefix("ce_signature") } },
            // Signed with Shenzhen's key while claiming to be Chengdu.
            variant(13) { record in
                let headers = record.headers.filter { !$0.key.hasPrefix("ce_signature") }.map { (name: $0.key, value: $0.value) }
                for header in try! Stream.signers["440300"]!.signatureHeaders(headers: headers, value: Array(record.value!)) { record.headers[header.name] = header.value }
            },
            // A ce_type header twice on the record.
            variant(14) { record in record.repeatedHeader = "ce_type" },
        ]
        stream.records += forgedRecords
        let report = stream.audit()
        let violations = report.violations.filter { $0.rule == "signature" }
        #expect(violations.count == 5)
        #expect(Set(violations.flatMap(\.evidence)) == Set(forgedRecords.map(\.evidence)))
        #expect(violations.allSatisfy { $0.caseId == caseID.description && $0.message.contains("no dead-letter record refers to it") })
        #expect(report.rejected.map(\.reason).sorted() == ["bad-signature", "bad-signature", "bad-signature", "bad-signature", "unknown-key"])
        #expect(report.signatures == AuditReport.Signatures(verified: 4, refused: 5))
        #expect(report.text().contains("Signatures: 4 verified against the office key directory, 5 refused"))
        #expect(report.casesByDestinationState != ["completed": 1], "no forged completion closed the case")
        #expect(report.openCases.map(\.caseId) == [caseID.description])
        #expect(report.casesByOriginState == ["terminated": 1], "the origin's side is rebuilt up to its termination")
        #expect(!report.isClean)

        // Retiring Chengdu's key: everything it signed becomes unknown-key.
        let retired = EventKeyDirectory(keys: Stream.directory.keys.map { key in
            var key = key
            key.retired = key.office == "510100"
            return key
        })
        let strict = stream.audit(keys: retired)
        #expect(strict.rejected.filter { $0.reason == "unknown-key" }.count == 3, "Chengdu's genuine letter, the altered completion (its key is now retired) and the stranger's")

        // Without a directory nothing is checked, and the report says so.
        let unchecked = stream.audit(keys: nil)
        #expect(unchecked.notes.contains { $0.contains("signatures were not checked") })
        #expect(unchecked.violations.filter { $0.rule == "signature" }.isEmpty)
        #expect(unchecked.signatures == nil && !unchecked.text().contains("Signatures:"))
    }

    @Test("a cleanly signed stream audits clean with the directory")
    func signedStreamIsClean() {
        var stream = Stream()
        _ = stream.cleanCase()
        let report = stream.audit()
        #expect(report.isClean, "\(report.text())")
        #expect(report.rejected.isEmpty && !report.notes.contains { $0.contains("signatures") })
    }
}

@Suite("transfer-audit judges peer claims as the offices do (issue 21)")
struct PeerClaimAuditTests {
    func rules(_ report: AuditReport) -> [String] { report.violations.map(\.rule).sorted() }

    @Test("a discrepancy the origin's books do not show is reported as refused, not as a broken order; a supplementary remittance above ⑥ less what was remitted is a violation")
    func claimsAndSupplementaryBound() throws {
        var stream = Stream()
        let caseID = stream.cleanCase(skip: [.transferCompleted])
        let letter = Stream.letter(caseID)
        let claim = stream.add(.reconciliationDiscrepancyRaised(try ReconciliationDiscrepancyRaised(
            caseId: caseID, contactLetterNo: letter.contactLetterNo, expected: try Money("9999999.99"), received: .zero, raisedOn: letter.issuedOn)))
        let dead = AuditorTests.deadLetter(of: claim, reason: "claim-mismatch", offset: 0)
        let refused = stream.audit(deadLetters: [dead])
        #expect(refused.isClean, "\(refused.text())")
        #expect(refused.rejected.map(\.reason) == ["claim-mismatch"])
        #expect(!rules(refused).contains("per-case-order"))
        #expect(rules(stream.audit()) == ["rejected-not-dead-lettered"], "an office that took the claim is found")

        // What the old origin did: pay the claimed shortfall.
        let paid = stream.add(Stream.funds(caseID, amount: try Money("9999999.99"), sequence: 2, supplementary: true))
        let report = stream.audit(deadLetters: [dead])
        let finding = report.violations.first { $0.rule == "supplementary-above-owed" }
        #expect(finding?.evidence == [paid.evidence])
    }

    @Test("certificates: another origin's numbering, or a second content under one number, must be dead-lettered")
    func certificates() throws {
        var stream = Stream()
        func certificate(_ person: PersonRef, origin: Office) -> TransferEvent {
            .paymentCertificateIssued(PaymentCertificateIssued(
                certificateNo: CertificateNumber(office: Stream.shenzhen.code, year: 2025, sequence: 1), person: person, origin: OfficeRef(origin),
                insuredFrom: try! YearMonth("2020-01"), insuredTo: try! YearMonth("2025-08"), monthsPaid: 68, individualAccountBalance: try! Money("100.00"),
                issuedOn: try! LocalDate("2025-09-26")))
        }
        stream.add(certificate(Stream.person, origin: Stream.shenzhen))
        let other = PersonRef(PersonFacts(citizenID: try CitizenID("440524188001010030"), name: "Wu Fang", hukouProvince: try ProvinceCode("44")))
        let conflicting = stream.add(certificate(other, origin: Stream.shenzhen))
        #expect(rules(stream.audit()) == ["rejected-not-dead-lettered"])
        let report = stream.audit(deadLetters: [AuditorTests.deadLetter(of: conflicting, reason: "conflicting-document", offset: 0)])
        #expect(report.isClean, "\(report.text())")
        #expect(report.rejected.map(\.reason) == ["conflicting-document"])
    }
    @Test("offices whose clocks differ by minutes: the origin's answer stamped before the letter, a supplementary remittance before the discrepancy it answers: still clean")
    func skewedClocks() throws {
        var stream = Stream()
        let caseID = CaseID()
        let letter = Stream.letter(caseID)
        let start = stream.time
        // The destination's clock runs 5 minutes ahead of the origin's.
        stream.add(.contactLetterIssued(letter), at: start.addingTimeInterval(300))
        let short = try Stream.form.totalRemitted - Money(fen: 1)
        stream.add(.infoFormIssued(InfoFormIssued(caseId: caseID, contactLetterNo: letter.contactLetterNo, person: Stream.person, form: Stream.form, issuedOn: letter.issuedOn)), at: start.addingTimeInterval(10))
        stream.add(Stream.funds(caseID, amount: short), at: start.addingTimeInterval(11))
        stream.add(.originRelationshipTerminated(OriginRelationshipTerminated(caseId: caseID, contactLetterNo: letter.contactLetterNo, citizenId: Stream.person.citizenId, terminatedOn: letter.issuedOn)), at: start.addingTimeInterval(12))
        stream.add(.reconciliationDiscrepancyRaised(try ReconciliationDiscrepancyRaised(
            caseId: caseID, contactLetterNo: letter.contactLetterNo, expected: Stream.form.totalRemitted, received: short, raisedOn: letter.issuedOn)), at: start.addingTimeInterval(320))
        stream.add(Stream.funds(caseID, amount: Money(fen: 1), sequence: 2, supplementary: true), at: start.addingTimeInterval(20))
        stream.add(.transferCompleted(TransferCompleted(caseId: caseID, contactLetterNo: letter.contactLetterNo, receivedTotal: Stream.form.totalRemitted, completedOn: letter.issuedOn)), at: start.addingTimeInterval(330))
        let report = stream.audit()
        // Only the short first remittance itself is a finding (the origin must remit ⑥): nothing
        // about the order, which the clocks alone would have reversed.
        #expect(rules(report) == ["remittance-equals-total"], "\(report.text())")
        #expect(report.casesByDestinationState == ["completed": 1])
        #expect(report.casesByOriginState == ["closed": 1])
    }

    @Test("a rejection from an office that is not the destination it names is refused as the origin refuses it; a record in another office's inbox is not delivered")
    func senderChecksAndInboxes() throws {
        var stream = Stream()
        let caseID = CaseID()
        let hangzhou = OfficeDirectory.standard[try OfficeCode("330100")]!
        let rejection = CloudEvent(
            source: hangzhou.code, recipient: Stream.shenzhen.code, time: stream.time.addingTimeInterval(1),
            event: .applicationRejected(ApplicationRejected(
                caseId: caseID, person: Stream.person, origin: OfficeRef(Stream.shenzhen), destination: OfficeRef(Stream.chengdu), reasons: [.notContributingHere],
                decidedOn: try LocalDate("2025-09-26"))))
        let record = Stream.signed(AuditRecord(
            topic: Topics.inbox(Stream.shenzhen.code, .origin), partition: 0, offset: 0, key: rejection.key,
            headers: Dictionary(uniqueKeysWithValues: rejection.headers.map { ($0.name, $0.value) }), value: try rejection.data(), timestamp: rejection.time))
        stream.records.append(record)
        #expect(rules(stream.audit()) == ["rejected-not-dead-lettered"])
        let dead = stream.audit(deadLetters: [AuditorTests.deadLetter(of: record, reason: "wrong-sender", offset: 0)])
        #expect(dead.isClean, "\(dead.text())")
        #expect(dead.rejected.map(\.reason) == ["wrong-sender"])

        // A clean case's completion written to Hangzhou's inbox: Shenzhen never reads it.
        var misplaced = Stream()
        misplaced.cleanCase()
        let last = misplaced.records.count - 1
        misplaced.records[last].topic = Topics.inbox(hangzhou.code, .origin)
        let report = misplaced.audit()
        #expect(report.rejected.map(\.reason) == ["other-office"])
        #expect(report.casesByOriginState == ["terminated": 1], "the completion reached no office")

        // Issue 24, item 1: the completion written to Shenzhen's destination inbox (the city's
        // other role): that service refuses it (wrong-direction), Shenzhen's origin never sees it.
        var otherRole = Stream()
        otherRole.cleanCase()
        otherRole.records[last].topic = Topics.inbox(Stream.shenzhen.code, .destination)
        let refused = otherRole.audit()
        #expect(refused.rejected.map(\.reason) == ["wrong-direction"])
        #expect(refused.rejected.first?.deadLettered == false)
        #expect(refused.casesByOriginState == ["terminated": 1], "the completion reached no office")
        let deadLettered = otherRole.audit(deadLetters: [AuditorTests.deadLetter(of: otherRole.records[last], reason: "wrong-direction", offset: 0)])
        #expect(deadLettered.rejected.first?.deadLettered == true)
    }

    @Test("issue 24, item 2: a relationship-received from the office that completed the case is clean; one from another office is refused as the origin refuses it (wrong-sender); one for a case its sender never completed is a violation")
    func relationshipReceived() {
        var stream = Stream()
        let caseID = stream.cleanCase()
        let months = Stream.form.months ?? []
        func received(_ caseID: CaseID) -> TransferEvent {
            .relationshipReceived(RelationshipReceived(
                caseId: caseID, person: Stream.person, from: OfficeRef(Stream.shenzhen), accountKind: .general,
                pre1998Account: Stream.form.pre1998Account, months: months, completedOn: try! LocalDate("2025-09-26")))
        }
        stream.add(received(caseID), route: (Stream.chengdu.code, Stream.chengdu.code))
        #expect(stream.audit().isClean, "\(stream.audit().text())")

        var forged = stream
        let record = forged.add(received(caseID), route: (Stream.shenzhen.code, Stream.chengdu.code))
        #expect(forged.audit().rejected.map(\.reason) == ["wrong-sender"])
        #expect(rules(forged.audit()) == ["rejected-not-dead-lettered"])
        #expect(forged.audit(deadLetters: [AuditorTests.deadLetter(of: record, reason: "wrong-sender", offset: 0)]).isClean)

        var uncompleted = stream
        uncompleted.add(received(CaseID()), route: (Stream.chengdu.code, Stream.chengdu.code))
        #expect(rules(uncompleted.audit()) == ["received-without-completion"])

        // Months the form never carried (an office crediting itself years nobody paid).
        var invented = Stream()
        let other = invented.cleanCase()
        var extra = months
        extra.append(ContributionMonth(period: try! YearMonth("1999-01"), base: try! Money("9999.00"), employerRate: .percent("16"), personalRate: .percent("8"), placeCode: Stream.shenzhen.code))
        invented.add(.relationshipReceived(RelationshipReceived(
            caseId: other, person: Stream.person, from: OfficeRef(Stream.shenzhen), accountKind: .general,
            pre1998Account: Stream.form.pre1998Account, months: extra, completedOn: try! LocalDate("2025-09-26"))), route: (Stream.chengdu.code, Stream.chengdu.code))
        #expect(rules(invented.audit()) == ["received-not-in-form"])
    }
}
