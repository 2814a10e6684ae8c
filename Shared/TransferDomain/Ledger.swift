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

/// The months one place holds in one ledger year.
public struct PlaceMonths: Hashable, Sendable, Codable {
    public var placeCode: OfficeCode
    public var months: Int
    /// The last month of the year contributed at this place.
    public var lastMonth: YearMonth

    public init(placeCode: OfficeCode, months: Int, lastMonth: YearMonth) {
        self.placeCode = placeCode
        self.months = months
        self.lastMonth = lastMonth
    }
}

/// One row of the yearly ledger on the information form.
///
/// Every year from the first contribution to the transfer year that has contributions or earns
/// interest has a row, so the last row's closing balance is always ② + ③.
public struct LedgerRow: Hashable, Sendable, Codable {
    public var year: Int
    /// Where the year's last month was paid (a year without contributions: where the account was held).
    public var placeCode: OfficeCode
    /// Contribution months of the year, at every place (0 for a year that only earned interest).
    public var months: Int
    /// The average monthly base of the year, rounded half-up to the fen (0.00 without contributions).
    public var monthlyBase: Money
    /// The rates of the year's last month (0 without contributions).
    public var employerRate: Rate
    public var personalRate: Rate
    /// Individual-account credits of the year (normalised: 11% to 2005, 8% from 2006).
    public var credited: Money
    /// Interest of the year (zero for the transfer year and before 1998).
    public var interest: Money
    /// Individual account (from 1998) at the end of the year.
    public var closingBalance: Money
    /// The year's months by place: a year split between two places credits each its own months.
    /// Absent in forms from producers before this field; ``placeMonths`` then reads the row as
    /// one place.
    public var places: [PlaceMonths]?

    public init(
        year: Int, placeCode: OfficeCode, months: Int, monthlyBase: Money, employerRate: Rate, personalRate: Rate,
        credited: Money, interest: Money, closingBalance: Money, places: [PlaceMonths]?
    ) {
        self.year = year
        self.placeCode = placeCode
        self.months = months
        self.monthlyBase = monthlyBase
        self.employerRate = employerRate
        self.personalRate = personalRate
        self.credited = credited
        self.interest = interest
        self.closingBalance = closingBalance
        self.places = places
    }

    /// The year's months by place (a row without ``places`` counts as one place, its last
    /// month unknown and taken as December).
    public var placeMonths: [PlaceMonths] {
        if let places { return places }
        guard months > 0 else { return [] }
        return [PlaceMonths(placeCode: placeCode, months: months, lastMonth: YearMonth(validYear: year, month: 12))]
    }
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
    /// Every contribution month of the origin's record the form is computed from, in period
    /// order (months transferred in earlier keep their place). The destination needs them month
    /// by month: a month it already holds from elsewhere counts once (docs/business-rules.md, "Periods count once";
    /// MOHRSS 2010 No. 70 Art. 10 "transfer first, clear afterwards"). Absent in forms from
    /// producers before contract v3: the destination then counts the ledger's months by place.
    public var months: [ContributionMonth]?

    /// What is wrong with the form's arithmetic: ④ = ①+②+③ and ⑥ = ④+⑤ must hold to the fen,
    /// no line may be negative, and the ledger must account for ② + ③. Empty when the form adds up.
    public var arithmeticProblems: [String] {
        var problems: [String] = []
        let lines = [
            ("①", pre1998Account), ("②", accountThroughLastYear), ("③", currentYearPrincipal), ("④", individualAccountTotal),
            ("⑤", pooledFund), ("⑥", totalRemitted),
        ]
        for (name, amount) in lines where amount < .zero || !amount.isInRange { problems.append("\(name) \(amount) is not a valid amount") }
        guard problems.isEmpty else { return problems }
        let fourth = (try? pre1998Account + accountThroughLastYear).flatMap { try? $0 + currentYearPrincipal }
        if fourth != individualAccountTotal {
            problems.append("④ \(individualAccountTotal) ≠ ① \(pre1998Account) + ② \(accountThroughLastYear) + ③ \(currentYearPrincipal)")
        }
        if (try? individualAccountTotal + pooledFund) != totalRemitted {
            problems.append("⑥ \(totalRemitted) ≠ ④ \(individualAccountTotal) + ⑤ \(pooledFund)")
        }
        if let last = ledger.last, (try? accountThroughLastYear + currentYearPrincipal) != last.closingBalance {
            problems.append("the ledger closes at \(last.closingBalance), not ② + ③")
        }
        if let months { problems += Self.monthProblems(months, ledger: ledger) }
        return problems
    }

