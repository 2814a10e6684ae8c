import Foundation
import EventSigning
import Kafka
import Logging
import NIOCore
import PostgresNIO
import TransferDomain

/// A transaction on PostgreSQL: the runtime's tables, and `execute`/`query` for the services'
/// PostgreSQL repositories (their SQL, with `$n` parameters).
public final class PostgresTransaction: StoreTransaction {
    let connection: PostgresConnection
    let logger: Logger
    /// The client's own bound on each statement (see ``run(_:_:)``).
    let timeout: Duration
    private var savepoints = 0
    /// Run by the store once this transaction (this run of it) has committed.
    let committed = AfterCommitActions()

    init(connection: PostgresConnection, timeout: Duration = .seconds(30), logger: Logger) {
        self.connection = connection
        self.timeout = timeout
        self.logger = logger
    }

    public func records<Backends: StoreBackends>(_ backends: Backends.Type) throws -> Backends.Records {
        try Backends.records(self)
    }

    public func tableExists(_ name: String) throws -> Bool {
        try query("SELECT to_regclass($1) IS NOT NULL AS present", [.text(name.lowercased())])[0].bool("present")
    }

    private func run(_ sql: String, _ values: [SQLValue]) throws -> PostgresQueryResult {
        var binds = PostgresBindings(capacity: values.count)
        for value in values {
            switch value {
            case .text(let text): binds.append(text)
            case .int(let int): binds.append(int)
            case .bool(let bool): binds.append(bool)
            case .date(let date): binds.append(date)
            case .bytes(let data): binds.append(ByteBuffer(bytes: data))
            case .texts(let texts): binds.append(texts)
            case .ints(let ints): binds.append(ints)
            case .null: binds.appendNull()
            }
        }
        do {
            return try Self.wait(for: connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger), timeout: timeout) { [connection] in
                // A connection that stops answering (a cut network) is closed: the pool drops it.
                _ = connection.close() as EventLoopFuture<Void>
            }
        } catch let error as PSQLError {
            throw Self.translate(error)
        }
    }

    /// The result of `future`, or a ``PostgresStoreError`` once `timeout` has passed without one
    /// (after `onTimeout`): a statement never blocks its thread longer than that.
    static func wait<T: Sendable>(for future: EventLoopFuture<T>, timeout: Duration, onTimeout: @escaping @Sendable () -> Void) throws -> T {
        let loop = future.eventLoop
        let promise = loop.makePromise(of: T.self)
        // Both callbacks run on `loop`: the flag needs no lock.
        let once = StatementOnce()
        let seconds = timeout.components.seconds
        let timer = loop.scheduleTask(in: .seconds(seconds)) {
            guard !once.done else { return }
            once.done = true
            promise.fail(PostgresStoreError(sqlState: nil, message: "no answer from the server within \(seconds) s", connectionLevel: true))
            onTimeout()
        }
        future.whenComplete { result in
            timer.cancel()
            guard !once.done else { return }
            once.done = true
            promise.completeWith(result)
        }
        return try promise.futureResult.wait()
    }

    /// Runs a statement; returns the rows it changed.
    @discardableResult
    public func execute(_ sql: String, _ values: [SQLValue] = []) throws -> Int {
        try run(sql, values).metadata.rows ?? 0
    }

    /// Runs a query; returns its rows.
    public func query(_ sql: String, _ values: [SQLValue] = []) throws -> [StoreRow] {
        try run(sql, values).rows.map { StoreRow(row: $0.makeRandomAccess()) }
    }

    /// A constraint (SQLSTATE class 23) is the data's fault; anything else is the store's.
    static func translate(_ error: PSQLError, location: String? = nil) -> any Error {
        let state = error.serverInfo?[.sqlState]
        let message = error.serverInfo?[.message] ?? "\(error.code)"
        if let state, state.hasPrefix("23") {
            return StoreConstraintViolation("\(message) (\(error.serverInfo?[.constraintName] ?? state))")
        }
        if state == "53100", let location { return StorageFull(location: location, message) }
        // No server answer at all: the connection failed (closed, timed out, not established).
        return PostgresStoreError(sqlState: state, message: message, connectionLevel: error.serverInfo == nil)
    }

    public func appendToOutbox(_ event: CloudEvent, topic: String, signer: EventSigner) throws {
        let row = try OutboxRow(event, topic: topic, signer: signer)
        try execute(
            "INSERT INTO outbox (eventId, eventType, topic, key, headers, payload, createdAt) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            [.text(row.eventId), .text(row.eventType), .text(row.topic), .text(row.key), .text(row.headers), .bytes(row.payload), .date(row.createdAt)])
    }

    public func nextInSequence(_ name: String) throws -> Int {
        try query(
            "INSERT INTO documentSequence (name, value) VALUES ($1, 1) ON CONFLICT (name) DO UPDATE SET value = documentSequence.value + 1 RETURNING value",
            [.text(name)]
        ).first?.int("value") ?? 1
    }

    public func savepoint<T>(_ body: () throws -> T) throws -> T {
        savepoints += 1
        let name = "s\(savepoints)"
        let mark = committed.count
        try execute("SAVEPOINT \(name)")
        do {
            let result = try body()
            try execute("RELEASE SAVEPOINT \(name)")
            return result
        } catch {
            committed.rollBack(to: mark)
            try execute("ROLLBACK TO SAVEPOINT \(name)")
            throw error
        }
    }

    public func afterCommit(_ action: @escaping @Sendable () -> Void) { committed.append(action) }

    public func claimInbox(eventId: String, eventType: String, topic: String, partition: Int, offset: Int64) throws -> Bool {
        try execute(
            """
            INSERT INTO inbox (eventId, eventType, topic, kafkaPartition, kafkaOffset, processedAt) VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (eventId) DO NOTHING
            """,
            [.text(eventId), .text(eventType), .text(topic), .int(partition), .int(Int(offset)), .date(Date())]) > 0
    }

    public func recordPositions(_ next: [TopicPartition: Int64]) throws {
        for (partition, offset) in next.sorted(by: { ($0.key.topic, $0.key.partition) < ($1.key.topic, $1.key.partition) }) {
            try execute(
                """
                INSERT INTO consumerPosition (topic, kafkaPartition, nextOffset, updatedAt) VALUES ($1, $2, $3, $4)
                ON CONFLICT (topic, kafkaPartition) DO UPDATE
                SET nextOffset = GREATEST(consumerPosition.nextOffset, excluded.nextOffset), updatedAt = excluded.updatedAt
                """,
                [.text(partition.topic), .int(Int(partition.partition)), .int(Int(offset)), .date(Date())])
        }
    }

    public func positions() throws -> [TopicPartition: Int64] {
        var result: [TopicPartition: Int64] = [:]
        for row in try query("SELECT topic, kafkaPartition, nextOffset FROM consumerPosition") {
            result[TopicPartition(try row.string("topic"), Int32(try row.int("kafkaPartition")))] = Int64(try row.int("nextOffset"))
        }
        return result
    }

    public func outboxStatistics() throws -> Outbox.Statistics {
        let row = try query(
            """
            SELECT COUNT(*) FILTER (WHERE parkedAt IS NULL) AS pending, COUNT(*) FILTER (WHERE parkedAt IS NOT NULL) AS parked,
                   MIN(createdAt) FILTER (WHERE parkedAt IS NULL) AS oldest
            FROM outbox WHERE sentAt IS NULL
            """)[0]
        return Outbox.Statistics(pending: try row.int("pending"), parked: try row.int("parked"), oldestUnsent: try row.optionalDate("oldest"))
    }

    public func publishableOutbox(limit: Int) throws -> [OutboxRow] {
        try query(
            """
            SELECT seq, eventId, eventType, topic, key, headers, payload, createdAt FROM outbox
            WHERE sentAt IS NULL AND parkedAt IS NULL
              AND key NOT IN (SELECT key FROM outbox WHERE sentAt IS NULL AND parkedAt IS NOT NULL)
            ORDER BY seq LIMIT $1
            """, [.int(limit)]
        ).map { row in
            OutboxRow(
                seq: Int64(try row.int("seq")), eventId: try row.string("eventId"), eventType: try row.string("eventType"),
                topic: try row.string("topic"), key: try row.string("key"), headers: try row.string("headers"), payload: try row.data("payload"),
                createdAt: try row.date("createdAt"))
        }
    }

    public func markSent(_ rows: [(seq: Int64, partition: Int, offset: Int64)], at time: Date) throws {
        for row in rows {
            // Never over what another relay recorded.
            try execute(
                "UPDATE outbox SET sentAt = $1, kafkaPartition = $2, kafkaOffset = $3 WHERE seq = $4 AND sentAt IS NULL",
                [.date(time), .int(row.partition), .int(Int(row.offset)), .int(Int(row.seq))])
        }
    }

    public func park(seq: Int64, reason: String) throws {
        try execute("UPDATE outbox SET parkedAt = $1, parkReason = $2 WHERE seq = $3", [.date(Date()), .text(String(reason.prefix(2000))), .int(Int(seq))])
    }

    public func release(seq: Int64) throws -> Bool {
        try execute(
            "UPDATE outbox SET parkedAt = NULL, parkReason = NULL WHERE seq = $1 AND sentAt IS NULL AND parkedAt IS NOT NULL", [.int(Int(seq))]) > 0
    }

    public func parkedOutbox() throws -> [Outbox.ParkedRow] {
        try query(
            """
            SELECT p.seq, p.eventId, p.eventType, p.key, length(p.payload) + length(p.headers) + length(p.key) AS bytes,
                   p.createdAt, p.parkedAt, p.parkReason,
                   (SELECT COUNT(*) FROM outbox h WHERE h.key = p.key AND h.sentAt IS NULL AND h.parkedAt IS NULL) AS heldBehind
            FROM outbox p WHERE p.sentAt IS NULL AND p.parkedAt IS NOT NULL ORDER BY p.seq
            """
        ).map { row in
            Outbox.ParkedRow(
                seq: Int64(try row.int("seq")), eventId: try row.string("eventId"), eventType: try row.string("eventType"),
                key: try row.string("key"), bytes: try row.int("bytes"), createdAt: try row.date("createdAt"), parkedAt: try row.date("parkedAt"),
                reason: try row.optionalString("parkReason") ?? "", heldBehind: try row.int("heldBehind"))
        }
    }

    public func sentCount(eventType: String?) throws -> Int {
        if let eventType {
            return try query("SELECT COUNT(*) AS n FROM outbox WHERE sentAt IS NOT NULL AND eventType = $1", [.text(eventType)])[0].int("n")
        }
        return try query("SELECT COUNT(*) AS n FROM outbox WHERE sentAt IS NOT NULL")[0].int("n")
    }

    public func portableExecute(_ sql: String, _ values: [SQLValue]) throws -> Int {
        try execute(sql, values)
    }

    public func portableQuery(_ sql: String, _ values: [SQLValue]) throws -> [PortableRow] {
        try run(sql, values).rows.map { row in
            var values: [String: SQLValue] = [:]
            for cell in row {
                let name = cell.columnName.lowercased()
                if cell.bytes == nil {
                    values[name] = .null
                } else if cell.dataType == .int8 || cell.dataType == .int4 || cell.dataType == .int2 {
                    values[name] = .int(try cell.decode(Int.self))
                } else if cell.dataType == .bytea {
                    values[name] = .bytes(Data(buffer: try cell.decode(ByteBuffer.self)))
                } else {
                    values[name] = .text(try cell.decode(String.self))
                }
            }
            return PortableRow(values: values)
        }
    }

    public func probeWrite() throws {
        try execute(
            "INSERT INTO healthProbe (id, checkedAt) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET checkedAt = excluded.checkedAt", [.date(Date())])
    }
}
