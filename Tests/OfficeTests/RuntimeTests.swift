import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import GRDB
import Hummingbird
import Kafka
import Logging
import OfficeRuntime
import OfficeStorage
import OriginOffice
import ServiceLifecycle
import Synchronization
import Testing
import TransferDomain

/// The runtime's plumbing on librdkafka's mock cluster (no broker to start): the wake-up signal,
/// how failures are sorted, the dead-letter record, the consumer and relay under faults, health,
/// durability and shutdown.
@Suite("Office runtime under faults (mock cluster)", .timeLimit(.minutes(2)))
struct RuntimeTests {
    // MARK: - Fixtures

    /// An event handler whose first `failures` attempts throw `failure`; applied events are counted.
    final class TestHandler: OfficeEventHandler, Sendable {
        let remaining: Mutex<Int>
        let failure: @Sendable () -> any Error
        let attempts = Mutex(0)

        init(failures: Int, failure: @escaping @Sendable () -> any Error = { DatabaseError(resultCode: .SQLITE_FULL, message: "database or disk is full") }) {
            remaining = Mutex(failures)
            self.failure = failure
        }

        func handle(_ event: CloudEvent, in transaction: any StoreTransaction) throws {
            let db = try SQLiteTransaction.of(transaction)
            attempts.withLock { $0 += 1 }
            let fail = remaining.withLock { remaining -> Bool in
                guard remaining != 0 else { return false }
                if remaining > 0 { remaining -= 1 }
                return true
            }
            if fail { throw failure() }
            try db.execute(sql: "INSERT INTO applied (eventId) VALUES (?)", arguments: [event.id.uuidString])
        }
    }

    static let office = try! OfficeCode("440300")
    static let destination = try! OfficeCode("510100")

    static func database() throws -> SQLiteStore {
        try SQLiteStore(path: nil) { migrator in
            migrator.registerMigration("test") { db in try db.create(table: "applied") { $0.primaryKey("eventId", .text) } }
        }
    }

    /// A valid event addressed to the test office.
    static func event() -> CloudEvent {
        let caseID = CaseID()
        return CloudEvent(
            source: destination, recipient: office, time: Date(),
            event: .transferCompleted(TransferCompleted(
                caseId: caseID, contactLetterNo: ContactLetterNumber(office: destination, year: 2026, sequence: 1), receivedTotal: try! Money("1.00"),
                completedOn: try! LocalDate("2026-06-15"))))
    }

    /// The `sequence`-th event of case `caseID` (distinct events of one case, one key).
    static func event(case caseID: CaseID, sequence: Int) -> CloudEvent {
        CloudEvent(
            source: destination, recipient: office, time: Date(),
            event: .transferCompleted(TransferCompleted(
                caseId: caseID, contactLetterNo: ContactLetterNumber(office: destination, year: 2026, sequence: sequence), receivedTotal: try! Money("1.00"),
                completedOn: try! LocalDate("2026-06-15"))))
    }

    /// An illegal transition as the state machine throws it.
    static func illegalTransition() -> any Error {
        var finished = OriginCase(id: CaseID(), contactLetter: ContactLetterNumber(office: destination, year: 2026, sequence: 1), receivedOn: try! LocalDate("2026-06-15"))
        do {
            try finished.apply(.completed(on: try! LocalDate("2026-06-15")))
            return DomainError("no illegal transition")
        } catch {
            return error
        }
    }

    /// `event` as a record signed by the office it comes from; with `value`, that value (signed too).
    static func record(_ event: CloudEvent, topic: String, value: [UInt8]? = nil) throws -> KafkaRecord {
        let bytes = try value ?? Array(event.data())
        let signature = try Support.eventKeys.signers[event.source.rawValue]!.signatureHeaders(headers: event.headers, value: bytes)
        return KafkaRecord(
            topic: topic, key: Array(event.key.utf8), value: bytes,
            headers: (event.headers + signature).map { KafkaHeader(name: $0.name, string: $0.value) })
    }

    struct Harness {
        let cluster: KafkaMockCluster
        let database: SQLiteStore
        let producer: KafkaProducer
        let consumer: KafkaConsumer
        let health = OfficeHealth()
        let service: EventConsumerService

        init(handler: any OfficeEventHandler) throws {
            cluster = try KafkaMockCluster()
            try cluster.createTopic("in", partitions: 1)
            try cluster.createTopic("dlq", partitions: 1)
            database = try RuntimeTests.database()
            var client = KafkaConfiguration(bootstrapServers: [cluster.bootstrapServers], clientID: "runtime-test")
            client.properties = ["log_level": "0"]
            producer = try KafkaProducer(configuration: .init(client: client, maxMessageBytes: 3_000_000), logger: Support.logger)
            consumer = try KafkaConsumer(configuration: .init(client: client, mode: .group(id: "g", topics: ["in"])), logger: Support.logger)
            service = EventConsumerService(
                consumer: consumer, database: database, handler: handler, office: RuntimeTests.office, eventKeys: Support.eventKeys.keys,
                deadLetters: DeadLetterSender(producer: producer, topic: "dlq", consumerName: "test", health: health, logger: Support.logger),
                doorbell: Doorbell(), health: health, logger: Support.logger)
        }

