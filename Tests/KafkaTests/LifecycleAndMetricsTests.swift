import Foundation
import Kafka
import Logging
import Metrics
import MetricsTestKit
import ServiceLifecycle
import Synchronization
import Testing

/// One metrics backend for the whole test process (swift-metrics bootstraps once).
let testMetrics: TestMetrics = {
    let metrics = TestMetrics()
    MetricsSystem.bootstrap(metrics)
    return metrics
}()

@Suite("Kafka clients as services, and their metrics", .timeLimit(.minutes(2)))
struct LifecycleAndMetricsTests {
    @Test("graceful shutdown of a ServiceGroup flushes the producer and closes the consumer")
    func gracefulShutdown() async throws {
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("life", partitions: 1)
        let producer = try TestSupport.producer(cluster.bootstrapServers)
        let consumer = try TestSupport.reader(cluster.bootstrapServers, [.init(topic: "life", partition: 0, offset: .beginning)])
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: producer), .init(service: consumer)], logger: TestSupport.logger))
        let running = Task { try await group.run() }

        let report = try await producer.send(KafkaRecord(topic: "life", key: "k", value: "before shutdown"))
        #expect(report.offset == 0)
        let received = Received()
        let reader = Task { () -> [String] in
            for try await message in consumer.messages { received.values.withLock { $0.append(message.valueString ?? "") } }
            return received.values.withLock { $0 }  // the sequence ends when the consumer closes
        }
        // Shut down once the record is in hand (the test is about what a stop does, not a race).
        try await TestSupport.within(.seconds(20)) {
            while received.values.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(20)) }
        }
        await group.triggerGracefulShutdown()
        try await TestSupport.within(.seconds(20)) { try await running.value }
        let values = try await TestSupport.within(.seconds(5)) { try await reader.value }
        #expect(values == ["before shutdown"])

        // A closed producer refuses sends at once, saying so.
        let error = await #expect(throws: KafkaError.self) {
            _ = try await producer.send(KafkaRecord(topic: "life", key: "k", value: "after"))
        }
        #expect(error?.code == .destroyed)
    }

    @Test("statistics report consumer lag per partition to swift-metrics")
    func consumerLagMetric() async throws {
        let metrics = testMetrics
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("lag", partitions: 1)
        let producer = try TestSupport.producer(cluster.bootstrapServers)
        for index in 0..<10 { _ = try await producer.send(KafkaRecord(topic: "lag", key: nil, value: "l\(index)")) }
        await producer.close()

        let clientID = TestSupport.uniqueName("lagged")
        var client = TestSupport.client(cluster.bootstrapServers, id: clientID)
        client.statisticsInterval = .milliseconds(100)
        let consumer = try KafkaConsumer(
            configuration: .init(client: client, mode: .group(id: TestSupport.uniqueName("lag"), topics: ["lag"])),
            logger: TestSupport.logger)
        var read: [KafkaMessage] = []
        for try await batch in consumer.batches() {
            read += batch.messages
            if read.count >= 10 { break }
        }
        try consumer.markProcessed(Array(read.prefix(4)))
        try await consumer.commit()
        // Statistics are served by polls: keep polling (nothing more arrives) for a while.
        _ = try? await TestSupport.within(.seconds(2)) {
            for try await _ in consumer.batches() {}
            return true
        }
        let gauge = try metrics.expectGauge("kafka_consumer_lag", [("client_id", clientID), ("topic", "lag"), ("partition", "0")])
        #expect(gauge.lastValue == 6)
        await consumer.close()
    }
}

/// Values a reader task collected, shared with the test.
final class Received: Sendable {
    let values = Mutex<[String]>([])
}
