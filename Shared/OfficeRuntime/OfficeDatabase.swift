import Foundation
import GRDB
import Kafka
import Metrics
import TransferDomain

/// An office's SQLite database: WAL-mode pool in services, in-memory queue in tests; the
/// runtime's tables (outbox, inbox, document sequences) plus the service's own, all created by
/// named migrations that are never edited once shipped.
public struct OfficeDatabase: Sendable {
    public let writer: any DatabaseWriter
    /// The file, or nil in memory.
    public let path: String?

    /// Opens (creating the file and its folder when missing) and migrates.
    ///
    /// Durability: WAL with `synchronous=FULL`. Under `NORMAL` a commit may be lost at a power
    /// failure even though it returned; the runtime acts on commits outside the database (it
    /// publishes outbox rows and commits consumer offsets after the transaction), so a lost
    /// commit could leave an event published whose state change is gone, or an offset committed
    /// past an event whose effects are gone. `FULL` syncs the WAL at every commit.
    /// - Parameter path: a file path, or `nil` for an in-memory database.
    /// - Throws: ``OfficeDatabaseError`` naming the path when the file cannot be opened or migrated.
    public init(path: String?, migrations: @Sendable (inout DatabaseMigrator) -> Void) throws {
        self.path = path
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        // A writer waits for a busy lock instead of failing at once.
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        if let path {
            do {
                let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
                if !folder.isEmpty { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
                writer = try DatabasePool(path: path, configuration: configuration)
                try Self.migrate(writer, migrations)
            } catch {
                throw OfficeDatabaseError(path: path, underlying: error)
            }
            return
        } else {
            writer = try DatabaseQueue(configuration: configuration)
        }
        try Self.migrate(writer, migrations)
    }

    private static func migrate(_ writer: any DatabaseWriter, _ migrations: @Sendable (inout DatabaseMigrator) -> Void) throws {
        var migrator = DatabaseMigrator()
        Self.registerRuntimeMigrations(&migrator)
        migrations(&migrator)
        try migrator.migrate(writer)
    }

    static func registerRuntimeMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("runtime-v1") { db in
            try db.create(table: "outbox") { t in
                t.autoIncrementedPrimaryKey("seq")
                t.column("eventId", .text).notNull().unique()
                t.column("eventType", .text).notNull()
                t.column("topic", .text).notNull()
                t.column("key", .text).notNull()
                t.column("headers", .text).notNull()
                t.column("payload", .blob).notNull()
                t.column("createdAt", .datetime).notNull()
                t.column("sentAt", .datetime)
                t.column("partition", .integer)
                t.column("offset", .integer)
            }
            try db.create(index: "outbox_unsent", on: "outbox", columns: ["sentAt", "seq"])
            try db.create(table: "inbox") { t in
                t.primaryKey("eventId", .text)
                t.column("eventType", .text).notNull()
                t.column("topic", .text).notNull()
                t.column("partition", .integer).notNull()
                t.column("offset", .integer).notNull()
                t.column("processedAt", .datetime).notNull()
            }
            // How far the event consumer got, per partition: operators (and tests) see progress
            // without asking the broker. Updated with each batch, after its transactions.
            try db.create(table: "consumerPosition") { t in
                t.column("topic", .text).notNull()
                t.column("partition", .integer).notNull()
                t.column("nextOffset", .integer).notNull()
                t.column("updatedAt", .datetime).notNull()
                t.primaryKey(["topic", "partition"])
            }
            try db.create(table: "documentSequence") { t in
                t.primaryKey("name", .text)
                t.column("value", .integer).notNull()
            }
        }
        migrator.registerMigration("runtime-v2-parking-and-health") { db in
            // A row that can never be published (too large for the broker, refused as invalid) is
            // set aside instead of blocking every row behind it; an operator inspects it with
            // `<office> outbox parked` and releases it once the cause is fixed.
            try db.alter(table: "outbox") { t in
                t.add(column: "parkedAt", .datetime)
                t.add(column: "parkReason", .text)
            }
            // `/health` proves the database takes writes by writing here.
            try db.create(table: "healthProbe") { t in
                t.primaryKey("id", .integer)
                t.column("checkedAt", .datetime).notNull()
            }
        }
        // Staff accounts and console sessions; the dead-letter log the console lists.
        migrator.registerMigration("console-v1") { db in
            for statement in StaffSchema.sqlite { try db.execute(sql: statement) }
        }
    }
}

