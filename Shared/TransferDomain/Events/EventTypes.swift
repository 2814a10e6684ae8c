/// The event types of contract v1 (DESIGN.md, "The event contract").
public enum EventType: String, CaseIterable, Sendable, Hashable, Codable {
    // destination → origin
    case contactLetterIssued = "contact-letter-issued"
    case applicationRejected = "application-rejected"
    case temporaryAccountOpened = "temporary-account-opened"
    case reconciliationDiscrepancyRaised = "reconciliation-discrepancy-raised"
    case excessRefunded = "excess-refunded"
    case transferCompleted = "transfer-completed"
    // destination → origin of the same office
    case relationshipReceived = "relationship-received"
    // origin → destination
    case paymentCertificateIssued = "payment-certificate-issued"
    case contactLetterReturned = "contact-letter-returned"
    case infoFormIssued = "info-form-issued"
    case fundsRemitted = "funds-remitted"
    case originRelationshipTerminated = "origin-relationship-terminated"

    /// The contract's major version; a consumer refuses any other.
    public static let majorVersion = 1
    /// The version of the whole contract: v1's data (``majorVersion`` stays 1, so `ce_type` names
    /// do not change) with required sender signatures (since 2) and one inbox topic per office
    /// and role (since 3: a city can run both roles side by side).
    public static let contractVersion = 3
    public static let typePrefix = "pension.transfer."

    /// The `ce_type` header value, e.g. `pension.transfer.funds-remitted.v1`.
    public var ceType: String { "\(Self.typePrefix)\(rawValue).v\(Self.majorVersion)" }

    /// Which office writes it.
    public var writer: OfficeRole {
        switch self {
        case .contactLetterIssued, .applicationRejected, .temporaryAccountOpened, .reconciliationDiscrepancyRaised,
            .excessRefunded, .transferCompleted, .relationshipReceived:
            return .destination
        case .paymentCertificateIssued, .contactLetterReturned, .infoFormIssued, .fundsRemitted,
            .originRelationshipTerminated:
            return .origin
        }
    }

    /// Which office reads it: the other role.
    public var reader: OfficeRole { writer.other }
}

/// The two roles an office plays in a case.
public enum OfficeRole: String, Sendable, Hashable, Codable, CaseIterable {
    case origin, destination

    /// The role across a case from this one.
    public var other: OfficeRole { self == .origin ? .destination : .origin }
}

/// Default topic names (configurable in the services): one inbox per office and role, written by
/// the offices that send it mail and read by that office's service of that role only, and the
/// dead-letter topic. A city that runs both roles has two inboxes, so neither side ever fetches
/// (or refuses) the other's mail.
public enum Topics {
    public static let inboxPrefix = "pension.transfer.inbox."
    public static let deadLetter = "pension.transfer.dead-letter"

    /// The inbox of `office`'s `role` service under `prefix`, e.g. `pension.transfer.inbox.510100.destination`.
    public static func inbox(_ office: OfficeCode, _ role: OfficeRole, prefix: String = inboxPrefix) -> String {
        prefix + inboxSuffix(office, role)
    }

    /// What an inbox's name ends in, whatever the prefix: `<code>.<role>`.
    public static func inboxSuffix(_ office: OfficeCode, _ role: OfficeRole) -> String { "\(office.rawValue).\(role.rawValue)" }

    /// The office and role whose inbox `topic` is under `prefix`; `nil` for any other topic.
    public static func inboxOwner(_ topic: String, prefix: String = inboxPrefix) -> (office: OfficeCode, role: OfficeRole)? {
        guard topic.hasPrefix(prefix) else { return nil }
        let parts = topic.dropFirst(prefix.count).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let office = try? OfficeCode(String(parts[0])), let role = OfficeRole(rawValue: String(parts[1])) else { return nil }
        return (office, role)
    }
}
