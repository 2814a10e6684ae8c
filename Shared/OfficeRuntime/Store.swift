import Foundation
import EventSigning
import GRDB
import TransferDomain

/// One open transaction on an office's store, as a service sees it.
///
/// Routes and event handlers never hold a database connection: they reach their own tables
/// through their service's repository, which is made from this transaction, and the runtime's
/// tables (the outbox, document numbers) through the methods below. Everything done through one
/// transaction commits or rolls back together.
///
/// Transactions are synchronous closures run on the store's own threads (GRDB's model, and a
/// backend with an asynchronous driver runs its closure on a thread it may block): a handler's
/// writes and the events it publishes never straddle an `await`.
public protocol StoreTransaction {
    /// Appends `event` for `topic`, signed by `signer`, to the outbox in this transaction.
    func appendToOutbox(_ event: CloudEvent, topic: String, signer: EventSigner) throws
    /// The next value (1, 2, ...) of the counter `name`: gap-free, since it is rolled back with
    /// the transaction that took it.
    func nextInSequence(_ name: String) throws -> Int
}

/// A transaction on the SQLite store (``OfficeDatabase``).
public struct SQLiteTransaction: StoreTransaction {
    public let db: Database

    public init(_ db: Database) {
        self.db = db
    }

    public func appendToOutbox(_ event: CloudEvent, topic: String, signer: EventSigner) throws {
        try Outbox.append(event, topic: topic, signer: signer, in: db)
    }

    public func nextInSequence(_ name: String) throws -> Int {
        // One statement: the row is locked by the update that reads its value.
        try Int.fetchOne(
            db, sql: "INSERT INTO documentSequence (name, value) VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value",
            arguments: [name]) ?? 1
    }

    /// The SQLite connection behind `transaction`.
    /// - Throws: ``StoreMismatch`` when `transaction` belongs to another backend (a wiring bug).
    public static func of(_ transaction: any StoreTransaction) throws -> Database {
        guard let sqlite = transaction as? SQLiteTransaction else { throw StoreMismatch(expected: "SQLite", got: transaction) }
        return sqlite.db
    }
}

/// A repository was handed a transaction of a backend it does not implement.
public struct StoreMismatch: Error, CustomStringConvertible {
    public var expected: String
    public var got: String

    public init(expected: String, got: any StoreTransaction) {
        self.expected = expected
        self.got = String(describing: type(of: got))
    }

    public var description: String { "a \(expected) repository was given a \(got)" }
}

extension OfficeDatabase {
    /// Runs `body` in one write transaction: committed when it returns, rolled back when it throws.
    public func write<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        try await writer.write { db in try body(SQLiteTransaction(db)) }
    }

    /// Runs `body` on a consistent snapshot; writing through it fails.
    public func read<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        try await writer.read { db in try body(SQLiteTransaction(db)) }
    }
}

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
        let condition = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        let rows = try Row.fetchAll(
            db, sql: "SELECT \(columns) FROM \(table)\(condition) ORDER BY \(order)\(page.sql)", arguments: StatementArguments(arguments))
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
