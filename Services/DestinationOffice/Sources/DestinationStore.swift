import Foundation
import GRDB
import OfficeRuntime
import TransferDomain

struct DestinationPersonRecord: Codable, FetchableRecord, PersistableRecord, Sendable {
    static let databaseTableName = "person"
    var citizenId: String
    var name: String
    var hukouProvince: String
    var registeredOn: String
    var contributing: Bool
    var receivesPension: Bool
    var contributingSince: String
    var updatedAt: Date
}

struct DestinationCaseRecord: Codable, FetchableRecord, PersistableRecord, Sendable {
    static let databaseTableName = "destinationCase"
    var caseId: String
    var citizenId: String
    var name: String
    var hukouProvince: String
    var origin: String
    var submittedOn: String
    var state: String
    var contactLetterNo: String?
    var certificateNo: String?
    var approvedTransfer: Bool
    var originDueOn: String?
    var completionDueOn: String?
    var originTerminatedOn: String?
    /// JSON array of the DestinationCaseEvents applied, in order: the case is their replay.
    var events: String
    var updatedAt: Date
    /// When the case reached a terminal state (wall clock); nil while it is open.
    var closedAt: Date? = nil

    func decodedEvents() throws -> [DestinationCaseEvent] {
        try JSONDecoder().decode([DestinationCaseEvent].self, from: Data(events.utf8))
    }

    func domainCase() throws -> DestinationCase {
        try DestinationCase.replay(id: try CaseID(caseId), submittedOn: try LocalDate(submittedOn), events: try decodedEvents())
    }
}

enum DestinationStore {
    static func person(_ id: CitizenID, _ db: Database) throws -> DestinationPersonRecord? {
        try DestinationPersonRecord.fetchOne(db, key: id.rawValue)
    }

    static func caseRecord(_ id: CaseID, _ db: Database) throws -> DestinationCaseRecord? {
        try DestinationCaseRecord.fetchOne(db, key: id.description)
    }

    /// Cases of `citizen` not in a terminal state, other than `caseId`.
    static func openCases(of citizen: CitizenID, excluding caseId: String, _ db: Database) throws -> Int {
        try DestinationCaseRecord
            .filter(Column("citizenId") == citizen.rawValue && Column("caseId") != caseId)
            .filter(!DestinationCaseState.terminalStates.map(\.rawValue).contains(Column("state")))
            .fetchCount(db)
    }

    /// Cases held until the payment certificate they name arrives.
    static func awaitingCertificate(_ db: Database) throws -> [DestinationCaseRecord] {
        try DestinationCaseRecord.filter(Column("state") == DestinationCaseState.awaitingCertificate.rawValue).order(Column("submittedOn")).fetchAll(db)
    }

    /// Applies `event` to the stored case and saves it; returns the outcome and the case after.
    ///
    /// `current` is the case as `record` holds it, when the caller has it from the `apply` just
    /// before (the stored history, which carries the origin's whole ledger, is then not read
    /// again); the event is appended to the stored history without rewriting it.
    @discardableResult
    static func apply(
        _ event: DestinationCaseEvent, to record: inout DestinationCaseRecord, from current: DestinationCase? = nil,
        calendar: WorkingDayCalendar, _ db: Database
    ) throws -> (TransitionOutcome, DestinationCase) {
        var domain = try current ?? record.domainCase()
        let outcome = try domain.apply(event)
        guard outcome == .applied else { return (outcome, domain) }
        record.events = try CaseHistory.appending(event, to: record.events)
        record.state = domain.state.rawValue
        record.contactLetterNo = domain.contactLetter?.rawValue
        let deadlines = domain.deadlines(calendar: calendar)
        record.originDueOn = deadlines["originAnswer"]?.due.description
        record.completionDueOn = deadlines["completion"]?.due.description
        record.updatedAt = Date()
        if domain.state.isTerminal, record.closedAt == nil { record.closedAt = record.updatedAt }
        try record.save(db)
        return (outcome, domain)
    }
}
