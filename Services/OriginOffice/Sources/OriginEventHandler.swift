import Foundation
import Logging
import OfficeRuntime
import OfficeStorage
import TransferDomain

/// The origin's side of the process (DOMAIN.md steps 3 and 4): answers contact letters, settles
/// discrepancies and closes cases.
struct OriginEventHandler: OfficeEventHandler {
    let context: OfficeContext

    func handle(_ event: CloudEvent, in transaction: any StoreTransaction) throws {
        let records = try OriginRepository.records(in: transaction)
        // Who may send what: checked against the office directory before anything is applied.
        let caseDestination = try OriginIntake.caseDestination(
            of: event.event, stored: try event.event.payload.caseID.map { try existingCase($0, records).destination }.map { try OfficeCode($0) })
        try OriginIntake.check(event.event, source: event.source, origin: context.office, caseDestination: caseDestination, directory: context.directory)
        switch event.event {
        case .contactLetterIssued(let letter):
            try answer(letter, from: event.source, records)
        case .reconciliationDiscrepancyRaised(let discrepancy):
            try settle(discrepancy, event, records)
        case .excessRefunded(let refund):
            var record = try existingCase(refund.caseId, records)
            let outcome = try records.apply(
                [.excessRefunded(refund.refundId, refund.amount, on: refund.valueDate)], to: &record,
                admitting: { try OriginIntake.checkClaim(event.event, against: $0) })[0]
            if outcome == .applied {
                try records.addRemittance(
                    RemittanceRow(remittanceId: refund.refundId, caseId: record.caseId, kind: "refundReceived", amount: refund.amount, valueDate: refund.valueDate))
            }
        case .transferCompleted(let completed):
            var record = try existingCase(completed.caseId, records)
            try records.apply([.completed(on: completed.completedOn)], to: &record, admitting: { try OriginIntake.checkClaim(event.event, against: $0) })
        case .applicationRejected(let rejected):
            try recordNotice(event, caseId: rejected.caseId, person: rejected.person.citizenId, reasons: rejected.reasons.map(\.rawValue), on: rejected.decidedOn, records)
        case .temporaryAccountOpened(let opened):
            // The origin keeps the relationship: nothing changes here but the record of it.
            try recordNotice(event, caseId: opened.caseId, person: opened.person.citizenId, reasons: opened.reasons.map(\.rawValue), on: opened.openedOn, records)
        case .relationshipReceived(let received):
            try receive(received, records)
        case .paymentCertificateIssued, .contactLetterReturned, .infoFormIssued, .fundsRemitted, .originRelationshipTerminated:
            throw DomainError("\(event.type.ceType) is written by origin offices; an origin office does not take it", code: "wrong-direction")
        }
    }

    /// What arrived stays: a relationship this office's destination role received by transfer joins
    /// the person's record here (a new person, or one who comes back), so the form for their next
    /// move carries every earlier place's months and ①. Months this office already holds keep
    /// their stored values; a person who had transferred out contributes here again.
    private func receive(_ received: RelationshipReceived, _ records: any OriginRecords) throws {
        let citizen = received.person.citizenId
        var person = try records.person(citizen) ?? PersonRecord(
            citizenId: citizen.rawValue, name: received.person.name, hukouProvince: received.person.hukouProvince.rawValue,
            status: .contributing, arrearsFen: 0, pre1998Fen: 0, receivesPension: false, accountKind: received.accountKind, transferredBy: nil,
            updatedAt: Date())
        if person.status == .transferred {
            person.status = .contributing
            person.transferredBy = nil
        }
        // ① travels with the relationship: the form's figure is the person's whole pre-1998 account.
        if received.pre1998Account != .zero { person.pre1998Fen = received.pre1998Account.fen }
        person.updatedAt = Date()
        try records.save(person)
        let held = Set(try records.monthRecords(of: citizen).map(\.period))
        let added = received.months.filter { !held.contains($0.period.description) }.map {
            MonthRecord(
                citizenId: citizen.rawValue, period: $0.period.description, baseFen: $0.base.fen, employerRate: $0.employerRate.description,
                personalRate: $0.personalRate.description, placeCode: $0.placeCode.rawValue)
        }
        try records.insert(added)
        let (logger, caseID, count) = (context.logger, received.caseId.description, added.count)
        records.transaction.afterCommit { logger.info("Relationship received by transfer kept", metadata: ["case.id": .string(caseID), "months.added": "\(count)"]) }
    }

