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

    /// Cuts a broker off: its connections close and new ones are refused until ``setUp(broker:)``.
    public func setDown(broker: Int32) throws {
        let err = rd_kafka_mock_broker_set_down(cluster, broker)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err, context: "taking mock broker \(broker) down") }
    }

    public func setUp(broker: Int32) throws {
        let err = rd_kafka_mock_broker_set_up(cluster, broker)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err, context: "bringing mock broker \(broker) up") }
    }

    /// Delays every response of a broker by `rtt`.
    public func setRoundTripTime(broker: Int32, _ rtt: Duration) throws {
        let err = rd_kafka_mock_broker_set_rtt(cluster, broker, Int32(rtt.milliseconds))
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err, context: "setting mock broker \(broker) RTT") }
    }
}
