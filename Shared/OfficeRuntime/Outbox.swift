import Foundation
import GRDB
import Kafka
import Logging
import Metrics
import ServiceLifecycle
import TransferDomain

/// A row of the transactional outbox: an event waiting to be (or already) published.
struct OutboxRow: Codable, FetchableRecord, PersistableRecord, Sendable {
    static let databaseTableName = "outbox"
    var seq: Int64?
    var eventId: String
    var eventType: String
    var topic: String
    var key: String
    /// JSON array of [name, value] pairs, in header order.
    var headers: String
    var payload: Data
    var createdAt: Date
    var sentAt: Date?
    var partition: Int64?
    var offset: Int64?
}

/// The transactional outbox: events are written in the same transaction as the state change
/// that causes them, and published later by ``OutboxRelay``.
public enum Outbox {
    /// Appends `event` for `topic` inside the caller's transaction.
    ///
    /// - Throws: `DomainError` when the event breaks its own schema: a contract violation is a
    ///   bug to stop at the source, never something to publish.
    public static func append(_ event: CloudEvent, topic: String, in db: Database) throws {
        let violations = event.schemaViolations()
        guard violations.isEmpty else {
            throw DomainError("refusing to publish \(event.type.ceType) that breaks its schema: \(violations.joined(separator: "; "))")
        }
        let headers = try JSONEncoder().encode(event.headers.map { [$0.name, $0.value] })
        let row = OutboxRow(
            eventId: event.id.uuidString.lowercased(), eventType: event.type.rawValue, topic: topic, key: event.key,
            headers: String(decoding: headers, as: UTF8.self), payload: try event.data(), createdAt: Date())
        try row.insert(db)
    }

    /// Events not yet published.
    public static func pendingCount(_ db: Database) throws -> Int {
        try OutboxRow.filter(Column("sentAt") == nil).fetchCount(db)
    }

    /// Published events by type (for summaries and tests).
    public static func sentCount(_ db: Database, type: EventType? = nil) throws -> Int {
        var request = OutboxRow.filter(Column("sentAt") != nil)
        if let type { request = request.filter(Column("eventType") == type.rawValue) }
        return try request.fetchCount(db)
    }
}

/// A wake-up signal: writers ring it after appending to the outbox so the relay does not wait
/// for its idle poll. Rings coalesce.
public final class Doorbell: Sendable {
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    public init() {
        (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public func ring() { continuation.yield() }

    /// Waits for a ring or `timeout`, whichever comes first.
    func wait(timeout: Duration) async {
        let stream = self.stream
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                var iterator = stream.makeAsyncIterator()
                _ = await iterator.next()
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }
}

/// Publishes outbox rows in order with the idempotent producer, marking each sent only after its
/// delivery report. A crash between delivery and marking resends that row once: consumers
/// deduplicate by `ce_id`. A failed delivery is retried with backoff, never skipped.
public struct OutboxRelay: Service {
    let database: OfficeDatabase
    let producer: KafkaProducer
    let doorbell: Doorbell
    let logger: Logger
    let idlePoll: Duration

    public init(database: OfficeDatabase, producer: KafkaProducer, doorbell: Doorbell, logger: Logger, idlePoll: Duration = .milliseconds(500)) {
        self.database = database
        self.producer = producer
        self.doorbell = doorbell
        self.logger = logger
        self.idlePoll = idlePoll
    }

    public func run() async throws {
        let pending = Gauge(label: "outbox_pending_events")
        var backoff = Duration.milliseconds(100)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let rows = try await database.writer.read { db in
                    try OutboxRow.filter(Column("sentAt") == nil).order(Column("seq")).limit(200).fetchAll(db)
                }
                pending.record(rows.count)
                if rows.isEmpty {
                    await doorbell.wait(timeout: idlePoll)
                    continue
                }
                for row in rows {
                    if Task.isShuttingDownGracefully && row.seq != rows.first?.seq { break }
                    try await publish(row)
                }
                backoff = .milliseconds(100)
                let left = try await database.writer.read { db in try Outbox.pendingCount(db) }
                pending.record(left)
            } catch {
                logger.warning("Outbox relay failed; retrying", metadata: ["error": "\(error)", "retry.in": "\(backoff)"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
        logger.info("Outbox relay stopped")
    }

    private func publish(_ row: OutboxRow) async throws {
        let pairs = try JSONDecoder().decode([[String]].self, from: Data(row.headers.utf8))
        let record = KafkaRecord(
            topic: row.topic, key: Array(row.key.utf8), value: Array(row.payload),
            headers: pairs.compactMap { $0.count == 2 ? KafkaHeader(name: $0[0], string: $0[1]) : nil })
        let report = try await producer.send(record)
        try await database.writer.write { db in
            try db.execute(
                sql: "UPDATE outbox SET sentAt = ?, partition = ?, offset = ? WHERE seq = ?",
                arguments: [Date(), report.partition, report.offset, row.seq])
        }
        Counter(label: "events_published_total", dimensions: [("type", row.eventType)]).increment()
        logger.debug(
            "Event published",
            metadata: ["event.type": .string(row.eventType), "event.id": .string(row.eventId), "kafka.partition": "\(report.partition)", "kafka.offset": "\(report.offset)"])
    }
}
