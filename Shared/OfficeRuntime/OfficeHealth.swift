import Foundation
import GRDB
import Hummingbird
import Kafka
import Logging
import Metrics
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
    }

    private let problems = Mutex<[Component: Problem]>([:])

    public init() {}

    /// Records that `component` is failing with `error` (keeps the first time it started).
    public func report(_ component: Component, _ error: any Error) {
        problems.withLock { problems in
            let since = problems[component]?.since ?? Date()
            problems[component] = Problem(since: since, error: String(describing: error).prefix(500).description)
        }
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
/// - `degraded` (200): the office works, but an operator should look (outbox rows parked).
/// - `unavailable` (503): the database does not take writes, the broker does not answer, a Kafka
///   client is in a fatal state, a worker is stuck retrying, or the oldest unsent outbox row is
///   older than the configured limit.
///
/// The database is checked with a real write to a scratch table and the broker through the
/// producer's own connections; both answers are cached for a couple of seconds, so frequent
/// probes cost nothing.
final class HealthCheck: Sendable {
    let database: any OfficeStore
    let producer: ProducerSlot
    let consumer: KafkaConsumer
    let health: OfficeHealth
    let maxOutboxAge: Duration
    let logger: Logger
    private let cache = Mutex<(database: (at: ContinuousClock.Instant, error: String?)?, broker: (at: ContinuousClock.Instant, error: String?)?)>((nil, nil))

    init(database: any OfficeStore, producer: ProducerSlot, consumer: KafkaConsumer, health: OfficeHealth, maxOutboxAge: Duration, logger: Logger) {
        self.database = database
        self.producer = producer
        self.consumer = consumer
        self.health = health
        self.maxOutboxAge = maxOutboxAge
        self.logger = logger
    }

    struct OutboxBody: Encodable {
        var pending: Int
        var parked: Int
        var oldestUnsentSeconds: Double?
    }

    struct Body: Encodable {
        var status: String
        var database: String
        var broker: String
        var outbox: OutboxBody?
        /// Workers stuck retrying, by component, with what fails and since when.
        var problems: [String: String]
    }

    /// A write in the scratch table, bounded in time (a locked database must not hang `/health`).
    func databaseError() async -> String? {
        if let last = cache.withLock({ $0.database }), ContinuousClock.now - last.at < .seconds(2) { return last.error }
        let database = self.database
        let error: String? = await withTaskGroup(of: String?.self) { group in
            group.addTask {
                do {
                    try await database.write { transaction in try transaction.probeWrite() }
                    return nil
                } catch {
                    return "does not take writes: \(error)"
                }
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(3))
                return "does not answer within 3 s"
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        cache.withLock { $0.database = (ContinuousClock.now, error) }
        return error
    }

    func brokerError() async -> String? {
        if let last = cache.withLock({ $0.broker }), ContinuousClock.now - last.at < .seconds(5) { return last.error }
        var error: String?
        if let fatal = producer.producer.fatalError ?? consumer.fatalError {
            error = "fatal client error: \(fatal)"
        } else {
            do {
                _ = try await producer.producer.clusterTopics(timeout: .seconds(2))
            } catch {
                let text = "unreachable: \(error)"
                cache.withLock { $0.broker = (ContinuousClock.now, text) }
                return text
            }
        }
        cache.withLock { $0.broker = (ContinuousClock.now, error) }
        return error
    }

    func outbox() async -> (OutboxBody?, String?) {
        do {
            let stats = try await database.read { transaction in try transaction.outboxStatistics() }
            let age = stats.oldestUnsent.map { Date().timeIntervalSince($0) }
            return (OutboxBody(pending: stats.pending, parked: stats.parked, oldestUnsentSeconds: age.map { ($0 * 10).rounded() / 10 }), nil)
        } catch {
            return (nil, "cannot read the outbox: \(error)")
        }
    }

    func response() async throws -> Response {
        async let databaseError = databaseError()
        async let brokerError = brokerError()
        let (outbox, outboxError) = await outbox()
        let (database, broker) = await (databaseError, brokerError)
        var problems: [String: String] = [:]
        for (component, problem) in health.current {
            problems[component.rawValue] = "since \(CloudEventTime.format(problem.since)): \(problem.error)"
        }
        if let outboxError { problems["outbox"] = outboxError }
        if let age = outbox?.oldestUnsentSeconds, age > maxOutboxAge.seconds {
            problems["outbox"] = "the oldest unsent event waits for \(Int(age)) s (limit \(Int(maxOutboxAge.seconds)) s)"
        }
        let unavailable = database != nil || broker != nil || !problems.isEmpty
        let status = unavailable ? "unavailable" : (outbox?.parked ?? 0) > 0 ? "degraded" : "ok"
        let body = Body(
            status: status, database: database ?? "ok", broker: broker ?? "ok", outbox: outbox, problems: problems)
        return try JSONBody.response(body, status: unavailable ? .serviceUnavailable : .ok)
    }
}

extension Duration {
    /// Whole and fractional seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// RFC 3339 times in health and operator output.
enum CloudEventTime {
    static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
