import Testing
import TransferDomain

@Suite("Ledger, interest and the information form")
struct LedgerTests {
    /// A general relationship 2022-2024, transferred in 2024. By hand, in fen:
    ///
    /// 2022 (rate 6.12%): credits 8% × 10 000.00 = 80 000 in November and December.
    ///   interest = round(0) + round((80 000×2 + 80 000×1) × 0.0612 / 12) = round(1224) = 1 224
    ///   closing = 160 000 + 1 224 = 161 224
    /// 2023 (rate 3.97%): credits 8% × 12 000.00 = 96 000 in January and June.
    ///   round(161 224 × 0.0397) = round(6 400.59) = 6 401
    ///   round((96 000×12 + 96 000×7) × 0.0397 / 12) = round(6 034.4) = 6 034
    ///   closing = 161 224 + 192 000 + 6 401 + 6 034 = 365 659 → ② 3 656.59
    /// 2024: credit 8% × 15 000.00 = 1 200.00 → ③, no interest.
    /// ④ = 0 + 3 656.59 + 1 200.00 = 4 856.59
    /// ⑤ = 12% × (10 000 + 10 000 + 12 000 + 12 000 + 15 000) = 12% × 59 000.00 = 7 080.00
    /// ⑥ = 4 856.59 + 7 080.00 = 11 936.59
    @Test("a multi-year general ledger gives ①-⑥ computed by hand")
    func generalLedger() throws {
        let months = [
            Fixtures.contribution("2022-11", base: "10000.00"), Fixtures.contribution("2022-12", base: "10000.00"),
            Fixtures.contribution("2023-01", base: "12000.00"), Fixtures.contribution("2023-06", base: "12000.00"),
            Fixtures.contribution("2024-03", base: "15000.00"),
        ]
        let form = try TransferCalculator.informationForm(
            months: months, pre1998Account: .zero, kind: .general, transferYear: 2024, rates: CreditingRates())
        #expect(form.pre1998Account == .zero)
        #expect(form.accountThroughLastYear == Fixtures.money("3656.59"))
        #expect(form.currentYearPrincipal == Fixtures.money("1200.00"))
        #expect(form.individualAccountTotal == Fixtures.money("4856.59"))
        #expect(form.pooledFund == Fixtures.money("7080.00"))
        #expect(form.totalRemitted == Fixtures.money("11936.59"))
        #expect(form.isConsistent)
        #expect(form.ledger.map(\.year) == [2022, 2023, 2024])
        #expect(form.ledger.map(\.interest) == [Fixtures.money("12.24"), Fixtures.money("124.35"), .zero])
        #expect(form.ledger.map(\.closingBalance) == [Fixtures.money("1612.24"), Fixtures.money("3656.59"), Fixtures.money("4856.59")])
        #expect(form.ledger[1].monthlyBase == Fixtures.money("12000.00"))
        #expect(form.totalMonths == 5)
    }

    /// Pre-1998 and the 11% years, transferred in 2007; office rates 2005 2.25%, 2006 2.50%.
    ///
    /// 1997-12 counts as time only: no credit in ②, nothing in ⑤. ① = 523.45 (the origin's figure).
    /// 2005: credit 11% × 1 000.00 = 11 000 in December.
    ///   interest = round(11 000 × 1 × 0.0225 / 12) = round(20.625) = 21; closing 11 021
    /// 2006: credit 8% × 1 000.00 = 8 000 in January.
    ///   round(11 021 × 0.025) = round(275.525) = 276; round(8 000 × 12 × 0.025 / 12) = 200
    ///   closing = 11 021 + 8 000 + 476 = 19 497 → ② 194.97
    /// 2007: no months → ③ 0.00. ④ = 523.45 + 194.97 = 718.42
    /// ⑤ = 12% × (1 000 + 1 000) = 240.00. ⑥ = 958.42
    @Test("pre-1998 months count for time only; 1998-2005 credits are 11%, later 8%; office rates before 2016")
    func earlyYears() throws {
        let months = [
            Fixtures.contribution("1997-12", base: "800.00"), Fixtures.contribution("2005-12", base: "1000.00"),
            Fixtures.contribution("2006-01", base: "1000.00"),
        ]
        let rates = CreditingRates(overrides: [2005: .percent("2.25"), 2006: .percent("2.5")])
        let form = try TransferCalculator.informationForm(
            months: months, pre1998Account: Fixtures.money("523.45"), kind: .general, transferYear: 2007, rates: rates)
        #expect(form.accountThroughLastYear == Fixtures.money("194.97"))
        #expect(form.currentYearPrincipal == .zero)
        #expect(form.individualAccountTotal == Fixtures.money("718.42"))
        #expect(form.pooledFund == Fixtures.money("240.00"))
        #expect(form.totalRemitted == Fixtures.money("958.42"))
        #expect(form.ledger.first?.year == 1997 && form.ledger.first?.credited == .zero)
        #expect(form.totalMonths == 3)
        #expect(TransferCalculator.creditRate(for: Fixtures.month("2005-12")) == .percent("11"))
        #expect(TransferCalculator.creditRate(for: Fixtures.month("2006-01")) == .percent("8"))
    }

