import Foundation
import GRDB
import Hummingbird
import Kafka
import HummingbirdTesting
import Logging
import Crypto
import EventSigning
import OfficeAuth
import OfficeRuntime
import OfficeStorage
import Synchronization
import Testing
import TransferDomain

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

enum Support {
    static let logger: Logger = {
        var logger = Logger(label: "office-tests")
        logger.logLevel = ProcessInfo.processInfo.environment["OFFICE_TEST_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .critical
        return logger
    }()

    /// The business date every test office starts on: the suite computes the same transfers on
    /// any day it runs (the national crediting rates and the rates below cover the years before it).
    static let businessDate = try! LocalDate("2026-06-15")
    static let businessYear = businessDate.year
    static let clock = BusinessClock(startingOn: businessDate)
    /// Today on the test offices' business clock.
    static var today: LocalDate { clock.today }

    /// Crediting rates the tests' origins hold (office settings for years outside the national table).
    static let rates = "1995=3.0,1996=3.0,1997=3.0,1998=3.0,1999=2.5,2000=2.5,2001=2.5,2002=2.5,2003=2.5,2004=2.5,2005=2.5,2006=2.5,2007=3.0,2008=3.0,2009=2.5,2010=2.5,2011=3.0,2012=3.0,2013=3.0,2014=3.0,2015=3.0,2025=2.0"

    static func configuration(_ role: OfficeRole, code: String, extra: [String: String] = [:]) throws -> OfficeConfiguration {
        var values = ["office.code": code, "crediting.rates": rates, "kafka.statistics.interval.ms": "0", "auth.public.keys": keys.publicKey]
        values.merge(eventKeySettings(code)) { $1 }
        values.merge(extra) { $1 }
        return try OfficeConfiguration(role: role, values: values)
    }

    /// The token issuer's key pair for every test office (made once per test run).
    static let keys: (privateKey: String, publicKey: String) = {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("office-test-keys-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let pair = (folder.appendingPathComponent("issuer.pem").path, folder.appendingPathComponent("issuer.pub.pem").path)
        if !FileManager.default.fileExists(atPath: pair.0) { _ = try! TokenKeys.generate(privateKeyPath: pair.0, publicKeyPath: pair.1) }
        return pair
    }()
    static let testOffices = ["440300", "510100", "330100", "510700"]

    /// Event signing keys for every test office and the key directory listing them (made once per
    /// test run): what an office signs with, and what every office and the audit check against.
    static let eventKeys: (directory: String, privateKeys: [String: String], signers: [String: EventSigner], keys: EventKeyDirectory) = {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("office-test-event-keys-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var privateKeys: [String: String] = [:]
        var signers: [String: EventSigner] = [:]
        var entries: [EventKeyDirectory.Key] = []
        for office in testOffices {
            let key = Curve25519.Signing.PrivateKey()
            let path = folder.appendingPathComponent("\(office).pem").path
            FileManager.default.createFile(atPath: path, contents: Data(Ed25519PEM.pem(key).utf8), attributes: [.posixPermissions: 0o600])
            let signer = EventSigner(privateKey: key, office: office)
            privateKeys[office] = path
            signers[office] = signer
            entries.append(.init(office: office, id: signer.keyID, publicKey: key.publicKey, retired: false))
        }
        let directory = EventKeyDirectory(keys: entries)
        let directoryPath = folder.appendingPathComponent("office-keys.json").path
        try! directory.json().write(to: URL(fileURLWithPath: directoryPath))
        return (directoryPath, privateKeys, signers, directory)
    }()

    /// The settings that give a test office its signing key and the directory.
    static func eventKeySettings(_ office: String) -> [String: String] {
        ["event.signing.key": eventKeys.privateKeys[office]!, "event.keys.file": eventKeys.directory]
    }

    /// A token for the test offices, every role by default.
    static func token(roles: [AccessRole] = AccessRole.allCases, offices: [String] = testOffices, subject: String = "test", lifetime: Duration = .seconds(3600)) async throws -> String {
        try await TokenIssuer(privateKeyPath: keys.privateKey, issuer: "pension-transfer").mint(subject: subject, offices: offices, roles: roles, lifetime: lifetime)
    }

    /// How the router-level test offices authenticate: tokens from ``keys``.
    static func authentication(office: String) async throws -> Authentication {
        .tokens(try await TokenVerifier(publicKeyPaths: [keys.publicKey], issuer: "pension-transfer"), office: office)
    }

    /// An in-memory office context (no broker: events stay in the outbox).
    static func context<S: OfficeService>(_: S.Type, code: String) throws -> OfficeContext {
        let configuration = try configuration(S.role, code: code)
        let database = try SQLiteStore(path: nil, migrations: { S.registerMigrations(&$0) })
        return OfficeContext(
            configuration: configuration, database: database, signer: eventKeys.signers[code]!, eventKeys: eventKeys.keys, clock: clock,
            logger: logger)
    }

    /// The router with authentication off (every request has every role): for tests of what the
    /// routes do; ``callRaw(_:_:_:_:token:)`` goes through the real token check.
    static func application<S: OfficeService>(_ service: S) -> some ApplicationProtocol {
        application(service, authentication: .disabled)
    }

    /// The router of a service, built as the process builds it (problem documents, tokens, roles).
    static func application<S: OfficeService>(_ service: S, authentication: Authentication) -> some ApplicationProtocol {
        Application(router: OfficeRouter.make(service, authentication: authentication), logger: logger)
    }

    static func citizenID(area: String = "440300", birth: String, sequence: String) -> CitizenID {
        let first17 = area + birth + sequence
        return try! CitizenID(first17 + String(CitizenID.checkCharacter(forFirst17: first17)))
    }

    static func json(_ object: [String: Any]) -> ByteBuffer {
        ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: object))
    }

    static func decode(_ buffer: ByteBuffer) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))) as? [String: Any] ?? [:]
    }

    /// Events waiting in an office's outbox, by type.
    static func outbox(_ database: any OfficeStore) throws -> [(type: String, recipient: String, payload: [String: Any])] {
        try database.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT eventType, headers, payload FROM outbox ORDER BY seq").map { row in
                let headers = (try? JSONDecoder().decode([[String]].self, from: Data((row["headers"] as String).utf8))) ?? []
                let recipient = headers.first { $0.first == "ce_recipient" }?.last ?? ""
                let payload = (try? JSONSerialization.jsonObject(with: row["payload"] as Data)) as? [String: Any] ?? [:]
                return (row["eventType"], recipient, payload)
            }
        }
    }
}

