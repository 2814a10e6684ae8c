import EventSigning
import Foundation
import Synchronization
import TransferDomain

/// Rebuilds every case from the events alone, with the domain's own state machines, and checks
/// the invariants of DOMAIN.md and the delivery anomalies (named as Jepsen names them).
public struct Auditor: Sendable {
    public var asOf: LocalDate
    public var calendar: WorkingDayCalendar
    /// The office key directory every record's signature is checked against (`nil`: signatures
    /// are not checked, and the report says so).
    public var keys: EventKeyDirectory?

    public init(asOf: LocalDate, calendar: WorkingDayCalendar = .standard, keys: EventKeyDirectory? = nil) {
        self.asOf = asOf
        self.calendar = calendar
        self.keys = keys
    }

    /// One decoded event and where it was read.
    struct Entry {
        var record: AuditRecord
        var event: CloudEvent
    }

    /// A record's signature and decoding, checked before the rebuild.
    public enum Checked: Sendable {
        case signatureRefused(SignatureFailure)
        case undecodable(EventDecodingError)
        case event(CloudEvent)
    }

    /// Verifies and decodes one record (`transfer-audit` runs this for each batch while it reads
    /// the next one).
    public static func check(_ record: AuditRecord, keys: EventKeyDirectory?) -> Checked {
        if let keys {
            do throws(SignatureFailure) {
                if let repeated = record.repeatedHeader { throw SignatureFailure.malformed("header \(repeated) appears more than once") }
                try EventSignature.verify(headers: record.headers, value: Array(record.value ?? Data()), directory: keys)
            } catch {
                return .signatureRefused(error)
            }
        }
        do throws(EventDecodingError) {
            return .event(try CloudEvent.decode(headers: record.headers, data: record.value))
        } catch {
            return .undecodable(error)
        }
    }

    /// Audits `records` (both event topics, each partition in offset order) and `deadLetters`.
    /// - Parameter partial: the window does not start at the beginning of the topics: cases
    ///   whose opening event is not in it are reported as partial, without lost-event checks.
    public func audit(records: [AuditRecord], deadLetters: [AuditRecord], partial: Bool = false, notes: [String] = []) -> AuditReport {
        audit(checked: records.map { ($0, Self.check($0, keys: keys)) }, deadLetters: deadLetters, partial: partial, notes: notes)
    }

