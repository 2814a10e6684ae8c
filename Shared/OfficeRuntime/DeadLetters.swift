import Crypto
import Foundation
import Kafka
import Logging
import Metrics

/// Sends records a consumer cannot apply to the dead-letter topic, with their provenance.
///
/// The dead-letter record always fits the producer's size limit: it keeps the provenance headers
/// (`dlq_topic`, `dlq_partition`, `dlq_offset`, `dlq_reason`, `dlq_detail`, `dlq_consumer`), a
/// SHA-256 and the size of the original value, and the original headers and value only while
/// they fit; what was left out is named in `dlq_dropped`. Delivery is awaited: a broker away is
/// retried with backoff (and reported to `/health`), shutdown interrupts the retry without
/// committing the record, a fatal producer error stops the office.
public struct DeadLetterSender: Sendable {
    let producer: ProducerSlot
    let topic: String
    let consumerName: String
    let health: OfficeHealth
    let logger: Logger

    public init(producer: KafkaProducer, topic: String, consumerName: String, health: OfficeHealth, logger: Logger) {
        self.init(producers: ProducerSlot(producer), topic: topic, consumerName: consumerName, health: health, logger: logger)
    }

    public init(producers: ProducerSlot, topic: String, consumerName: String, health: OfficeHealth, logger: Logger) {
        self.producer = producers
        self.topic = topic
        self.consumerName = consumerName
        self.health = health
        self.logger = logger
    }

    /// The largest original value kept in a dead-letter record: a quarter of the producer's
    /// record limit, leaving room for headers, key and the broker's own overhead.
    var valueLimit: Int { max(1024, producer.configuration.maxMessageBytes / 4) }

    /// The dead-letter record for `message`.
    /// - Parameter valueLimit: original values larger than this are left out; `0` leaves out
    ///   the value and every original header (the smallest record that still says what happened).
    public static func record(
        for message: KafkaMessage, reason: String, detail: String, consumer: String, topic: String, valueLimit: Int
    ) -> KafkaRecord {
        let value = message.value ?? []
        var dropped: [String] = []
        var headers: [KafkaHeader] = []
        // Original headers are provenance too, but a hostile record can carry huge ones.
        var headerBudget = valueLimit == 0 ? 0 : 16 * 1024
        for header in message.headers where !header.name.hasPrefix("dlq_") {
            let size = header.name.utf8.count + (header.value?.count ?? 0)
            if size <= headerBudget {
                headers.append(header)
                headerBudget -= size
            } else {
                dropped.append("header \(String(header.name.prefix(100)))")
            }
        }
        let keepValue = message.value != nil && value.count <= valueLimit
        if message.value != nil && !keepValue { dropped.append("value") }
        var key = message.key
        if let original = key, original.count > 1024 {
            key = nil
            dropped.append("key")
        }
        headers += [
            KafkaHeader(name: "dlq_topic", string: message.topic),
            KafkaHeader(name: "dlq_partition", string: String(message.partition)),
            KafkaHeader(name: "dlq_offset", string: String(message.offset)),
            KafkaHeader(name: "dlq_reason", string: reason),
            KafkaHeader(name: "dlq_detail", string: String(PrivacyMask.mask(detail).prefix(2000))),
            KafkaHeader(name: "dlq_consumer", string: consumer),
            KafkaHeader(name: "dlq_value_sha256", string: message.value.map { SHA256.hash(data: $0).hex } ?? "none"),
            KafkaHeader(name: "dlq_value_bytes", string: String(value.count)),
        ]
        if !dropped.isEmpty {
            headers.append(KafkaHeader(name: "dlq_dropped", string: dropped.joined(separator: ", ")))
        }
        return KafkaRecord(topic: topic, key: key, value: keepValue ? message.value : nil, headers: headers)
    }

    /// Sends `message` to the dead-letter topic and waits for the broker's acknowledgement.
    /// - Throws: ``ShutdownInterruption`` when shutdown interrupts a retry; ``KafkaError`` when
    ///   the producer is in a fatal state or the broker refuses even the smallest record.
    func send(_ message: KafkaMessage, reason: String, detail: String) async throws {
        var record = Self.record(for: message, reason: reason, detail: detail, consumer: consumerName, topic: topic, valueLimit: valueLimit)
        var smallest = false
        var backoff = Duration.milliseconds(100)
        while true {
            do {
                _ = try await producer.send(record)
                break
            } catch let error as KafkaError where error.isFatal {
                throw error
            } catch let error as KafkaError where error.rejectsRecord {
                // Never retried unchanged: send the provenance alone, and if even that is refused,
                // stop rather than commit past a record that is recorded nowhere.
                guard !smallest else { throw error }
                smallest = true
                record = Self.record(for: message, reason: reason, detail: detail, consumer: consumerName, topic: topic, valueLimit: 0)
                logger.warning("Dead-letter record refused as too large; sending its provenance alone", metadata: ["error": "\(error)"])
            } catch {
                if Task.isStopping { throw ShutdownInterruption(underlying: error) }
                health.report(.deadLetter, error)
                logger.warning("Dead-letter delivery failed; retrying", metadata: ["error": "\(error)", "retry.in": "\(backoff)"])
                await pause(backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
        health.clear(.deadLetter)
        Counter(label: "events_dead_lettered_total", dimensions: [("reason", reason)]).increment()
        logger.warning(
            "Record sent to the dead-letter topic",
            metadata: [
                "dlq.reason": .string(reason), "dlq.detail": .string(String(PrivacyMask.mask(detail).prefix(300))), "kafka.topic": .string(message.topic),
                "kafka.partition": "\(message.partition)", "kafka.offset": "\(message.offset)",
            ])
    }
}

extension DeadLetterSender {
    /// What the office's dead-letter log keeps of a record it dead-lettered (the console lists it):
    /// provenance, reason, a masked detail and the value's hash, never the value.
    public static func logEntry(for message: KafkaMessage, reason: String, detail: String, at time: Date = Date()) -> DeadLetterEntry {
        var headers: [String: String] = [:]
        for header in message.headers { if let value = header.stringValue { headers[header.name] = String(value.prefix(200)) } }
        let value = message.value ?? []
        return DeadLetterEntry(
            recordedAt: time, topic: message.topic, partition: Int(message.partition), offset: message.offset, reason: reason,
            detail: PrivacyMask.mask(detail), eventId: headers["ce_id"], eventType: headers["ce_type"], eventSource: headers["ce_source"],
            valueSHA256: SHA256.hash(data: value).hex, valueBytes: value.count)
    }
}

extension Digest {
    /// Lower-case hexadecimal.
    var hex: String { map { String(format: "%02x", $0) }.joined() }
}
