import CRdKafka
import Dispatch
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// librdkafka's logical offsets (C macros Swift does not import).
enum RDKafkaOffsets {
    static let beginning: Int64 = -2
    static let end: Int64 = -1
    static let stored: Int64 = -1000
    static let invalid: Int64 = -1001
}

/// What one poll of the consumer yields: the records ready now, and the partitions whose end was
/// reached (only when partition-end reporting is on).
public struct KafkaBatch: Sendable {
    public var messages: [KafkaMessage]
    /// Partitions read to their end, with the offset the next record will get.
    public var partitionEnds: [PartitionEnd]

    public struct PartitionEnd: Sendable, Hashable {
        public var topicPartition: TopicPartition
        /// The end of the partition: the offset after its last record.
        public var offset: Int64
    }
}

/// A Kafka consumer: group member or explicit-partition reader.
///
/// Reading is pull-driven: each `next()` of ``batches(maxCount:)`` (or ``messages``) polls
/// librdkafka on the consumer's own dispatch queue (never the cooperative pool) and returns every
/// record that is ready, up to `maxCount`; it waits only when nothing is. Rebalances are served
/// inside that poll, and the ``KafkaRebalanceHandler`` hooks are awaited before partitions are
/// assigned or given up.
///
/// Offsets are never committed by themselves: ``markProcessed(_:)`` stores an offset and
/// ``commit()`` commits what was stored. A record that was not marked is redelivered to whichever
/// member reads the partition next.
///
/// As a ServiceLifecycle `Service`, ``run()`` returns on graceful shutdown after ``close()``:
/// sequences end, the revoke hook runs, stored offsets are committed, and the member leaves.
public final class KafkaConsumer: Service, Sendable {
    private let client: RDKafkaClient
    private let configuration: KafkaConsumerConfiguration
    var configurationMode: KafkaConsumerConfiguration.Mode { configuration.mode }
    private let logger: Logger
    private let pollQueue: DispatchQueue
    private let closing = StopFlag()
    private let closed = StopFlag()
    private let consumed: Counter
    /// Records delivered by polls so far, per topic.
    private let fetched = Mutex<[String: Int]>([:])
    /// How many times librdkafka was polled (tests check that an idle consumer waits).
    let pollCalls = PollCounter()
    /// Records taken by a poll that was cancelled, served first by the next one.
    private let kept = Mutex(KafkaBatch(messages: [], partitionEnds: []))
    /// Set when librdkafka refused an assignment change: the member no longer reads what the
    /// group believes it reads, so every later read fails with this error.
    private let rebalanceFailure: Locked<KafkaError?>
    /// Since when this group member has been waiting for the group to give it partitions; nil
    /// while it holds an assignment (an empty one included) and for an assigned reader.
    private let awaitingAssignment: Locked<ContinuousClock.Instant?>