    /// Audits records already checked with ``check(_:keys:)`` against this auditor's key directory
    /// (`transfer-audit` checks them while it still reads), in the order given.
    public func audit(checked: [(AuditRecord, Checked)], deadLetters: [AuditRecord], partial: Bool = false, notes: [String] = []) -> AuditReport {
        var findings: [Finding] = []
        var duplicates = 0
        var seen: [UUID: Entry] = [:]
        var entries: [Entry] = []
        let deadLettered = Set(deadLetters.compactMap { record -> String? in
            guard let topic = record.headers["dlq_topic"], let partition = record.headers["dlq_partition"], let offset = record.headers["dlq_offset"] else { return nil }
            return "\(topic)[\(partition)]@\(offset)"
        })

        var rejected: [RejectedRecord] = []
        var notes = notes
        if keys == nil { notes.append("signatures were not checked (no office key directory given)") }
        var signatureRefused = 0
        for (record, checked) in checked {
            let event: CloudEvent
            switch checked {
            case .signatureRefused(let error):
                // Forged, altered or unsigned: never part of a case, and always a violation
                // (somebody wrote to an inbox who may not), dead-lettered or not.
                findings.append(Finding(
                    severity: .violation, rule: "signature", caseId: record.headers["ce_subject"],
                    message: "\(error.reason): \(error); \(deadLettered.contains(record.place) ? "the consumer dead-lettered it" : "no dead-letter record refers to it")",
                    evidence: [record.evidence]))
                rejected.append(RejectedRecord(
                    evidence: record.evidence, caseId: record.headers["ce_subject"], reason: error.reason, message: error.description,
                    deadLettered: deadLettered.contains(record.place)))
                signatureRefused += 1
                continue
            case .event(let decoded): event = decoded
            case .undecodable(let error):
                if deadLettered.contains(record.place) {
                    // Refused by the consumer, as the contract says: not part of any case.
                    rejected.append(RejectedRecord(
                        evidence: record.evidence, caseId: record.headers["ce_subject"], reason: error.reason, message: error.description,
                        deadLettered: true))
                } else {
                    findings.append(Finding(
                        severity: .violation, rule: "schema", caseId: record.headers["ce_subject"],
                        message: "a record breaks the event contract (\(error.reason): \(error)); no dead-letter record refers to it",
                        evidence: [record.evidence]))
                }
                continue
            }
            // An office reads only its own role's inbox and skips what is addressed to another office
            // (the contract's rule 1): such a record was delivered to nobody; one in the inbox of
            // the recipient's other role is dead-lettered there (wrong-direction), applied by nobody.
            // (An inbox's name ends in `<code>.<role>`, whatever the configured prefix.)
            if record.topic.hasSuffix(Topics.inboxSuffix(event.recipient, event.type.writer)) {
                rejected.append(RejectedRecord(
                    evidence: record.evidence, caseId: event.subject, reason: "wrong-direction",
                    message: "\(event.type.ceType) is read by \(event.type.reader.rawValue) offices but was written to \(record.topic)",
                    deadLettered: deadLettered.contains(record.place)))
                continue
            }
            if !record.topic.hasSuffix(Topics.inboxSuffix(event.recipient, event.type.reader)) {
                rejected.append(RejectedRecord(
                    evidence: record.evidence, caseId: event.subject, reason: "other-office",
                    message: "addressed to \(event.recipient) but written to \(record.topic): the office reading that topic skips it",
                    deadLettered: false))
                continue
            }
            if let first = seen[event.id] {
                if first.event == event {
                    duplicates += 1  // the same event delivered again: expected under at-least-once
                } else {
                    findings.append(Finding(
                        severity: .violation, rule: "conflicting-duplicate", caseId: event.subject,
                        message: "two different events carry the same ce_id", evidence: [first.record.evidence, record.evidence]))
                }
                continue
            }
            let entry = Entry(record: record, event: event)
            seen[event.id] = entry
            entries.append(entry)
        }

        judgeCertificates(entries, deadLettered: deadLettered, findings: &findings, rejected: &rejected)
        judgeReceivedRelationships(entries, deadLettered: deadLettered, partial: partial, findings: &findings, rejected: &rejected)
        var byCase: [CaseID: [Entry]] = [:]
        for entry in entries {
            if let caseID = entry.event.event.payload.caseID { byCase[caseID, default: []].append(entry) }
        }
        var cases: [CaseAudit] = []
        var letterOwners: [ContactLetterNumber: [(CaseID, String)]] = [:]
        var remitted = Money.zero
        var refunded = Money.zero
        var completedReceived = Money.zero
        var inFlight = Money.zero
        var deadlineCounts = AuditReport.Deadlines(met: 0, breached: 0, pending: 0, provisional: 0)
        var amountsInRange = true
        func add(_ total: inout Money, _ amounts: [Money], minus: [Money] = []) {
            do {
                total = try total + amounts.sum() - minus.sum()
            } catch {
                amountsInRange = false
            }
        }
        // Each case is rebuilt on its own, so the cases are shared out over the cores; their
        // findings are gathered in case order, as one core would give them.
        let rebuilt = Self.concurrentMap(byCase.sorted(by: { $0.key.description < $1.key.description })) { caseID, caseEntries in
            var rebuild = CaseRebuild(caseID: caseID, auditor: self, partialWindow: partial, deadLettered: deadLettered)
            rebuild.replay(merge(caseEntries))
            let summary = rebuild.summary()
            return (rebuild, summary)
        }
        for (rebuild, summary) in rebuilt {
            let caseID = rebuild.caseID
            findings += rebuild.findings
            rejected += rebuild.rejected
            if let letter = rebuild.letter { letterOwners[letter.contactLetterNo, default: []].append((caseID, rebuild.letterEvidence ?? "")) }
            add(&remitted, rebuild.remittances.map(\.amount))
            add(&refunded, rebuild.refunds.map(\.amount))
            if let completed = rebuild.completion {
                add(&completedReceived, [completed.receivedTotal])
            } else {
                add(&inFlight, rebuild.remittances.map(\.amount), minus: rebuild.refunds.map(\.amount))
            }
            for check in summary.deadlines {
                switch check.status {
                case .met: deadlineCounts.met += 1
                case .breached: deadlineCounts.breached += 1
                case .pending: deadlineCounts.pending += 1
                }
                if check.provisional { deadlineCounts.provisional += 1 }
            }
            cases.append(summary)
        }
        for (letter, owners) in letterOwners where Set(owners.map(\.0)).count > 1 {
            findings.append(Finding(
                severity: .violation, rule: "unique-contact-letter", caseId: owners.first?.0.description,
                message: "contact letter \(letter) was issued for \(owners.count) cases: \(owners.map(\.0.description).joined(separator: ", "))",
                evidence: owners.map(\.1)))
        }
        let conserved = amountsInRange && (try? remitted - refunded) == (try? completedReceived + inFlight)
        if !amountsInRange {
            findings.append(Finding(
                severity: .violation, rule: "money-conserved", caseId: nil,
                message: "the amounts on the topics sum beyond the range money can hold", evidence: []))
        } else if !conserved {
            findings.append(Finding(
                severity: .violation, rule: "money-conserved", caseId: nil,
                message: "remitted \(remitted) - refunded \(refunded) ≠ completed \(completedReceived) + in flight \(inFlight)", evidence: []))
        }
        let deadLetterEntries = deadLetters.map {
            DeadLetterEntry(
                evidence: $0.evidence, reason: $0.headers["dlq_reason"] ?? "?",
                source: "\($0.headers["dlq_topic"] ?? "?")[\($0.headers["dlq_partition"] ?? "?")]@\($0.headers["dlq_offset"] ?? "?")",
                consumer: $0.headers["dlq_consumer"] ?? "?", detail: String(($0.headers["dlq_detail"] ?? "").prefix(300)))
        }
        return AuditReport(
            asOf: asOf.description, recordsRead: checked.count, distinctEvents: entries.count, duplicateEvents: duplicates,
            casesByDestinationState: Dictionary(grouping: cases.compactMap(\.destinationState), by: { $0 }).mapValues(\.count),
            casesByOriginState: Dictionary(grouping: cases.compactMap(\.originState), by: { $0 }).mapValues(\.count),
            openCases: cases.filter { !$0.terminal },
            money: .init(remitted: remitted.description, refunded: refunded.description, completedReceived: completedReceived.description, inFlight: inFlight.description, conserved: conserved),
            deadlines: deadlineCounts, findings: findings.sorted { ($0.severity.rawValue, $0.rule, $0.caseId ?? "") < ($1.severity.rawValue, $1.rule, $1.caseId ?? "") },
            deadLetters: deadLetterEntries, rejected: rejected, notes: notes, cases: cases,
            signatures: keys.map { _ in .init(verified: checked.count - signatureRefused, refused: signatureRefused) })
    }

