import Kafka
import Logging
import ServiceLifecycle
import Synchronization

/// Creates the office's topics when they are missing, and keeps trying in the background while
/// the broker cannot be reached: the office serves HTTP meanwhile, and `/health` says what is
/// missing. Ends once the topics exist.
struct TopicSetup: Service {
    let configuration: OfficeConfiguration
    let health: OfficeHealth
    let logger: Logger
    private let done = StopFlagBox()

    init(configuration: OfficeConfiguration, health: OfficeHealth, logger: Logger) {
        self.configuration = configuration
        self.health = health
        self.logger = logger
    }

    var topics: [String] { [configuration.destinationEventsTopic, configuration.originEventsTopic, configuration.deadLetterTopic] }

    /// One attempt: create what is missing, or find that everything exists.
    /// - Returns: whether the topics exist now.
    @discardableResult
    func attempt(timeout: Duration) async -> Bool {
        if done.isSet { return true }
        do {
            let admin = try KafkaAdminClient(configuration: configuration.kafka, logger: logger)
            do {
                try await admin.createTopics(
                    topics.map { KafkaNewTopic(name: $0, partitions: configuration.topicPartitions) }, timeout: timeout)
            } catch {
                // Clusters that refuse CreateTopics (ACLs, a test cluster) may still have the topics.
                let existing = Set(try await admin.listTopics(timeout: timeout).map(\.name))
                guard Set(topics).isSubset(of: existing) else { throw error }
            }
            done.set()
            health.clear(.topics)
            return true
        } catch {
            health.report(.topics, error)
            logger.warning("Topics not created yet; the office keeps trying", metadata: ["error": "\(error)", "topics": .string(topics.joined(separator: ","))])
            return false
        }
    }

    func run() async throws {
        var backoff = Duration.seconds(1)
        while !Task.isStopping {
            if await attempt(timeout: .seconds(5)) { return }
            await pause(backoff)
            backoff = min(backoff * 2, .seconds(30))
        }
    }
}

/// A flag set once (a class, so copies of the struct that holds it share it).
final class StopFlagBox: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
