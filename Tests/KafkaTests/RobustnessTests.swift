import Foundation
import Kafka
import Testing

/// Regressions of the wrapper's failure paths: cancellation, fatal errors, a close racing failed
/// sends, a cancelled poll, and a record too large for the producer.
@Suite("Kafka wrapper under cancellation and faults", .timeLimit(.minutes(2)))
struct RobustnessTests {
    @Test("a send waiting for a slot, or for an acknowledgement that cannot come, ends at once when its task is cancelled")
    func cancellableSends() async throws {
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("cancel", partitions: 1)
        var client = TestSupport.client(cluster.bootstrapServers)
        client.properties = ["log_level": "0"]
        // Deliveries give up after 60 s: cancellation must end the waits long before that, even on
        // a loaded machine.
        let producer = try KafkaProducer(configuration: .init(client: client, maxInFlight: 1, deliveryTimeout: .seconds(60)), logger: TestSupport.logger)
        _ = try await producer.send(KafkaRecord(topic: "cancel", key: "k", value: "warm"))
        try cluster.setDown(broker: 1)
        // The first send holds the only slot, waiting for an acknowledgement; the second waits for the slot.
        let holding = Task { try await producer.send(KafkaRecord(topic: "cancel", key: "k", value: "held")) }
        try await Task.sleep(for: .milliseconds(200))
        let waiting = Task { try await producer.send(KafkaRecord(topic: "cancel", key: "k", value: "waiting")) }
        try await Task.sleep(for: .milliseconds(200))
        let clock = ContinuousClock()
        let started = clock.now
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
        holding.cancel()
        await #expect(throws: CancellationError.self) { try await holding.value }
        #expect(clock.now - started < .seconds(20), "cancellation is served at once, not after the delivery timeout")
        try cluster.setUp(broker: 1)
        // The slots came back: the producer still works.
        _ = try await producer.send(KafkaRecord(topic: "cancel", key: "k", value: "after"))
        await producer.close()
    }

    @Test("a producer in a fatal state says so: send fails with a fatal error and fatalError is set")
    func fatalState() async throws {
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("fatal", partitions: 1)
        let producer = try TestSupport.producer(cluster.bootstrapServers, properties: ["log_level": "0"])
        _ = try await producer.send(KafkaRecord(topic: "fatal", key: "k", value: "before"))
        #expect(producer.fatalError == nil)
        producer.triggerFatalErrorForTesting(reason: "test: idempotence lost")
        let error = await #expect(throws: KafkaError.self) {
            try await producer.send(KafkaRecord(topic: "fatal", key: "k", value: "after"))
        }
        #expect(error?.isFatal == true)
        #expect(producer.fatalError?.isFatal == true)
        await producer.close()
    }

    @Test("a record over the producer's size limit is refused at once as one the broker can never take")
    func tooLarge() async throws {
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("large", partitions: 1)
        let producer = try TestSupport.producer(cluster.bootstrapServers)
        let error = await #expect(throws: KafkaError.self) {
            try await producer.send(KafkaRecord(topic: "large", key: nil, value: Array(repeating: UInt8(ascii: "x"), count: 2_000_000)))
        }
        #expect(error?.rejectsRecord == true)
        #expect(error?.isRetriable == false)
        await producer.close()
    }

    @Test("sends failing while the producer closes are each answered exactly once")
    func closeRacingFailures() async throws {
        for _ in 0..<5 {
            let cluster = try KafkaMockCluster()
            try cluster.createTopic("race", partitions: 1)
            var client = TestSupport.client(cluster.bootstrapServers)
            client.properties = ["log_level": "0"]
            let producer = try KafkaProducer(
                configuration: .init(client: client, deliveryTimeout: .milliseconds(300), flushTimeout: .milliseconds(100)), logger: TestSupport.logger)
            try cluster.setDown(broker: 1)
            let outcomes = Task {
                await withTaskGroup(of: Bool.self) { group in
                    for index in 0..<300 {
                        group.addTask { (try? await producer.send(KafkaRecord(topic: "race", key: "k\(index % 7)", value: "v\(index)"))) != nil }
                    }
                    return await group.reduce(into: 0) { count, _ in count += 1 }
                }
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...300)))
            await producer.close()
            #expect(await outcomes.value == 300, "every send returned once")
        }
    }

    @Test("records a cancelled poll had taken are delivered by the next poll: cancelling reads never skips a record")
    func cancelledPolls() async throws {
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("polls", partitions: 1)
        let producer = try TestSupport.producer(cluster.bootstrapServers)
        for index in 0..<400 { _ = try await producer.send(KafkaRecord(topic: "polls", key: "k", value: "v\(index)")) }
        await producer.close()
        let consumer = try TestSupport.reader(cluster.bootstrapServers, [.init(topic: "polls", partition: 0, offset: .beginning)])
        var seen: [Int64] = []
        var cancelled = 0
        while seen.count < 400 {
            // Read in a task cancelled after a short, varying time: sometimes mid-poll.
            let reader = Task { () -> [Int64] in
                var offsets: [Int64] = []
                do {
                    for try await batch in consumer.batches(maxCount: 7) {
                        offsets += batch.messages.map(\.offset)
                        try await Task.sleep(for: .microseconds(Int.random(in: 0...400)))
                    }
                } catch {}
                return offsets
            }
            try await Task.sleep(for: .microseconds(Int.random(in: 50...2000)))
            reader.cancel()
            cancelled += 1
            seen += await reader.value
            if cancelled > 5000 { break }
        }
        await consumer.close()
        #expect(seen == Array(0..<400), "in order, none skipped, none twice")
    }
}
