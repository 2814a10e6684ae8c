import Foundation
import OfficeRuntime
import OfficeStorage
import TransferDomain

/// The destination's tables on PostgreSQL: the same tables and constraints as ``DestinationSchema``.
enum DestinationPostgresSchema {
    static let migrations: [PostgresMigration] = [
        PostgresMigration("destination-v1", [
            """
            CREATE TABLE person (
                citizenId TEXT PRIMARY KEY, name TEXT NOT NULL, hukouProvince TEXT NOT NULL, registeredOn TEXT NOT NULL,
                contributing BOOLEAN NOT NULL, receivesPension BOOLEAN NOT NULL DEFAULT FALSE, contributingSince TEXT NOT NULL,
                updatedAt TIMESTAMPTZ NOT NULL)
            """,
            """
            CREATE TABLE card (
                citizenId TEXT NOT NULL REFERENCES person ON DELETE CASCADE, issuer TEXT NOT NULL, issuedOn TEXT NOT NULL,
                PRIMARY KEY (citizenId, issuer))
            """,
            """
            CREATE TABLE historyPlace (
                id BIGSERIAL PRIMARY KEY, citizenId TEXT NOT NULL REFERENCES person ON DELETE CASCADE, placeCode TEXT NOT NULL,
                accountKind TEXT NOT NULL, months INTEGER NOT NULL CHECK (months > 0), lastContribution TEXT NOT NULL,
                sourceCaseId TEXT NOT NULL, UNIQUE (sourceCaseId, placeCode))
            """,
            "CREATE TABLE certificate (certificateNo TEXT PRIMARY KEY, citizenId TEXT NOT NULL, origin TEXT NOT NULL, issuedOn TEXT NOT NULL)",
            """
            CREATE TABLE destinationCase (
                caseId TEXT PRIMARY KEY, citizenId TEXT NOT NULL, name TEXT NOT NULL, hukouProvince TEXT NOT NULL, origin TEXT NOT NULL,
                submittedOn TEXT NOT NULL, state TEXT NOT NULL, contactLetterNo TEXT UNIQUE, certificateNo TEXT,
                approvedTransfer BOOLEAN NOT NULL, originDueOn TEXT, completionDueOn TEXT, originTerminatedOn TEXT, events TEXT NOT NULL,
                updatedAt TIMESTAMPTZ NOT NULL, closedAt TIMESTAMPTZ)
            """,
            "CREATE INDEX destinationCase_state ON destinationCase (state)",
            "CREATE INDEX destinationCase_person ON destinationCase (citizenId)",
            """
            CREATE TABLE remittance (
                remittanceId TEXT PRIMARY KEY, caseId TEXT NOT NULL REFERENCES destinationCase,
                kind TEXT NOT NULL CHECK (kind IN ('received', 'refunded')), amountFen BIGINT NOT NULL CHECK (amountFen > 0),
                valueDate TEXT NOT NULL, postedSeq BIGSERIAL NOT NULL)
            """,
            "CREATE INDEX remittance_case ON remittance (caseId)",
        ]),
        // The business date a case closed on (the console's dashboard counts completions by it).
        PostgresMigration("destination-v2-closed-on", [
            "ALTER TABLE destinationCase ADD COLUMN closedOn TEXT",
        ] + DestinationSchema.consoleIndexes),
        PostgresMigration("destination-v3-history-months", [DestinationSchema.historyMonthTable]),
        PostgresMigration("destination-v4-purpose", [DestinationSchema.purposeColumn]),
    ]
}

/// The destination's records on PostgreSQL.
struct PostgresDestinationRecords: DestinationRecords {
    let transaction: any StoreTransaction
    let sql: PostgresTransaction

    init(_ transaction: PostgresTransaction) {
        self.transaction = transaction
        sql = transaction
    }

    func person(_ id: CitizenID) throws -> DestinationPersonRecord? {
        try sql.query("SELECT * FROM person WHERE citizenId = $1", [.text(id.rawValue)]).first.map { row in
            DestinationPersonRecord(
                citizenId: try row.string("citizenId"), name: try row.string("name"), hukouProvince: try row.string("hukouProvince"),
                registeredOn: try row.string("registeredOn"), contributing: try row.bool("contributing"),
                receivesPension: try row.bool("receivesPension"), contributingSince: try row.string("contributingSince"),
                updatedAt: try row.date("updatedAt"))
        }
    }

