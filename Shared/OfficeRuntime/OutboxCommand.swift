import Foundation
import Logging
import OfficeStorage

/// `<office> outbox parked|release`: what an operator does with outbox events the relay set aside.
enum OutboxCommand {
    static func run<S: OfficeService>(_: S.Type, name: String, arguments: [String]) async -> Int32 {
        func fail(_ message: String, status: Int32 = 2) -> Int32 {
            FileHandle.standardError.write(Data("\(name) outbox: \(message)\n".utf8))
            return status
        }
        guard let verb = arguments.first, ["parked", "release"].contains(verb) else {
            return fail("usage: \(name) outbox parked [--json] | \(name) outbox release <seq>   (plus the office's settings, e.g. --database-path)")
        }
        var rest = Array(arguments.dropFirst())
        let json = rest.contains("--json")
        rest.removeAll { $0 == "--json" }
        var seq: Int64?
        if verb == "release" {
            guard let first = rest.first, let number = Int64(first) else { return fail("release needs the row's seq number (see `outbox parked`)") }
            seq = number
            rest.removeFirst()
        }
        do {
            // The command serves no API: the token settings do not matter to it.
            let configuration = try await OfficeConfiguration.load(role: S.role, arguments: [name] + rest + ["--auth-disabled", "true"])
            let database = try await OfficeStores.open(S.self, configuration: configuration, logger: Logger(label: name))
            if let seq {
                let released = try await database.write { transaction in try transaction.release(seq: seq) }
                guard released else { return fail("no parked event with seq \(seq) in \(database.location)", status: 1) }
                print("released outbox event \(seq): the relay publishes it next (a running office within its idle poll)")
                return 0
            }
            let rows = try await database.read { transaction in try transaction.parkedOutbox() }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                encoder.dateEncodingStrategy = .iso8601
                print(String(decoding: try encoder.encode(rows), as: UTF8.self))
            } else if rows.isEmpty {
                print("no parked outbox events in \(database.location)")
            } else {
                print("parked outbox events in \(database.location):")
                for row in rows {
                    print("  seq \(row.seq)  \(row.eventType)  key \(PrivacyMask.mask(row.key))  \(row.bytes) bytes  parked \(CloudEventTime.format(row.parkedAt))  \(row.heldBehind) held behind")
                    print("      \(row.reason)")
                }
            }
            return 0
        } catch {
            return fail("\(error)", status: 1)
        }
    }
}
