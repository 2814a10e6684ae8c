import Foundation
import TransferDomain

/// How the PostgreSQL repositories turn the domain's case questions (``CaseLifecycle``) into SQL,
/// as ``CaseSQL`` does for SQLite, and the remittance table both offices keep.
public enum PostgresCaseSQL {
    public static func array<State: CaseLifecycle>(_ states: [State]) -> [String] { states.map(\.rawValue) }

    /// The domain's overdue definition for `State` on `today`, its parameters numbered from `first`.
    public static func overdue<State: CaseLifecycle>(
        _: State.Type, today: LocalDate, first: Int, column: (State.DeadlineKind) -> String
    ) -> (sql: String, values: [SQLValue]) {
        var clauses: [String] = []
        var values: [SQLValue] = []
        for rule in State.overdueRules {
            let n = first + values.count
            clauses.append("(state = ANY($\(n)) AND \(column(rule.deadline)) < $\(n + 1))")
            values += [.texts(array(rule.states)), .text(today.description)]
        }
        return clauses.isEmpty ? ("FALSE", []) : ("(" + clauses.joined(separator: " OR ") + ")", values)
    }

    /// One page of `table` passing `filter`, and how many rows pass it.
    public static func page<State: CaseLifecycle>(
        _ filter: CaseFilter<State>, _ page: Page, table: String, columns: String, order: String,
        deadlineColumn: (State.DeadlineKind) -> String, _ sql: PostgresTransaction
    ) throws -> (rows: [StoreRow], total: Int) {
        var conditions: [String] = []
        var values: [SQLValue] = []
        if let state = filter.state {
            values.append(.text(state.rawValue))
            conditions.append("state = $\(values.count)")
        }
        if let today = filter.overdueOn {
            let overdue = Self.overdue(State.self, today: today, first: values.count + 1, column: deadlineColumn)
            conditions.append(overdue.sql)
            values += overdue.values
        }
        for extra in filter.conditions {
            values.append(.text(extra.value))
            conditions.append("\(extra.column) \(extra.comparison.rawValue) $\(values.count)")
        }
        let condition = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        let rows = try sql.query("SELECT \(columns) FROM \(table)\(condition) ORDER BY \(filter.ordering(order))\(page.sql)", values)
        let total = try sql.query("SELECT COUNT(*) AS n FROM \(table)\(condition)", values)[0].int("n")
        return (rows, total)
    }

    /// How many rows of `table` are in each state, and how many are overdue on `today`.
    public static func counts<State: CaseLifecycle>(
        _: State.Type, table: String, today: LocalDate, column: (State.DeadlineKind) -> String, _ sql: PostgresTransaction
    ) throws -> CaseCounts<State> {
        var byState = Dictionary(uniqueKeysWithValues: State.allCases.map { ($0, 0) })
        for row in try sql.query("SELECT state, COUNT(*) AS n FROM \(table) GROUP BY state") {
            guard let state = State(rawValue: try row.string("state")) else { continue }
            byState[state] = try row.int("n")
        }
        let overdue = Self.overdue(State.self, today: today, first: 1, column: column)
        let count = try sql.query("SELECT COUNT(*) AS n FROM \(table) WHERE \(overdue.sql)", overdue.values)[0].int("n")
        return CaseCounts(byState: byState, overdue: count)
    }

    /// Posts a remittance (the `remittance` table both offices keep).
    public static func addRemittance(_ remittance: RemittanceRow, _ sql: PostgresTransaction) throws {
        try sql.execute(
            "INSERT INTO remittance (remittanceId, caseId, kind, amountFen, valueDate) VALUES ($1, $2, $3, $4, $5)",
            [.text(remittance.remittanceId), .text(remittance.caseId), .text(remittance.kind), .int(remittance.amountFen), .text(remittance.valueDate)])
    }

    /// A case's remittances in the order they were posted.
    public static func remittances(of id: CaseID, _ sql: PostgresTransaction) throws -> [RemittanceRow] {
        try sql.query(
            "SELECT remittanceId, caseId, kind, amountFen, valueDate FROM remittance WHERE caseId = $1 ORDER BY postedSeq", [.text(id.description)]
        ).map { row in
            RemittanceRow(
                remittanceId: try row.string("remittanceId"), caseId: try row.string("caseId"), kind: try row.string("kind"),
                amountFen: try row.int("amountFen"), valueDate: try row.string("valueDate"))
        }
    }
}
