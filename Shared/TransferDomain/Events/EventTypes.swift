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
    /// The version of the whole contract: 2 is v1's data (``majorVersion`` stays 1, so `ce_type`
    /// names do not change) with required sender signatures and one inbox topic per office.
    public static let contractVersion = 2
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
}

/// The two roles an office plays in a case.
public enum OfficeRole: String, Sendable, Hashable, Codable {
    case origin, destination
}

/// Default topic names (configurable in the services): one inbox per office, written by the
/// offices that send it mail and read by that office only, and the dead-letter topic.
public enum Topics {
    public static let inboxPrefix = "pension.transfer.inbox."
    public static let deadLetter = "pension.transfer.dead-letter"

    /// The inbox of `office` under `prefix`.
    public static func inbox(_ office: OfficeCode, prefix: String = inboxPrefix) -> String { prefix + office.rawValue }
}
