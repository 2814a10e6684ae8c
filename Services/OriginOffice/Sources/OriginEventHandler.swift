import Foundation
import GRDB
import Logging
import OfficeRuntime
import TransferDomain

/// The origin's side of the process (DOMAIN.md steps 3 and 4): answers contact letters, settles
/// discrepancies and closes cases.
struct OriginEventHandler: OfficeEventHandler {
    let context: OfficeContext

    func handle(_ event: CloudEvent, in db: Database) throws {
        // Who may send what: checked against the office directory before anything is applied.
        let caseDestination: OfficeCode?
        switch event.event {
        case .contactLetterIssued: caseDestination = nil
        case .applicationRejected(let rejected): caseDestination = rejected.destination.code
        case .temporaryAccountOpened(let opened): caseDestination = opened.destination.code
        default: caseDestination = try event.event.payload.caseID.map { try existingCase($0, db).destination }.map { try OfficeCode($0) }
        }
        try OriginIntake.check(event.event, source: event.source, origin: context.office, caseDestination: caseDestination, directory: context.directory)
        switch event.event {
        case .contactLetterIssued(let letter):
            try answer(letter, from: event.source, db)
        case .reconciliationDiscrepancyRaised(let discrepancy):
            try settle(discrepancy, db)
        case .excessRefunded(let refund):
            var record = try existingCase(refund.caseId, db)
            if try OriginStore.apply(.excessRefunded(refund.refundId, refund.amount, on: refund.valueDate), to: &record, db) == .applied {
                try db.execute(
                    sql: "INSERT INTO remittance (remittanceId, caseId, kind, amountFen, valueDate) VALUES (?, ?, 'refundReceived', ?, ?)",
                    arguments: [refund.refundId.rawValue, record.caseId, refund.amount.fen, refund.valueDate.description])
            }
        case .transferCompleted(let completed):
            var record = try existingCase(completed.caseId, db)
            try OriginStore.apply(.completed(on: completed.completedOn), to: &record, db)
        case .applicationRejected(let rejected):
            try recordNotice(event, caseId: rejected.caseId, person: rejected.person.citizenId, reasons: rejected.reasons.map(\.rawValue), on: rejected.decidedOn, db)
        case .temporaryAccountOpened(let opened):
            // The origin keeps the relationship: nothing changes here but the record of it.
            try recordNotice(event, caseId: opened.caseId, person: opened.person.citizenId, reasons: opened.reasons.map(\.rawValue), on: opened.openedOn, db)
        case .paymentCertificateIssued, .contactLetterReturned, .infoFormIssued, .fundsRemitted, .originRelationshipTerminated:
            throw DomainError("\(event.type.ceType) is written by origin offices; an origin office does not take it", code: "wrong-direction")
        }
    }