    /// The months must be the ledger's: each period once, and each year's months by place as its row says.
    static func monthProblems(_ months: [ContributionMonth], ledger: [LedgerRow]) -> [String] {
        var problems: [String] = []
        var seen = Set<YearMonth>()
        for month in months where !seen.insert(month.period).inserted { problems.append("the form's months hold \(month.period) twice") }
        var counted: [Int: [OfficeCode: Int]] = [:]
        for month in months { counted[month.period.year, default: [:]][month.placeCode, default: 0] += 1 }
        var ledgerCounts: [Int: [OfficeCode: Int]] = [:]
        for row in ledger where row.months > 0 {
            for part in row.placeMonths { ledgerCounts[row.year, default: [:]][part.placeCode, default: 0] += part.months }
        }
        for year in Set(counted.keys).union(ledgerCounts.keys).sorted() where counted[year] ?? [:] != ledgerCounts[year] ?? [:] {
            problems.append("the form's months of \(year) by place \(Self.describe(counted[year] ?? [:])) are not the ledger's \(Self.describe(ledgerCounts[year] ?? [:]))")
        }
        return problems
    }

    private static func describe(_ counts: [OfficeCode: Int]) -> String {
        counts.isEmpty ? "none" : counts.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }

    /// ④ = ①+②+③ and ⑥ = ④+⑤ hold, and the ledger closes at ② + ③.
    public var isConsistent: Bool { arithmeticProblems.isEmpty }

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
    /// - Throws: ``DomainError`` when an amount leaves the range.
    public static func interest(opening: Money, credits: [(month: Int, amount: Money)], rate: Rate) throws(DomainError) -> Money {
        let onBalance = try opening.times(rate)
        var weighted = 0
        for credit in credits {
            let (term, overflow) = credit.amount.fen.multipliedReportingOverflow(by: 13 - credit.month)
            let (sum, overflow2) = weighted.addingReportingOverflow(term)
            guard !overflow, !overflow2 else { throw .amountOutOfRange("the year's weighted credits") }
            weighted = sum
        }
        let onCredits = try Money.multiplyDividingRoundingHalfUp(weighted, rate.partsPerMillion, by: 12 * Rate.scale, "interest on credits")
        return try onBalance + Money(fen: onCredits)
    }

