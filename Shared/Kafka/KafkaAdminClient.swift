import CRdKafka
import Logging

/// A topic to create.
public struct KafkaNewTopic: Sendable, Hashable {
    public var name: String
    public var partitions: Int
    public var replicationFactor: Int
    /// Topic-level settings, e.g. `retention.ms`.
    public var settings: [String: String]

    public init(name: String, partitions: Int, replicationFactor: Int = 1, settings: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.settings = settings
    }
}

/// Cluster administration: creating and listing topics.
public final class KafkaAdminClient: Sendable {
    private let client: RDKafkaClient

    /// - Throws: ``KafkaError`` for an invalid property or a librdkafka below the floor.
    public init(configuration: KafkaConfiguration, logger: Logger) throws {
        client = try RDKafkaClient(
            kind: .producer, properties: configuration.librdkafkaProperties,
            context: ClientContext(logger: logger, clientID: configuration.clientID))
    }

    /// Creates `topics`. A topic that already exists is left as it is when `ignoreExisting`.
    /// - Throws: ``KafkaError`` for the first topic the cluster refused, naming it.
    public func createTopics(_ topics: [KafkaNewTopic], ignoreExisting: Bool = true, timeout: Duration = .seconds(30)) async throws {
        guard !topics.isEmpty else { return }
        let handle = HandlePointer(raw: client.handle)
        try await Blocking.run {
            var errstr = [CChar](repeating: 0, count: 512)
            var newTopics: [OpaquePointer?] = []
            defer { newTopics.forEach { rd_kafka_NewTopic_destroy($0) } }
            for topic in topics {
                guard let newTopic = rd_kafka_NewTopic_new(topic.name, Int32(topic.partitions), Int32(topic.replicationFactor), &errstr, errstr.count) else {
                    throw KafkaError(code: .invalidArgument, message: "topic \(topic.name): \(String(errorBuffer: errstr))")
                }
                newTopics.append(newTopic)
                for (key, value) in topic.settings.sorted(by: { $0.key < $1.key }) {
                    let err = rd_kafka_NewTopic_set_config(newTopic, key, value)
                    guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err, context: "topic \(topic.name) setting \(key)") }
                }
            }
            let queue = rd_kafka_queue_new(handle.raw)
            defer { rd_kafka_queue_destroy(queue) }
            let options = rd_kafka_AdminOptions_new(handle.raw, RD_KAFKA_ADMIN_OP_CREATETOPICS)
            defer { rd_kafka_AdminOptions_destroy(options) }
            _ = rd_kafka_AdminOptions_set_request_timeout(options, timeout.timeoutMilliseconds, &errstr, errstr.count)
            rd_kafka_CreateTopics(handle.raw, &newTopics, newTopics.count, options, queue)
            guard let event = rd_kafka_queue_poll(queue, timeout.timeoutMilliseconds + 1000) else {
                throw KafkaError(code: .timedOut, message: "creating topics: no answer within \(timeout)", isRetriable: true)
            }
            defer { rd_kafka_event_destroy(event) }
            let err = rd_kafka_event_error(event)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError.from(err, context: "creating topics")
            }
            var count = 0
            let result = rd_kafka_event_CreateTopics_result(event)
            guard let results = rd_kafka_CreateTopics_result_topics(result, &count) else { return }
            for index in 0..<count {
                let topicResult = results[index]
                let code = rd_kafka_topic_result_error(topicResult)
                if code == RD_KAFKA_RESP_ERR_NO_ERROR || (ignoreExisting && code == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) { continue }
                let name = String(cString: rd_kafka_topic_result_name(topicResult))
                let text = rd_kafka_topic_result_error_string(topicResult).map { String(cString: $0) } ?? ""
                throw KafkaError(code: .init(rawValue: code.rawValue), message: "creating topic \(name): \(text)")
            }
        }
    }

    /// The first TLS handshake or SASL authentication failure the client met, if any: such a
    /// failure is a misconfiguration (TLS against a plaintext listener, wrong credentials),
    /// which retrying will not cure.
    public var securityFailure: KafkaError? { client.context.securityFailure.withLock { $0 } }

    /// The id of the cluster the brokers belong to, nil when no broker answered within `timeout`.
    /// A cluster id that changes under a running client means a different cluster: none of the
    /// records, topics or offsets the client knew are there (a broker restarted empty, when the
    /// broker takes a new id at each start as `scripts/broker` gives Tansu).
    public func clusterID(timeout: Duration = .seconds(10)) async -> String? {
        let client = self.client
        return try? await Blocking.run { client.clusterID(timeout: timeout) }
    }

    /// The topics of the cluster with their partition counts.
    public func listTopics(timeout: Duration = .seconds(10)) async throws -> [KafkaTopicMetadata] {
        let client = self.client
        return try await Blocking.run { try client.topics(timeout: timeout) }.sorted { $0.name < $1.name }
    }
}
