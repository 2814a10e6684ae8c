import OfficeRuntime
import TransferDomain

/// What the origin office refuses, decided inside its store transactions; the API answers each
/// as a problem document (409), the console as a page. (A person not on record is
/// ``NotOnRecord``, as at the destination.)
enum OriginRefusal: Refusal, Equatable {
    /// The relationship was transferred out: nothing of it changes any more.
    case transferredOut(CitizenID, by: String?)
    /// A month already on record with other values (the request's `months[index]`).
    case monthRecordedOtherwise(YearMonth, index: Int)
    /// Only a contributing or suspended relationship can be suspended.
    case cannotSuspend(RelationshipStatus)
    /// A payment certificate is issued only once employment ended (suspended).
    case notSuspended(RelationshipStatus)
    /// A payment certificate needs at least one contribution month.
    case noMonths

    var problem: Problem {
        switch self {
        case .transferredOut(let id, let by): .conflict("the relationship of \(id.masked) was transferred out by \(by ?? "a transfer")")
        case .monthRecordedOtherwise(let period, let index): .conflict("\(period) is already recorded with other values", field: "months[\(index)]")
        case .cannotSuspend(let status): .conflict("a \(status) relationship cannot be suspended")
        case .notSuspended(let status): .conflict("a payment certificate is issued after employment ended (status is \(status))")
        case .noMonths: .conflict("no contribution months recorded")
        }
    }
}
