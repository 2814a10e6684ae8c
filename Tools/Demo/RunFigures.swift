import Foundation
import TransferDomain

/// Runs `body` over `items` with at most `limit` calls in flight, showing progress; results in
/// the order of `items`. The first error cancels the rest and is thrown.
func concurrentMap<T: Sendable, R: Sendable>(
    _ items: [T], limit: Int, label: String, _ body: @escaping @Sendable (Int, T) async throws -> R
) async throws -> [R] {
    var results = [R?](repeating: nil, count: items.count)
    try await withThrowingTaskGroup(of: (Int, R).self) { group in
        var next = 0
        func startNext() {
            guard next < items.count else { return }
            let index = next
            let item = items[index]
            group.addTask { (index, try await body(index, item)) }
            next += 1
        }
        for _ in 0..<min(limit, items.count) { startNext() }
        var done = 0
        while let (index, result) = try await group.next() {
            results[index] = result
            done += 1
            progress("\(label) \(done)/\(items.count)")
            startNext()
        }
    }
    endProgress()
    return results.map { $0! }
}

/// What a run measured: how fast applications went in, how long until every case was terminal,
/// and each completed case's time from application to completion (the destination's `closedAt`
/// minus the moment the application was sent; offices and driver share the machine's clock).
struct RunFigures {
    /// One application: when it was sent, and its case as last listed.
    struct Filing {
        var filedAt: Date
        var state: String?
        var closedAt: Date?

        init(filedAt: Date, listed: CaseList.Item?) {
            self.filedAt = filedAt
            state = listed?.state
            closedAt = listed?.closedAt.flatMap { try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse($0) }
        }
    }

    var cases: Int
    var concurrency: Int
    var offeredRate: Double?
    var registerSeconds: Double
    var filingStartedAt: Date
    var filingDoneAt: Date
    var filings: [Filing]
    /// CPU seconds of each watched office while registering people, and from the first
    /// application until every case was terminal (the last poll of the case list).
    var registerCPU: [String: Double] = [:]
    var pipelineCPU: [String: Double] = [:]

    var filingSeconds: Double { filingDoneAt.timeIntervalSince(filingStartedAt) }
    var filingRate: Double { Double(cases) / max(filingSeconds, 0.001) }

    /// Milliseconds from application to terminal state, sorted: of completed cases, or of every
    /// terminal one (a case has `closedAt` once it is terminal).
    func latencies(completedOnly: Bool) -> [Double] {
        filings.compactMap { filing in
            guard let closed = filing.closedAt, !completedOnly || filing.state == DestinationCaseState.completed.rawValue else { return nil }
            return closed.timeIntervalSince(filing.filedAt) * 1000
        }.sorted()
    }

    var terminalCount: Int { filings.filter { $0.closedAt != nil }.count }

    /// Seconds from the first application to the last case becoming terminal.
    var pipelineSeconds: Double? { filings.compactMap(\.closedAt).max().map { $0.timeIntervalSince(filingStartedAt) } }

    /// Terminal cases per second over ``pipelineSeconds``.
    var pipelineRate: Double? { pipelineSeconds.map { Double(terminalCount) / max($0, 0.001) } }

    var pipelineCPUPerCase: Double { pipelineCPU.values.reduce(0, +) / Double(cases) * 1000 }

    static func percentile(_ sorted: [Double], _ p: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    func print() {
        let completed = latencies(completedOnly: true)
        var line = "demo: figures: \(cases) applications filed in \(String(format: "%.2f", filingSeconds)) s"
            + " (\(String(format: "%.0f", filingRate))/s, \(concurrency) in flight"
            + (offeredRate.map { ", offered \(String(format: "%g", $0))/s" } ?? "") + ")"
        if let pipelineSeconds, let pipelineRate {
            line += "; \(terminalCount) terminal \(String(format: "%.2f", pipelineSeconds)) s after the first application"
                + " (\(String(format: "%.0f", pipelineRate)) cases/s)"
        }
        Swift.print(line)
        if !pipelineCPU.isEmpty {
            Swift.print("demo: office CPU from the first application to the last terminal case: "
                + pipelineCPU.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.1f", $0.value)) s" }.joined(separator: ", ")
                + " (\(String(format: "%.2f", pipelineCPUPerCase)) ms per case; registering took \(String(format: "%.1f", registerCPU.values.reduce(0, +))) s)")
        }
        if let p50 = Self.percentile(completed, 50), let p99 = Self.percentile(completed, 99), let max = completed.last {
            Swift.print("demo: application to completion, \(completed.count) completed cases: p50 \(String(format: "%.0f", p50)) ms, p99 \(String(format: "%.0f", p99)) ms, max \(String(format: "%.0f", max)) ms")
        }
    }

    func write(to path: String, moneyChecked: Bool, moneyConserved: Bool) throws {
        let completed = latencies(completedOnly: true)
        let terminal = latencies(completedOnly: false)
        var object: [String: Any] = [
            "cases": cases, "concurrency": concurrency, "register_seconds": registerSeconds,
            "filing_seconds": filingSeconds, "filing_per_s": filingRate,
            "terminal_cases": terminalCount, "completed_cases": completed.count,
        ]
        object["offered_rate_per_s"] = offeredRate
        object["pipeline_seconds"] = pipelineSeconds
        object["pipeline_cases_per_s"] = pipelineRate
        for (name, values) in [("completion", completed), ("terminal", terminal)] {
            for p in [50.0, 90.0, 99.0, 99.9] {
                object["\(name)_p\(String(format: "%g", p).replacingOccurrences(of: ".", with: ""))_ms"] = Self.percentile(values, p)
            }
            object["\(name)_max_ms"] = values.last
        }
        if moneyChecked { object["money_conserved"] = moneyConserved }
        if !pipelineCPU.isEmpty {
            object["pipeline_cpu_seconds"] = pipelineCPU
            object["register_cpu_seconds"] = registerCPU
            object["pipeline_cpu_ms_per_case"] = pipelineCPUPerCase
        }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: path))
    }
}

/// CPU time of other processes, from Linux's /proc (nothing elsewhere).
enum ProcessCPU {
    static func seconds(_ pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // Fields after the command name: state is the 1st, utime the 12th, stime the 13th.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func snapshot(_ processes: [(String, Int32)]) -> [String: Double] {
        var result: [String: Double] = [:]
        for (name, pid) in processes { result[name] = seconds(pid) }
        return result
    }

    static func difference(_ later: [String: Double], _ earlier: [String: Double]) -> [String: Double] {
        later.compactMapValues { $0 }.reduce(into: [:]) { result, entry in
            if let before = earlier[entry.key] { result[entry.key] = entry.value - before }
        }
    }
}