        func group() -> ServiceGroup {
            ServiceGroup(
                configuration: .init(
                    services: [.init(service: producer), .init(service: consumer), .init(service: service)], logger: Support.logger))
        }

        func applied() async throws -> Int {
            try await database.writer.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM applied") ?? 0 }
        }

        func deadLetters() async throws -> [KafkaMessage] {
            try await RuntimeTests.readAll(cluster.bootstrapServers, topic: "dlq")
        }
    }

    /// Polls `condition` until it holds or `limit` passes.
    static func eventually(_ limit: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws -> Bool {
        let clock = ContinuousClock()
        let start = clock.now
        while clock.now - start < limit {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    static func readAll(_ servers: String, topic: String) async throws -> [KafkaMessage] {
        let reader = try KafkaConsumer(
            configuration: .init(
                client: KafkaConfiguration(bootstrapServers: [servers], clientID: "reader"),
                mode: .assignment([.init(topic: topic, partition: 0, offset: .beginning)])),
            logger: Support.logger)
        var messages: [KafkaMessage] = []
        for try await batch in reader.replay() { messages += batch.messages }
        await reader.close()
        return messages
    }

    // MARK: - The wake-up signal

    @Test("the doorbell keeps working after waits time out: an idle wait lasts its timeout, a ring wakes at once")
    func doorbell() async throws {
        let doorbell = Doorbell()
        let clock = ContinuousClock()
        for _ in 0..<3 {
            let started = clock.now
            await doorbell.wait(timeout: .milliseconds(100))
            #expect(clock.now - started >= .milliseconds(90), "an idle wait must not return early (that was a busy loop)")
        }
        let waiter = Task {
            let started = clock.now
            await doorbell.wait(timeout: .seconds(10))
            return clock.now - started
        }
        try await Task.sleep(for: .milliseconds(100))
        doorbell.ring()
        #expect(await waiter.value < .seconds(5), "woken by the ring, not by its 10 s timeout")
        // Rings while nobody waits are kept (coalesced) for the next wait.
        doorbell.ring()
        doorbell.ring()
        let started = clock.now
        await doorbell.wait(timeout: .seconds(10))
        #expect(clock.now - started < .seconds(5))
        let idle = clock.now
        await doorbell.wait(timeout: .milliseconds(100))
        #expect(clock.now - idle >= .milliseconds(90), "two rings wake one wait")
    }

    // MARK: - Sorting failures

    @Test("what is wrong with a record is dead-lettered; the office's own trouble never is", arguments: [
        (DatabaseError(resultCode: .SQLITE_FULL) as any Error, false), (DatabaseError(resultCode: .SQLITE_IOERR), false),
        (DatabaseError(resultCode: .SQLITE_BUSY), false), (CancellationError(), false),
        (KafkaError(code: .messageTimedOut, message: "timeout"), false),
        (StoreConstraintViolation("UNIQUE constraint failed"), true), (DomainError("a rule", code: "form-arithmetic"), true),
        (Self.illegalTransition(), true), (ValidationError(field: "x", reason: "bad"), true),
        (EventDecodingError.malformed("x"), true),
    ] as [(any Error, Bool)])
    func classification(error: any Error, isRecordFault: Bool) {
        if case .record = EventFailure.classify(error) { #expect(isRecordFault, "\(error)") } else { #expect(!isRecordFault, "\(error)") }
    }

    @Test("the SQLite store reports a constraint's refusal as its own StoreConstraintViolation, in a savepoint and at commit, so nothing above it needs GRDB's errors")
    func sqliteConstraintIsTheStoresError() async throws {
        let store = try SQLiteStore(path: nil, migrations: { _ in })
        try await store.write { transaction in _ = try transaction.nextInSequence("a") }
        let inSavepoint = try await store.write { transaction -> String in
            do {
                try transaction.savepoint { _ = try transaction.portableExecute("INSERT INTO documentSequence (name, value) VALUES ($1, 1)", [.text("a")]) }
                return "no error"
            } catch let error as StoreConstraintViolation {
                return "violation: \(error)"
            }
        }
        #expect(inSavepoint.hasPrefix("violation: UNIQUE constraint failed"), "\(inSavepoint)")
        await #expect(throws: StoreConstraintViolation.self) {
            try await store.write { transaction in
                _ = try transaction.portableExecute("INSERT INTO documentSequence (name, value) VALUES ($1, 1)", [.text("a")])
            }
        }
        // Still refused as a record's fault by the consumer's sorting.
        #expect(EventFailure.classify(StoreConstraintViolation("x")) == .record(reason: "constraint"))
    }

    // MARK: - Dead letters

    @Test("a dead-letter record always fits: provenance and a SHA-256 of the value are kept, a value too large is left out and named")
    func deadLetterRecord() throws {
        let value = Array(repeating: UInt8(ascii: "a"), count: 2_000_000)
        let message = KafkaMessage(
            topic: "in", partition: 2, offset: 41, key: Array("k".utf8), value: value,
            headers: [KafkaHeader(name: "ce_id", string: "x"), KafkaHeader(name: "huge", value: Array(repeating: 0, count: 100_000))], timestamp: nil)
        let record = DeadLetterSender.record(for: message, reason: "malformed", detail: "too big", consumer: "c", topic: "dlq", valueLimit: 250_000)
        #expect(record.value == nil)
        #expect(record.header("dlq_dropped") == "header huge, value")
        #expect(record.header("dlq_value_bytes") == "2000000")
        #expect(record.header("dlq_value_sha256")?.count == 64)
        #expect(record.header("dlq_topic") == "in" && record.header("dlq_partition") == "2" && record.header("dlq_offset") == "41")
        #expect(record.header("ce_id") == "x")
        let small = KafkaMessage(topic: "in", partition: 0, offset: 1, key: nil, value: Array("{}".utf8), headers: [], timestamp: nil)
        let kept = DeadLetterSender.record(for: small, reason: "malformed", detail: "", consumer: "c", topic: "dlq", valueLimit: 250_000)
        #expect(kept.value == Array("{}".utf8))
        #expect(kept.header("dlq_dropped") == nil)
        #expect(kept.header("dlq_value_sha256") == "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
    }

    // MARK: - The consumer

    @Test("a failing disk is retried and reported to health, never dead-lettered; the event is applied once it recovers")
    func infrastructureRetried() async throws {
        let handler = TestHandler(failures: 4)
        let harness = try Harness(handler: handler)
        _ = try await harness.producer.send(try Self.record(Self.event(), topic: "in"))
        let group = harness.group()
        let running = Task { try await group.run() }
        #expect(try await Self.eventually { harness.health.current[.consumer] != nil }, "health says the consumer is stuck")
        #expect(try await Self.eventually { try await harness.applied() == 1 })
        #expect(harness.health.current[.consumer] == nil, "and clears when it recovers")
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(handler.attempts.withLock { $0 } == 5)
        #expect(try await harness.deadLetters().isEmpty)
    }

    @Test("shutdown during a retry stops without dead-lettering or committing: the record is applied after a restart")
    func shutdownDuringRetry() async throws {
        let handler = TestHandler(failures: -1, failure: { CancellationError() })
        let harness = try Harness(handler: handler)
        _ = try await harness.producer.send(try Self.record(Self.event(), topic: "in"))
        let group = harness.group()
        let running = Task { try await group.run() }
        #expect(try await Self.eventually { handler.attempts.withLock { $0 } >= 2 })
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(try await harness.deadLetters().isEmpty, "a valid event is never dead-lettered at shutdown")
        // A new member of the group gets the record again: its offset was not committed.
        let again = try KafkaConsumer(
            configuration: .init(client: KafkaConfiguration(bootstrapServers: [harness.cluster.bootstrapServers], clientID: "again"), mode: .group(id: "g", topics: ["in"])),
            logger: Support.logger)
        var redelivered: KafkaMessage?
        for try await batch in again.batches() where !batch.messages.isEmpty {
            redelivered = batch.messages.first
            break
        }
        #expect(redelivered?.offset == 0)
        await again.close()
    }

    @Test("a 2 MB record is dead-lettered without its value, and the records behind it are applied")
    func oversizedIncomingRecord() async throws {
        let handler = TestHandler(failures: 0)
        let harness = try Harness(handler: handler)
        let big = Array("{\"caseId\":\"".utf8) + Array(repeating: UInt8(ascii: "x"), count: 2_000_000) + Array("\"}".utf8)
        _ = try await harness.producer.send(try Self.record(Self.event(), topic: "in", value: big))
        _ = try await harness.producer.send(try Self.record(Self.event(), topic: "in"))
        let group = harness.group()
        let running = Task { try await group.run() }
        #expect(try await Self.eventually { try await harness.applied() == 1 }, "the partition keeps flowing")
        await group.triggerGracefulShutdown()
        try await running.value
        let dead = try await harness.deadLetters()
        #expect(dead.count == 1)
        #expect(dead.first?.value == nil)
        #expect(dead.first?.header("dlq_value_bytes") == String(big.count))
        #expect(dead.first?.header("dlq_reason") == "malformed")
    }

    /// Writes its row for every event, then refuses (an illegal transition) the events in `refuse`.
    final class RefusingHandler: OfficeEventHandler, Sendable {
        let refuse: Set<UUID>
        init(refuse: Set<UUID>) { self.refuse = refuse }
        func handle(_ event: CloudEvent, in transaction: any StoreTransaction) throws {
            let db = try SQLiteTransaction.of(transaction)
            try db.execute(sql: "INSERT INTO applied (eventId) VALUES (?)", arguments: [event.id.uuidString])
            if refuse.contains(event.id) { throw RuntimeTests.illegalTransition() }
        }
    }

    @Test("a batch is applied in one transaction: a record refused in the middle undoes only its own changes and is dead-lettered; the rest is applied once")
    func batchWithARefusedRecord() async throws {
        let events = (0..<6).map { _ in Self.event() }
        let harness = try Harness(handler: RefusingHandler(refuse: [events[2].id, events[4].id]))
        // A duplicate delivery inside the same batch changes nothing either.
        for event in events + [events[1]] { _ = try await harness.producer.send(try Self.record(event, topic: "in")) }
        let group = harness.group()
        let running = Task { try await group.run() }
        #expect(try await Self.eventually {
            try await harness.database.writer.read { try Int64.fetchOne($0, sql: "SELECT nextOffset FROM consumerPosition WHERE topic = 'in'") } == 7
        }, "the position covers the whole batch")
        await group.triggerGracefulShutdown()
        try await running.value
        let applied = try await harness.database.writer.read { try Set(String.fetchAll($0, sql: "SELECT eventId FROM applied")) }
        #expect(applied == Set([0, 1, 3, 5].map { events[$0].id.uuidString }), "the refused records' own writes are rolled back")
        let inbox = try await harness.database.writer.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM inbox") }
        #expect(inbox == 4)
        let dead = try await harness.deadLetters()
        #expect(dead.map { $0.header("ce_id") } == [events[2].id.uuidString.lowercased(), events[4].id.uuidString.lowercased()])
        #expect(dead.allSatisfy { $0.header("dlq_reason") == "illegal-transition" })
    }

    // MARK: - The relay

    static func outboxRow(_ database: SQLiteStore, _ event: CloudEvent, topic: String, payload: Data? = nil) async throws {
        try await database.writer.write { db in
            try Outbox.append(event, topic: topic, signer: Support.eventKeys.signers[event.source.rawValue]!, in: db)
            if let payload { try db.execute(sql: "UPDATE outbox SET payload = ? WHERE eventId = ?", arguments: [payload, event.id.uuidString.lowercased()]) }
        }
    }

    @Test("a row the broker can never take is parked with its case's later rows; every other row is published")
    func parkedRows() async throws {
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("out", partitions: 1)
        let database = try Self.database()
        let blocked = Self.event()
        let sameCase = CloudEvent(source: Self.office, recipient: Self.destination, time: Date(), event: blocked.event)
        try await Self.outboxRow(database, blocked, topic: "out", payload: Data(repeating: UInt8(ascii: "x"), count: 1_500_000))
        try await Self.outboxRow(database, sameCase, topic: "out")
        for _ in 0..<3 { try await Self.outboxRow(database, Self.event(), topic: "out") }
        var client = KafkaConfiguration(bootstrapServers: [cluster.bootstrapServers], clientID: "relay-test")
        client.properties = ["log_level": "0"]
        let producer = try KafkaProducer(configuration: .init(client: client), logger: Support.logger)
        let health = OfficeHealth()
        let relay = OutboxRelay(database: database, producer: producer, doorbell: Doorbell(), health: health, logger: Support.logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: producer), .init(service: relay)], logger: Support.logger))
        let running = Task { try await group.run() }
        #expect(try await Self.eventually { try await database.writer.read { try Outbox.statistics($0) }.pending == 1 })
        let statistics = try await database.writer.read { try Outbox.statistics($0) }
        #expect(statistics.parked == 1 && statistics.pending == 1, "the same case's next row waits behind the parked one")
        let parked = try await database.writer.read { try Outbox.parked($0) }
        #expect(parked.map(\.eventId) == [blocked.id.uuidString.lowercased()])
        #expect(parked.first?.heldBehind == 1)
        #expect(parked.first?.reason.contains("MSG_SIZE_TOO_LARGE") == true)
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(try await database.writer.read { try Outbox.sentCount($0) } == 3)
    }

    @Test("issue 21, item 8: a recipient whose partition has no leader is set aside (health says so) while the other recipients' events flow at once; it is published when a leader is back")
    func failingRecipientAside() async throws {
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("stuck", partitions: 1)
        try cluster.createTopic("fine", partitions: 1)
        let database = try Self.database()
        var client = KafkaConfiguration(bootstrapServers: [cluster.bootstrapServers], clientID: "aside-test")
        client.properties = ["log_level": "0"]
        // A delivery timeout far above what a round takes on a loaded machine: a round held up by
        // the stuck recipient would take at least this long.
        let producer = try KafkaProducer(configuration: .init(client: client, deliveryTimeout: .seconds(10)), logger: Support.logger)
        let health = OfficeHealth()
        let doorbell = Doorbell()
        let relay = OutboxRelay(database: database, producer: producer, doorbell: doorbell, health: health, logger: Support.logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: producer), .init(service: relay)], logger: Support.logger))
        let running = Task { try await group.run() }
        try cluster.setLeader(topic: "stuck", partition: 0, broker: -1)
        let stuck = Self.event()
        try await Self.outboxRow(database, stuck, topic: "stuck")
        doorbell.ring()
        // Its first try fails after the delivery timeout; then the recipient is set aside.
        #expect(try await Self.eventually(.seconds(40)) { health.current[.relay]?.error.contains("stuck") == true }, "health names the recipient")
        // The others now go out at once, round after round, never waiting behind it.
        for round in 0..<5 {
            let started = ContinuousClock.now
            let events = (0..<10).map { _ in Self.event() }
            for event in events { try await Self.outboxRow(database, event, topic: "fine") }
            doorbell.ring()
            #expect(try await Self.eventually(.seconds(10)) {
                try await database.writer.read { try Outbox.sentCount($0) } == (round + 1) * 10
            })
            #expect(ContinuousClock.now - started < .seconds(5), "round \(round): not held up by the stuck recipient (10 s per try)")
        }
        // A leader again: the stuck event goes out with a probe, and health clears.
        try cluster.setLeader(topic: "stuck", partition: 0, broker: 1)
        #expect(try await Self.eventually(.seconds(90)) { try await database.writer.read { try Outbox.sentCount($0) } == 51 })
        #expect(try await Self.eventually(.seconds(10)) { health.current[.relay] == nil })
        await group.triggerGracefulShutdown()
        try await running.value
    }

    @Test("a fatal producer error stops the relay with that error (the process exits non-zero)")
    func fatalRelay() async throws {
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("out", partitions: 1)
        let database = try Self.database()
        var client = KafkaConfiguration(bootstrapServers: [cluster.bootstrapServers], clientID: "fatal-test")
        client.properties = ["log_level": "0"]
        let producer = try KafkaProducer(configuration: .init(client: client), logger: Support.logger)
        _ = try await producer.send(KafkaRecord(topic: "out", key: "k", value: "warm"))
        producer.triggerFatalErrorForTesting(reason: "test")
        try await Self.outboxRow(database, Self.event(), topic: "out")
        let relay = OutboxRelay(database: database, producer: producer, doorbell: Doorbell(), logger: Support.logger)
        let error = await #expect(throws: KafkaError.self) { try await relay.run() }
        #expect(error?.isFatal == true)
        #expect(try await database.writer.read { try Outbox.pendingCount($0) } == 1, "nothing marked sent")
        await producer.close()
    }

    @Test("an office's producer in a fatal state is replaced and every row is still published once, in order; a fourth fatal state within five minutes stops the relay")
    func fatalProducerRenewed() async throws {
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("out", partitions: 1)
        let database = try Self.database()
        var client = KafkaConfiguration(bootstrapServers: [cluster.bootstrapServers], clientID: "renew-test")
        client.properties = ["log_level": "0"]
        let slot = try ProducerSlot(configuration: .init(client: client), logger: Support.logger)
        let relay = OutboxRelay(database: database, producers: slot, doorbell: Doorbell(), logger: Support.logger, idlePoll: .milliseconds(50))
        let running = Task { try await relay.run() }
        var events: [CloudEvent] = []
        // Three fatal states: each time the producer is replaced and the row goes out.
        for _ in 0..<3 {
            let first = slot.producer
            first.triggerFatalErrorForTesting(reason: "test")
            let batch = (0..<3).map { _ in Self.event() }
            for event in batch { try await Self.outboxRow(database, event, topic: "out") }
            events += batch
            #expect(try await Self.eventually { try await database.writer.read { try Outbox.pendingCount($0) } == 0 })
            #expect(slot.producer !== first, "a new producer took over")
        }
        let published = try await Self.readAll(cluster.bootstrapServers, topic: "out")
        #expect(published.compactMap { $0.header("ce_id") } == events.map { $0.id.uuidString.lowercased() }, "each once, in order")
        // A fourth within five minutes: something is wrong beyond a lost identity; the relay stops.
        slot.producer.triggerFatalErrorForTesting(reason: "test")
        try await Self.outboxRow(database, Self.event(), topic: "out")
        let error = await #expect(throws: KafkaError.self) { try await running.value }
        #expect(error?.isFatal == true)
        await slot.producer.close()
    }

    @Test("injected produce errors and a broker outage delay the relay but lose and reorder nothing")
    func relayUnderFaults() async throws {
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("out", partitions: 1)
        let database = try Self.database()
        let events = (0..<30).map { _ in Self.event() }
        for event in events { try await Self.outboxRow(database, event, topic: "out") }
        var client = KafkaConfiguration(bootstrapServers: [cluster.bootstrapServers], clientID: "faults-test")
        client.properties = ["log_level": "0"]
        let producer = try KafkaProducer(configuration: .init(client: client), logger: Support.logger)
        cluster.failNext(.produce, with: [.notLeaderForPartition, .notEnoughReplicas, .requestTimedOut])
        try cluster.setDown(broker: 1)
        let relay = OutboxRelay(database: database, producer: producer, doorbell: Doorbell(), logger: Support.logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: producer), .init(service: relay)], logger: Support.logger))
        let running = Task { try await group.run() }
        try await Task.sleep(for: .seconds(1))
        try cluster.setUp(broker: 1)
        #expect(try await Self.eventually { try await database.writer.read { try Outbox.pendingCount($0) } == 0 })
        await group.triggerGracefulShutdown()
        try await running.value
        let published = try await Self.readAll(cluster.bootstrapServers, topic: "out")
        #expect(published.compactMap { $0.header("ce_id") } == events.map { $0.id.uuidString.lowercased() }, "each once, in order")
    }

    @Test("injected commit and fetch errors and a broker outage delay the consumer but lose and double nothing; a new member after them applies nothing twice")
    func consumerUnderFaults() async throws {
        let harness = try Harness(handler: TestHandler(failures: 0))
        var client = KafkaConfiguration(bootstrapServers: [harness.cluster.bootstrapServers], clientID: "faults-feed")
        client.properties = ["log_level": "0"]
        let feed = try KafkaProducer(configuration: .init(client: client), logger: Support.logger)
        let events = (0..<40).map { _ in Self.event() }
        for event in events { _ = try await feed.send(try Self.record(event, topic: "in")) }
        harness.cluster.failNext(.offsetCommit, with: [.requestTimedOut, .notCoordinator, .coordinatorNotAvailable, .requestTimedOut])
        harness.cluster.failNext(.fetch, with: [.notLeaderForPartition, .requestTimedOut])
        let group = harness.group()
        let running = Task { try await group.run() }
        #expect(try await Self.eventually { try await harness.applied() >= 10 })
        try harness.cluster.setDown(broker: 1)
        try await Task.sleep(for: .seconds(1))
        try harness.cluster.setUp(broker: 1)
        #expect(try await Self.eventually(.seconds(30)) { try await harness.applied() == 40 })
        await group.triggerGracefulShutdown()
        try await running.value

        // A new member of the group on the same database: whatever was not committed is delivered
        // again and recognised; nothing is applied twice (a second insert would be a constraint
        // failure, dead-lettered as such).
        let consumer = try KafkaConsumer(configuration: .init(client: client, mode: .group(id: "g", topics: ["in"])), logger: Support.logger)
        let producer = try KafkaProducer(configuration: .init(client: client), logger: Support.logger)
        let health = OfficeHealth()
        let service = EventConsumerService(
            consumer: consumer, database: harness.database, handler: TestHandler(failures: 0), office: Self.office, eventKeys: Support.eventKeys.keys,
            deadLetters: DeadLetterSender(producer: producer, topic: "dlq", consumerName: "test", health: health, logger: Support.logger),
            doorbell: Doorbell(), health: health, logger: Support.logger)
        let second = ServiceGroup(configuration: .init(services: [.init(service: producer), .init(service: consumer), .init(service: service)], logger: Support.logger))
        let secondRunning = Task { try await second.run() }
        // One more record: applied only once the new member has joined and read past everything
        // redelivered to it (a member that never joins fails here instead of passing).
        _ = try await feed.send(try Self.record(Self.event(), topic: "in"))
        #expect(try await Self.eventually(.seconds(60)) { try await harness.applied() == 41 }, "the new member joined and read on")
        await second.triggerGracefulShutdown()
        try await secondRunning.value
        #expect(try await harness.applied() == 41)
        #expect(try await harness.deadLetters().isEmpty, "nothing refused, nothing applied twice")
        await feed.close()
    }

    // MARK: - Health, durability, shutdown

    @Test("/health says what is wrong while it is wrong: the broker away and the oldest unsent event past its limit; ok again after")
    func healthUnderOutage() async throws {
        let cluster = try KafkaMockCluster()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("health-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        try Support.createTopics(cluster)
        let configuration = try Support.originSettings(cluster: cluster.bootstrapServers, folder: folder, ["health.outbox.max.age.seconds": "30"])
        let process = try await OfficeProcess<OriginOffice>(configuration: configuration, logger: Support.logger)
        let running = Task { try await process.run() }
        let port = try #require(await process.boundPort.value())
        let client = Client()
        let health = URL(string: "http://127.0.0.1:\(port)/health")!
        _ = try await client.waitFor(health) { $0["status"] as? String == "ok" }
        try cluster.setDown(broker: 1)
        try await Self.outboxRow(process.context.database.sqlite, Self.event(), topic: Topics.inbox(RuntimeTests.destination, .destination))
        try await process.context.database.writer.write { try $0.execute(sql: "UPDATE outbox SET createdAt = ?", arguments: [Date().addingTimeInterval(-120)]) }
        var body: [String: Any] = [:]
        #expect(try await Self.eventually {
            let (data, response) = try await URLSession.shared.data(from: health)
            body = (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
            return (response as? HTTPURLResponse)?.statusCode == 503 && (body["broker"] as? String ?? "ok") != "ok"
        })
        #expect(body["status"] as? String == "unavailable")
        #expect(((body["problems"] as? [String: String])?["outbox"] ?? "").contains("oldest unsent"), "\(body)")
        try cluster.setUp(broker: 1)
        _ = try await client.waitFor(health, limit: .seconds(30)) { $0["status"] as? String == "ok" }
        // A parked row: the office works, an operator should look. Written parked in one
        // transaction: a row committed unparked first could be published by the relay before the
        // update parks it (the broker is back), and the office would never be degraded.
        let parked = Self.event()
        try await process.context.database.writer.write { db in
            try Outbox.append(parked, topic: Topics.inbox(RuntimeTests.destination, .destination), signer: Support.eventKeys.signers[parked.source.rawValue]!, in: db)
            try db.execute(
                sql: "UPDATE outbox SET parkedAt = ?, parkReason = 'test' WHERE eventId = ?", arguments: [Date(), parked.id.uuidString.lowercased()])
        }
        let degraded = try await client.waitFor(health) { $0["status"] as? String == "degraded" }
        #expect((degraded["outbox"] as? [String: Any])?["parked"] as? Int == 1)
        await process.serviceGroup.triggerGracefulShutdown()
        try await running.value
    }

    @Test("storage that stops taking writes: /health says so, a letter waits (never dead-lettered) and is answered once writes work again")
    func unwritableStorage() async throws {
        let cluster = try KafkaMockCluster()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("storage-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        try Support.createTopics(cluster)
        let configuration = try Support.originSettings(cluster: cluster.bootstrapServers, folder: folder)
        let process = try await OfficeProcess<OriginOffice>(configuration: configuration, logger: Support.logger)
        let running = Task { try await process.run() }
        let port = try #require(await process.boundPort.value())
        let base = URL(string: "http://127.0.0.1:\(port)")!
        let client = Client()
        let person = Applicant.make(birth: "19850310", sequence: "013", hukou: "51", from: "2020-01", to: "2025-12")
        try await person.registerAtOrigin(client, base)
        // The disk stops taking writes (every write now fails with SQLITE_READONLY).
        try await process.context.database.writer.writeWithoutTransaction { try $0.execute(sql: "PRAGMA query_only = 1") }
        var body: [String: Any] = [:]
        #expect(try await Self.eventually {
            let (data, response) = try await URLSession.shared.data(from: base.appendingPathComponent("health"))
            body = (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
            return (response as? HTTPURLResponse)?.statusCode == 503 && (body["database"] as? String ?? "").contains("does not take writes")
        }, "\(body)")
        let chengdu = OfficeDirectory.standard[Self.destination]!
        let shenzhen = OfficeDirectory.standard[Self.office]!
        let letter = ContactLetterIssued(
            caseId: CaseID(), contactLetterNo: ContactLetterNumber(office: chengdu.code, year: 2026, sequence: 1),
            person: PersonRef(PersonFacts(citizenID: person.id, name: person.name, hukouProvince: try ProvinceCode("51"))),
            origin: OfficeRef(shenzhen), destination: OfficeRef(chengdu), destinationAccount: chengdu.account, certificateNo: nil,
            applicationDate: Support.today, issuedOn: Support.today)
        let event = CloudEvent(source: chengdu.code, recipient: shenzhen.code, time: Date(), event: .contactLetterIssued(letter))
        let producer = try KafkaProducer(
            configuration: .init(client: KafkaConfiguration(bootstrapServers: [cluster.bootstrapServers], clientID: "feeder")), logger: Support.logger)
        _ = try await producer.send(try Self.record(event, topic: Topics.inbox(RuntimeTests.office, .origin)))
        await producer.close()
        #expect(try await Self.eventually { (try await Self.health(base))["problems"].flatMap { $0 as? [String: String] }?["consumer"] != nil },
                "the consumer says it is stuck")
        // Writes work again: the letter is answered, and nothing was dead-lettered.
        try await process.context.database.writer.writeWithoutTransaction { try $0.execute(sql: "PRAGMA query_only = 0") }
        _ = try await client.waitFor(base.appendingPathComponent("v1/cases/\(letter.caseId)"), limit: .seconds(30)) { $0["state"] as? String == "terminated" }
        _ = try await client.waitFor(base.appendingPathComponent("health"), limit: .seconds(30)) { $0["status"] as? String == "ok" }
        await process.serviceGroup.triggerGracefulShutdown()
        try await running.value
        #expect(try await Self.readAll(cluster.bootstrapServers, topic: Topics.deadLetter).isEmpty)
    }

    @Test("issue 21, items 12 and 17: a full disk is a 503 that says so, and /health says so too; its public body names no internals, a token holder gets the details")
    func fullDisk() async throws {
        let cluster = try KafkaMockCluster()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("full-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        try Support.createTopics(cluster)
        let configuration = try Support.originSettings(cluster: cluster.bootstrapServers, folder: folder)
        let process = try await OfficeProcess<OriginOffice>(configuration: configuration, logger: Support.logger)
        let running = Task { try await process.run() }
        let port = try #require(await process.boundPort.value())
        let base = URL(string: "http://127.0.0.1:\(port)")!
        let client = Client()
        _ = try await client.waitFor(base.appendingPathComponent("health")) { $0["status"] as? String == "ok" }
        // The disk fills up: the file may not grow by a single page.
        try await process.context.database.writer.writeWithoutTransaction { db in
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            _ = try Int.fetchOne(db, sql: "PRAGMA max_page_count = \(pages)")
        }
        let person = Applicant.make(birth: "19850310", sequence: "013", hukou: "51", from: "1990-01", to: "2025-12")
        var request = URLRequest(url: base.appendingPathComponent("v1/persons/\(person.id.rawValue)"))
        request.httpMethod = "PUT"
        request.setValue("Bearer \(try await Support.token())", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: ["name": String(repeating: "李", count: 30), "hukouProvince": "51"])
        var refused: (Int, [String: Any]) = (0, [:])
        // Enough people to need a new page, each refused whole.
        for _ in 0..<200 {
            let (data, response) = try await URLSession.shared.data(for: request)
            refused = ((response as? HTTPURLResponse)?.statusCode ?? 0, (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:])
            if refused.0 != 201 && refused.0 != 200 { break }
            request.url = base.appendingPathComponent("v1/persons/\(Support.citizenID(birth: "19850310", sequence: String(format: "%03d", Int.random(in: 100...998))).rawValue)")
        }
        #expect(refused.0 == 503, "\(refused)")
        #expect(refused.1["title"] as? String == "Storage full")
        var body: [String: Any] = [:]
        #expect(try await Self.eventually {
            let (data, response) = try await URLSession.shared.data(from: base.appendingPathComponent("health"))
            body = (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
            return (response as? HTTPURLResponse)?.statusCode == 503 && body["database"] as? String == "storage full"
        }, "\(body)")
        #expect(body["details"] == nil, "no details without a token")
        #expect(!String(describing: body).contains(folder.path), "no file paths in the public body")
        var authorized = URLRequest(url: base.appendingPathComponent("health"))
        authorized.setValue("Bearer \(try await Support.token(roles: [.viewer]))", forHTTPHeaderField: "Authorization")
        let (data, _) = try await URLSession.shared.data(for: authorized)
        let detailed = (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
        #expect((detailed["details"] as? [String: String])?["database"] != nil, "\(detailed)")
        await process.serviceGroup.triggerGracefulShutdown()
        try await running.value
    }

    static func health(_ base: URL) async throws -> [String: Any] {
        let (data, _) = try await URLSession.shared.data(from: base.appendingPathComponent("health"))
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    @Test("the database syncs every commit (synchronous=FULL) and names its path when it cannot be opened")
    func durability() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("durability-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = try SQLiteStore(path: folder.appendingPathComponent("office.sqlite").path, migrations: { _ in })
        #expect(try database.writer.read { try Int.fetchOne($0, sql: "PRAGMA synchronous") } == 2)
        let error = #expect(throws: OfficeDatabaseError.self) {
            try SQLiteStore(path: "/proc/no-such-place/office.sqlite", migrations: { _ in })
        }
        #expect(error?.description.contains("/proc/no-such-place/office.sqlite") == true)
    }

    @Test("the shutdown watchdog ends a stop that hangs, with status 1 and a log line")
    func watchdog() async throws {
        let exited = Mutex<Int32?>(nil)
        let watchdog = ShutdownWatchdog(bound: .milliseconds(200), logger: Support.logger, exit: { code in exited.withLock { $0 = code } })
        let group = ServiceGroup(configuration: .init(services: [.init(service: watchdog)], logger: Support.logger))
        let running = Task { try await group.run() }
        try await Task.sleep(for: .milliseconds(100))
        #expect(exited.withLock { $0 } == nil, "not armed before shutdown")
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(try await Self.eventually(.seconds(3)) { exited.withLock { $0 } == 1 })
    }

    @Test("a worker losing conflicts to another instance's transactions is a warning for 30 s, then stuck; any other failure is stuck at once")
    func contentionGrace() throws {
        struct Broken: Error {}
        let health = OfficeHealth()
        health.report(.consumer, PostgresStoreError(sqlState: "40001", message: "could not serialize access"))
        let since = try #require(health.current[.consumer]?.since)
        #expect(health.standing(at: since).stuck.isEmpty && health.standing(at: since).contending.keys.contains(.consumer))
        health.report(.consumer, PostgresStoreError(sqlState: "40P01", message: "deadlock detected"))
        #expect(health.current[.consumer]?.since == since, "the problem keeps its first time")
        #expect(health.standing(at: since + 29).stuck.isEmpty)
        #expect(health.standing(at: since + 31).stuck.keys.contains(.consumer), "conflicts that last are a stuck worker")
        // A failure that is not a conflict makes the whole episode a problem, even if conflicts follow.
        health.report(.consumer, PostgresStoreError(sqlState: "08006", message: "connection lost", connectionLevel: true))
        health.report(.consumer, PostgresStoreError(sqlState: "40001", message: "could not serialize access"))
        #expect(health.standing(at: since).stuck.keys.contains(.consumer) && health.standing(at: since).contending.isEmpty)
        health.clear(.consumer)
        #expect(health.standing().stuck.isEmpty && health.standing().contending.isEmpty)
        health.report(.relay, Broken())
        #expect(health.standing().stuck.keys.contains(.relay))
    }
}

extension KafkaRecord {
    func header(_ name: String) -> String? { headers.last { $0.name == name }?.stringValue }
}
