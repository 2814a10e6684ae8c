import Foundation
import EventSigning
import GRDB
import Kafka
import Synchronization
import TransferDomain

/// Where an office keeps its state: SQLite (one process, the default) or PostgreSQL (one or
/// more instances sharing it). Chosen by configuration (``OfficeConfiguration/databaseURL``).
public protocol OfficeStore: Sendable {
    /// Runs `body` in one write transaction: committed when it returns, rolled back when it
    /// throws. A backend may run `body` again after a serialization conflict with another
    /// instance, so `body` does nothing outside the transaction but compute.
    func write<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T
    /// Runs `body` on a consistent snapshot; writing through it fails.
    func read<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T
    /// Whether this process may run the outbox relay now: always for SQLite; on PostgreSQL the
    /// one instance of the office holding the relay lease (taken over when it expires).
    func holdsRelayLease() async throws -> Bool
    /// A write of the outbox relay (marking sent, parking): like ``write(_:)``, but only while this
    /// process still holds the relay lease it was given.
    /// - Throws: ``RelayLeaseLost`` when another instance took the lease over meanwhile.
    func relayWrite<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T
    /// Where the office's relay runs, as far as the store knows.
    func relayLease() async throws -> RelayLeaseStatus
    /// Where the data is, for logs and messages (no password).
    var location: String { get }
    /// Closes connections (PostgreSQL); a no-op for SQLite.
    func close() async
}

/// Where an office's outbox relay runs.
public enum RelayLeaseStatus: Sendable, Equatable {
    /// In this process.
    case here
    /// In another instance, whose lease runs until `until` unless renewed.
    case elsewhere(holder: String, until: Date)
    /// Nowhere: the lease expired and no instance has taken it yet.
    case nowhere
}

/// The relay lease is not this process's (any more): what the relay was about to record is left
/// to the holder (it publishes the rows again; the receivers' inboxes absorb the duplicates).
public struct RelayLeaseLost: Error, CustomStringConvertible {
    public var holder: String?
    public var description: String { "the relay lease is held by \(holder ?? "no instance"), not this one" }
}

/// One open transaction on an office's store.
///
/// Routes and event handlers never hold a database connection: they reach their own tables
/// through their service's repository, which is made from this transaction, and the runtime's
/// tables (outbox, inbox, document numbers, consumer position) through the methods below.
/// Everything done through one transaction commits or rolls back together.
///
/// Transactions are synchronous closures run on the store's own threads (GRDB's model; the
/// PostgreSQL store runs its closure on a thread it may block): a handler's writes and the
/// events it publishes never straddle an `await`.
public protocol StoreTransaction {
    /// Appends `event` for `topic`, signed by `signer`, to the outbox in this transaction.
    func appendToOutbox(_ event: CloudEvent, topic: String, signer: EventSigner) throws
    /// The next value (1, 2, ...) of the counter `name`: gap-free, since it is rolled back with
    /// the transaction that took it, and unique across instances (the counter row is locked
    /// until the transaction ends).
    func nextInSequence(_ name: String) throws -> Int

    /// Runs `body` in a savepoint: its changes are undone when it throws, the rest of the
    /// transaction stays.
    func savepoint<T>(_ body: () throws -> T) throws -> T
    /// Runs `action` once this transaction has committed, never when it rolls back (nor when the
    /// savepoint it was registered in does, nor for a run a backend repeats after a conflict):
    /// for log lines and other effects that must describe only what was kept.
    func afterCommit(_ action: @escaping @Sendable () -> Void)
    /// Records that the event `eventId` is being applied; false when it already was (the inbox's
    /// unique event id: a redelivery, or another instance applying it, changes nothing).
    func claimInbox(eventId: String, eventType: String, topic: String, partition: Int, offset: Int64) throws -> Bool
    /// Moves the consumer's recorded position forward (never back) for each partition.
    func recordPositions(_ next: [TopicPartition: Int64]) throws
    /// The consumer's recorded next offset by partition.
    func positions() throws -> [TopicPartition: Int64]

    /// Unsent rows, parked rows and the age of the oldest unsent.
    func outboxStatistics() throws -> Outbox.Statistics
    /// The next rows the relay publishes, in order (see ``Outbox``).
    func publishableOutbox(limit: Int) throws -> [OutboxRow]
    /// Marks rows the broker acknowledged.
    func markSent(_ rows: [(seq: Int64, partition: Int, offset: Int64)], at time: Date) throws
    /// Sets a row aside that the broker can never take.
    func park(seq: Int64, reason: String) throws
    /// Puts a parked row back in line; false when there is no parked row `seq`.
    func release(seq: Int64) throws -> Bool
    /// The parked rows, for `<office> outbox parked`.
    func parkedOutbox() throws -> [Outbox.ParkedRow]
    /// Published events, of one type or all.
    func sentCount(eventType: String?) throws -> Int
    /// Writes the health probe row: succeeds only when the store takes writes.
    func probeWrite() throws

