import Foundation
import OfficeRuntime
import OfficeStorage
import TransferDomain

/// The origin's tables on PostgreSQL: the same tables and constraints as ``OriginSchema``.
enum OriginPostgresSchema {
    static let migrations: [PostgresMigration] = [
        PostgresMigration("origin-v1", [
            """
            CREATE TABLE person (
                citizenId TEXT PRIMARY KEY, name TEXT NOT NULL, hukouProvince TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('contributing', 'suspended', 'transferred', 'retired')),
                arrearsFen BIGINT NOT NULL DEFAULT 0 CHECK (arrearsFen >= 0), pre1998Fen BIGINT NOT NULL DEFAULT 0 CHECK (pre1998Fen >= 0),
                receivesPension BOOLEAN NOT NULL DEFAULT FALSE, accountKind TEXT NOT NULL CHECK (accountKind IN ('general', 'temporary')),
                transferredBy TEXT, updatedAt TIMESTAMPTZ NOT NULL)
            """,
            """
            CREATE TABLE contributionMonth (
                citizenId TEXT NOT NULL REFERENCES person ON DELETE CASCADE, period TEXT NOT NULL, baseFen BIGINT NOT NULL CHECK (baseFen > 0),
                employerRate TEXT NOT NULL, personalRate TEXT NOT NULL, placeCode TEXT NOT NULL, PRIMARY KEY (citizenId, period))
            """,
            """
            CREATE TABLE certificate (
                certificateNo TEXT PRIMARY KEY, citizenId TEXT NOT NULL REFERENCES person, destination TEXT NOT NULL,
                issuedOn TEXT NOT NULL, materials TEXT NOT NULL)
            """,
            """
            CREATE TABLE originCase (
                caseId TEXT PRIMARY KEY, contactLetterNo TEXT NOT NULL UNIQUE, citizenId TEXT NOT NULL, destination TEXT NOT NULL,
                receivedOn TEXT NOT NULL, dueOn TEXT NOT NULL, state TEXT NOT NULL, events TEXT NOT NULL, updatedAt TIMESTAMPTZ NOT NULL)
            """,
            "CREATE INDEX originCase_state ON originCase (state)",
            """
            CREATE TABLE remittance (
                remittanceId TEXT PRIMARY KEY, caseId TEXT NOT NULL REFERENCES originCase,
                kind TEXT NOT NULL CHECK (kind IN ('remitted', 'supplementary', 'refundReceived')),
                amountFen BIGINT NOT NULL CHECK (amountFen > 0), valueDate TEXT NOT NULL, postedSeq BIGSERIAL NOT NULL)
            """,
            "CREATE INDEX remittance_case ON remittance (caseId)",
            """
            CREATE TABLE notice (
                id BIGSERIAL PRIMARY KEY, caseId TEXT NOT NULL, eventType TEXT NOT NULL, citizenId TEXT NOT NULL, reasons TEXT NOT NULL,
                receivedOn TEXT NOT NULL)
            """,
        ]),
        PostgresMigration("origin-v2-console-indexes", OriginSchema.consoleIndexes),
    ]
}

/// The origin's records on PostgreSQL.
struct PostgresOriginRecords: OriginRecords {
    let transaction: any StoreTransaction
    let sql: PostgresTransaction

    init(_ transaction: PostgresTransaction) {
        self.transaction = transaction
        sql = transaction
    }

    func person(_ id: CitizenID) throws -> PersonRecord? {
        try sql.query("SELECT * FROM person WHERE citizenId = $1", [.text(id.rawValue)]).first.map { row in
            let status = try row.string("status")
            let kind = try row.string("accountKind")
            // Decoded strictly, as on SQLite: an unknown value fails the read.
            guard let relationship = RelationshipStatus(rawValue: status), let accountKind = AccountKind(rawValue: kind) else {
                throw DomainError("person \(id.masked) is stored with an unknown status \(status) or account kind \(kind)")
            }
            return PersonRecord(
                citizenId: try row.string("citizenId"), name: try row.string("name"), hukouProvince: try row.string("hukouProvince"),
                status: relationship, arrearsFen: try row.int("arrearsFen"), pre1998Fen: try row.int("pre1998Fen"),
                receivesPension: try row.bool("receivesPension"), accountKind: accountKind, transferredBy: try row.optionalString("transferredBy"),
                updatedAt: try row.date("updatedAt"))
        }
    }

    private static func values(_ person: PersonRecord) -> [SQLValue] {
        [
            .text(person.citizenId), .text(person.name), .text(person.hukouProvince), .text(person.status.rawValue), .int(person.arrearsFen),
            .int(person.pre1998Fen), .bool(person.receivesPension), .text(person.accountKind.rawValue), .text(person.transferredBy),
            .date(person.updatedAt),
        ]
    }

    func save(_ person: PersonRecord) throws {
        try sql.execute(
            """
            INSERT INTO person (citizenId, name, hukouProvince, status, arrearsFen, pre1998Fen, receivesPension, accountKind, transferredBy, updatedAt)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            ON CONFLICT (citizenId) DO UPDATE SET name = excluded.name, hukouProvince = excluded.hukouProvince, status = excluded.status,
                arrearsFen = excluded.arrearsFen, pre1998Fen = excluded.pre1998Fen, receivesPension = excluded.receivesPension,
                accountKind = excluded.accountKind, transferredBy = excluded.transferredBy, updatedAt = excluded.updatedAt
            """, Self.values(person))
    }

    func update(_ person: PersonRecord) throws {
        try sql.execute(
            """
            UPDATE person SET name = $2, hukouProvince = $3, status = $4, arrearsFen = $5, pre1998Fen = $6, receivesPension = $7,
                accountKind = $8, transferredBy = $9, updatedAt = $10
            WHERE citizenId = $1
            """, Self.values(person))
    }

