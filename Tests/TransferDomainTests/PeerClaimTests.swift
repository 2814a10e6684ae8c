import Foundation
import Testing
import TransferDomain

/// What a destination may claim about money, judged against the origin's own books
/// (``OriginIntake/checkClaim(_:against:)``), and which documents a peer may issue. The office and
/// the audit both call these, so these tests hold for both.
@Suite("Peer claims checked against the origin's books")
struct PeerClaimTests {
    static let form = CaseStateMachineTests.form
    static let letter = CaseStateMachineTests.letter
    static let day = CaseStateMachineTests.day
    static let remittance = CaseStateMachineTests.remittance

    /// An origin case that answered with form, `remitted` and termination.
    func answered(remitted: Money = form.totalRemitted) throws -> OriginCase {
        var origin = OriginCase(id: CaseID(), contactLetter: Self.letter, receivedOn: Self.day)
        try origin.apply(.formIssued(Self.form, on: Self.day))
        try origin.apply(.fundsRemitted(Self.remittance, remitted, on: Self.day))
        try origin.apply(.relationshipTerminated(on: Self.day))
        return origin
    }

    func discrepancy(_ origin: OriginCase, expected: Money, received: Money) throws -> TransferEvent {
        .reconciliationDiscrepancyRaised(try ReconciliationDiscrepancyRaised(
            caseId: origin.id, contactLetterNo: Self.letter, expected: expected, received: received, raisedOn: Self.day))
    }

    func reason(_ event: TransferEvent, _ origin: OriginCase) -> String? {
        do throws(DomainError) {
            try OriginIntake.checkClaim(event, against: origin)
            return nil
        } catch {
            return error.code
        }
    }

    @Test("a discrepancy must state the origin's own ⑥ and what it remitted: ten million claimed, or a shortfall already paid, is refused")
    func discrepancyAgainstBooks() throws {
        let total = Self.form.totalRemitted
        let paidInFull = try answered()
        // The hostile peer of the issue: expected 9,999,999.99, received 0.00.
        #expect(reason(try discrepancy(paidInFull, expected: try Money("9999999.99"), received: .zero), paidInFull) == "claim-mismatch")
        // A shortfall the origin's books do not show (it remitted ⑥ in full).
        #expect(reason(try discrepancy(paidInFull, expected: total, received: try total - Money(yuan: 1)), paidInFull) == "claim-mismatch")
        // No difference at all.
        #expect(reason(try discrepancy(paidInFull, expected: total, received: total), paidInFull) == "claim-mismatch")

        // The origin's first remittance was 1.00 short: that claim matches its books, and it is owed.
        let short = try total - Money(yuan: 1)
        var shortCase = try answered(remitted: short)
        let genuine = try discrepancy(shortCase, expected: total, received: short)
        #expect(reason(genuine, shortCase) == nil)
        try shortCase.apply(.discrepancyRaised(expected: total, received: short, on: Self.day))
        try shortCase.apply(.supplementaryRemitted(RemittanceID(office: Fixtures.shenzhen, year: 2026, sequence: 2), Money(yuan: 1), on: Self.day))
        // The same claim again under a new event id: the books now say ⑥ was remitted.
        #expect(reason(genuine, shortCase) == "claim-mismatch")
    }

    @Test("a refund no discrepancy asked for, or above the excess, is refused; a completion must name what the origin remitted")
    func refundsAndCompletion() throws {
        let total = Self.form.totalRemitted
        let chengdu = OfficeDirectory.standard[Fixtures.chengdu]!
        let shenzhen = OfficeDirectory.standard[Fixtures.shenzhen]!
        func refund(_ origin: OriginCase, _ amount: Money) -> TransferEvent {
            .excessRefunded(ExcessRefunded(
                caseId: origin.id, contactLetterNo: Self.letter, refundId: RemittanceID(office: Fixtures.chengdu, year: 2026, sequence: 3), amount: amount,
                payerAccount: chengdu.account, payeeAccount: shenzhen.account, valueDate: Self.day))
        }
        let paidInFull = try answered()
        #expect(reason(refund(paidInFull, Money(yuan: 5)), paidInFull) == "refund-not-owed", "nothing was remitted beyond ⑥")

        var over = try answered(remitted: try total + Money(fen: 50))
        #expect(reason(refund(over, Money(fen: 50)), over) == "refund-not-owed", "no discrepancy asked for it yet")
        try over.apply(.discrepancyRaised(expected: total, received: try total + Money(fen: 50), on: Self.day))
        #expect(reason(refund(over, Money(fen: 51)), over) == "refund-not-owed", "above the excess")
        #expect(reason(refund(over, Money(fen: 50)), over) == nil)

        func completion(_ origin: OriginCase, _ received: Money) -> TransferEvent {
            .transferCompleted(TransferCompleted(caseId: origin.id, contactLetterNo: Self.letter, receivedTotal: received, completedOn: Self.day))
        }
        #expect(reason(completion(paidInFull, .zero), paidInFull) == "claim-mismatch")
        #expect(reason(completion(paidInFull, total), paidInFull) == nil)
        let short = try answered(remitted: try total - Money(fen: 1))
        #expect(reason(completion(short, try total - Money(fen: 1)), short) == "claim-mismatch", "not before ⑥ was remitted in full")
        let unanswered = OriginCase(id: CaseID(), contactLetter: Self.letter, receivedOn: Self.day)
        #expect(reason(completion(unanswered, .zero), unanswered) == "claim-mismatch", "no form issued")
        var otherLetter = completion(paidInFull, total)
        if case .transferCompleted(var completed) = otherLetter {
            completed.contactLetterNo = ContactLetterNumber(office: Fixtures.chengdu, year: 2026, sequence: 99)
            otherLetter = .transferCompleted(completed)
        }
        #expect(reason(otherLetter, paidInFull) == "contact-letter-mismatch")
    }

