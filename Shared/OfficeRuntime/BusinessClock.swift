import Foundation
import TransferDomain

/// Today's business date in Asia/Shanghai (UTC+8 all year: China has no daylight saving time).
public struct BusinessClock: Sendable {
    private let now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date = { Date() }) {
        self.now = now
    }

    /// A clock whose business date is `date` today and advances with real time from there (for
    /// tests, rehearsals and demos that must give the same answer on any day).
    public init(startingOn date: LocalDate) {
        let shift = Double(date.daysSinceEpoch - Self.businessDate(of: Date()).daysSinceEpoch) * 86_400
        self.init(now: { Date().addingTimeInterval(shift) })
    }

    public var currentTime: Date { now() }

    public var today: LocalDate { Self.businessDate(of: now()) }

    /// The Shanghai business date of an instant.
    public static func businessDate(of instant: Date) -> LocalDate {
        let shanghai = instant.timeIntervalSince1970 + 8 * 3600
        return LocalDate(daysSinceEpoch: Int((shanghai / 86_400).rounded(.down)))
    }
}
