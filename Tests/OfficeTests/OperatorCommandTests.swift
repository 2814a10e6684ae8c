import Foundation
import GRDB
import OfficeRuntime
import OriginOffice
import Testing
import TransferDomain

/// The office executables' operator subcommands, run as an operator runs them.
@Suite("Operator commands of the office executables")
struct OperatorCommandTests {
    static var binaries: URL {
        ProcessInfo.processInfo.environment["OFFICE_BIN_DIR"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent(".build/debug")
    }

    func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await Support.runToolCombined("origin-office", arguments)
    }

    @Test("outbox parked lists what the relay set aside and why; outbox release puts it back in line")
    func parkedAndRelease() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("operator-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("origin.sqlite").path
        let database = try OfficeDatabase(path: path, migrations: { OriginOffice.registerMigrations(&$0) })
        let event = RuntimeTests.event()
        try await database.writer.write { db in
            try Outbox.append(event, topic: Topics.inbox(event.recipient), signer: Support.eventKeys.signers[event.source.rawValue]!, in: db)
            try db.execute(sql: "UPDATE outbox SET parkedAt = ?, parkReason = 'Kafka error MSG_SIZE_TOO_LARGE (10): too large'", arguments: [Date()])
        }
        let listed = try await run(["outbox", "parked", "--database-path", path])
        #expect(listed.status == 0)
        #expect(listed.output.contains("transfer-completed") && listed.output.contains("MSG_SIZE_TOO_LARGE"), "\(listed.output)")
        let json = try await run(["outbox", "parked", "--json", "--database-path", path])
        let rows = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [[String: Any]]
        #expect(rows?.first?["eventId"] as? String == event.id.uuidString.lowercased())
        #expect(try await run(["outbox", "release", "99", "--database-path", path]).status == 1)
        #expect(try await run(["outbox", "release", "1", "--database-path", path]).status == 0)
        #expect(try await database.writer.read { try Outbox.statistics($0) }.parked == 0)
        #expect(try await run(["outbox", "frobnicate"]).status == 2)
    }
}
