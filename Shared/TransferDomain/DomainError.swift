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

    public init(_ description: String) {
        self.description = description
    }
}
