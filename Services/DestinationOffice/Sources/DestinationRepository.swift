import Foundation
import OfficeRuntime
import OfficeStorage
import TransferDomain

/// A person registered at this office, as stored.
struct DestinationPersonRecord: Codable, Sendable {
    var citizenId: String
    var name: String
    var hukouProvince: String
    var registeredOn: String
    var contributing: Bool
    var receivesPension: Bool
    var contributingSince: String
    var updatedAt: Date
}

/// A case at the destination, as stored: its facts, the history it is replayed from, and the
/// columns the lists filter on (state and due dates), kept in step by ``DestinationRecords/apply(_:to:from:calendar:)``.
struct DestinationCaseRecord: Codable, Sendable {
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
    /// The business date of the step that closed it.
    var closedOn: String? = nil
    /// `transfer` (an application) or `collection` (a temporary account collected at retirement).
    var purpose: String = LetterPurpose.transfer.rawValue

    var letterPurpose: LetterPurpose { LetterPurpose(rawValue: purpose) ?? .transfer }

    func decodedEvents() throws -> [DestinationCaseEvent] {
        try JSONDecoder().decode([DestinationCaseEvent].self, from: Data(events.utf8))
    }

    /// - Throws: ``StoredDataError`` when the stored case cannot be read or replayed.
    func replayed() throws -> DestinationCase {
        try StoredDataError.reading("case \(caseId)") {
            try DestinationCase.replay(id: try CaseID(caseId), submittedOn: try LocalDate(submittedOn), events: try decodedEvents())
        }
    }

    static let replays = ReplayCache<DestinationCase>(capacity: 512)
    var replayKey: String { "\(caseId) \(submittedOn)" }
}

extension DestinationCaseRecord: ReplayedCaseRecord {}

/// A place a person contributed before, posted by a completed transfer.
struct HistoryPlaceRecord: Codable, Sendable {
    var placeCode: String
    /// Decoded strictly: an unknown kind fails the read instead of passing for `general`.
    var accountKind: AccountKind
    var months: Int
    var lastContribution: String
}

/// A month a completed transfer brought in, and what became of it (``PeriodClearing``): credited
/// (counted from then on) or cleared (the month is kept at another place; its credit goes back to
/// the person). A person may hold the same month from more than one place.
struct HistoryMonthRecord: Codable, Sendable, Hashable {
    var period: String
    var placeCode: String
    /// `credited` or `cleared`.
    var status: String
    /// For a cleared month: the place it is kept (counted) at.
    var keptAt: String?
    /// For a cleared month: what goes back to the person, in fen.
    var returnedFen: Int
    var sourceCaseId: String
}

/// A line of the case list.
struct DestinationCaseSummaryRecord: Codable, Sendable {
    var caseId: String
    var citizenId: String
    var origin: String
    var state: String
    var submittedOn: String
    var originDueOn: String?
    var completionDueOn: String?
    var closedAt: Date?
}

/// The destination's tables within one transaction: what its routes, event handler and reviewer
/// read and write. Each backend implements it (``SQLiteDestinationRecords``,
/// ``PostgresDestinationRecords``); the business
/// questions (open, terminal, overdue) come from the domain (``CaseLifecycle``).
protocol DestinationRecords {
    /// The transaction these records live in (to publish events and take document numbers in it).
    var transaction: any StoreTransaction { get }

    func person(_ id: CitizenID) throws -> DestinationPersonRecord?
    /// Inserts or replaces the person.
    func save(_ person: DestinationPersonRecord) throws
    /// Adds `card` unless its holder already has one from that issuer.
    func addCard(_ card: SocialSecurityCard) throws
    /// The person's cards, oldest first.
    func cards(of id: CitizenID) throws -> [SocialSecurityCard]
    /// The places the person contributed before, by last contribution.
    func historyPlaces(of id: CitizenID) throws -> [HistoryPlaceRecord]
    /// Posts a place from a completed case (once per case and place, whatever the redelivery).
    func addHistoryPlace(_ place: HistoryPlaceRecord, citizen: String, sourceCase: String) throws
    /// The months transfers brought in, by period then place.
    func historyMonths(of id: CitizenID) throws -> [HistoryMonthRecord]
    /// Posts a month from a completed case (once per person, month and place, whatever the redelivery).
    func addHistoryMonth(_ month: HistoryMonthRecord, citizen: String) throws

