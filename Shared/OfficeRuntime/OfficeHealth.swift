import Foundation
import Hummingbird
import Kafka
import Logging
import Metrics
import OfficeStorage
import ServiceLifecycle
import Synchronization

/// What the office's workers report about themselves, for `/health`: a worker stuck retrying
/// says so here until it recovers.
public final class OfficeHealth: Sendable {
    /// The parts of the office that can be stuck.
    public enum Component: String, Sendable, CaseIterable {
        /// The event consumer cannot apply a record (database or broker trouble).
        case consumer
        /// The outbox relay cannot publish.
        case relay
        /// A record cannot be sent to the dead-letter topic.
        case deadLetter = "dead-letter"
        /// The office's topics could not be created (or found) yet.
        case topics
    }

    public struct Problem: Sendable, Hashable {
        public var since: Date
        public var error: String
        /// Every failure since `since` was a conflict with another transaction (a serialization
        /// failure or a deadlock that outlasted the store's own retries): the database works, and
        /// instances sharing it contend. Such a problem is a warning for ``contentionGrace``.
        public var contention: Bool
    }

    /// How long a worker may keep losing conflicts to other instances' transactions before the
    /// office says it is stuck (until then `/health` says `degraded`, not `unavailable`).
    public static let contentionGrace: TimeInterval = 30

    private let problems = Mutex<[Component: Problem]>([:])

    public init() {}

    /// Records that `component` is failing with `error` (keeps the first time it started).
    public func report(_ component: Component, _ error: any Error) {
        let contention = (error as? PostgresStoreError)?.isRetryable ?? false
        problems.withLock { problems in
            let since = problems[component]?.since ?? Date()
            problems[component] = Problem(
                since: since, error: String(describing: error).prefix(500).description,
                contention: (problems[component]?.contention ?? true) && contention)
        }
    }

    /// The current problems at `now`, split into what makes the office unavailable and what is a
    /// warning (only conflicts with other transactions, for less than ``contentionGrace``).
    public func standing(at now: Date = Date()) -> (stuck: [Component: Problem], contending: [Component: Problem]) {
        let current = self.current
        let contending = current.filter { $0.value.contention && now.timeIntervalSince($0.value.since) < Self.contentionGrace }
        return (current.filter { contending[$0.key] == nil }, contending)
    }

    /// Records that `component` works again.
    public func clear(_ component: Component) {
        _ = problems.withLock { $0.removeValue(forKey: component) }
    }

    public var current: [Component: Problem] { problems.withLock { $0 } }
}

/// `GET /health`: whether the office can do its work now, and if not, what is missing.
///
/// - `ok` (200): the database takes writes, the broker answers, nothing is stuck.
/// - `degraded` (200): the office works, but an operator should look (outbox rows parked; a
///   worker losing conflicts to another instance's transactions for less than
///   ``OfficeHealth/contentionGrace``).
/// - `unavailable` (503): the database does not take writes (or its disk is full), the broker does
///   not answer, a Kafka client is in a fatal state, a worker is stuck retrying, or the oldest
///   unsent outbox row is older than the configured limit.
///
/// One background prober (a ServiceLifecycle `Service`) keeps the status: every ``interval`` it
/// writes to a scratch table (bounded in time), asks the broker through the producer's own
/// connections and reads the outbox's figures. A request only reads the last status, so a flood of
/// unauthenticated probes costs the database nothing. The public body says what is wrong in the
/// office's own words; what exactly failed (error texts, which can name hosts, files or SQL) goes
/// to the log when the status changes, and to callers with a valid token under `details`.
/// What the health prober found last, for the console (the `/health` body, with its details).
public struct HealthReport: Sendable {
    /// `ok`, `degraded` or `unavailable`.
    public var status: String
    public var database: String
    public var broker: String
    public var outboxPending: Int?
    public var outboxParked: Int?
    public var oldestUnsentSeconds: Double?
    public var relay: String
    public var problems: [String: String]
    public var warnings: [String: String]
    public var checkedAt: String
    public var details: [String: String]

