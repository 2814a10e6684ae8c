import ArgumentParser
import Foundation
import TransferDomain

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The demo's collection: people past pension age who worked in two cities on temporary accounts
/// (the D02 rule) retire in their hukou province; its office, the claiming place, collects both
/// accounts (`POST /v1/collections`), and each holder sends its form and funds.
struct CollectionLeg: Sendable {
    let client: HTTP
    /// The offices holding the temporary accounts (origin services).
    let holders: [(code: OfficeCode, url: URL)]
    /// The claiming place's destination service.
    let claimingPlace: (code: OfficeCode, url: URL)
    let rates: CreditingRates
    let concurrency: Int
    let timeout: Int

    struct Retiree: Sendable {
        let id: CitizenID
        let name: String
        /// Each holder's temporary-account months, in `holders` order.
        let months: [[ContributionMonth]]
    }

    struct Outcome {
        var people = 0
        var cases = 0
        var completed = 0
        var verified = 0
        var mismatches: [String] = []
        var remitted = Money.zero
        var received = Money.zero
        var example: (name: String, places: [String])?
    }

    /// `count` people, born 1961-1964 (past pension age), hukou in the claiming place's province,
    /// six years on a temporary account at each holder in turn, then back home since 2021.
    func people(_ count: Int, taken: inout Set<String>) -> [Retiree] {
        (0..<count).map { index in
            let birth = LocalDate(year: 1961 + index % 4, month: 1 + index % 12, day: 1 + index % 28)!
            let id = CitizenIDFactory.make(area: claimingPlace.code.rawValue, birth: birth, male: index % 2 == 0, index: 900_000 + index, taken: &taken)
            let months = holders.indices.map { position -> [ContributionMonth] in
                let start = (try? YearMonth(2009 + 6 * position, 1))!
                return (0..<72).map { offset in
                    ContributionMonth(
                        period: start.advanced(by: offset), base: Money(fen: 600_000 + 10_000 * (index % 7) + 50_000 * position),
                        employerRate: .percent(position == 0 ? "20" : "16"), personalRate: .percent("8"), placeCode: holders[position].code)
                }
            }
            return Retiree(id: id, name: "Retiree \(index + 1)", months: months)
        }
    }

    func run(_ people: [Retiree]) async throws -> Outcome {
        let today = shanghaiToday()
        Swift.print("demo: collection: \(people.count) retirees' temporary accounts at \(holders.map(\.code.rawValue).joined(separator: " and ")) come home to \(claimingPlace.code)")
        let filed = try await concurrentMap(people, limit: concurrency, label: "collections filed") { _, person -> (Retiree, [String]) in
            for (holder, months) in zip(holders, person.months) {
                let record = holder.url.appendingPathComponent("v1/persons/\(person.id.rawValue)")
                let _: JSONAny = try await client.send("PUT", record, body: [
                    "name": .string(person.name), "hukouProvince": .string(claimingPlace.code.province.rawValue), "status": .string("contributing"),
                    "accountKind": .string(AccountKind.temporary.rawValue),
                ])
                let _: JSONAny = try await client.send("POST", record.appendingPathComponent("months"), body: monthsBody(months))
                let _: JSONAny = try await client.send("POST", record.appendingPathComponent("suspension"), body: [:])
            }
            let _: JSONAny = try await client.send("PUT", claimingPlace.url.appendingPathComponent("v1/persons/\(person.id.rawValue)"), body: [
                "name": .string(person.name), "hukouProvince": .string(claimingPlace.code.province.rawValue),
                "registeredOn": .string("2021-01-04"), "contributingSince": .string("2021-01"), "contributing": .bool(true),
            ])
            let result: CollectionResult = try await client.send("POST", claimingPlace.url.appendingPathComponent("v1/collections"), body: [
                "citizenId": .string(person.id.rawValue), "holderOffices": .array(holders.map { .string($0.code.rawValue) }),
            ])
            return (person, result.cases.map(\.caseId))
        }
        var outcome = Outcome(people: people.count, cases: filed.reduce(0) { $0 + $1.1.count })
        let limit = Date().addingTimeInterval(TimeInterval(timeout))
        var views: [[DestinationCaseView]] = []
        while true {
            views = try await concurrentMap(filed, limit: concurrency, label: "collection cases read") { _, entry in
                var views: [DestinationCaseView] = []
                for caseID in entry.1 { views.append(try await client.get(claimingPlace.url.appendingPathComponent("v1/cases/\(caseID)"))) }
                return views
            }
            let open = views.joined().filter { !(DestinationCaseState(rawValue: $0.state)?.isTerminal ?? false) }.count
            if open == 0 { break }
            if Date() > limit { throw ValidationError("\(open) collection cases still open after \(timeout) s") }
            try await Task.sleep(for: .milliseconds(500))
        }
        for ((person, caseIDs), cases) in zip(filed, views) {
            for (position, (caseID, view)) in zip(caseIDs, cases).enumerated() {
                outcome.received = try outcome.received + Money(view.received)
                let holder: OriginCaseView = try await client.get(holders[position].url.appendingPathComponent("v1/cases/\(caseID)"))
                outcome.remitted = try outcome.remitted + Money(holder.remitted)
                guard view.state == "completed" else {
                    outcome.mismatches.append("\(caseID): \(view.state) \(view.reviewReasons + view.returnReasons)")
                    continue
                }
                outcome.completed += 1
                // A temporary account's ⑤ is max(12%, the employer's rate) month by month.
                let expected = try TransferCalculator.informationForm(
                    months: person.months[position], pre1998Account: .zero, kind: .temporary, transferYear: today.year, rates: rates
                ).totalRemitted
                if expected.description == view.received {
                    outcome.verified += 1
                } else {
                    outcome.mismatches.append("\(caseID): expected \(expected) from \(holders[position].code), received \(view.received)")
                }
            }
            if outcome.example == nil {
                let record: PersonPlaces = try await client.get(claimingPlace.url.appendingPathComponent("v1/persons/\(person.id.rawValue)"))
                outcome.example = (person.id.masked, record.places.map { "\($0.placeCode) \($0.months) months" })
            }
        }
        return outcome
    }

    func print(_ outcome: Outcome) {
        Swift.print("Collection (temporary accounts come home to \(claimingPlace.code), the claiming place):")
        Swift.print("  retirees \(outcome.people), collection cases \(outcome.cases), completed \(outcome.completed), temporary-account ⑥ verified: \(outcome.verified)/\(outcome.completed)")
        Swift.print("  remitted by the holders \(outcome.remitted), received by \(claimingPlace.code) \(outcome.received): conserved \(outcome.remitted == outcome.received ? "yes" : "NO")")
        for mismatch in outcome.mismatches.prefix(5) { Swift.print("    \(mismatch)") }
        if let example = outcome.example { Swift.print("  e.g. \(example.name) at \(claimingPlace.code): " + example.places.joined(separator: ", ")) }
    }
}

/// What `POST /v1/collections` answers.
struct CollectionResult: Decodable {
    struct Case: Decodable { var caseId: String }
    var cases: [Case]
}
