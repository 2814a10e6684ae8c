import Kafka
import Logging
import Metrics
import ServiceLifecycle
import TransferDomain
import Synchronization

/// Creates the office's topics when they are missing, and keeps trying in the background while
/// the broker cannot be reached: the office serves HTTP meanwhile, and `/health` says what is
/// missing. Ends once the topics exist.
struct TopicSetup: Service, CustomStringConvertible {
    let configuration: OfficeConfiguration
    let health: OfficeHealth
    let logger: Logger
    /// TLS or SASL failures the office's running clients met.
    private(set) var securityFailure: @Sendable () -> KafkaError?
    /// Called when the broker turned out to have lost this office's topics (after they are
    /// created again).
    private(set) var onTopicsLost: @Sendable () async -> Void = {}
    private let done = StopFlagBox()

    init(configuration: OfficeConfiguration, health: OfficeHealth, logger: Logger, securityFailure: @escaping @Sendable () -> KafkaError? = { nil }) {
        self.configuration = configuration
        self.health = health
        self.logger = logger
        self.securityFailure = securityFailure
    }

    var description: String { "TopicSetup" }

    /// This office's own inbox and the dead-letter topic: without them the office cannot work.
    var topics: [String] { [configuration.incomingTopic, configuration.deadLetterTopic] }
    /// The other offices' inboxes this office writes to (their other role's), created when missing so mail to an office that has not started
    /// yet waits in its inbox instead of in the sender's outbox. Where ACLs forbid it (a secured
    /// cluster), an administrator creates them; a refusal here is only logged.
    var otherInboxes: [String] {
        var inboxes = OfficeDirectory.standard.offices.keys.filter { $0 != configuration.officeCode }
            .map { configuration.inboxTopic(for: $0, configuration.role.other) }
        // A destination also writes to its own city's origin role (relationship-received).
        if configuration.role == .destination { inboxes.append(configuration.inboxTopic(for: configuration.officeCode, .origin)) }
        return inboxes.sorted()
    }

    enum Outcome {
        case ready
        /// Not yet (the broker is away); worth trying again.
        case notYet
        /// The broker refused the TLS handshake or the SASL login: retrying will not help.
        case misconfigured(KafkaError)
    }

    /// This setup (sharing whether it is done) reporting `securityFailure` as well.
    func watching(_ securityFailure: @escaping @Sendable () -> KafkaError?, onTopicsLost: @escaping @Sendable () async -> Void = {}) -> TopicSetup {
        var copy = self
        copy.securityFailure = securityFailure
        copy.onTopicsLost = onTopicsLost
        return copy
    }

    /// One attempt: create what is missing, or find that everything exists.
    @discardableResult
    func attempt(timeout: Duration) async -> Outcome {
        if done.isSet { return .ready }
        var admin: KafkaAdminClient?
        do {
            let client = try KafkaAdminClient(configuration: configuration.kafka, logger: logger)
            admin = client
            // What exists first (clusters that refuse CreateTopics, by ACL or because they are a
            // test cluster, may well have the topics), then create what is missing.
            let existing = Set(try await client.listTopics(timeout: timeout).map(\.name))
            let missing = topics.filter { !existing.contains($0) }
            if !missing.isEmpty {
                try await client.createTopics(
                    missing.map { KafkaNewTopic(name: $0, partitions: configuration.topicPartitions) }, timeout: timeout)
            }
            // The office can work now; the other inboxes are a courtesy to senders.
            done.set()
            health.clear(.topics)
            let others = otherInboxes.filter { !existing.contains($0) }
            if !others.isEmpty {
                do {
                    try await client.createTopics(others.map { KafkaNewTopic(name: $0, partitions: configuration.topicPartitions) }, timeout: timeout)
                } catch {
                    logger.info("Other offices' inboxes not created (an administrator creates them on a secured cluster)", metadata: ["error": "\(error)"])
                }
            }
            return .ready
        } catch {
            if let failure = admin?.securityFailure ?? securityFailure() {
                health.report(.topics, failure)
                return .misconfigured(failure)
            }
            health.report(.topics, error)
            logger.warning("Topics not created yet; the office keeps trying", metadata: ["error": "\(error)", "topics": .string(topics.joined(separator: ","))])
            return .notYet
        }
    }

