import ArgumentParser
import AuditCore
import EventSigning
import Foundation
import Kafka
import Logging
import OfficeRuntime
import OfficeStorage
import TransferDomain

/// `transfer-audit`: replays the topics between offices and proves every case consistent.
@main
struct TransferAudit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer-audit",
        abstract: "Replay the pension-transfer topics and check every case: nothing lost, nothing doubled, money conserved, deadlines met.",
        discussion: """
            Reads every office inbox (the topics named by --inbox-prefix, an office code and a role: <prefix><code>.<role>) and the dead-letter topic from \
            the beginning (or from --from offsets, or --since a time) up to the end each partition had when the audit \
            started, so it ends even while offices keep writing. It reads with explicit partition assignment and commits \
            nothing: the offices' consumer groups are never disturbed.

            Every record's signature is checked against the office key directory (--keys, or $EVENT_KEYS_FILE): a \
            forged, altered or unsigned record is a violation and takes no part in any case. Every case is rebuilt \
            from the events alone with the domain's state machines and checked: ①-⑥ arithmetic, \
            remittance = ⑥, one outcome per contact letter, completion only after a match, unique contact-letter \
            numbers, remittance ids posted once, money conserved, every case terminal or reported open with its age, \
            deadlines per step (working-day calendar), lost events, per-case order, schema. Duplicate deliveries of \
            the same event (same ce_id) are counted, not violations; duplicate effects are violations.

            --compare-db opens an office's database read-only (a SQLite file, or a PostgreSQL URL \
            postgres://user@host:port/database) and reports every case whose stored state or amount differs from \
            the rebuilt one (run it when no events are in flight).

            A secured cluster: the same variables as the offices, KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM, \
            KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and KAFKA_SSL_CA_LOCATION (the auditor's principal needs read \
            access to every inbox and the dead-letter topic).

            Exit status: 0 clean, 1 violations found, 2 usage or connection error.
            """)

    @Option(help: "Kafka bootstrap servers (default: $KAFKA_BOOTSTRAP_SERVERS or 127.0.0.1:9092).")
    var brokers: String?

    @Option(help: "Inbox topics are this prefix, an office code and a role (<prefix><code>.origin, .destination); every one found is read.")
    var inboxPrefix = Topics.inboxPrefix

    @Option(help: "The office key directory signatures are checked against (default: $EVENT_KEYS_FILE).")
    var keys: String?

    @Flag(help: "Do not check signatures (the report says so). Only for streams from before signed events.")
    var skipSignatures = false

    @Option(help: "Dead-letter topic.")
    var deadLetterTopic = Topics.deadLetter

    @Option(name: .customLong("from"), help: "Start a partition at an offset: TOPIC:PARTITION:OFFSET (repeatable).")
    var fromOffsets: [String] = []

    @Option(help: "Start at a time (YYYY-MM-DD in Asia/Shanghai, or RFC 3339); record timestamps are checked, not trusted.")
    var since: String?

    @Option(help: "The business date deadlines are judged on (default: today in Asia/Shanghai).")
    var asOf: String?

    @Option(help: "Output: text or json.")
    var format: OutputFormat = .text

    @Option(help: "An office database to compare with the rebuild: a SQLite PATH or a postgres:// URL, optionally followed by @OFFICECODE (repeatable).")
    var compareDB: [String] = []

    @Flag(help: "Print every finding (text format shows the first 50).")
    var all = false

    enum OutputFormat: String, ExpressibleByArgument { case text, json }

    static func main() async {
        do {
            var command = try parseAsRoot()
            if var audit = command as? TransferAudit {
                let code = try await audit.audit()
                Foundation.exit(code)
            }
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            FileHandle.standardError.write(Data("transfer-audit: \(fullMessage(for: error))\n".utf8))
            Foundation.exit(2)
        }
    }

    mutating func audit() async throws -> Int32 {
        var logger = Logger(label: "transfer-audit")
        logger.logLevel = .critical
        let servers = brokers ?? ProcessInfo.processInfo.environment["KAFKA_BOOTSTRAP_SERVERS"] ?? "127.0.0.1:9092"
        let asOfDate = try asOf.map { try LocalDate($0, field: "--as-of") } ?? Auditor.businessDate(Date())
        // A short fetch wait: a replay reads to the end and should not idle at each partition end.
        var client = KafkaConfiguration(
            bootstrapServers: servers.split(separator: ",").map(String.init), clientID: "transfer-audit", properties: ["fetch.wait.max.ms": "50"])
        // TLS and SASL from the same variables the offices read (KAFKA_SECURITY_PROTOCOL, ...).
        let environment = ProcessInfo.processInfo.environment
        let variable = { (setting: String) in "KAFKA_" + setting.uppercased().replacingOccurrences(of: ".", with: "_") }
        do {
            try client.applySecurity { environment[variable($0)] ?? "" }
        } catch {
            throw ValidationError("\(variable(error.setting)): \(error.reason)")
        }
        var keyDirectory: EventKeyDirectory?
        if !skipSignatures {
            guard let path = keys ?? ProcessInfo.processInfo.environment["EVENT_KEYS_FILE"] else {
                throw ValidationError("give the office key directory with --keys (or $EVENT_KEYS_FILE), or --skip-signatures")
            }
            guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("--keys: cannot read \(path)") }
            keyDirectory = try EventKeyDirectory(json: data)
        }

        // Partition counts, and a clear error when the broker or a topic is missing.
        let admin = try KafkaAdminClient(configuration: client, logger: logger)
        let metadata: [KafkaTopicMetadata]
        do {
            metadata = try await admin.listTopics(timeout: .seconds(10))
        } catch {
            throw ValidationError("cannot reach the broker at \(servers): \(error)")
        }
        let inboxes = metadata.map(\.name).filter { Topics.inboxOwner($0, prefix: inboxPrefix) != nil }
        guard !inboxes.isEmpty else { throw ValidationError("no inbox topics \(inboxPrefix)<office>.<role> on \(servers)") }
        let topics = inboxes.sorted() + [deadLetterTopic]
        var starts: [TopicPartition: Int64] = [:]
        for topic in topics {
            guard let found = metadata.first(where: { $0.name == topic }), found.partitionCount > 0 else {
                throw ValidationError("topic \(topic) does not exist on \(servers)")
            }
            for partition in 0..<Int32(found.partitionCount) { starts[TopicPartition(topic, partition)] = RDBeginning.value }
        }
        var notes: [String] = []
        let partial = !fromOffsets.isEmpty || since != nil
        for text in fromOffsets {
            let parts = text.split(separator: ":")
            guard parts.count == 3, let partition = Int32(parts[1]), let offset = Int64(parts[2]), offset >= 0,
                  starts[TopicPartition(String(parts[0]), partition)] != nil
            else { throw ValidationError("--from must be TOPIC:PARTITION:OFFSET of an existing partition, got \(text)") }
            starts[TopicPartition(String(parts[0]), partition)] = offset
        }
        var sinceDate: Date?
        if let since {
            sinceDate = try Self.parseTime(since)
            let (adjusted, note) = try await Self.startsForTime(sinceDate!, starts: starts, client: client, logger: logger)
            starts = adjusted
            notes.append(note)
        }

        // Replay every partition to the end it had at the start.
        let consumer = try KafkaConsumer(
            configuration: .init(
                client: client,
                mode: .assignment(starts.sorted { $0.key < $1.key }.map {
                    KafkaPartitionStart(topic: $0.key.topic, partition: $0.key.partition, offset: $0.value < 0 ? .beginning : .exactly($0.value))
                })),
            logger: logger)
        let clock = ContinuousClock()
        let started = clock.now
        let showProgress = isatty(STDERR_FILENO) != 0
        var lastProgress = clock.now
        var recordCount = 0
        var deadLetters: [AuditRecord] = []
        var ended = 0
        var skippedBeforeSince = 0
        // Each batch's signatures and decoding are checked while the next batches are read.
        var checking: [Task<[(AuditRecord, Auditor.Checked)], Never>] = []
        let keys = keyDirectory
        for try await batch in consumer.replay() {
            var batchRecords: [AuditRecord] = []
            for message in batch.messages {
                if let sinceDate, let timestamp = message.timestamp, timestamp < sinceDate {
                    skippedBeforeSince += 1
                    continue
                }
                let record = AuditRecord(message)
                if message.topic == deadLetterTopic { deadLetters.append(record) } else { batchRecords.append(record) }
            }
            recordCount += batchRecords.count
            if !batchRecords.isEmpty {
                // Checked, then kept without their bytes: the rebuild needs the decoded event and
                // where it was read, not the value (a form's record is 13 KB; a replay of a
                // million records would otherwise hold them all until the report).
                checking.append(Task.detached {
                    batchRecords.map { record in
                        let checked = Auditor.check(record, keys: keys)
                        var kept = record
                        kept.value = nil
                        return (kept, checked)
                    }
                })
            }
            ended += batch.partitionEnds.count
            if showProgress, clock.now - lastProgress > .milliseconds(250) {
                lastProgress = clock.now
                FileHandle.standardError.write(Data("\r\u{1B}[Ktransfer-audit: \(recordCount + deadLetters.count) records, \(ended)/\(starts.count) partitions at their end".utf8))
            }
        }
        let elapsed = clock.now - started
        if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        // The queried watermark is only a cross-check: on the embedded broker it under-reports.
        // All partitions are asked at once.
        let disagreements = await withTaskGroup(of: Bool.self) { group in
            for partition in starts.keys {
                group.addTask {
                    guard let fetched = consumer.fetchedWatermarks(partition), let queried = try? await consumer.queryWatermarks(partition, timeout: .seconds(5)) else { return false }
                    return fetched.high != queried.high
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        if disagreements > 0 {
            notes.append("the broker's watermark query disagreed with the fetched end on \(disagreements) partition(s); the audit used the fetched end")
        }
        if skippedBeforeSince > 0 { notes.append("\(skippedBeforeSince) records before --since were skipped by their timestamps") }
        await consumer.close()
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let total = recordCount + deadLetters.count
        FileHandle.standardError.write(Data(String(format: "transfer-audit: replayed %d records in %.2f s (%.0f records/s)\n", total, seconds, seconds > 0 ? Double(total) / seconds : 0).utf8))

        var checked: [(AuditRecord, Auditor.Checked)] = []
        checked.reserveCapacity(recordCount)
        for task in checking { checked += await task.value }
        checked.sort { ($0.0.topic, $0.0.partition, $0.0.offset) < ($1.0.topic, $1.0.partition, $1.0.offset) }
        let auditor = Auditor(asOf: asOfDate, keys: keyDirectory)
        var report = auditor.audit(checked: checked, deadLetters: deadLetters, partial: partial, notes: notes)
        for entry in compareDB {
            report.findings += try await Self.compare(entry, report: report)
        }
        switch format {
        case .text: print(report.text(maxFindings: all ? Int.max : 50))
        case .json: print(String(decoding: try report.json(), as: UTF8.self))
        }
        return report.isClean ? 0 : 1
    }

    static func parseTime(_ text: String) throws -> Date {
        if let date = try? LocalDate(text) {
            return Date(timeIntervalSince1970: Double(date.daysSinceEpoch) * 86_400 - 8 * 3600)
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return date }
        throw ValidationError("--since must be YYYY-MM-DD or an RFC 3339 time, got \(text)")
    }

    /// Start offsets for `since`: the broker's offsets-for-times answer, verified against the
    /// timestamps of the records around it; where it cannot be verified, scan from the beginning.
    static func startsForTime(_ since: Date, starts: [TopicPartition: Int64], client: KafkaConfiguration, logger: Logger) async throws -> ([TopicPartition: Int64], String) {
        let probe = try KafkaConsumer(
            configuration: .init(client: client, mode: .assignment(starts.keys.map { .init(topic: $0.topic, partition: $0.partition, offset: .beginning) })),
            logger: logger)
        defer { Task { await probe.close() } }
        var result = starts
        var verified = 0
        var fallback = 0
        let answers = (try? await probe.offsets(forTimes: Dictionary(uniqueKeysWithValues: starts.keys.map { ($0, since) }))) ?? [:]
        for partition in starts.keys {
            guard let answer = answers[partition], let offset = answer, offset > 0 else {
                fallback += 1
                continue
            }
            // The record just before the answer must be older than `since`; start there and let
            // the client-side timestamp filter drop it.
            let check = try KafkaConsumer(
                configuration: .init(client: client, mode: .assignment([.init(topic: partition.topic, partition: partition.partition, offset: .exactly(offset - 1))])),
                logger: logger)
            var before: Date?
            for try await batch in check.replay(maxCount: 1) {
                if let first = batch.messages.first { before = first.timestamp }
                break
            }
            await check.close()
            if let before, before < since {
                result[partition] = offset - 1
                verified += 1
            } else {
                fallback += 1
            }
        }
        return (result, "--since: the broker's offsets-for-times was verified on \(verified) partition(s); \(fallback) partition(s) were scanned from the beginning and filtered by record timestamps")
    }

    /// What `--compare-db` reads of an office database.
    struct StoredTables {
        var isDestination = false
        var isOrigin = false
        /// Names of the document counters (`CL-510100-2026`, ...): they tell whose database it is.
        var sequences: [String] = []
        /// caseId, the day the case started, its contact letter (origin), its stored history.
        var cases: [(caseId: String, startedOn: String, letter: String?, events: String)] = []
    }

    /// Compares one office database with the rebuild.
    static func compare(_ entry: String, report: AuditReport) async throws -> [Finding] {
        var location = entry
        var office: String?
        if let at = entry.lastIndex(of: "@"), entry[entry.index(after: at)...].count == 6, entry[entry.index(after: at)...].allSatisfy(\.isNumber) {
            location = String(entry[..<at])
            office = String(entry[entry.index(after: at)...])
        }
        let tables = try await storedTables(location)
        guard tables.isDestination || tables.isOrigin else { throw ValidationError("--compare-db: \(location) is not an office database") }
        let prefix = tables.isDestination ? "CL-" : "RM-"
        let names = tables.sequences.sorted()
        guard let office = office ?? (names.first { $0.hasPrefix(prefix) } ?? names.first).map({ String($0.dropFirst(3).prefix(6)) }) else {
            throw ValidationError("--compare-db: cannot tell which office \(location) belongs to; write \(location)@OFFICECODE")
        }
        var stored: [StoredCase] = []
        for row in tables.cases {
            if tables.isDestination {
                let events = try JSONDecoder().decode([DestinationCaseEvent].self, from: Data(row.events.utf8))
                let rebuilt = try DestinationCase.replay(id: try CaseID(row.caseId), submittedOn: try LocalDate(row.startedOn), events: events)
                stored.append(StoredCase(caseId: row.caseId, state: rebuilt.state.rawValue, amount: rebuilt.received))
            } else {
                let events = try JSONDecoder().decode([OriginCaseEvent].self, from: Data(row.events.utf8))
                let rebuilt = try OriginCase.replay(
                    id: try CaseID(row.caseId), contactLetter: try ContactLetterNumber(row.letter ?? ""), receivedOn: try LocalDate(row.startedOn),
                    events: events)
                stored.append(StoredCase(caseId: row.caseId, state: rebuilt.state.rawValue, amount: rebuilt.remitted))
            }
        }
        return LiveComparison.compare(report, stored: stored, role: tables.isDestination ? .destination : .origin, office: office)
    }

    /// Reads the tables of the office store at `location` (a SQLite file or a `postgres://` URL)
    /// through the store's own API, read-only and without migrating it.
    static func storedTables(_ location: String) async throws -> StoredTables {
        let store: any OfficeStore
        if location.hasPrefix("postgres://") || location.hasPrefix("postgresql://") {
            store = try await PostgresStore(
                url: location, lockName: "audit", migrations: [], connections: 1, migrate: false, logger: Logger(label: "transfer-audit"))
        } else {
            guard FileManager.default.fileExists(atPath: location) else { throw ValidationError("--compare-db: no database at \(location)") }
            store = try SQLiteStore(readingOnly: location)
        }
        do {
            let tables = try await store.read { transaction -> StoredTablesBox in
                var tables = StoredTables(
                    isDestination: try transaction.tableExists("destinationCase"), isOrigin: try transaction.tableExists("originCase"))
                guard tables.isDestination || tables.isOrigin else { return StoredTablesBox(tables) }
                tables.sequences = try transaction.portableQuery("SELECT name FROM documentSequence", []).map { try $0.string("name") }
                let query = tables.isDestination
                    ? "SELECT caseId, submittedOn AS startedOn, CAST(NULL AS TEXT) AS letter, events FROM destinationCase"
                    : "SELECT caseId, receivedOn AS startedOn, contactLetterNo AS letter, events FROM originCase"
                tables.cases = try transaction.portableQuery(query, []).map {
                    (try $0.string("caseId"), try $0.string("startedOn"), $0.optionalString("letter"), try $0.string("events"))
                }
                return StoredTablesBox(tables)
            }
            await store.close()
            return tables.tables
        } catch {
            await store.close()
            throw error
        }
    }

    /// Carries the tables out of the store's transaction (a tuple array is not Sendable).
    struct StoredTablesBox: @unchecked Sendable {
        var tables: StoredTables
        init(_ tables: StoredTables) { self.tables = tables }
    }
}

/// librdkafka's "beginning" as a start marker.
enum RDBeginning {
    static let value: Int64 = -2
}

extension AuditRecord {
    init(_ message: KafkaMessage) {
        var headers: [String: String] = [:]
        for header in message.headers { if let value = header.stringValue, headers[header.name] == nil { headers[header.name] = value } }
        self.init(
            topic: message.topic, partition: message.partition, offset: message.offset, key: message.keyString, headers: headers,
            value: message.value.map { Data($0) }, timestamp: message.timestamp,
            repeatedHeader: EventSignature.repeatedHeader(message.headers.map(\.name)))
    }
}
