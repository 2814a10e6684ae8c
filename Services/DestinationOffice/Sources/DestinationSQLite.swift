import Foundation
import GRDB
import OfficeRuntime
import OfficeStorage
import TransferDomain

extension DestinationPersonRecord: FetchableRecord, PersistableRecord {
    static let databaseTableName = "person"
}

extension DestinationCaseRecord: FetchableRecord, PersistableRecord {
    static let databaseTableName = "destinationCase"
}

extension HistoryPlaceRecord: FetchableRecord {}
extension HistoryMonthRecord: FetchableRecord {}
extension DestinationCaseSummaryRecord: FetchableRecord {}

/// The destination's records on SQLite (the tables of ``DestinationSchema``).
struct SQLiteDestinationRecords: DestinationRecords {
    let transaction: any StoreTransaction
    let db: Database

    init(_ transaction: SQLiteTransaction) {
        self.transaction = transaction
        db = transaction.db
    }

    func person(_ id: CitizenID) throws -> DestinationPersonRecord? {
        try DestinationPersonRecord.fetchOne(db, primaryKey: "citizenId", id.rawValue)
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

    func historyMonths(of id: CitizenID) throws -> [HistoryMonthRecord] {
        try HistoryMonthRecord.fetchAll(
            db, sql: """
                SELECT period, placeCode, status, keptAt, returnedFen, sourceCaseId FROM historyMonth
                WHERE citizenId = ? ORDER BY period, placeCode
                """,
            arguments: [id.rawValue])
    }

    func addHistoryMonth(_ month: HistoryMonthRecord, citizen: String) throws {
        // Prepared once per connection: a completed transfer posts every month of its ledger.
        try db.cachedStatement(
            sql: """
                INSERT INTO historyMonth (citizenId, period, placeCode, status, keptAt, returnedFen, sourceCaseId)
                VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                """
        ).execute(arguments: [citizen, month.period, month.placeCode, month.status, month.keptAt, month.returnedFen, month.sourceCaseId])
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
        try DestinationCaseRecord.fetchOne(db, primaryKey: "caseId", id.description)
    }

    func insert(_ record: DestinationCaseRecord) throws {
        try record.insert(db)
    }

    func update(_ record: DestinationCaseRecord) throws {
        try record.update(db)
    }

    func openCases(of citizen: CitizenID, origin: OfficeCode?, excluding caseId: String) throws -> Int {
        let open = CaseSQL.inStates(DestinationCaseState.openStates)
        return try Int.fetchOne(
            db, sql: "SELECT COUNT(*) FROM destinationCase WHERE citizenId = ? AND caseId <> ? AND (? IS NULL OR origin = ?) AND \(open.sql)",
            arguments: StatementArguments([citizen.rawValue, caseId, origin?.rawValue, origin?.rawValue] + open.arguments)) ?? 0
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

/// The dashboard's figures, read in one snapshot with SQL both backends run.
struct DashboardFigures: Sendable {
    var byState: [String: Int] = [:]
    var overdue = 0
    /// Open deadlines (of the states that run against them) by due date, today to `soon`.
    var dueOn: [String: Int] = [:]
    var filedOn: [String: Int] = [:]
    var completedOn: [String: Int] = [:]
    /// Completed cases by filing and completion date.
    var completions: [(submitted: LocalDate, closed: LocalDate, count: Int)] = []

    static func read(_ sql: any StoreTransaction, today: LocalDate, soon: LocalDate, since30: LocalDate, since90: LocalDate, counts: CaseCounts<DestinationCaseState>) throws -> DashboardFigures {
        var figures = DashboardFigures()
        for (state, count) in counts.byState { figures.byState[state.rawValue] = count }
        figures.overdue = counts.overdue
        for rule in DestinationCaseState.overdueRules {
            let column = SQLiteDestinationRecords.column(rule.deadline)
            let states = rule.states.enumerated().map { "$\($0.offset + 3)" }.joined(separator: ", ")
            for row in try sql.portableQuery(
                "SELECT \(column) AS d, COUNT(*) AS n FROM destinationCase WHERE \(column) >= $1 AND \(column) <= $2 AND state IN (\(states)) GROUP BY \(column)",
                [.text(today.description), .text(soon.description)] + rule.states.map { .text($0.rawValue) })
            {
                figures.dueOn[try row.string("d"), default: 0] += try row.int("n")
            }
        }
        for row in try sql.portableQuery("SELECT submittedOn AS d, COUNT(*) AS n FROM destinationCase WHERE submittedOn >= $1 GROUP BY submittedOn", [.text(since30.description)]) {
            figures.filedOn[try row.string("d")] = try row.int("n")
        }
        for row in try sql.portableQuery(
            "SELECT closedOn AS d, COUNT(*) AS n FROM destinationCase WHERE state = $1 AND closedOn >= $2 GROUP BY closedOn",
            [.text(DestinationCaseState.completed.rawValue), .text(since30.description)])
        {
            figures.completedOn[try row.string("d")] = try row.int("n")
        }
        for row in try sql.portableQuery(
            "SELECT submittedOn, closedOn, COUNT(*) AS n FROM destinationCase WHERE state = $1 AND closedOn >= $2 GROUP BY submittedOn, closedOn",
            [.text(DestinationCaseState.completed.rawValue), .text(since90.description)])
        {
            figures.completions.append((try LocalDate(try row.string("submittedOn")), try LocalDate(try row.string("closedOn")), try row.int("n")))
        }
        return figures
    }
}

extension DestinationRecords {
    /// The console dashboard's figures (one SQL text for both backends, through the store's
    /// portable statements: the columns it reads are TEXT on both).
    func dashboard(today: LocalDate, soon: LocalDate, since30: LocalDate, since90: LocalDate) throws -> DashboardFigures {
        try DashboardFigures.read(transaction, today: today, soon: soon, since30: since30, since90: since90, counts: try counts(today: today))
    }
}
