import Foundation
import EventSigning
import GRDB
import Kafka
import Logging
import Metrics
import ServiceLifecycle
import TransferDomain

/// What a service does with an event addressed to it.
public protocol OfficeEventHandler: Sendable {
    /// Applies `event` inside the transaction `db`, appending the events it causes to the outbox.
    /// Throwing rolls the transaction back. What happens next depends on the error (see
    /// ``EventFailure``): a fault of the record (a broken rule, an illegal transition, a
    /// constraint) sends it to the dead-letter topic; anything else is retried.
    func handle(_ event: CloudEvent, in db: Database) throws
}

/// Reads the incoming topic in batches and applies each event exactly once.
///
/// For each record: an event addressed to another office is skipped; one whose signature does not
/// verify against the office key directory is dead-lettered (`bad-signature`, `unknown-key`); one that cannot be decoded
/// (unknown type or major version, broken schema) or that the handler refuses as wrong goes to
/// the dead-letter topic with its provenance; otherwise the handler's changes and the event's
/// `ce_id` are written in ONE transaction, so a redelivered event changes nothing.
///
/// An infrastructure failure (database, broker) never dead-letters a valid event: it is retried
/// with backoff while `/health` reports it, and at shutdown the consumer stops without committing
/// the record, which is read again after the restart. Offsets are committed only for records
/// whose transaction (or dead-letter delivery) is done.
public struct EventConsumerService: Service, CustomStringConvertible {
    /// How ServiceLifecycle names it in logs (not every field, which would print the configuration).
    public var description: String { "EventConsumerService" }

    let consumer: KafkaConsumer
    let database: OfficeDatabase
    let handler: any OfficeEventHandler
    let office: OfficeCode
    let eventKeys: EventKeyDirectory
    let deadLetters: DeadLetterSender
    let doorbell: Doorbell
    let health: OfficeHealth
    let logger: Logger

    public init(
        consumer: KafkaConsumer, database: OfficeDatabase, handler: any OfficeEventHandler, office: OfficeCode, eventKeys: EventKeyDirectory,
        deadLetters: DeadLetterSender, doorbell: Doorbell, health: OfficeHealth, logger: Logger
    ) {
        self.consumer = consumer
        self.database = database
        self.handler = handler
        self.office = office
        self.eventKeys = eventKeys
        self.deadLetters = deadLetters
        self.doorbell = doorbell
        self.health = health
        self.logger = logger
    }

    public func run() async throws {
        do {
            // Graceful shutdown ends the wait for the next batch, never a batch in progress.
            for try await batch in consumer.batches(maxCount: 100).cancelOnGracefulShutdown() {
                var done: [KafkaMessage] = []
                do {
                    for message in batch.messages {
                        try await process(message)
                        done.append(message)
                    }
                } catch let interruption as ShutdownInterruption {
                    await settle(done)
                    logger.notice(
                        "Event consumer stopped with a record not applied; it is read again after a restart",
                        metadata: ["error": "\(interruption.underlying)"])
                    return
                }
                await settle(done)
            }
        } catch is CancellationError {
            // Shutdown while waiting for records: nothing in hand.
        }
        logger.info("Event consumer stopped")
    }

    /// Records progress for `messages` (all applied or dead-lettered) and commits their offsets.
    /// Nothing here can lose a record: a failed step only means redelivery, which the inbox absorbs.
    func settle(_ messages: [KafkaMessage]) async {
        guard !messages.isEmpty else { return }
        do {
            try await database.writer.write { db in try ConsumerPosition.record(messages, db) }
        } catch {
            logger.warning("Could not record the consumer position", metadata: ["error": "\(error)"])
        }
        do {
            try consumer.markProcessed(messages)
            try await consumer.commit()
        } catch {
            logger.warning("Offsets not committed; the records will be delivered again and deduplicated", metadata: ["error": "\(error)"])
        }
    }

    enum Outcome: String { case applied, duplicate }

    /// Applies or dead-letters `message`.
    /// - Throws: ``ShutdownInterruption`` when shutdown interrupts a retry (the record is neither
    ///   applied nor dead-lettered); ``KafkaError`` when the producer is in a fatal state.
    func process(_ message: KafkaMessage) async throws {
        var headers: [String: String] = [:]
        for header in message.headers { if let value = header.stringValue { headers[header.name] = value } }
        if let recipient = headers["ce_recipient"], let code = try? OfficeCode(recipient), code != office {
            Counter(label: "events_processed_total", dimensions: [("type", Self.typeName(headers)), ("outcome", "other-office")]).increment()
            return
        }
        // The sender's signature first: nothing unsigned or forged is even decoded.
        do throws(SignatureFailure) {
            if let repeated = EventSignature.repeatedHeader(message.headers.map(\.name)) {
                throw SignatureFailure.malformed("header \(repeated) appears more than once")
            }
            try EventSignature.verify(headers: headers, value: message.value ?? [], directory: eventKeys)
        } catch {
            Counter(label: "events_processed_total", dimensions: [("type", Self.typeName(headers)), ("outcome", error.reason)]).increment()
            try await deadLetters.send(message, reason: error.reason, detail: error.description)
            return
        }
        let event: CloudEvent
        do {
            event = try CloudEvent.decode(headers: headers, data: message.value.map { Data($0) })
        } catch {
            try await deadLetters.send(message, reason: error.reason, detail: error.description)
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
                if outcome == .applied { FaultPoint.consumerAfterApply.pass() }
                health.clear(.consumer)
                if outcome == .applied { doorbell.ring() }
                Counter(label: "events_processed_total", dimensions: [("type", event.type.rawValue), ("outcome", outcome.rawValue)]).increment()
                let elapsed = ContinuousClock.now - started
                Timer(label: "event_processing_seconds", dimensions: [("type", event.type.rawValue)])
                    .recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
                logger.debug(
                    "Event processed",
                    metadata: ["event.type": .string(event.type.rawValue), "event.id": .string(event.id.uuidString), "case.id": .string(event.subject), "outcome": .string(outcome.rawValue)])
                return
            } catch {
                switch EventFailure.classify(error) {
                case .record(let reason):
                    try await deadLetters.send(message, reason: reason, detail: "\(error)")
                    return
                case .infrastructure:
                    if Task.isStopping { throw ShutdownInterruption(underlying: error) }
                    health.report(.consumer, error)
                    logger.warning(
                        "Could not apply an event; retrying",
                        metadata: ["error": "\(error)", "event.id": .string(event.id.uuidString), "retry.in": "\(backoff)"])
                    await pause(backoff)
                    backoff = min(backoff * 2, .seconds(5))
                }
            }
        }
    }

    static func typeName(_ headers: [String: String]) -> String {
        guard let type = headers["ce_type"], let parsed = EventType.allCases.first(where: { $0.ceType == type }) else { return "unknown" }
        return parsed.rawValue
    }
}
