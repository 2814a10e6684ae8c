import Foundation
import GRDB
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
    @discardableResult
    static func apply(
        _ event: DestinationCaseEvent, to record: inout DestinationCaseRecord, calendar: WorkingDayCalendar, _ db: Database
    ) throws -> (TransitionOutcome, DestinationCase) {
        var events = try record.decodedEvents()
        var domain = try DestinationCase.replay(id: try CaseID(record.caseId), submittedOn: try LocalDate(record.submittedOn), events: events)
        let outcome = try domain.apply(event)
        guard outcome == .applied else { return (outcome, domain) }
        events.append(event)
        record.events = String(decoding: try JSONEncoder().encode(events), as: UTF8.self)
        record.state = domain.state.rawValue
        record.contactLetterNo = domain.contactLetter?.rawValue
        let deadlines = domain.deadlines(calendar: calendar)
        record.originDueOn = deadlines["originAnswer"]?.due.description
        record.completionDueOn = deadlines["completion"]?.due.description
        record.updatedAt = Date()
        try record.save(db)
        return (outcome, domain)
    }
}