/// The office database could not be opened or migrated.
public struct OfficeDatabaseError: Error, CustomStringConvertible {
    public var path: String
    public var underlying: any Error
    public var description: String { "cannot open the database at \(path): \(underlying)" }
}

/// Document numbers: a per-office, per-year counter for each kind of document.
public enum DocumentSequence {
    /// The next number of `Number`'s kind issued by `office` in `year`, inside the caller's
    /// transaction: unique and gap-free, since a rolled-back transaction takes its number back.
    public static func next<Number: DocumentNumber>(_: Number.Type, office: OfficeCode, year: Int, in transaction: any StoreTransaction) throws -> Number {
        Number(office: office, year: year, sequence: try transaction.nextInSequence("\(Number.prefix)-\(office.rawValue)-\(year)"))
    }
}

/// A row of an office's `remittance` table (both offices keep one, of this shape).
public struct RemittanceRow: Codable, FetchableRecord, PersistableRecord, Sendable {
    public static let databaseTableName = "remittance"
    public var remittanceId: String
    public var caseId: String
    /// What the money was (each office's schema lists its kinds).
    public var kind: String
    public var amountFen: Int
    public var valueDate: String

    public init(remittanceId: String, caseId: String, kind: String, amountFen: Int, valueDate: String) {
        self.remittanceId = remittanceId
        self.caseId = caseId
        self.kind = kind
        self.amountFen = amountFen
        self.valueDate = valueDate
    }

    public init(remittanceId: RemittanceID, caseId: String, kind: String, amount: Money, valueDate: LocalDate) {
        self.remittanceId = remittanceId.rawValue
        self.caseId = caseId
        self.kind = kind
        self.amountFen = amount.fen
        self.valueDate = valueDate.description
    }

    /// The remittances of a case, in the order they were posted (SQLite repositories).
    public static func forCase(_ caseID: CaseID, _ db: Database) throws -> [RemittanceRow] {
        try RemittanceRow.fetchAll(
            db, sql: "SELECT remittanceId, caseId, kind, amountFen, valueDate FROM remittance WHERE caseId = ? ORDER BY rowid",
            arguments: [caseID.description])
    }
}

/// A remittance as the case APIs show it.
public struct RemittanceView: Encodable, Sendable {
    public var remittanceId: String
    public var kind: String
    public var amount: Money
    public var valueDate: String

    public init(_ row: RemittanceRow) {
        remittanceId = row.remittanceId
        kind = row.kind
        amount = Money(fen: row.amountFen)
        valueDate = row.valueDate
    }
}

/// The filters of a case list: `state` (one of the case's states) and `overdue`.
public struct CaseFilter<State: CaseLifecycle>: Sendable {
    public var state: State?
    /// Only cases overdue on this day (the domain's ``CaseLifecycle/overdueRules``).
    public var overdueOn: LocalDate?
    /// Further conditions (the console's filters): the column and comparison (`=`, `>=`, `<=`)
    /// are the service's, only the value comes from the request (and is bound, never spliced).
    public var conditions: [Condition] = []
    /// Newest first (the console), instead of oldest first (the API).
    public var newestFirst = false

    public struct Condition: Sendable {
        public enum Comparison: String, Sendable { case equal = "=", atLeast = ">=", atMost = "<=" }
        public var column: String
        public var comparison: Comparison
        public var value: String
        public init(_ column: String, _ comparison: Comparison, _ value: String) {
            self.column = column
            self.comparison = comparison
            self.value = value
        }
    }

