import DestinationOffice
import Foundation
import Kafka
import EventSigning
import Logging
import OfficeRuntime
import OfficeStorage
import OriginOffice
import ServiceLifecycle
import Testing
import TransferDomain

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The real broker that `make test` starts (nil under a bare `swift test`).
enum Broker {
    static let servers = ProcessInfo.processInfo.environment["KAFKA_TEST_BOOTSTRAP_SERVERS"]
    /// Real-broker suites run whenever a broker is given, and always in CI (where a missing one fails).
    static var available: Bool { servers != nil || ProcessInfo.processInfo.environment["CI"] != nil }

    static func require() throws -> String {
        guard let servers else { throw Missing() }
        return servers
    }

    struct Missing: Error, CustomStringConvertible {
        var description: String { "KAFKA_TEST_BOOTSTRAP_SERVERS is not set: run the tests with `make test`" }
    }
}

/// Names that isolate one test's offices from every other test's: own topics, groups, files.
struct TestWorld: Sendable {
    let id = UUID().uuidString.prefix(8).lowercased()
    let servers: String
    /// Office settings for a secured broker (`kafka.security.protocol`, `kafka.ssl.ca.location`, ...),
    /// also used by the world's own producers and readers.
    let security: [String: String]
    let folder: URL

    /// A world on the test broker, or on `servers` reached with `security` settings.
    init(servers: String? = nil, security: [String: String] = [:]) throws {
        self.servers = try servers ?? Broker.require()
        self.security = security
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("office-tests-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    var inboxPrefix: String { "t-\(id)-inbox-" }
    /// The inbox of `office`'s `role` service in this world.
    func inbox(_ office: String, _ role: OfficeRole) -> String { Topics.inbox(try! OfficeCode(office), role, prefix: inboxPrefix) }
    var deadLetterTopic: String { "t-\(id)-dead-letter" }

    /// Settings of an office in this world, as configuration keys.
    func settings(_ role: OfficeRole, code: String, port: Int = 0) -> [String: String] {
        [
            "office.code": code, "http.port": String(port), "database.path": folder.appendingPathComponent("\(role.rawValue)-\(code).sqlite").path,
            "kafka.bootstrap.servers": servers, "kafka.group.id": "g-\(id)-\(role.rawValue)-\(code)",
            "topic.inbox.prefix": inboxPrefix, "topic.dead.letter": deadLetterTopic,
            "crediting.rates": Support.rates, "kafka.statistics.interval.ms": "0", "shutdown.timeout.seconds": "10",
            "kafka.topic.partitions": "3", "business.date": Support.businessDate.description,
            "auth.public.keys": Support.keys.publicKey,
        ].merging(Support.eventKeySettings(code)) { $1 }.merging(security) { $1 }
    }

    /// A Kafka client of this world (its servers, its security settings).
    func client(_ id: String) throws -> KafkaConfiguration {
        var configuration = KafkaConfiguration(bootstrapServers: [servers], clientID: "\(id)-\(self.id)")
        try configuration.applySecurity { security["kafka." + $0] ?? "" }
        return configuration
    }

    /// Starts an office in this process and waits until its HTTP API listens.
    /// `extra` settings replace the world's (e.g. another key directory).
    func start<S: OfficeService>(_: S.Type, code: String, extra: [String: String] = [:]) async throws -> RunningOffice<S> {
        let configuration = try OfficeConfiguration(role: S.role, values: settings(S.role, code: code).merging(extra) { $1 })
        let process = try await OfficeProcess<S>(configuration: configuration, logger: Support.logger)
        let task = Task { try await process.run() }
        guard let port = await process.boundPort.value() else { throw Broker.Missing() }
        return RunningOffice(process: process, task: task, url: URL(string: "http://127.0.0.1:\(port)")!)
    }

    /// Every record of `topic` up to its end, across its partitions.
    func records(_ topic: String, partitions: Int32 = 3) async throws -> [KafkaMessage] {
        let consumer = try KafkaConsumer(
            configuration: .init(
                client: try client("reader"),
                mode: .assignment((0..<partitions).map { .init(topic: topic, partition: $0, offset: .beginning) })),
            logger: Support.logger)
        var messages: [KafkaMessage] = []
        for try await batch in consumer.replay() { messages += batch.messages }
        await consumer.close()
        return messages
    }

    /// The first record of `type` on `topic`, waiting (up to 20 s) for the relay to publish it.
    func firstRecord(_ topic: String, type: EventType) async throws -> KafkaMessage? {
        for _ in 0..<100 {
            if let record = try await records(topic).first(where: { $0.header("ce_type") == type.ceType }) { return record }
            try await Task.sleep(for: .milliseconds(200))
        }
        return nil
    }

    /// The first contact letter in `office`'s inbox (waiting for it as ``firstRecord(_:type:)``),
    /// decoded, with the event that carried it.
    func firstContactLetter(to office: String) async throws -> (event: CloudEvent, letter: ContactLetterIssued) {
        guard let record = try await firstRecord(inbox(office, .origin), type: .contactLetterIssued) else {
            throw TestFailure("no contact letter reached \(inbox(office, .origin))")
        }
        let event = try record.cloudEvent()
        guard case .contactLetterIssued(let letter) = event.event else { throw TestFailure("not a contact letter: \(event.type)") }
        return (event, letter)
    }

    /// Produces `event` into its recipient's inbox as an office would, signed with the key of
    /// `signedBy` (by default the office it claims to come from; `nil` for no signature).
    func publish(_ event: CloudEvent, signedBy: String?? = .some(nil), to topic: String? = nil) async throws {
        try await send([try Support.signedRecord(event, signedBy: signedBy, topic: topic ?? inbox(event.recipient.rawValue, event.type.reader))])
    }

    /// Produces `records` in order, each acknowledged before the next is sent.
    func send(_ records: [KafkaRecord]) async throws {
        let producer = try KafkaProducer(configuration: .init(client: try client("fake")), logger: Support.logger)
        for record in records { _ = try await producer.send(record) }
        await producer.close()
    }

    /// Re-produces records exactly as they were (same headers, same `ce_id`): a redelivery.
    func redeliver(_ messages: [KafkaMessage]) async throws {
        let producer = try KafkaProducer(configuration: .init(client: try client("again")), logger: Support.logger)
        for message in messages {
            _ = try await producer.send(KafkaRecord(topic: message.topic, key: message.key, value: message.value, headers: message.headers))
        }
        await producer.close()
    }

    /// Removes the world's files (databases, logs), unless KEEP_TEST_FILES is set (to read the
    /// offices' logs after a failure).
    func cleanUp() {
        if ProcessInfo.processInfo.environment["KEEP_TEST_FILES"] != nil {
            print("test files kept in \(folder.path)")
            return
        }
        try? FileManager.default.removeItem(at: folder)
    }
}

/// An office running in this test process.
struct RunningOffice<S: OfficeService>: Sendable {
    let process: OfficeProcess<S>
    let task: Task<Void, any Error>
    let url: URL

    var database: any OfficeStore { process.context.database }

    func stop() async throws {
        await process.serviceGroup.triggerGracefulShutdown()
        try await task.value
    }
}

/// JSON over HTTP against a running office.
struct Client: Sendable {
    /// The bearer token sent; by default one with every role for every test office.
    var token: String?

    init(token: String? = nil) {
        self.token = token
    }

    struct Failure: Error, CustomStringConvertible {
        var status: Int
        var body: String
        var description: String { "HTTP \(status): \(body)" }
    }

    @discardableResult
    func call(_ method: String, _ url: URL, _ body: [String: Any]? = nil) async throws -> [String: Any] {
        var request = URLRequest(url: url)
        request.httpMethod = method
        let bearer: String
        if let token { bearer = token } else { bearer = try await Support.token() }
        request.setValue("Bearer \(bearer)", forHTTPHeaderField: "Authorization")
        if let body {
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else { throw Failure(status: status, body: String(decoding: data, as: UTF8.self)) }
        return (try JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }

    /// Polls `GET url` until `done` holds for its body, or fails after `limit`.
    func waitFor(_ url: URL, limit: Duration = .seconds(45), _ done: @escaping ([String: Any]) -> Bool) async throws -> [String: Any] {
        let clock = ContinuousClock()
        let start = clock.now
        var last: [String: Any] = [:]
        while clock.now - start < limit {
            if let body = try? await call("GET", url) {
                last = body
                if done(body) { return body }
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("timed out waiting on \(url.path); last: \(last)")
        return last
    }
}

/// People and their ledgers, registered through the public APIs only.
struct Applicant {
    var id: CitizenID
    var name: String
    var hukou: String
    var months: [ContributionMonth]
    var pre1998: Money
    var kind: AccountKind = .general

    static func make(birth: String, sequence: String, hukou: String = "44", origin: String = "440300", from start: String, to end: String, base: String = "8000.00", pre1998: String = "0.00") -> Applicant {
        var months: [ContributionMonth] = []
        var period = try! YearMonth(start)
        let last = try! YearMonth(end)
        while period <= last {
            months.append(ContributionMonth(period: period, base: try! Money(base), employerRate: .percent("16"), personalRate: .percent("8"), placeCode: try! OfficeCode(origin)))
            period = period.advanced(by: 1)
        }
        return Applicant(id: Support.citizenID(area: origin, birth: birth, sequence: sequence), name: "Test \(sequence)", hukou: hukou, months: months, pre1998: try! Money(pre1998))
    }

    /// ⑥ as the domain computes it.
    func expectedTotal(year: Int) throws -> Money {
        try TransferCalculator.informationForm(
            months: months, pre1998Account: pre1998, kind: kind, transferYear: year, rates: try OfficeConfiguration.parseRates(Support.rates)
        ).totalRemitted
    }

    func registerAtOrigin(_ client: Client, _ origin: URL, status: String = "suspended", arrears: String = "0.00", name: String? = nil) async throws {
        let person = origin.appendingPathComponent("v1/persons/\(id.rawValue)")
        try await client.call("PUT", person, [
            "name": name ?? self.name, "hukouProvince": hukou, "status": "contributing", "arrears": arrears,
            "pre1998Account": pre1998.description, "accountKind": kind.rawValue,
        ])
        try await client.call("POST", person.appendingPathComponent("months"), [
            "months": months.map { ["period": $0.period.description, "base": $0.base.description, "employerRate": $0.employerRate.description, "personalRate": $0.personalRate.description] },
        ])
        if status == "suspended" { try await client.call("POST", person.appendingPathComponent("suspension"), [:]) }
    }

    func registerAtDestination(_ client: Client, _ destination: URL, pension: Bool = false) async throws {
        try await client.call("PUT", destination.appendingPathComponent("v1/persons/\(id.rawValue)"), [
            "name": name, "hukouProvince": hukou, "registeredOn": "2026-03-02", "receivesPension": pension,
        ])
    }

    func apply(_ client: Client, _ destination: URL, origin: String = "440300", certificate: String? = nil) async throws -> String {
        var body: [String: Any] = ["citizenId": id.rawValue, "originOffice": origin]
        if let certificate { body["certificateNo"] = certificate }
        return try await client.call("POST", destination.appendingPathComponent("v1/applications"), body)["caseId"] as? String ?? ""
    }
}

let terminalStates: Set<String> = ["rejected", "temporary-account-opened", "letter-returned", "completed"]

extension KafkaMessage {
    /// The record's string headers by name (the first of a doubled one).
    var stringHeaders: [String: String] {
        Dictionary(headers.compactMap { header in header.stringValue.map { (header.name, $0) } }, uniquingKeysWith: { first, _ in first })
    }

    /// The CloudEvent this record carries.
    func cloudEvent() throws -> CloudEvent {
        try CloudEvent.decode(headers: stringHeaders, data: Data(value ?? []))
    }
}