    /// `transform` of every item, in order, computed in as many contiguous shares as the machine
    /// has cores.
    static func concurrentMap<Item: Sendable, Result: Sendable>(_ items: [Item], _ transform: @Sendable (Item) -> Result) -> [Result] {
        let shares = max(1, min(ProcessInfo.processInfo.activeProcessorCount, items.count))
        guard shares > 1 else { return items.map(transform) }
        let results = Mutex<[[Result]]>(Array(repeating: [], count: shares))
        DispatchQueue.concurrentPerform(iterations: shares) { share in
            let part = items[items.count * share / shares..<items.count * (share + 1) / shares].map(transform)
            results.withLock { $0[share] = part }
        }
        return results.withLock { $0.flatMap { $0 } }
    }

    /// Payment certificates, judged as the destination judges them: from the origin they name, in
    /// its numbering, and one content per number (the first by event time stands; a later one
    /// under the same number with other content is refused). A refused certificate must have a
    /// dead-letter record.
    func judgeCertificates(_ entries: [Entry], deadLettered: Set<String>, findings: inout [Finding], rejected: inout [RejectedRecord]) {
        var held: [CertificateNumber: PaymentCertificateIssued] = [:]
        let certificates = entries.compactMap { entry -> (Entry, PaymentCertificateIssued)? in
            guard case .paymentCertificateIssued(let certificate) = entry.event.event else { return nil }
            return (entry, certificate)
        }.sorted { ($0.0.event.time, $0.0.record.offset) < ($1.0.event.time, $1.0.record.offset) }
        for (entry, certificate) in certificates {
            var refusal: DomainError?
            do throws(DomainError) {
                try DestinationIntake.checkCertificate(certificate, source: entry.event.source)
                if let first = held[certificate.certificateNo] {
                    if !DestinationIntake.sameCertificate(first, citizen: certificate.person.citizenId, origin: certificate.origin.code, issuedOn: certificate.issuedOn) {
                        throw DomainError("payment certificate \(certificate.certificateNo) was already issued for other content", code: "conflicting-document")
                    }
                } else {
                    held[certificate.certificateNo] = certificate
                }
            } catch {
                refusal = error
            }
            guard let refusal else { continue }
            let dead = deadLettered.contains(entry.record.place)
            rejected.append(RejectedRecord(evidence: entry.record.evidence, caseId: nil, reason: refusal.code, message: refusal.description, deadLettered: dead))
            if !dead {
                findings.append(Finding(
                    severity: .violation, rule: "rejected-not-dead-lettered", caseId: nil,
                    message: "a certificate the destination must refuse (\(refusal.code)) has no dead-letter record", evidence: [entry.record.evidence]))
            }
        }
    }