    public init(
        status: String, database: String, broker: String, outboxPending: Int? = nil, outboxParked: Int? = nil, oldestUnsentSeconds: Double? = nil,
        relay: String, problems: [String: String], warnings: [String: String], checkedAt: String, details: [String: String]
    ) {
        self.status = status
        self.database = database
        self.broker = broker
        self.outboxPending = outboxPending
        self.outboxParked = outboxParked
        self.oldestUnsentSeconds = oldestUnsentSeconds
        self.relay = relay
        self.problems = problems
        self.warnings = warnings
        self.checkedAt = checkedAt
        self.details = details
    }
}

final class HealthCheck: Service, Sendable, CustomStringConvertible {
    var description: String { "HealthCheck" }
    let database: any OfficeStore
    let producer: ProducerSlot
    let consumer: KafkaConsumer
    let health: OfficeHealth
    let maxOutboxAge: Duration
    let interval: Duration
    let logger: Logger
    private let last = Mutex<Body?>(nil)

    init(
        database: any OfficeStore, producer: ProducerSlot, consumer: KafkaConsumer, health: OfficeHealth, maxOutboxAge: Duration,
        interval: Duration = .seconds(2), logger: Logger
    ) {
        self.database = database
        self.producer = producer
        self.consumer = consumer
        self.health = health
        self.maxOutboxAge = maxOutboxAge
        self.interval = interval
        self.logger = logger
    }

    struct OutboxBody: Encodable, Equatable {
        var pending: Int
        var parked: Int
        var oldestUnsentSeconds: Double?
    }

    /// One probe's findings, as `/health` answers them (``details`` only to authenticated callers).
    struct Body: Encodable, Sendable {
        var status: String
        var database: String
        var broker: String
        var outbox: OutboxBody?
        /// Where the office's outbox relay runs: `this instance`, `another instance (...)`, `no instance`.
        var relay: String
        /// What is stuck or late, by component, in the office's own words.
        var problems: [String: String]
        /// What an operator should look at that does not make this instance unavailable (an
        /// outbox late while another instance holds the relay).
        var warnings: [String: String]
        var checkedAt: String
        /// What exactly failed (authenticated callers only).
        var details: [String: String]?
        var unavailable: Bool { status == "unavailable" }
    }

    func run() async throws {
        while !Task.isStopping {
            _ = await probe()
            await pause(interval)
        }
    }

