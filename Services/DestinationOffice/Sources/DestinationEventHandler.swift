import Foundation
import Logging
import OfficeRuntime
import OfficeStorage
import TransferDomain

/// The destination's side of the process (DOMAIN.md step 4): tracks form and funds in either
/// order, posts each remittance once, completes on an exact match, raises discrepancies and
/// refunds excesses.
struct DestinationEventHandler: OfficeEventHandler {
    let context: OfficeContext

    func handle(_ event: CloudEvent, in transaction: any StoreTransaction) throws {
        let records = try DestinationRepository.records(in: transaction)
        switch event.event {
        case .paymentCertificateIssued(let certificate):
            // Only the origin that issued a certificate may send it, in its own numbering; a number
            // already held for other content is another document under the same number, refused.
            try DestinationIntake.checkCertificate(certificate, source: event.source)
            if let held = try records.certificate(certificate.certificateNo) {
                guard DestinationIntake.sameCertificate(
                    certificate, citizen: try CitizenID(held.citizen), origin: try OfficeCode(held.origin), issuedOn: try LocalDate(held.issuedOn))
                else {
                    throw DomainError(
                        "payment certificate \(certificate.certificateNo) is already held for other content (another person, origin or date)",
                        code: "conflicting-document")
                }
                return
            }
            try records.addCertificate(
                certificate.certificateNo, citizen: certificate.person.citizenId, origin: certificate.origin.code, issuedOn: certificate.issuedOn)
            try DestinationReviewer(context: context).certificateArrived(certificate.certificateNo, records)
        case .contactLetterReturned(let returned):
            var record = try admittedCase(returned.caseId, event, records)
            try records.apply(.letterReturned(returned.reasons, on: returned.returnedOn), to: &record, calendar: context.calendar)
        case .infoFormIssued(let issued):
            var record = try admittedCase(issued.caseId, event, records)
            // Received today: the completion deadline counts from the day the later of form and
            // funds reached this office.
            let (outcome, domain) = try records.apply(.formReceived(issued.form, on: context.clock.today), to: &record, calendar: context.calendar)
            if outcome == .applied { try afterReconciliation(domain, &record, records) }
        case .fundsRemitted(let funds):
            var record = try admittedCase(funds.caseId, event, records)
            let (outcome, domain) = try records.apply(
                .fundsReceived(funds.remittanceId, funds.amount, on: context.clock.today), to: &record, calendar: context.calendar)
            guard outcome == .applied else { return }
            try records.addRemittance(
                RemittanceRow(remittanceId: funds.remittanceId, caseId: record.caseId, kind: "received", amount: funds.amount, valueDate: funds.valueDate))
            try afterReconciliation(domain, &record, records)
        case .originRelationshipTerminated(let terminated):
            var record = try admittedCase(terminated.caseId, event, records)
            if record.originTerminatedOn == nil {
                record.originTerminatedOn = terminated.terminatedOn.description
                try records.update(record)
            }
        case .contactLetterIssued, .applicationRejected, .temporaryAccountOpened, .reconciliationDiscrepancyRaised, .excessRefunded,
            .transferCompleted, .relationshipReceived:
            throw DomainError("\(event.type.ceType) is written by destination offices; a destination office does not take it", code: "wrong-direction")
        }
    }

    /// After form or funds: complete on a match; otherwise raise the discrepancy, refunding an
    /// excess at once (a shortfall waits for the origin's supplementary remittance).
    private func afterReconciliation(_ domain: DestinationCase, _ record: inout DestinationCaseRecord, _ records: any DestinationRecords) throws {
        let origin = try OfficeCode(record.origin)
        guard let letter = domain.contactLetter, let expected = domain.expected else { return }
        var current = domain
        if current.state == .discrepancy {
            let today = context.clock.today
            try context.publish(
                .reconciliationDiscrepancyRaised(ReconciliationDiscrepancyRaised(
                    caseId: current.id, contactLetterNo: letter, expected: expected, received: current.received, raisedOn: today)),
                to: origin, in: records.transaction)
            if current.received > expected {
                let excess = try current.received - expected
                let refundID = try DocumentSequence.next(RemittanceID.self, office: context.office, year: today.year, in: records.transaction)
                (_, current) = try records.apply(.excessRefunded(refundID, excess, on: today), to: &record, from: current, calendar: context.calendar)
                try records.addRemittance(RemittanceRow(remittanceId: refundID, caseId: record.caseId, kind: "refunded", amount: excess, valueDate: today))
                try context.publish(
                    .excessRefunded(ExcessRefunded(
                        caseId: current.id, contactLetterNo: letter, refundId: refundID, amount: excess,
                        payerAccount: try context.directory.office(context.office).account,
                        payeeAccount: try context.directory.office(origin).account, valueDate: today)),
                    to: origin, in: records.transaction)
            }
        }
        if current.state == .matched {
            try complete(current, letter: letter, origin: origin, &record, records)
        }
    }