    /// `relationship-received` records (an office's destination role handing a completed transfer to
    /// its own origin role): only the office itself may send one, as the origin refuses any other
    /// (`wrong-sender`), and only for a case that office completed as a destination.
    /// (In a partial window the completion may lie before it: not judged there.)
    func judgeReceivedRelationships(_ entries: [Entry], deadLettered: Set<String>, partial: Bool, findings: inout [Finding], rejected: inout [RejectedRecord]) {
        var completedBy: [CaseID: Set<OfficeCode>] = [:]
        var forms: [CaseID: [InformationForm]] = [:]
        for entry in entries {
            switch entry.event.event {
            case .transferCompleted(let completed): completedBy[completed.caseId, default: []].insert(entry.event.source)
            case .infoFormIssued(let issued): forms[issued.caseId, default: []].append(issued.form)
            default: break
            }
        }
        for entry in entries {
            guard case .relationshipReceived(let received) = entry.event.event else { continue }
            do throws(DomainError) {
                try OriginIntake.check(entry.event.event, source: entry.event.source, origin: entry.event.recipient, caseDestination: nil)
            } catch {
                let dead = deadLettered.contains(entry.record.place)
                rejected.append(RejectedRecord(evidence: entry.record.evidence, caseId: received.caseId.description, reason: error.code, message: error.description, deadLettered: dead))
                if !dead {
                    findings.append(Finding(
                        severity: .violation, rule: "rejected-not-dead-lettered", caseId: received.caseId.description,
                        message: "a relationship-received the origin must refuse (\(error.code)) has no dead-letter record", evidence: [entry.record.evidence]))
                }
                continue
            }
            if !partial, completedBy[received.caseId]?.contains(entry.event.source) != true {
                findings.append(Finding(
                    severity: .violation, rule: "received-without-completion", caseId: received.caseId.description,
                    message: "office \(entry.event.source) says it received a relationship by case \(received.caseId), which it never completed",
                    evidence: [entry.record.evidence]))
            }
            // What it hands on must be what the case's form brought: its ① and (some of) its months,
            // as the form has them (the destination leaves out the months it cleared).
            if let caseForms = forms[received.caseId], !caseForms.contains(where: { form in
                form.pre1998Account == received.pre1998Account && form.months.map { Set($0) }.map { Set(received.months).isSubset(of: $0) } == true
            }) {
                findings.append(Finding(
                    severity: .violation, rule: "received-not-in-form", caseId: received.caseId.description,
                    message: "relationship-received for case \(received.caseId) hands on ① or months its information form does not carry",
                    evidence: [entry.record.evidence]))
            }
        }
    }

