/// An amount of yuan, held exactly in integer fen (1 yuan = 100 fen).
///
/// Text form is yuan with exactly two decimals (`"108753.48"`), as on the documents and in events.
///
/// Every amount is within ±``limit`` (just under ten trillion yuan, far above any real ledger) and
/// all arithmetic is checked: a result outside the range throws ``DomainError`` instead of
/// trapping, so no input, however large, can crash an office.
public struct Money: Hashable, Sendable, Comparable, TextCodable, CustomStringConvertible {
    public var fen: Int

    /// The largest magnitude of an amount, in fen: 9,999,999,999,999.99 yuan (13 digits of yuan).
    public static let limit = 999_999_999_999_999

    public init(fen: Int) { self.fen = fen }
    public init(yuan: Int) { self.fen = yuan * 100 }

    public static let zero = Money(fen: 0)

    /// Whether the amount is within ±``limit``.
    public var isInRange: Bool { fen.magnitude <= Money.limit.magnitude }

    /// Parses `"123.45"` (also `"-0.50"`, `"7"` and `"7.5"`); more than two decimals, an exponent,
    /// or more than 13 digits of yuan is an error.
    /// - Throws: ``ValidationError`` on `field`.
    public init(_ text: String, field: String = "amount") throws(ValidationError) {
        // Read byte by byte (amounts come by the hundred in every form): an optional minus, the
        // yuan digits, and one or two decimals after a point.
        let bytes = text.utf8
        var index = bytes.startIndex
        let negative = index != bytes.endIndex && bytes[index] == UInt8(ascii: "-")
        if negative { index = bytes.index(after: index) }
        var whole = 0
        var wholeDigits = 0
        var significant = 0
        while index != bytes.endIndex, bytes[index] != UInt8(ascii: ".") {
            let byte = bytes[index]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else {
                throw ValidationError(field: field, reason: "\"\(text)\" is not an amount like 123.45")
            }
            if significant > 0 || byte != UInt8(ascii: "0") { significant += 1 }
            if significant <= 13 { whole = whole * 10 + Int(byte - UInt8(ascii: "0")) }
            wholeDigits += 1
            index = bytes.index(after: index)
        }
        let hasPoint = index != bytes.endIndex
        var fraction = 0
        var fractionDigits = 0
        var fractionIsDigits = true
        if hasPoint {
            index = bytes.index(after: index)
            while index != bytes.endIndex {
                let byte = bytes[index]
                if byte == UInt8(ascii: ".") {  // a second point
                    throw ValidationError(field: field, reason: "\"\(text)\" is not an amount like 123.45")
                }
                if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { fraction = fraction * 10 + Int(byte - UInt8(ascii: "0")) } else { fractionIsDigits = false }
                fractionDigits += 1
                index = bytes.index(after: index)
            }
        }
        guard wholeDigits > 0 else { throw ValidationError(field: field, reason: "\"\(text)\" is not an amount like 123.45") }
        guard significant <= 13 else {
            throw ValidationError(field: field, reason: "\"\(text)\" is too large: at most \(Money(fen: Money.limit)) yuan")
        }
        if hasPoint {
            guard fractionIsDigits, (1...2).contains(fractionDigits) else {
                throw ValidationError(field: field, reason: "\"\(text)\" must have one or two decimals")
            }
            if fractionDigits == 1 { fraction *= 10 }
        }
        let value = whole * 100 + fraction
        fen = negative ? -value : value
    }

    public var description: String {
        let magnitude = fen.magnitude
        let cents = magnitude % 100
        return (fen < 0 ? "-" : "") + "\(magnitude / 100)." + (cents < 10 ? "0\(cents)" : "\(cents)")
    }

    public static func < (lhs: Money, rhs: Money) -> Bool { lhs.fen < rhs.fen }

    /// - Throws: ``DomainError`` when the sum leaves the range.
    public static func + (lhs: Money, rhs: Money) throws(DomainError) -> Money {
        try checked(lhs.fen.addingReportingOverflow(rhs.fen), "\(lhs) + \(rhs)")
    }

