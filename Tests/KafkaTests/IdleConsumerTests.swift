import Foundation
@testable import Kafka
import Testing

/// An idle consumer waits in librdkafka; it never polls in a loop.
@Suite("An idle consumer waits", .timeLimit(.minutes(1)))
struct IdleConsumerTests {
    @Test("after a consumer error (a subscribed topic that does not exist) an idle consumer still waits between polls instead of spinning")
    func waitsAfterAnError() async throws {
        let cluster = try KafkaMockCluster()
        var client = TestSupport.client(cluster.bootstrapServers)
        client.properties = ["log_level": "0", "topic.metadata.refresh.interval.ms": "500"]
        let consumer = try KafkaConsumer(configuration: .init(client: client, mode: .group(id: "idle", topics: ["no-such-topic"])), logger: TestSupport.logger)
        let reading = Task { try await consumer.nextBatch(maxCount: 10) }
        try await Task.sleep(for: .seconds(3))
        let polls = consumer.pollCalls.count
        reading.cancel()
        _ = try? await reading.value
        await consumer.close()
        // A waiting consumer polls about ten times a second (100 ms each, plus error events);
        // one that lost its timeout after an error polls hundreds of thousands of times.
        #expect(polls > 0 && polls < 300, "\(polls) polls in 3 s")
    }
}
