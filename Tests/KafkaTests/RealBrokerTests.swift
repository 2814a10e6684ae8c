import Foundation
import Kafka
import Testing

/// The wrapper against the real embedded broker (Tansu) that `make test` starts.
/// Outside `make test` and CI these are skipped; in CI a missing broker fails them.
@Suite("Kafka wrapper on the real broker", .enabled(if: TestSupport.realBrokerAvailable), .timeLimit(.minutes(2)))
struct RealBrokerTests {
    let servers: String
    let admin: KafkaAdminClient

    init() throws {
        guard let servers = TestSupport.realBroker else {
            throw BrokerMissing()
        }
        self.servers = servers
        admin = try KafkaAdminClient(configuration: TestSupport.client(servers), logger: TestSupport.logger)
    }

    struct BrokerMissing: Error, CustomStringConvertible {
        var description: String { "KAFKA_TEST_BOOTSTRAP_SERVERS is not set: run the tests with `make test`" }
    }

    private func makeTopic(partitions: Int) async throws -> String {
        let topic = TestSupport.uniqueName("test")
        try await admin.createTopics([KafkaNewTopic(name: topic, partitions: partitions)])
        return topic
    }

    @Test("admin creates and lists topics; the project's topics exist")
    func adminTopics() async throws {
        let topic = try await makeTopic(partitions: 3)
        // Creating it again is not an error when existing topics are ignored.
        try await admin.createTopics([KafkaNewTopic(name: topic, partitions: 3)])
        let topics = try await admin.listTopics()
        #expect(topics.first { $0.name == topic }?.partitionCount == 3)
        for expected in ["pension.transfer.dead-letter", "pension.transfer.inbox.440300.origin", "pension.transfer.inbox.510100.destination"] {
            #expect(topics.first { $0.name == expected }?.partitionCount == 6, "scripts/broker creates \(expected)")
        }
    }

    @Test("idempotent producer and consumer group round trip; per-key order kept; commit survives a new member")
    func groupRoundTrip() async throws {
        let topic = try await makeTopic(partitions: 6)
        let producer = try TestSupport.producer(servers)
        var reports: [String: [DeliveryReport]] = [:]
        for index in 0..<30 {
            let key = "case-\(index % 5)"
            let report = try await producer.send(
                KafkaRecord(topic: topic, key: key, value: "\(index)", headers: [KafkaHeader(name: "ce_id", string: "e\(index)")]))
            reports[key, default: []].append(report)
        }
        await producer.close()
        for (_, sent) in reports {
            #expect(Set(sent.map(\.partition)).count == 1, "one key, one partition")
            #expect(sent.map(\.offset) == sent.map(\.offset).sorted())
        }

        let group = TestSupport.uniqueName("group")
        let consumer = try KafkaConsumer(
            configuration: .init(client: TestSupport.client(servers), mode: .group(id: group, topics: [topic])),
            logger: TestSupport.logger)
        var received: [KafkaMessage] = []
        for try await batch in consumer.batches() {
            received += batch.messages
            try consumer.markProcessed(batch.messages)
            if received.count >= 30 { break }
        }
        try await consumer.commit()
        await consumer.close()
        #expect(received.count == 30)
        #expect(Set(received.compactMap { $0.header("ce_id") }).count == 30)
        let byKey = Dictionary(grouping: received, by: { $0.keyString ?? "" })
        for (key, messages) in byKey {
            #expect(messages.compactMap(\.valueString).map { Int($0)! } == messages.compactMap(\.valueString).map { Int($0)! }.sorted(), "order of \(key)")
        }

        // The committed offsets are where a new member of the group starts: at the end.
        let check = try KafkaConsumer(
            configuration: .init(client: TestSupport.client(servers), mode: .group(id: group, topics: [topic])),
            logger: TestSupport.logger)
        let committed = try await check.committed((0..<6).map { TopicPartition(topic, $0) })
        let total = committed.values.compactMap { $0 }.reduce(0, +)
        #expect(total == 30)
        await check.close()
    }

    @Test("a read_committed consumer reads what an idempotent producer wrote")
    func readCommitted() async throws {
        let topic = try await makeTopic(partitions: 1)
        let producer = try TestSupport.producer(servers)
        for index in 0..<5 { _ = try await producer.send(KafkaRecord(topic: topic, key: nil, value: "c\(index)")) }
        await producer.close()
        let consumer = try KafkaConsumer(
            configuration: .init(
                client: TestSupport.client(servers), mode: .assignment([.init(topic: topic, partition: 0, offset: .beginning)]),
                isolationLevel: .readCommitted),
            logger: TestSupport.logger)
        var values: [String] = []
        for try await batch in consumer.replay() { values += batch.messages.compactMap(\.valueString) }
        await consumer.close()
        #expect(values == (0..<5).map { "c\($0)" })
    }

    @Test("explicit-offset replay reads each partition to its end, even after multi-record batches")
    func replayToEnd() async throws {
        let topic = try await makeTopic(partitions: 2)
        // Concurrent sends with linger make librdkafka pack several records per produce request:
        // the case where the broker's watermark query under-reports the end.
        var client = TestSupport.client(servers)
        client.properties = ["linger.ms": "50"]
        let producer = try KafkaProducer(configuration: .init(client: client), logger: TestSupport.logger)
        let reports = try await withThrowingTaskGroup(of: DeliveryReport.self) { group in
            for index in 0..<60 {
                group.addTask { try await producer.send(KafkaRecord(topic: topic, partition: Int32(index % 2), key: nil, value: "r\(index)")) }
            }
            return try await group.reduce(into: [DeliveryReport]()) { $0.append($1) }
        }
        await producer.close()
        #expect(reports.filter { $0.partition == 0 }.count == 30)

        let all = try await TestSupport.readAll(servers, topic: topic, partitions: 2)
        #expect(all.count == 60)
        #expect(Set(all.compactMap(\.valueString)).count == 60)

        // From an explicit offset: only the rest of that partition.
        let consumer = try TestSupport.reader(servers, [.init(topic: topic, partition: 0, offset: .exactly(25))])
        var tail: [KafkaMessage] = []
        var ends: [KafkaBatch.PartitionEnd] = []
        for try await batch in consumer.replay() {
            tail += batch.messages
            ends += batch.partitionEnds
        }
        #expect(tail.map(\.offset) == Array(25..<30))
        #expect(ends.map(\.offset) == [30])
        #expect(consumer.fetchedWatermarks(TopicPartition(topic, 0))?.high == 30)
        await consumer.close()
    }

    @Test("a replay ends at the end fixed when it started, while a producer keeps writing")
    func replayEndsWhileWriting() async throws {
        let topic = try await makeTopic(partitions: 1)
        let producer = try TestSupport.producer(servers)
        for index in 0..<20 { _ = try await producer.send(KafkaRecord(topic: topic, key: nil, value: "before-\(index)")) }
        let writer = Task {
            var index = 0
            while !Task.isCancelled {
                _ = try? await producer.send(KafkaRecord(topic: topic, key: nil, value: "during-\(index)"))
                index += 1
            }
        }
        let consumer = try TestSupport.reader(servers, [.init(topic: topic, partition: 0, offset: .beginning)])
        var count = 0
        for try await batch in consumer.replay(maxCount: 3) { count += batch.messages.count }
        writer.cancel()
        await writer.value
        await consumer.close()
        await producer.close()
        #expect(count >= 20)
    }
}