    func monthRecords(of id: CitizenID) throws -> [MonthRecord] {
        try sql.query(
            "SELECT citizenId, period, baseFen, employerRate, personalRate, placeCode FROM contributionMonth WHERE citizenId = $1 ORDER BY period",
            [.text(id.rawValue)]
        ).map { row in
            MonthRecord(
                citizenId: try row.string("citizenId"), period: try row.string("period"), baseFen: try row.int("baseFen"),
                employerRate: try row.string("employerRate"), personalRate: try row.string("personalRate"), placeCode: try row.string("placeCode"))
        }
    }

    func insert(_ months: [MonthRecord]) throws {
        guard !months.isEmpty else { return }
        // One round trip for the whole history: the columns go as arrays and come back as rows.
        try sql.execute(
            """
            INSERT INTO contributionMonth (citizenId, period, baseFen, employerRate, personalRate, placeCode)
            SELECT citizenId, period, baseFen, employerRate, personalRate, placeCode
            FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[])
                AS month(citizenId, period, baseFen, employerRate, personalRate, placeCode)
            """,
            [
                .texts(months.map(\.citizenId)), .texts(months.map(\.period)), .ints(months.map(\.baseFen)),
                .texts(months.map(\.employerRate)), .texts(months.map(\.personalRate)), .texts(months.map(\.placeCode)),
            ])
    }

    func addCertificate(_ number: CertificateNumber, citizen: CitizenID, destination: OfficeCode, issuedOn: LocalDate, materials: String) throws {
        try sql.execute(
            "INSERT INTO certificate (certificateNo, citizenId, destination, issuedOn, materials) VALUES ($1, $2, $3, $4, $5)",
            [.text(number.rawValue), .text(citizen.rawValue), .text(destination.rawValue), .text(issuedOn.description), .text(materials)])
    }

    func certificateHolder(_ number: CertificateNumber) throws -> String? {
        try sql.query("SELECT citizenId FROM certificate WHERE certificateNo = $1", [.text(number.rawValue)]).first?.string("citizenId")
    }

    static func caseRecord(_ row: StoreRow) throws -> CaseRecord {
        CaseRecord(
            caseId: try row.string("caseId"), contactLetterNo: try row.string("contactLetterNo"), citizenId: try row.string("citizenId"),
            destination: try row.string("destination"), receivedOn: try row.string("receivedOn"), dueOn: try row.string("dueOn"),
            state: try row.string("state"), events: try row.string("events"), updatedAt: try row.date("updatedAt"))
    }

    func caseRecord(id: CaseID) throws -> CaseRecord? {
        try sql.query("SELECT * FROM originCase WHERE caseId = $1", [.text(id.description)]).first.map(Self.caseRecord)
    }

    func caseRecord(letter: ContactLetterNumber) throws -> CaseRecord? {
        try sql.query("SELECT * FROM originCase WHERE contactLetterNo = $1", [.text(letter.rawValue)]).first.map(Self.caseRecord)
    }

    private static func values(_ record: CaseRecord) -> [SQLValue] {
        [
            .text(record.caseId), .text(record.contactLetterNo), .text(record.citizenId), .text(record.destination), .text(record.receivedOn),
            .text(record.dueOn), .text(record.state), .text(record.events), .date(record.updatedAt),
        ]
    }

    func insert(_ record: CaseRecord) throws {
        try sql.execute(
            """
            INSERT INTO originCase (caseId, contactLetterNo, citizenId, destination, receivedOn, dueOn, state, events, updatedAt)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            """, Self.values(record))
    }

    func update(_ record: CaseRecord) throws {
        try sql.execute(
            """
            UPDATE originCase SET contactLetterNo = $2, citizenId = $3, destination = $4, receivedOn = $5, dueOn = $6, state = $7,
                events = $8, updatedAt = $9
            WHERE caseId = $1
            """, Self.values(record))
    }

    func addRemittance(_ remittance: RemittanceRow) throws {
        try PostgresCaseSQL.addRemittance(remittance, sql)
    }

    func remittances(of id: CaseID) throws -> [RemittanceRow] {
        try PostgresCaseSQL.remittances(of: id, sql)
    }

    func addNotice(caseId: CaseID, eventType: EventType, citizen: CitizenID, reasons: [String], receivedOn: LocalDate) throws {
        try sql.execute(
            "INSERT INTO notice (caseId, eventType, citizenId, reasons, receivedOn) VALUES ($1, $2, $3, $4, $5)",
            [.text(caseId.description), .text(eventType.rawValue), .text(citizen.rawValue), .text(reasons.joined(separator: ",")), .text(receivedOn.description)])
    }

    func cases(_ filter: CaseFilter<OriginCaseState>, _ page: Page) throws -> (cases: [OriginCaseSummaryRecord], total: Int) {
        let (rows, total) = try PostgresCaseSQL.page(
            filter, page, table: "originCase", columns: "caseId, contactLetterNo, destination, state, receivedOn, dueOn",
            order: "receivedOn, caseId", deadlineColumn: SQLiteOriginRecords.column, sql)
        let cases = try rows.map { row in
            OriginCaseSummaryRecord(
                caseId: try row.string("caseId"), contactLetterNo: try row.string("contactLetterNo"), destination: try row.string("destination"),
                state: try row.string("state"), receivedOn: try row.string("receivedOn"), dueOn: try row.string("dueOn"))
        }
        return (cases, total)
    }

    func counts(today: LocalDate) throws -> CaseCounts<OriginCaseState> {
        try PostgresCaseSQL.counts(OriginCaseState.self, table: "originCase", today: today, column: SQLiteOriginRecords.column, sql)
    }
}