    /// Runs one statement written for both backends (`$1`, `$2`, ... parameters; TEXT and BIGINT
    /// columns); returns how many rows it changed. For the runtime's small tables (staff accounts
    /// and sessions, the dead-letter log), whose SQL is the same on both.
    func portableExecute(_ sql: String, _ values: [SQLValue]) throws -> Int
    /// Runs one query written for both backends (see ``portableExecute(_:_:)``).
    func portableQuery(_ sql: String, _ values: [SQLValue]) throws -> [PortableRow]
}

/// A service's repository: opens transactions on the office's store and hands the service its
/// records in them (`Records` is the service's records protocol, made per backend by `records`).
public protocol ServiceRepository: Sendable {
    associatedtype Records
    var store: any OfficeStore { get }
    /// The records in a transaction (the runtime's, for an event; or one this repository opened).
    static func records(in transaction: any StoreTransaction) throws -> Records
}

extension ServiceRepository {
    /// Runs `body` on the records in one write transaction.
    public func write<T: Sendable>(_ body: @escaping @Sendable (Records) throws -> T) async throws -> T {
        try await store.write { transaction in try body(try Self.records(in: transaction)) }
    }

    /// Runs `body` on the records in one read-only snapshot.
    public func read<T: Sendable>(_ body: @escaping @Sendable (Records) throws -> T) async throws -> T {
        try await store.read { transaction in try body(try Self.records(in: transaction)) }
    }
}

/// The office's own stored data cannot be read: damaged, or written by a newer version of the
/// office during a rolling upgrade. That is the office's trouble, never the fault of the record
/// being applied: the consumer retries (and `/health` says so) instead of dead-lettering a valid
/// event, and an API request gets a 500.
public struct StoredDataError: Error, CustomStringConvertible {
    public var description: String

    /// Runs `body`, which reads `what` from the store; any error it throws becomes a ``StoredDataError``.
    public static func reading<T>(_ what: @autoclosure () -> String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw StoredDataError(description: "stored \(what()) cannot be read: \(error)")
        }
    }
}

/// The store refused a write because its disk is full (SQLite `SQLITE_FULL`, PostgreSQL
/// `53100`): the office's trouble, never the request's or the record's. The API answers 503
/// saying so, the consumer retries, and `/health` reports the store unavailable for a while after
/// any write met it (a tiny probe write may still fit where real writes do not).
public struct StorageFull: Error, CustomStringConvertible {
    public var description: String

    private static let seen = Mutex<[String: ContinuousClock.Instant]>([:])

    /// - Parameter location: the store's ``OfficeStore/location``; its last refusal is remembered.
    public init(location: String, _ detail: String) {
        description = "the disk of the office's store is full: \(detail)"
        Self.seen.withLock { $0[location] = .now }
    }

    /// Whether the store at `location` refused a write for a full disk within `window`.
    public static func seenRecently(at location: String, within window: Duration) -> Bool {
        seen.withLock { $0[location] }.map { ContinuousClock.now - $0 < window } ?? false
    }
}

/// A constraint of the schema refused a write (a unique key, a check): the data is wrong, not
/// the store. An incoming event that causes it is dead-lettered; an API request gets 409.
public struct StoreConstraintViolation: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// What a transaction runs once it has committed (``StoreTransaction/afterCommit(_:)``), in order.
public final class AfterCommitActions: @unchecked Sendable {
    private var actions: [@Sendable () -> Void] = []
    private let lock = NSLock()

    public init() {}

    func append(_ action: @escaping @Sendable () -> Void) { lock.withLock { actions.append(action) } }
    /// How many are registered (a savepoint's mark).
    var count: Int { lock.withLock { actions.count } }
    /// Forgets those registered after `mark` (their savepoint was rolled back).
    func rollBack(to mark: Int) { lock.withLock { actions.removeSubrange(mark...) } }
    /// Runs them all, once: after the commit.
    public func run() {
        let all = lock.withLock { () -> [@Sendable () -> Void] in
            defer { actions = [] }
            return actions
        }
        for action in all { action() }
    }
}

/// A transaction on the SQLite store (``OfficeDatabase``).
public struct SQLiteTransaction: StoreTransaction {
    public let db: Database
    /// Where ``afterCommit(_:)`` actions wait for the commit; without it (a transaction a test
    /// opened by hand) they run from GRDB's commit hook.
    let committed: AfterCommitActions?

    public init(_ db: Database, afterCommit: AfterCommitActions? = nil) {
        self.db = db
        self.committed = afterCommit
    }

    public func afterCommit(_ action: @escaping @Sendable () -> Void) {
        if let committed { committed.append(action) } else { db.afterNextTransaction(onCommit: { _ in action() }) }
    }

    public func appendToOutbox(_ event: CloudEvent, topic: String, signer: EventSigner) throws {
        try Outbox.append(event, topic: topic, signer: signer, in: db)
    }

    public func nextInSequence(_ name: String) throws -> Int {
        try Int.fetchOne(
            db, sql: "INSERT INTO documentSequence (name, value) VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value",
            arguments: [name]) ?? 1
    }

