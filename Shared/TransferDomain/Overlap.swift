/// Periods count once: the months a transfer brings in, set against the months the destination
/// already holds for the person (its own, and those of earlier transfers).
///
/// The regulations: a person with more than one relationship for the same months keeps one of
/// them; the others are cleared for those months, their individual-account savings are returned
/// to the person, and the personal contribution period is not counted twice (MOHRSS 2009
/// No. 187, "multiple relationships"); the destination does the clearing after the transfer:
/// "transfer first, clear afterwards" (先转后清, MOHRSS 2010 No. 70 Art. 10).
///
/// Decisions the project made where the rules are silent:
/// - The relationship kept for a month is the one already held at the destination: the person's
///   own months there (where they work now) and months credited by an earlier transfer. The
///   incoming month is the one cleared.
/// - What goes back to the person for a cleared month is its individual-account credit as the
///   origin's form posted it (the normalised 11% to 2005-12, 8% from 2006-01, of the month's base,
///   rounded half-up to the fen), without interest; a month before 1998 carries no credit in ②
///   and returns nothing. The pooled-fund share stays in the pooled fund.
/// - A month the destination already holds *at the same place* (the same payment coming back
///   with a later transfer) is neither counted again nor returned: it is already held.
public enum PeriodClearing {
    /// A transferred month that overlapped a month already held elsewhere.
    public struct Cleared: Hashable, Sendable {
        public var month: ContributionMonth
        /// Where the month is kept (counted).
        public var keptAt: OfficeCode
        /// What goes back to the person for it.
        public var returned: Money
    }

    public struct Outcome: Hashable, Sendable {
        /// The months credited: counted from now on.
        public var credited: [ContributionMonth] = []
        public var cleared: [Cleared] = []
        /// Months the destination already holds at the same place.
        public var alreadyHeld: [ContributionMonth] = []

        /// Σ returned over the cleared months.
        public func returnedTotal() throws(DomainError) -> Money { try cleared.map(\.returned).sum() }
    }

    /// Sets `transferred` against `held` (period → the place it is kept at).
    /// - Throws: ``DomainError`` when an amount leaves the range.
    public static func clear(_ transferred: [ContributionMonth], held: [YearMonth: OfficeCode]) throws(DomainError) -> Outcome {
        var held = held
        var outcome = Outcome()
        for month in transferred.sorted(by: { $0.period < $1.period }) {
            switch held[month.period] {
            case month.placeCode?:
                outcome.alreadyHeld.append(month)
            case let keptAt?:
                let returned = month.period.year >= 1998 ? try month.base.times(TransferCalculator.creditRate(for: month.period)) : .zero
                outcome.cleared.append(Cleared(month: month, keptAt: keptAt, returned: returned))
            case nil:
                held[month.period] = month.placeCode
                outcome.credited.append(month)
            }
        }
        return outcome
    }

    /// The months a person has contributed at `office` from `since` to `through`, as held months.
    public static func ownMonths(at office: OfficeCode, since: YearMonth, through: YearMonth) -> [YearMonth: OfficeCode] {
        var held: [YearMonth: OfficeCode] = [:]
        var period = since
        while period <= through {
            held[period] = office
            period = period.advanced(by: 1)
        }
        return held
    }
}
