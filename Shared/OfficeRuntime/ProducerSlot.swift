import Kafka
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// The office's Kafka producer, which can be replaced while the office runs.
///
/// An idempotent producer has an identity (producer id and sequence numbers) that the broker
/// keeps. A broker that lost its state (the embedded broker restarted empty) answers every send
/// of the old identity with `UNKNOWN_PRODUCER_ID`, which librdkafka retries for ever: the outbox
/// would never move again. When the office finds the broker lost its topics it ``renew()``s the
/// producer: a new one (a new identity) takes the sends, the old one is closed, and the sends it
/// still held fail and are retried through the new one (consumers deduplicate).
///
/// As a ServiceLifecycle `Service`, it closes whichever producer is current at shutdown.
public final class ProducerSlot: Service, Sendable, CustomStringConvertible {
    private let current: Mutex<KafkaProducer>
    private let renewable: Bool
    private let logger: Logger
    public var description: String { "KafkaProducer" }

    /// A slot whose producer can be renewed (made again from its configuration).
    public init(configuration: KafkaProducerConfiguration, logger: Logger) throws {
        current = Mutex(try KafkaProducer(configuration: configuration, logger: logger))
        renewable = true
        self.logger = logger
    }

    /// A slot holding `producer` for good (tests, tools).
    public init(_ producer: KafkaProducer) {
        current = Mutex(producer)
        renewable = false
        logger = Logger(label: "producer-slot")
    }

    /// The producer sends go to now.
    public var producer: KafkaProducer { current.withLock { $0 } }
    public var configuration: KafkaProducerConfiguration { producer.configuration }

    /// Sends through the current producer. A producer in a fatal state (librdkafka's verdict when
    /// the broker and the producer no longer agree on its identity or sequence numbers) is
    /// renewed, at most three times in five minutes, and the send tried again on the new one;
    /// beyond that the fatal error is thrown and the office stops (its supervisor restarts it).
    public func send(_ record: KafkaRecord) async throws -> DeliveryReport {
        while true {
            let current = producer
            do {
                return try await current.send(record)
            } catch let error as KafkaError where error.isFatal && renewable {
                try await renew(after: error, replacing: current)
            }
        }
    }

    /// Sends `records` together through the current producer (``KafkaProducer/send(batch:)``):
    /// one result per record. When a record failed because the producer is in a fatal state,
    /// the producer is renewed (within the same budget as ``send(_:)``) and the failed records'
    /// results say so: the caller sends them again.
    /// - Throws: the fatal error when the renewal budget is spent; `CancellationError`.
    public func send(batch records: [KafkaRecord]) async throws -> [Result<DeliveryReport, KafkaError>] {
        var current = producer
        var results: [Result<DeliveryReport, KafkaError>]
        while true {
            do {
                results = try await current.send(batch: records)
                break
            } catch let error as KafkaError where error.isFatal && renewable {
                // Fatal before anything was handed over: renew and send the whole batch again.
                try await renew(after: error, replacing: current)
                current = producer
            }
        }
        let fatal = results.lazy.compactMap { result -> KafkaError? in
            if case .failure(let error) = result, error.isFatal { return error }
            return nil
        }.first
        if let fatal {
            guard renewable else { throw fatal }
            try await renew(after: fatal, replacing: current)
        }
        return results
    }

    /// Renews after a fatal `error`, within the budget (three in five minutes); beyond it the
    /// error is thrown and the office stops.
    private func renew(after error: KafkaError, replacing current: KafkaProducer) async throws {
        guard renewals.withLock({ $0.allow(at: ContinuousClock.now) }) else { throw error }
        logger.error("Kafka producer in a fatal state; replacing it", metadata: ["error": "\(error)"])
        try await renew(replacing: current)
    }

    /// Renewals in the last five minutes.
    private struct Budget {
        var times: [ContinuousClock.Instant] = []
        mutating func allow(at now: ContinuousClock.Instant) -> Bool {
            times.removeAll { now - $0 > .seconds(300) }
            guard times.count < 3 else { return false }
            times.append(now)
            return true
        }
    }
    private let renewals = Mutex(Budget())

    /// Replaces the producer with a new one (a new identity at the broker) and closes the old.
    public func renew() async throws {
        try await renew(replacing: producer)
    }

    /// Replaces `old` unless another caller already did.
    private func renew(replacing old: KafkaProducer) async throws {
        guard renewable else { return }
        let fresh = try KafkaProducer(configuration: old.configuration, logger: logger)
        let replaced = current.withLock { current -> Bool in
            guard current === old else { return false }
            current = fresh
            return true
        }
        guard replaced else {
            await fresh.close()
            return
        }
        Counter(label: "kafka_producer_renewals_total").increment()
        logger.notice("Kafka producer renewed: the old one is closed, and what it still held is sent again")
        await old.close()
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await producer.close()
    }
}
