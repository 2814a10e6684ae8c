import Foundation
import TransferDomain

/// How the console writes money, dates and deadlines.
public enum Format {
    /// Yuan with two decimals and thousands grouped: `12,345.67`.
    public static func money(_ money: Money) -> String {
        let magnitude = money.fen.magnitude
        var whole = String(magnitude / 100)
        var grouped = ""
        while whole.count > 3 {
            grouped = "," + whole.suffix(3) + grouped
            whole = String(whole.dropLast(3))
        }
        let cents = magnitude % 100
        return (money.fen < 0 ? "-" : "") + whole + grouped + "." + (cents < 10 ? "0\(cents)" : "\(cents)")
    }

    /// A deadline in words: "3 working days left", "due today", "2 working days overdue".
    public static func remaining(until due: LocalDate, today: LocalDate, calendar: WorkingDayCalendar, t: [String: String]) -> String {
        if due == today { return t["dueToday"] ?? "due today" }
        if due > today {
            return "\(calendar.workingDays(after: today, through: due)) \(t["daysLeft"] ?? "working days left")"
        }
        return "\(max(1, calendar.workingDays(after: due, through: today))) \(t["daysLate"] ?? "working days overdue")"
    }

    /// A wall-clock time as `YYYY-MM-DD HH:MM:SS` (UTC+8, the offices' time zone).
    public static func time(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 8 * 3600)!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
    }
}