    /// Posts the origin's ledger to the person's history (contribution periods accumulate),
    /// completes the case and tells the origin.
    private func complete(
        _ domain: DestinationCase, letter: ContactLetterNumber, origin: OfficeCode, _ record: inout DestinationCaseRecord, _ records: any DestinationRecords
    ) throws {
        let today = context.clock.today
        guard let form = domain.form else { return }
        try records.apply(.completed(on: today), to: &record, from: domain, calendar: context.calendar)
        // Each place keeps its own months (a year split between two places credits each its
        // part) and its real last month of contribution. With the form's months, a month this
        // office already holds from elsewhere is cleared instead of counted twice.
        var places: [(place: OfficeCode, months: Int, last: YearMonth)] = []
        func count(_ place: OfficeCode, _ months: Int, last: YearMonth) {
            if let index = places.firstIndex(where: { $0.place == place }) {
                places[index].months += months
                places[index].last = max(places[index].last, last)
            } else {
                places.append((place, months, last))
            }
        }
        if let months = form.months {
            let outcome = try clearing(months, citizen: try CitizenID(record.citizenId), records)
            // What arrived stays: the office's own origin role keeps the credited months (and ①)
            // in the person's record, so the next move carries them on.
            try context.publish(
                .relationshipReceived(RelationshipReceived(
                    caseId: domain.id, person: PersonRef(PersonFacts(citizenID: try CitizenID(record.citizenId), name: record.name, hukouProvince: try ProvinceCode(record.hukouProvince))),
                    from: OfficeRef(try context.directory.office(origin)),
                    // A collected temporary account joins the claiming place's general relationship.
                    accountKind: record.letterPurpose == .collection ? .general : form.accountKind, pre1998Account: form.pre1998Account,
                    months: outcome.credited, completedOn: today)),
                to: context.office, in: records.transaction)
            for month in outcome.credited {
                count(month.placeCode, 1, last: month.period)
                try records.addHistoryMonth(
                    HistoryMonthRecord(
                        period: month.period.description, placeCode: month.placeCode.rawValue, status: "credited", keptAt: nil,
                        returnedFen: 0, sourceCaseId: record.caseId),
                    citizen: record.citizenId)
            }
            for cleared in outcome.cleared {
                try records.addHistoryMonth(
                    HistoryMonthRecord(
                        period: cleared.month.period.description, placeCode: cleared.month.placeCode.rawValue, status: "cleared",
                        keptAt: cleared.keptAt.rawValue, returnedFen: cleared.returned.fen, sourceCaseId: record.caseId),
                    citizen: record.citizenId)
            }
        } else {
            for row in form.ledger {
                for part in row.placeMonths { count(part.placeCode, part.months, last: part.lastMonth) }
            }
        }
        for place in places where place.months > 0 {
            try records.addHistoryPlace(
                HistoryPlaceRecord(placeCode: place.place.rawValue, accountKind: form.accountKind, months: place.months, lastContribution: place.last.description),
                citizen: record.citizenId, sourceCase: record.caseId)
        }
        try context.publish(
            .transferCompleted(TransferCompleted(caseId: domain.id, contactLetterNo: letter, receivedTotal: domain.received, completedOn: today)),
            to: origin, in: records.transaction)
        let (logger, caseID, amount) = (context.logger, record.caseId, domain.received.description)
        records.transaction.afterCommit { logger.info("Transfer completed", metadata: ["case.id": .string(caseID), "amount": .string(amount)]) }
    }

    /// Sets a form's months against what this office holds for the person: their own months here
    /// (from `contributingSince` to this month while they contribute) and the months earlier
    /// transfers credited (``PeriodClearing``).
    private func clearing(_ months: [ContributionMonth], citizen: CitizenID, _ records: any DestinationRecords) throws -> PeriodClearing.Outcome {
        var held: [YearMonth: OfficeCode] = [:]
        if let person = try records.person(citizen), person.contributing {
            held = PeriodClearing.ownMonths(at: context.office, since: try YearMonth(person.contributingSince), through: context.clock.today.yearMonth)
        }
        for month in try records.historyMonths(of: citizen) where month.status == "credited" {
            let period = try YearMonth(month.period)
            if held[period] == nil { held[period] = try OfficeCode(month.placeCode) }
        }
        return try PeriodClearing.clear(months, held: held)
    }

    /// The case `id`, once the event passed the intake checks the audit applies too
    /// (``DestinationIntake``): from the case's origin, naming the case's letter, a form that adds up.
    private func admittedCase(_ id: CaseID, _ event: CloudEvent, _ records: any DestinationRecords) throws -> DestinationCaseRecord {
        guard let record = try records.caseRecord(id) else {
            throw DomainError("no case \(id) at destination \(context.office)", code: "unknown-case")
        }
        try DestinationIntake.check(
            event.event, source: event.source, caseOrigin: try OfficeCode(record.origin),
            caseLetter: try record.contactLetterNo.map { try ContactLetterNumber($0) }, destination: context.office, directory: context.directory)
        return record
    }
}