    /// Step 3: check the letter, then either return it or, in this one transaction, issue the
    /// form, remit ⑥ and terminate the relationship.
    private func answer(_ letter: ContactLetterIssued, from destination: OfficeCode, _ records: any OriginRecords) throws {
        if try records.caseRecord(letter: letter.contactLetterNo) != nil {
            let (logger, number) = (context.logger, letter.contactLetterNo.rawValue)
            records.transaction.afterCommit { logger.info("Duplicate contact letter ignored", metadata: ["contact.letter": .string(number)]) }
            return
        }
        let today = context.clock.today
        let person = try records.person(letter.person.citizenId)
        let relationship = try person.map {
            OriginCheck.Relationship(
                citizenID: letter.person.citizenId, name: $0.name, status: $0.status, arrears: Money(fen: $0.arrearsFen),
                receivesPension: $0.receivesPension, transferredBy: try $0.transferredBy.map { try ContactLetterNumber($0) }, kind: $0.accountKind)
        }
        let outcome = OriginCheck.check(
            OriginCheck.Letter(
                number: letter.contactLetterNo, citizenID: letter.person.citizenId, name: letter.person.name,
                destinationAccount: letter.destinationAccount,
                accountInDirectory: OriginIntake.accountMatchesDirectory(letter, directory: context.directory),
                certificateMatches: try letter.certificateNo.map { try records.certificateHolder($0) == letter.person.citizenId.rawValue } ?? true,
                purpose: letter.purpose ?? .transfer),
            relationship: relationship)
        if outcome == .duplicate { return }

        var record = CaseRecord(
            caseId: letter.caseId.description, contactLetterNo: letter.contactLetterNo.rawValue,
            citizenId: letter.person.citizenId.rawValue, destination: destination.rawValue, receivedOn: today.description,
            dueOn: context.calendar.adding(workingDays: TimeLimits.originAnswer, after: today).due.description,
            state: OriginCaseState.letterReceived.rawValue, events: "[]", updatedAt: Date())
        try records.insert(record)

        switch outcome {
        case .duplicate:
            return
        case .returned(let codes):
            try records.apply(.returned(codes, on: today), to: &record)
            try context.publish(
                .contactLetterReturned(ContactLetterReturned(caseId: letter.caseId, contactLetterNo: letter.contactLetterNo, reasons: codes, returnedOn: today)),
                to: destination, in: records.transaction)
        case .transfer:
            guard var person else { return }
            let form = try TransferCalculator.informationForm(
                months: try records.months(of: letter.person.citizenId), pre1998Account: Money(fen: person.pre1998Fen),
                kind: person.accountKind, transferYear: today.year, rates: context.configuration.creditingRates)
            let remittanceID = try DocumentSequence.next(RemittanceID.self, office: context.office, year: today.year, in: records.transaction)
            try records.apply(
                [.formIssued(form, on: today), .fundsRemitted(remittanceID, form.totalRemitted, on: today), .relationshipTerminated(on: today)],
                to: &record)
            try records.addRemittance(
                RemittanceRow(remittanceId: remittanceID, caseId: record.caseId, kind: "remitted", amount: form.totalRemitted, valueDate: today))
            person.status = .transferred
            person.transferredBy = letter.contactLetterNo.rawValue
            person.updatedAt = Date()
            try records.update(person)
            let ourAccount = try context.directory.office(context.office).account
            try context.publish(
                .infoFormIssued(InfoFormIssued(caseId: letter.caseId, contactLetterNo: letter.contactLetterNo, person: letter.person, form: form, issuedOn: today)),
                to: destination, in: records.transaction)
            try context.publish(
                .fundsRemitted(FundsRemitted(
                    caseId: letter.caseId, contactLetterNo: letter.contactLetterNo, remittanceId: remittanceID, amount: form.totalRemitted,
                    payerAccount: ourAccount, payeeAccount: letter.destinationAccount, valueDate: today)),
                to: destination, in: records.transaction)
            try context.publish(
                .originRelationshipTerminated(OriginRelationshipTerminated(
                    caseId: letter.caseId, contactLetterNo: letter.contactLetterNo, citizenId: letter.person.citizenId, terminatedOn: today)),
                to: destination, in: records.transaction)
        }
    }

