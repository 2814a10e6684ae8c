import Foundation
import Logging
import OfficeRuntime
import OfficeStorage
import PostgresNIO
import Testing

/// The PostgreSQL server the tests use: `POSTGRES_TEST_URL` names a database on it the tests may
/// create databases from (`make test` starts one with scripts/postgres and sets it). Without it
/// the PostgreSQL cases are skipped outside CI; in CI they run and fail, as a missing broker does.
enum PostgresTest {
    static let adminURL = ProcessInfo.processInfo.environment["POSTGRES_TEST_URL"]
    static var available: Bool { adminURL != nil || ProcessInfo.processInfo.environment["CI"] != nil }

    struct NotConfigured: Error, CustomStringConvertible {
        var description: String { "POSTGRES_TEST_URL is not set: run the tests with `make test`" }
    }

    /// A new, empty database for one test; returns its URL.
    static func createDatabase(prefix: String = "test") async throws -> String {
        guard let adminURL, var components = URLComponents(string: adminURL) else { throw NotConfigured() }
        let name = "\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
        try await admin("CREATE DATABASE \(name)")
        components.path = "/\(name)"
        return components.string!
    }

    /// Drops a database made by ``createDatabase(prefix:)`` (its sessions are ended first).
    static func dropDatabase(_ url: String) async {
        guard let name = URLComponents(string: url)?.path.dropFirst(), !name.isEmpty else { return }
        try? await admin("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    private static func admin(_ statement: String) async throws {
        guard let adminURL, let url = URLComponents(string: adminURL), let host = url.host, let user = url.user else { throw NotConfigured() }
        let configuration = PostgresConnection.Configuration(
            host: host, port: url.port ?? 5432, username: user, password: url.password, database: String(url.path.dropFirst()), tls: .disable)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: Logger(label: "postgres-test"))
        defer { Task { try? await connection.close() } }
        _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: Logger(label: "postgres-test"))
    }
}

/// The stores a repository test runs on: SQLite always, PostgreSQL when the test server is there.
enum Backend: String, CustomStringConvertible, CaseIterable, Sendable {
    case sqlite, postgres
    var description: String { rawValue }

    static var available: [Backend] { PostgresTest.available ? [.sqlite, .postgres] : [.sqlite] }

    /// A fresh, migrated store of service `S`'s schema; `close` removes it.
    func open<S: OfficeService>(_: S.Type) async throws -> TestStore {
        switch self {
        case .sqlite:
            return TestStore(store: try SQLiteStore(path: nil, migrations: { S.registerMigrations(&$0) }), url: nil)
        case .postgres:
            let url = try await PostgresTest.createDatabase()
            let store = try await PostgresStore(
                url: url, lockName: "test", migrations: S.postgresMigrations, connections: 4, logger: Logger(label: "postgres-test"))
            return TestStore(store: store, url: url)
        }
    }
}

struct TestStore {
    let store: any OfficeStore
    let url: String?

    func close() async {
        await store.close()
        if let url { await PostgresTest.dropDatabase(url) }
    }
}
