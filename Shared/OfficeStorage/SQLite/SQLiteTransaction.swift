import Foundation
import GRDB
import Kafka
import TransferDomain
import EventSigning

/// A transaction on the SQLite store (``SQLiteStore``).
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
            throw Self.normalized(error)
        }
        return result!
    }

    public func claimInbox(eventId: String, eventType: String, topic: String, partition: Int, offset: Int64) throws -> Bool {
        // The statements run for every event (and every batch) are prepared once per connection.
        try db.cachedStatement(
            sql: "INSERT INTO inbox (eventId, eventType, topic, partition, offset, processedAt) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(eventId) DO NOTHING"
        ).execute(arguments: [eventId, eventType, topic, partition, offset, Date()])
        return db.changesCount > 0
    }

    public func recordPositions(_ next: [TopicPartition: Int64]) throws {
        for (partition, offset) in next {
            try db.cachedStatement(
                sql: """
                    INSERT INTO consumerPosition (topic, partition, nextOffset, updatedAt) VALUES (?, ?, ?, ?)
                    ON CONFLICT(topic, partition) DO UPDATE SET nextOffset = max(nextOffset, excluded.nextOffset), updatedAt = excluded.updatedAt
                    """
            ).execute(arguments: [partition.topic, partition.partition, offset, Date()])
        }
    }

    public func positions() throws -> [TopicPartition: Int64] {
        var result: [TopicPartition: Int64] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT topic, partition, nextOffset FROM consumerPosition") {
            result[TopicPartition(row["topic"], row["partition"])] = row["nextOffset"]
        }
        return result
    }
    public func outboxStatistics() throws -> Outbox.Statistics { try Outbox.statistics(db) }
    public func publishableOutbox(limit: Int) throws -> [OutboxRow] { try Outbox.publishable(limit: limit, db) }

    public func markSent(_ rows: [(seq: Int64, partition: Int, offset: Int64)], at time: Date) throws {
        for row in rows {
            try db.cachedStatement(sql: "UPDATE outbox SET sentAt = ?, partition = ?, offset = ? WHERE seq = ? AND sentAt IS NULL")
                .execute(arguments: [time, row.partition, row.offset, row.seq])
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

    public func tableExists(_ name: String) throws -> Bool { try db.tableExists(name) }

    public func records<Backends: StoreBackends>(_ backends: Backends.Type) throws -> Backends.Records {
        try Backends.records(self)
    }

    /// A constraint's refusal as the store's own error (``StoreConstraintViolation``), so that
    /// nothing above the store needs to know GRDB's; any other error as it is.
    static func normalized(_ error: any Error) -> any Error {
        guard let error = error as? DatabaseError, error.resultCode == .SQLITE_CONSTRAINT else { return error }
        return StoreConstraintViolation(error.message ?? "constraint")
    }
}

extension SQLiteStore: OfficeStore {
    public func write<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        do {
            let committed = AfterCommitActions()
            let result = try await writer.write { db in try body(SQLiteTransaction(db, afterCommit: committed)) }
            committed.run()
            return result
        } catch let error as DatabaseError where error.resultCode == .SQLITE_FULL {
            throw StorageFull(location: location, error.message ?? "database or disk is full")
        } catch {
            throw SQLiteTransaction.normalized(error)
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

