import ArgumentParser
import Crypto
import EventSigning
import Foundation
import TransferDomain

/// Makes offices' event signing keys and keeps the office key directory every office and the
/// audit load.
@main
struct EventKeys: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "event-keys",
        abstract: "Event signing keys of the offices, and the office key directory.",
        discussion: """
            Every office signs the events it sends with its own Ed25519 key (EVENT_SIGNING_KEY) and checks \
            what it receives against the senders' public keys in the directory (EVENT_KEYS_FILE), which \
            every office and transfer-audit load.

              event-keys keygen --office 440300 --private-key shenzhen-events.pem --directory office-keys.json
              event-keys list --directory office-keys.json
              event-keys retire --directory office-keys.json --key-id 440300-3f2a9c1d

            Rotation: keygen a new key for the office (the directory then lists both), give the new \
            directory to every office and the audit, switch the office to the new private key; retire \
            the old key once nothing it signed is left to read.
            """,
        subcommands: [Keygen.self, List.self, Retire.self])

    /// The directory in `path`; an empty one when the file does not exist and `creating`.
    static func load(_ path: String, creating: Bool = false) throws -> EventKeyDirectory {
        guard let data = FileManager.default.contents(atPath: path) else {
            if creating && !FileManager.default.fileExists(atPath: path) { return EventKeyDirectory(keys: []) }
            throw ValidationError("cannot read the directory \(path)")
        }
        do { return try EventKeyDirectory(json: data) } catch { throw ValidationError("\(path): \(error)") }
    }

    static func save(_ directory: EventKeyDirectory, to path: String) throws {
        try directory.json().write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a signing key for an office and add its public key to the directory.")

        @Option(help: "The office's 6-digit code.") var office: String
        @Option(help: "Where to write the private key (PEM; the office's EVENT_SIGNING_KEY).") var privateKey: String
        @Option(help: "The directory file to add the public key to (created when missing).") var directory: String
        @Flag(help: "Replace an existing private key file.") var force = false

        func validate() throws {
            guard (try? OfficeCode(office)) != nil else { throw ValidationError("--office \(office) is not an office code") }
        }

        func run() throws {
            if FileManager.default.fileExists(atPath: privateKey) && !force { throw ValidationError("\(privateKey) exists; use --force to replace it") }
            let existing = try EventKeys.load(directory, creating: true)  // a broken directory leaves no stray key behind
            let key = Curve25519.Signing.PrivateKey()
            guard FileManager.default.createFile(atPath: privateKey, contents: Data(Ed25519PEM.pem(key).utf8), attributes: [.posixPermissions: 0o600]) else {
                throw ValidationError("cannot write \(privateKey)")
            }
            let id = EventKeyDirectory.keyID(office: office, publicKey: key.publicKey)
            try EventKeys.save(EventKeyDirectory(keys: existing.keys + [.init(office: office, id: id, publicKey: key.publicKey, retired: false)]), to: directory)
            print("office \(office): key \(id) (private key \(privateKey), public key added to \(directory))")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the directory's keys.")
        @Option(help: "The directory file.") var directory: String

        func run() throws {
            for key in try EventKeys.load(directory).keys { print("\(key.office)  \(key.id)\(key.retired ? "  retired" : "")") }
        }
    }

    struct Retire: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Mark a key retired: events it signed are no longer accepted.")
        @Option(help: "The directory file.") var directory: String
        @Option(help: "The key to retire.") var keyID: String

        func run() throws {
            let existing = try EventKeys.load(directory)
            guard existing.key(id: keyID) != nil else { throw ValidationError("no key \(keyID) in \(directory)") }
            try EventKeys.save(EventKeyDirectory(keys: existing.keys.map { var key = $0; if key.id == keyID { key.retired = true }; return key }), to: directory)
            print("retired \(keyID)")
            let office = existing.key(id: keyID)!.office
            if !existing.keys.contains(where: { $0.office == office && $0.id != keyID && !$0.retired }) {
                print("warning: office \(office) has no active key left; it cannot start until one is added (event-keys keygen)")
            }
        }
    }
}
