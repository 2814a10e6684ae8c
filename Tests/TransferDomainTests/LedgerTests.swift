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

    /// Checked against sums the test makes itself, not against the form's own identities: the
    /// credits and interest of the rows add up to ② + ③, the last row closes at ② + ③ (which
    /// needs a row for every year that earns interest, contributions or not), ⑤ is 12% of the
    /// bases from 1998, and every month is counted at its own place.
    @Test("random ledgers with gaps, ending before the transfer year: rows reconcile to ② + ③, ⑤ is 12% of the bases")
    func identities() throws {
        var generator = SplitMix64(seed: 42)
        // Office rates for every year outside the national table (the ledgers run past 2026).
        let rates = CreditingRates(overrides: Dictionary(uniqueKeysWithValues: (1990...2080).filter { CreditingRates.national[$0] == nil }.map { ($0, Rate.percent("2.5")) }))
        let places = [Fixtures.shenzhen, Fixtures.guangzhou, Fixtures.hangzhou]
        for _ in 0..<200 {
            var months: [ContributionMonth] = []
            var period = Fixtures.month("\(Int.random(in: 1995...2018, using: &generator))-01").advanced(by: Int.random(in: 0...11, using: &generator))
            var place = places[0]
            for _ in 0..<Int.random(in: 1...6, using: &generator) {
                for _ in 0..<Int.random(in: 1...30, using: &generator) {
                    months.append(ContributionMonth(
                        period: period, base: Money(fen: Int.random(in: 200_000...3_000_000, using: &generator)),
                        employerRate: Rate(partsPerMillion: Int.random(in: 10...20, using: &generator) * 10_000), personalRate: .percent("8"),
                        placeCode: place))
                    period = period.advanced(by: 1)
                }
                // A gap of up to three years, sometimes at another place.
                period = period.advanced(by: Int.random(in: 0...36, using: &generator))
                if Bool.random(using: &generator) { place = places.randomElement(using: &generator)! }
            }
            let transferYear = max(2024, months.last!.period.year) + Int.random(in: 0...1, using: &generator)
            let form = try TransferCalculator.informationForm(
                months: months, pre1998Account: Money(fen: Int.random(in: 0...500_000, using: &generator)), kind: .general,
                transferYear: transferYear, rates: rates)
            let twoPlusThree = try form.accountThroughLastYear + form.currentYearPrincipal
            #expect(form.ledger.last?.closingBalance == twoPlusThree)
            #expect(try form.ledger.map(\.credited).sum() + form.ledger.map(\.interest).sum() == twoPlusThree)
            #expect(try form.pre1998Account + twoPlusThree == form.individualAccountTotal)
            let bases = try months.filter { $0.period.year >= 1998 }.map(\.base).sum()
            #expect(try form.pooledFund == bases.times(.percent("12")))
            #expect(try form.pooledFund + form.individualAccountTotal == form.totalRemitted)
            #expect(form.totalMonths == months.count)
            // Every year from the first credit to the year before the transfer earns interest and has a row.
            if let firstCredit = months.first(where: { $0.period.year >= 1998 })?.period.year {
                #expect(Set(form.ledger.map(\.year)).isSuperset(of: firstCredit..<transferYear))
            }
            for (office, count) in Dictionary(grouping: months, by: \.placeCode).mapValues(\.count) {
                #expect(form.ledger.flatMap(\.placeMonths).filter { $0.placeCode == office }.map(\.months).reduce(0, +) == count)
            }
            #expect(form.isConsistent)
        }
    }

    @Test("a year split between two places credits each its own months and last month; a year without contributions still has its interest row")
    func placesAndInterestOnlyYears() throws {
        let months = [
            Fixtures.contribution("2020-01", base: "10000.00", place: "440300"), Fixtures.contribution("2020-02", base: "10000.00", place: "440300"),
            Fixtures.contribution("2020-07", base: "10000.00", place: "330100"),
        ]
        let form = try TransferCalculator.informationForm(months: months, pre1998Account: .zero, kind: .general, transferYear: 2023, rates: CreditingRates())
        #expect(form.ledger.map(\.year) == [2020, 2021, 2022])
        #expect(form.ledger[0].placeMonths == [
            PlaceMonths(placeCode: Fixtures.shenzhen, months: 2, lastMonth: Fixtures.month("2020-02")),
            PlaceMonths(placeCode: Fixtures.hangzhou, months: 1, lastMonth: Fixtures.month("2020-07")),
        ])
        // 2021 and 2022: no months, interest on the balance, held where the last month was paid.
        #expect(form.ledger[1].months == 0 && form.ledger[1].placeCode == Fixtures.hangzhou && form.ledger[1].interest > .zero)
        #expect(form.ledger[1].placeMonths.isEmpty)
        #expect(form.ledger.last?.closingBalance == form.accountThroughLastYear)
    }

    @Test("a form whose lines do not add up is named for what is wrong")
    func arithmeticProblems() throws {
        var form = try TransferCalculator.informationForm(
            months: [Fixtures.contribution("2024-01", base: "10000.00")], pre1998Account: .zero, kind: .general, transferYear: 2024,
            rates: CreditingRates())
        #expect(form.arithmeticProblems.isEmpty)
        form.totalRemitted = try form.totalRemitted + Money(fen: 1)
        #expect(form.arithmeticProblems.count == 1 && form.arithmeticProblems[0].hasPrefix("⑥"))
        form.totalRemitted = try form.totalRemitted - Money(fen: 1)
        form.individualAccountTotal = try form.individualAccountTotal - Money(fen: 1)
        #expect(form.arithmeticProblems.contains { $0.hasPrefix("④") })
        form.individualAccountTotal = try form.individualAccountTotal + Money(fen: 1)
        form.pooledFund = Money(fen: -5)
        #expect(form.arithmeticProblems.contains { $0.hasPrefix("⑤") })
    }
}
