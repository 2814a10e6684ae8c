import Foundation
import GRDB
import Hummingbird
import Kafka
import OfficeRuntime
import OfficeStorage
import Synchronization
import Testing
import TransferDomain

/// A slow stop ends cleanly: ServiceGroup's cancellation bound once trapped ("Cancellation took
/// longer than allowed by the configuration") when a handler outlived it.
@Suite("Shutdown with a deliberately slow handler (mock cluster)", .timeLimit(.minutes(1)))
struct ShutdownTests {
    /// An office whose event handler blocks for 8 s, far past its 1 s shutdown bound.
    struct SlowOffice: OfficeService {
        static let role = OfficeRole.origin
        static let started = Mutex(false)
        static let postgresMigrations: [PostgresMigration] = []
        static func registerMigrations(_ migrator: inout SQLiteMigrator) {
            migrator.registerMigration("slow") { db in try db.create(table: "applied") { $0.primaryKey("eventId", .text) } }
        }
        init(context: OfficeContext) {}
        var office: OfficeCode { try! OfficeCode("440300") }
        func addRoutes(to router: Router<OfficeRequestContext>) {}
        var eventHandler: any OfficeEventHandler { Handler() }
        func recordGauges() async throws {}

        struct Handler: OfficeEventHandler {
            func handle(_ event: CloudEvent, in transaction: any StoreTransaction) throws {
            let db = try SQLiteTransaction.of(transaction)
                SlowOffice.started.withLock { $0 = true }
                Thread.sleep(forTimeInterval: 8)  // not cancellable, on purpose
                try db.execute(sql: "INSERT INTO applied (eventId) VALUES (?)", arguments: [event.id.uuidString])
            }
        }
    }

    @Test("a handler outliving the shutdown bound ends in a clean return, never a trap")
    func slowStop() async throws {
        let cluster = try KafkaMockCluster()
        try Support.createTopics(cluster)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("slow-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        let configuration = try OfficeConfiguration(role: .origin, values: Support.eventKeySettings("440300").merging([
            "office.code": "440300", "http.port": "0", "database.path": folder.appendingPathComponent("slow.sqlite").path,
            "kafka.bootstrap.servers": cluster.bootstrapServers, "kafka.statistics.interval.ms": "0", "auth.public.keys": Support.keys.publicKey, "shutdown.timeout.seconds": "1",
            "auth.disabled": "true",
        ]) { $1 })
        let process = try await OfficeProcess<SlowOffice>(configuration: configuration, logger: Support.logger)
        let running = Task { try await process.run() }
        _ = await process.boundPort.value()
        let event = RuntimeTests.event()
        let producer = try KafkaProducer(
            configuration: .init(client: KafkaConfiguration(bootstrapServers: [cluster.bootstrapServers], clientID: "feeder")), logger: Support.logger)
        _ = try await producer.send(try RuntimeTests.record(event, topic: Topics.inbox(RuntimeTests.office, .origin)))
        await producer.close()
        #expect(try await RuntimeTests.eventually { SlowOffice.started.withLock { $0 } })
        let clock = ContinuousClock()
        let stopping = clock.now
        await process.serviceGroup.triggerGracefulShutdown()
        _ = try? await running.value  // returning at all (no trap) is the point
        #expect(clock.now - stopping < .seconds(20))
        let applied = try await process.context.database.writer.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM applied") ?? 0 }
        #expect(applied <= 1)
    }
}
