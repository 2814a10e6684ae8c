import ArgumentParser
import Foundation
import Histogram
import Kafka
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Measures the Kafka module against references in the same run, on the same broker: `kcat` and
/// a small C loop over librdkafka (benchmarks/c/rdkafka_loop.c).
@main
struct KafkaBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka-bench",
        abstract: "Measure the Kafka module's producer, consumer and awaited-send latency against kcat and a C loop over librdkafka.",
        discussion: """
            Start a broker first (scripts/broker start), or run `make bench`, which does everything.
            Producer: the same N records (300-byte values, keys k0..k63, idempotent, acks=all,
            linger.ms=1) produced by our producer's batch send, by kcat -P and by the C loop, in
            alternating order, `--rounds` times; plus our one-awaited-send-per-record path on at
            most 50,000 records. Consumer: the C loop's topic read by our consumer (a group
            consumer reading batches of 1,000 and committing after each without waiting for the
            broker, as the offices do; the same waiting for each commit; and `replay`), by kcat -C -e and
            by the C loop; each timed from the moment it may fetch (assignment, or process start
            for kcat, whose start-up counts against it) to its last record. Latency: awaited single sends at a fixed offered rate, measured from
            each send's scheduled time (no coordinated omission), percentiles from an
            HdrHistogram. Medians over the rounds; CPU time per record from getrusage (ours: this
            process; references: the child process). Progress goes to standard error; --json
            writes the figures for benchmarks/results.json.
            """)

    @Option(help: "Bootstrap servers of the broker to measure.")
    var brokers = "127.0.0.1:9092"

    @Option(help: "Records per producer and consumer run.")
    var records = 500_000

    @Flag(help: "50,000 records and 1 round: a quick look.")
    var quick = false

    @Option(help: "Rounds of each measurement (medians are reported).")
    var rounds = 3

    @Option(help: "Size of each record value in bytes.")
    var valueSize = 300

    @Option(help: "Offered rate of the latency test, sends per second.")
    var latencyRate = 500

    @Option(help: "Duration of the latency test in seconds.")
    var latencySeconds = 10

    @Option(help: "Path of kcat.")
    var kcat = "kcat"

    @Option(help: "Path of the C reference (built from benchmarks/c/rdkafka_loop.c).")
    var cLoop = ".build/rdkafka_loop"

    @Option(
        name: .customLong("property"),
        help: "A librdkafka property for our producer and consumers, as name=value (repeatable): to try a setting against the same references.")
    var properties: [String] = []

    @Option(help: "Our producer's window: records sent and not yet acknowledged (KafkaProducerConfiguration.maxInFlight; the offices use 10,000).")
    var maxInFlight = 100_000

    @Option(help: "Write the figures as JSON to this file.")
    var json: String?

    mutating func run() async throws {
        var logger = Logger(label: "kafka-bench")
        logger.logLevel = .error
        let count = quick ? min(records, 50_000) : records
        let rounds = quick ? 1 : max(1, rounds)
        var extra: [String: String] = [:]
        for property in properties {
            guard let equals = property.firstIndex(of: "="), equals != property.startIndex else {
                throw ValidationError("--property \(property): expected name=value")
            }
            extra[String(property[..<equals])] = String(property[property.index(after: equals)...])
        }
        let client = KafkaConfiguration(bootstrapServers: [brokers], clientID: "kafka-bench", properties: extra)
        let admin = try KafkaAdminClient(configuration: client, logger: logger)
        let runID = UUID().uuidString.prefix(8).lowercased()
        let value = String(repeating: "x", count: valueSize)
        let records = (0..<count).map { KafkaRecord(topic: "", key: "k\($0 % 64)", value: value) }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("kafka-bench-\(runID).txt")
        try ((0..<count).map { "k\($0 % 64):\(value)" }.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        progress("librdkafka \(LibrdkafkaVersion.linked), broker \(brokers), \(count) records of \(valueSize) B, \(rounds) round(s)")

        // Warm the broker up (first connections, first segment) so no contender pays for it.
        let warmTopic = "bench-warm-\(runID)"
        try await admin.createTopics([KafkaNewTopic(name: warmTopic, partitions: 1)])
        _ = try await oursProduce(records.prefix(min(count, 20_000)).map { KafkaRecord(topic: warmTopic, key: $0.key, value: $0.value) }, client: client, logger: logger)

        var runs: [String: [Run]] = [:]
        var cTopics: [String] = []
        for round in 1...rounds {
            // Alternate the order so no contender always runs on a warm (or cold) broker.
            let order = rotated(["ours", "kcat", "c"], by: round - 1)
            for who in order {
                let topic = "bench-p-\(who)-\(runID)-\(round)"
                try await admin.createTopics([KafkaNewTopic(name: topic, partitions: 1)])
                let run: Run
                switch who {
                case "ours":
                    run = try await oursProduce(records.map { KafkaRecord(topic: topic, key: $0.key, value: $0.value) }, client: client, logger: logger)
                case "kcat":
                    run = try child(kcat, ["-P", "-b", brokers, "-t", topic, "-K", ":", "-l", "-X", "enable.idempotence=true", "-X", "acks=all",
                                           "-X", "linger.ms=1", "-X", "broker.address.family=v4", file.path], records: count)
                default:
                    run = try child(cLoop, ["produce", brokers, topic, String(count), String(valueSize)], records: count, reportsItself: true)
                    cTopics.append(topic)
                }
                runs["producer.\(who)", default: []].append(run)
                progress("round \(round)/\(rounds): producer \(who): \(run)")
            }
            let single = min(count, 50_000)
            let topic = "bench-p-single-\(runID)-\(round)"
            try await admin.createTopics([KafkaNewTopic(name: topic, partitions: 1)])
            let run = try await oursProduceEach(records.prefix(single).map { KafkaRecord(topic: topic, key: $0.key, value: $0.value) }, client: client, logger: logger)
            runs["producer.ours_each", default: []].append(run)
            progress("round \(round)/\(rounds): producer ours, one awaited send per record (\(single)): \(run)")
        }

        for round in 1...rounds {
            let topic = cTopics[round - 1]
            let order = rotated(["ours", "ours_awaited", "replay", "kcat", "c"], by: round - 1)
            for who in order {
                let run: Run
                switch who {
                case "ours": run = try await oursConsume(topic: topic, count: count, waitForCommits: false, client: client, logger: logger)
                case "ours_awaited": run = try await oursConsume(topic: topic, count: count, waitForCommits: true, client: client, logger: logger)
                case "replay": run = try await oursReplay(topic: topic, count: count, client: client, logger: logger)
                case "kcat":
                    run = try child(kcat, ["-C", "-b", brokers, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%o\n",
                                           "-X", "broker.address.family=v4"], records: count, countLines: true)
                default: run = try child(cLoop, ["consume", brokers, topic, String(count)], records: count, reportsItself: true)
                }
                runs["consumer.\(who)", default: []].append(run)
                progress("round \(round)/\(rounds): consumer \(who): \(run)")
            }
        }

        let latencyTopic = "bench-latency-\(runID)"
        try await admin.createTopics([KafkaNewTopic(name: latencyTopic, partitions: 1)])
        let latency = try await latencyAtRate(topic: latencyTopic, value: value, client: client, logger: logger)
        progress(String(format: "awaited send at %d/s for %d s: p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.3f ms (%d sends)",
                        latencyRate, latencySeconds, latency.p50, latency.p99, latency.p999, latency.max, latency.count))

        func median(_ key: String) -> Run { runs[key]!.sorted { $0.rate < $1.rate }[runs[key]!.count / 2] }
        let figures: [String: Any] = [
            "records": count, "rounds": rounds, "value_bytes": valueSize, "librdkafka": LibrdkafkaVersion.linked.description,
            "producer_ours_records_per_s": median("producer.ours").rate,
            "producer_ours_each_records_per_s": median("producer.ours_each").rate,
            "producer_kcat_records_per_s": median("producer.kcat").rate,
            "producer_c_records_per_s": median("producer.c").rate,
            "producer_vs_kcat": median("producer.ours").rate / median("producer.kcat").rate,
            "producer_vs_c": median("producer.ours").rate / median("producer.c").rate,
            "producer_cpu_us_per_record": median("producer.ours").cpuMicrosPerRecord,
            "producer_each_cpu_us_per_record": median("producer.ours_each").cpuMicrosPerRecord,
            "kcat_producer_cpu_us_per_record": median("producer.kcat").cpuMicrosPerRecord,
            "c_cpu_us_per_record": median("producer.c").cpuMicrosPerRecord,
            // "ours" is the group consumer as the offices run it: each batch's offsets committed
            // without waiting for the broker (awaited on revocation and at close); "ours_awaited"
            // waits for every commit.
            "consumer_ours_records_per_s": median("consumer.ours").rate,
            "consumer_awaited_commit_records_per_s": median("consumer.ours_awaited").rate,
            "consumer_awaited_commit_vs_kcat": median("consumer.ours_awaited").rate / median("consumer.kcat").rate,
            "consumer_replay_records_per_s": median("consumer.replay").rate,
            "consumer_kcat_records_per_s": median("consumer.kcat").rate,
            "consumer_c_records_per_s": median("consumer.c").rate,
            "consumer_vs_kcat": median("consumer.ours").rate / median("consumer.kcat").rate,
            "consumer_vs_c": median("consumer.ours").rate / median("consumer.c").rate,
            "replay_vs_kcat": median("consumer.replay").rate / median("consumer.kcat").rate,
            "consumer_cpu_us_per_record": median("consumer.ours").cpuMicrosPerRecord,
            "consumer_c_cpu_us_per_record": median("consumer.c").cpuMicrosPerRecord,
            "ack_rate_per_s": latencyRate, "ack_p50_ms": latency.p50, "ack_p99_ms": latency.p99, "ack_p999_ms": latency.p999,
            "ack_max_ms": latency.max,
        ]
        if let json {
            let data = try JSONSerialization.data(withJSONObject: figures, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: URL(fileURLWithPath: json))
        }
        print(String(format: """
            producer (records/s, median of %d): ours %.0f, kcat %.0f, C %.0f -> ours/kcat %.2f, ours/C %.2f; CPU us/record ours %.2f, kcat %.2f, C %.2f; one awaited send per record %.0f/s (%.2f us CPU)
            consumer (records/s): ours (group, batches, commits not awaited) %.0f, same waiting for each commit %.0f, replay %.0f, kcat %.0f, C %.0f -> ours/kcat %.2f, ours/C %.2f; CPU us/record ours %.2f, C %.2f
            awaited send at %d/s: p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms
            """, rounds, median("producer.ours").rate, median("producer.kcat").rate, median("producer.c").rate,
            figures["producer_vs_kcat"] as! Double, figures["producer_vs_c"] as! Double,
            median("producer.ours").cpuMicrosPerRecord, median("producer.kcat").cpuMicrosPerRecord, median("producer.c").cpuMicrosPerRecord,
            median("producer.ours_each").rate, median("producer.ours_each").cpuMicrosPerRecord,
            median("consumer.ours").rate, median("consumer.ours_awaited").rate, median("consumer.replay").rate, median("consumer.kcat").rate, median("consumer.c").rate,
            figures["consumer_vs_kcat"] as! Double, figures["consumer_vs_c"] as! Double,
            median("consumer.ours").cpuMicrosPerRecord, median("consumer.c").cpuMicrosPerRecord,
            latencyRate, latency.p50, latency.p99, latency.p999))
    }

    // MARK: - Contenders

    private func producer(_ client: KafkaConfiguration, logger: Logger) throws -> KafkaProducer {
        try KafkaProducer(configuration: .init(client: client, idempotent: true, maxInFlight: maxInFlight, linger: .milliseconds(1)), logger: logger)
    }

    /// Our bulk path: one batch send of every record.
    private func oursProduce(_ records: [KafkaRecord], client: KafkaConfiguration, logger: Logger) async throws -> Run {
        let producer = try producer(client, logger: logger)
        let run = try await measured(records: records.count) {
            let results = try await producer.send(batch: records)
            let failed = results.filter { if case .failure = $0 { true } else { false } }.count
            guard failed == 0 else { throw ValidationError("\(failed) records failed") }
        }
        await producer.close()
        return run
    }

    /// One awaited `send` per record, all in flight at once (a task each).
    private func oursProduceEach(_ records: [KafkaRecord], client: KafkaConfiguration, logger: Logger) async throws -> Run {
        let producer = try producer(client, logger: logger)
        let run = try await measured(records: records.count) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for record in records { group.addTask { _ = try await producer.send(record) } }
                try await group.waitForAll()
            }
        }
        await producer.close()
        return run
    }

    /// A group consumer: batches, each marked processed and committed, without waiting for the
    /// broker as the offices do (`waitForCommits: false`), or waiting for each commit.
    /// Timed from the assignment (the group join, seconds on the embedded broker, is not part of
    /// the read rate; the first fetch is, as for every contender).
    private func oursConsume(topic: String, count: Int, waitForCommits: Bool, client: KafkaConfiguration, logger: Logger) async throws -> Run {
        var configuration = KafkaConsumerConfiguration(client: client, mode: .group(id: "bench-\(UUID().uuidString.prefix(8))", topics: [topic]))
        configuration.offsetReset = .earliest
        let assigned = Locked<(ContinuousClock.Instant, Double)?>(nil)
        configuration.rebalance = KafkaRebalanceHandler(onAssign: { _ in assigned.set((.now, processCPUSeconds())) })
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        var read = 0
        var started: (ContinuousClock.Instant, Double)?
        for try await batch in consumer.batches(maxCount: 1000) {
            if started == nil { started = assigned.value ?? (.now, processCPUSeconds()) }
            read += batch.messages.count
            try consumer.markProcessed(batch.messages)
            try await consumer.commit(waitForBroker: waitForCommits)
            if read >= count { break }
        }
        let run = Run(records: read, seconds: (ContinuousClock.now - started!.0).seconds, cpuSeconds: processCPUSeconds() - started!.1)
        await consumer.close()
        return run
    }

    /// `replay()`: everything up to the end, as transfer-audit reads; timed from the first batch.
    private func oursReplay(topic: String, count: Int, client: KafkaConfiguration, logger: Logger) async throws -> Run {
        var read = 0
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(client: client, mode: .assignment([KafkaPartitionStart(topic: topic, partition: 0, offset: .beginning)])),
            logger: logger)
        let run = try await measured(records: count) {
            for try await batch in consumer.replay(maxCount: 1000) { read += batch.messages.count }
        }
        await consumer.close()
        guard read == count else { throw ValidationError("replay read \(read) of \(count) records") }
        return run
    }

    private func latencyAtRate(topic: String, value: String, client: KafkaConfiguration, logger: Logger) async throws -> Latency {
        let producer = try producer(client, logger: logger)
        for _ in 0..<50 { _ = try await producer.send(KafkaRecord(topic: topic, key: "warm", value: value)) }
        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
        let total = latencyRate * latencySeconds
        let interval = Duration.seconds(1) / latencyRate
        let start = ContinuousClock.now
        // Each send is its own task, started at its scheduled time: a slow acknowledgement does
        // not delay the sends behind it, and latency counts from the scheduled time.
        try await withThrowingTaskGroup(of: UInt64.self) { group in
            for index in 0..<total {
                let scheduled = start + interval * index
                try await Task.sleep(until: scheduled, clock: .continuous)
                group.addTask {
                    _ = try await producer.send(KafkaRecord(topic: topic, key: "k\(index % 64)", value: value))
                    return UInt64(max(0, (ContinuousClock.now - scheduled).seconds * 1_000_000))
                }
            }
            for try await micros in group { histogram.record(micros) }
        }
        await producer.close()
        func ms(_ percentile: Double) -> Double { Double(histogram.valueAtPercentile(percentile)) / 1000 }
        return Latency(count: Int(histogram.totalCount), p50: ms(50), p99: ms(99), p999: ms(99.9), max: Double(histogram.max) / 1000)
    }

    // MARK: - Measuring

    private func measured(records: Int, _ body: () async throws -> Void) async throws -> Run {
        let cpu = processCPUSeconds()
        let started = ContinuousClock.now
        try await body()
        return Run(records: records, seconds: (ContinuousClock.now - started).seconds, cpuSeconds: processCPUSeconds() - cpu)
    }

    /// Runs a reference program; its CPU time comes from the children's rusage. A program that
    /// reports itself (the C loop) prints {"records","seconds","cpu_seconds"}, timed around its
    /// work only, as ours are.
    private func child(_ program: String, _ arguments: [String], records: Int, reportsItself: Bool = false, countLines: Bool = false) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [program] + arguments
        let output = Pipe()
        process.standardOutput = output
        let cpu = childrenCPUSeconds()
        let started = ContinuousClock.now
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let seconds = (ContinuousClock.now - started).seconds
        guard process.terminationStatus == 0 else { throw ValidationError("\(program) exited with \(process.terminationStatus)") }
        if countLines {
            let lines = data.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
            guard lines == records else { throw ValidationError("\(program) read \(lines) of \(records) records") }
        }
        if reportsItself, let report = try JSONSerialization.jsonObject(with: data) as? [String: Any],
           let own = report["seconds"] as? Double, let ownCPU = report["cpu_seconds"] as? Double {
            return Run(records: records, seconds: own, cpuSeconds: ownCPU)
        }
        return Run(records: records, seconds: seconds, cpuSeconds: childrenCPUSeconds() - cpu)
    }

    private func progress(_ line: String) {
        FileHandle.standardError.write(Data(("kafka-bench: " + line + "\n").utf8))
    }
}

struct Run: CustomStringConvertible {
    var records: Int
    var seconds: Double
    var cpuSeconds: Double
    var rate: Double { Double(records) / seconds }
    var cpuMicrosPerRecord: Double { cpuSeconds * 1_000_000 / Double(records) }
    var description: String { String(format: "%.0f records/s (%.2f s), %.2f us CPU per record", rate, seconds, cpuMicrosPerRecord) }
}

struct Latency {
    var count: Int
    var p50: Double
    var p99: Double
    var p999: Double
    var max: Double
}

private func rotated<T>(_ items: [T], by shift: Int) -> [T] {
    let shift = shift % items.count
    return Array(items[shift...] + items[..<shift])
}

private func processCPUSeconds() -> Double { cpuSeconds(RUSAGE_SELF.rawValue) }
private func childrenCPUSeconds() -> Double { cpuSeconds(RUSAGE_CHILDREN.rawValue) }

private func cpuSeconds(_ who: Int32) -> Double {
    var usage = rusage()
    getrusage(who, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// A value set from a callback and read later.
final class Locked<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func set(_ value: Value) { lock.withLock { stored = value } }
}