    /// Records a payment certificate that arrived (once).
    func addCertificate(_ number: CertificateNumber, citizen: CitizenID, origin: OfficeCode, issuedOn: LocalDate) throws
    /// The certificate numbered `number`, if one arrived: for whom, from which origin, issued when.
    func certificate(_ number: CertificateNumber) throws -> (citizen: String, origin: String, issuedOn: String)?
    /// The certificates `origin` issued for `citizen`.
    func certificates(of citizen: CitizenID, from origin: OfficeCode) throws -> [CertificateNumber]

    func caseRecord(_ id: CaseID) throws -> DestinationCaseRecord?
    func insert(_ record: DestinationCaseRecord) throws
    func update(_ record: DestinationCaseRecord) throws
    /// How many open cases `citizen` has other than `caseId` (with `origin` only, when given).
    func openCases(of citizen: CitizenID, origin: OfficeCode?, excluding caseId: String) throws -> Int
    /// Cases held until the payment certificate they name arrives, oldest first.
    func awaitingCertificate() throws -> [DestinationCaseRecord]

    /// Posts a remittance (its id is unique: a second post of it fails).
    func addRemittance(_ remittance: RemittanceRow) throws
    /// A case's remittances in the order they were posted.
    func remittances(of id: CaseID) throws -> [RemittanceRow]

    /// One page of the case list, ordered by submission day then case id, and the total matching.
    func cases(_ filter: CaseFilter<DestinationCaseState>, _ page: Page) throws -> (cases: [DestinationCaseSummaryRecord], total: Int)
    /// Cases by state and overdue on `today`.
    func counts(today: LocalDate) throws -> CaseCounts<DestinationCaseState>
}

extension DestinationRecords {
    /// Applies `event` to the stored case and saves it; returns the outcome and the case after.
    ///
    /// `current` is the case as `record` holds it, when the caller has it from the `apply` just
    /// before (the stored history, which carries the origin's whole ledger, is then not read
    /// again); the event is appended to the stored history without rewriting it.
    @discardableResult
    func apply(
        _ event: DestinationCaseEvent, to record: inout DestinationCaseRecord, from current: DestinationCase? = nil,
        calendar: WorkingDayCalendar
    ) throws -> (TransitionOutcome, DestinationCase) {
        var domain = try current ?? record.domainCase()
        let outcome = try domain.apply(event)
        guard outcome == .applied else { return (outcome, domain) }
        record.events = try CaseHistory.appending(event, to: record.events)
        record.keep(domain)
        record.state = domain.state.rawValue
        record.contactLetterNo = domain.contactLetter?.rawValue
        let deadlines = domain.deadlines(calendar: calendar)
        record.originDueOn = deadlines["originAnswer"]?.due.description
        record.completionDueOn = deadlines["completion"]?.due.description
        record.updatedAt = Date()
        if domain.state.isTerminal, record.closedAt == nil {
            record.closedAt = record.updatedAt
            record.closedOn = domain.timeline.last?.on.description
        }
        try update(record)
        return (outcome, domain)
    }
}

/// Opens transactions on the office's store and gives the destination's records in them.
struct DestinationRepository: ServiceRepository {
    let store: any OfficeStore

    static func records(_ transaction: SQLiteTransaction) throws -> any DestinationRecords { SQLiteDestinationRecords(transaction) }
    static func records(_ transaction: PostgresTransaction) throws -> any DestinationRecords { PostgresDestinationRecords(transaction) }
}
