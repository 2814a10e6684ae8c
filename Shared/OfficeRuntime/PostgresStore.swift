import Foundation
import EventSigning
import Kafka
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Synchronization
import TransferDomain

/// A named, forward-only PostgreSQL migration: statements run once, in order, in the
/// transaction that records the name. Never edited once shipped.
public struct PostgresMigration: Sendable {
    public var name: String
    public var statements: [String]

    public init(_ name: String, _ statements: [String]) {
        self.name = name
        self.statements = statements
    }
}

/// A value bound to a PostgreSQL statement parameter (`$1`, `$2`, ...).
public enum SQLValue: Sendable {
    case text(String)
    case int(Int)
    case bool(Bool)
    case date(Date)
    case bytes(Data)
    /// A `TEXT[]` (for `= ANY($n)` or `unnest`).
    case texts([String])
    /// A `BIGINT[]` (for `unnest`).
    case ints([Int])
    case null

    public static func text(_ value: String?) -> SQLValue { value.map(SQLValue.text) ?? .null }
    public static func int(_ value: Int?) -> SQLValue { value.map(SQLValue.int) ?? .null }
    public static func date(_ value: Date?) -> SQLValue { value.map(SQLValue.date) ?? .null }
}

/// A row of a PostgreSQL result, read by column name (unquoted names are folded to lower case).
public struct StoreRow {
    let row: PostgresRandomAccessRow

    private func cell(_ column: String) throws -> PostgresCell {
        let name = column.lowercased()
        guard row.contains(name) else { throw PostgresStoreError(sqlState: nil, message: "no column \(column) in the result") }
        return row[name]
    }

    public func string(_ column: String) throws -> String { try cell(column).decode(String.self) }
    public func optionalString(_ column: String) throws -> String? { try cell(column).decode(String?.self) }
    public func int(_ column: String) throws -> Int { try cell(column).decode(Int.self) }
    public func optionalInt(_ column: String) throws -> Int? { try cell(column).decode(Int?.self) }
    public func bool(_ column: String) throws -> Bool { try cell(column).decode(Bool.self) }
    public func date(_ column: String) throws -> Date { try cell(column).decode(Date.self) }
    public func optionalDate(_ column: String) throws -> Date? { try cell(column).decode(Date?.self) }
    public func data(_ column: String) throws -> Data { Data(buffer: try cell(column).decode(ByteBuffer.self)) }
}

/// What PostgreSQL answered when a statement failed (its SQLSTATE and message).
public struct PostgresStoreError: Error, CustomStringConvertible {
    public var sqlState: String?
    public var message: String
    public var description: String { "PostgreSQL \(sqlState.map { "\($0): " } ?? "")\(message)" }

    /// Another transaction conflicted (serialization failure, deadlock): running again succeeds.
    public var isRetryable: Bool { sqlState == "40001" || sqlState == "40P01" }
}

/// An office's store on PostgreSQL: any number of instances of one office share it.
///
/// - Writes run `SERIALIZABLE`: instances need no locking protocol of their own to keep a
///   person from being transferred twice or a case reviewed twice; a transaction that conflicts
///   with another is rolled back by the server and run again here (up to 50 times).
/// - Reads run `REPEATABLE READ READ ONLY` (one snapshot, never a serialization failure).
/// - Each transaction body runs on a thread of the store's own pool and blocks it on the
///   connection's replies (the runtime's transactions are synchronous closures, see
///   ``StoreTransaction``); connections come from postgres-nio's `PostgresClient` pool.
/// - The outbox relay runs in one instance at a time: the holder of a lease, a row with the holder,
///   an epoch and an expiry in the server's clock (``holdsRelayLease()``). The holder renews it
///   every round; another instance takes it over once it has expired (a holder that died, or was
///   cut off, stops renewing), with a new epoch. Every write of the relay is fenced by the epoch
///   (``relayWrite(_:)``): a holder that lost the lease while it was away cannot mark anything sent.
/// - Every statement has a time limit on both sides: the server's `statement_timeout`, and the
///   client's own (a connection that stops answering, as over a cut network, is closed and the
///   statement fails instead of hanging); the server also probes idle client connections
///   (`tcp_keepalives_*`) so it ends the sessions of instances that are gone.
public final class PostgresStore: OfficeStore, @unchecked Sendable {
    public let location: String
    let client: PostgresClient
    let threads: NIOThreadPool
    let runTask: Task<Void, Never>
    let logger: Logger
    /// The relay lease's name: one per office.
    let leaseName: String
    /// This process, as the lease names its holder.
    let holder: String
    let leaseTime: Duration
    let statementTimeout: Duration
    let lease = Mutex<(epoch: Int64?, renewedAt: ContinuousClock.Instant?)>((nil, nil))