    @Test("a missing crediting rate is a clear error naming the year, not a guess")
    func missingRate() throws {
        let months = [Fixtures.contribution("2010-05", base: "3000.00")]
        let error = #expect(throws: DomainError.self) {
            try TransferCalculator.informationForm(
                months: months, pre1998Account: .zero, kind: .general, transferYear: 2012, rates: CreditingRates())
        }
        #expect(error?.description.contains("2010") == true)
        #expect(throws: DomainError.self) { try CreditingRates().rate(for: 2025) }
        #expect(try CreditingRates().rate(for: 2016) == .percent("8.31"))
        #expect(try CreditingRates(overrides: [2025: .percent("2.0")]).rate(for: 2025) == .percent("2"))
    }

    /// Temporary account: ⑤ month by month at max(12%, employer rate):
    /// 2023-01: 16% × 10 000.00 = 1 600.00; 2023-02: 12% (employer 10%) × 10 000.00 = 1 200.00 → 2 800.00
    @Test("a temporary account's pooled fund uses the employer rate where it is above 12%")
    func temporaryAccount() throws {
        let months = [
            Fixtures.contribution("2023-01", base: "10000.00", employer: "16"),
            Fixtures.contribution("2023-02", base: "10000.00", employer: "10"),
        ]
        let form = try TransferCalculator.informationForm(
            months: months, pre1998Account: .zero, kind: .temporary, transferYear: 2023, rates: CreditingRates())
        #expect(form.pooledFund == Fixtures.money("2800.00"))
        #expect(form.currentYearPrincipal == Fixtures.money("1600.00"))
        #expect(form.totalRemitted == Fixtures.money("4400.00"))
        let general = try TransferCalculator.informationForm(
            months: months, pre1998Account: .zero, kind: .general, transferYear: 2023, rates: CreditingRates())
        #expect(general.pooledFund == Fixtures.money("2400.00"))
    }

    @Test("a month recorded twice is refused")
    func duplicateMonth() {
        let months = [Fixtures.contribution("2023-01", base: "100.00"), Fixtures.contribution("2023-01", base: "200.00")]
        #expect(throws: DomainError.self) {
            try TransferCalculator.informationForm(
                months: months, pre1998Account: .zero, kind: .general, transferYear: 2023, rates: CreditingRates())
        }
    }

    @Test("④ = ①+②+③ and ⑥ = ④+⑤ hold for many random ledgers")
    func identities() throws {
        var generator = SplitMix64(seed: 42)
        for _ in 0..<200 {
            let start = Int.random(in: 1995...2023, using: &generator)
            let count = Int.random(in: 1...60, using: &generator)
            let first = Fixtures.month("\(start)-01")
            let months = (0..<count).map { offset in
                ContributionMonth(
                    period: first.advanced(by: offset), base: Money(fen: Int.random(in: 200_000...3_000_000, using: &generator)),
                    employerRate: .percent(String(Int.random(in: 10...20, using: &generator))), personalRate: .percent("8"),
                    placeCode: Fixtures.shenzhen)
            }
            let transferYear = max(2024, months.last!.period.year)
            let rates = CreditingRates(overrides: Dictionary(uniqueKeysWithValues: (1995...2015).map { ($0, Rate.percent("3.5")) } + [(2025, Rate.percent("2"))]))
            let kind: AccountKind = Bool.random(using: &generator) ? .general : .temporary
            let form = try TransferCalculator.informationForm(
                months: months, pre1998Account: Money(fen: Int.random(in: 0...500_000, using: &generator)), kind: kind,
                transferYear: transferYear, rates: rates)
            #expect(form.isConsistent)
            #expect(form.totalMonths == count)
            #expect(form.pooledFund >= .zero && form.accountThroughLastYear >= .zero)
        }
    }
}
