import Foundation
import GRDB
import OfficeRuntime
import OfficeStorage
import TransferDomain

extension PersonRecord: FetchableRecord, PersistableRecord {
    static let databaseTableName = "person"
}

extension MonthRecord: FetchableRecord, PersistableRecord {
    static let databaseTableName = "contributionMonth"
}

extension CaseRecord: FetchableRecord, PersistableRecord {
    static let databaseTableName = "originCase"
}

extension OriginCaseSummaryRecord: FetchableRecord {}

/// The origin's records on SQLite (the tables of ``OriginSchema``).
struct SQLiteOriginRecords: OriginRecords {
    let transaction: any StoreTransaction
    let db: Database

    init(_ transaction: SQLiteTransaction) {
        self.transaction = transaction
        db = transaction.db
    }

    func person(_ id: CitizenID) throws -> PersonRecord? {
        try PersonRecord.fetchOne(db, primaryKey: "citizenId", id.rawValue)
    }

    func save(_ person: PersonRecord) throws {
        try person.save(db)
    }

    func update(_ person: PersonRecord) throws {
        try person.update(db)
    }

    func monthRecords(of id: CitizenID) throws -> [MonthRecord] {
        try MonthRecord.filter(Column("citizenId") == id.rawValue).order(Column("period")).fetchAll(db)
    }

    func insert(_ months: [MonthRecord]) throws {
        for month in months { try month.insert(db) }
    }

    func addCertificate(_ number: CertificateNumber, citizen: CitizenID, destination: OfficeCode, issuedOn: LocalDate, materials: String) throws {
        try db.execute(
            sql: "INSERT INTO certificate (certificateNo, citizenId, destination, issuedOn, materials) VALUES (?, ?, ?, ?, ?)",
            arguments: [number.rawValue, citizen.rawValue, destination.rawValue, issuedOn.description, materials])
    }

    func certificateHolder(_ number: CertificateNumber) throws -> String? {
        try String.fetchOne(db, sql: "SELECT citizenId FROM certificate WHERE certificateNo = ?", arguments: [number.rawValue])
    }

    func caseRecord(id: CaseID) throws -> CaseRecord? {
        try CaseRecord.fetchOne(db, primaryKey: "caseId", id.description)
    }

    func caseRecord(letter: ContactLetterNumber) throws -> CaseRecord? {
        try CaseRecord.filter(Column("contactLetterNo") == letter.rawValue).fetchOne(db)
    }

    func insert(_ record: CaseRecord) throws {
        try record.insert(db)
    }

    func update(_ record: CaseRecord) throws {
        try record.update(db)
    }

    func addRemittance(_ remittance: RemittanceRow) throws {
        try remittance.insert(db)
    }

    func remittances(of id: CaseID) throws -> [RemittanceRow] {
        try RemittanceRow.forCase(id, db)
    }

    func addNotice(caseId: CaseID, eventType: EventType, citizen: CitizenID, reasons: [String], receivedOn: LocalDate) throws {
        try db.execute(
            sql: "INSERT INTO notice (caseId, eventType, citizenId, reasons, receivedOn) VALUES (?, ?, ?, ?, ?)",
            arguments: [caseId.description, eventType.rawValue, citizen.rawValue, reasons.joined(separator: ","), receivedOn.description])
    }

    func cases(_ filter: CaseFilter<OriginCaseState>, _ page: Page) throws -> (cases: [OriginCaseSummaryRecord], total: Int) {
        let (rows, total) = try CaseSQL.page(
            filter, page, table: "originCase", columns: "caseId, contactLetterNo, destination, state, receivedOn, dueOn",
            order: "receivedOn, caseId", deadlineColumn: Self.column, db)
        return (try rows.map { try OriginCaseSummaryRecord(row: $0) }, total)
    }

    func counts(today: LocalDate) throws -> CaseCounts<OriginCaseState> {
        try CaseSQL.counts(OriginCaseState.self, table: "originCase", today: today, column: Self.column, db)
    }

    /// Where each deadline's due date is stored.
    static func column(_ deadline: OriginDeadlineKind) -> String {
        switch deadline {
        case .answer: "dueOn"
        }
    }
}
