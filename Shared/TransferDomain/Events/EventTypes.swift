/// The event types of contract v1 (DESIGN.md, "The event contract").
public enum EventType: String, CaseIterable, Sendable, Hashable, Codable {
    // destination → origin
    case contactLetterIssued = "contact-letter-issued"
    case applicationRejected = "application-rejected"
    case temporaryAccountOpened = "temporary-account-opened"
    case reconciliationDiscrepancyRaised = "reconciliation-discrepancy-raised"
    case excessRefunded = "excess-refunded"
    case transferCompleted = "transfer-completed"
    // origin → destination
    case paymentCertificateIssued = "payment-certificate-issued"
    case contactLetterReturned = "contact-letter-returned"
    case infoFormIssued = "info-form-issued"
    case fundsRemitted = "funds-remitted"
    case originRelationshipTerminated = "origin-relationship-terminated"

    /// The contract's major version; a consumer refuses any other.
    public static let majorVersion = 1
    public static let typePrefix = "pension.transfer."

    /// The `ce_type` header value, e.g. `pension.transfer.funds-remitted.v1`.
    public var ceType: String { "\(Self.typePrefix)\(rawValue).v\(Self.majorVersion)" }

    /// Which office writes it.
    public var writer: OfficeRole {
        switch self {
        case .contactLetterIssued, .applicationRejected, .temporaryAccountOpened, .reconciliationDiscrepancyRaised,
            .excessRefunded, .transferCompleted:
            return .destination
        case .paymentCertificateIssued, .contactLetterReturned, .infoFormIssued, .fundsRemitted,
            .originRelationshipTerminated:
            return .origin
        }
    }

    /// The default topic it is written to.
    public var topic: String { writer.topic }
}

/// The two roles an office plays in a case.
public enum OfficeRole: String, Sendable, Hashable, Codable {
    case origin, destination

    /// The default topic written by offices in this role.
    public var topic: String {
        switch self {
        case .origin: return Topics.originEvents
        case .destination: return Topics.destinationEvents
        }
    }
}

/// Default topic names (configurable in the services).
public enum Topics {
    public static let destinationEvents = "pension.transfer.destination-events"
    public static let originEvents = "pension.transfer.origin-events"
    public static let deadLetter = "pension.transfer.dead-letter"
    public static let all = [destinationEvents, originEvents, deadLetter]
}
