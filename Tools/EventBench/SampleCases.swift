import EventSigning
import Foundation
import TransferDomain

/// Completed transfers from Shenzhen (440300) to Chengdu (510100) as the offices put them on the
/// wire: contact letter, information form and relationship-received with 108 months each, funds,
/// termination and completion. Case `index` has its own person, case id, letter and remittance
/// numbers, so any number of them together audit CLEAN.
struct SampleCases {
    static let origin = try! OfficeCode("440300")
    static let destination = try! OfficeCode("510100")

    let months: [ContributionMonth]
    let form: InformationForm
    let day: LocalDate

    init() throws {
        months = try (0..<108).map { offset in
            ContributionMonth(
                period: try YearMonth("2016-01").advanced(by: offset), base: try Money("8000.00"), employerRate: .percent("16"),
                personalRate: .percent("8"), placeCode: Self.origin)
        }
        form = try TransferCalculator.informationForm(months: months, pre1998Account: .zero, kind: .general, transferYear: 2025, rates: CreditingRates())
        day = try LocalDate("2025-09-26")
    }

    /// A citizen ID of its own for case `index` (born on one of 7,300 days from 1960, sequence
    /// 100-999): distinct for the first 6,570,000 cases.
    static func citizenID(_ index: Int) throws -> CitizenID {
        let birth = LocalDate(year: 1960, month: 1, day: 1)!.adding(days: index % 7300)
        let first17 = "440524" + birth.description.replacingOccurrences(of: "-", with: "") + String(format: "%03d", 100 + index / 7300)
        return try CitizenID(first17 + String(CitizenID.checkCharacter(forFirst17: first17)))
    }

    /// The six events of case `index`, each with its sender and recipient, encoded as they are sent.
    func events(_ index: Int) throws -> [(CloudEvent, [UInt8])] {
        let directory = OfficeDirectory.standard
        let (shenzhen, chengdu) = (Self.origin, Self.destination)
        let (origin, destination) = (directory[shenzhen]!, directory[chengdu]!)
        let person = PersonRef(PersonFacts(citizenID: try Self.citizenID(index), name: "Chen Jing", hukouProvince: try ProvinceCode("44")))
        let caseID = CaseID()
        let letter = ContactLetterNumber(office: chengdu, year: 2025, sequence: index + 1)
        let events: [(OfficeCode, OfficeCode, TransferEvent)] = [
            (chengdu, shenzhen, .contactLetterIssued(ContactLetterIssued(
                caseId: caseID, contactLetterNo: letter, person: person, origin: OfficeRef(origin), destination: OfficeRef(destination),
                destinationAccount: destination.account, certificateNo: nil, applicationDate: day, issuedOn: day))),
            (shenzhen, chengdu, .infoFormIssued(InfoFormIssued(caseId: caseID, contactLetterNo: letter, person: person, form: form, issuedOn: day))),
            (shenzhen, chengdu, .fundsRemitted(FundsRemitted(
                caseId: caseID, contactLetterNo: letter, remittanceId: RemittanceID(office: shenzhen, year: 2025, sequence: index + 1),
                amount: form.totalRemitted, payerAccount: origin.account, payeeAccount: destination.account, valueDate: day))),
            (shenzhen, chengdu, .originRelationshipTerminated(OriginRelationshipTerminated(
                caseId: caseID, contactLetterNo: letter, citizenId: person.citizenId, terminatedOn: day))),
            (chengdu, shenzhen, .transferCompleted(TransferCompleted(caseId: caseID, contactLetterNo: letter, receivedTotal: form.totalRemitted, completedOn: day))),
            (chengdu, chengdu, .relationshipReceived(RelationshipReceived(
                caseId: caseID, person: person, from: OfficeRef(origin), accountKind: .general, pre1998Account: .zero, months: months, completedOn: day))),
        ]
        // A second between steps: the audit orders the two offices' streams by event time where
        // causality does not (termination before completion), and times are kept to the millisecond.
        let start = Date()
        return try events.enumerated().map { step, item in
            let (source, recipient, event) = item
            let cloud = CloudEvent(source: source, recipient: recipient, time: start.addingTimeInterval(Double(step)), event: event)
            return (cloud, Array(try cloud.data()))
        }
    }
}
