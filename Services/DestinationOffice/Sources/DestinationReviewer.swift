import Foundation
import OfficeRuntime
import OfficeStorage
import TransferDomain

/// Step 2 at the destination: reviews a filed application and sends what the review decides (a
/// contact letter, a written rejection, or the notice of a temporary account), in the caller's
/// transaction. Used when an application is filed, when the certificate it waits for arrives,
/// and when that wait ends.
struct DestinationReviewer {
    let context: OfficeContext

    /// Reviews the case in `record` (submitted, or awaiting its certificate).
    /// - Parameter mayWait: the review may hold the case for the named payment certificate when
    ///   that certificate is the only thing missing (``DestinationReview/shouldWaitForCertificate(_:)``).
    /// - Returns: the case after the review (or the hold).
    /// - Parameter category: for a collection, the woman's original statutory pension age (``PensionAge/Category``).
    @discardableResult
    func review(
        _ record: inout DestinationCaseRecord, mayWait: Bool, category: PensionAge.Category = .worker, _ records: any DestinationRecords
    ) throws -> DestinationCase {
        let today = context.clock.today
        let citizen = try CitizenID(record.citizenId)
        let origin = try context.directory.office(try OfficeCode(record.origin))
        let destination = try context.directory.office(context.office)
        let person = try records.person(citizen)
        let facts = PersonFacts(citizenID: citizen, name: record.name, hukouProvince: try ProvinceCode(record.hukouProvince))
        if record.letterPurpose == .collection {
            // A collection at retirement: pension age and the claiming place decide (D01-D04 do not apply).
            let decision = ClaimingPlace.decide(places: try person.map { try claimingPlaces($0, records) } ?? [], hukouProvince: facts.hukouProvince)
            let outcome = CollectionReview.review(CollectionReview.Input(
                person: facts, category: category, holder: origin.code, claimingOffice: context.office, decision: decision,
                hasOpenCase: try records.openCases(of: citizen, origin: origin.code, excluding: record.caseId) > 0, today: today))
            return try send(outcome, &record, facts: facts, origin: origin, destination: destination, certificate: nil, purpose: .collection, records)
        }
        let open = try records.openCases(of: citizen, origin: nil, excluding: record.caseId)
        let certificates = try records.certificates(of: citizen, from: origin.code)
        let named = try record.certificateNo.map { try CertificateNumber($0) }
        let held = try named.flatMap { try records.certificate($0) }
        let heldForOther = held.map { $0.citizen != citizen.rawValue || $0.origin != origin.code.rawValue } ?? false
        let input = DestinationReview.Input(
            person: facts, origin: origin.code, destination: context.office,
            registeredOn: try person.map { try LocalDate($0.registeredOn) }, contributingHere: person?.contributing ?? false,
            receivesPension: person?.receivesPension ?? false, certificateNumber: named,
            certificatesFromOrigin: Set(certificates), certificateHeldForOther: heldForOther, hasOpenTransfer: open > 0,
            approvedTransfer: record.approvedTransfer)
        if mayWait && DestinationReview.shouldWaitForCertificate(input) {
            let until = context.calendar.adding(workingDays: TimeLimits.certificateWait, after: today).due
            let (_, held) = try records.apply(.heldForCertificate(until: until, on: today), to: &record, calendar: context.calendar)
            return held
        }
        return try send(
            DestinationReview.review(input), &record, facts: facts, origin: origin, destination: destination, certificate: input.certificateNumber,
            purpose: nil, records)
    }

    /// Sends what the review decided and records it on the case.
    private func send(
        _ outcome: DestinationReview.Outcome, _ record: inout DestinationCaseRecord, facts: PersonFacts, origin: Office,
        destination: Office, certificate: CertificateNumber?, purpose: LetterPurpose?, _ records: any DestinationRecords
    ) throws -> DestinationCase {
        let today = context.clock.today
        let caseID = try CaseID(record.caseId)
        let submittedOn = try LocalDate(record.submittedOn)
        let personRef = PersonRef(facts)
        var letter: ContactLetterNumber?
        switch outcome {
        case .contactLetter:
            let number = try DocumentSequence.next(ContactLetterNumber.self, office: context.office, year: today.year, in: records.transaction)
            letter = number
            try context.publish(
                .contactLetterIssued(ContactLetterIssued(
                    caseId: caseID, contactLetterNo: number, person: personRef, origin: OfficeRef(origin), destination: OfficeRef(destination),
                    destinationAccount: destination.account, certificateNo: certificate, applicationDate: submittedOn, issuedOn: today,
                    purpose: purpose)),
                to: origin.code, in: records.transaction)
        case .rejected(let codes):
            try context.publish(
                .applicationRejected(ApplicationRejected(
                    caseId: caseID, person: personRef, origin: OfficeRef(origin), destination: OfficeRef(destination), reasons: codes, decidedOn: today)),
                to: origin.code, in: records.transaction)
        case .temporaryAccount:
            try context.publish(
                .temporaryAccountOpened(TemporaryAccountOpened(
                    caseId: caseID, person: personRef, origin: OfficeRef(origin), destination: OfficeRef(destination), openedOn: today)),
                to: origin.code, in: records.transaction)
        }
        let (_, reviewed) = try records.apply(.reviewed(outcome, letter: letter, on: today), to: &record, calendar: context.calendar)
        return reviewed
    }

    /// The person's places as the claiming-place rules see them: the places completed transfers
    /// and collections posted here, and this office while the person contributes here.
    func claimingPlaces(_ person: DestinationPersonRecord, _ records: any DestinationRecords) throws -> [ClaimingPlace.Place] {
        var places = try records.historyPlaces(of: try CitizenID(person.citizenId)).map {
            ClaimingPlace.Place(office: try OfficeCode($0.placeCode), kind: $0.accountKind, contributionMonths: $0.months, lastContribution: try YearMonth($0.lastContribution))
        }
        let since = try YearMonth(person.contributingSince)
        let thisMonth = context.clock.today.yearMonth
        if person.contributing, since <= thisMonth {
            places.append(.init(office: context.office, kind: .general, contributionMonths: since.distance(to: thisMonth) + 1, lastContribution: thisMonth))
        }
        return places
    }

    /// Reviews the applications that wait for `certificate`, now that it has arrived.
    func certificateArrived(_ certificate: CertificateNumber, _ records: any DestinationRecords) throws {
        for var record in try records.awaitingCertificate() where record.certificateNo == certificate.rawValue {
            try review(&record, mayWait: false, records)
        }
    }

    /// Reviews the applications whose wait for their certificate has ended (D04 if it never came).
    /// - Returns: how many were reviewed.
    func endExpiredWaits(_ records: any DestinationRecords) throws -> Int {
        let today = context.clock.today
        var reviewed = 0
        for var record in try records.awaitingCertificate() {
            guard let ends = try record.domainCase().certificateWaitEnds, today > ends else { continue }
            try review(&record, mayWait: false, records)
            reviewed += 1
        }
        return reviewed
    }
}
