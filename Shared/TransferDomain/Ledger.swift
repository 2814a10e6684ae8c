/// One month of contributions as an office's record holds it.
public struct ContributionMonth: Hashable, Sendable, Codable {
    public var period: YearMonth
    /// The monthly contribution base, already clamped by the office to 60%-300% of the local
    /// average wage.
    public var base: Money
    public var employerRate: Rate
    public var personalRate: Rate
    /// Where the month was paid; months transferred in earlier keep their original place.
    public var placeCode: OfficeCode

    public init(period: YearMonth, base: Money, employerRate: Rate, personalRate: Rate, placeCode: OfficeCode) {
        self.period = period
        self.base = base
        self.employerRate = employerRate
        self.personalRate = personalRate
        self.placeCode = placeCode
    }
}

/// The national individual-account crediting rates (记账利率) and an office's own rates for
/// earlier years.
///
/// Source of the national rates: the Ministry of Human Resources and Social Security and the
/// Ministry of Finance's yearly notices publishing the basic pension insurance individual-account
/// crediting rate (as listed in DOMAIN.md). Before 2016 rates were set per province: an office
/// supplies them as ``overrides``. A year with no rate is an error, never a guess.
public struct CreditingRates: Sendable, Hashable {
    public static let nationalSource =
        "MOHRSS/MOF yearly notices of the basic pension insurance individual-account crediting rate (2016-2024)"

    public static let national: [Int: Rate] = [
        2016: .percent("8.31"), 2017: .percent("7.12"), 2018: .percent("8.29"), 2019: .percent("7.61"),
        2020: .percent("6.04"), 2021: .percent("6.69"), 2022: .percent("6.12"), 2023: .percent("3.97"),
        2024: .percent("2.62"),
    ]

    /// An office's rates; they win over the national table for the same year.
    public var overrides: [Int: Rate]

    public init(overrides: [Int: Rate] = [:]) {
        self.overrides = overrides
    }

    /// - Throws: ``DomainError`` when neither the office nor the national table has the year.
    public func rate(for year: Int) throws(DomainError) -> Rate {
        if let rate = overrides[year] ?? Self.national[year] { return rate }
        throw DomainError(
            "no individual-account crediting rate for \(year): the national table covers 2016-2024; "
                + "set the office's rate for \(year)")
    }
}

/// Whether the origin holds a general relationship or a temporary account (DOMAIN.md, D02).
public enum AccountKind: String, Codable, Sendable, Hashable {
    case general, temporary
}

/// One row of the yearly ledger on the information form.
public struct LedgerRow: Hashable, Sendable, Codable {
    public var year: Int
    /// Where the year's last month was paid.
    public var placeCode: OfficeCode
    public var months: Int
    /// The average monthly base of the year, rounded half-up to the fen.
    public var monthlyBase: Money
    /// The rates of the year's last month.
    public var employerRate: Rate
    public var personalRate: Rate
    /// Individual-account credits of the year (normalised: 11% to 2005, 8% from 2006).
    public var credited: Money
    /// Interest of the year (zero for the transfer year and before 1998).
    public var interest: Money
    /// Individual account (from 1998) at the end of the year.
    public var closingBalance: Money
}

/// The money lines ①-⑥ of the transfer information form (信息表), with the ledger behind them.
public struct InformationForm: Hashable, Sendable, Codable {
    public var accountKind: AccountKind
    public var transferYear: Int
    /// ① pre-1998 individual account: the person's own pre-1998 contributions with interest.
    public var pre1998Account: Money
    /// ② individual account 1998-01 to the end of the year before the transfer, with interest.
    public var accountThroughLastYear: Money
    /// ③ principal credited in the transfer year, without current-year interest.
    public var currentYearPrincipal: Money
    /// ④ = ① + ② + ③.
    public var individualAccountTotal: Money
    /// ⑤ pooled fund: 12% of every monthly base from 1998-01 (temporary: max(12%, employer rate)).
    public var pooledFund: Money
    /// ⑥ = ④ + ⑤: what must be remitted, exactly.
    public var totalRemitted: Money
    public var ledger: [LedgerRow]

    /// ④ = ①+②+③ and ⑥ = ④+⑤ hold.
    public var isConsistent: Bool {
        individualAccountTotal == pre1998Account + accountThroughLastYear + currentYearPrincipal
            && totalRemitted == individualAccountTotal + pooledFund
    }

    /// All contribution months in the ledger.
    public var totalMonths: Int { ledger.reduce(0) { $0 + $1.months } }
}