    /// `order` (`a, b`) as written, or each column descending.
    public func ordering(_ order: String) -> String {
        newestFirst ? order.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) + " DESC" }.joined(separator: ", ") : order
    }

    public init(state: State? = nil, overdueOn: LocalDate? = nil) {
        self.state = state
        self.overdueOn = overdueOn
    }

    /// From the query parameters; a ``ValidationError`` on `state` when it is not one of the states.
    public init(state: String?, overdue: Bool, today: LocalDate) throws {
        if let state {
            guard let value = State(rawValue: state) else {
                throw ValidationError(field: "state", reason: "must be one of \(State.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            self.state = value
        }
        overdueOn = overdue ? today : nil
    }
}

/// `limit` and `offset` of a case list: the page of results a request asks for.
public struct Page: Sendable {
    public static let maxLimit = 10_000
    public static let maxOffset = 1_000_000_000
    public var limit: Int
    public var offset: Int

    /// From the `limit` (1-10000, default 1000) and `offset` (0-1000000000, default 0) query parameters.
    public init(limit: String?, offset: String?) throws {
        guard let limit = Int(limit ?? "1000"), (1...Self.maxLimit).contains(limit) else {
            throw ValidationError(field: "limit", reason: "must be a whole number from 1 to \(Self.maxLimit)")
        }
        guard let offset = Int(offset ?? "0"), (0...Self.maxOffset).contains(offset) else {
            throw ValidationError(field: "offset", reason: "must be a whole number from 0 to \(Self.maxOffset)")
        }
        self.limit = limit
        self.offset = offset
    }

    /// The SQL clause, appended after ORDER BY.
    public var sql: String { " LIMIT \(limit) OFFSET \(offset)" }

    /// The response body of this page of `items`, out of `total` matching the filter.
    public func body<Item: Encodable & Sendable>(_ items: [Item], total: Int) -> PageBody<Item> {
        PageBody(cases: items, count: items.count, total: total, limit: limit, offset: offset)
    }
}

/// One page of a case list, as both offices answer `GET /v1/cases`.
public struct PageBody<Item: Encodable & Sendable>: Encodable, Sendable {
    public var cases: [Item]
    /// Cases on this page.
    public var count: Int
    /// Cases matching the filter, on all pages.
    public var total: Int
    public var limit: Int
    public var offset: Int
}

/// The consumer's progress: the next offset it will read, per partition.
public enum ConsumerPosition {
    /// The next offset of each partition after `messages`.
    public static func next(after messages: [KafkaMessage]) -> [TopicPartition: Int64] {
        var next: [TopicPartition: Int64] = [:]
        for message in messages { next[message.topicPartition] = max(next[message.topicPartition] ?? 0, message.offset + 1) }
        return next
    }

    /// Next offsets by partition.
    public static func all(_ db: Database) throws -> [TopicPartition: Int64] {
        var result: [TopicPartition: Int64] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT topic, partition, nextOffset FROM consumerPosition") {
            result[TopicPartition(row["topic"], row["partition"])] = row["nextOffset"]
        }
        return result
    }
}

/// How many cases are in each state and how many are overdue (the `cases{state}` and
/// `cases_overdue` gauges), as a service's repository counts them.
public struct CaseCounts<State: CaseLifecycle>: Sendable {
    public var byState: [State: Int]
    public var overdue: Int

    public init(byState: [State: Int], overdue: Int) {
        self.byState = byState
        self.overdue = overdue
    }

    /// Records the gauges (every state, zero included).
    public func record() {
        for state in State.allCases { Gauge(label: "cases", dimensions: [("state", state.rawValue)]).record(byState[state] ?? 0) }
        Gauge(label: "cases_overdue").record(overdue)
    }
}