    /// Creates the consumer and subscribes or assigns as `configuration.mode` says.
    /// - Throws: ``KafkaError`` for an invalid property, a failed subscription or assignment, or
    ///   a librdkafka below the floor.
    public init(configuration: KafkaConsumerConfiguration, logger: Logger) throws {
        let rebalance = configuration.rebalance
        let rebalanceLogger = logger
        let failure = Locked<KafkaError?>(nil)
        let awaiting = Locked<ContinuousClock.Instant?>(nil)
        if case .group = configuration.mode { awaiting.withLock { $0 = .now } }
        let context = ClientContext(
            logger: logger, clientID: configuration.client.clientID,
            onRebalance: { rk, err, partitions in
                awaiting.withLock { $0 = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? nil : ($0 ?? .now) }
                if let error = KafkaConsumer.rebalance(rk, err, partitions, handler: rebalance, logger: rebalanceLogger) {
                    failure.withLock { $0 = $0 ?? error }
                }
            })
        self.rebalanceFailure = failure
        self.awaitingAssignment = awaiting
        self.client = try RDKafkaClient(kind: .consumer, properties: configuration.librdkafkaProperties, context: context)
        self.configuration = configuration
        self.logger = logger
        self.pollQueue = DispatchQueue(label: "kafka.consumer.\(configuration.client.clientID)")
        self.consumed = Counter(label: "kafka_messages_consumed_total", dimensions: [("client_id", configuration.client.clientID)])
        // Everything the client does (rebalances, statistics, errors) is served by consumer polls.
        rd_kafka_poll_set_consumer(client.handle)
        switch configuration.mode {
        case .group(_, let topics):
            let list = PartitionList(topics.map { ($0, RD_KAFKA_PARTITION_UA, RDKafkaOffsets.invalid) })
            let err = rd_kafka_subscribe(client.handle, list.pointer)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError.from(err, context: "subscribing to \(topics.joined(separator: ", "))")
            }
        case .assignment(let starts):
            let list = PartitionList(starts.map { ($0.topic, $0.partition, $0.offset.rawValue) })
            let err = rd_kafka_assign(client.handle, list.pointer)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError.from(err, context: "assigning \(list.describe())")
            }
        }
    }

    deinit {
        if !closed.isSet {
            // close() is the orderly way. Here, never block the thread that dropped the last
            // reference (it may be one of Swift's cooperative threads): close on the poll queue,
            // which keeps the client, and so the handle, alive until it is done.
            let client = self.client
            pollQueue.async { _ = rd_kafka_consumer_close(client.handle) }
        }
    }

    // MARK: - Reading

    /// Batches of ready records, ending when the consumer closes.
    /// - Parameter maxCount: the most records one batch holds.
    public func batches(maxCount: Int = 500) -> Batches {
        Batches(consumer: self, maxCount: max(1, maxCount))
    }

    /// Records one by one, ending when the consumer closes.
    public var messages: Messages { Messages(batches: batches()) }

    /// Polls until at least one record or partition end is ready (or the consumer closes, giving
    /// `nil`), then takes whatever else is ready up to `maxCount`.
    ///
    /// Cancellation ends the wait with `CancellationError`. Records a cancelled poll had already
    /// taken from librdkafka are not lost: they are kept and returned first by the next call, so
    /// no later record of their partition can be marked processed (and committed) past them.
    func nextBatch(maxCount: Int) async throws -> KafkaBatch? {
        if let kept = takeKept(maxCount: maxCount) { return kept }
        if let failure = rebalanceFailure.withLock({ $0 }) { throw failure }
        let cancelled = StopFlag()
        let handle = HandlePointer(raw: client.handle)
        let (closing, logger, pollQueue, pollCalls) = (self.closing, self.logger, self.pollQueue, self.pollCalls)
        let result: Result<KafkaBatch?, any Error> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                pollQueue.async {
                    continuation.resume(
                        returning: Result {
                            try KafkaConsumer.poll(
                                handle, maxCount: maxCount, stop: { closing.isSet || cancelled.isSet }, logger: logger, calls: pollCalls)
                        })
                }
            }
        } onCancel: {
            _ = cancelled.set()
        }
        let batch = try result.get()
        if let batch, !batch.messages.isEmpty {
            consumed.increment(by: batch.messages.count)
            // Counted per run of records of one topic: one lookup per run, not per record.
            fetched.withLock { counts in
                var runStart = batch.messages.startIndex
                for index in batch.messages.indices.dropFirst() where batch.messages[index].topic != batch.messages[runStart].topic {
                    counts[batch.messages[runStart].topic, default: 0] += index - runStart
                    runStart = index
                }
                counts[batch.messages[runStart].topic, default: 0] += batch.messages.endIndex - runStart
            }
        }
        if cancelled.isSet || Task.isCancelled {
            if let batch, !batch.messages.isEmpty || !batch.partitionEnds.isEmpty { keep(batch) }
            throw CancellationError()
        }
        if let failure = rebalanceFailure.withLock({ $0 }) {
            if let batch { keep(batch) }
            throw failure
        }
        return batch
    }

    private func keep(_ batch: KafkaBatch) {
        kept.withLock { kept in
            kept.messages.insert(contentsOf: batch.messages, at: 0)
            kept.partitionEnds.insert(contentsOf: batch.partitionEnds, at: 0)
        }
    }

    private func takeKept(maxCount: Int) -> KafkaBatch? {
        kept.withLock { kept -> KafkaBatch? in
            guard !kept.messages.isEmpty || !kept.partitionEnds.isEmpty else { return nil }
            let count = min(maxCount, kept.messages.count)
            let batch = KafkaBatch(
                messages: Array(kept.messages.prefix(count)),
                partitionEnds: count == kept.messages.count ? kept.partitionEnds : [])
            kept.messages.removeFirst(count)
            if kept.messages.isEmpty { kept.partitionEnds = [] }
            return batch
        }
    }

    /// Runs on the poll queue. The 100 ms timeout only bounds how soon a close or cancellation is
    /// noticed: `rd_kafka_consumer_poll` returns the moment a record is ready. A stop request
    /// after records were taken returns them (never drops them); only an empty poll gives `nil`.
    private static func poll(
        _ handle: HandlePointer, maxCount: Int, stop: () -> Bool, logger: Logger, calls: PollCounter
    ) throws -> KafkaBatch? {
        var batch = KafkaBatch(messages: [], partitionEnds: [])
        var timeout: Int32 = 100
        // A batch mostly comes from one or a few topics: their names are made once per poll and
        // shared by the records (one retain instead of one string per record).
        var topicNames = TopicNames()
        while batch.messages.count < maxCount {
            if stop() { return batch.messages.isEmpty && batch.partitionEnds.isEmpty ? nil : batch }
            calls.value.add(1, ordering: .relaxed)
            guard let message = rd_kafka_consumer_poll(handle.raw, timeout) else {
                if batch.messages.isEmpty && batch.partitionEnds.isEmpty {
                    // Nothing yet: wait again. (After an error event the timeout must go back up,
                    // or an idle consumer would poll without waiting: a core spinning.)
                    timeout = 100
                    continue
                }
                break
            }
            defer { rd_kafka_message_destroy(message) }
            let err = message.pointee.err
            switch err {
            case RD_KAFKA_RESP_ERR_NO_ERROR:
                batch.messages.append(KafkaMessage(message, topic: topicNames.name(of: message.pointee.rkt)))
            case RD_KAFKA_RESP_ERR__PARTITION_EOF:
                let topic = topicNames.name(of: message.pointee.rkt)
                batch.partitionEnds.append(
                    .init(topicPartition: TopicPartition(topic, message.pointee.partition), offset: message.pointee.offset))
            default:
                var errstr = [CChar](repeating: 0, count: 512)
                let fatal = rd_kafka_fatal_error(handle.raw, &errstr, errstr.count)
                if fatal != RD_KAFKA_RESP_ERR_NO_ERROR {
                    throw KafkaError(code: .init(rawValue: fatal.rawValue), message: String(errorBuffer: errstr), isFatal: true)
                }
                // Consumer errors (unknown topic, transport) are reported and retried by librdkafka.
                logger.warning(
                    "Kafka consumer error",
                    metadata: [
                        "kafka.error": .string(String(cString: rd_kafka_err2name(err))),
                        "kafka.reason": .string(String(cString: rd_kafka_err2str(err))),
                    ])
            }
            timeout = 0  // take what is ready, wait for nothing more
        }
        return batch
    }

    /// The first TLS handshake or SASL authentication failure this consumer met, if any.
    /// How many records polls have delivered from each topic since the consumer was made: what
    /// this client actually fetched, whatever the code above it then did with the records.
    public var fetchedRecords: [String: Int] { fetched.withLock { $0 } }

    public var securityFailure: KafkaError? { client.context.securityFailure.withLock { $0 } }

    /// The lag librdkafka last reported per assigned partition (with `statistics.interval.ms`
    /// set; empty before the first report).
    public var lag: [TopicPartition: Int] { client.context.lag.withLock { $0 } }

    /// The fatal error the consumer entered, if any (for health checks).
    public var fatalError: KafkaError? { client.fatalError() }

    // MARK: - Offsets

    /// Marks `messages` processed: their partitions' next committed offset moves past them.
    /// Nothing reaches the broker until ``commit()``.
    /// - Throws: ``KafkaError`` (``KafkaError/Code/state``) when a partition is no longer assigned
    ///   to this member; its records are then redelivered to the new owner.
    public func markProcessed(_ messages: [KafkaMessage]) throws {
        // Records of one partition come in runs: the table is touched once per run, not per record.
        var next: [TopicPartition: Int64] = [:]
        var run: (partition: TopicPartition, next: Int64)?
        for message in messages {
            if let current = run, current.partition.partition == message.partition, current.partition.topic == message.topic {
                run = (current.partition, max(current.next, message.offset + 1))
            } else {
                if let current = run { next[current.partition] = max(next[current.partition] ?? 0, current.next) }
                run = (message.topicPartition, message.offset + 1)
            }
        }
        if let current = run { next[current.partition] = max(next[current.partition] ?? 0, current.next) }
        guard !next.isEmpty else { return }
        let list = PartitionList(next.map { ($0.key.topic, $0.key.partition, $0.value) })
        let err = rd_kafka_offsets_store(client.handle, list.pointer)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError.from(err, context: "storing offsets \(list.describe())")
        }
    }

    public func markProcessed(_ message: KafkaMessage) throws {
        try markProcessed([message])
    }

    /// Commits the offsets stored by ``markProcessed(_:)``.
    ///
    /// - Parameter waitForBroker: `true` (the default) returns once the broker answered, and
    ///   throws its error. `false` sends the commit and returns at once (one round trip less per
    ///   batch); a commit lost that way only means the records since the last one are delivered
    ///   again after a restart or rebalance, which a consumer that deduplicates absorbs. Commit
    ///   with the default before closing or in a rebalance hook.
    public func commit(waitForBroker: Bool = true) async throws {
        let handle = HandlePointer(raw: client.handle)
        if !waitForBroker {
            let err = rd_kafka_commit(handle.raw, nil, 1)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__NO_OFFSET else {
                throw KafkaError.from(err, context: "committing offsets")
            }
            return
        }
        let err = try await Blocking.run { rd_kafka_commit(handle.raw, nil, 0) }
        // Nothing stored since the last commit is not a failure.
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__NO_OFFSET else {
            throw KafkaError.from(err, context: "committing offsets")
        }
    }

    /// The committed offsets of `partitions` for this group (`nil` where none is committed).
    public func committed(_ partitions: [TopicPartition], timeout: Duration = .seconds(10)) async throws -> [TopicPartition: Int64?] {
        let handle = HandlePointer(raw: client.handle)
        return try await Blocking.run {
            let list = PartitionList(partitions.map { ($0.topic, $0.partition, RDKafkaOffsets.invalid) })
            let err = rd_kafka_committed(handle.raw, list.pointer, timeout.timeoutMilliseconds)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err, context: "reading committed offsets") }
            return Dictionary(uniqueKeysWithValues: list.entries.map { ($0.topicPartition, $0.offset >= 0 ? $0.offset : nil) })
        }
    }

    // MARK: - Flow control

    /// The partitions this member reads now.
    /// How long this group member has been waiting for the group to give it partitions, since it
    /// subscribed or last gave them up; nil while it holds an assignment (an empty one, when the
    /// group has more members than partitions, included) and for a consumer of assigned partitions.
    /// A wait far beyond the session timeout means the group coordinator is not completing the
    /// rebalance.
    public var waitingForAssignment: Duration? {
        awaitingAssignment.withLock { $0 }.map { ContinuousClock.now - $0 }
    }

    /// Leaves the group and joins it again as a new member (a subscribed consumer only): for a
    /// member whose rebalance the coordinator never completes. What it held is revoked first
    /// (the rebalance handler runs as usual).
    public func rejoin() async throws {
        guard case .group(_, let topics) = configuration.mode else { return }
        // Both calls can wait on the group coordinator: off the cooperative pool.
        let handle = HandlePointer(raw: client.handle)
        try await Blocking.run {
            var err = rd_kafka_unsubscribe(handle.raw)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err, context: "leaving the group to join again") }
            let list = PartitionList(topics.map { ($0, RD_KAFKA_PARTITION_UA, RDKafkaOffsets.invalid) })
            err = rd_kafka_subscribe(handle.raw, list.pointer)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err, context: "subscribing again to \(topics.joined(separator: ", "))") }
        }
        awaitingAssignment.withLock { $0 = .now }
    }

    public func assignment() throws -> [TopicPartition] {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        let err = rd_kafka_assignment(client.handle, &list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { throw KafkaError.from(err, context: "reading the assignment") }
        return PartitionList(owning: list).entries.map(\.topicPartition).sorted()
    }

    /// Stops fetching `partitions` until ``resume(_:)``; the membership is kept.
    public func pause(_ partitions: [TopicPartition]) throws {
        let list = PartitionList(partitions.map { ($0.topic, $0.partition, RDKafkaOffsets.invalid) })
        let err = rd_kafka_pause_partitions(client.handle, list.pointer)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err, context: "pausing \(list.describe())") }
    }

    public func resume(_ partitions: [TopicPartition]) throws {
        let list = PartitionList(partitions.map { ($0.topic, $0.partition, RDKafkaOffsets.invalid) })
        let err = rd_kafka_resume_partitions(client.handle, list.pointer)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err, context: "resuming \(list.describe())") }
    }

    /// Moves the read position of an assigned partition; the next batch starts there.
    public func seek(_ partition: TopicPartition, to offset: KafkaOffset, timeout: Duration = .seconds(10)) async throws {
        let handle = HandlePointer(raw: client.handle)
        try await Blocking.run {
            let list = PartitionList([(partition.topic, partition.partition, offset.rawValue)])
            if let error = rd_kafka_seek_partitions(handle.raw, list.pointer, timeout.timeoutMilliseconds) {
                throw KafkaError.consuming(error, context: "seeking \(partition)")
            }
            if let failed = list.entries.first(where: { $0.error != RD_KAFKA_RESP_ERR_NO_ERROR }) {
                throw KafkaError.from(failed.error, context: "seeking \(partition)")
            }
        }
    }

    // MARK: - Watermarks and time

    /// The partition's low and high watermarks as the last *fetch response* reported them
    /// (no request is sent). On the embedded broker this is the trustworthy end of a partition;
    /// `nil` until the partition has been fetched.
    public func fetchedWatermarks(_ partition: TopicPartition) -> (low: Int64, high: Int64)? {
        var low: Int64 = RDKafkaOffsets.invalid
        var high: Int64 = RDKafkaOffsets.invalid
        let err = rd_kafka_get_watermark_offsets(client.handle, partition.topic, partition.partition, &low, &high)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 else { return nil }
        return (max(low, 0), high)
    }

    /// Asks the partition leader for its watermarks (ListOffsets).
    ///
    /// The embedded broker (Tansu) under-reports the high watermark after multi-record batches:
    /// to find the end of a partition read it with ``replay()`` (partition EOF) and use this only
    /// to cross-check.
    public func queryWatermarks(_ partition: TopicPartition, timeout: Duration = .seconds(10)) async throws -> (low: Int64, high: Int64) {
        let handle = HandlePointer(raw: client.handle)
        return try await Blocking.run {
            var low: Int64 = 0
            var high: Int64 = 0
            let err = rd_kafka_query_watermark_offsets(
                handle.raw, partition.topic, partition.partition, &low, &high, timeout.timeoutMilliseconds)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err, context: "querying watermarks of \(partition)") }
            return (low, high)
        }
    }

    /// The earliest offset whose timestamp is at or after each given time (`nil`: no such record).
    /// Brokers may answer this wrongly (the embedded one does): check the timestamps of what you read.
    public func offsets(forTimes times: [TopicPartition: Date], timeout: Duration = .seconds(10)) async throws -> [TopicPartition: Int64?] {
        let handle = HandlePointer(raw: client.handle)
        return try await Blocking.run {
            let list = PartitionList(times.map { ($0.key.topic, $0.key.partition, Int64($0.value.timeIntervalSince1970 * 1000)) })
            let err = rd_kafka_offsets_for_times(handle.raw, list.pointer, timeout.timeoutMilliseconds)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err, context: "looking up offsets by time") }
            var result: [TopicPartition: Int64?] = [:]
            for entry in list.entries {
                guard entry.error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    throw KafkaError.from(entry.error, context: "looking up offsets by time for \(entry.topicPartition)")
                }
                result[entry.topicPartition] = entry.offset >= 0 ? entry.offset : nil
            }
            return result
        }
    }

    // MARK: - Lifecycle

    /// Ends the sequences, runs the revoke hook (which may commit), commits what is stored and
    /// leaves the group. Idempotent.
    public func close() async {
        _ = closing.set()
        guard closed.set() else { return }
        let handle = HandlePointer(raw: client.handle)
        let isGroup: Bool
        if case .group = configuration.mode { isGroup = true } else { isGroup = false }
        let logger = self.logger
        // On the poll queue: it is where rebalance callbacks (the revoke during close) are served,
        // and it waits here until any poll in progress has noticed `closing`.
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            pollQueue.async {
                if isGroup {
                    let err = rd_kafka_commit(handle.raw, nil, 0)
                    if err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET {
                        logger.warning("Commit at close failed", metadata: ["kafka.error": .string(String(cString: rd_kafka_err2name(err)))])
                    }
                }
                _ = rd_kafka_consumer_close(handle.raw)
                continuation.resume()
            }
        }
    }

    /// Serves until graceful shutdown or cancellation, then ``close()``s.
    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }

    // MARK: - Rebalance

    /// Runs on the poll queue inside `rd_kafka_consumer_poll`. Blocking here is intended: the
    /// assignment must not change until the application's hook has finished.
    /// - Returns: the error when librdkafka refused the assignment change.
    private static func rebalance(
        _ rk: OpaquePointer, _ err: rd_kafka_resp_err_t, _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
        handler: KafkaRebalanceHandler?, logger: Logger
    ) -> KafkaError? {
        let cooperative = String(cString: rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE"
        let changed = partitions.map { PartitionList(borrowing: $0).entries.map(\.topicPartition).sorted() } ?? []
        let described = changed.map(\.description).joined(separator: ",")
        var failure: KafkaError?
        func check(_ result: rd_kafka_resp_err_t, _ what: String) {
            guard result != RD_KAFKA_RESP_ERR_NO_ERROR else { return }
            failure = KafkaError.from(result, context: "\(what) \(described)")
        }
        func check(_ error: OpaquePointer?, _ what: String) {
            guard let error else { return }
            failure = KafkaError.consuming(error, context: "\(what) \(described)")
        }
        switch err {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            logger.info("Partitions assigned", metadata: ["kafka.partitions": .string(described)])
            if cooperative { check(rd_kafka_incremental_assign(rk, partitions), "assigning") } else { check(rd_kafka_assign(rk, partitions), "assigning") }
            if failure == nil, let handler { waitFor { await handler.onAssign(changed) } }
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            logger.info("Partitions revoked", metadata: ["kafka.partitions": .string(described)])
            if let handler { waitFor { await handler.onRevoke(changed) } }
            // What was marked processed leaves with the partitions: a commit requested without
            // waiting (commit(waitForBroker: false)) may still be in flight, so the stored offsets
            // are committed, awaited, before the next owner starts from them.
            let committed = rd_kafka_commit(rk, nil, 0)
            if committed != RD_KAFKA_RESP_ERR_NO_ERROR && committed != RD_KAFKA_RESP_ERR__NO_OFFSET {
                logger.warning(
                    "Offsets not committed before the partitions were given up; the next owner reads those records again",
                    metadata: ["kafka.error": .string(String(cString: rd_kafka_err2name(committed)))])
            }
            if cooperative { check(rd_kafka_incremental_unassign(rk, partitions), "unassigning") } else { check(rd_kafka_assign(rk, nil), "unassigning") }
        default:
            logger.error("Rebalance error", metadata: ["kafka.error": .string(String(cString: rd_kafka_err2name(err)))])
            check(rd_kafka_assign(rk, nil), "clearing the assignment after a rebalance error")
        }
        if let failure {
            // Closing (or a lost membership) makes librdkafka refuse changes that no longer
            // matter; anything else leaves the member reading the wrong partitions.
            if rd_kafka_assignment_lost(rk) != 0 || failure.code == .destroyed { return nil }
            logger.error("Assignment change refused", metadata: ["error": .string(failure.description)])
        }
        return failure
    }

    /// Blocks the calling (non-cooperative) thread until `body` finishes on the Swift runtime.
    private static func waitFor(_ body: @escaping @Sendable () async -> Void) {
        let done = DispatchSemaphore(value: 0)
        Task {
            await body()
            done.signal()
        }
        done.wait()
    }
}

