import CRdKafka
import Dispatch
import Foundation
import Logging
import Metrics
import Synchronization

/// Owns one librdkafka handle (`rd_kafka_t`) and destroys it in `deinit`.
///
/// Everything C-facing lives in this module; this class is where a handle is made from typed
/// settings, where librdkafka's callbacks are routed back to Swift, and where the handle ends.
final class RDKafkaClient: @unchecked Sendable {
    enum Kind { case producer, consumer }

    /// The handle; valid for the lifetime of this object.
    let handle: OpaquePointer
    let context: ClientContext

    /// Creates a handle of `kind` with `properties`, routing logs, statistics and errors (and the
    /// producer's delivery reports / the consumer's rebalances) to `context`.
    ///
    /// - Throws: ``KafkaError`` naming the property librdkafka refused, or when the linked
    ///   librdkafka is below the supported floor.
    init(kind: Kind, properties: [(String, String)], context: ClientContext) throws(KafkaError) {
        try LibrdkafkaVersion.checkSupported()
        let conf = try Self.makeConf(properties)
        rd_kafka_conf_set_log_cb(conf, kafkaLogCallback)
        rd_kafka_conf_set_error_cb(conf, kafkaErrorCallback)
        rd_kafka_conf_set_stats_cb(conf, kafkaStatsCallback)
        switch kind {
        case .producer: rd_kafka_conf_set_dr_msg_cb(conf, kafkaDeliveryCallback)
        case .consumer: rd_kafka_conf_set_rebalance_cb(conf, kafkaRebalanceCallback)
        }
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(context).toOpaque())

        var errstr = [CChar](repeating: 0, count: 512)
        let type = kind == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER
        guard let handle = rd_kafka_new(type, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)  // rd_kafka_new owns the conf only when it succeeds
            throw KafkaError(code: .invalidArgument, message: "creating the client failed: \(String(errorBuffer: errstr))")
        }
        self.handle = handle
        self.context = context
    }

    deinit {
        rd_kafka_destroy(handle)
    }

    /// Builds an `rd_kafka_conf_t`, validating every property.
    static func makeConf(_ properties: [(String, String)]) throws(KafkaError) -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError(code: .unknown, message: "rd_kafka_conf_new failed")
        }
        var errstr = [CChar](repeating: 0, count: 512)
        for (key, value) in properties {
            let result = rd_kafka_conf_set(conf, key, value, &errstr, errstr.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                let reason = result == RD_KAFKA_CONF_UNKNOWN ? "unknown property" : "invalid value \"\(value)\""
                throw KafkaError(
                    code: .invalidArgument, message: "\(reason): \(String(errorBuffer: errstr))", property: key)
            }
        }
        return conf
    }

    /// The fatal error the client entered, if any (idempotent producer sequence loss, fencing).
    func fatalError() -> KafkaError? {
        var errstr = [CChar](repeating: 0, count: 512)
        let code = rd_kafka_fatal_error(handle, &errstr, errstr.count)
        guard code != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        return KafkaError(
            code: .init(rawValue: code.rawValue), message: String(errorBuffer: errstr), isFatal: true)
    }

    /// Broker-reported metadata of the cluster: topics and their partition counts.
    func topics(timeout: Duration) throws(KafkaError) -> [KafkaTopicMetadata] {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(handle, 1, nil, &metadata, Int32(timeout.timeoutMilliseconds))
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError.from(err, context: "reading cluster metadata")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        let md = metadata.pointee
        return (0..<Int(md.topic_cnt)).map { index in
            let topic = md.topics[index]
            return KafkaTopicMetadata(
                name: String(cString: topic.topic), partitionCount: Int(topic.partition_cnt),
                error: topic.err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaError.Code(rawValue: topic.err.rawValue))
        }
    }
}

