import Testing
import TransferDomain

@Suite("Review rules, origin checks and the claiming place")
struct RuleTests {
    /// A Sichuan-hukou person moving from Shenzhen to Hangzhou unless stated otherwise.
    static func input(
        birth: String = "19850310", sequence: String = "013", hukou: String = "51", origin: String = "440300",
        destination: String = "330100", registeredOn: String? = "2026-03-01", contributing: Bool = true,
        pension: Bool = false, certificate: String? = nil, known: [String] = [], open: Bool = false, approved: Bool = false
    ) -> DestinationReview.Input {
        DestinationReview.Input(
            person: PersonFacts(
                citizenID: Fixtures.citizenID(birth: birth, sequence: sequence), name: "Test Person",
                hukouProvince: try! ProvinceCode(hukou)),
            origin: Fixtures.office(origin), destination: Fixtures.office(destination),
            registeredOn: registeredOn.map(Fixtures.date), contributingHere: contributing, receivesPension: pension,
            certificateNumber: certificate.map { try! CertificateNumber($0) },
            certificatesFromOrigin: Set(known.map { try! CertificateNumber($0) }), hasOpenTransfer: open,
            approvedTransfer: approved)
    }

    @Test("an eligible applicant gets a contact letter")
    func eligible() {
        #expect(DestinationReview.review(Self.input()) == .contactLetter)
    }

    @Test("each D code rejects with its code", arguments: [
        (RuleTests.input(registeredOn: nil), ReviewCode.notContributingHere),
        (RuleTests.input(contributing: false), .notContributingHere),
        (RuleTests.input(pension: true), .receivesPension),
        (RuleTests.input(certificate: "PC-440300-2026-000001", known: ["PC-440300-2026-000002"]), .certificateMismatch),
        (RuleTests.input(open: true), .transferAlreadyOpen),
        (RuleTests.input(origin: "440100", destination: "440300"), .sameProvince),
    ])
    func rejections(input: DestinationReview.Input, code: ReviewCode) {
        #expect(DestinationReview.review(input) == .rejected([code]))
    }

    @Test("all applicable codes are reported together, sorted")
    func several() {
        #expect(DestinationReview.review(Self.input(pension: true, open: true)) == .rejected([.receivesPension, .transferAlreadyOpen]))
    }

    @Test("a certificate number that matches one the origin issued passes")
    func certificateMatches() {
        #expect(DestinationReview.review(Self.input(certificate: "PC-440300-2026-000001", known: ["PC-440300-2026-000001"])) == .contactLetter)
    }

    @Test("temporary-account rule boundaries: men at 50, women at 40, on the registration date", arguments: [
        // man born 1976-03-01: 49 on 2026-02-28, 50 on 2026-03-01
        ("19760301", "013", "2026-02-28", false),
        ("19760301", "013", "2026-03-01", true),
        // woman born 1986-03-01: 39 the day before, 40 on the day
        ("19860301", "024", "2026-02-28", false),
        ("19860301", "024", "2026-03-01", true),
        // a 45-year-old man is under the men's threshold
        ("19810101", "013", "2026-03-01", false),
    ])
    func temporaryAccountAges(birth: String, sequence: String, registered: String, temporary: Bool) {
        let outcome = DestinationReview.review(Self.input(birth: birth, sequence: sequence, registeredOn: registered))
        #expect(outcome == (temporary ? .temporaryAccount : .contactLetter))
    }

    @Test("returning to the hukou province, or an approved transfer, escapes the temporary-account rule")
    func temporaryAccountExceptions() {
        // 55-year-old man, hukou Zhejiang (33), moving to Hangzhou: a return home.
        #expect(DestinationReview.review(Self.input(birth: "19710101", hukou: "33")) == .contactLetter)
        // Same man with a Sichuan hukou: temporary account; with an approved transfer: a letter.
        #expect(DestinationReview.review(Self.input(birth: "19710101")) == .temporaryAccount)
        #expect(DestinationReview.review(Self.input(birth: "19710101", approved: true)) == .contactLetter)
        // A rejection wins over the temporary-account outcome.
        #expect(DestinationReview.review(Self.input(birth: "19710101", open: true)) == .rejected([.transferAlreadyOpen]))
    }

    // MARK: Origin checks

    static let person = Fixtures.citizenID(birth: "19850310", sequence: "013")
    static let letter = OriginCheck.Letter(
        number: ContactLetterNumber(office: Fixtures.hangzhou, year: 2026, sequence: 1), citizenID: person, name: "Test Person",
        destinationAccount: OfficeDirectory.standard[Fixtures.hangzhou]!.account)

