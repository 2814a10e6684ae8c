import Foundation
import GRDB
import TransferDomain

/// An office's SQLite database: WAL-mode pool in services, in-memory queue in tests; the
/// runtime's tables (outbox, inbox, document sequences) plus the service's own, all created by
/// named migrations that are never edited once shipped.
public struct SQLiteStore: Sendable {
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

    /// Opens the file at `path` read-only, as it is: no migration, no write (a reader such as the audit).
    public init(readingOnly path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.readonly = true
        do {
            writer = try DatabaseQueue(path: path, configuration: configuration)
        } catch {
            throw OfficeDatabaseError(path: path, underlying: error)
        }
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

extension RemittanceRow: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "remittance"

    /// The remittances of a case, in the order they were posted (SQLite repositories).
    public static func forCase(_ caseID: CaseID, _ db: Database) throws -> [RemittanceRow] {
        try RemittanceRow.fetchAll(
            db, sql: "SELECT remittanceId, caseId, kind, amountFen, valueDate FROM remittance WHERE caseId = ? ORDER BY rowid",
            arguments: [caseID.description])
    }
}
