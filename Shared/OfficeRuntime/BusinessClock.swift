import Foundation
import TransferDomain

/// Today's business date in Asia/Shanghai (UTC+8 all year: China has no daylight saving time).
public struct BusinessClock: Sendable {
    private let now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date = { Date() }) {
        self.now = now
    }

    public var currentTime: Date { now() }

    public var today: LocalDate {
        let shanghai = now().timeIntervalSince1970 + 8 * 3600
        return LocalDate(daysSinceEpoch: Int((shanghai / 86_400).rounded(.down)))
    }
}