    func save(_ person: DestinationPersonRecord) throws {
        try sql.execute(
            """
            INSERT INTO person (citizenId, name, hukouProvince, registeredOn, contributing, receivesPension, contributingSince, updatedAt)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (citizenId) DO UPDATE SET name = excluded.name, hukouProvince = excluded.hukouProvince,
                registeredOn = excluded.registeredOn, contributing = excluded.contributing, receivesPension = excluded.receivesPension,
                contributingSince = excluded.contributingSince, updatedAt = excluded.updatedAt
            """,
            [
                .text(person.citizenId), .text(person.name), .text(person.hukouProvince), .text(person.registeredOn),
                .bool(person.contributing), .bool(person.receivesPension), .text(person.contributingSince), .date(person.updatedAt),
            ])
    }

    func addCard(_ card: SocialSecurityCard) throws {
        try sql.execute(
            "INSERT INTO card (citizenId, issuer, issuedOn) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            [.text(card.holder.rawValue), .text(card.issuer.rawValue), .text(card.issuedOn.description)])
    }

    func cards(of id: CitizenID) throws -> [SocialSecurityCard] {
        try sql.query("SELECT issuer, issuedOn FROM card WHERE citizenId = $1 ORDER BY issuedOn", [.text(id.rawValue)]).map {
            SocialSecurityCard(holder: id, issuer: try OfficeCode(try $0.string("issuer")), issuedOn: try LocalDate(try $0.string("issuedOn")))
        }
    }

    func historyPlaces(of id: CitizenID) throws -> [HistoryPlaceRecord] {
        try sql.query(
            "SELECT placeCode, accountKind, months, lastContribution FROM historyPlace WHERE citizenId = $1 ORDER BY lastContribution",
            [.text(id.rawValue)]
        ).map { row in
            let kind = try row.string("accountKind")
            guard let accountKind = AccountKind(rawValue: kind) else { throw DomainError("historyPlace holds an unknown account kind \(kind)") }
            return HistoryPlaceRecord(
                placeCode: try row.string("placeCode"), accountKind: accountKind, months: try row.int("months"),
                lastContribution: try row.string("lastContribution"))
        }
    }

    func addHistoryPlace(_ place: HistoryPlaceRecord, citizen: String, sourceCase: String) throws {
        try sql.execute(
            """
            INSERT INTO historyPlace (citizenId, placeCode, accountKind, months, lastContribution, sourceCaseId)
            VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING
            """,
            [.text(citizen), .text(place.placeCode), .text(place.accountKind.rawValue), .int(place.months), .text(place.lastContribution), .text(sourceCase)])
    }

    func historyMonths(of id: CitizenID) throws -> [HistoryMonthRecord] {
        try sql.query(
            """
            SELECT period, placeCode, status, keptAt, returnedFen, sourceCaseId FROM historyMonth
            WHERE citizenId = $1 ORDER BY period, placeCode
            """,
            [.text(id.rawValue)]
        ).map { row in
            HistoryMonthRecord(
                period: try row.string("period"), placeCode: try row.string("placeCode"), status: try row.string("status"),
                keptAt: try row.optionalString("keptAt"), returnedFen: try row.int("returnedFen"), sourceCaseId: try row.string("sourceCaseId"))
        }
    }

    func addHistoryMonth(_ month: HistoryMonthRecord, citizen: String) throws {
        try sql.execute(
            """
            INSERT INTO historyMonth (citizenId, period, placeCode, status, keptAt, returnedFen, sourceCaseId)
            VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING
            """,
            [
                .text(citizen), .text(month.period), .text(month.placeCode), .text(month.status), .text(month.keptAt),
                .int(month.returnedFen), .text(month.sourceCaseId),
            ])
    }

    func addCertificate(_ number: CertificateNumber, citizen: CitizenID, origin: OfficeCode, issuedOn: LocalDate) throws {
        try sql.execute(
            "INSERT INTO certificate (certificateNo, citizenId, origin, issuedOn) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            [.text(number.rawValue), .text(citizen.rawValue), .text(origin.rawValue), .text(issuedOn.description)])
    }

    func certificate(_ number: CertificateNumber) throws -> (citizen: String, origin: String, issuedOn: String)? {
        try sql.query("SELECT citizenId, origin, issuedOn FROM certificate WHERE certificateNo = $1", [.text(number.rawValue)])
            .first.map { (try $0.string("citizenId"), try $0.string("origin"), try $0.string("issuedOn")) }
    }

    func certificates(of citizen: CitizenID, from origin: OfficeCode) throws -> [CertificateNumber] {
        try sql.query("SELECT certificateNo FROM certificate WHERE citizenId = $1 AND origin = $2", [.text(citizen.rawValue), .text(origin.rawValue)])
            .map { try CertificateNumber(try $0.string("certificateNo")) }
    }

    static func caseRecord(_ row: StoreRow) throws -> DestinationCaseRecord {
        DestinationCaseRecord(
            caseId: try row.string("caseId"), citizenId: try row.string("citizenId"), name: try row.string("name"),
            hukouProvince: try row.string("hukouProvince"), origin: try row.string("origin"), submittedOn: try row.string("submittedOn"),
            state: try row.string("state"), contactLetterNo: try row.optionalString("contactLetterNo"),
            certificateNo: try row.optionalString("certificateNo"), approvedTransfer: try row.bool("approvedTransfer"),
            originDueOn: try row.optionalString("originDueOn"), completionDueOn: try row.optionalString("completionDueOn"),
            originTerminatedOn: try row.optionalString("originTerminatedOn"), events: try row.string("events"),
            updatedAt: try row.date("updatedAt"), closedAt: try row.optionalDate("closedAt"), closedOn: try row.optionalString("closedOn"),
            purpose: try row.string("purpose"))
    }

    func caseRecord(_ id: CaseID) throws -> DestinationCaseRecord? {
        try sql.query("SELECT * FROM destinationCase WHERE caseId = $1", [.text(id.description)]).first.map(Self.caseRecord)
    }

    private static func values(_ record: DestinationCaseRecord) -> [SQLValue] {
        [
            .text(record.caseId), .text(record.citizenId), .text(record.name), .text(record.hukouProvince), .text(record.origin),
            .text(record.submittedOn), .text(record.state), .text(record.contactLetterNo), .text(record.certificateNo),
            .bool(record.approvedTransfer), .text(record.originDueOn), .text(record.completionDueOn), .text(record.originTerminatedOn),
            .text(record.events), .date(record.updatedAt), .date(record.closedAt), .text(record.closedOn), .text(record.purpose),
        ]
    }

    func insert(_ record: DestinationCaseRecord) throws {
        try sql.execute(
            """
            INSERT INTO destinationCase (caseId, citizenId, name, hukouProvince, origin, submittedOn, state, contactLetterNo, certificateNo,
                approvedTransfer, originDueOn, completionDueOn, originTerminatedOn, events, updatedAt, closedAt, closedOn, purpose)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
            """, Self.values(record))
    }

    func update(_ record: DestinationCaseRecord) throws {
        try sql.execute(
            """
            UPDATE destinationCase SET citizenId = $2, name = $3, hukouProvince = $4, origin = $5, submittedOn = $6, state = $7,
                contactLetterNo = $8, certificateNo = $9, approvedTransfer = $10, originDueOn = $11, completionDueOn = $12,
                originTerminatedOn = $13, events = $14, updatedAt = $15, closedAt = $16, closedOn = $17, purpose = $18
            WHERE caseId = $1
            """, Self.values(record))
    }

    func openCases(of citizen: CitizenID, origin: OfficeCode?, excluding caseId: String) throws -> Int {
        try sql.query(
            "SELECT COUNT(*) AS n FROM destinationCase WHERE citizenId = $1 AND caseId <> $2 AND state = ANY($3) AND ($4::text IS NULL OR origin = $4)",
            [.text(citizen.rawValue), .text(caseId), .texts(PostgresCaseSQL.array(DestinationCaseState.openStates)), .text(origin?.rawValue)])[0].int("n")
    }

    func awaitingCertificate() throws -> [DestinationCaseRecord] {
        try sql.query(
            "SELECT * FROM destinationCase WHERE state = $1 ORDER BY submittedOn, caseId", [.text(DestinationCaseState.awaitingCertificate.rawValue)]
        ).map(Self.caseRecord)
    }

    func addRemittance(_ remittance: RemittanceRow) throws {
        try PostgresCaseSQL.addRemittance(remittance, sql)
    }

    func remittances(of id: CaseID) throws -> [RemittanceRow] {
        try PostgresCaseSQL.remittances(of: id, sql)
    }

    func cases(_ filter: CaseFilter<DestinationCaseState>, _ page: Page) throws -> (cases: [DestinationCaseSummaryRecord], total: Int) {
        let (rows, total) = try PostgresCaseSQL.page(
            filter, page, table: "destinationCase",
            columns: "caseId, citizenId, origin, state, submittedOn, originDueOn, completionDueOn, closedAt", order: "submittedOn, caseId",
            deadlineColumn: SQLiteDestinationRecords.column, sql)
        let cases = try rows.map { row in
            DestinationCaseSummaryRecord(
                caseId: try row.string("caseId"), citizenId: try row.string("citizenId"), origin: try row.string("origin"),
                state: try row.string("state"), submittedOn: try row.string("submittedOn"), originDueOn: try row.optionalString("originDueOn"),
                completionDueOn: try row.optionalString("completionDueOn"), closedAt: try row.optionalDate("closedAt"))
        }
        return (cases, total)
    }

    func counts(today: LocalDate) throws -> CaseCounts<DestinationCaseState> {
        try PostgresCaseSQL.counts(DestinationCaseState.self, table: "destinationCase", today: today, column: SQLiteDestinationRecords.column, sql)
    }
}