    /// Connects to `url` (`postgres://user[:password]@host[:port]/database[?sslmode=...]`), applies
    /// the runtime's migrations and `migrations`, and keeps a pool of `connections`.
    /// - Parameters:
    ///   - lockName: names the relay lease (the office code): one relay per office.
    ///   - migrate: false to leave the schema as it is (a reader such as the audit).
    ///   - leaseTime: how long the relay lease lasts without renewal (takeover after a holder is lost).
    ///   - statementTimeout: the longest a statement may take before it fails.
    public init(
        url: String, lockName: String, migrations: [PostgresMigration], connections: Int = 8, migrate: Bool = true,
        leaseTime: Duration = .seconds(10), statementTimeout: Duration = .seconds(30), logger: Logger
    ) async throws {
        let parsed = try PostgresURL(url)
        location = parsed.redacted
        var configuration = PostgresClient.Configuration(
            host: parsed.host, port: parsed.port, username: parsed.user, password: parsed.password, database: parsed.database,
            tls: try parsed.tls())
        configuration.options.maximumConnections = connections
        configuration.options.connectTimeout = .seconds(5)
        configuration.options.keepAliveBehavior = .init(frequency: .seconds(10))
        let timeoutMilliseconds = statementTimeout.components.seconds * 1000
        configuration.options.additionalStartupParameters = [
            ("statement_timeout", "\(timeoutMilliseconds)"), ("idle_in_transaction_session_timeout", "\(timeoutMilliseconds * 2)"),
            ("tcp_keepalives_idle", "10"), ("tcp_keepalives_interval", "5"), ("tcp_keepalives_count", "3"),
        ]
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        runTask = Task { [client] in await client.run() }
        threads = NIOThreadPool(numberOfThreads: connections)
        threads.start()
        self.logger = logger
        leaseName = lockName
        holder = "\(ProcessInfo.processInfo.hostName)/\(ProcessInfo.processInfo.processIdentifier)/\(UUID().uuidString.prefix(8).lowercased())"
        self.leaseTime = leaseTime
        self.statementTimeout = statementTimeout
        do {
            // The first contact is bounded: a server that cannot be reached, or whose certificate
            // does not verify, is a start-up error at once rather than a pool retrying for ever.
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { _ = try await self.read { _ in 0 } }
                group.addTask {
                    try await Task.sleep(for: .seconds(10))
                    throw PostgresStoreError(sqlState: nil, message: "no connection within 10 s (server unreachable, refused the login, or its TLS certificate did not verify)")
                }
                try await group.next()
                group.cancelAll()
            }
            if migrate { try await self.migrate(PostgresSchema.runtime + migrations) }
        } catch {
            await close()
            throw OfficeDatabaseError(path: location, underlying: error)
        }
    }

    public func close() async {
        // Give the lease back, so another instance takes over at once rather than at its expiry.
        if let epoch = lease.withLock({ $0.epoch }) {
            lease.withLock { $0 = (nil, nil) }
            let (name, holder) = (leaseName, self.holder)
            _ = try? await transaction(isolation: "READ COMMITTED") { transaction in
                try transaction.execute(
                    "UPDATE relayLease SET expiresAt = clock_timestamp() WHERE name = $1 AND holder = $2 AND epoch = $3",
                    [.text(name), .text(holder), .int(Int(epoch))])
            }
        }
        runTask.cancel()
        _ = await runTask.value
        try? await threads.shutdownGracefully()
    }

    deinit {
        runTask.cancel()
    }

    private func migrate(_ migrations: [PostgresMigration]) async throws {
        // READ COMMITTED: an instance that waited for the lock sees what the one before it did
        // (a snapshot taken before the wait would not).
        _ = try await transaction(isolation: "READ COMMITTED") { transaction in
            // Instances starting together migrate one after the other.
            try transaction.execute("SELECT pg_advisory_xact_lock(7160250215)")
            try transaction.execute("CREATE TABLE IF NOT EXISTS schemaMigration (name TEXT PRIMARY KEY, appliedAt TIMESTAMPTZ NOT NULL)")
            let applied = Set(try transaction.query("SELECT name FROM schemaMigration").map { try $0.string("name") })
            for migration in migrations where !applied.contains(migration.name) {
                for statement in migration.statements { try transaction.execute(statement) }
                try transaction.execute("INSERT INTO schemaMigration (name, appliedAt) VALUES ($1, $2)", [.text(migration.name), .date(Date())])
            }
            return 0
        }
    }

    public func write<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        try await serializable { transaction in try body(transaction) }
    }

    /// A write of the relay: runs only while this instance holds the lease with the epoch it took,
    /// checked in the same SERIALIZABLE transaction (a takeover that commits first makes this one
    /// fail and, run again, find the new epoch).
    /// - Throws: ``RelayLeaseLost`` when the lease is not this instance's (any more).
    public func relayWrite<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        guard let epoch = lease.withLock({ $0.epoch }) else { throw RelayLeaseLost(holder: nil) }
        let (name, holder) = (leaseName, self.holder)
        return try await serializable { transaction in
            let current = try transaction.query("SELECT holder, epoch, expiresAt > clock_timestamp() AS valid FROM relayLease WHERE name = $1", [.text(name)]).first
            guard let current, try current.string("holder") == holder, try current.int("epoch") == Int(epoch), try current.bool("valid") else {
                throw RelayLeaseLost(holder: try current?.string("holder"))
            }
            return try body(transaction)
        }
    }

    private func serializable<T: Sendable>(_ body: @escaping @Sendable (PostgresTransaction) throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await transaction(isolation: "SERIALIZABLE", body)
            } catch let error as PostgresStoreError where error.isRetryable && attempt < 50 {
                attempt += 1
                // Spread the retries so the conflicting transactions do not meet again.
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...(5 * min(attempt, 10)))))
            }
        }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        try await transaction(isolation: "REPEATABLE READ READ ONLY", body)
    }

    private func transaction<T: Sendable>(isolation: String, _ body: @escaping @Sendable (PostgresTransaction) throws -> T) async throws -> T {
        let logger = self.logger
        let threads = self.threads
        let statementTimeout = self.statementTimeout
        do {
            return try await client.withConnection { connection in
                try await threads.runIfActive {
                    let transaction = PostgresTransaction(connection: connection, timeout: statementTimeout, logger: logger)
                    try transaction.execute("BEGIN ISOLATION LEVEL \(isolation)")
                    do {
                        let result = try body(transaction)
                        try transaction.execute("COMMIT")
                        transaction.committed.run()
                        return result
                    } catch {
                        _ = try? transaction.execute("ROLLBACK")
                        throw error
                    }
                }
            }
        } catch let error as PSQLError {
            throw PostgresTransaction.translate(error, location: location)
        } catch let error as PostgresStoreError where error.sqlState == "53100" {
            // Raised inside the body (translated without the store's location).
            throw StorageFull(location: location, error.message)
        }
    }

    /// Whether this instance holds the relay lease now: renews it when it does (at most once a
    /// second), takes it over when it has expired (a new epoch), and otherwise leaves it to its
    /// holder. Any failure to reach the database (each statement bounded in time) gives the lease
    /// up here at once: the relay pauses and asks again; fencing covers the rest.
    public func holdsRelayLease() async throws -> Bool {
        let (epoch, renewedAt) = lease.withLock { ($0.epoch, $0.renewedAt) }
        if epoch != nil, let renewedAt, ContinuousClock.now - renewedAt < .seconds(1) { return true }
        let (name, holder) = (leaseName, self.holder)
        let seconds = Int(leaseTime.components.seconds)
        let started = ContinuousClock.now
        let taken: Int64?
        do {
            taken = try await transaction(isolation: "READ COMMITTED") { transaction -> Int64? in
                if let epoch, let renewed = try transaction.query(
                    """
                    UPDATE relayLease SET expiresAt = clock_timestamp() + make_interval(secs => $4)
                    WHERE name = $1 AND holder = $2 AND epoch = $3 AND expiresAt > clock_timestamp() RETURNING epoch
                    """, [.text(name), .text(holder), .int(Int(epoch)), .int(seconds)]).first {
                    return Int64(try renewed.int("epoch"))
                }
                return try transaction.query(
                    """
                    INSERT INTO relayLease (name, holder, epoch, expiresAt) VALUES ($1, $2, 1, clock_timestamp() + make_interval(secs => $3))
                    ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, epoch = relayLease.epoch + 1, expiresAt = EXCLUDED.expiresAt
                    WHERE relayLease.expiresAt <= clock_timestamp() RETURNING epoch
                    """, [.text(name), .text(holder), .int(seconds)]).first.map { Int64(try $0.int("epoch")) }
            }
        } catch {
            if epoch != nil {
                logger.warning("The relay lease could not be renewed; this instance stops relaying until it holds it again", metadata: ["error": "\(error)"])
            }
            lease.withLock { $0 = (nil, nil) }
            throw error
        }
        // A renewal that took longer than a third of the lease may already be stale.
        guard let taken, ContinuousClock.now - started < leaseTime / 3 else {
            if epoch != nil { logger.warning("This instance no longer holds the relay lease; it stops relaying") }
            lease.withLock { $0 = (nil, nil) }
            return false
        }
        if taken != epoch {
            logger.notice("This instance runs the outbox relay (it holds the relay lease)", metadata: ["lease.epoch": "\(taken)"])
        }
        lease.withLock { $0 = (taken, started) }
        return true
    }

    /// Who holds the relay lease, as the database says.
    public func relayLease() async throws -> RelayLeaseStatus {
        let (name, holder) = (leaseName, self.holder)
        return try await transaction(isolation: "READ COMMITTED") { transaction in
            guard let row = try transaction.query(
                "SELECT holder, expiresAt, expiresAt > clock_timestamp() AS valid FROM relayLease WHERE name = $1", [.text(name)]).first
            else { return .nowhere }
            guard try row.bool("valid") else { return .nowhere }
            return try row.string("holder") == holder ? .here : .elsewhere(holder: try row.string("holder"), until: try row.date("expiresAt"))
        }
    }
}

