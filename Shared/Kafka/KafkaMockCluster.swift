import CRdKafka
import Logging

/// An in-process Kafka cluster (librdkafka's mock cluster) for tests: no broker to install, and
/// faults on demand. Several clients share it through ``bootstrapServers``.
///
/// It supports produce/fetch, consumer groups and idempotent producers, and can inject request
/// errors, take brokers down and add round-trip time.
public final class KafkaMockCluster: @unchecked Sendable {
    /// Kafka protocol request types whose responses can be made to fail.
    public enum Request: Int16, Sendable {
        case produce = 0, fetch = 1, listOffsets = 2, metadata = 3, offsetCommit = 8, offsetFetch = 9
        case findCoordinator = 10, joinGroup = 11, heartbeat = 12, leaveGroup = 13, syncGroup = 14
        case initProducerID = 22
    }

    private let owner: RDKafkaClient
    private let cluster: OpaquePointer
    /// `host:port,...` of the mock brokers; give it to clients as their bootstrap servers.
    public let bootstrapServers: String
    /// The ids of the mock brokers (1...count).
    public let brokerIDs: [Int32]

    /// Starts a cluster of `brokers` brokers.
    public init(brokers: Int = 1, logger: Logger = Logger(label: "kafka.mock")) throws {
        // The owning handle never connects anywhere; keep its "no bootstrap.servers" notice quiet.
        owner = try RDKafkaClient(kind: .producer, properties: [("log_level", "3")], context: ClientContext(logger: logger, clientID: "mock-cluster"))
        guard let cluster = rd_kafka_mock_cluster_new(owner.handle, Int32(brokers)) else {
            throw KafkaError(code: .unknown, message: "librdkafka could not start a mock cluster")
        }
        self.cluster = cluster
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
        brokerIDs = (1...Int32(brokers)).map { $0 }
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
    }

    /// Creates a topic (mock clusters also auto-create on first use, with their default partitions).
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) throws {
        let err = rd_kafka_mock_topic_create(cluster, name, Int32(partitions), Int32(replicationFactor))
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err, context: "creating mock topic \(name)") }
    }

    /// Makes the next `errors.count` requests of `request` type (on any broker) fail, in order,
    /// with these codes.
    public func failNext(_ request: Request, with errors: [KafkaError.Code]) {
        var codes = errors.map { rd_kafka_resp_err_t($0.rawValue) }
        rd_kafka_mock_push_request_errors_array(cluster, request.rawValue, codes.count, &codes)
    }

    /// Cuts a broker off until ``setUp(broker:)``: every request it receives closes its
    /// connection, so clients see a broker they cannot talk to and reconnect in a loop.
    ///
    /// Not librdkafka's `rd_kafka_mock_broker_set_down`: that closes the broker's listening
    /// socket and binds its port again at once, and when anything else took that port meanwhile
    /// (any loopback client's ephemeral port can) it aborts the whole process on an assertion.
    /// Here the listener stays. The error stacks are the cluster's, so this needs a cluster of
    /// one broker (the only kind the tests use).
    public func setDown(broker: Int32) throws {
        try requireSingleBroker(broker)
        var closes = [rd_kafka_resp_err_t](repeating: RD_KAFKA_RESP_ERR__TRANSPORT, count: Self.requestsWhileDown)
        for apiKey in Self.apiKeys {
            rd_kafka_mock_push_request_errors_array(cluster, apiKey, closes.count, &closes)
        }
    }

    /// Lets a broker cut off by ``setDown(broker:)`` answer again.
    public func setUp(broker: Int32) throws {
        try requireSingleBroker(broker)
        for apiKey in Self.apiKeys { rd_kafka_mock_clear_request_errors(cluster, apiKey) }
    }

    /// Every Kafka request type (ApiKey) librdkafka speaks, and how many requests of each a
    /// broker that is down refuses (far more than clients send in a test's outage).
    private static let apiKeys = Array(Int16(0)...Int16(80))
    private static let requestsWhileDown = 2_000

    private func requireSingleBroker(_ broker: Int32) throws {
        guard brokerIDs == [broker] else {
            throw KafkaError(code: .init(rawValue: RD_KAFKA_RESP_ERR__INVALID_ARG.rawValue),
                             message: "setDown/setUp take the only broker of a one-broker mock cluster down or up (brokers: \(brokerIDs))")
        }
    }

    /// Makes `broker` the leader of `topic`'s `partition`; `-1` leaves it without a leader (its
    /// records cannot be written until a leader is set again).
    public func setLeader(topic: String, partition: Int32, broker: Int32) throws {
        let err = rd_kafka_mock_partition_set_leader(cluster, topic, partition, broker)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err, context: "setting the leader of \(topic)[\(partition)]") }
    }

    /// Delays every response of a broker by `rtt`.
    public func setRoundTripTime(broker: Int32, _ rtt: Duration) throws {
        let err = rd_kafka_mock_broker_set_rtt(cluster, broker, Int32(rtt.milliseconds))
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err, context: "setting mock broker \(broker) RTT") }
    }
}
