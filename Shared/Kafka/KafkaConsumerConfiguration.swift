/// Where a consumer starts reading a partition.
public enum KafkaOffset: Sendable, Hashable {
    /// The oldest record the broker still has.
    case beginning
    /// After the last record: only what is written from now on.
    case end
    /// The group's committed offset (falling back to the reset policy).
    case stored
    /// An exact offset.
    case exactly(Int64)

    var rawValue: Int64 {
        switch self {
        case .beginning: return Int64(RDKafkaOffsets.beginning)
        case .end: return Int64(RDKafkaOffsets.end)
        case .stored: return Int64(RDKafkaOffsets.stored)
        case .exactly(let offset): return offset
        }
    }
}

/// A partition to read from an explicit offset (for replays and audits).
public struct KafkaPartitionStart: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: KafkaOffset

    public init(topic: String, partition: Int32, offset: KafkaOffset) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }
}

/// What the application does around a rebalance. The consumer awaits each hook before it goes
/// on: partitions are only given up after ``onRevoke`` returns, so the application can finish
/// in-flight work and commit first.
public struct KafkaRebalanceHandler: Sendable {
    public var onAssign: @Sendable ([TopicPartition]) async -> Void
    public var onRevoke: @Sendable ([TopicPartition]) async -> Void

    public init(
        onAssign: @escaping @Sendable ([TopicPartition]) async -> Void = { _ in },
        onRevoke: @escaping @Sendable ([TopicPartition]) async -> Void = { _ in }
    ) {
        self.onAssign = onAssign
        self.onRevoke = onRevoke
    }
}

/// Settings of a ``KafkaConsumer``.
public struct KafkaConsumerConfiguration: Sendable {
    /// How partitions come to the consumer.
    public enum Mode: Sendable {
        /// Join consumer group `id` and share `topics`' partitions with its other members.
        case group(id: String, topics: [String])
        /// Read exactly these partitions from these offsets; no group, nothing committed.
        case assignment([KafkaPartitionStart])
    }

    public enum IsolationLevel: String, Sendable {
        /// Only records of committed transactions (and non-transactional ones).
        case readCommitted = "read_committed"
        case readUncommitted = "read_uncommitted"
    }

    /// Where a group starts on a partition it has no committed offset for.
    public enum OffsetReset: String, Sendable {
        case earliest, latest
    }

    public var client: KafkaConfiguration
    public var mode: Mode
    public var isolationLevel: IsolationLevel
    public var offsetReset: OffsetReset
    /// A member missing heartbeats this long is removed from the group (`session.timeout.ms`).
    /// The embedded broker takes about half of it to complete a join, so keep it short there.
    public var sessionTimeout: Duration
    /// Report the end of each partition (`enable.partition.eof`); always on in assignment mode.
    public var reportsPartitionEnd: Bool
    public var rebalance: KafkaRebalanceHandler?
    /// How long librdkafka waits before fetching a partition again once the records it holds
    /// for the application reach its queue limits (`fetch.queue.backoff.ms`). librdkafka's own
    /// default, one second, assumes an application that drains the queue faster than the
    /// fetcher fills it; a consumer that decodes what it reads is slower, so with that default
    /// its queue fills, fetching stops for a second, and the queue runs dry long before the
    /// second is over: reading 500,000 records went at a third of kcat's rate. Short waits cost
    /// one timer per partition while the queue is full (0 would fetch without pause: a core
    /// spent). Any value set in ``KafkaConfiguration/properties`` wins.
    public var fetchQueueBackoff: Duration

    public init(
        client: KafkaConfiguration, mode: Mode, isolationLevel: IsolationLevel = .readCommitted,
        offsetReset: OffsetReset = .earliest, sessionTimeout: Duration = .seconds(6),
        reportsPartitionEnd: Bool = false, rebalance: KafkaRebalanceHandler? = nil,
        fetchQueueBackoff: Duration = .milliseconds(10)
    ) {
        self.client = client
        self.mode = mode
        self.isolationLevel = isolationLevel
        self.offsetReset = offsetReset
        self.sessionTimeout = sessionTimeout
        self.reportsPartitionEnd = reportsPartitionEnd
        self.rebalance = rebalance
        self.fetchQueueBackoff = fetchQueueBackoff
    }

    var librdkafkaProperties: [(String, String)] {
        var base: [(String, String)] = [
            // Offsets move only for what the application marks processed, and only on commit().
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("isolation.level", isolationLevel.rawValue),
            ("auto.offset.reset", offsetReset.rawValue),
            ("session.timeout.ms", String(sessionTimeout.milliseconds)),
            ("heartbeat.interval.ms", String(max(100, sessionTimeout.milliseconds / 6))),
            ("fetch.queue.backoff.ms", String(fetchQueueBackoff.milliseconds)),
        ]
        switch mode {
        case .group(let id, _):
            base.append(("group.id", id))
            base.append(("enable.partition.eof", reportsPartitionEnd ? "true" : "false"))
        case .assignment:
            base.append(("enable.partition.eof", "true"))
            // librdkafka's consumer needs a group id even for explicit assignment; this one is
            // never joined or committed to, so it cannot disturb any real group.
            base.append(("group.id", "assigned-reader-\(UInt64.random(in: 0...UInt64.max))"))
        }
        return base + client.librdkafkaProperties
    }
}
