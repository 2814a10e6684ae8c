import Foundation
import GRDB
import OfficeRuntime
import TransferDomain

/// A person's relationship with this office, as stored.
struct PersonRecord: Codable, FetchableRecord, PersistableRecord, Sendable {
    static let databaseTableName = "person"
    var citizenId: String
    var name: String
    var hukouProvince: String
    /// Decoded strictly: a value the schema does not know fails the read (it is never taken for
    /// another status, which could make a person transferable).
    var status: RelationshipStatus
    var arrearsFen: Int
    var pre1998Fen: Int
    var receivesPension: Bool
    var accountKind: AccountKind
    var transferredBy: String?
    var updatedAt: Date
}

struct MonthRecord: Codable, FetchableRecord, PersistableRecord, Sendable {
    static let databaseTableName = "contributionMonth"
    var citizenId: String
    var period: String
    var baseFen: Int
    var employerRate: String
    var personalRate: String
    var placeCode: String

    func month() throws -> ContributionMonth {
        ContributionMonth(
            period: try YearMonth(period), base: Money(fen: baseFen), employerRate: try Rate(percent: employerRate),
            personalRate: try Rate(percent: personalRate), placeCode: try OfficeCode(placeCode))
    }
}

struct CaseRecord: Codable, FetchableRecord, PersistableRecord, Sendable {
    static let databaseTableName = "originCase"
    var caseId: String
    var contactLetterNo: String
    var citizenId: String
    var destination: String
    var receivedOn: String
    var dueOn: String
    var state: String
    /// JSON array of the OriginCaseEvents applied, in order: the case is their replay.
    var events: String
    var updatedAt: Date

    func decodedEvents() throws -> [OriginCaseEvent] {
        try JSONDecoder().decode([OriginCaseEvent].self, from: Data(events.utf8))
    }

    func domainCase() throws -> OriginCase {
        try OriginCase.replay(
            id: try CaseID(caseId), contactLetter: try ContactLetterNumber(contactLetterNo), receivedOn: try LocalDate(receivedOn),
            events: try decodedEvents())
    }
}

/// Reading and writing the origin's records inside a transaction.
enum OriginStore {
    static func person(_ id: CitizenID, _ db: Database) throws -> PersonRecord? {
        try PersonRecord.fetchOne(db, key: id.rawValue)
    }

    static func months(_ id: CitizenID, _ db: Database) throws -> [ContributionMonth] {
        try MonthRecord.filter(Column("citizenId") == id.rawValue).order(Column("period")).fetchAll(db).map { try $0.month() }
    }

    static func caseRecord(id: CaseID, _ db: Database) throws -> CaseRecord? {
        try CaseRecord.fetchOne(db, key: id.description)
    }

    static func caseRecord(letter: ContactLetterNumber, _ db: Database) throws -> CaseRecord? {
        try CaseRecord.filter(Column("contactLetterNo") == letter.rawValue).fetchOne(db)
    }

    /// Applies `event` to the stored case and saves it with its state.
    @discardableResult
    static func apply(_ event: OriginCaseEvent, to record: inout CaseRecord, _ db: Database) throws -> TransitionOutcome {
        try apply([event], to: &record, db)[0]
    }

    /// Applies `events` in order to the stored case and saves it once: the stored history is
    /// read once and the applied events appended to it (a form carries the whole ledger).
    @discardableResult
    static func apply(_ newEvents: [OriginCaseEvent], to record: inout CaseRecord, _ db: Database) throws -> [TransitionOutcome] {
        var domain = try OriginCase.replay(
            id: try CaseID(record.caseId), contactLetter: try ContactLetterNumber(record.contactLetterNo),
            receivedOn: try LocalDate(record.receivedOn), events: try record.decodedEvents())
        var outcomes: [TransitionOutcome] = []
        var applied: [OriginCaseEvent] = []
        for event in newEvents {
            let outcome = try domain.apply(event)
            outcomes.append(outcome)
            if outcome == .applied { applied.append(event) }
        }
        guard !applied.isEmpty else { return outcomes }
        record.events = try CaseHistory.appending(applied, to: record.events)
        record.state = domain.state.rawValue
        record.updatedAt = Date()
        try record.save(db)
        return outcomes
    }
}