extension RDKafkaClient {
    /// The cluster id the brokers report (from cached metadata, or one metadata request within
    /// `timeout`); nil when no broker answered or the broker reports none.
    func clusterID(timeout: Duration) -> String? {
        guard let id = rd_kafka_clusterid(handle, Int32(timeout.timeoutMilliseconds)) else { return nil }
        defer { rd_kafka_mem_free(handle, id) }
        let text = String(cString: id)
        return text.isEmpty ? nil : text
    }
}

/// A topic as the cluster's metadata describes it.
public struct KafkaTopicMetadata: Sendable, Hashable {
    public var name: String
    public var partitionCount: Int
    /// Set when the broker reported an error for this topic (e.g. it is still being created).
    public var error: KafkaError.Code?
}

// MARK: - Callback context

/// What librdkafka's callbacks reach: the client's logger and metrics and the handlers of the
/// producer (delivery reports) or consumer (rebalances). Immutable after creation.
final class ClientContext: Sendable {
    let logger: Logger
    let clientID: String
    let onDelivery: (@Sendable (UnsafePointer<rd_kafka_message_t>) -> Void)?
    let onRebalance: (@Sendable (OpaquePointer, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) -> Void)?
    /// The first TLS or SASL failure librdkafka reported: a misconfiguration (a TLS client
    /// talking to a plaintext listener, wrong credentials) that retrying will not cure.
    let securityFailure = Locked<KafkaError?>(nil)
    /// The consumer lag librdkafka last reported, by topic and partition.
    let lag = Locked<[TopicPartition: Int]>([:])

    func noteSecurityFailure(_ failure: KafkaError) {
        securityFailure.withLock { $0 = $0 ?? failure }
    }

    /// A connection whose set-up stalled in the TLS or SASL handshake (a TLS client talking to a
    /// plaintext listener waits there until the set-up timeout) counts as a security failure.
    func noteStalledHandshake(_ text: String) {
        guard text.contains("SSL_HANDSHAKE") || text.contains("AUTH_HANDSHAKE") || text.contains("AUTH_REQ") else { return }
        noteSecurityFailure(KafkaError(code: text.contains("SSL") ? .ssl : .authentication, message: text))
    }

    init(
        logger: Logger, clientID: String,
        onDelivery: (@Sendable (UnsafePointer<rd_kafka_message_t>) -> Void)? = nil,
        onRebalance: (@Sendable (OpaquePointer, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) -> Void)? = nil
    ) {
        self.logger = logger
        self.clientID = clientID
        self.onDelivery = onDelivery
        self.onRebalance = onRebalance
    }

    static func from(_ opaque: UnsafeMutableRawPointer?) -> ClientContext? {
        guard let opaque else { return nil }
        return Unmanaged<ClientContext>.fromOpaque(opaque).takeUnretainedValue()
    }

    /// Feeds librdkafka's statistics JSON to swift-metrics: per-partition consumer lag and the
    /// producer's queue depth.
    func reportStatistics(_ json: Data) {
        guard let root = try? JSONSerialization.jsonObject(with: json) as? [String: Any] else { return }
        if let queued = root["msg_cnt"] as? Int {
            Gauge(label: "kafka_producer_queue_messages", dimensions: [("client_id", clientID)]).record(queued)
        }
        guard let topics = root["topics"] as? [String: Any] else { return }
        for (topic, value) in topics {
            guard let partitions = (value as? [String: Any])?["partitions"] as? [String: Any] else { continue }
            for (partition, stats) in partitions where partition != "-1" {
                // -1 means "not known yet" (no committed offset or no fetch yet): report nothing.
                guard let stats = stats as? [String: Any], let lag = stats["consumer_lag"] as? Int, lag >= 0 else { continue }
                if let number = Int32(partition) { self.lag.withLock { $0[TopicPartition(topic, number)] = lag } }
                Gauge(
                    label: "kafka_consumer_lag",
                    dimensions: [("client_id", clientID), ("topic", topic), ("partition", partition)]
                ).record(lag)
            }
        }
    }
}

// MARK: - C callbacks (no captures: they find their context through the handle's opaque)