    /// A write in the scratch table, bounded in time (a locked database must not hang the probe).
    /// - Returns: the public words and the detail, or `nil` when the write went through.
    func databaseError() async -> (words: String, detail: String)? {
        let database = self.database
        let failure: (words: String, detail: String)? = await withTaskGroup(of: (words: String, detail: String)?.self) { group in
            group.addTask {
                do {
                    try await database.write { transaction in try transaction.probeWrite() }
                    return nil
                } catch let error as StorageFull {
                    return ("storage full", error.description)
                } catch {
                    return ("does not take writes", "\(error)")
                }
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(3))
                return ("does not answer within 3 s", "the probe write took longer than 3 s")
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        if failure == nil, StorageFull.seenRecently(at: database.location, within: .seconds(60)) {
            // The probe's tiny write fitted; a real one did not, moments ago.
            return ("storage full", "a write met a full disk within the last 60 s")
        }
        return failure
    }

    func brokerError() async -> (words: String, detail: String)? {
        if let fatal = producer.producer.fatalError ?? consumer.fatalError {
            return ("a Kafka client is in a fatal state", "\(fatal)")
        }
        do {
            _ = try await producer.producer.clusterTopics(timeout: .seconds(2))
            return nil
        } catch {
            return ("unreachable", "\(error)")
        }
    }

    /// Probes now and keeps the result; logs when the status or what is wrong changes.
    @discardableResult
    func probe() async -> Body {
        async let databaseError = databaseError()
        async let brokerError = brokerError()
        var problems: [String: String] = [:]
        var warnings: [String: String] = [:]
        var details: [String: String] = [:]
        var outbox: OutboxBody?
        var lease = RelayLeaseStatus.here
        do {
            lease = try await database.relayLease()
        } catch {
            details["relay"] = "\(error)"
        }
        let relay: String
        switch lease {
        case .here: relay = "this instance"
        case .elsewhere(let holder, let until): relay = "another instance (\(holder), lease until \(CloudEventTime.format(until)))"
        case .nowhere: relay = "no instance (the lease has expired; the next instance to ask takes it)"
        }
        do {
            let stats = try await database.read { transaction in try transaction.outboxStatistics() }
            let age = stats.oldestUnsent.map { Date().timeIntervalSince($0) }
            outbox = OutboxBody(pending: stats.pending, parked: stats.parked, oldestUnsentSeconds: age.map { ($0 * 10).rounded() / 10 })
        } catch {
            problems["outbox"] = "cannot read the outbox"
            details["outbox"] = "\(error)"
        }
        let (database, broker) = await (databaseError, brokerError)
        let (stuck, contending) = health.standing()
        for (component, problem) in stuck {
            problems[component.rawValue] = "\(Self.words(component)) since \(CloudEventTime.format(problem.since))"
            details[component.rawValue] = problem.error
        }
        for (component, problem) in contending {
            warnings[component.rawValue] = "\(Self.words(component)) since \(CloudEventTime.format(problem.since)): "
                + "its transactions conflict with another instance's; retrying"
            details[component.rawValue] = problem.error
        }
        if let age = outbox?.oldestUnsentSeconds, age > maxOutboxAge.seconds {
            let late = "the oldest unsent event waits for \(Int(age)) s (limit \(Int(maxOutboxAge.seconds)) s)"
            // This instance is broken only if it is the one that should be sending.
            if lease == .here { problems["outbox"] = late } else { warnings["outbox"] = "\(late); the relay runs in \(relay)" }
        }
        if let database { details["database"] = database.detail }
        if let broker { details["broker"] = broker.detail }
        let unavailable = database != nil || broker != nil || !problems.isEmpty
        let snapshot = Body(
            status: unavailable ? "unavailable" : (outbox?.parked ?? 0) > 0 || !warnings.isEmpty ? "degraded" : "ok",
            database: database?.words ?? "ok", broker: broker?.words ?? "ok", outbox: outbox, relay: relay, problems: problems, warnings: warnings,
            checkedAt: CloudEventTime.format(Date()), details: details)
        let previous = last.withLock { last in
            defer { last = snapshot }
            return last
        }
        if previous?.status != snapshot.status || previous?.problems.keys.sorted() != snapshot.problems.keys.sorted()
            || previous?.database != snapshot.database || previous?.broker != snapshot.broker {
            var metadata: Logger.Metadata = ["status": .string(snapshot.status), "database": .string(snapshot.database), "broker": .string(snapshot.broker)]
            for (key, value) in details { metadata["detail.\(key)"] = .string(String(value.prefix(500))) }
            if snapshot.unavailable {
                logger.warning("Office unavailable", metadata: metadata)
            } else if previous != nil {
                logger.notice("Office health changed", metadata: metadata)
            }
        }
        return snapshot
    }

    /// What a stuck component means, in the office's words.
    static func words(_ component: OfficeHealth.Component) -> String {
        switch component {
        case .consumer: return "cannot apply incoming events"
        case .relay: return "cannot publish events"
        case .deadLetter: return "cannot send a refused record to the dead-letter topic"
        case .topics: return "its topics are not ready"
        }
    }

    /// The last status (a first probe when there is none yet).
    /// - Parameter detailed: add what exactly failed (for authenticated callers).
    /// The last probe's findings, with details (for the operators' console page).
    func report() async -> HealthReport {
        let body: Body
        if let kept = last.withLock({ $0 }) { body = kept } else { body = await probe() }
        return HealthReport(
            status: body.status, database: body.database, broker: body.broker, outboxPending: body.outbox?.pending,
            outboxParked: body.outbox?.parked, oldestUnsentSeconds: body.outbox?.oldestUnsentSeconds, relay: body.relay, problems: body.problems,
            warnings: body.warnings, checkedAt: body.checkedAt, details: body.details ?? [:])
    }

    func response(detailed: Bool) async throws -> Response {
        var body: Body
        if let kept = last.withLock({ $0 }) { body = kept } else { body = await probe() }
        if !detailed { body.details = nil }
        return try JSONBody.response(body, status: body.unavailable ? .serviceUnavailable : .ok)
    }
}

extension Duration {
    /// Whole and fractional seconds.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// RFC 3339 times in health and operator output.
enum CloudEventTime {
    static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
