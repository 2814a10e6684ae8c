import Foundation
import Kafka
import OfficeRuntime
import OfficeStorage
import ServiceLifecycle
import Testing
import TransferDomain

extension OfficeRuns {
    /// The outbox relay on the real broker: a backlog of many cases, several events each.
    @Suite("Outbox relay throughput (real broker)", .enabled(if: Broker.available), .timeLimit(.minutes(3)))
    struct RelayThroughputTests {
        @Test("a backlog of 3000 events of 300 cases drains with every event published once and every case's events in order; the rate is printed")
        func backlog() async throws {
            let servers = try Broker.require()
            let topic = "t-relay-\(UUID().uuidString.prefix(8).lowercased())"
            let admin = try KafkaAdminClient(configuration: KafkaConfiguration(bootstrapServers: [servers], clientID: "relay-test"), logger: Support.logger)
            try await admin.createTopics([KafkaNewTopic(name: topic, partitions: 3)], timeout: .seconds(10))
            let database = try RuntimeTests.database()
            let cases = (0..<300).map { _ in CaseID() }
            // Ten rounds over the cases: each case's events interleaved with every other case's.
            let events = (0..<10).flatMap { round in cases.map { RuntimeTests.event(case: $0, sequence: round + 1) } }
            let expected = Dictionary(grouping: events, by: \.subject).mapValues { $0.map { $0.id.uuidString.lowercased() } }
            try await database.writer.write { db in
                for event in events {
                    try Outbox.append(event, topic: topic, signer: Support.eventKeys.signers[event.source.rawValue]!, in: db)
                }
            }
            let producer = try ProducerSlot(
                configuration: .init(client: KafkaConfiguration(bootstrapServers: [servers], clientID: "relay-test")), logger: Support.logger)
            let relay = OutboxRelay(database: database, producers: producer, doorbell: Doorbell(), logger: Support.logger)
            let group = ServiceGroup(configuration: .init(services: [.init(service: producer), .init(service: relay)], logger: Support.logger))
            let started = ContinuousClock.now
            let running = Task { try await group.run() }
            #expect(try await RuntimeTests.eventually(.seconds(120)) { try await database.writer.read { try Outbox.pendingCount($0) } == 0 })
            let seconds = (ContinuousClock.now - started).seconds
            await group.triggerGracefulShutdown()
            try await running.value
            print(String(format: "outbox relay: 3000 events of 300 cases in %.2f s (%.0f events/s)", seconds, 3000 / seconds))

            var published: [String: [String]] = [:]
            var ids: [String] = []
            for partition in 0..<3 {
                let reader = try KafkaConsumer(
                    configuration: .init(client: KafkaConfiguration(bootstrapServers: [servers], clientID: "relay-read"),
                                         mode: .assignment([KafkaPartitionStart(topic: topic, partition: Int32(partition), offset: .beginning)])),
                    logger: Support.logger)
                for try await batch in reader.replay() {
                    for message in batch.messages {
                        let id = message.header("ce_id") ?? ""
                        ids.append(id)
                        published[message.header("ce_subject") ?? "", default: []].append(id)
                    }
                }
                await reader.close()
            }
            #expect(ids.count == 3000 && Set(ids).count == 3000, "every event once")
            #expect(published == expected, "every case's events in outbox order")
        }
    }
}