    /// A shortfall is answered with a supplementary remittance; an excess waits for the
    /// destination's refund. The claim is checked against this office's own form and remittances
    /// first (``OriginIntake/checkClaim(_:against:)``): what is paid is ⑥ less what was remitted,
    /// never more, and a claim that does not match those books is refused.
    private func settle(_ discrepancy: ReconciliationDiscrepancyRaised, _ event: CloudEvent, _ records: any OriginRecords) throws {
        var record = try existingCase(discrepancy.caseId, records)
        let outcome = try records.apply(
            [.discrepancyRaised(expected: discrepancy.expected, received: discrepancy.received, on: discrepancy.raisedOn)], to: &record,
            admitting: { try OriginIntake.checkClaim(event.event, against: $0) })[0]
        guard outcome == .applied, discrepancy.received < discrepancy.expected else { return }
        let today = context.clock.today
        let shortfall = try discrepancy.expected - discrepancy.received
        let remittanceID = try DocumentSequence.next(RemittanceID.self, office: context.office, year: today.year, in: records.transaction)
        try records.apply(.supplementaryRemitted(remittanceID, shortfall, on: today), to: &record)
        try records.addRemittance(RemittanceRow(remittanceId: remittanceID, caseId: record.caseId, kind: "supplementary", amount: shortfall, valueDate: today))
        let destination = try OfficeCode(record.destination)
        let ourAccount = try context.directory.office(context.office).account
        let theirAccount = try context.directory.office(destination).account
        try context.publish(
            .fundsRemitted(FundsRemitted(
                caseId: discrepancy.caseId, contactLetterNo: discrepancy.contactLetterNo, remittanceId: remittanceID, amount: shortfall,
                payerAccount: ourAccount, payeeAccount: theirAccount, valueDate: today, supplementary: true)),
            to: destination, in: records.transaction)
    }

    /// A claim of the case's destination about money that was refused: noted on the case, which
    /// then shows as needing review (the record itself goes to the dead-letter topic).
    func refused(_ event: CloudEvent, reason: String, in transaction: any StoreTransaction) throws {
        switch event.event {
        case .reconciliationDiscrepancyRaised, .excessRefunded, .transferCompleted: break
        default: return
        }
        let records = try OriginRepository.records(in: transaction)
        // Only the case's own destination can put a case up for review (anyone else's event is
        // noise a stranger could flood the list with).
        guard let caseID = event.event.payload.caseID, var record = try records.caseRecord(id: caseID), record.destination == event.source.rawValue
        else { return }
        try records.apply(.claimRefused(event: event.id.uuidString.lowercased(), reason: reason, on: context.clock.today), to: &record)
        let (logger, caseNumber, type) = (context.logger, record.caseId, event.type.rawValue)
        transaction.afterCommit {
            logger.warning(
                "A claim of the destination was refused; the case needs review",
                metadata: ["case.id": .string(caseNumber), "event.type": .string(type), "reason": .string(reason)])
        }
    }

    private func existingCase(_ id: CaseID, _ records: any OriginRecords) throws -> CaseRecord {
        guard let record = try records.caseRecord(id: id) else {
            throw DomainError("no case \(id) at origin \(context.office)", code: "unknown-case")
        }
        return record
    }

    private func recordNotice(_ event: CloudEvent, caseId: CaseID, person: CitizenID, reasons: [String], on: LocalDate, _ records: any OriginRecords) throws {
        try records.addNotice(caseId: caseId, eventType: event.type, citizen: person, reasons: reasons, receivedOn: on)
    }
}
