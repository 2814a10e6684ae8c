import Foundation
import GRDB
import TransferDomain

/// How the SQLite repositories turn the domain's case questions (``CaseLifecycle``) into SQL.
public enum CaseSQL {
    /// `column IN (?, ...)` for `states`, or a condition that is always false for none.
    public static func inStates<State: CaseLifecycle>(_ states: [State], column: String = "state") -> (sql: String, arguments: [String]) {
        guard !states.isEmpty else { return ("0", []) }
        return ("\(column) IN (\(Array(repeating: "?", count: states.count).joined(separator: ", ")))", states.map(\.rawValue))
    }

    /// The domain's overdue definition for `State` on `today`; `column` names where each deadline's
    /// due date is stored (an ISO date, so text order is date order).
    public static func overdue<State: CaseLifecycle>(
        _: State.Type, today: LocalDate, column: (State.DeadlineKind) -> String
    ) -> (sql: String, arguments: [String]) {
        var clauses: [String] = []
        var arguments: [String] = []
        for rule in State.overdueRules {
            let states = inStates(rule.states)
            clauses.append("(\(states.sql) AND \(column(rule.deadline)) < ?)")
            arguments += states.arguments + [today.description]
        }
        return clauses.isEmpty ? ("0", []) : ("(" + clauses.joined(separator: " OR ") + ")", arguments)
    }

    /// One page of `table`'s rows (`columns`, sorted by `order`) that pass `filter`, and how many
    /// pass it on all pages.
    public static func page<State: CaseLifecycle>(
        _ filter: CaseFilter<State>, _ page: Page, table: String, columns: String, order: String,
        deadlineColumn: (State.DeadlineKind) -> String, _ db: Database
    ) throws -> (rows: [Row], total: Int) {
        var conditions: [String] = []
        var arguments: [String] = []
        if let state = filter.state {
            conditions.append("state = ?")
            arguments.append(state.rawValue)
        }
        if let today = filter.overdueOn {
            let overdue = Self.overdue(State.self, today: today, column: deadlineColumn)
            conditions.append(overdue.sql)
            arguments += overdue.arguments
        }
        for extra in filter.conditions {
            conditions.append("\(extra.column) \(extra.comparison.rawValue) ?")
            arguments.append(extra.value)
        }
        let condition = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        let rows = try Row.fetchAll(
            db, sql: "SELECT \(columns) FROM \(table)\(condition) ORDER BY \(filter.ordering(order))\(page.sql)", arguments: StatementArguments(arguments))
        let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)\(condition)", arguments: StatementArguments(arguments)) ?? 0
        return (rows, total)
    }

    /// How many rows of `table` are in each state, and how many are overdue on `today`.
    public static func counts<State: CaseLifecycle>(
        _: State.Type, table: String, today: LocalDate, column: (State.DeadlineKind) -> String, _ db: Database
    ) throws -> CaseCounts<State> {
        var byState = Dictionary(uniqueKeysWithValues: State.allCases.map { ($0, 0) })
        for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM \(table) GROUP BY state") {
            guard let state = State(rawValue: row["state"]) else { continue }
            byState[state] = row["n"]
        }
        let overdue = Self.overdue(State.self, today: today, column: column)
        let overdueCount = try Int.fetchOne(
            db, sql: "SELECT COUNT(*) FROM \(table) WHERE \(overdue.sql)", arguments: StatementArguments(overdue.arguments)) ?? 0
        return CaseCounts(byState: byState, overdue: overdueCount)
    }
}

/// The named, forward-only migrations of a SQLite store (GRDB's migrator).
public typealias SQLiteMigrator = DatabaseMigrator

extension FetchableRecord where Self: TableRecord {
    /// The row whose single-column primary key `column` is `key`, read through a statement
    /// prepared once per connection (GRDB's `fetchOne(_:key:)` builds and prepares its query
    /// anew each time: SQLite's parser and GRDB's authorizer on every event a case receives).
    public static func fetchOne(_ db: Database, primaryKey column: String, _ key: String) throws -> Self? {
        let statement = try db.cachedStatement(
            sql: "SELECT * FROM \(databaseTableName.quotedDatabaseIdentifier) WHERE \(column.quotedDatabaseIdentifier) = ?")
        return try fetchOne(statement, arguments: [key])
    }
}
