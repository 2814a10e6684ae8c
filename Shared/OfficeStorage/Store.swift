import Foundation
import EventSigning
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
    /// Whether the table `name` exists (a reader such as the audit, which does not migrate).
    func tableExists(_ name: String) throws -> Bool

    /// `backends`' records for this transaction's backend.
    func records<Backends: StoreBackends>(_ backends: Backends.Type) throws -> Backends.Records
}

/// A service's records on each backend of the store, one method per backend. A transaction
/// calls the method of its own kind (``StoreTransaction/records(_:)``): a repository never asks
/// which backend it was handed, and a backend added to the store does not compile until every
/// service serves it.
public protocol StoreBackends {
    associatedtype Records
    /// The records on SQLite (the service's `*SQLite.swift`).
    static func records(_ transaction: SQLiteTransaction) throws -> Records
    /// The records on PostgreSQL (the service's `*Postgres.swift`).
    static func records(_ transaction: PostgresTransaction) throws -> Records
}

/// A service's repository: opens transactions on the office's store and hands the service its
/// records in them, made for the store's backend (``StoreBackends``).
public protocol ServiceRepository: StoreBackends, Sendable {
    var store: any OfficeStore { get }
}

extension ServiceRepository {
    /// The records in a transaction (the runtime's, for an event; or one this repository opened).
    public static func records(in transaction: any StoreTransaction) throws -> Records {
        try transaction.records(Self.self)
    }

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
