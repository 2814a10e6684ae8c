import Foundation
import Logging
import OfficeRuntime
import OfficeStorage
import Testing
import TransferDomain

/// `DATABASE_URL`'s TLS settings against the test server, which scripts/postgres starts with a
/// certificate from its own test CA (issue 21, item 6).
@Suite("PostgreSQL over TLS (test server)", .enabled(if: PostgresTest.available))
struct PostgresTLSTests {
    static let ca = ProcessInfo.processInfo.environment["POSTGRES_TEST_CA"]

    /// The admin URL with `query` added.
    func url(_ query: String) throws -> String {
        try #require(PostgresTest.adminURL, "POSTGRES_TEST_URL is not set") + query
    }

    /// Whether the store's connections are encrypted, as the server sees its own session.
    func encrypted(_ url: String) async throws -> Bool {
        let store = try await PostgresStore(url: url, lockName: "tls-test", migrations: [], connections: 1, migrate: false, logger: Support.logger)
        defer { Task { await store.close() } }
        return try await store.read { transaction in
            try PostgresTransaction.of(transaction).query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")[0].bool("ssl")
        }
    }

    @Test("verify-full against the test CA connects encrypted; a certificate the given CA did not sign is refused; require encrypts without checking; plaintext by default")
    func sslModes() async throws {
        let ca = try #require(Self.ca, "POSTGRES_TEST_CA is not set: run the tests with `make test`")
        #expect(try await encrypted(try url("?sslmode=verify-full&sslrootcert=\(ca)")))
        #expect(try await encrypted(try url("?sslmode=require")))
        #expect(try await !encrypted(try url("")))
        #expect(try await !encrypted(try url("?sslmode=disable")))

        // Another CA: the server's certificate does not verify, so nothing connects.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pg-rogue-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let rogue = try await OfficeRuns.KafkaSecurityTests.certificates(in: folder, name: "rogue")
        await #expect(throws: (any Error).self) { _ = try await encrypted(try url("?sslmode=verify-full&sslrootcert=\(rogue.ca)")) }
    }

    @Test("the URL's parameters: unknown ones and bad values are refused, naming the setting; verify-full with a CA file is taken")
    func parameters() throws {
        for bad in ["?sslmode=prefer", "?ssl=true", "?sslmode=require&sslrootcert=/x.pem", "?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem&x=1"] {
            #expect(throws: ValidationError.self, "\(bad)") {
                _ = try OfficeConfiguration(role: .origin, values: Support.eventKeySettings("440300").merging([
                    "office.code": "440300", "auth.public.keys": Support.keys.publicKey, "database.url": "postgres://office:secret@127.0.0.1:5432/db\(bad)",
                ]) { $1 })
            }
        }
        let configuration = try OfficeConfiguration(role: .origin, values: Support.eventKeySettings("440300").merging([
            "office.code": "440300", "auth.public.keys": Support.keys.publicKey,
            "database.url": "postgres://office:secret@127.0.0.1:5432/db?sslmode=verify-full&sslrootcert=/etc/ssl/ca.pem",
        ]) { $1 })
        #expect(configuration.databaseURL?.contains("sslmode=verify-full") == true)
    }
}