    /// One case's events in causal order: what each side wrote keeps its offset order (one case,
    /// one key, one partition of the recipient's inbox), and the two streams are merged so that a
    /// reply comes after what it answers, whatever the senders' clocks say:
    /// - the origin's events come after the destination's contact letter;
    /// - a supplementary remittance comes after a discrepancy it answers;
    /// - a discrepancy comes after the remittances whose total it names as received, and a
    ///   completion after those whose total (less refunds) it names.
    /// Where causality does not decide (both heads are ready, or neither is in a broken stream),
    /// event time does.
    func merge(_ entries: [Entry]) -> [Entry] {
        let destination = entries.filter { $0.event.type.writer == .destination }.sorted { $0.record.offset < $1.record.offset }
        let origin = entries.filter { $0.event.type.writer == .origin }.sorted { $0.record.offset < $1.record.offset }
        var result: [Entry] = []
        var i = 0
        var j = 0
        var letterTaken = false
        var discrepancies = 0
        var supplementaries = 0
        var remitted = Money.zero
        var refunded = Money.zero
        func destinationReady(_ entry: Entry) -> Bool {
            switch entry.event.event {
            case .reconciliationDiscrepancyRaised(let raised): return (try? remitted - refunded) == raised.received
            case .transferCompleted(let completed): return (try? remitted - refunded) == completed.receivedTotal
            default: return true
            }
        }
        func originReady(_ entry: Entry) -> Bool {
            guard letterTaken else { return false }
            if case .fundsRemitted(let funds) = entry.event.event, funds.supplementary { return discrepancies > supplementaries }
            return true
        }
        while i < destination.count || j < origin.count {
            let takeDestination: Bool
            if j >= origin.count {
                takeDestination = true
            } else if i >= destination.count {
                takeDestination = false
            } else {
                switch (destinationReady(destination[i]), originReady(origin[j])) {
                case (true, false): takeDestination = true
                case (false, true): takeDestination = false
                default: takeDestination = destination[i].event.time <= origin[j].event.time
                }
            }
            let entry = takeDestination ? destination[i] : origin[j]
            if takeDestination { i += 1 } else { j += 1 }
            switch entry.event.event {
            case .contactLetterIssued, .applicationRejected, .temporaryAccountOpened: letterTaken = true
            case .reconciliationDiscrepancyRaised: discrepancies += 1
            case .excessRefunded(let refund): refunded = (try? refunded + refund.amount) ?? refunded
            case .fundsRemitted(let funds):
                remitted = (try? remitted + funds.amount) ?? remitted
                if funds.supplementary { supplementaries += 1 }
            default: break
            }
            result.append(entry)
        }
        return result
    }

    /// The Shanghai business date of an instant.
    public static func businessDate(_ date: Date) -> LocalDate {
        LocalDate(daysSinceEpoch: Int(((date.timeIntervalSince1970 + 8 * 3600) / 86_400).rounded(.down)))
    }
}

/// The replay of one case into both offices' state machines.
struct CaseRebuild: Sendable {
    let caseID: CaseID
    let auditor: Auditor
    let partialWindow: Bool
    var destination: DestinationCase?
    var origin: OriginCase?
    var letter: ContactLetterIssued?
    var letterEvidence: String?
    var opening: Date?
    var findings: [Finding] = []
    var form: InformationForm?
    var formIssuedOn: LocalDate?
    var remittances: [(id: RemittanceID, amount: Money, supplementary: Bool, evidence: String, eventID: UUID)] = []
    var refunds: [(id: RemittanceID, amount: Money)] = []
    var originAnswerOn: LocalDate?
    var reviewedOn: LocalDate?
    var submittedOn: LocalDate?
    var terminated = false
    var completion: TransferCompleted?
    var completedEvidence: String?
    var sawOriginEvent = false
    var originOffice: String?
    var destinationOffice: String?
    var rejected: [RejectedRecord] = []
    /// `topic[partition]@offset` of every record a dead-letter record refers to.
    let deadLettered: Set<String>

    init(caseID: CaseID, auditor: Auditor, partialWindow: Bool, deadLettered: Set<String> = []) {
        self.caseID = caseID
        self.auditor = auditor
        self.partialWindow = partialWindow
        self.deadLettered = deadLettered
    }

    /// How far a record is taken: by both offices' machines, by the destination's alone (a
    /// destination's claim the origin refuses against its own books: the destination did write
    /// it, the origin does not book it), or by neither.
    enum Admission { case both, destinationOnly, none }

    /// Whether the intake takes a record for this case, by the same checks the offices make: the
    /// origin's on a destination's event (sender, then its claims about money against the origin's
    /// books as rebuilt so far), the destination's on an origin's event. A refused one is recorded
    /// as rejected (and is a violation when no dead-letter record refers to it).
    mutating func admission(_ entry: Auditor.Entry) -> Admission {
        let reason: String
        let message: String
        var admission = Admission.none
        if entry.event.type.writer == .destination {
            let caseDestination = OriginIntake.caseDestination(of: entry.event.event, stored: destinationOffice.flatMap { try? OfficeCode($0) })
            do throws(DomainError) {
                try OriginIntake.check(entry.event.event, source: entry.event.source, origin: entry.event.recipient, caseDestination: caseDestination)
            } catch {
                return reject(entry, error.code, error.description, .none)
            }
            guard let origin else { return .both }
            do throws(DomainError) {
                try OriginIntake.checkClaim(entry.event.event, against: origin)
                return .both
            } catch {
                reason = error.code
                message = error.description
                admission = .destinationOnly
            }
        } else if let originOffice, let origin = try? OfficeCode(originOffice), let destinationOffice, let destination = try? OfficeCode(destinationOffice) {
            do throws(DomainError) {
                try DestinationIntake.check(
                    entry.event.event, source: entry.event.source, caseOrigin: origin, caseLetter: letter?.contactLetterNo, destination: destination)
                return .both
            } catch {
                reason = error.code
                message = error.description
            }
        } else if partialWindow || !deadLettered.contains(entry.record.place) {
            // No contact letter in view: either the window starts later, or the letter was lost
            // (checkAfterReplay reports that).
            return .both
        } else {
            reason = "unknown-case"
            message = "\(entry.event.type.ceType) for a case the destination does not know"
        }
        return reject(entry, reason, message, admission)
    }

