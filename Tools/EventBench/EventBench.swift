import ArgumentParser
import EventSigning
import Foundation
import Kafka
import Logging
import TransferDomain

/// Benchmarks of signed events: the cryptographic floor under every event, and a large stream of
/// signed, consistent cases for measuring the audit.
@main
struct EventBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "event-bench",
        abstract: "Measure event signing on this machine, and write signed cases to a broker for the audit's benchmark.",
        discussion: """
            Both use the records a completed transfer puts on the wire (Shenzhen 440300 to Chengdu 510100: \
            letter, information form and relationship-received with 108 months each, funds, termination, \
            completion; 146 B to 13 KB).

              event-bench crypto --seconds 2
              event-bench generate --brokers 127.0.0.1:9092 --records 100000 --inbox-prefix bench.audit.1. --keys keys.json
              transfer-audit --brokers 127.0.0.1:9092 --inbox-prefix bench.audit.1. --dead-letter-topic bench.audit.1.dead-letter --keys keys.json

            `make bench` runs both.
            """,
        subcommands: [Crypto.self, Generate.self])

    /// The cryptographic floor under every event (issue 22): what signing and verifying one
    /// record costs on this machine, over the records of one completed case as the offices write
    /// them.
    struct Crypto: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure Ed25519 signing and verifying, and decoding, of the event records of one completed case on this machine (one thread).")
        @Option(help: "Seconds to spend on each of signing and verifying.") var seconds = 2.0
        @Option(help: "Also write the figures (crypto_sign_us, crypto_verify_us, records) to this JSON file.") var json: String?

        func validate() throws {
            guard seconds > 0, seconds <= 600 else { throw ValidationError("--seconds must be above 0 and at most 600") }
        }

        func run() throws {
            let records = try SampleCases().events(0)
            let signers = Signers()
            var signed: [(headers: [String: String], value: [UInt8])] = []
            for (event, value) in records {
                let headers = event.headers + (try signers.signer(event).signatureHeaders(headers: event.headers, value: value))
                signed.append((Dictionary(uniqueKeysWithValues: headers.map { ($0.name, $0.value) }), value))
            }
            let budget = Duration.seconds(seconds)
            let clock = ContinuousClock()
            // Signing: round robin over the case's records, until the budget is spent.
            var signatures = 0
            var start = clock.now
            while clock.now - start < budget {
                for (event, value) in records {
                    _ = try signers.signer(event).signatureHeaders(headers: event.headers, value: value)
                }
                signatures += records.count
            }
            let signMicroseconds = (clock.now - start).microseconds / Double(signatures)
            var verifications = 0
            start = clock.now
            while clock.now - start < budget {
                for record in signed { try EventSignature.verify(headers: record.headers, value: record.value, directory: signers.directory) }
                verifications += signed.count
            }
            let verifyMicroseconds = (clock.now - start).microseconds / Double(verifications)
            // Decoding, as a consumer and the audit take each record after its signature: the
            // CPU beside the floor that every reader of the stream pays.
            var decodings = 0
            start = clock.now
            while clock.now - start < budget {
                for record in signed { _ = try CloudEvent.decode(headers: record.headers, data: Data(record.value)) }
                decodings += signed.count
            }
            let decodeMicroseconds = (clock.now - start).microseconds / Double(decodings)
            let bytes = records.map { $0.1.count }
            print(String(
                format: "event-bench crypto: sign %.1f us, verify %.1f us, decode %.1f us per record (%d signatures, %d verifications, %d decodings over the %d records of a completed case, %d-%d bytes)",
                signMicroseconds, verifyMicroseconds, decodeMicroseconds, signatures, verifications, decodings, records.count, bytes.min() ?? 0, bytes.max() ?? 0))
            if let json {
                let figures: [String: Any] = [
                    "crypto_sign_us": signMicroseconds, "crypto_verify_us": verifyMicroseconds, "event_decode_us": decodeMicroseconds,
                    "crypto_signatures": signatures, "crypto_verifications": verifications, "crypto_records_per_case": records.count,
                ]
                try JSONSerialization.data(withJSONObject: figures, options: [.sortedKeys]).write(to: URL(fileURLWithPath: json))
            }
        }
    }

    /// Completed cases written to a broker as the offices would write them, signed with keys made
    /// for the run: the stream the audit's benchmark replays (issue 22, item 6).
    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write signed completed cases to inbox topics under a prefix, and the key directory that verifies them.")
        @Option(help: "Kafka bootstrap servers.") var brokers = "127.0.0.1:9092"
        @Option(help: "At least this many records (six per case).") var records = 100_000
        @Option(help: "Prefix of the inbox topics written (<prefix>440300.origin, <prefix>510100.destination, <prefix>510100.origin) and of the empty dead-letter topic <prefix>dead-letter.")
        var inboxPrefix: String
        @Option(help: "Partitions of each topic created.") var partitions = 6
        @Option(help: "Where to write the office key directory (the public keys of the run's signing keys).") var keys: String

        func validate() throws {
            guard records > 0, records <= 10_000_000 else { throw ValidationError("--records must be 1 to 10,000,000") }
            guard partitions > 0, partitions <= 64 else { throw ValidationError("--partitions must be 1 to 64") }
            guard !inboxPrefix.isEmpty, inboxPrefix.hasSuffix(".") else { throw ValidationError("--inbox-prefix must end with a dot, e.g. bench.audit.1.") }
        }

        func run() async throws {
            var logger = Logger(label: "event-bench")
            logger.logLevel = .error
            let signers = Signers()
            try signers.directory.json().write(to: URL(fileURLWithPath: keys), options: .atomic)
            let client = KafkaConfiguration(bootstrapServers: brokers.split(separator: ",").map(String.init), clientID: "event-bench")
            let admin = try KafkaAdminClient(configuration: client, logger: logger)
            let (origin, destination) = (SampleCases.origin, SampleCases.destination)
            let topics = [
                Topics.inbox(origin, .origin, prefix: inboxPrefix), Topics.inbox(destination, .destination, prefix: inboxPrefix),
                Topics.inbox(destination, .origin, prefix: inboxPrefix), inboxPrefix + "dead-letter",
            ]
            do {
                try await admin.createTopics(topics.map { KafkaNewTopic(name: $0, partitions: partitions) })
            } catch {
                throw ValidationError("cannot create the topics on \(brokers): \(error)")
            }
            let producer = try KafkaProducer(configuration: .init(client: client, idempotent: true, maxInFlight: 100_000, linger: .milliseconds(5)), logger: logger)
            let running = Task { try await producer.run() }
            defer { running.cancel() }
            let cases = (records + 5) / 6
            let samples = try SampleCases()
            let clock = ContinuousClock()
            let started = clock.now
            var written = 0
            var lastProgress = clock.now
            // A thousand cases at a time: built, signed, sent, every delivery checked.
            for chunk in stride(from: 0, to: cases, by: 1000) {
                var batch: [KafkaRecord] = []
                for index in chunk..<min(cases, chunk + 1000) {
                    for (event, value) in try samples.events(index) {
                        let headers = event.headers + (try signers.signer(event).signatureHeaders(headers: event.headers, value: value))
                        batch.append(KafkaRecord(
                            topic: Topics.inbox(event.recipient, event.type.reader, prefix: inboxPrefix), key: Array(event.key.utf8), value: value,
                            headers: headers.map { KafkaHeader(name: $0.name, string: $0.value) }))
                    }
                }
                for result in try await producer.send(batch: batch) {
                    if case .failure(let error) = result { throw ValidationError("a record was not delivered: \(error)") }
                }
                written += batch.count
                if clock.now - lastProgress > .seconds(1) {
                    lastProgress = clock.now
                    FileHandle.standardError.write(Data("event-bench generate: \(written) of \(cases * 6) records\n".utf8))
                }
            }
            try await producer.flush(timeout: .seconds(30))
            await producer.close()
            let seconds = (clock.now - started).microseconds / 1_000_000
            print(String(
                format: "event-bench generate: %d records of %d completed cases in %.1f s to %@<office>.<role> (%d partitions each); keys in %@",
                written, cases, seconds, inboxPrefix, partitions, keys))
        }
    }
}

/// A signing key per office for the run, and the directory of their public keys.
struct Signers {
    let byOffice: [String: EventSigner]
    let directory: EventKeyDirectory

    init() {
        let signers = [SampleCases.origin, SampleCases.destination].map { EventSigner.generate(office: $0.rawValue) }
        byOffice = Dictionary(uniqueKeysWithValues: signers.map { ($0.directoryEntry.office, $0) })
        directory = EventKeyDirectory(keys: signers.map(\.directoryEntry))
    }

    func signer(_ event: CloudEvent) -> EventSigner { byOffice[event.source.rawValue]! }
}

extension Duration {
    var microseconds: Double { Double(components.seconds) * 1_000_000 + Double(components.attoseconds) / 1_000_000_000_000 }
}
