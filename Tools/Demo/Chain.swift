import ArgumentParser
import Foundation
import TransferDomain

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The demo's chain: people who arrived at the destination move on from there (its own origin
/// service, which received their records by `relationship-received`) to another city's
/// destination service, whose ⑥ must then cover every place's months.
struct ChainLeg: Sendable {
    let client: HTTP
    /// The destination city's origin service (same office code as the first destination).
    let origin: (code: OfficeCode, url: URL)
    /// Where they move on to.
    let destination: (code: OfficeCode, url: URL)
    let rates: CreditingRates
    let concurrency: Int
    let timeout: Int

    struct Outcome {
        var moved = 0
        var completed = 0
        var verified = 0
        var mismatches: [String] = []
        var remitted = Money.zero
        var received = Money.zero
        var example: (name: String, places: [String])?
    }

    /// Moves `people` (who completed a transfer into the origin's city) on; `true` when every case
    /// completed with the domain's ⑥ over all their places and the money balances.
    func run(_ people: [Person]) async throws -> Outcome {
        let today = shanghaiToday()
        // Their stay in the first destination city: from the month they registered there to last month.
        let stay = today.yearMonth.advanced(by: -1)
        Swift.print("demo: chain: \(people.count) people move on from \(origin.code) (its origin service) to \(destination.code)")
        let moved = try await concurrentMap(people, limit: concurrency, label: "moved on") { _, person -> (Person, [ContributionMonth], String) in
            let record = origin.url.appendingPathComponent("v1/persons/\(person.id.rawValue)")
            // What arrived stays: the origin service holds the person with the months that arrived.
            let limit = Date().addingTimeInterval(60)
            while true {
                if let view: [String: JSONAny] = try? await client.get(record), view["monthsPaid"]?.int == person.months.count { break }
                if Date() > limit { throw ValidationError("\(origin.code)'s origin service never received \(person.id.masked)") }
                try await Task.sleep(for: .milliseconds(200))
            }
            let own = [ContributionMonth(period: stay, base: Money(fen: 500_000), employerRate: .percent("16"), personalRate: .percent("8"), placeCode: origin.code)]
            let _: JSONAny = try await client.send("POST", record.appendingPathComponent("months"), body: monthsBody(own))
            let _: JSONAny = try await client.send("POST", record.appendingPathComponent("suspension"), body: [:])
            let _: JSONAny = try await client.send("PUT", destination.url.appendingPathComponent("v1/persons/\(person.id.rawValue)"), body: [
                "name": .string(person.name), "hukouProvince": .string(person.hukou.rawValue), "registeredOn": .string(today.description),
                "contributing": .bool(true),
            ])
            let filed: [String: JSONAny] = try await client.send("POST", destination.url.appendingPathComponent("v1/applications"), body: [
                "citizenId": .string(person.id.rawValue), "originOffice": .string(origin.code.rawValue), "approvedTransfer": .bool(false),
            ])
            guard let caseID = filed["caseId"]?.string else { throw ValidationError("no case id for \(person.id.masked)") }
            return (person, own, caseID)
        }
        var outcome = Outcome(moved: moved.count)
        let limit = Date().addingTimeInterval(TimeInterval(timeout))
        var views: [DestinationCaseView] = []
        while true {
            views = try await concurrentMap(moved, limit: concurrency, label: "chain cases read") { _, entry -> DestinationCaseView in
                try await client.get(destination.url.appendingPathComponent("v1/cases/\(entry.2)"))
            }
            let open = views.filter { !(DestinationCaseState(rawValue: $0.state)?.isTerminal ?? false) }.count
            if open == 0 { break }
            if Date() > limit { throw ValidationError("\(open) chain cases still open after \(timeout) s") }
            try await Task.sleep(for: .milliseconds(500))
        }
        for ((person, own, caseID), view) in zip(moved, views) {
            outcome.received = try outcome.received + Money(view.received)
            let origin: OriginCaseView = try await client.get(self.origin.url.appendingPathComponent("v1/cases/\(caseID)"))
            outcome.remitted = try outcome.remitted + Money(origin.remitted)
            guard view.state == "completed" else {
                outcome.mismatches.append("\(caseID): \(view.state) \(view.reviewReasons + view.returnReasons)")
                continue
            }
            outcome.completed += 1
            let expected = try TransferCalculator.informationForm(
                months: person.months + own, pre1998Account: person.pre1998, kind: person.kind, transferYear: today.year, rates: rates
            ).totalRemitted
            if expected.description == view.received {
                outcome.verified += 1
            } else {
                outcome.mismatches.append("\(caseID): expected \(expected) over every place, received \(view.received)")
            }
            if outcome.example == nil {
                let record: PersonPlaces = try await client.get(destination.url.appendingPathComponent("v1/persons/\(person.id.rawValue)"))
                outcome.example = (person.id.masked, record.places.map { "\($0.placeCode) \($0.months) month\($0.months == 1 ? "" : "s")" })
            }
        }
        return outcome
    }

    func print(_ outcome: Outcome) {
        Swift.print("Chain (\(origin.code) passes on what it received, to \(destination.code)):")
        Swift.print("  moved on \(outcome.moved), completed \(outcome.completed), ⑥ over every place's months: \(outcome.verified)/\(outcome.completed)")
        Swift.print("  remitted by \(origin.code)'s origin service \(outcome.remitted), received by \(destination.code) \(outcome.received): conserved \(outcome.remitted == outcome.received ? "yes" : "NO")")
        for mismatch in outcome.mismatches.prefix(5) { Swift.print("    \(mismatch)") }
        if let example = outcome.example { Swift.print("  e.g. \(example.name) at \(destination.code): " + example.places.joined(separator: ", ")) }
    }
}

/// The places a destination lists for a person.
struct PersonPlaces: Decodable {
    struct Place: Decodable { var placeCode: String; var months: Int }
    var places: [Place]
}