    @Test("documents are the sender's own: a certificate naming or numbered by another origin, a remittance or refund id of another office")
    func documentIssuers() throws {
        let shenzhen = OfficeDirectory.standard[Fixtures.shenzhen]!
        let chengdu = OfficeDirectory.standard[Fixtures.chengdu]!
        let hangzhou = Fixtures.hangzhou
        let person = PersonRef(PersonFacts(citizenID: Fixtures.citizenID(birth: "19850310", sequence: "013"), name: "Li Wei", hukouProvince: try ProvinceCode("44")))
        let genuine = PaymentCertificateIssued(
            certificateNo: CertificateNumber(office: Fixtures.shenzhen, year: 2026, sequence: 1), person: person, origin: OfficeRef(shenzhen),
            insuredFrom: try YearMonth("2020-01"), insuredTo: try YearMonth("2025-12"), monthsPaid: 72, individualAccountBalance: try Money("1000.00"),
            issuedOn: Self.day)
        func refusal(_ certificate: PaymentCertificateIssued, from source: OfficeCode) -> String? {
            do throws(DomainError) {
                try DestinationIntake.checkCertificate(certificate, source: source)
                return nil
            } catch {
                return error.code
            }
        }
        #expect(refusal(genuine, from: Fixtures.shenzhen) == nil)
        #expect(refusal(genuine, from: hangzhou) == "not-issuer", "Hangzhou signing a certificate in Shenzhen's name and numbering")
        var ownNumberOtherOrigin = genuine
        ownNumberOtherOrigin.certificateNo = CertificateNumber(office: hangzhou, year: 2026, sequence: 1)
        #expect(refusal(ownNumberOtherOrigin, from: hangzhou) == "not-issuer", "names Shenzhen as origin")
        #expect(DestinationIntake.sameCertificate(genuine, citizen: Fixtures.citizenID(birth: "19850310", sequence: "013"), origin: Fixtures.shenzhen, issuedOn: Self.day))
        #expect(!DestinationIntake.sameCertificate(genuine, citizen: Fixtures.citizenID(birth: "19860411", sequence: "015"), origin: Fixtures.shenzhen, issuedOn: Self.day))

        // A remittance numbered by another office than the case's origin.
        let funds = TransferEvent.fundsRemitted(FundsRemitted(
            caseId: CaseID(), contactLetterNo: Self.letter, remittanceId: RemittanceID(office: hangzhou, year: 2026, sequence: 1), amount: Money(yuan: 1),
            payerAccount: shenzhen.account, payeeAccount: chengdu.account, valueDate: Self.day))
        #expect(throws: DomainError.self) {
            try DestinationIntake.check(funds, source: Fixtures.shenzhen, caseOrigin: Fixtures.shenzhen, caseLetter: Self.letter, destination: Fixtures.chengdu)
        }
        // A refund numbered by another office than the case's destination.
        let refund = TransferEvent.excessRefunded(ExcessRefunded(
            caseId: CaseID(), contactLetterNo: Self.letter, refundId: RemittanceID(office: Fixtures.shenzhen, year: 2026, sequence: 4), amount: Money(yuan: 1),
            payerAccount: chengdu.account, payeeAccount: shenzhen.account, valueDate: Self.day))
        do throws(DomainError) {
            try OriginIntake.check(refund, source: Fixtures.chengdu, origin: Fixtures.shenzhen, caseDestination: Fixtures.chengdu)
            Issue.record("a refund in the origin's own numbering was taken")
        } catch {
            #expect(error.code == "not-issuer")
        }
    }
}
