import DestinationOffice
import Foundation
import OfficeAuth
import OfficeRuntime
import OriginOffice
import Testing
import TransferDomain

/// Where the stack under test is: an already-running one (compose, or started by hand) named by
/// `ORIGIN_URL` and `DESTINATION_URL` (with `KAFKA_BOOTSTRAP_SERVERS`), or else both offices
/// started here on the embedded broker.
enum Stack {
    static let environment = ProcessInfo.processInfo.environment
    static var external: (origin: URL, destination: URL)? {
        guard let origin = environment["ORIGIN_URL"].flatMap(URL.init(string:)),
              let destination = environment["DESTINATION_URL"].flatMap(URL.init(string:)) else { return nil }
        return (origin, destination)
    }
    static var available: Bool { external != nil || Broker.available }
    /// The token for an external stack (`OFFICE_TOKEN`), or one minted with `AUTH_PRIVATE_KEY_FILE`.
    static func token() async throws -> String? {
        if let token = environment["OFFICE_TOKEN"], !token.isEmpty { return token }
        if let key = environment["AUTH_PRIVATE_KEY_FILE"] {
            return try await TokenIssuer(privateKeyPath: key, issuer: environment["AUTH_ISSUER"] ?? "pension-transfer").mint(
                subject: "stack-tests", offices: ["440300", "510100"], roles: [.clerk, .auditor], lifetime: .seconds(3600))
        }
        return nil
    }
    /// The rates the stack's origin holds (the suite computes ⑥ with them).
    static var rates: String { environment["CREDITING_RATES"] ?? Support.rates }
    /// The transfer year: the stack's business date (`BUSINESS_DATE`, as given to its offices), the
    /// real date for an external stack without one, or the embedded offices' fixed date.
    static var businessYear: Int {
        if let date = environment["BUSINESS_DATE"].flatMap({ try? LocalDate($0) }) { return date.year }
        return external != nil ? BusinessClock().today.year : Support.businessYear
    }
}

extension OfficeRuns {
    @Suite("The stack through its public APIs", .enabled(if: Stack.available), .timeLimit(.minutes(3)))
    struct StackTests {

        @Test("transfers, a return and a rejection through the public APIs; amounts to the fen")
        func throughTheStack() async throws {
            let client = Client(token: Stack.external != nil ? try await Stack.token() : nil)
            var embedded: (RunningOffice<OriginOffice>, RunningOffice<DestinationOffice>, TestWorld)?
            let urls: (origin: URL, destination: URL)
            if let external = Stack.external {
                urls = external
            } else {
                let world = try TestWorld()
                let origin = try await world.start(OriginOffice.self, code: "440300")
                let destination = try await world.start(DestinationOffice.self, code: "510100")
                embedded = (origin, destination, world)
                urls = (origin.url, destination.url)
            }
            for url in [urls.origin, urls.destination] {
                _ = try await client.waitFor(url.appendingPathComponent("health")) { $0["status"] as? String == "ok" }
            }
            // Unique people per run: an external stack keeps its databases between runs.
            var random = SystemRandomNumberGenerator()
            func person(_ from: String, pre1998: String = "0.00") -> Applicant {
                let birth = LocalDate(daysSinceEpoch: Int.random(in: 0...10_000, using: &random))
                let text = String(format: "%04d%02d%02d", birth.year, birth.month, birth.day)
                return .make(birth: text, sequence: String(format: "%03d", Int.random(in: 0...499, using: &random) * 2 + 1), hukou: "51", from: from, to: "2025-06", pre1998: pre1998)
            }
            let year = Stack.businessYear
            let rates = try OfficeConfiguration.parseRates(Stack.rates)
            let transfers = [person("1996-03", pre1998: "812.40"), person("2012-01"), person("2020-07")]
            var cases: [(Applicant, String)] = []
            for applicant in transfers {
                try await applicant.registerAtOrigin(client, urls.origin)
                try await applicant.registerAtDestination(client, urls.destination)
                cases.append((applicant, try await applicant.apply(client, urls.destination)))
            }
            let arrears = person("2015-01")
            try await arrears.registerAtOrigin(client, urls.origin, arrears: "99.00")
            try await arrears.registerAtDestination(client, urls.destination)
            let returned = try await arrears.apply(client, urls.destination)
            let pensioner = person("2015-01")
            try await pensioner.registerAtDestination(client, urls.destination, pension: true)
            let rejected = try await pensioner.apply(client, urls.destination)

            for (applicant, caseID) in cases {
                let view = try await client.waitFor(urls.destination.appendingPathComponent("v1/cases/\(caseID)"), limit: .seconds(90)) { $0["state"] as? String == "completed" }
                let expected = try TransferCalculator.informationForm(
                    months: applicant.months, pre1998Account: applicant.pre1998, kind: .general, transferYear: year, rates: rates).totalRemitted
                #expect(view["received"] as? String == expected.description)
                let originView = try await client.waitFor(urls.origin.appendingPathComponent("v1/cases/\(caseID)")) { $0["state"] as? String == "closed" }
                #expect(originView["remitted"] as? String == expected.description)
            }
            let returnedView = try await client.waitFor(urls.destination.appendingPathComponent("v1/cases/\(returned)")) { $0["state"] as? String == "letter-returned" }
            #expect(returnedView["returnReasons"] as? [String] == ["O02"])
            let rejectedView = try await client.call("GET", urls.destination.appendingPathComponent("v1/cases/\(rejected)"))
            #expect(rejectedView["reviewReasons"] as? [String] == ["D03"])

            if let (origin, destination, world) = embedded {
                try await origin.stop()
                try await destination.stop()
                world.cleanUp()
            }
        }
    }
}