/// Computes the information form from an office's record (DOMAIN.md, "The money").
///
/// Rounding decisions (the regulations say "to the fen", not where): each month's credit and each
/// temporary-account month's pooled share is rounded half-up on its own, since each is a posting;
/// the general pooled fund is 12% of the summed bases, rounded once; interest is the two rounded
/// terms of the monthly-accumulation formula.
public enum TransferCalculator {
    /// The 12% share of the base that goes to the pooled fund.
    public static let pooledShare = Rate.percent("12")

    /// The normalised individual-account credit rate of a month: 11% to 2005-12, 8% from 2006-01.
    public static func creditRate(for period: YearMonth) -> Rate {
        period.year <= 2005 ? .percent("11") : .percent("8")
    }

    /// Yearly interest by the monthly-accumulation method:
    /// `round(B × r) + round(Σ credit_m × (13 − m) × r / 12)`.
    public static func interest(opening: Money, credits: [(month: Int, amount: Money)], rate: Rate) -> Money {
        let onBalance = opening.times(rate)
        let weighted = credits.reduce(0) { $0 + $1.amount.fen * (13 - $1.month) }
        let onCredits = Money.divideRoundingHalfUp(weighted * rate.partsPerMillion, by: 12 * Rate.scale)
        return onBalance + Money(fen: onCredits)
    }

    /// The form for transferring `months` out in `transferYear`.
    /// - Parameters:
    ///   - months: the origin's record; months before 1998 count for contribution time only.
    ///   - pre1998Account: line ①, a figure the origin holds per person.
    /// - Throws: ``DomainError`` when a needed crediting rate is missing, or a month repeats.
    public static func informationForm(
        months: [ContributionMonth], pre1998Account: Money, kind: AccountKind, transferYear: Int, rates: CreditingRates
    ) throws(DomainError) -> InformationForm {
        let sorted = months.sorted { $0.period < $1.period }
        if let repeated = zip(sorted, sorted.dropFirst()).first(where: { $0.period == $1.period }) {
            throw DomainError("the record holds \(repeated.0.period) twice")
        }
        if let late = sorted.last, late.period.year > transferYear {
            throw DomainError("the record holds \(late.period), after the transfer year \(transferYear)")
        }
        let byYear = Dictionary(grouping: sorted, by: \.period.year)
        var balance = Money.zero
        var rows: [LedgerRow] = []
        var currentYearPrincipal = Money.zero
        let firstYear = min(sorted.first?.period.year ?? transferYear, transferYear)
        for year in firstYear...transferYear {
            let yearMonths = byYear[year] ?? []
            let from1998 = yearMonths.filter { $0.period.year >= 1998 }
            let credits = from1998.map { (month: $0.period.month, amount: $0.base.times(creditRate(for: $0.period))) }
            let credited = credits.map(\.amount).sum()
            var interest = Money.zero
            if year < transferYear && year >= 1998 && (balance != .zero || credited != .zero) {
                interest = Self.interest(opening: balance, credits: credits, rate: try rates.rate(for: year))
            }
            if year == transferYear { currentYearPrincipal = credited }
            balance = balance + credited + interest
            if let last = yearMonths.last {
                let averageBase = Money.divideRoundingHalfUp(yearMonths.map(\.base).sum().fen, by: yearMonths.count)
                rows.append(
                    LedgerRow(
                        year: year, placeCode: last.placeCode, months: yearMonths.count, monthlyBase: Money(fen: averageBase),
                        employerRate: last.employerRate, personalRate: last.personalRate, credited: credited,
                        interest: interest, closingBalance: balance))
            }
        }
        let accountThroughLastYear = balance - currentYearPrincipal
        let pooledMonths = sorted.filter { $0.period.year >= 1998 }
        let pooled: Money
        switch kind {
        case .general:
            pooled = pooledMonths.map(\.base).sum().times(pooledShare)
        case .temporary:
            pooled = pooledMonths.map { $0.base.times(max(pooledShare, $0.employerRate)) }.sum()
        }
        let total = pre1998Account + accountThroughLastYear + currentYearPrincipal
        return InformationForm(
            accountKind: kind, transferYear: transferYear, pre1998Account: pre1998Account,
            accountThroughLastYear: accountThroughLastYear, currentYearPrincipal: currentYearPrincipal,
            individualAccountTotal: total, pooledFund: pooled, totalRemitted: total + pooled, ledger: rows)
    }
}