    private mutating func reject(_ entry: Auditor.Entry, _ reason: String, _ message: String, _ admission: Admission) -> Admission {
        rejected.append(RejectedRecord(
            evidence: entry.record.evidence, caseId: caseID.description, reason: reason, message: message,
            deadLettered: deadLettered.contains(entry.record.place)))
        if !deadLettered.contains(entry.record.place) {
            violation("rejected-not-dead-lettered", "a record the office must refuse (\(reason)) has no dead-letter record", [entry.record.evidence])
        }
        return admission
    }

    /// Whether both offices' intakes take the record (see ``admission(_:)``).
    mutating func admitted(_ entry: Auditor.Entry) -> Bool { admission(entry) == .both }

    mutating func violation(_ rule: String, _ message: String, _ evidence: [String]) {
        findings.append(Finding(severity: .violation, rule: rule, caseId: caseID.description, message: message, evidence: evidence))
    }

    /// Applies to the destination's machine; an illegal transition becomes a finding.
    mutating func applyDestination(_ event: DestinationCaseEvent, _ entry: Auditor.Entry) {
        guard destination != nil else { return }
        do {
            try destination?.apply(event)
        } catch let error as IllegalTransition {
            if case .completed = event {
                violation("completion-only-after-match", "the case was completed in state \(error.state): received \(destination?.received ?? .zero), expected \(destination?.expected?.description ?? "no form")", [entry.record.evidence])
            } else {
                violation("per-case-order", "\(event.name) arrived in destination state \(error.state)", [entry.record.evidence])
            }
        } catch {
            violation("amount-out-of-range", "\(event.name): \(error)", [entry.record.evidence])
        }
    }

    mutating func applyOrigin(_ event: OriginCaseEvent, _ entry: Auditor.Entry) {
        guard origin != nil else { return }
        do {
            try origin?.apply(event)
        } catch let error as IllegalTransition {
            switch event {
            case .returned, .formIssued:
                violation("one-outcome-per-letter", "\(event.name) after the letter already had an outcome (origin state \(error.state))", [entry.record.evidence])
            default:
                violation("per-case-order", "\(event.name) arrived in origin state \(error.state)", [entry.record.evidence])
            }
        } catch {
            violation("amount-out-of-range", "\(event.name): \(error)", [entry.record.evidence])
        }
    }