    /// - Throws: ``OfficeStartupError`` when the broker refuses the TLS handshake or the SASL
    ///   login: the office stops (exit status 1) instead of retrying what cannot work.
    ///
    /// Once the topics exist it waits for the shutdown instead of returning: a service that ends
    /// while ServiceGroup is stopping another one makes the whole stop fail
    /// (`serviceFinishedUnexpectedly`), which a slow topic creation racing a SIGTERM would cause.
    func run() async throws {
        var backoff = Duration.seconds(1)
        while !Task.isStopping {
            switch await attempt(timeout: .seconds(5)) {
            case .ready:
                await watch()
                return
            case .misconfigured(let failure):
                let error = OfficeStartupError.kafkaSecurity(configuration, failure)
                logger.critical("Kafka refuses this office's connection settings; stopping", metadata: ["error": .string(error.description)])
                throw error
            case .notYet: break
            }
            await pause(backoff)
            backoff = min(backoff * 2, .seconds(30))
        }
    }
}

extension TopicSetup {
    /// After start, checks every `kafka.topic.check.seconds` that this office's topics still
    /// exist and that the broker is still the same cluster (its cluster id). A broker that lost
    /// them (the embedded broker restarted empty, a topic deleted by hand) lost every record they
    /// held: the office says so loudly (error log, the counter `kafka_topics_lost_total`, `/health`
    /// until they exist again), creates what is missing and renews its producer (``onTopicsLost``),
    /// and carries on. The cluster id catches a reset even when another office's producer or
    /// start-up already created this office's inbox again. Returns at shutdown.
    func watch() async {
        guard let interval = configuration.topicCheckInterval else {
            try? await gracefulShutdown()
            return
        }
        var knownCluster: String?  // nil until the broker reports one (a broker without: existence only)
        var first = true  // the first check comes at once, to learn the cluster id
        while !Task.isStopping {
            if !first { await pause(interval) }
            first = false
            if Task.isStopping { return }
            do {
                // A client per check (every 30 s by default): no metadata cached from before a
                // reset, which is what the check is looking for.
                let client = try KafkaAdminClient(configuration: configuration.kafka, logger: logger)
                let existing = Set(try await client.listTopics(timeout: .seconds(5)).map(\.name))
                let cluster = await client.clusterID(timeout: .seconds(1))
                let clusterChanged = knownCluster != nil && cluster != nil && cluster != knownCluster
                if cluster != nil { knownCluster = cluster }
                let missing = topics.filter { !existing.contains($0) }
                let lost = clusterChanged ? topics : missing
                guard !lost.isEmpty else {
                    health.clear(.topics)
                    continue
                }
                Counter(label: "kafka_topics_lost_total").increment(by: lost.count)
                health.report(.topics, OfficeStartupError.topicsLost(lost))
                logger.error(
                    "The broker has lost this office's topics: every record they held is gone (a broker restarted empty?). Creating them again; see the operations guide for what to do about events in flight",
                    metadata: [
                        "topics": .string(lost.joined(separator: ",")),
                        "cluster": .string(clusterChanged ? "\(knownCluster ?? "") -> \(cluster ?? "")" : cluster ?? "unknown"),
                    ])
                if !missing.isEmpty {
                    try await client.createTopics(
                        missing.map { KafkaNewTopic(name: $0, partitions: configuration.topicPartitions) }, ignoreExisting: true, timeout: .seconds(5))
                }
                health.clear(.topics)
                logger.notice("Topics created again", metadata: ["topics": .string(lost.joined(separator: ","))])
                await onTopicsLost()
            } catch {
                // The broker away: the clients and /health report that; try again next time.
                logger.debug("Topic check failed", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// A flag set once (a class, so copies of the struct that holds it share it).
final class StopFlagBox: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