    /// - Throws: ``DomainError`` when the difference leaves the range.
    public static func - (lhs: Money, rhs: Money) throws(DomainError) -> Money {
        try checked(lhs.fen.subtractingReportingOverflow(rhs.fen), "\(lhs) - \(rhs)")
    }

    private static func checked(_ result: (partialValue: Int, overflow: Bool), _ what: String) throws(DomainError) -> Money {
        let money = Money(fen: result.partialValue)
        guard !result.overflow, money.isInRange else { throw .amountOutOfRange(what) }
        return money
    }

    /// `self × rate`, rounded half-up (away from zero at .5) to the fen; exact for any amount and
    /// rate (the product is taken at double width).
    /// - Throws: ``DomainError`` when the result leaves the range.
    public func times(_ rate: Rate) throws(DomainError) -> Money {
        let fen = try Money.multiplyDividingRoundingHalfUp(self.fen, rate.partsPerMillion, by: Rate.scale, "\(self) × \(rate)%")
        let money = Money(fen: fen)
        guard money.isInRange else { throw .amountOutOfRange("\(self) × \(rate)%") }
        return money
    }

    /// `a × b / denominator` rounded half-up (ties away from zero), with the product at double
    /// width; denominator > 0.
    /// - Throws: ``DomainError`` when the quotient does not fit an `Int`.
    public static func multiplyDividingRoundingHalfUp(_ a: Int, _ b: Int, by denominator: Int, _ what: String) throws(DomainError) -> Int {
        let negative = (a < 0) != (b < 0)
        let product = a.magnitude.multipliedFullWidth(by: b.magnitude)
        let divisor = denominator.magnitude
        guard product.high < divisor else { throw .amountOutOfRange(what) }
        let (quotient, remainder) = divisor.dividingFullWidth(product)
        let rounded = remainder >= divisor - remainder ? quotient + 1 : quotient
        guard rounded <= UInt(Int.max) else { throw .amountOutOfRange(what) }
        return negative ? -Int(rounded) : Int(rounded)
    }

    /// `numerator / denominator` rounded half-up (ties away from zero); denominator > 0.
    public static func divideRoundingHalfUp(_ numerator: Int, by denominator: Int) -> Int {
        let (quotient, remainder) = numerator.quotientAndRemainder(dividingBy: denominator)
        if remainder.magnitude * 2 >= denominator.magnitude {
            return quotient + (numerator < 0 ? -1 : 1)
        }
        return quotient
    }

    public static func parse(_ text: String) throws -> Money { try Money(text) }
}

extension Sequence where Element == Money {
    /// The sum of the amounts.
    /// - Throws: ``DomainError`` when a partial sum leaves the range.
    public func sum() throws(DomainError) -> Money {
        var total = Money.zero
        for amount in self { total = try total + amount }
        return total
    }
}

/// A percentage held exactly, in parts per million (8.31% = 83 100 ppm).
///
/// Contribution rates, crediting (interest) rates and the 12% pooled-fund share are all rates.
public struct Rate: Hashable, Sendable, Comparable, TextCodable, CustomStringConvertible {
    static let scale = 1_000_000
    public var partsPerMillion: Int

    public init(partsPerMillion: Int) { self.partsPerMillion = partsPerMillion }

    /// Parses a percentage such as `"8.31"` or `"8.31%"`: digits of at most 100, optionally a
    /// point and up to four decimals, optionally `%`. No sign, no spaces: `"-0.5"` is refused,
    /// never read as 0.5 %. Read byte by byte (forms carry hundreds of rates).
    public init(percent text: String, field: String = "rate") throws(ValidationError) {
        switch Self.reading(text) {
        case .rate(let parsed): partsPerMillion = parsed
        case .tooManyDecimals: throw ValidationError(field: field, reason: "\"\(text)\" has more than four decimals")
        case .notAPercentage: throw ValidationError(field: field, reason: "\"\(text)\" is not a percentage like 8.31")
        }
    }

