import Foundation
import TransferDomain

/// One record read back from a topic, as the audit sees it (no Kafka types: the audit logic is
/// pure and tested on synthetic streams).
public struct AuditRecord: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: String?
    public var headers: [String: String]
    public var value: Data?
    public var timestamp: Date?
    /// A signed header the record carries more than once (such a record is refused as ambiguous).
    public var repeatedHeader: String?

    public init(
        topic: String, partition: Int32, offset: Int64, key: String?, headers: [String: String], value: Data?, timestamp: Date?,
        repeatedHeader: String? = nil
    ) {
        self.repeatedHeader = repeatedHeader
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.headers = headers
        self.value = value
        self.timestamp = timestamp
    }

    /// `topic[partition]@offset`.
    public var place: String { "\(topic)[\(partition)]@\(offset)" }

    /// `topic[partition]@offset`, and the event id when there is one.
    public var evidence: String {
        "\(topic)[\(partition)]@\(offset)" + (headers["ce_id"].map { " ce_id=\($0)" } ?? "")
    }
}

/// Something the audit found: a broken invariant (a violation) or a delivery anomaly that the
/// system is built to absorb (reported, not a violation).
public struct Finding: Sendable, Hashable, Codable {
    public enum Severity: String, Sendable, Codable { case violation, anomaly }

    public var severity: Severity
    /// The rule, e.g. `completion-only-after-match`, `duplicate-effect`, `lost-event`.
    public var rule: String
    public var caseId: String?
    public var message: String
    /// Where: `topic[partition]@offset ce_id=...` of the records involved.
    public var evidence: [String]
}

/// One rebuilt case.
public struct CaseAudit: Sendable, Codable, Hashable {
    public var caseId: String
    public var origin: String?
    public var destination: String?
    public var contactLetterNo: String?
    public var destinationState: String?
    public var originState: String?
    public var expected: String?
    /// Net of refunds, as the destination would hold it.
    public var received: String
    /// Net of refunds received, as the origin would hold it.
    public var remitted: String
    public var terminal: Bool
    /// Days since the case's first event, for open cases.
    public var openForDays: Int?
    public var deadlines: [DeadlineCheck]
    /// The case's opening event is before the audited window: lost-event checks are off for it.
    public var partial: Bool
}

/// One step's deadline, recomputed with the working-day calendar.
public struct DeadlineCheck: Sendable, Codable, Hashable {
    public enum Status: String, Sendable, Codable { case met, breached, pending }
    public var step: String
    public var due: String
    public var done: String?
    public var status: Status
    public var provisional: Bool
}

/// A record of the dead-letter topic.
public struct DeadLetterEntry: Sendable, Codable, Hashable {
    public var evidence: String
    public var reason: String
    public var source: String
    public var consumer: String
    public var detail: String
}

/// A record the offices' rules refuse (a forged sender, another contact letter, a form that does
/// not add up, data that breaks the contract): not applied, not counted in the money, and not a
/// violation when a consumer dead-lettered it.
public struct RejectedRecord: Sendable, Codable, Hashable {
    public var evidence: String
    public var caseId: String?
    /// The dead-letter reason the office gives such a record, e.g. `wrong-sender`.
    public var reason: String
    public var message: String
    /// A dead-letter record refers to it.
    public var deadLettered: Bool
}

/// The audit's verdict.
public struct AuditReport: Sendable, Codable {
    public struct Money: Sendable, Codable, Hashable {
        /// Σ distinct remittances (supplementary included).
        public var remitted: String
        /// Σ excess refunds back to origins.
        public var refunded: String
        /// What completed cases say the destination received.
        public var completedReceived: String
        /// Net remitted on cases not completed.
        public var inFlight: String
        public var conserved: Bool
    }

    public struct Deadlines: Sendable, Codable, Hashable {
        public var met: Int
        public var breached: Int
        public var pending: Int
        public var provisional: Int
    }

    public var asOf: String
    public var recordsRead: Int
    public var distinctEvents: Int
    public var duplicateEvents: Int
    public var casesByDestinationState: [String: Int]
    public var casesByOriginState: [String: Int]
    public var openCases: [CaseAudit]
    public var money: Money
    public var deadlines: Deadlines
    public var findings: [Finding]
    public var deadLetters: [DeadLetterEntry]
    /// Records the offices' rules refuse, reported apart from the cases they name.
    public var rejected: [RejectedRecord]
    public var notes: [String]
    public var cases: [CaseAudit]
    /// Records whose signature verified, and records refused for their signature; `nil` when
    /// signatures were not checked (no key directory).
    public var signatures: Signatures?

    public struct Signatures: Sendable, Codable, Hashable {
        public var verified: Int
        public var refused: Int

        public init(verified: Int, refused: Int) {
            self.verified = verified
            self.refused = refused
        }
    }

    public var violations: [Finding] { findings.filter { $0.severity == .violation } }
    public var isClean: Bool { violations.isEmpty }
}
