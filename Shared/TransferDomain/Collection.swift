/// Temporary accounts collected at retirement (docs/business-rules.md, "Temporary accounts come
/// home"): where a man over 50 or a woman over 40 worked away from their hukou province, the
/// office there kept a *temporary* account (D02). When the person reaches pension age, the
/// claiming place asks every office holding one to send it on, with its form and funds, as in a
/// transfer (MOHRSS 2009 No. 66, Art. 6 and 7).

/// Why a contact letter is sent: a transfer (step 1's application) or the collection of a
/// temporary account by the claiming place at retirement. Absent on the wire means `transfer`.
public enum LetterPurpose: String, Codable, Sendable, Hashable, CaseIterable {
    case transfer, collection
}

/// Statutory pension age, with the gradual rise the Standing Committee of the NPC decided on
/// 13 September 2024 (in force 1 January 2025): men 60 → 63 and women whose age was 55 → 58,
/// one month later for every four months of birth from January 1965 (men) and January 1970
/// (women, 55); women whose age was 50 → 55, one month later for every two months of birth from
/// January 1975.
public enum PensionAge {
    /// The woman's original statutory age: 50 for workers (the default), 55 for staff in
    /// management and technical posts (原法定退休年龄为五十五周岁的女职工). Men have one.
    public enum Category: String, Codable, Sendable, Hashable, CaseIterable {
        case worker, staff
    }

    /// The pension age in months of life.
    public static func months(born birth: LocalDate, sex: Sex, category: Category = .worker) -> Int {
        let (years, from, every, most): (Int, YearMonth, Int, Int)
        switch (sex, category) {
        case (.male, _): (years, from, every, most) = (60, YearMonth(validYear: 1965, month: 1), 4, 36)
        case (.female, .staff): (years, from, every, most) = (55, YearMonth(validYear: 1970, month: 1), 4, 36)
        case (.female, .worker): (years, from, every, most) = (50, YearMonth(validYear: 1975, month: 1), 2, 60)
        }
        let since = from.distance(to: birth.yearMonth)
        let delay = since < 0 ? 0 : min(most, since / every + 1)
        return years * 12 + delay
    }

    /// The day the person reaches pension age: the birthday that many months after birth (the
    /// last day of the month when that month is shorter).
    public static func reachedOn(born birth: LocalDate, sex: Sex, category: Category = .worker) -> LocalDate {
        let month = birth.yearMonth.advanced(by: months(born: birth, sex: sex, category: category))
        let day = min(birth.day, LocalDate.daysIn(year: month.year, month: month.month))
        return LocalDate(year: month.year, month: month.month, day: day)!
    }
}

/// Step 2 of a collection at the claiming place: ask the holder of a temporary account for it,
/// or explain why not.
public enum CollectionReview {
    public struct Input: Sendable {
        public var person: PersonFacts
        public var category: PensionAge.Category
        /// The office holding the temporary account (the letter's recipient).
        public var holder: OfficeCode
        /// This office.
        public var claimingOffice: OfficeCode
        /// The claiming place as decided from the person's places here (``ClaimingPlace/decide(places:hukouProvince:)``).
        public var decision: ClaimingPlace.Decision
        /// A transfer or collection with the same holder is open for the person.
        public var hasOpenCase: Bool
        public var today: LocalDate

        public init(
            person: PersonFacts, category: PensionAge.Category = .worker, holder: OfficeCode, claimingOffice: OfficeCode,
            decision: ClaimingPlace.Decision, hasOpenCase: Bool, today: LocalDate
        ) {
            self.person = person
            self.category = category
            self.holder = holder
            self.claimingOffice = claimingOffice
            self.decision = decision
            self.hasOpenCase = hasOpenCase
            self.today = today
        }
    }

    /// Whether `office` is the claiming place `decision` names: the office itself for rules 1-3,
    /// any office of the hukou province for rule 4 (everything is collected there).
    public static func isClaimingPlace(_ office: OfficeCode, _ decision: ClaimingPlace.Decision) -> Bool {
        switch decision {
        case .hukouPlace(let place), .currentPlace(let place), .earlierPlace(let place): return place == office
        case .hukouProvince(let province): return office.province == province
        }
    }

    /// Every applicable code at once, as for a transfer: C01 before pension age, C02 not the
    /// claiming place, D05 a case with the same holder already open, D07 the holder in this
    /// province (no fund transfer within a province). D01-D04 do not apply: the person no
    /// longer works anywhere, and no certificate is involved.
    public static func review(_ input: Input) -> DestinationReview.Outcome {
        var codes: [ReviewCode] = []
        if input.today < PensionAge.reachedOn(born: input.person.birthDate, sex: input.person.sex, category: input.category) {
            codes.append(.notAtPensionAge)
        }
        if !isClaimingPlace(input.claimingOffice, input.decision) { codes.append(.notClaimingPlace) }
        if input.hasOpenCase { codes.append(.transferAlreadyOpen) }
        if input.holder.sameProvince(as: input.claimingOffice) { codes.append(.sameProvince) }
        return codes.isEmpty ? .contactLetter : .rejected(codes.sorted())
    }
}