extension Support {
    /// The events in an office's outbox, decoded as a consumer would.
    static func outboxEvents(_ database: any OfficeStore) throws -> [CloudEvent] {
        try database.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT headers, payload FROM outbox ORDER BY seq").map { row in
                let pairs = try JSONDecoder().decode([[String]].self, from: Data((row["headers"] as String).utf8))
                let headers = Dictionary(pairs.map { ($0[0], $0[1]) }, uniquingKeysWith: { $1 })
                return try CloudEvent.decode(headers: headers, data: row["payload"] as Data)
            }
        }
    }
}

/// A business clock a test moves by hand.
final class ManualClock: Sendable {
    private let instant: Mutex<Date>

    init(_ date: LocalDate) {
        // 10:00 in Shanghai on `date`.
        instant = Mutex(Date(timeIntervalSince1970: Double(date.daysSinceEpoch) * 86_400 + 2 * 3600))
    }

    var now: Date { instant.withLock { $0 } }

    var clock: BusinessClock { BusinessClock(now: { self.now }) }

    func advance(days: Int) { instant.withLock { $0 = $0.addingTimeInterval(Double(days) * 86_400) } }
}

extension Support {
    /// One request to `service`'s routes (router level, no sockets): status and JSON body.
    static func call<S: OfficeService>(
        _ service: S, _ method: HTTPRequest.Method, _ uri: String, _ body: [String: Any]? = nil
    ) async throws -> (status: HTTPResponse.Status, body: [String: Any]) {
        let (status, _, decoded) = try await callRaw(service, method, uri, body.map { Array(json($0).readableBytesView) })
        return (status, decoded)
    }
}

