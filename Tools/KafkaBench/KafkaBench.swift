import ArgumentParser
import Foundation
import Kafka
import Logging

/// Measures the Kafka wrapper against `kcat` on the same broker, in the same run.
@main
struct KafkaBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka-bench",
        abstract: "Measure awaited-send latency and produce throughput of the Kafka wrapper against kcat.",
        discussion: """
            Start a broker first (scripts/broker start). The latency test sends records one at a
            time, awaiting each acknowledgement, and reports percentiles. The throughput test
            produces the same records with the wrapper (all in flight at once) and with
            `kcat -P` on the same broker, and reports the ratio.
            """)

    @Option(help: "Bootstrap servers of the broker to measure.")
    var brokers = "127.0.0.1:9092"

    @Option(help: "Sequential awaited sends for the latency test.")
    var latencyCount = 2000

    @Option(help: "Records for the throughput comparison.")
    var throughputCount = 50_000

    @Option(help: "Size of each record value in bytes.")
    var valueSize = 300

    @Option(help: "Path of kcat for the reference run.")
    var kcat = "kcat"

    mutating func run() async throws {
        var logger = Logger(label: "kafka-bench")
        logger.logLevel = .error
        let client = KafkaConfiguration(bootstrapServers: [brokers], clientID: "kafka-bench")
        let admin = try KafkaAdminClient(configuration: client, logger: logger)
        let runID = UUID().uuidString.prefix(8).lowercased()
        let latencyTopic = "bench-latency-\(runID)"
        let wrapperTopic = "bench-wrapper-\(runID)"
        let kcatTopic = "bench-kcat-\(runID)"
        try await admin.createTopics([latencyTopic, wrapperTopic, kcatTopic].map { KafkaNewTopic(name: $0, partitions: 1) })
        let value = String(repeating: "x", count: valueSize)
        print("librdkafka \(LibrdkafkaVersion.linked), broker \(brokers), value \(valueSize) B")

        // Latency: one record at a time, each awaited (idempotent, acks=all, linger 1 ms default).
        let producer = try KafkaProducer(configuration: .init(client: client), logger: logger)
        let clock = ContinuousClock()
        for _ in 0..<50 { _ = try await producer.send(KafkaRecord(topic: latencyTopic, key: "warm", value: value)) }
        var samples: [Duration] = []
        samples.reserveCapacity(latencyCount)
        for index in 0..<latencyCount {
            let start = clock.now
            _ = try await producer.send(KafkaRecord(topic: latencyTopic, key: "k\(index % 16)", value: value))
            samples.append(clock.now - start)
        }
        samples.sort()
        func percentile(_ p: Double) -> String {
            let index = min(samples.count - 1, Int((Double(samples.count) * p).rounded(.up)) - 1)
            return String(format: "%.3f ms", Double(samples[max(0, index)].components.attoseconds) / 1e15 + Double(samples[max(0, index)].components.seconds) * 1000)
        }
        print("awaited send latency over \(latencyCount) sequential sends: p50 \(percentile(0.50)), p90 \(percentile(0.90)), p99 \(percentile(0.99)), max \(percentile(1.0))")

        // Throughput: the wrapper with every record in flight.
        let started = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<throughputCount {
                group.addTask { _ = try await producer.send(KafkaRecord(topic: wrapperTopic, key: "k\(index % 64)", value: value)) }
            }
            try await group.waitForAll()
        }
        let wrapperSeconds = seconds(clock.now - started)
        await producer.close()

        // Reference: kcat producing the same records from a file, idempotent with acks=all too.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("kafka-bench-\(runID).txt")
        let lines = (0..<throughputCount).map { "k\($0 % 64):\(value)" }.joined(separator: "\n") + "\n"
        try lines.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let kcatStarted = clock.now
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            kcat, "-P", "-b", brokers, "-t", kcatTopic, "-K", ":", "-l", "-X", "enable.idempotence=true", "-X", "acks=all",
            "-X", "linger.ms=1", "-X", "broker.address.family=v4", file.path,
        ]
        try process.run()
        process.waitUntilExit()
        let kcatSeconds = seconds(clock.now - kcatStarted)
        guard process.terminationStatus == 0 else { throw ValidationError("kcat exited with \(process.terminationStatus)") }
        let wrapperRate = Double(throughputCount) / wrapperSeconds
        let kcatRate = Double(throughputCount) / kcatSeconds
        print(String(format: "throughput, %d records: wrapper %.0f rec/s (%.2f s), kcat %.0f rec/s (%.2f s), wrapper/kcat %.2f",
                     throughputCount, wrapperRate, wrapperSeconds, kcatRate, kcatSeconds, wrapperRate / kcatRate))
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