    /// The form for transferring `months` out in `transferYear`.
    /// - Parameters:
    ///   - months: the origin's record; months before 1998 count for contribution time only.
    ///   - pre1998Account: line ①, a figure the origin holds per person.
    /// - Throws: ``DomainError`` when a needed crediting rate is missing, a month repeats, or an
    ///   amount leaves the range.
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
        var heldAt = sorted.first?.placeCode
        let firstYear = min(sorted.first?.period.year ?? transferYear, transferYear)
        for year in firstYear...transferYear {
            let yearMonths = byYear[year] ?? []
            let from1998 = yearMonths.filter { $0.period.year >= 1998 }
            var credits: [(month: Int, amount: Money)] = []
            for month in from1998 { credits.append((month.period.month, try month.base.times(creditRate(for: month.period)))) }
            let credited = try credits.map(\.amount).sum()
            var interest = Money.zero
            if year < transferYear && year >= 1998 && (balance != .zero || credited != .zero) {
                interest = try Self.interest(opening: balance, credits: credits, rate: try rates.rate(for: year))
            }
            if year == transferYear { currentYearPrincipal = credited }
            balance = try balance + credited + interest
            if let last = yearMonths.last {
                heldAt = last.placeCode
                let averageBase = Money.divideRoundingHalfUp(try yearMonths.map(\.base).sum().fen, by: yearMonths.count)
                var places: [PlaceMonths] = []
                for month in yearMonths {
                    if let index = places.firstIndex(where: { $0.placeCode == month.placeCode }) {
                        places[index].months += 1
                        places[index].lastMonth = max(places[index].lastMonth, month.period)
                    } else {
                        places.append(PlaceMonths(placeCode: month.placeCode, months: 1, lastMonth: month.period))
                    }
                }
                rows.append(
                    LedgerRow(
                        year: year, placeCode: last.placeCode, months: yearMonths.count, monthlyBase: Money(fen: averageBase),
                        employerRate: last.employerRate, personalRate: last.personalRate, credited: credited,
                        interest: interest, closingBalance: balance, places: places))
            } else if interest != .zero, let heldAt {
                // A year without contributions still earns interest: its row keeps the ledger
                // reconciling (the last closing balance is ② + ③).
                rows.append(
                    LedgerRow(
                        year: year, placeCode: heldAt, months: 0, monthlyBase: .zero, employerRate: .zero, personalRate: .zero,
                        credited: .zero, interest: interest, closingBalance: balance, places: []))
            }
        }
        let accountThroughLastYear = try balance - currentYearPrincipal
        let pooledMonths = sorted.filter { $0.period.year >= 1998 }
        let pooled: Money
        switch kind {
        case .general:
            pooled = try pooledMonths.map(\.base).sum().times(pooledShare)
        case .temporary:
            var shares: [Money] = []
            for month in pooledMonths { shares.append(try month.base.times(max(pooledShare, month.employerRate))) }
            pooled = try shares.sum()
        }
        let total = try pre1998Account + accountThroughLastYear + currentYearPrincipal
        return InformationForm(
            accountKind: kind, transferYear: transferYear, pre1998Account: pre1998Account,
            accountThroughLastYear: accountThroughLastYear, currentYearPrincipal: currentYearPrincipal,
            individualAccountTotal: total, pooledFund: pooled, totalRemitted: try total + pooled, ledger: rows, months: sorted)
    }
}

/// A form carries every month of a working life (hundreds), in every form and every
/// relationship handed on: read straight from the parsed value, not through `Decoder`'s
/// containers (the same fields, the same errors naming `months[i].field`).
extension ContributionMonth: JSONValueDecodable {
    public init(json: JSONValue, path: () -> [any CodingKey]) throws {
        guard case .object(let members) = json else { throw json.mismatch([String: JSONValue].self, path()) }
        // One pass over the members by name (hashing five names per month cost more than
        // parsing them), then the fields in their fixed order, so a bad month names the same
        // field whatever order its members came in.
        var period, base, employerRate, personalRate, placeCode: JSONValue?
        for (name, value) in members {
            switch name {
            case "period": period = value
            case "base": base = value
            case "employerRate": employerRate = value
            case "personalRate": personalRate = value
            case "placeCode": placeCode = value
            default: continue
            }
        }
        func field<T: TextCodable>(_ found: JSONValue?, _ name: String) throws -> T {
            guard let value = found else {
                throw DecodingError.keyNotFound(PathKey(stringValue: name), .init(codingPath: path(), debugDescription: "no value for \(name)"))
            }
            return try JSONValueDecoder.text(T.self, value, path: { path() + [PathKey(stringValue: name)] })
        }
        self.init(
            period: try field(period, "period"), base: try field(base, "base"), employerRate: try field(employerRate, "employerRate"),
            personalRate: try field(personalRate, "personalRate"), placeCode: try field(placeCode, "placeCode"))
    }
}
