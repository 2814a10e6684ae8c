import Foundation
import GRDB
import Kafka
import Logging
import Metrics
import ServiceLifecycle
import TransferDomain

/// What a service does with an event addressed to it.
public protocol OfficeEventHandler: Sendable {
    /// Applies `event` inside the transaction `db`, appending the events it causes to the outbox.
    /// Throwing rolls the transaction back; a ``TransientError`` is retried, anything else sends
    /// the record to the dead-letter topic.
    func handle(_ event: CloudEvent, in db: Database) throws
}

/// A failure that goes away by itself (a busy database, an unreachable broker): retried with
/// backoff, never dead-lettered.
public protocol TransientError: Error {}

/// Reads the incoming topic in batches and applies each event exactly once.
///
/// For each record: an event addressed to another office is skipped; one that cannot be decoded
/// (unknown type or major version, broken schema) goes to the dead-letter topic with its
/// provenance; otherwise the handler's changes and the event's `ce_id` are written in ONE
/// transaction, so a redelivered event changes nothing. Offsets are committed only after the
/// batch's transactions (and dead-letter deliveries) are done.
public struct EventConsumerService: Service {
    let consumer: KafkaConsumer
    let producer: KafkaProducer
    let database: OfficeDatabase
    let handler: any OfficeEventHandler
    let office: OfficeCode
    let deadLetterTopic: String
    let consumerName: String
    let doorbell: Doorbell
    let logger: Logger

    public init(
        consumer: KafkaConsumer, producer: KafkaProducer, database: OfficeDatabase, handler: any OfficeEventHandler,
        office: OfficeCode, deadLetterTopic: String, consumerName: String, doorbell: Doorbell, logger: Logger
    ) {
        self.consumer = consumer
        self.producer = producer
        self.database = database
        self.handler = handler
        self.office = office
        self.deadLetterTopic = deadLetterTopic
        self.consumerName = consumerName
        self.doorbell = doorbell
        self.logger = logger
    }

    public func run() async throws {
        // Graceful shutdown ends the wait for the next batch, never a batch in progress.
        for try await batch in consumer.batches(maxCount: 100).cancelOnGracefulShutdown() {
            for message in batch.messages {
                try await process(message)
            }
            guard !batch.messages.isEmpty else { continue }
            try? await database.writer.write { db in try ConsumerPosition.record(batch.messages, db) }
            try? consumer.markProcessed(batch.messages)
            do {
                try await consumer.commit()
            } catch {
                // The transactions are done; a lost commit only means redelivery, which the inbox absorbs.
                logger.warning("Offset commit failed", metadata: ["error": "\(error)"])
            }
        }
        logger.info("Event consumer stopped")
    }

    enum Outcome: String { case applied, duplicate }

    func process(_ message: KafkaMessage) async throws {
        var headers: [String: String] = [:]
        for header in message.headers { if let value = header.stringValue { headers[header.name] = value } }
        if let recipient = headers["ce_recipient"], let code = try? OfficeCode(recipient), code != office {
            Counter(label: "events_processed_total", dimensions: [("type", Self.typeName(headers)), ("outcome", "other-office")]).increment()
            return
        }
        let event: CloudEvent
        do {
            event = try CloudEvent.decode(headers: headers, data: message.value.map { Data($0) })
        } catch {
            try await deadLetter(message, reason: error.reason, detail: error.description)
            return
        }
        let started = ContinuousClock.now
        var backoff = Duration.milliseconds(50)
        while true {
            do {
                let outcome = try await database.writer.write { db -> Outcome in
                    let eventID = event.id.uuidString.lowercased()
                    if try Bool.fetchOne(db, sql: "SELECT 1 FROM inbox WHERE eventId = ?", arguments: [eventID]) == true {
                        return .duplicate
                    }
                    try handler.handle(event, in: db)
                    try db.execute(
                        sql: "INSERT INTO inbox (eventId, eventType, topic, partition, offset, processedAt) VALUES (?, ?, ?, ?, ?, ?)",
                        arguments: [eventID, event.type.rawValue, message.topic, message.partition, message.offset, Date()])
                    return .applied
                }
                if outcome == .applied { doorbell.ring() }
                Counter(label: "events_processed_total", dimensions: [("type", event.type.rawValue), ("outcome", outcome.rawValue)]).increment()
                Timer(label: "event_processing_seconds", dimensions: [("type", event.type.rawValue)])
                    .recordNanoseconds(Int64((ContinuousClock.now - started).components.attoseconds / 1_000_000_000 + (ContinuousClock.now - started).components.seconds * 1_000_000_000))
                logger.debug(
                    "Event processed",
                    metadata: ["event.type": .string(event.type.rawValue), "event.id": .string(event.id.uuidString), "case.id": .string(event.subject), "outcome": .string(outcome.rawValue)])
                return
            } catch where Self.isTransient(error) {
                if Task.isShuttingDownGracefully || Task.isCancelled { throw error }
                logger.warning("Transient failure applying an event; retrying", metadata: ["error": "\(error)", "retry.in": "\(backoff)"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            } catch {
                try await deadLetter(message, reason: "processing-failed", detail: "\(error)")
                return
            }
        }
    }

    static func isTransient(_ error: any Error) -> Bool {
        if error is any TransientError { return true }
        if let error = error as? DatabaseError {
            return error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED
        }
        return false
    }

    static func typeName(_ headers: [String: String]) -> String {
        guard let type = headers["ce_type"], let parsed = EventType.allCases.first(where: { $0.ceType == type }) else { return "unknown" }
        return parsed.rawValue
    }

    /// Sends the record, with its provenance, to the dead-letter topic; waits for the broker's
    /// acknowledgement (retrying while it is unreachable) so nothing is dropped.
    func deadLetter(_ message: KafkaMessage, reason: String, detail: String) async throws {
        var headers = message.headers
        headers += [
            KafkaHeader(name: "dlq_topic", string: message.topic),
            KafkaHeader(name: "dlq_partition", string: String(message.partition)),
            KafkaHeader(name: "dlq_offset", string: String(message.offset)),
            KafkaHeader(name: "dlq_reason", string: reason),
            KafkaHeader(name: "dlq_detail", string: String(detail.prefix(2000))),
            KafkaHeader(name: "dlq_consumer", string: consumerName),
        ]
        let record = KafkaRecord(topic: deadLetterTopic, key: message.key, value: message.value, headers: headers)
        var backoff = Duration.milliseconds(100)
        while true {
            do {
                _ = try await producer.send(record)
                break
            } catch {
                if Task.isCancelled { throw error }
                logger.warning("Dead-letter delivery failed; retrying", metadata: ["error": "\(error)"])
                try await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
        Counter(label: "events_dead_lettered_total", dimensions: [("reason", reason)]).increment()
        logger.warning(
            "Record sent to the dead-letter topic",
            metadata: ["dlq.reason": .string(reason), "dlq.detail": .string(String(detail.prefix(300))), "kafka.topic": .string(message.topic), "kafka.partition": "\(message.partition)", "kafka.offset": "\(message.offset)"])
    }
}