    private enum Reading { case rate(Int), tooManyDecimals, notAPercentage }

    private static func reading(_ text: String) -> Reading {
        var whole = 0
        var wholeDigits = 0
        var fraction = 0
        var fractionDigits = -1  // no point yet
        var ended = false
        for byte in text.utf8 {
            guard !ended else { return .notAPercentage }
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                let digit = Int(byte - UInt8(ascii: "0"))
                if fractionDigits < 0 {
                    whole = whole * 10 + digit
                    wholeDigits += 1
                    guard whole <= 100 else { return .notAPercentage }
                } else {
                    fraction = fraction * 10 + digit
                    fractionDigits += 1
                    guard fractionDigits <= 4 else { return wholeDigits > 0 && onlyDigits(after: text) ? .tooManyDecimals : .notAPercentage }
                }
            case UInt8(ascii: "."):
                guard fractionDigits < 0 else { return .notAPercentage }
                fractionDigits = 0
            case UInt8(ascii: "%"): ended = true
            default: return .notAPercentage
            }
        }
        guard wholeDigits > 0 else { return .notAPercentage }
        for _ in max(fractionDigits, 0)..<4 { fraction *= 10 }
        return .rate(whole * 10_000 + fraction)
    }

    /// Whether everything after the point is digits (an optional final `%` aside): the rate was
    /// well formed but for its number of decimals.
    private static func onlyDigits(after text: String) -> Bool {
        guard let point = text.utf8.firstIndex(of: UInt8(ascii: ".")) else { return false }
        var rest = text.utf8[text.utf8.index(after: point)...]
        if rest.last == UInt8(ascii: "%") { rest = rest.dropLast() }
        return rest.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    /// A rate written in the code (`.percent("8.31")`). Only for literals: a typo is a
    /// programming error and stops the program at once instead of becoming 0 %.
    public static func percent(_ literal: StaticString) -> Rate {
        let text = literal.description
        do {
            return try Rate(percent: text)
        } catch {
            preconditionFailure("invalid rate literal \"\(text)\": \(error)")
        }
    }

    public static let zero = Rate(partsPerMillion: 0)

    /// The percentage with up to four decimals, e.g. `8.31` (a negative rate, which no reading
    /// gives, as `-8.31`).
    public var description: String {
        let magnitude = partsPerMillion.magnitude
        let sign = partsPerMillion < 0 ? "-" : ""
        var fraction = String(magnitude % 10_000)
        fraction = String(repeating: "0", count: 4 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return fraction.isEmpty ? "\(sign)\(magnitude / 10_000)" : "\(sign)\(magnitude / 10_000).\(fraction)"
    }

    public static func < (lhs: Rate, rhs: Rate) -> Bool { lhs.partsPerMillion < rhs.partsPerMillion }

    public static func parse(_ text: String) throws -> Rate { try Rate(percent: text) }
}

/// Bounds an office puts on the amounts it is given: far above any real value, they keep nonsense
/// (and arithmetic near the edge of ``Money/limit``) out of the records.
public enum AmountLimits {
    /// A monthly contribution base: at most 1,000,000.00 yuan. Bases are clamped to 300% of the
    /// local average wage; no city's ceiling comes near 100,000 yuan a month.
    public static let monthlyBase = Money(yuan: 1_000_000)
    /// Any other amount held for one person (arrears, the pre-1998 account): at most
    /// 100,000,000.00 yuan.
    public static let personAmount = Money(yuan: 100_000_000)

    /// - Throws: ``ValidationError`` on `field` when `amount` is negative or above `limit`.
    public static func check(_ amount: Money, atMost limit: Money, positive: Bool = false, field: String) throws(ValidationError) {
        if positive ? amount <= .zero : amount < .zero {
            throw ValidationError(field: field, reason: positive ? "must be positive" : "must not be negative")
        }
        if amount > limit { throw ValidationError(field: field, reason: "\(amount) is above the limit of \(limit) yuan") }
    }
}