// MARK: - Sequences

extension KafkaConsumer {
    /// An `AsyncSequence` of ``KafkaBatch``es; see ``KafkaConsumer/batches(maxCount:)``.
    public struct Batches: AsyncSequence, Sendable {
        public typealias Element = KafkaBatch
        let consumer: KafkaConsumer
        let maxCount: Int

        public struct AsyncIterator: AsyncIteratorProtocol {
            let consumer: KafkaConsumer
            let maxCount: Int

            public mutating func next() async throws -> KafkaBatch? {
                try await consumer.nextBatch(maxCount: maxCount)
            }
        }

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(consumer: consumer, maxCount: maxCount) }
    }

    /// An `AsyncSequence` of single ``KafkaMessage``s; see ``KafkaConsumer/messages``.
    public struct Messages: AsyncSequence, Sendable {
        public typealias Element = KafkaMessage
        let batches: Batches

        public struct AsyncIterator: AsyncIteratorProtocol {
            var batches: Batches.AsyncIterator
            var buffered: ArraySlice<KafkaMessage> = []

            public mutating func next() async throws -> KafkaMessage? {
                while buffered.isEmpty {
                    guard let batch = try await batches.next() else { return nil }
                    buffered = batch.messages[...]
                }
                return buffered.popFirst()
            }
        }

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(batches: batches.makeAsyncIterator()) }
    }
}

