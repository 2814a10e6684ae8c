import Foundation
import OfficeRuntime
import OfficeStorage
import TransferDomain

/// A person's relationship with this office, as stored.
struct PersonRecord: Codable, Sendable {
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

/// One month of contributions, as stored.
struct MonthRecord: Codable, Sendable {
    var citizenId: String
    var period: String
    var baseFen: Int
    var employerRate: String
    var personalRate: String
    var placeCode: String

    /// - Throws: ``StoredDataError`` when the stored month cannot be read.
    func month() throws -> ContributionMonth {
        try StoredDataError.reading("month \(period)") {
            ContributionMonth(
                period: try YearMonth(period), base: Money(fen: baseFen), employerRate: try Rate(percent: employerRate),
                personalRate: try Rate(percent: personalRate), placeCode: try OfficeCode(placeCode))
        }
    }
}

/// A case at the origin, as stored: its facts, the history it is replayed from, and the state
/// column the lists filter on, kept in step by ``OriginRecords/apply(_:to:)``.
struct CaseRecord: Codable, Sendable {
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

    /// - Throws: ``StoredDataError`` when the stored case cannot be read or replayed.
    func replayed() throws -> OriginCase {
        try StoredDataError.reading("case \(caseId)") {
            try OriginCase.replay(
                id: try CaseID(caseId), contactLetter: try ContactLetterNumber(contactLetterNo), receivedOn: try LocalDate(receivedOn),
                events: try decodedEvents())
        }
    }

    static let replays = ReplayCache<OriginCase>(capacity: 512)
    var replayKey: String { "\(caseId) \(contactLetterNo) \(receivedOn)" }
}

extension CaseRecord: ReplayedCaseRecord {}

/// A line of the case list.
struct OriginCaseSummaryRecord: Codable, Sendable {
    var caseId: String
    var contactLetterNo: String
    var destination: String
    var state: String
    var receivedOn: String
    var dueOn: String
}

/// The origin's tables within one transaction: what its routes and event handler read and
/// write. Each backend implements it (``SQLiteOriginRecords``, ``PostgresOriginRecords``); the
/// business questions (open,
/// terminal, overdue) come from the domain (``CaseLifecycle``).
protocol OriginRecords {
    /// The transaction these records live in (to publish events and take document numbers in it).
    var transaction: any StoreTransaction { get }

    func person(_ id: CitizenID) throws -> PersonRecord?
    /// Inserts or replaces the person.
    func save(_ person: PersonRecord) throws
    func update(_ person: PersonRecord) throws
    /// The person's months as stored, oldest first.
    func monthRecords(of id: CitizenID) throws -> [MonthRecord]
    /// Adds months not recorded yet (one statement on PostgreSQL: a history is hundreds of months).
    func insert(_ months: [MonthRecord]) throws
    /// Records an issued payment certificate with the materials it was issued on (JSON).
    func addCertificate(_ number: CertificateNumber, citizen: CitizenID, destination: OfficeCode, issuedOn: LocalDate, materials: String) throws
    /// The person this office issued certificate `number` for, if it issued it.
    func certificateHolder(_ number: CertificateNumber) throws -> String?

    func caseRecord(id: CaseID) throws -> CaseRecord?
    func caseRecord(letter: ContactLetterNumber) throws -> CaseRecord?
    func insert(_ record: CaseRecord) throws
    func update(_ record: CaseRecord) throws

    /// Posts a remittance (its id is unique: a second post of it fails).
    func addRemittance(_ remittance: RemittanceRow) throws
    /// A case's remittances in the order they were posted.
    func remittances(of id: CaseID) throws -> [RemittanceRow]
    /// Records a destination's decision that ends a case before any letter (rejection, temporary account).
    func addNotice(caseId: CaseID, eventType: EventType, citizen: CitizenID, reasons: [String], receivedOn: LocalDate) throws

    /// One page of the case list, ordered by the day the letter arrived then case id, and the total matching.
    func cases(_ filter: CaseFilter<OriginCaseState>, _ page: Page) throws -> (cases: [OriginCaseSummaryRecord], total: Int)
    /// Cases by state and overdue on `today`.
    func counts(today: LocalDate) throws -> CaseCounts<OriginCaseState>
}

extension OriginRecords {
    /// The person's contribution months, oldest first.
    func months(of id: CitizenID) throws -> [ContributionMonth] {
        try monthRecords(of: id).map { try $0.month() }
    }

    /// Applies `event` to the stored case and saves it with its state.
    @discardableResult
    func apply(_ event: OriginCaseEvent, to record: inout CaseRecord) throws -> TransitionOutcome {
        try apply([event], to: &record)[0]
    }

    /// Applies `events` in order to the stored case and saves it once: the stored history is
    /// read once and the applied events appended to it (a form carries the whole ledger).
    /// - Parameter admitting: checks the case as stored before anything is applied (a claim
    ///   against the office's own books); throwing refuses the events.
    @discardableResult
    func apply(
        _ newEvents: [OriginCaseEvent], to record: inout CaseRecord, admitting: (OriginCase) throws -> Void = { _ in }
    ) throws -> [TransitionOutcome] {
        var domain = try record.domainCase()
        try admitting(domain)
        var outcomes: [TransitionOutcome] = []
        var applied: [OriginCaseEvent] = []
        for event in newEvents {
            let outcome = try domain.apply(event)
            outcomes.append(outcome)
            if outcome == .applied { applied.append(event) }
        }
        guard !applied.isEmpty else { return outcomes }
        record.events = try CaseHistory.appending(applied, to: record.events)
        record.keep(domain)
        record.state = domain.state.rawValue
        record.updatedAt = Date()
        try update(record)
        return outcomes
    }
}

/// Opens transactions on the office's store and gives the origin's records in them.
struct OriginRepository: ServiceRepository {
    let store: any OfficeStore

    static func records(_ transaction: SQLiteTransaction) throws -> any OriginRecords { SQLiteOriginRecords(transaction) }
    static func records(_ transaction: PostgresTransaction) throws -> any OriginRecords { PostgresOriginRecords(transaction) }
}
