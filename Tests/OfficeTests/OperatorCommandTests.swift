import Foundation
import GRDB
import OfficeRuntime
import OfficeStorage
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
        let database = try SQLiteStore(path: path, migrations: { OriginOffice.registerMigrations(&$0) })
        let event = RuntimeTests.event()
        try await database.writer.write { db in
            try Outbox.append(event, topic: Topics.inbox(event.recipient, event.type.reader), signer: Support.eventKeys.signers[event.source.rawValue]!, in: db)
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

    /// Runs the origin executable with `input` on standard input.
    func run(_ arguments: [String], input: String) async throws -> (status: Int32, output: String) {
        try await Support.offPool {
            let process = Process()
            process.executableURL = Self.binaries.appendingPathComponent("origin-office")
            process.arguments = arguments
            let stdin = Pipe()
            let out = Pipe()
            process.standardInput = stdin
            process.standardOutput = out
            process.standardError = out
            try process.run()
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try stdin.fileHandleForWriting.close()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: data, as: UTF8.self))
        }
    }

    @Test("accounts: create reads the password from standard input (never a flag), list, roles, reset and disable end the account's sessions")
    func accounts() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("accounts-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("origin.sqlite").path
        let created = try await run(["accounts", "create", "li.na", "--display-name", "Li Na", "--role", "clerk", "--database-path", path], input: "a long enough password\n")
        #expect(created.status == 0, "\(created.output)")
        #expect(try await run(["accounts", "create", "li.na", "--display-name", "Li Na", "--role", "clerk", "--database-path", path], input: "a long enough password\n").status == 1)
        #expect(try await run(["accounts", "create", "x.y", "--display-name", "X", "--role", "clerk", "--password", "secret", "--database-path", path], input: "").status == 2)
        #expect(try await run(["accounts", "create", "x.y", "--display-name", "X", "--role", "clerk", "--database-path", path], input: "short\n").status == 2)
        #expect(try await run(["accounts", "create", "x.y", "--display-name", "X", "--role", "chief", "--database-path", path], input: "a long enough password\n").status == 2)
        let store = try SQLiteStore(path: path, migrations: { OriginOffice.registerMigrations(&$0) })
        let account = try await store.read { transaction in try transaction.staffAccount("li.na") }
        #expect(account?.roles == [.clerk] && account?.disabled == false)
        #expect(account.map { StaffPasswords.verify("a long enough password", hash: $0.passwordHash) } == true)
        #expect(!(account?.passwordHash.contains("a long enough password") ?? true))
        let now = Date()
        try await store.write { transaction in
            try transaction.insertStaffSession(StaffSession(idHash: "h1", username: "li.na", csrfToken: "t", createdAt: now, lastSeenAt: now))
        }
        let roles = try await run(["accounts", "roles", "li.na", "--role", "viewer", "--role", "operator", "--database-path", path], input: "")
        #expect(roles.status == 0 && roles.output.contains("1 session(s) ended"), "\(roles.output)")
        let listed = try await run(["accounts", "list", "--database-path", path], input: "")
        #expect(listed.output.contains("li.na\tLi Na\toperator,viewer"), "\(listed.output)")
        #expect(try await run(["accounts", "reset", "li.na", "--database-path", path], input: "another long password\n").status == 0)
        let reset = try await store.read { transaction in try transaction.staffAccount("li.na") }
        #expect(reset.map { StaffPasswords.verify("another long password", hash: $0.passwordHash) } == true)
        #expect(try await run(["accounts", "disable", "li.na", "--database-path", path], input: "").status == 0)
        #expect(try await store.read { transaction in try transaction.staffAccount("li.na") }?.disabled == true)
        #expect(try await run(["accounts", "disable", "nobody", "--database-path", path], input: "").status == 1)
    }
}