private func kafkaLogCallback(
    _ rk: OpaquePointer?, _ level: Int32, _ facility: UnsafePointer<CChar>?, _ buffer: UnsafePointer<CChar>?
) {
    guard let rk, let context = ClientContext.from(rd_kafka_opaque(rk)) else { return }
    // Some librdkafka versions report a connection set-up that timed out in the TLS handshake
    // only here (facility FAIL), the error callback then saying just "all brokers down".
    if level <= 4, let buffer, facility.map({ String(cString: $0) }) == "FAIL" {
        context.noteStalledHandshake(String(cString: buffer))
    }
    let logLevel: Logger.Level
    switch level {
    case ...2: logLevel = .critical
    case 3: logLevel = .error
    case 4: logLevel = .warning
    case 5: logLevel = .notice
    case 6: logLevel = .info
    default: logLevel = .debug
    }
    context.logger.log(
        level: logLevel, "librdkafka",
        metadata: [
            "kafka.facility": .string(facility.map { String(cString: $0) } ?? ""),
            "kafka.message": .string(buffer.map { String(cString: $0) } ?? ""),
        ])
}

private func kafkaErrorCallback(
    _ rk: OpaquePointer?, _ err: Int32, _ reason: UnsafePointer<CChar>?, _ opaque: UnsafeMutableRawPointer?
) {
    guard let context = ClientContext.from(opaque) else { return }
    let code = rd_kafka_resp_err_t(err)
    let text = reason.map { String(cString: $0) } ?? ""
    if code == RD_KAFKA_RESP_ERR__SSL || code == RD_KAFKA_RESP_ERR__AUTHENTICATION {
        context.noteSecurityFailure(KafkaError(code: .init(rawValue: code.rawValue), message: text))
    } else if code == RD_KAFKA_RESP_ERR__TRANSPORT {
        context.noteStalledHandshake(text)
    }
    // Transport errors come and go with brokers; librdkafka retries them by itself.
    let level: Logger.Level = code == RD_KAFKA_RESP_ERR__FATAL ? .critical : .warning
    context.logger.log(
        level: level, "Kafka client error",
        metadata: [
            "kafka.error": .string(String(cString: rd_kafka_err2name(code))),
            "kafka.reason": .string(reason.map { String(cString: $0) } ?? ""),
        ])
}

private func kafkaStatsCallback(
    _ rk: OpaquePointer?, _ json: UnsafeMutablePointer<CChar>?, _ length: Int, _ opaque: UnsafeMutableRawPointer?
) -> Int32 {
    guard let context = ClientContext.from(opaque), let json else { return 0 }
    context.reportStatistics(Data(bytes: json, count: length))
    return 0  // librdkafka frees the JSON
}

private func kafkaDeliveryCallback(
    _ rk: OpaquePointer?, _ message: UnsafePointer<rd_kafka_message_t>?, _ opaque: UnsafeMutableRawPointer?
) {
    guard let context = ClientContext.from(opaque), let message else { return }
    context.onDelivery?(message)
}

private func kafkaRebalanceCallback(
    _ rk: OpaquePointer?, _ err: rd_kafka_resp_err_t,
    _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, _ opaque: UnsafeMutableRawPointer?
) {
    guard let rk, let context = ClientContext.from(opaque) else { return }
    context.onRebalance?(rk, err, partitions)
}

// MARK: - Running blocking calls off the cooperative pool

/// Runs librdkafka calls that block (flush, commit, metadata, seeks) on a dispatch queue of their
/// own, never on Swift's cooperative thread pool.
enum Blocking {
    private static let queue = DispatchQueue(label: "kafka.blocking", attributes: .concurrent)

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}

/// A raw pointer that crosses to the threads that own the handle; the owning object keeps it alive.
struct HandlePointer: @unchecked Sendable {
    let raw: OpaquePointer
}

extension String {
    /// Text of a NUL-terminated C buffer that librdkafka wrote an error into.
    init(errorBuffer: [CChar]) {
        let bytes = errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        self.init(decoding: bytes, as: UTF8.self)
    }
}