extension Support {
    /// One request with a raw body: status, headers and the JSON body.
    /// - Parameter token: the bearer token (`nil`: one with every role; `""`: none at all).
    static func callRaw<S: OfficeService>(
        _ service: S, _ method: HTTPRequest.Method, _ uri: String, _ body: [UInt8]?, token: String? = nil
    ) async throws -> (status: HTTPResponse.Status, headers: HTTPFields, body: [String: Any]) {
        let buffer = body.map { ByteBuffer(bytes: $0) }
        var headers: HTTPFields = [:]
        let bearer: String
        if let token { bearer = token } else { bearer = try await Support.token() }
        if !bearer.isEmpty { headers[.authorization] = "Bearer \(bearer)" }
        let app = application(service, authentication: try await authentication(office: service.office.rawValue))
        let response = try await app.test(.router) { [headers] client in
            try await client.execute(uri: uri, method: method, headers: headers, body: buffer)
        }
        return (response.status, response.headers, decode(response.body))
    }

    /// A digest of every row of every table: equal before and after a request means the request
    /// changed nothing.
    static func fingerprint(_ database: any OfficeStore) throws -> String {
        try database.writer.read { db in
            let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('healthProbe') ORDER BY name")
            var text = ""
            for table in tables {
                text += "#\(table)\n"
                for row in try Row.fetchAll(db, sql: "SELECT * FROM \"\(table)\" ORDER BY rowid") { text += row.description + "\n" }
            }
            return text
        }
    }
}

extension Support {
    /// Runs blocking work (a child process, a socket read) on a dispatch queue, off Swift's
    /// cooperative pool: on 2 cores, one blocked pool thread slows every other test.
    static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
        }
    }
}

extension Support {
    /// Runs one of the built executables (`OFFICE_BIN_DIR`, else .build/debug) as an operator
    /// runs it, off the cooperative pool; gives its exit status, standard output and error.
    static func runTool(_ name: String, _ arguments: [String], environment: [String: String]? = nil) async throws -> (status: Int32, output: Data, error: String) {
        try await run(OperatorCommandTests.binaries.appendingPathComponent(name), arguments, environment: environment)
    }