/// Whether a statement's answer or its timeout came first (touched on its event loop only).
final class StatementOnce: @unchecked Sendable {
    var done = false
}

/// A connection URL, taken apart.
///
/// Query parameters, as libpq names them: `sslmode` = `disable` (the default), `require`
/// (encrypted, the server's certificate not checked) or `verify-full` (encrypted, the certificate
/// checked against `sslrootcert` - a CA file - or the system's roots, and the host name against
/// it); `sslrootcert` = a CA certificate file (PEM). Any other parameter is refused rather than
/// silently ignored (a `?sslmode=require` that is dropped would connect in plaintext).
struct PostgresURL {
    enum SSLMode: String { case disable, require, verifyFull = "verify-full" }

    var host: String
    var port: Int
    var user: String
    var password: String?
    var database: String
    var sslMode = SSLMode.disable
    var rootCertificate: String?

    init(_ text: String) throws {
        guard let url = URLComponents(string: text), ["postgres", "postgresql"].contains(url.scheme ?? ""),
            let host = url.host, !host.isEmpty, let user = url.user, !user.isEmpty
        else {
            throw ValidationError(field: "database.url", reason: "must look like postgres://user[:password]@host[:port]/database[?sslmode=verify-full&sslrootcert=ca.pem]")
        }
        let database = String(url.path.drop { $0 == "/" })
        guard !database.isEmpty else { throw ValidationError(field: "database.url", reason: "names no database (postgres://user@host:port/DATABASE)") }
        self.host = host
        port = url.port ?? 5432
        self.user = user.removingPercentEncoding ?? user
        password = url.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database
        for item in url.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = SSLMode(rawValue: item.value ?? "") else {
                    throw ValidationError(field: "database.url", reason: "sslmode must be disable, require or verify-full, not \(item.value ?? "empty")")
                }
                sslMode = mode
            case "sslrootcert":
                guard let path = item.value, !path.isEmpty else { throw ValidationError(field: "database.url", reason: "sslrootcert names no file") }
                rootCertificate = path
            default:
                throw ValidationError(field: "database.url", reason: "the parameter \(item.name) is not supported (sslmode and sslrootcert are)")
            }
        }
        if rootCertificate != nil && sslMode != .verifyFull {
            throw ValidationError(field: "database.url", reason: "sslrootcert is used only with sslmode=verify-full")
        }
    }

    /// The TLS settings `sslmode` asks for.
    func tls() throws -> PostgresClient.Configuration.TLS {
        switch sslMode {
        case .disable:
            return .disable
        case .require:
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .none
            return .require(configuration)
        case .verifyFull:
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .fullVerification
            if let rootCertificate {
                guard FileManager.default.isReadableFile(atPath: rootCertificate) else {
                    throw ValidationError(field: "database.url", reason: "sslrootcert \(rootCertificate) cannot be read")
                }
                configuration.trustRoots = .file(rootCertificate)
            }
            return .require(configuration)
        }
    }

    /// The URL without its password.
    var redacted: String { "postgres://\(user)@\(host):\(port)/\(database)\(sslMode == .disable ? "" : "?sslmode=\(sslMode.rawValue)")" }
}

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

    /// The PostgreSQL transaction behind `transaction`.
    /// - Throws: ``StoreMismatch`` when `transaction` belongs to another backend (a wiring bug).
    public static func of(_ transaction: any StoreTransaction) throws -> PostgresTransaction {
        guard let postgres = transaction as? PostgresTransaction else { throw StoreMismatch(expected: "PostgreSQL", got: transaction) }
        return postgres
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
            promise.fail(PostgresStoreError(sqlState: nil, message: "no answer from the server within \(seconds) s"))
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
        return PostgresStoreError(sqlState: state, message: message)
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

/// The runtime's tables on PostgreSQL (the same tables as on SQLite, see ``OfficeDatabase``;
/// `kafkaPartition`/`kafkaOffset` because OFFSET is a reserved word here).
enum PostgresSchema {
    static let runtime: [PostgresMigration] = [
        PostgresMigration("runtime-v1", [
            """
            CREATE TABLE outbox (
                seq BIGSERIAL PRIMARY KEY, eventId TEXT NOT NULL UNIQUE, eventType TEXT NOT NULL, topic TEXT NOT NULL, key TEXT NOT NULL,
                headers TEXT NOT NULL, payload BYTEA NOT NULL, createdAt TIMESTAMPTZ NOT NULL, sentAt TIMESTAMPTZ,
                kafkaPartition INTEGER, kafkaOffset BIGINT, parkedAt TIMESTAMPTZ, parkReason TEXT)
            """,
            "CREATE INDEX outbox_unsent ON outbox (seq) WHERE sentAt IS NULL",
            """
            CREATE TABLE inbox (
                eventId TEXT PRIMARY KEY, eventType TEXT NOT NULL, topic TEXT NOT NULL, kafkaPartition INTEGER NOT NULL,
                kafkaOffset BIGINT NOT NULL, processedAt TIMESTAMPTZ NOT NULL)
            """,
            """
            CREATE TABLE consumerPosition (
                topic TEXT NOT NULL, kafkaPartition INTEGER NOT NULL, nextOffset BIGINT NOT NULL, updatedAt TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (topic, kafkaPartition))
            """,
            "CREATE TABLE documentSequence (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
            "CREATE TABLE healthProbe (id INTEGER PRIMARY KEY, checkedAt TIMESTAMPTZ NOT NULL)",
        ]),
        // The relay lease (replaces the session advisory lock of runtime-v1).
        PostgresMigration("relay-lease-v1", [
            "CREATE TABLE relayLease (name TEXT PRIMARY KEY, holder TEXT NOT NULL, epoch BIGINT NOT NULL, expiresAt TIMESTAMPTZ NOT NULL)",
        ]),
        // Staff accounts and console sessions; the dead-letter log the console lists.
        PostgresMigration("console-v1", StaffSchema.postgres),
    ]
}