    /// Step 3: check the letter, then either return it or, in this one transaction, issue the
    /// form, remit ⑥ and terminate the relationship.
    private func answer(_ letter: ContactLetterIssued, from destination: OfficeCode, _ db: Database) throws {
        if try OriginStore.caseRecord(letter: letter.contactLetterNo, db) != nil {
            context.logger.info("Duplicate contact letter ignored", metadata: ["contact.letter": .string(letter.contactLetterNo.rawValue)])
            return
        }
        let today = context.clock.today
        let person = try OriginStore.person(letter.person.citizenId, db)
        let relationship = try person.map {
            OriginCheck.Relationship(
                citizenID: letter.person.citizenId, name: $0.name, status: $0.status, arrears: Money(fen: $0.arrearsFen),
                receivesPension: $0.receivesPension, transferredBy: try $0.transferredBy.map { try ContactLetterNumber($0) })
        }
        let outcome = OriginCheck.check(
            OriginCheck.Letter(
                number: letter.contactLetterNo, citizenID: letter.person.citizenId, name: letter.person.name,
                destinationAccount: letter.destinationAccount,
                accountInDirectory: OriginIntake.accountMatchesDirectory(letter, directory: context.directory)),
            relationship: relationship)
        if outcome == .duplicate { return }

        var record = CaseRecord(
            caseId: letter.caseId.description, contactLetterNo: letter.contactLetterNo.rawValue,
            citizenId: letter.person.citizenId.rawValue, destination: destination.rawValue, receivedOn: today.description,
            dueOn: context.calendar.adding(workingDays: TimeLimits.originAnswer, after: today).due.description,
            state: OriginCaseState.letterReceived.rawValue, events: "[]", updatedAt: Date())
        try record.insert(db)

        switch outcome {
        case .duplicate:
            return
        case .returned(let codes):
            try OriginStore.apply(.returned(codes, on: today), to: &record, db)
            try context.publish(
                .contactLetterReturned(ContactLetterReturned(caseId: letter.caseId, contactLetterNo: letter.contactLetterNo, reasons: codes, returnedOn: today)),
                to: destination, in: db)
        case .transfer:
            guard var person else { return }
            let form = try TransferCalculator.informationForm(
                months: try OriginStore.months(letter.person.citizenId, db), pre1998Account: Money(fen: person.pre1998Fen),
                kind: person.accountKind, transferYear: today.year, rates: context.configuration.creditingRates)
            let remittanceID = try DocumentSequence.next(RemittanceID.self, office: context.office, year: today.year, in: db)
            try OriginStore.apply(
                [.formIssued(form, on: today), .fundsRemitted(remittanceID, form.totalRemitted, on: today), .relationshipTerminated(on: today)],
                to: &record, db)
            try db.execute(
                sql: "INSERT INTO remittance (remittanceId, caseId, kind, amountFen, valueDate) VALUES (?, ?, 'remitted', ?, ?)",
                arguments: [remittanceID.rawValue, record.caseId, form.totalRemitted.fen, today.description])
            person.status = .transferred
            person.transferredBy = letter.contactLetterNo.rawValue
            person.updatedAt = Date()
            try person.update(db)
            let ourAccount = try context.directory.office(context.office).account
            try context.publish(
                .infoFormIssued(InfoFormIssued(caseId: letter.caseId, contactLetterNo: letter.contactLetterNo, person: letter.person, form: form, issuedOn: today)),
                to: destination, in: db)
            try context.publish(
                .fundsRemitted(FundsRemitted(
                    caseId: letter.caseId, contactLetterNo: letter.contactLetterNo, remittanceId: remittanceID, amount: form.totalRemitted,
                    payerAccount: ourAccount, payeeAccount: letter.destinationAccount, valueDate: today)),
                to: destination, in: db)
            try context.publish(
                .originRelationshipTerminated(OriginRelationshipTerminated(
                    caseId: letter.caseId, contactLetterNo: letter.contactLetterNo, citizenId: letter.person.citizenId, terminatedOn: today)),
                to: destination, in: db)
        }
    }

    /// A shortfall is answered with a supplementary remittance; an excess waits for the
    /// destination's refund.
    private func settle(_ discrepancy: ReconciliationDiscrepancyRaised, _ db: Database) throws {
        var record = try existingCase(discrepancy.caseId, db)
        let outcome = try OriginStore.apply(
            .discrepancyRaised(expected: discrepancy.expected, received: discrepancy.received, on: discrepancy.raisedOn), to: &record, db)
        guard outcome == .applied, discrepancy.received < discrepancy.expected else { return }
        let today = context.clock.today
        let shortfall = try discrepancy.expected - discrepancy.received
        let remittanceID = try DocumentSequence.next(RemittanceID.self, office: context.office, year: today.year, in: db)
        try OriginStore.apply(.supplementaryRemitted(remittanceID, shortfall, on: today), to: &record, db)
        try db.execute(
            sql: "INSERT INTO remittance (remittanceId, caseId, kind, amountFen, valueDate) VALUES (?, ?, 'supplementary', ?, ?)",
            arguments: [remittanceID.rawValue, record.caseId, shortfall.fen, today.description])
        let destination = try OfficeCode(record.destination)
        let ourAccount = try context.directory.office(context.office).account
        let theirAccount = try context.directory.office(destination).account
        try context.publish(
            .fundsRemitted(FundsRemitted(
                caseId: discrepancy.caseId, contactLetterNo: discrepancy.contactLetterNo, remittanceId: remittanceID, amount: shortfall,
                payerAccount: ourAccount, payeeAccount: theirAccount, valueDate: today, supplementary: true)),
            to: destination, in: db)
    }

    private func existingCase(_ id: CaseID, _ db: Database) throws -> CaseRecord {
        guard let record = try OriginStore.caseRecord(id: id, db) else {
            throw DomainError("no case \(id) at origin \(context.office)", code: "unknown-case")
        }
        return record
    }

    private func recordNotice(_ event: CloudEvent, caseId: CaseID, person: CitizenID, reasons: [String], on: LocalDate, _ db: Database) throws {
        try db.execute(
            sql: "INSERT INTO notice (caseId, eventType, citizenId, reasons, receivedOn) VALUES (?, ?, ?, ?, ?)",
            arguments: [caseId.description, event.type.rawValue, person.rawValue, reasons.joined(separator: ","), on.description])
    }
}
