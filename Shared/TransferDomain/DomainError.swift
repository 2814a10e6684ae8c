/// Invalid input to the domain: which field, and why.
///
/// Every parser and rule of the domain throws this for bad input, so an HTTP layer can answer
/// with a problem document naming the field.
public struct ValidationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The input field, in the API's spelling (e.g. `citizenId`, `remittance.amount`).
    public var field: String
    public var reason: String

    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }

    public var description: String { "\(field): \(reason)" }
}

/// A rule of the domain that a computation could not satisfy (not bad input).
public struct DomainError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
    /// A short, stable name of the rule, e.g. `form-arithmetic`; the dead-letter reason when an
    /// incoming event breaks it.
    public var code: String

    public init(_ description: String, code: String = "rule-violation") {
        self.description = description
        self.code = code
    }

    /// An amount outside what the domain can hold (see ``Money/limit``).
    public static func amountOutOfRange(_ what: String) -> DomainError {
        DomainError("\(what) is out of range: amounts are at most \(Money(fen: Money.limit)) yuan", code: "amount-out-of-range")
    }
}
