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

    /// Set when the failure is the moment's, not the request's: the connection failed or timed
    /// out, or the server was busy, shutting down or out of connections. (A client answered
    /// 503 may try again.)
    var connectionLevel = false

    public init(sqlState: String?, message: String, connectionLevel: Bool = false) {
        self.sqlState = sqlState
        self.message = message
        self.connectionLevel = connectionLevel
    }

    /// Another transaction conflicted (serialization failure, deadlock): running again succeeds.
    public var isRetryable: Bool { sqlState == "40001" || sqlState == "40P01" }

    /// A failure of the moment (conflicts that outlasted the retries, a statement timeout, the
    /// connection, a server shutting down or out of connections): the same request later may
    /// succeed. Anything else (a wrong statement, a missing column) is a fault.
    public var isTransient: Bool {
        if connectionLevel || isRetryable { return true }
        guard let sqlState else { return false }
        return sqlState.hasPrefix("08") || ["57014", "57P01", "57P02", "57P03", "53300"].contains(sqlState)
    }
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
                    throw PostgresStoreError(
                        sqlState: nil, message: "no connection within 10 s (server unreachable, refused the login, or its TLS certificate did not verify)",
                        connectionLevel: true)
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
public struct PostgresURL {
    enum SSLMode: String { case disable, require, verifyFull = "verify-full" }

    var host: String
    var port: Int
    var user: String
    var password: String?
    var database: String
    var sslMode = SSLMode.disable
    var rootCertificate: String?

    /// Parses and checks `text`; the error names what is wrong.
    public init(_ text: String) throws {
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

/// The runtime's tables on PostgreSQL (the same tables as on SQLite, see ``SQLiteStore``;
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
