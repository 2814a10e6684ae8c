import DestinationOffice
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import OfficeRuntime
import OfficeStorage
import OriginOffice
import Testing
import TransferDomain

extension OfficeRuns {
    /// The same thing asked for many times at once: one result, one consistent state, and clear
    /// answers (never a 5xx) for the others.
    @Suite("Concurrent requests (real broker)", .enabled(if: Broker.available), .timeLimit(.minutes(2)))
    struct ConcurrencyTests {
        let client = Client()

        /// `count` requests at once; each one's status and body.
        func atOnce(_ count: Int, _ request: @escaping @Sendable (Int) async throws -> [String: Any]) async -> [(status: Int, body: [String: Any])] {
            let answers = await withTaskGroup(of: (Int, Data).self) { group in
                for index in 0..<count {
                    group.addTask {
                        do {
                            let body = try await request(index)
                            return (200, (try? JSONSerialization.data(withJSONObject: body)) ?? Data())
                        } catch let failure as Client.Failure {
                            return (failure.status, Data(failure.body.utf8))
                        } catch {
                            return (0, Data("{}".utf8))
                        }
                    }
                }
                var answers: [(Int, Data)] = []
                for await answer in group { answers.append(answer) }
                return answers
            }
            return answers.map { ($0.0, (try? JSONSerialization.jsonObject(with: $0.1)) as? [String: Any] ?? [:]) }
        }

        @Test("the same application filed 20 times at once: one transfer, the others rejected D05 (a transfer is already open), one contact letter")
        func sameApplication() async throws {
            let world = try TestWorld()
            defer { world.cleanUp() }
            let destination = try await world.start(DestinationOffice.self, code: "510100")
            let person = Applicant.make(birth: "19870411", sequence: "901", from: "2020-01", to: "\(Support.businessYear - 1)-12")
            try await person.registerAtDestination(client, destination.url)
            let results = await atOnce(20) { _ in
                try await client.call("POST", destination.url.appendingPathComponent("v1/applications"), ["citizenId": person.id.rawValue, "originOffice": "440300"])
            }
            #expect(results.allSatisfy { $0.status == 200 }, "no 5xx, no lost request: \(results.map(\.status))")
            let states = results.compactMap { $0.body["state"] as? String }
            #expect(states.filter { $0 == "contact-letter-sent" }.count == 1)
            #expect(results.filter { $0.body["state"] as? String == "rejected" }.allSatisfy { ($0.body["reasons"] as? [String]) == ["D05"] })
            #expect(try await client.count(destination.url, state: "contact-letter-sent") == 1)
            // One letter went out: once the destination's outbox is empty, every letter it wrote is
            // on the topic (a late duplicate would be there too).
            var pending = -1
            for _ in 0..<100 where pending != 0 {
                pending = try await destination.database.writer.read { try Outbox.pendingCount($0) }
                if pending != 0 { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(pending == 0, "the destination published what it wrote")
            #expect(try await destination.database.writer.read { try Outbox.sentCount($0, type: .contactLetterIssued) } == 1, "one letter written")
            let letters = try await world.records(world.inbox("440300", .origin)).filter { $0.header("ce_type") == EventType.contactLetterIssued.ceType }
            #expect(letters.count == 1)
            try await destination.stop()
        }

        @Test("one person registered 20 times at once with different data, and months written at once: one consistent record, a conflicting month a clear 409, nothing recorded twice")
        func samePersonAndMonths() async throws {
            let world = try TestWorld()
            defer { world.cleanUp() }
            let origin = try await world.start(OriginOffice.self, code: "440300")
            let id = Support.citizenID(birth: "19870412", sequence: "903")
            let person = origin.url.appendingPathComponent("v1/persons/\(id.rawValue)")
            let names = (0..<20).map { "Name \($0)" }
            let registered = await atOnce(20) { index in
                try await client.call("PUT", person, [
                    "name": names[index], "hukouProvince": index % 2 == 0 ? "44" : "43", "status": "contributing", "arrears": "\(index).00",
                    "pre1998Account": "0.00", "accountKind": "general",
                ])
            }
            #expect(registered.allSatisfy { [200, 409].contains($0.status) }, "\(registered.map(\.status))")
            // Whatever won, the record is one request's whole body, not a mix.
            let stored = try await client.call("GET", person)
            let winner = try #require(names.firstIndex(of: stored["name"] as? String ?? ""))
            #expect(stored["hukouProvince"] as? String == (winner % 2 == 0 ? "44" : "43"))
            #expect(stored["arrears"] as? String == "\(winner).00")

            // The same twelve months sent ten times at once: recorded once, the others "unchanged".
            let months = (1...12).map { ["period": String(format: "2024-%02d", $0), "base": "8000.00", "employerRate": "16", "personalRate": "8"] }
            let same = await atOnce(10) { _ in try await client.call("POST", person.appendingPathComponent("months"), ["months": months]) }
            #expect(same.allSatisfy { $0.status == 200 }, "\(same.map(\.status))")
            #expect(same.compactMap { $0.body["added"] as? Int }.reduce(0, +) == 12)
            #expect(same.allSatisfy { $0.body["totalMonths"] as? Int == 12 })
            // One month with ten different bases at once: one is recorded, nine are told it conflicts.
            let conflicting = await atOnce(10) { index in
                try await client.call("POST", person.appendingPathComponent("months"), ["months": [
                    ["period": "2025-01", "base": "\(9000 + index).00", "employerRate": "16", "personalRate": "8"],
                ]])
            }
            #expect(conflicting.filter { $0.status == 200 }.count == 1)
            #expect(conflicting.filter { $0.status == 409 }.count == 9)
            #expect(conflicting.filter { $0.status == 409 }.allSatisfy { ($0.body["field"] as? String) == "months[0]" })
            let after = try await client.call("GET", person)
            #expect(after["monthsPaid"] as? Int == 13 || (after["months"] as? [Any])?.count == 13, "\(after)")
            try await origin.stop()
        }
    }
}
