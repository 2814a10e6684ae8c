import Foundation
import Kafka
import Logging
import Testing

/// Shared helpers of the Kafka tests.
enum TestSupport {
    static let logger: Logger = {
        var logger = Logger(label: "kafka-tests")
        logger.logLevel = ProcessInfo.processInfo.environment["KAFKA_TEST_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .critical
        return logger
    }()

    /// The real broker started by `scripts/test` (`make test`); `nil` when running bare `swift test`.
    static let realBroker: String? = ProcessInfo.processInfo.environment["KAFKA_TEST_BOOTSTRAP_SERVERS"]

    /// Real-broker suites run whenever a broker is given, and always in CI, where a missing broker
    /// is a failure rather than a skip.
    static var realBrokerAvailable: Bool {
        realBroker != nil || ProcessInfo.processInfo.environment["CI"] != nil
    }

    static func uniqueName(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    static func client(_ servers: String, id: String = uniqueName("client")) -> KafkaConfiguration {
        KafkaConfiguration(bootstrapServers: [servers], clientID: id)
    }

    static func producer(_ servers: String, properties: [String: String] = [:]) throws -> KafkaProducer {
        var client = client(servers)
        client.properties = properties
        return try KafkaProducer(configuration: .init(client: client), logger: logger)
    }

    static func reader(_ servers: String, _ starts: [KafkaPartitionStart]) throws -> KafkaConsumer {
        try KafkaConsumer(configuration: .init(client: client(servers), mode: .assignment(starts)), logger: logger)
    }

    /// Reads `topic`'s partitions from the beginning to their end.
    static func readAll(_ servers: String, topic: String, partitions: Int32) async throws -> [KafkaMessage] {
        let consumer = try reader(servers, (0..<partitions).map { .init(topic: topic, partition: $0, offset: .beginning) })
        var messages: [KafkaMessage] = []
        for try await batch in consumer.replay() { messages += batch.messages }
        await consumer.close()
        return messages
    }

    /// Runs `body`, failing with a timeout error after `limit`.
    static func within<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw TimeoutError(limit: limit)
            }
            return value
        }
    }

    struct TimeoutError: Error, CustomStringConvertible {
        var limit: Duration
        var description: String { "timed out after \(limit)" }
    }
}

/// A slot filled after creation, for hooks that need the object they are installed on.
final class Slot<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T?
    var value: T? {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
