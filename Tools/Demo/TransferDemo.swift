import ArgumentParser
import Foundation
import TransferDomain

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Drives a batch of real transfer cases through running offices, using only their HTTP APIs.
@main
struct TransferDemo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer-demo",
        abstract: "Carry a batch of pension-transfer cases from application to completion through running offices.",
        discussion: """
            Registers sample people at the origin offices (multi-year ledgers, some from before 1998, \
            temporary accounts, pensioners, arrears, same-province moves) and at the destination, files the \
            applications, shows progress until every case is terminal, then prints a summary: cases by final \
            state, reason codes, money remitted against money received, deadlines, and one case's timeline. \
            Every amount of a completed case is checked against the domain's own computation. \
            `make demo` starts the broker and the offices and runs this; see README.md.
            Exit status: 0 when every case ended and the money balances, 1 otherwise.
            """)

    @Option(help: "Base URL of the destination office.")
    var destination = "http://127.0.0.1:8082"

    @Option(help: "Office code of the destination office.")
    var destinationCode = "510100"

    @Option(help: "An origin office as CODE=URL; repeat for several.")
    var origin: [String] = ["440300=http://127.0.0.1:8081", "330100=http://127.0.0.1:8083"]

    @Option(help: "How many applications to file.")
    var cases = 200

    @Option(help: "Seed of the generated people (same seed, same people).")
    var seed: UInt64 = 2026

    @Option(help: "Seconds to wait for every case to become terminal.")
    var timeout = 180

    @Option(help: "Bearer token for the offices (a clerk and auditor token for every office); default: $OFFICE_TOKEN.")
    var token: String?

    @Option(help: "Crediting rates the origin offices use (YEAR=PERCENT,...), to check amounts against.")
    var creditingRates = ProcessInfo.processInfo.environment["CREDITING_RATES"] ?? ""

    @Option(help: "HTTP calls in flight at once while registering, filing and summarizing.")
    var concurrency = 8

    @Option(help: "Offered filing rate in applications per second (0: as fast as --concurrency allows). Each application is sent at its scheduled moment whatever the answers before it took, so a slow office shows up as latency.")
    var rate: Double = 0

    @Option(help: "Write the run's figures (durations, cases per second, application-to-completion latency percentiles) to this JSON file.")
    var json: String?

    @Option(help: "An office process to account CPU time to, as NAME=PID (repeat): the figures then give each office's CPU seconds while registering and while cases moved (Linux /proc).")
    var watchPid: [String] = []

    @Flag(help: "Skip the per-case summary (one GET per case at every office); the figures and the terminal check remain.")
    var noSummary = false

    @Option(help: "The destination city's own origin service as CODE=URL: with --onward-destination, a chain follows the batch (people who arrived move on from there).")
    var onwardOrigin: String?

    @Option(help: "Where the chain's people move on to: a destination service as CODE=URL.")
    var onwardDestination: String?

    @Option(help: "How many people who arrived move on in the chain.")
    var onwardCases = 10

    @Option(help: "With --onward-origin and --onward-destination: this many retirees, with temporary accounts at the first --origin office and at the onward origin, have them collected by the onward destination (their claiming place).")
    var collections = 0

    mutating func validate() throws {
        guard cases > 0 else { throw ValidationError("--cases must be at least 1") }
        guard concurrency > 0 else { throw ValidationError("--concurrency must be at least 1") }
        guard rate >= 0, rate.isFinite else { throw ValidationError("--rate must be 0 or a positive number") }
        guard collections >= 0 else { throw ValidationError("--collections must be 0 or more") }
        guard collections == 0 || (onwardOrigin != nil && onwardDestination != nil) else {
            throw ValidationError("--collections needs --onward-origin and --onward-destination (the second holder and the claiming place)")
        }
    }

    mutating func run() async throws {
        let started = Date()
        let origins = try origin.map { entry -> (OfficeCode, URL) in
            let parts = entry.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let url = URL(string: String(parts[1])) else { throw ValidationError("--origin must be CODE=URL, got \(entry)") }
            return (try OfficeCode(String(parts[0])), url)
        }
        guard let destinationURL = URL(string: destination) else { throw ValidationError("--destination is not a URL") }
        let client = HTTP(token: token ?? ProcessInfo.processInfo.environment["OFFICE_TOKEN"])
        let destinationCode = try await waitForOffices(client, destination: destinationURL, origins: origins.map(\.1))

        var generator = DemoRandom(seed: seed)
        var taken: Set<String> = []
        let generated = (0..<cases).map {
            Person.make(index: $0, origins: origins.map(\.0), destination: destinationCode, using: &generator, taken: &taken)
        }
        let watched = try watchPid.map { entry -> (String, Int32) in
            let parts = entry.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let pid = Int32(parts[1]) else { throw ValidationError("--watch-pid must be NAME=PID, got \(entry)") }
            return (String(parts[0]), pid)
        }
        let cpuAtStart = ProcessCPU.snapshot(watched)
        print("demo: registering \(generated.count) people at \(origins.count) origin offices and the destination \(destinationCode)")
        let registerStarted = Date()
        let people = try await concurrentMap(generated, limit: concurrency, label: "registered") { _, person in
            var person = person
            let originURL = origins.first { $0.0 == person.origin }?.1 ?? origins[0].1
            try await person.register(client: client, origin: originURL, destination: destinationURL)
            return person
        }
        let registerSeconds = Date().timeIntervalSince(registerStarted)

        print("demo: filing \(people.count) applications" + (rate > 0 ? " at \(rate) per second" : ""))
        let cpuAtFiling = ProcessCPU.snapshot(watched)
        let filingStarted = ContinuousClock.now
        let filingStartedAt = Date()
        let rate = self.rate
        let filings = try await concurrentMap(people, limit: concurrency, label: "filed") { index, person -> (caseID: String, filedAt: Date) in
            if rate > 0 { try await Task.sleep(until: filingStarted + .seconds(Double(index) / rate)) }
            let filedAt = Date()
            let result: [String: JSONAny] = try await client.send(
                "POST", destinationURL.appendingPathComponent("v1/applications"), body: person.application)
            guard let caseID = result["caseId"]?.string else { throw ValidationError("no case id for application \(index)") }
            return (caseID, filedAt)
        }
        let filingDoneAt = Date()
        let filed = zip(people, filings.map(\.caseID)).map { ($0, $1) }

        // Progress while cases move, until every one is terminal - or, for an application naming a
        // certificate the origin never issued, waiting for it (the review waits up to 5 working days
        // for the certificate, then rejects with D04: longer than a demo).
        var listed: [String: CaseList.Item] = [:]
        let deadline = Date().addingTimeInterval(TimeInterval(timeout))
        while true {
            listed = [:]
            for item in try await allCases(client, destinationURL) { listed[item.caseId] = item }
            let open = filed.filter { !Self.settled($0.0, listed[$0.1]?.state) }.count
            let counts = Dictionary(grouping: listed.values, by: \.state).mapValues(\.count).sorted { $0.key < $1.key }
            progress("cases: " + counts.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + " | open \(open)")
            if open == 0 { break }
            if Date() > deadline {
                endProgress()
                print("demo: \(open) cases still open after \(timeout) s")
                throw ExitCode(1)
            }
            try await Task.sleep(for: .milliseconds(rate > 0 || cases > 1000 ? 200 : 500))
        }
        endProgress()
        let cpuAtEnd = ProcessCPU.snapshot(watched)
        let figures = RunFigures(
            cases: filed.count, concurrency: concurrency, offeredRate: rate > 0 ? rate : nil,
            registerSeconds: registerSeconds, filingStartedAt: filingStartedAt, filingDoneAt: filingDoneAt,
            filings: filings.map { RunFigures.Filing(filedAt: $0.filedAt, listed: listed[$0.caseID]) },
            registerCPU: ProcessCPU.difference(cpuAtFiling, cpuAtStart), pipelineCPU: ProcessCPU.difference(cpuAtEnd, cpuAtFiling))
        figures.print()
        var ok = true
        if !noSummary {
            ok = try await summarize(client: client, filed: filed, destination: destinationURL, origins: origins, started: started)
        }
        if let json { try figures.write(to: json, moneyChecked: !noSummary, moneyConserved: ok) }
        if let onwardOrigin, let onwardDestination {
            ok = try await chain(client, origin: try Self.office(onwardOrigin, "--onward-origin"), destination: try Self.office(onwardDestination, "--onward-destination"), filed: filed, listed: listed) && ok
            if collections > 0 {
                let leg = CollectionLeg(
                    client: client, holders: [(origins[0].0, origins[0].1), try Self.office(onwardOrigin, "--onward-origin")],
                    claimingPlace: try Self.office(onwardDestination, "--onward-destination"),
                    rates: (try? OfficeRates.parse(creditingRates)) ?? CreditingRates(), concurrency: concurrency, timeout: timeout)
                let outcome = try await leg.run(leg.people(collections, taken: &taken))
                leg.print(outcome)
                ok = outcome.mismatches.isEmpty && outcome.completed == outcome.cases && outcome.remitted == outcome.received && ok
            }
        }
        if !ok { throw ExitCode(1) }
    }

    /// `CODE=URL`.
    static func office(_ entry: String, _ option: String) throws -> (code: OfficeCode, url: URL) {
        let parts = entry.split(separator: "=", maxSplits: 1)
        guard parts.count == 2, let url = URL(string: String(parts[1])) else { throw ValidationError("\(option) must be CODE=URL, got \(entry)") }
        return (try OfficeCode(String(parts[0])), url)
    }

    /// The chain after the batch: up to `--onward-cases` people whose transfer completed, young
    /// enough that the temporary-account rule cannot apply, with a general account, move on.
    func chain(
        _ client: HTTP, origin: (code: OfficeCode, url: URL), destination: (code: OfficeCode, url: URL), filed: [(Person, String)],
        listed: [String: CaseList.Item]
    ) async throws -> Bool {
        let today = shanghaiToday()
        let movers = filed.filter { person, caseID in
            listed[caseID]?.state == "completed" && person.kind == .general && today.years(since: person.id.birthDate) < 40
                && person.hukou != destination.code.province
        }.map(\.0).prefix(onwardCases)
        guard !movers.isEmpty else {
            print("demo: chain: no completed case to move on")
            return false
        }
        let leg = ChainLeg(
            client: client, origin: origin, destination: destination, rates: (try? OfficeRates.parse(creditingRates)) ?? CreditingRates(),
            concurrency: concurrency, timeout: timeout)
        let outcome = try await leg.run(Array(movers))
        leg.print(outcome)
        return outcome.mismatches.isEmpty && outcome.completed == outcome.moved && outcome.remitted == outcome.received
    }

    static func settled(_ person: Person, _ state: String?) -> Bool {
        guard let state = state.flatMap(DestinationCaseState.init(rawValue:)) else { return false }
        return state.isTerminal || (person.scenario == .certificateMismatch && state == .awaitingCertificate)
    }

    /// Every case an office lists, page by page.
    func allCases(_ client: HTTP, _ office: URL) async throws -> [CaseList.Item] {
        var items: [CaseList.Item] = []
        while true {
            var components = URLComponents(url: office.appendingPathComponent("v1/cases"), resolvingAgainstBaseURL: false)!
            components.queryItems = [URLQueryItem(name: "limit", value: "5000"), URLQueryItem(name: "offset", value: String(items.count))]
            let page: CaseList = try await client.get(components.url!)
            items += page.cases
            if page.cases.count < 5000 { return items }
        }
    }

    /// Waits until every office answers `/health`; returns the destination's office code.
    func waitForOffices(_ client: HTTP, destination: URL, origins: [URL]) async throws -> OfficeCode {
        let limit = Date().addingTimeInterval(60)
        for url in [destination] + origins {
            while true {
                if let health: [String: JSONAny] = try? await client.get(url.appendingPathComponent("health")), health["status"]?.string == "ok" { break }
                if Date() > limit { throw ValidationError("office at \(url) did not become healthy within 60 s") }
                try await Task.sleep(for: .milliseconds(250))
            }
        }
        return try OfficeCode(destinationCode)
    }

    /// Prints the summary; `true` when every case ended and the money balances.
    func summarize(client: HTTP, filed: [(Person, String)], destination: URL, origins: [(OfficeCode, URL)], started: Date) async throws -> Bool {
        var byState: [String: Int] = [:]
        var reasons: [String: Int] = [:]
        var received = Money.zero
        var verified = 0
        var mismatches: [String] = []
        var completedExample: String?
        var deadlinesMet = 0
        var deadlinesProvisional = 0
        var deadlinesChecked = 0
        let rates = (try? OfficeRates.parse(creditingRates)) ?? CreditingRates()
        let views = try await concurrentMap(filed.map(\.1), limit: concurrency, label: "read destination case") { _, caseID -> DestinationCaseView in
            try await client.get(destination.appendingPathComponent("v1/cases/\(caseID)"))
        }
        for ((person, caseID), view) in zip(filed, views) {
            byState[view.state, default: 0] += 1
            for code in view.reviewReasons + view.returnReasons { reasons[code, default: 0] += 1 }
            received = try received + Money(view.received)
            for (_, deadline) in view.deadlines {
                deadlinesChecked += 1
                if deadline.provisional { deadlinesProvisional += 1 }
            }
            if view.state == "completed" {
                completedExample = completedExample ?? caseID
                if Self.metEveryDeadline(view) { deadlinesMet += 1 }
                if let expected = person.expectedTotal(rates: rates, transferYear: Int(view.submittedOn.prefix(4)) ?? 2026) {
                    if expected.description == view.received { verified += 1 } else { mismatches.append("\(caseID): expected \(expected), received \(view.received)") }
                }
            }
        }
        var remitted = Money.zero
        for (_, url) in origins {
            let summaries = try await allCases(client, url)
            let views = try await concurrentMap(summaries, limit: concurrency, label: "read origin case") { _, summary -> OriginCaseView in
                try await client.get(url.appendingPathComponent("v1/cases/\(summary.caseId)"))
            }
            for view in views { remitted = try remitted + Money(view.remitted) }
        }
        let completed = byState["completed"] ?? 0
        let elapsed = Date().timeIntervalSince(started)
        print("")
        print("== Demo summary (\(filed.count) applications, \(String(format: "%.1f", elapsed)) s) ==")
        print("Cases by final state:")
        for (state, count) in byState.sorted(by: { $0.key < $1.key }) { print("  \(state.padding(toLength: 26, withPad: " ", startingAt: 0)) \(count)") }
        if let waiting = byState["awaiting-certificate"] {
            print("  (\(waiting) applications name a certificate the origin never issued: their review waits up to 5 working days for it, then rejects with D04)")
        }
        print("Reason codes:")
        for (code, count) in reasons.sorted(by: { $0.key < $1.key }) { print("  \(code)  \(Self.reasonText[code] ?? "")".padding(toLength: 60, withPad: " ", startingAt: 0) + " \(count)") }
        print("Money:")
        print("  remitted by the origin offices (net of refunds)   \(remitted)")
        print("  received by the destination (net of refunds)     \(received)")
        print("  conserved: \(remitted == received ? "yes" : "NO (difference \((try? received - remitted)?.description ?? "out of range"))")")
        print("  completed cases whose amount equals the domain's ⑥: \(verified)/\(completed)")
        for mismatch in mismatches.prefix(5) { print("    mismatch \(mismatch)") }
        print("Deadlines: \(deadlinesMet)/\(completed) completed cases inside every 15-working-day limit; \(deadlinesProvisional) of \(deadlinesChecked) deadlines provisional (year without a published schedule)")
        if let completedExample {
            let view: DestinationCaseView = try await client.get(destination.appendingPathComponent("v1/cases/\(completedExample)"))
            print("Example case \(completedExample) (origin \(view.originOffice), letter \(view.contactLetterNo ?? "-")):")
            for entry in view.timeline { print("  \(entry.on)  destination: \(entry.what)") }
            if let originURL = origins.first(where: { $0.0.rawValue == view.originOffice })?.1,
               let originView: OriginCaseView = try? await client.get(originURL.appendingPathComponent("v1/cases/\(completedExample)")) {
                for entry in originView.timeline { print("  \(entry.on)  origin:      \(entry.what)") }
            }
        }
        return remitted == received && mismatches.isEmpty && completed > 0
    }

    /// Each step's date (from the timeline) is on or before its deadline: the letter within the
    /// review limit, form and funds within the origin's limit, completion within its own.
    static func metEveryDeadline(_ view: DestinationCaseView) -> Bool {
        func last(_ prefix: String) -> String? { view.timeline.filter { $0.what.hasPrefix(prefix) }.map(\.on).max() }
        let checks: [(String, String?)] = [
            ("review", last("contact letter")),
            ("originAnswer", [last("information form"), last("funds")].compactMap { $0 }.max()),
            ("completion", last("completed")),
        ]
        return checks.allSatisfy { key, date in
            guard let due = view.deadlines[key]?.due, let date else { return false }
            return date <= due
        }
    }

    static let reasonText = [
        "D01": "not contributing at the destination", "D02": "temporary account rule", "D03": "receives a pension",
        "D04": "certificate does not match", "D05": "a transfer is already open", "D07": "same province, no transfer needed", "C01": "not at pension age", "C02": "not the claiming place",
        "O01": "still contributing at the origin", "O02": "arrears outstanding", "O03": "person or name mismatch",
        "O04": "already terminated", "O05": "receives a pension", "O07": "bank details invalid", "O08": "no temporary account",
    ]
}

// MARK: - Progress

/// Progress on one rewritten line when stdout is a terminal, every line otherwise.
func progress(_ text: String) {
    if isatty(STDOUT_FILENO) != 0 {
        FileHandle.standardOutput.write(Data("\r\u{1B}[K  \(text)".utf8))
    } else if text.hasSuffix("| open 0") || ProgressThrottle.shared.due() {
        print("  \(text)")
    }
}

func endProgress() {
    if isatty(STDOUT_FILENO) != 0 { print("") }
}

final class ProgressThrottle: @unchecked Sendable {
    static let shared = ProgressThrottle()
    private var last = Date.distantPast
    func due() -> Bool {
        guard Date().timeIntervalSince(last) >= 2 else { return false }
        last = Date()
        return true
    }
}

// MARK: - Office rates

enum OfficeRates {
    static func parse(_ text: String) throws -> CreditingRates {
        var overrides: [Int: Rate] = [:]
        for entry in text.split(separator: ",") {
            let parts = entry.split(separator: "=")
            guard parts.count == 2, let year = Int(parts[0]) else { continue }
            overrides[year] = try Rate(percent: String(parts[1]))
        }
        return CreditingRates(overrides: overrides)
    }
}
