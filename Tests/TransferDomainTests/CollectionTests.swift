import Testing
import TransferDomain

/// Issue 24, item 5: temporary accounts collected at retirement. Regulations: MOHRSS 2009 No. 66
/// (Art. 6 the claiming place, Art. 7 temporary accounts collected to it), and the Standing
/// Committee of the NPC's decision of 13 September 2024 on the gradual rise of the statutory
/// pension age (from 1 January 2025).
@Suite("Temporary accounts collected at retirement: pension age, the collection review, the holder's check")
struct CollectionTests {
    @Test("pension age follows the 2024 schedule: the official table's first and last steps, and the month-end birthday", arguments: [
        // men: 60 before 1965; one month later per four months of birth from 1965-01; 63 from 1976-09
        ("19641215", "013", PensionAge.Category.worker, "2024-12-15"),
        ("19650110", "013", .worker, "2025-02-10"),
        ("19650410", "013", .worker, "2025-05-10"),
        ("19650501", "013", .worker, "2025-07-01"),
        ("19760901", "013", .worker, "2039-09-01"),
        ("19800601", "013", .worker, "2043-06-01"),
        ("19650131", "013", .worker, "2025-02-28"),
        // women whose age was 50: one month later per two months of birth from 1975-01; 55 from 1984-11
        ("19741201", "024", .worker, "2024-12-01"),
        ("19750101", "024", .worker, "2025-02-01"),
        ("19750301", "024", .worker, "2025-05-01"),
        ("19841101", "024", .worker, "2039-11-01"),
        // women whose age was 55: as men, from 1970-01, up to 58
        ("19700101", "024", .staff, "2025-02-01"),
        ("19810901", "024", .staff, "2039-09-01"),
        ("19691231", "024", .staff, "2024-12-31"),
    ])
    func pensionAge(birth: String, sequence: String, category: PensionAge.Category, reached: String) {
        let id = Fixtures.citizenID(birth: birth, sequence: sequence)
        #expect(PensionAge.reachedOn(born: id.birthDate, sex: id.sex, category: category) == Fixtures.date(reached))
    }

    /// A Zhejiang-hukou man born 1964-05-20 (pension age reached on 2024-05-20), collected at
    /// Hangzhou (330100), holder Shenzhen (440300), unless stated otherwise.
    static func input(
        birth: String = "19640520", sequence: String = "013", category: PensionAge.Category = .worker, hukou: String = "33",
        holder: String = "440300", claiming: String = "330100", decision: ClaimingPlace.Decision = .hukouProvince(try! ProvinceCode("33")),
        open: Bool = false, today: String = "2026-12-02"
    ) -> CollectionReview.Input {
        CollectionReview.Input(
            person: PersonFacts(citizenID: Fixtures.citizenID(birth: birth, sequence: sequence), name: "Test Person", hukouProvince: try! ProvinceCode(hukou)),
            category: category, holder: Fixtures.office(holder), claimingOffice: Fixtures.office(claiming), decision: decision, hasOpenCase: open,
            today: Fixtures.date(today))
    }

    @Test("at pension age, at the claiming place: the letter goes out (each rule of the claiming place)", arguments: [
        ClaimingPlace.Decision.hukouPlace(Fixtures.office("330100")), .currentPlace(Fixtures.office("330100")),
        .earlierPlace(Fixtures.office("330100")), .hukouProvince(try! ProvinceCode("33")),
    ])
    func collects(decision: ClaimingPlace.Decision) {
        #expect(CollectionReview.review(Self.input(decision: decision)) == .contactLetter)
    }

    @Test("each code refuses with its code: C01 a day before pension age, C02 another claiming place, D05 one already open with the holder, D07 a holder in this province", arguments: [
        (CollectionTests.input(today: "2024-05-19"), ReviewCode.notAtPensionAge),
        (CollectionTests.input(birth: "19750101", sequence: "024", today: "2025-01-31"), .notAtPensionAge),
        (CollectionTests.input(decision: .currentPlace(Fixtures.office("440300"))), .notClaimingPlace),
        (CollectionTests.input(decision: .hukouProvince(try! ProvinceCode("51"))), .notClaimingPlace),
        (CollectionTests.input(open: true), .transferAlreadyOpen),
        (CollectionTests.input(holder: "330200"), .sameProvince),
    ])
    func refusals(input: CollectionReview.Input, code: ReviewCode) {
        #expect(CollectionReview.review(input) == .rejected([code]))
    }

    @Test("the day pension age is reached counts; a woman staff member is judged at her own age")
    func boundaries() {
        #expect(CollectionReview.review(Self.input(today: "2024-05-20")) == .contactLetter)
        // born 1970-01-01, staff: 55 years and a month on 2025-02-01; as a worker she is long past it
        #expect(CollectionReview.review(Self.input(birth: "19700101", sequence: "024", category: .staff, today: "2025-01-31")) == .rejected([.notAtPensionAge]))
        #expect(CollectionReview.review(Self.input(birth: "19700101", sequence: "024", category: .worker, today: "2025-01-31")) == .contactLetter)
        #expect(CollectionReview.review(Self.input(decision: .hukouProvince(try! ProvinceCode("44")), open: true, today: "2024-05-19"))
            == .rejected([.notAtPensionAge, .notClaimingPlace, .transferAlreadyOpen]))
    }

    static func letter(_ purpose: LetterPurpose) -> OriginCheck.Letter {
        OriginCheck.Letter(
            number: ContactLetterNumber(office: Fixtures.hangzhou, year: 2026, sequence: 1), citizenID: Fixtures.citizenID(birth: "19640520", sequence: "013"),
            name: "Test Person", destinationAccount: OfficeDirectory.standard[Fixtures.hangzhou]!.account,
            purpose: purpose)
    }

    static func relationship(_ kind: AccountKind, status: RelationshipStatus = .suspended) -> OriginCheck.Relationship {
        OriginCheck.Relationship(citizenID: Fixtures.citizenID(birth: "19640520", sequence: "013"), name: "Test Person", status: status, kind: kind)
    }

    @Test("the holder: a collection takes a temporary account only (O08 for a general relationship); a transfer is checked as before")
    func holder() {
        #expect(OriginCheck.check(Self.letter(.collection), relationship: Self.relationship(.temporary)) == .transfer)
        #expect(OriginCheck.check(Self.letter(.collection), relationship: Self.relationship(.general)) == .returned([.noTemporaryAccount]))
        #expect(OriginCheck.check(Self.letter(.collection), relationship: Self.relationship(.temporary, status: .contributing)) == .returned([.stillContributing]))
        #expect(OriginCheck.check(Self.letter(.transfer), relationship: Self.relationship(.general)) == .transfer)
        #expect(OriginCheck.check(Self.letter(.transfer), relationship: Self.relationship(.temporary)) == .transfer)
    }
}
