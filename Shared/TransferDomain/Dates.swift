/// A calendar date in Asia/Shanghai (business dates of the process), without time or zone.
public struct LocalDate: Hashable, Sendable, Comparable, TextCodable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// `nil` for a date that does not exist (e.g. 2023-02-29).
    public init?(year: Int, month: Int, day: Int) {
        guard (1...12).contains(month), day >= 1, day <= LocalDate.daysIn(year: year, month: month) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// The years a date may have (birth dates included): anything else is a typo.
    public static let validYears = 1800...2200

    /// Parses exactly `YYYY-MM-DD` (digits only, years ``validYears``).
    public init(_ text: String, field: String = "date") throws(ValidationError) {
        let bytes = Array(text.utf8)
        let digits = [0, 1, 2, 3, 5, 6, 8, 9]
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
              digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[$0]) }),
              let y = Int(text.prefix(4)), let m = Int(text.dropFirst(5).prefix(2)), let d = Int(text.suffix(2)),
              Self.validYears.contains(y), let date = LocalDate(year: y, month: m, day: d)
        else {
            throw ValidationError(field: field, reason: "\"\(text)\" is not a date like 2026-03-15 (years \(Self.validYears.lowerBound)-\(Self.validYears.upperBound))")
        }
        self = date
    }

    static func isLeap(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    static func daysIn(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 (proleptic Gregorian; H. Hinnant's civil algorithm).
    public var daysSinceEpoch: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public init(daysSinceEpoch days: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (m <= 2 ? 1 : 0)
        month = m
        day = d
    }

    public func adding(days: Int) -> LocalDate { LocalDate(daysSinceEpoch: daysSinceEpoch + days) }

    /// 1 = Monday ... 7 = Sunday (ISO 8601).
    public var isoWeekday: Int {
        let value = (daysSinceEpoch + 3) % 7  // 1970-01-01 was a Thursday
        return (value < 0 ? value + 7 : value) + 1
    }

    public var isWeekend: Bool { isoWeekday >= 6 }
    public var yearMonth: YearMonth { YearMonth(validYear: year, month: month) }

    /// Whole years from `birth` to this date (the age on this date).
    public func years(since birth: LocalDate) -> Int {
        var age = year - birth.year
        if (month, day) < (birth.month, birth.day) { age -= 1 }
        return age
    }

    public var description: String {
        "\(year)-\(month < 10 ? "0" : "")\(month)-\(day < 10 ? "0" : "")\(day)"
    }

    public static func < (lhs: LocalDate, rhs: LocalDate) -> Bool { lhs.daysSinceEpoch < rhs.daysSinceEpoch }

    public static func parse(_ text: String) throws -> LocalDate { try LocalDate(text) }
}

/// A contribution period: a year and month (`YYYY-MM`).
public struct YearMonth: Hashable, Sendable, Comparable, TextCodable, CustomStringConvertible, Strideable {
    public let year: Int
    public let month: Int

    public init(_ year: Int, _ month: Int) throws(ValidationError) {
        guard (1900...2200).contains(year), (1...12).contains(month) else {
            throw ValidationError(field: "month", reason: "\(year)-\(month) is not a valid month")
        }
        self.year = year
        self.month = month
    }

    init(validYear year: Int, month: Int) {
        self.year = year
        self.month = month
    }

    /// Parses exactly `YYYY-MM` (digits only, years 1900-2200).
    public init(_ text: String, field: String = "month") throws(ValidationError) {
        // Byte by byte, without copying (a form has a month per row).
        var (y, m) = (0, 0)
        var wellFormed = text.utf8.count == 7
        if wellFormed {
            for (position, byte) in text.utf8.enumerated() {
                if position == 4 {
                    wellFormed = byte == UInt8(ascii: "-")
                } else if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                    let digit = Int(byte - UInt8(ascii: "0"))
                    if position < 4 { y = y * 10 + digit } else { m = m * 10 + digit }
                } else {
                    wellFormed = false
                }
                if !wellFormed { break }
            }
        }
        guard wellFormed, (1900...2200).contains(y), (1...12).contains(m) else {
            throw ValidationError(field: field, reason: "\"\(text)\" is not a month like 2024-03")
        }
        self.init(validYear: y, month: m)
    }

    var index: Int { year * 12 + month - 1 }

    public func distance(to other: YearMonth) -> Int { other.index - index }
    public func advanced(by n: Int) -> YearMonth {
        let target = index + n
        return YearMonth(validYear: target / 12, month: target % 12 + 1)
    }

    public var description: String { "\(year)-\(month < 10 ? "0" : "")\(month)" }
    public static func < (lhs: YearMonth, rhs: YearMonth) -> Bool { lhs.index < rhs.index }

    public static func parse(_ text: String) throws -> YearMonth { try YearMonth(text) }
}
