import Foundation
import GRDB
import OfficeRuntime
import TransferDomain

extension DestinationPersonRecord: FetchableRecord, PersistableRecord {
    static let databaseTableName = "person"
}

extension DestinationCaseRecord: FetchableRecord, PersistableRecord {
    static let databaseTableName = "destinationCase"
}

extension HistoryPlaceRecord: FetchableRecord {}
extension DestinationCaseSummaryRecord: FetchableRecord {}

/// The destination's records on SQLite (the tables of ``DestinationSchema``).
struct SQLiteDestinationRecords: DestinationRecords {
    let transaction: any StoreTransaction
    let db: Database

    init(_ transaction: any StoreTransaction) throws {
        self.transaction = transaction
        db = try SQLiteTransaction.of(transaction)
    }

    func person(_ id: CitizenID) throws -> DestinationPersonRecord? {
        try DestinationPersonRecord.fetchOne(db, key: id.rawValue)
    }

    func save(_ person: DestinationPersonRecord) throws {
        try person.save(db)
    }

    func addCard(_ card: SocialSecurityCard) throws {
        try db.execute(
            sql: "INSERT INTO card (citizenId, issuer, issuedOn) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            arguments: [card.holder.rawValue, card.issuer.rawValue, card.issuedOn.description])
    }

    func cards(of id: CitizenID) throws -> [SocialSecurityCard] {
        try Row.fetchAll(db, sql: "SELECT issuer, issuedOn FROM card WHERE citizenId = ? ORDER BY issuedOn", arguments: [id.rawValue]).map {
            SocialSecurityCard(holder: id, issuer: try OfficeCode($0["issuer"]), issuedOn: try LocalDate($0["issuedOn"]))
        }
    }

    func historyPlaces(of id: CitizenID) throws -> [HistoryPlaceRecord] {
        try HistoryPlaceRecord.fetchAll(
            db, sql: "SELECT placeCode, accountKind, months, lastContribution FROM historyPlace WHERE citizenId = ? ORDER BY lastContribution",
            arguments: [id.rawValue])
    }

    func addHistoryPlace(_ place: HistoryPlaceRecord, citizen: String, sourceCase: String) throws {
        try db.execute(
            sql: """
                INSERT INTO historyPlace (citizenId, placeCode, accountKind, months, lastContribution, sourceCaseId)
                VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                """,
            arguments: [citizen, place.placeCode, place.accountKind.rawValue, place.months, place.lastContribution, sourceCase])
    }

    func addCertificate(_ number: CertificateNumber, citizen: CitizenID, origin: OfficeCode, issuedOn: LocalDate) throws {
        try db.execute(
            sql: "INSERT INTO certificate (certificateNo, citizenId, origin, issuedOn) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            arguments: [number.rawValue, citizen.rawValue, origin.rawValue, issuedOn.description])
    }

    func certificate(_ number: CertificateNumber) throws -> (citizen: String, origin: String, issuedOn: String)? {
        try Row.fetchOne(db, sql: "SELECT citizenId, origin, issuedOn FROM certificate WHERE certificateNo = ?", arguments: [number.rawValue])
            .map { ($0["citizenId"], $0["origin"], $0["issuedOn"]) }
    }

    func certificates(of citizen: CitizenID, from origin: OfficeCode) throws -> [CertificateNumber] {
        try String.fetchAll(
            db, sql: "SELECT certificateNo FROM certificate WHERE citizenId = ? AND origin = ?", arguments: [citizen.rawValue, origin.rawValue]
        ).map { try CertificateNumber($0) }
    }

    func caseRecord(_ id: CaseID) throws -> DestinationCaseRecord? {
        try DestinationCaseRecord.fetchOne(db, key: id.description)
    }

    func insert(_ record: DestinationCaseRecord) throws {
        try record.insert(db)
    }

    func update(_ record: DestinationCaseRecord) throws {
        try record.update(db)
    }

    func openCases(of citizen: CitizenID, excluding caseId: String) throws -> Int {
        let open = CaseSQL.inStates(DestinationCaseState.openStates)
        return try Int.fetchOne(
            db, sql: "SELECT COUNT(*) FROM destinationCase WHERE citizenId = ? AND caseId <> ? AND \(open.sql)",
            arguments: StatementArguments([citizen.rawValue, caseId] + open.arguments)) ?? 0
    }

    func awaitingCertificate() throws -> [DestinationCaseRecord] {
        try DestinationCaseRecord.filter(Column("state") == DestinationCaseState.awaitingCertificate.rawValue).order(Column("submittedOn")).fetchAll(db)
    }

    func addRemittance(_ remittance: RemittanceRow) throws {
        try remittance.insert(db)
    }

    func remittances(of id: CaseID) throws -> [RemittanceRow] {
        try RemittanceRow.forCase(id, db)
    }

    func cases(_ filter: CaseFilter<DestinationCaseState>, _ page: Page) throws -> (cases: [DestinationCaseSummaryRecord], total: Int) {
        let (rows, total) = try CaseSQL.page(
            filter, page, table: "destinationCase",
            columns: "caseId, citizenId, origin, state, submittedOn, originDueOn, completionDueOn, closedAt", order: "submittedOn, caseId",
            deadlineColumn: Self.column, db)
        return (try rows.map { try DestinationCaseSummaryRecord(row: $0) }, total)
    }

    func counts(today: LocalDate) throws -> CaseCounts<DestinationCaseState> {
        try CaseSQL.counts(DestinationCaseState.self, table: "destinationCase", today: today, column: Self.column, db)
    }

    /// Where each deadline's due date is stored.
    static func column(_ deadline: DestinationDeadlineKind) -> String {
        switch deadline {
        case .originAnswer: "originDueOn"
        case .completion: "completionDueOn"
        }
    }
}
