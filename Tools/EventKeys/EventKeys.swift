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
        subcommands: [Keygen.self, List.self, Retire.self, Bench.self])

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

    /// The cryptographic floor under every event (issue 22): what signing and verifying one
    /// record costs on this machine, over the records of one completed case as the offices write
    /// them (their headers and values, a form and a relationship-received carrying 108 months).
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure Ed25519 signing and verifying of the event records of one completed case on this machine (one thread).")
        @Option(help: "Seconds to spend on each of signing and verifying.") var seconds = 2.0
        @Option(help: "Also write the figures (crypto_sign_us, crypto_verify_us, records) to this JSON file.") var json: String?

        func validate() throws {
            guard seconds > 0, seconds <= 600 else { throw ValidationError("--seconds must be above 0 and at most 600") }
        }

        func run() throws {
            let records = try Self.completedCase()
            let signer = EventSigner.generate(office: "440300")
            let destinationSigner = EventSigner.generate(office: "510100")
            let directory = EventKeyDirectory(keys: [signer.directoryEntry, destinationSigner.directoryEntry])
            let signers = ["440300": signer, "510100": destinationSigner]
            var signed: [(headers: [String: String], value: [UInt8])] = []
            for (event, value) in records {
                let headers = event.headers + (try signers[event.source.rawValue]!.signatureHeaders(headers: event.headers, value: value))
                signed.append((Dictionary(uniqueKeysWithValues: headers.map { ($0.name, $0.value) }), value))
            }
            let budget = Duration.seconds(seconds)
            let clock = ContinuousClock()
            // Signing: round robin over the case's records, until the budget is spent.
            var signatures = 0
            var start = clock.now
            while clock.now - start < budget {
                for (event, value) in records {
                    _ = try signers[event.source.rawValue]!.signatureHeaders(headers: event.headers, value: value)
                }
                signatures += records.count
            }
            let signMicroseconds = (clock.now - start).microseconds / Double(signatures)
            var verifications = 0
            start = clock.now
            while clock.now - start < budget {
                for record in signed { try EventSignature.verify(headers: record.headers, value: record.value, directory: directory) }
                verifications += signed.count
            }
            let verifyMicroseconds = (clock.now - start).microseconds / Double(verifications)
            let bytes = records.map { $0.1.count }
            print(String(
                format: "event-keys bench: sign %.1f us, verify %.1f us per record (%d signatures, %d verifications over the %d records of a completed case, %d-%d bytes)",
                signMicroseconds, verifyMicroseconds, signatures, verifications, records.count, bytes.min() ?? 0, bytes.max() ?? 0))
            if let json {
                let figures: [String: Any] = [
                    "crypto_sign_us": signMicroseconds, "crypto_verify_us": verifyMicroseconds,
                    "crypto_signatures": signatures, "crypto_verifications": verifications, "crypto_records_per_case": records.count,
                ]
                try JSONSerialization.data(withJSONObject: figures, options: [.sortedKeys]).write(to: URL(fileURLWithPath: json))
            }
        }

        /// The records a completed transfer puts on the wire: letter, form, funds, termination,
        /// completion, and the relationship handed to the destination's own origin role.
        static func completedCase() throws -> [(CloudEvent, [UInt8])] {
            let (shenzhen, chengdu) = (try OfficeCode("440300"), try OfficeCode("510100"))
            let directory = OfficeDirectory.standard
            let (origin, destination) = (directory[shenzhen]!, directory[chengdu]!)
            let person = PersonRef(PersonFacts(citizenID: try CitizenID("440524188001010014"), name: "Chen Jing", hukouProvince: try ProvinceCode("44")))
            let months = try (0..<108).map { offset in
                ContributionMonth(
                    period: try YearMonth("2016-01").advanced(by: offset), base: try Money("8000.00"), employerRate: .percent("16"),
                    personalRate: .percent("8"), placeCode: shenzhen)
            }
            let form = try TransferCalculator.informationForm(months: months, pre1998Account: .zero, kind: .general, transferYear: 2025, rates: CreditingRates())
            let caseID = CaseID()
            let letter = ContactLetterNumber(office: chengdu, year: 2025, sequence: 1)
            let day = try LocalDate("2025-09-26")
            let events: [(OfficeCode, OfficeCode, TransferEvent)] = [
                (chengdu, shenzhen, .contactLetterIssued(ContactLetterIssued(
                    caseId: caseID, contactLetterNo: letter, person: person, origin: OfficeRef(origin), destination: OfficeRef(destination),
                    destinationAccount: destination.account, certificateNo: nil, applicationDate: day, issuedOn: day))),
                (shenzhen, chengdu, .infoFormIssued(InfoFormIssued(caseId: caseID, contactLetterNo: letter, person: person, form: form, issuedOn: day))),
                (shenzhen, chengdu, .fundsRemitted(FundsRemitted(
                    caseId: caseID, contactLetterNo: letter, remittanceId: RemittanceID(office: shenzhen, year: 2025, sequence: 1), amount: form.totalRemitted,
                    payerAccount: origin.account, payeeAccount: destination.account, valueDate: day))),
                (shenzhen, chengdu, .originRelationshipTerminated(OriginRelationshipTerminated(caseId: caseID, contactLetterNo: letter, citizenId: person.citizenId, terminatedOn: day))),
                (chengdu, shenzhen, .transferCompleted(TransferCompleted(caseId: caseID, contactLetterNo: letter, receivedTotal: form.totalRemitted, completedOn: day))),
                (chengdu, chengdu, .relationshipReceived(RelationshipReceived(
                    caseId: caseID, person: person, from: OfficeRef(origin), accountKind: .general, pre1998Account: .zero, months: months, completedOn: day))),
            ]
            return try events.map { source, recipient, event in
                let cloud = CloudEvent(source: source, recipient: recipient, time: Date(), event: event)
                return (cloud, Array(try cloud.data()))
            }
        }
    }
}

extension Duration {
    var microseconds: Double { Double(components.seconds) * 1_000_000 + Double(components.attoseconds) / 1_000_000_000_000 }
}
