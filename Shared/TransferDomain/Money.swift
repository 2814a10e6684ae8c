/// An amount of yuan, held exactly in integer fen (1 yuan = 100 fen).
///
/// Text form is yuan with exactly two decimals (`"108753.48"`), as on the documents and in events.
public struct Money: Hashable, Sendable, Comparable, TextCodable, CustomStringConvertible, AdditiveArithmetic {
    public var fen: Int

    public init(fen: Int) { self.fen = fen }
    public init(yuan: Int) { self.fen = yuan * 100 }

    public static let zero = Money(fen: 0)

    /// Parses `"123.45"` (also `"-0.50"`, `"7"` and `"7.5"`); more than two decimals is an error.
    /// - Throws: ``ValidationError`` on `field`.
    public init(_ text: String, field: String = "amount") throws(ValidationError) {
        var body = Substring(text)
        var negative = false
        if body.hasPrefix("-") {
            negative = true
            body = body.dropFirst()
        }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let whole = parts.first, !whole.isEmpty, whole.count <= 15,
              whole.allSatisfy({ $0.isASCII && $0.isNumber })
        else {
            throw ValidationError(field: field, reason: "\"\(text)\" is not an amount like 123.45")
        }
        var fraction = parts.count == 2 ? parts[1] : "00"
        guard (1...2).contains(fraction.count), fraction.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw ValidationError(field: field, reason: "\"\(text)\" must have one or two decimals")
        }
        if fraction.count == 1 { fraction += "0" }
        let value = (Int(whole) ?? 0) * 100 + (Int(fraction) ?? 0)
        fen = negative ? -value : value
    }

    public var description: String {
        let magnitude = fen.magnitude
        let cents = magnitude % 100
        return (fen < 0 ? "-" : "") + "\(magnitude / 100)." + (cents < 10 ? "0\(cents)" : "\(cents)")
    }

    public static func < (lhs: Money, rhs: Money) -> Bool { lhs.fen < rhs.fen }
    public static func + (lhs: Money, rhs: Money) -> Money { Money(fen: lhs.fen + rhs.fen) }
    public static func - (lhs: Money, rhs: Money) -> Money { Money(fen: lhs.fen - rhs.fen) }

    /// `self × rate`, rounded half-up (away from zero at .5) to the fen.
    public func times(_ rate: Rate) -> Money {
        Money(fen: Money.divideRoundingHalfUp(fen * rate.partsPerMillion, by: Rate.scale))
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
    public func sum() -> Money { reduce(.zero, +) }
}

/// A percentage held exactly, in parts per million (8.31% = 83 100 ppm).
///
/// Contribution rates, crediting (interest) rates and the 12% pooled-fund share are all rates.
public struct Rate: Hashable, Sendable, Comparable, TextCodable, CustomStringConvertible {
    static let scale = 1_000_000
    public var partsPerMillion: Int

    public init(partsPerMillion: Int) { self.partsPerMillion = partsPerMillion }

    /// Parses a percentage such as `"8.31"` or `"8.31%"` (up to four decimals).
    public init(percent text: String, field: String = "rate") throws(ValidationError) {
        let body = text.hasSuffix("%") ? String(text.dropLast()) : text
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let whole = Int(parts[0]), whole >= 0, whole <= 100 else {
            throw ValidationError(field: field, reason: "\"\(text)\" is not a percentage like 8.31")
        }
        var fraction = parts.count == 2 ? String(parts[1]) : ""
        guard fraction.count <= 4, fraction.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw ValidationError(field: field, reason: "\"\(text)\" has more than four decimals")
        }
        fraction += String(repeating: "0", count: 4 - fraction.count)
        partsPerMillion = whole * 10_000 + (Int(fraction) ?? 0)
    }

    public static func percent(_ text: String) -> Rate {
        (try? Rate(percent: text)) ?? Rate(partsPerMillion: 0)
    }

    public static let zero = Rate(partsPerMillion: 0)

    /// The percentage with up to four decimals, e.g. `8.31`.
    public var description: String {
        let whole = partsPerMillion / 10_000
        var fraction = String(partsPerMillion % 10_000)
        fraction = String(repeating: "0", count: 4 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return fraction.isEmpty ? "\(whole)" : "\(whole).\(fraction)"
    }

    public static func < (lhs: Rate, rhs: Rate) -> Bool { lhs.partsPerMillion < rhs.partsPerMillion }

    public static func parse(_ text: String) throws -> Rate { try Rate(percent: text) }
}