    mutating func replay(_ entries: [Auditor.Entry]) {
        for entry in entries {
            if opening == nil { opening = entry.event.time }
            switch entry.event.event {
            case .contactLetterIssued(let issued):
                guard admitted(entry) else { continue }
                destinationOffice = entry.event.source.rawValue
                originOffice = entry.event.recipient.rawValue
                if let letter, letter.contactLetterNo != issued.contactLetterNo {
                    violation("one-letter-per-case", "a second contact letter \(issued.contactLetterNo) for the case (first \(letter.contactLetterNo))", [letterEvidence ?? "", entry.record.evidence])
                    continue
                }
                letter = issued
                letterEvidence = entry.record.evidence
                submittedOn = issued.applicationDate
                reviewedOn = issued.issuedOn
                if destination == nil { destination = DestinationCase(id: caseID, submittedOn: issued.applicationDate) }
                applyDestination(.reviewed(.contactLetter, letter: issued.contactLetterNo, on: issued.issuedOn), entry)
                if origin == nil { origin = OriginCase(id: caseID, contactLetter: issued.contactLetterNo, receivedOn: issued.issuedOn) }
            case .applicationRejected(let rejected):
                guard admitted(entry) else { continue }
                destinationOffice = entry.event.source.rawValue
                originOffice = entry.event.recipient.rawValue
                submittedOn = rejected.decidedOn
                reviewedOn = rejected.decidedOn
                if destination == nil { destination = DestinationCase(id: caseID, submittedOn: rejected.decidedOn) }
                applyDestination(.reviewed(.rejected(rejected.reasons), letter: nil, on: rejected.decidedOn), entry)
            case .temporaryAccountOpened(let opened):
                guard admitted(entry) else { continue }
                destinationOffice = entry.event.source.rawValue
                originOffice = entry.event.recipient.rawValue
                submittedOn = opened.openedOn
                reviewedOn = opened.openedOn
                if destination == nil { destination = DestinationCase(id: caseID, submittedOn: opened.openedOn) }
                applyDestination(.reviewed(.temporaryAccount, letter: nil, on: opened.openedOn), entry)
            case .contactLetterReturned(let returned):
                guard admitted(entry) else { continue }
                sawOriginEvent = true
                originAnswerOn = originAnswerOn ?? returned.returnedOn
                applyOrigin(.returned(returned.reasons, on: returned.returnedOn), entry)
                applyDestination(.letterReturned(returned.reasons, on: returned.returnedOn), entry)
            case .infoFormIssued(let issued):
                // A form that does not add up is refused here, as at the destination.
                guard admitted(entry) else { continue }
                sawOriginEvent = true
                originAnswerOn = originAnswerOn ?? issued.issuedOn
                if form == nil {
                    form = issued.form
                    formIssuedOn = issued.issuedOn
                }
                // A collection takes a temporary account home; a general relationship moves by transfer.
                if letter?.purpose == .collection && issued.form.accountKind != .temporary {
                    violation(
                        "collection-not-temporary", "the holder answered a collection letter with the form of a \(issued.form.accountKind.rawValue) account (O08 was due)",
                        [letterEvidence ?? "", entry.record.evidence])
                }
                applyOrigin(.formIssued(issued.form, on: issued.issuedOn), entry)
                // The destination dates receipt by its own clock; the event time stands in for it.
                applyDestination(.formReceived(issued.form, on: Auditor.businessDate(entry.event.time)), entry)
            case .fundsRemitted(let funds):
                guard admitted(entry) else { continue }
                sawOriginEvent = true
                if let earlier = remittances.first(where: { $0.id == funds.remittanceId }) {
                    violation("duplicate-effect", "remittance \(funds.remittanceId) was sent again under a new event id", [earlier.evidence, entry.record.evidence])
                    continue
                }
                if funds.supplementary, let origin, let total = origin.form?.totalRemitted {
                    // The origin owes at most ⑥ less what it has remitted, net of refunds.
                    let owed = (try? total - origin.remitted) ?? .zero
                    if funds.amount > owed {
                        violation(
                            "supplementary-above-owed",
                            "supplementary remittance \(funds.remittanceId) of \(funds.amount) exceeds what the origin still owed (⑥ \(total) less \(origin.remitted) remitted: \(owed))",
                            [entry.record.evidence])
                    }
                }
                remittances.append((funds.remittanceId, funds.amount, funds.supplementary, entry.record.evidence, entry.event.id))
                applyOrigin(funds.supplementary ? .supplementaryRemitted(funds.remittanceId, funds.amount, on: funds.valueDate) : .fundsRemitted(funds.remittanceId, funds.amount, on: funds.valueDate), entry)
                applyDestination(.fundsReceived(funds.remittanceId, funds.amount, on: Auditor.businessDate(entry.event.time)), entry)
            case .originRelationshipTerminated(let ended):
                guard admitted(entry) else { continue }
                sawOriginEvent = true
                terminated = true
                applyOrigin(.relationshipTerminated(on: ended.terminatedOn), entry)
            case .reconciliationDiscrepancyRaised(let raised):
                // Only the origin's machine takes a discrepancy; a refused one changes nothing.
                guard admitted(entry) else { continue }
                applyOrigin(.discrepancyRaised(expected: raised.expected, received: raised.received, on: raised.raisedOn), entry)
            case .excessRefunded(let refund):
                let admission = admission(entry)
                guard admission != .none else { continue }
                if refunds.contains(where: { $0.id == refund.refundId }) {
                    violation("duplicate-effect", "refund \(refund.refundId) was sent again under a new event id", [entry.record.evidence])
                    continue
                }
                refunds.append((refund.refundId, refund.amount))
                applyDestination(.excessRefunded(refund.refundId, refund.amount, on: refund.valueDate), entry)
                if admission == .both { applyOrigin(.excessRefunded(refund.refundId, refund.amount, on: refund.valueDate), entry) }
            case .transferCompleted(let completed):
                let admission = admission(entry)
                guard admission != .none else { continue }
                if completion != nil {
                    violation("duplicate-effect", "the case was completed twice under different event ids", [completedEvidence ?? "", entry.record.evidence])
                    continue
                }
                completion = completed
                completedEvidence = entry.record.evidence
                let net = try? remittances.map(\.amount).sum() - refunds.map(\.amount).sum()
                if completed.receivedTotal != net {
                    violation("money-conserved", "completion says \(completed.receivedTotal) received, the remittances net \(net?.description ?? "beyond the range of money")", [entry.record.evidence])
                }
                applyDestination(.completed(on: completed.completedOn), entry)
                if admission == .both { applyOrigin(.completed(on: completed.completedOn), entry) }
            case .paymentCertificateIssued, .relationshipReceived:
                break  // judged apart (no case between two offices)
            }
        }
        checkAfterReplay()
    }

