import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Logging
import OfficeRuntime
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

    /// Crediting rates the tests' origins hold (office settings for years outside the national table).
    static let rates = "1995=3.0,1996=3.0,1997=3.0,1998=3.0,1999=2.5,2000=2.5,2001=2.5,2002=2.5,2003=2.5,2004=2.5,2005=2.5,2006=2.5,2007=3.0,2008=3.0,2009=2.5,2010=2.5,2011=3.0,2012=3.0,2013=3.0,2014=3.0,2015=3.0,2025=2.0"

    static func configuration(_ role: OfficeRole, code: String, extra: [String: String] = [:]) throws -> OfficeConfiguration {
        var values = ["office.code": code, "crediting.rates": rates, "kafka.statistics.interval.ms": "0"]
        values.merge(extra) { $1 }
        return try OfficeConfiguration(role: role, values: values)
    }

    /// An in-memory office context (no broker: events stay in the outbox).
    static func context<S: OfficeService>(_: S.Type, code: String) throws -> OfficeContext {
        let configuration = try configuration(S.role, code: code)
        let database = try OfficeDatabase(path: nil, migrations: { S.registerMigrations(&$0) })
        return OfficeContext(configuration: configuration, database: database, logger: logger)
    }

    /// The router of a service with the runtime's problem middleware, as the process builds it.
    static func application<S: OfficeService>(_ service: S) -> some ApplicationProtocol {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ProblemMiddleware())
        service.addRoutes(to: router)
        return Application(router: router, logger: logger)
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
    static func outbox(_ database: OfficeDatabase) throws -> [(type: String, recipient: String, payload: [String: Any])] {
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
