import CRdKafka

/// An error from Kafka: a librdkafka error code with a readable message and what a caller may do
/// about it.
///
/// One open type for every failure of the wrapper, in the manner of swift-kafka-client: callers
/// switch on ``code`` for the cases they handle and otherwise log ``description``.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// A librdkafka error code (`rd_kafka_resp_err_t`); negative values are client-side errors,
    /// positive ones come from the broker.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        /// librdkafka's symbolic name, e.g. `_QUEUE_FULL` or `NOT_LEADER_OR_FOLLOWER`.
        public var name: String { String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(rawValue))) }
        public var description: String { name }

        public static let noError = Code(rawValue: RD_KAFKA_RESP_ERR_NO_ERROR.rawValue)
        public static let unknown = Code(rawValue: RD_KAFKA_RESP_ERR_UNKNOWN.rawValue)
        public static let queueFull = Code(rawValue: RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue)
        public static let timedOut = Code(rawValue: RD_KAFKA_RESP_ERR__TIMED_OUT.rawValue)
        public static let messageTimedOut = Code(rawValue: RD_KAFKA_RESP_ERR__MSG_TIMED_OUT.rawValue)
        public static let partitionEOF = Code(rawValue: RD_KAFKA_RESP_ERR__PARTITION_EOF.rawValue)
        public static let invalidArgument = Code(rawValue: RD_KAFKA_RESP_ERR__INVALID_ARG.rawValue)
        public static let unsupportedFeature = Code(rawValue: RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE.rawValue)
        public static let state = Code(rawValue: RD_KAFKA_RESP_ERR__STATE.rawValue)
        public static let destroyed = Code(rawValue: RD_KAFKA_RESP_ERR__DESTROY.rawValue)
        public static let noOffset = Code(rawValue: RD_KAFKA_RESP_ERR__NO_OFFSET.rawValue)
        public static let unknownTopicOrPartition = Code(rawValue: RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART.rawValue)
        public static let topicAlreadyExists = Code(rawValue: RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS.rawValue)
        public static let notLeaderForPartition = Code(rawValue: RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION.rawValue)
        public static let requestTimedOut = Code(rawValue: RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT.rawValue)
        public static let notEnoughReplicas = Code(rawValue: RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS.rawValue)
        public static let brokerNotAvailable = Code(rawValue: RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE.rawValue)
        public static let coordinatorNotAvailable = Code(rawValue: RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE.rawValue)
        public static let notCoordinator = Code(rawValue: RD_KAFKA_RESP_ERR_NOT_COORDINATOR.rawValue)
        public static let fatal = Code(rawValue: RD_KAFKA_RESP_ERR__FATAL.rawValue)
        public static let ssl = Code(rawValue: RD_KAFKA_RESP_ERR__SSL.rawValue)
        public static let transport = Code(rawValue: RD_KAFKA_RESP_ERR__TRANSPORT.rawValue)
        public static let authentication = Code(rawValue: RD_KAFKA_RESP_ERR__AUTHENTICATION.rawValue)
        public static let messageSizeTooLarge = Code(rawValue: RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE.rawValue)
        public static let recordListTooLarge = Code(rawValue: RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE.rawValue)
        public static let invalidRecord = Code(rawValue: RD_KAFKA_RESP_ERR_INVALID_RECORD.rawValue)
        public static let invalidMessage = Code(rawValue: RD_KAFKA_RESP_ERR_INVALID_MSG.rawValue)
    }

    /// Whether a delivery that failed may nevertheless have been written by the broker.
    public enum Persistence: String, Sendable {
        /// The broker never received the message: resending cannot duplicate it.
        case notPersisted = "not persisted"
        /// The message was sent but no acknowledgement came back: it may be in the log.
        case possiblyPersisted = "possibly persisted"
        /// The broker acknowledged the message.
        case persisted
    }

    public var code: Code
    /// What went wrong, where and why, in words.
    public var message: String
    /// Retrying the same operation may succeed.
    public var isRetriable: Bool
    /// The client cannot be used any further and must be recreated.
    public var isFatal: Bool
    /// For a failed delivery: whether the message may be on the broker nonetheless.
    public var persistence: Persistence?
    /// For a configuration error: the property that was refused.
    public var property: String?

    public init(
        code: Code, message: String, isRetriable: Bool = false, isFatal: Bool = false,
        persistence: Persistence? = nil, property: String? = nil
    ) {
        self.code = code
        self.message = message
        self.isRetriable = isRetriable
        self.isFatal = isFatal
        self.persistence = persistence
        self.property = property
    }

    /// The record itself can never be delivered as it is (too large, or refused as invalid by
    /// the broker): sending it again unchanged fails again, so it must not be retried blindly.
    public var rejectsRecord: Bool {
        [.messageSizeTooLarge, .recordListTooLarge, .invalidRecord, .invalidMessage].contains(code)
    }

    public var description: String {
        var text = "Kafka error \(code.name) (\(code.rawValue)): \(message)"
        if let property { text += " [property \(property)]" }
        if let persistence { text += " [message \(persistence.rawValue)]" }
        if isFatal { text += " [fatal]" } else if isRetriable { text += " [retriable]" }
        return text
    }
}

// MARK: - Internal construction from C

extension KafkaError {
    /// An error for a response code, with librdkafka's description and retriability.
    static func from(_ err: rd_kafka_resp_err_t, context: String) -> KafkaError {
        let text = String(cString: rd_kafka_err2str(err))
        return KafkaError(
            code: Code(rawValue: err.rawValue), message: "\(context): \(text)",
            isRetriable: err.isRetriableByNature)
    }

    /// Takes ownership of an `rd_kafka_error_t` and destroys it.
    static func consuming(_ error: OpaquePointer, context: String) -> KafkaError {
        defer { rd_kafka_error_destroy(error) }
        let code = rd_kafka_error_code(error)
        let text = rd_kafka_error_string(error).map { String(cString: $0) } ?? "unknown error"
        return KafkaError(
            code: Code(rawValue: code.rawValue), message: "\(context): \(text)",
            isRetriable: rd_kafka_error_is_retriable(error) != 0 || code.isRetriableByNature,
            isFatal: rd_kafka_error_is_fatal(error) != 0)
    }

    static func closed(_ what: String) -> KafkaError {
        KafkaError(code: .destroyed, message: "\(what) is closed")
    }
}

extension rd_kafka_resp_err_t {
    /// Errors that go away by themselves: transport, timeouts, leadership and coordinator moves.
    var isRetriableByNature: Bool {
        switch self {
        case RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT,
            RD_KAFKA_RESP_ERR__QUEUE_FULL, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN,
            RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
            RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
            RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND, RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE,
            RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
            RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS, RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
            return true
        default:
            return false
        }
    }
}