    public func savepoint<T>(_ body: () throws -> T) throws -> T {
        var result: T?
        let mark = committed?.count ?? 0
        do {
            try db.inSavepoint {
                result = try body()
                return .commit
            }
        } catch {
            committed?.rollBack(to: mark)
            throw error
        }
        return result!
    }

    public func claimInbox(eventId: String, eventType: String, topic: String, partition: Int, offset: Int64) throws -> Bool {
        try db.execute(
            sql: "INSERT INTO inbox (eventId, eventType, topic, partition, offset, processedAt) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(eventId) DO NOTHING",
            arguments: [eventId, eventType, topic, partition, offset, Date()])
        return db.changesCount > 0
    }

    public func recordPositions(_ next: [TopicPartition: Int64]) throws {
        for (partition, offset) in next {
            try db.execute(
                sql: """
                    INSERT INTO consumerPosition (topic, partition, nextOffset, updatedAt) VALUES (?, ?, ?, ?)
                    ON CONFLICT(topic, partition) DO UPDATE SET nextOffset = max(nextOffset, excluded.nextOffset), updatedAt = excluded.updatedAt
                    """,
                arguments: [partition.topic, partition.partition, offset, Date()])
        }
    }

    public func positions() throws -> [TopicPartition: Int64] { try ConsumerPosition.all(db) }
    public func outboxStatistics() throws -> Outbox.Statistics { try Outbox.statistics(db) }
    public func publishableOutbox(limit: Int) throws -> [OutboxRow] { try Outbox.publishable(limit: limit, db) }

    public func markSent(_ rows: [(seq: Int64, partition: Int, offset: Int64)], at time: Date) throws {
        for row in rows {
            try db.execute(sql: "UPDATE outbox SET sentAt = ?, partition = ?, offset = ? WHERE seq = ? AND sentAt IS NULL", arguments: [time, row.partition, row.offset, row.seq])
        }
    }

    public func park(seq: Int64, reason: String) throws { try Outbox.park(seq: seq, reason: reason, db) }
    public func release(seq: Int64) throws -> Bool { try Outbox.release(seq: seq, db) }
    public func parkedOutbox() throws -> [Outbox.ParkedRow] { try Outbox.parked(db) }

    public func sentCount(eventType: String?) throws -> Int {
        try Outbox.sentCount(db, type: eventType.flatMap(EventType.init(rawValue:)))
    }

    public func portableExecute(_ sql: String, _ values: [SQLValue]) throws -> Int {
        try db.execute(sql: Self.numbered(sql), arguments: Self.arguments(values))
        return db.changesCount
    }

    public func portableQuery(_ sql: String, _ values: [SQLValue]) throws -> [PortableRow] {
        try Row.fetchAll(db, sql: Self.numbered(sql), arguments: Self.arguments(values)).map { row in
            var values: [String: SQLValue] = [:]
            for (column, value) in row {
                switch value.storage {
                case .null: values[column.lowercased()] = .null
                case .int64(let int): values[column.lowercased()] = .int(Int(int))
                case .double(let double): values[column.lowercased()] = .int(Int(double))
                case .string(let text): values[column.lowercased()] = .text(text)
                case .blob(let data): values[column.lowercased()] = .bytes(data)
                }
            }
            return PortableRow(values: values)
        }
    }

    /// `$n` (PostgreSQL's numbered parameters) as SQLite's `?n`, which bind by number too.
    static func numbered(_ sql: String) -> String {
        sql.replacingOccurrences(of: #"\$([0-9]+)"#, with: "?$1", options: .regularExpression)
    }

    static func arguments(_ values: [SQLValue]) -> StatementArguments {
        StatementArguments(values.map { value -> (any DatabaseValueConvertible)? in
            switch value {
            case .text(let text): text
            case .int(let int): int
            case .bool(let bool): bool
            case .date(let date): date
            case .bytes(let data): data
            case .texts(let texts): texts.joined(separator: ",")
            case .ints(let ints): ints.map(String.init).joined(separator: ",")
            case .null: nil
            }
        })
    }

    public func probeWrite() throws {
        try db.execute(
            sql: "INSERT INTO healthProbe (id, checkedAt) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET checkedAt = excluded.checkedAt", arguments: [Date()])
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

extension OfficeDatabase: OfficeStore {
    public func write<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        do {
            let committed = AfterCommitActions()
            let result = try await writer.write { db in try body(SQLiteTransaction(db, afterCommit: committed)) }
            committed.run()
            return result
        } catch let error as DatabaseError where error.resultCode == .SQLITE_FULL {
            throw StorageFull(location: location, error.message ?? "database or disk is full")
        }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        try await writer.read { db in try body(SQLiteTransaction(db)) }
    }

    /// One process per SQLite file: it always runs the relay.
    public func holdsRelayLease() async throws -> Bool { true }

    public func relayWrite<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        try await write(body)
    }

    public func relayLease() async throws -> RelayLeaseStatus { .here }

    public var location: String { path ?? ":memory:" }

    public func close() async {}
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