    /// Runs one of the built executables with standard output and error in one stream, as a
    /// terminal shows them; gives its exit status and that text.
    static func runToolCombined(_ name: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await offPool {
            let process = Process()
            process.executableURL = OperatorCommandTests.binaries.appendingPathComponent(name)
            process.arguments = arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: data, as: UTF8.self))
        }
    }

    /// Runs `executable` off the cooperative pool; gives its exit status, standard output and error.
    static func run(_ executable: URL, _ arguments: [String], environment: [String: String]? = nil) async throws -> (status: Int32, output: Data, error: String) {
        try await offPool {
            let process = Process()
            process.executableURL = executable
            process.arguments = arguments
            if let environment { process.environment = environment }
            let output = Pipe()
            let error = Pipe()
            process.standardOutput = output
            process.standardError = error
            try process.run()
            // A tool that hangs is stopped after ten minutes (its status then says so), so a test
            // fails with what the tool printed rather than at the suite's time limit.
            let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
            DispatchQueue.global().asyncAfter(deadline: .now() + 600, execute: watchdog)
            defer { watchdog.cancel() }
            // Standard error read on its own thread, so a full pipe cannot stall the tool.
            final class Box: @unchecked Sendable { var data = Data() }
            let errorData = Box()
            let done = DispatchSemaphore(value: 0)
            Thread {
                errorData.data = error.fileHandleForReading.readDataToEndOfFile()
                done.signal()
            }.start()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            done.wait()
            return (process.terminationStatus, data, String(decoding: errorData.data, as: UTF8.self))
        }
    }

    /// `event` as a Kafka record: signed with the test key of `signedBy` (`.some(nil)`, the
    /// default, signs with the key of the office the event claims as its source; `nil` leaves it
    /// unsigned).
    static func signedRecord(_ event: CloudEvent, signedBy: String?? = .some(nil), topic: String) throws -> KafkaRecord {
        switch signedBy {
        case .none: return try signedRecord(event, signer: nil, topic: topic)
        case .some(let office): return try signedRecord(event, signer: eventKeys.signers[office ?? event.source.rawValue]!, topic: topic)
        }
    }

    /// `event` as a Kafka record signed by `signer` (`nil`: unsigned).
    static func signedRecord(_ event: CloudEvent, signer: EventSigner?, topic: String) throws -> KafkaRecord {
        let value = try event.data()
        var headers = event.headers
        if let signer { headers += try signer.signatureHeaders(headers: event.headers, value: Array(value)) }
        return KafkaRecord(topic: topic, key: Array(event.key.utf8), value: Array(value), headers: headers.map { KafkaHeader(name: $0.name, string: $0.value) })
    }
}

extension Support {
    /// The test offices' inboxes and the dead-letter topic on a mock cluster.
    static func createTopics(_ cluster: KafkaMockCluster) throws {
        for office in testOffices { for role in OfficeRole.allCases { try cluster.createTopic(Topics.inbox(try OfficeCode(office), role), partitions: 1) } }
        try cluster.createTopic(Topics.deadLetter, partitions: 1)
    }
}

extension OfficeStore {
    /// The SQLite store behind an in-process test office (they run on SQLite unless a test opens
    /// a PostgreSQL store itself).
    var sqlite: SQLiteStore { self as! SQLiteStore }
    var writer: any DatabaseWriter { sqlite.writer }
}

extension Support {
    /// The settings of an origin office (440300) on `cluster` with its database in `folder`, and
    /// `extra` on top: the office the runtime's fault tests start as a whole process.
    static func originSettings(cluster bootstrapServers: String, folder: URL, _ extra: [String: String] = [:]) throws -> OfficeConfiguration {
        try OfficeConfiguration(role: .origin, values: eventKeySettings("440300").merging([
            "office.code": "440300", "http.port": "0", "database.path": folder.appendingPathComponent("origin.sqlite").path,
            "kafka.bootstrap.servers": bootstrapServers, "kafka.statistics.interval.ms": "0", "auth.public.keys": keys.publicKey,
            "crediting.rates": rates, "business.date": businessDate.description,
        ]) { $1 }.merging(extra) { $1 })
    }

    /// Why `deliver` was refused as the consumer sorts it: the dead-letter reason of a record's
    /// fault, `infrastructure: ...` for the office's own trouble, `nil` when it was applied.
    static func refusal(_ deliver: () async throws -> Void) async -> String? {
        do {
            try await deliver()
            return nil
        } catch {
            if case .record(let reason) = EventFailure.classify(error) { return reason }
            return "infrastructure: \(error)"
        }
    }
}

// The tests reach a backend's connection directly (the product's code never asks which backend
// it has: its repositories get their records through StoreBackends).
extension SQLiteTransaction {
    static func of(_ transaction: any StoreTransaction) throws -> Database {
        try #require(transaction as? SQLiteTransaction, "a SQLite transaction").db
    }
}

extension PostgresTransaction {
    static func of(_ transaction: any StoreTransaction) throws -> PostgresTransaction {
        try #require(transaction as? PostgresTransaction, "a PostgreSQL transaction")
    }
}
