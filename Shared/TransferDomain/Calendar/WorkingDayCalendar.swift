/// One year's published holiday schedule: public holidays and the weekend days that are made-up
/// working days (调休上班).
public struct HolidaySchedule: Sendable {
    public let year: Int
    /// The notice the schedule comes from.
    public let source: String
    /// `YYYY-MM-DD` → holiday name (weekend days inside a holiday period included).
    public let holidays: [String: String]
    /// `YYYY-MM-DD` of weekend days that are working days.
    public let makeUpWorkdays: [String]

    /// Every shipped year, oldest first.
    public static let published: [HolidaySchedule] = [year2020, year2021, year2022, year2023, year2024, year2025, year2026]
}

/// A deadline: the due date, and whether it rests on years with no published schedule.
public struct Deadline: Hashable, Sendable, Codable {
    public var due: LocalDate
    /// `true` when a counted year has no published schedule (weekdays only were counted).
    public var provisional: Bool

    public init(due: LocalDate, provisional: Bool) {
        self.due = due
        self.provisional = provisional
    }
}

/// China's working-day calendar: Monday-Friday that is not a public holiday, plus the designated
/// make-up weekend days. Years without a published schedule count weekdays only, and deadlines
/// that rest on them are marked provisional.
public struct WorkingDayCalendar: Sendable {
    private let holidays: Set<Int>
    private let makeUpWorkdays: Set<Int>
    public let coveredYears: Set<Int>

    public init(schedules: [HolidaySchedule] = HolidaySchedule.published) {
        func days(_ texts: some Sequence<String>) -> Set<Int> {
            Set(texts.compactMap { try? LocalDate($0).daysSinceEpoch })
        }
        holidays = days(schedules.flatMap(\.holidays.keys))
        makeUpWorkdays = days(schedules.flatMap(\.makeUpWorkdays))
        coveredYears = Set(schedules.map(\.year))
    }

    public static let standard = WorkingDayCalendar()

    public func hasSchedule(for year: Int) -> Bool { coveredYears.contains(year) }

    public func isWorkingDay(_ date: LocalDate) -> Bool {
        let day = date.daysSinceEpoch
        if makeUpWorkdays.contains(day) { return true }
        if holidays.contains(day) { return false }
        return !date.isWeekend
    }

    /// The `n`-th working day after `date` (the trigger day itself is not counted).
    public func adding(workingDays n: Int, after date: LocalDate) -> Deadline {
        var current = date
        var counted = 0
        var provisional = false
        while counted < n {
            current = current.adding(days: 1)
            if !hasSchedule(for: current.year) { provisional = true }
            if isWorkingDay(current) { counted += 1 }
        }
        return Deadline(due: current, provisional: provisional)
    }

    /// Working days after `start` up to and including `end` (0 when `end` is not after `start`).
    public func workingDays(after start: LocalDate, through end: LocalDate) -> Int {
        guard end > start else { return 0 }
        var count = 0
        var current = start
        while current < end {
            current = current.adding(days: 1)
            if isWorkingDay(current) { count += 1 }
        }
        return count
    }
}