// MARK: - Conversions

/// The names of the topics one poll met, each made once and shared by its records. Matched by
/// the name's bytes, not by librdkafka's topic handle: a handle freed in a rebalance served by the
/// poll could come back at the same address for another topic.
struct TopicNames {
    private var last: String?
    private var seen: [String] = []

    mutating func name(of handle: OpaquePointer?) -> String {
        guard let handle, let cName = rd_kafka_topic_name(handle) else { return "" }
        // A native string's storage ends with a NUL: withCString lends it without copying.
        if let last, last.withCString({ strcmp($0, cName) }) == 0 { return last }
        if let known = seen.first(where: { $0.withCString { strcmp($0, cName) } == 0 }) {
            last = known
            return known
        }
        let name = String(cString: cName)
        seen.append(name)
        last = name
        return name
    }
}

extension KafkaMessage {
    init(_ message: UnsafeMutablePointer<rd_kafka_message_t>, topic: String) {
        let m = message.pointee
        let key = m.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.key_len)) }
        let value = m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.len)) }
        var headers: [KafkaHeader] = []
        var raw: OpaquePointer?
        if rd_kafka_message_headers(message, &raw) == RD_KAFKA_RESP_ERR_NO_ERROR, let raw {
            var index = 0
            var name: UnsafePointer<CChar>?
            var bytes: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(raw, index, &name, &bytes, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                headers.append(
                    KafkaHeader(
                        name: name.map { String(cString: $0) } ?? "",
                        value: bytes.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }))
                index += 1
            }
        }
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let milliseconds = rd_kafka_message_timestamp(message, &type)
        let timestamp = type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : Date(timeIntervalSince1970: Double(milliseconds) / 1000)
        self.init(
            topic: topic, partition: m.partition, offset: m.offset, key: key, value: value, headers: headers,
            timestamp: timestamp)
    }
}