    /// States that need an event that never appeared, and amounts that must equal ⑥.
    mutating func checkAfterReplay() {
        if let form, let first = remittances.first(where: { !$0.supplementary }), first.amount != form.totalRemitted {
            violation("remittance-equals-total", "the remittance \(first.id) is \(first.amount) but ⑥ is \(form.totalRemitted)", [first.evidence])
        }
        let isPartial = partialWindow && destination == nil
        guard !isPartial else { return }
        if destination == nil && (sawOriginEvent || completion != nil) {
            violation("lost-event", "events of the case exist but its contact letter (or review outcome) never appears", [])
        }
        let answeredWithForm = form != nil || !remittances.isEmpty || terminated
        if answeredWithForm {
            // The origin writes form, remittance and termination in one transaction.
            if form == nil { violation("lost-event", "funds or termination without the information form", remittances.map(\.evidence)) }
            if remittances.isEmpty { violation("lost-event", "an information form or termination without the remittance", []) }
            if !terminated { violation("lost-event", "form and funds without the origin's termination", remittances.map(\.evidence)) }
        }
    }

    /// Deadline checks for each step that has started.
    func deadlineChecks() -> [DeadlineCheck] {
        var checks: [DeadlineCheck] = []
        func check(_ step: String, after start: LocalDate, done: LocalDate?) {
            let deadline = auditor.calendar.adding(workingDays: 15, after: start)
            let status: DeadlineCheck.Status
            if let done { status = done <= deadline.due ? .met : .breached } else { status = auditor.asOf > deadline.due ? .breached : .pending }
            checks.append(DeadlineCheck(step: step, due: deadline.due.description, done: done?.description, status: status, provisional: deadline.provisional))
        }
        if let submittedOn { check("review", after: submittedOn, done: reviewedOn) }
        if let letter { check("originAnswer", after: letter.issuedOn, done: originAnswerOn) }
        if let matchedOn = destination?.matchedOn {
            check("completion", after: matchedOn, done: completion?.completedOn)
        }
        return checks
    }

    mutating func summary() -> CaseAudit {
        let deadlines = deadlineChecks()
        for check in deadlines where check.status == .breached {
            violation("deadline", "step \(check.step) was due \(check.due)\(check.done.map { " and done \($0)" } ?? " and is not done on \(auditor.asOf)")\(check.provisional ? " (provisional: a year without a published schedule)" : "")", letterEvidence.map { [$0] } ?? [])
        }
        let terminal = destination?.state.isTerminal ?? false
        let net = (try? remittances.map(\.amount).sum() - refunds.map(\.amount).sum())?.description ?? "out of range"
        return CaseAudit(
            caseId: caseID.description, origin: originOffice, destination: destinationOffice,
            contactLetterNo: letter?.contactLetterNo.rawValue, destinationState: destination?.state.rawValue, originState: origin?.state.rawValue,
            expected: form?.totalRemitted.description, received: net, remitted: net, terminal: terminal,
            openForDays: terminal ? nil : opening.map { auditor.asOf.daysSinceEpoch - Auditor.businessDate($0).daysSinceEpoch },
            deadlines: deadlines, partial: partialWindow && destination == nil)
    }
}