    static func relationship(
        status: RelationshipStatus = .suspended, arrears: String = "0.00", pension: Bool = false,
        transferredBy: ContactLetterNumber? = nil, name: String = "Test Person"
    ) -> OriginCheck.Relationship {
        OriginCheck.Relationship(
            citizenID: person, name: name, status: status, arrears: Fixtures.money(arrears), receivesPension: pension,
            transferredBy: transferredBy)
    }

    @Test("a suspended relationship with no arrears transfers")
    func originTransfers() {
        #expect(OriginCheck.check(Self.letter, relationship: Self.relationship()) == .transfer)
    }

    @Test("each O code returns the letter with its code", arguments: [
        (RuleTests.relationship(status: .contributing), ReturnCode.stillContributing),
        (RuleTests.relationship(arrears: "120.00"), .arrearsOutstanding),
        (RuleTests.relationship(name: "Someone Else"), .personMismatch),
        (RuleTests.relationship(status: .transferred, transferredBy: ContactLetterNumber(office: Fixtures.chengdu, year: 2025, sequence: 9)), .alreadyTerminated),
        (RuleTests.relationship(status: .retired), .receivesPension),
        (RuleTests.relationship(pension: true), .receivesPension),
    ])
    func returns(relationship: OriginCheck.Relationship, code: ReturnCode) {
        #expect(OriginCheck.check(Self.letter, relationship: relationship) == .returned([code]))
    }

    @Test("no such person is O03; bad bank details O07; the same letter again is a duplicate")
    func originSpecialCases() {
        #expect(OriginCheck.check(Self.letter, relationship: nil) == .returned([.personMismatch]))
        var badBank = Self.letter
        badBank.destinationAccount.accountNumber = "12"
        #expect(OriginCheck.check(badBank, relationship: Self.relationship()) == .returned([.bankDetailsInvalid]))
        let answered = Self.relationship(status: .transferred, transferredBy: Self.letter.number)
        #expect(OriginCheck.check(Self.letter, relationship: answered) == .duplicate)
    }

    // MARK: Claiming place

    static func place(_ office: String, _ kind: AccountKind = .general, months: Int, last: String) -> ClaimingPlace.Place {
        ClaimingPlace.Place(office: Fixtures.office(office), kind: kind, contributionMonths: months, lastContribution: Fixtures.month(last))
    }

    @Test("claiming place: hukou first, then current with 10 years, then earlier with 10 years, else hukou province")
    func claimingPlace() {
        let sichuan = Fixtures.sichuan
        // 1. The general relationship is now in the hukou province: it wins, even with few years.
        #expect(ClaimingPlace.decide(
            places: [Self.place("440300", months: 200, last: "2020-10"), Self.place("510100", months: 24, last: "2026-10")],
            hukouProvince: sichuan) == .hukouPlace(Fixtures.chengdu))
        // An early spell in the hukou province does not make it the claiming place once the
        // relationship has moved on (2009 No. 66 Art. 6): the current place with 10 years wins.
        #expect(ClaimingPlace.decide(
            places: [Self.place("510100", months: 24, last: "2010-12"), Self.place("440300", months: 200, last: "2026-10")],
            hukouProvince: sichuan) == .currentPlace(Fixtures.shenzhen))
        // 2. Otherwise the current place with 10 years or more.
        #expect(ClaimingPlace.decide(
            places: [Self.place("330100", months: 130, last: "2026-10"), Self.place("440300", months: 150, last: "2015-12")],
            hukouProvince: sichuan) == .currentPlace(Fixtures.hangzhou))
        // 3. Otherwise the most recent earlier place with 10 years or more.
        #expect(ClaimingPlace.decide(
            places: [
                Self.place("330100", months: 60, last: "2026-10"), Self.place("440300", months: 150, last: "2020-12"),
                Self.place("110000", months: 121, last: "2010-12"),
            ],
            hukouProvince: sichuan) == .earlierPlace(Fixtures.shenzhen))
        // Spells at one place are summed: 60 + 70 months in Hangzhou are more than 10 years.
        #expect(ClaimingPlace.decide(
            places: [
                Self.place("330100", months: 60, last: "2012-12"), Self.place("440300", months: 36, last: "2015-12"),
                Self.place("330100", months: 70, last: "2026-10"),
            ],
            hukouProvince: sichuan) == .currentPlace(Fixtures.hangzhou))
        // 4. Otherwise the hukou province. Temporary accounts never qualify.
        let fallback = ClaimingPlace.decide(
            places: [Self.place("330100", .temporary, months: 200, last: "2026-10"), Self.place("440300", months: 100, last: "2020-12")],
            hukouProvince: sichuan)
        #expect(fallback == .hukouProvince(sichuan))
        #expect(fallback.rule == 4)
    }
}