/// An `rd_kafka_topic_partition_list_t`, destroyed with this object when it owns it.
final class PartitionList {
    struct Entry {
        var topicPartition: TopicPartition
        var offset: Int64
        var error: rd_kafka_resp_err_t
    }

    let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
    private let owned: Bool

    init(_ entries: [(String, Int32, Int64)]) {
        pointer = rd_kafka_topic_partition_list_new(Int32(max(entries.count, 1)))
        owned = true
        for (topic, partition, offset) in entries {
            rd_kafka_topic_partition_list_add(pointer, topic, partition).pointee.offset = offset
        }
    }

    init(owning pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        self.pointer = pointer
        owned = true
    }

    init(borrowing pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        self.pointer = pointer
        owned = false
    }

    deinit {
        if owned { rd_kafka_topic_partition_list_destroy(pointer) }
    }

    var entries: [Entry] {
        (0..<Int(pointer.pointee.cnt)).map { index in
            let element = pointer.pointee.elems[index]
            return Entry(
                topicPartition: TopicPartition(String(cString: element.topic), element.partition), offset: element.offset,
                error: element.err)
        }
    }

    func describe() -> String {
        entries.map { "\($0.topicPartition)@\($0.offset)" }.joined(separator: ",")
    }
}

/// Counts polls (shared with the poll queue's closures).
final class PollCounter: Sendable {
    let value = Atomic<Int>(0)
    var count: Int { value.load(ordering: .relaxed) }
}
