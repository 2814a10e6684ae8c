import Testing
import TransferDomain

/// Issue 24, item 3: months paid at two places count once at the destination.
@Suite("Periods count once (overlapping months cleared)")
struct OverlapTests {
    static let shenzhen = Fixtures.office("440300")
    static let chengdu = Fixtures.office("510100")
    static let hangzhou = Fixtures.office("330100")

    static func months(_ from: String, _ to: String, at place: OfficeCode, base: String = "8000.00") -> [ContributionMonth] {
        var result: [ContributionMonth] = []
        var period = try! YearMonth(from)
        while period <= (try! YearMonth(to)) {
            result.append(ContributionMonth(period: period, base: try! Money(base), employerRate: .percent("16"), personalRate: .percent("8"), placeCode: place))
            period = period.advanced(by: 1)
        }
        return result
    }

    @Test("MOHRSS 2009 No. 187 and 2010 No. 70 Art. 10 (transfer first, clear afterwards): the months the person already pays at the destination are cleared from the transfer, counted once, and each one's individual-account credit goes back to the person")
    func overlapWithOwnMonths() throws {
        // Paid in Shenzhen to 2026-05, in Chengdu from 2026-03: March to May twice.
        let held = PeriodClearing.ownMonths(at: Self.chengdu, since: try YearMonth("2026-03"), through: try YearMonth("2026-06"))
        let outcome = try PeriodClearing.clear(Self.months("2025-01", "2026-05", at: Self.shenzhen), held: held)
        #expect(outcome.credited.count == 14)
        #expect(outcome.credited.last?.period == (try YearMonth("2026-02")))
        #expect(outcome.cleared.map(\.month.period.description) == ["2026-03", "2026-04", "2026-05"])
        #expect(outcome.cleared.allSatisfy { $0.keptAt == Self.chengdu && $0.returned == (try! Money("640.00")) }, "8% of 8000.00 each")
        #expect(try outcome.returnedTotal() == (try Money("1920.00")))
        #expect(outcome.alreadyHeld.isEmpty)
        // Counted once: 14 credited + Chengdu's own 4.
        #expect(outcome.credited.count + held.count == 18)
    }

    @Test("a month held from another place is cleared (11% before 2006, nothing before 1998); one held at the same place is neither counted nor returned again")
    func heldFromEarlierTransfers() throws {
        var held: [YearMonth: OfficeCode] = [:]
        for month in Self.months("1997-11", "2005-12", at: Self.hangzhou) { held[month.period] = Self.hangzhou }
        let incoming = Self.months("1997-12", "1998-01", at: Self.shenzhen, base: "1000.00") + Self.months("2005-12", "2006-01", at: Self.shenzhen, base: "1000.00")
            + Self.months("2004-06", "2004-06", at: Self.hangzhou, base: "1000.00")
        let outcome = try PeriodClearing.clear(incoming, held: held)
        #expect(outcome.cleared.map { "\($0.month.period) \($0.returned)" } == ["1997-12 0.00", "1998-01 110.00", "2005-12 110.00"])
        #expect(outcome.credited.map(\.period.description) == ["2006-01"])
        #expect(outcome.alreadyHeld.map(\.period.description) == ["2004-06"])
    }

    @Test("a form carries its months, and months that are not its ledger's are refused as a form that does not add up")
    func formMonths() throws {
        let record = Self.months("2024-07", "2026-02", at: Self.shenzhen)
        var form = try TransferCalculator.informationForm(
            months: record, pre1998Account: .zero, kind: .general, transferYear: 2026, rates: CreditingRates(overrides: [2025: .percent("2")]))
        #expect(form.months == record)
        #expect(form.isConsistent)
        form.months?[3].placeCode = Self.hangzhou
        #expect(form.arithmeticProblems == ["the form's months of 2024 by place 330100 1, 440300 5 are not the ledger's 440300 6"])
        form.months = record + [record[0]]
        #expect(form.arithmeticProblems.contains("the form's months hold 2024-07 twice"))
        form.months = nil
        #expect(form.isConsistent, "a form from before contract v3 has no months")
    }
}
