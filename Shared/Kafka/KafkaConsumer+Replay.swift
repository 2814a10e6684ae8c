import Synchronization

extension KafkaConsumer {
    /// Reads the assigned partitions up to the end each had when reading began, then finishes.
    ///
    /// This is the way to ask "everything up to the end" on any broker, including the embedded
    /// one whose watermark query under-reports partition ends: the end of each partition is the
    /// high watermark of its first *fetch response* (or its first partition-end report), never
    /// a ListOffsets answer. Records written after that are not returned, so a replay ends even
    /// while producers keep writing. Only for consumers in assignment mode.
    ///
    /// - Throws: from iteration, ``KafkaError`` (``KafkaError/Code/state``) when the consumer
    ///   is a group member.
    public func replay(maxCount: Int = 500) -> Replay {
        Replay(consumer: self, maxCount: maxCount)
    }

    /// An `AsyncSequence` of ``KafkaBatch``es ending at each partition's end; see ``replay(maxCount:)``.
    /// Each partition's end is reported once, in ``KafkaBatch/partitionEnds``, when it is reached.
    public struct Replay: AsyncSequence, Sendable {
        public typealias Element = KafkaBatch
        let consumer: KafkaConsumer
        let maxCount: Int

        public struct AsyncIterator: AsyncIteratorProtocol {
            let consumer: KafkaConsumer
            let maxCount: Int
            var started = false
            var remaining: Set<TopicPartition> = []
            var ends: [TopicPartition: Int64] = [:]

            public mutating func next() async throws -> KafkaBatch? {
                if !started {
                    started = true
                    guard case .assignment(let starts) = consumer.configurationMode else {
                        throw KafkaError(code: .state, message: "replay() needs a consumer in assignment mode")
                    }
                    remaining = Set(starts.map { TopicPartition($0.topic, $0.partition) })
                }
                while !remaining.isEmpty {
                    guard let batch = try await consumer.nextBatch(maxCount: maxCount) else { return nil }
                    var result = KafkaBatch(messages: [], partitionEnds: [])
                    var finished: [TopicPartition] = []
                    for message in batch.messages {
                        let partition = message.topicPartition
                        guard remaining.contains(partition) else { continue }
                        let end = endOf(partition)
                        if let end, message.offset >= end { continue }
                        result.messages.append(message)
                        if let end, message.offset + 1 >= end { finished.append(partition) ; remaining.remove(partition) }
                    }
                    for reached in batch.partitionEnds where remaining.contains(reached.topicPartition) {
                        if ends[reached.topicPartition] == nil { ends[reached.topicPartition] = reached.offset }
                        remaining.remove(reached.topicPartition)
                        finished.append(reached.topicPartition)
                    }
                    for partition in finished {
                        result.partitionEnds.append(.init(topicPartition: partition, offset: ends[partition] ?? 0))
                    }
                    // Stop fetching what is done, so later writes do not pile up in memory.
                    if !finished.isEmpty { try consumer.pause(finished) }
                    if !result.messages.isEmpty || !result.partitionEnds.isEmpty { return result }
                }
                return nil
            }

            /// The end fixed for `partition`: the high watermark of its first fetch response.
            private mutating func endOf(_ partition: TopicPartition) -> Int64? {
                if let end = ends[partition] { return end }
                guard let fetched = consumer.fetchedWatermarks(partition) else { return nil }
                ends[partition] = fetched.high
                return fetched.high
            }
        }

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(consumer: consumer, maxCount: maxCount) }
    }
}
