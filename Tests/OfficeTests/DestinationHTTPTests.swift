import DestinationOffice
import Foundation
import Hummingbird
import HummingbirdTesting
import OfficeRuntime
import Testing
import TransferDomain

@Suite("Destination office HTTP API (router level, no broker)")
struct DestinationHTTPTests {
    let context: OfficeContext
    let office: DestinationOffice
    let person = Support.citizenID(birth: "19900504", sequence: "022")

    init() throws {
        context = try Support.context(DestinationOffice.self, code: "510100")
        office = DestinationOffice(context: context)
    }

    func register(_ client: some TestClientProtocol, cards: [[String: String]] = [], pension: Bool = false) async throws -> [String: Any] {
        var result: [String: Any] = [:]
        try await client.execute(
            uri: "/v1/persons/\(person.rawValue)", method: .put,
            body: Support.json(["name": "Zhang Min", "hukouProvince": "44", "registeredOn": "2026-03-02", "cards": cards, "receivesPension": pension])
        ) { response in
            #expect(response.status == .created)
            result = Support.decode(response.body)
        }
        return result
    }

    @Test("registration issues a card for this province only when none held is valid here")
    func cards() async throws {
        try await Support.application(office).test(.router) { client in
            let first = try await register(client, cards: [["issuer": "440300", "issuedOn": "2015-01-01"]])
            #expect(first["cardIssued"] as? Bool == true)
            #expect((first["cards"] as? [[String: Any]])?.count == 2)
        }
        let sameProvince = Support.citizenID(birth: "19900505", sequence: "022")
        try await Support.application(office).test(.router) { client in
            try await client.execute(
                uri: "/v1/persons/\(sameProvince.rawValue)", method: .put,
                body: Support.json(["name": "Zhang Min", "hukouProvince": "51", "registeredOn": "2026-03-02", "cards": [["issuer": "510700", "issuedOn": "2015-01-01"]]])
            ) { response in
                #expect(Support.decode(response.body)["cardIssued"] as? Bool == false, "a Mianyang card is valid in Chengdu")
            }
        }
    }

    @Test("applications validate their input, naming the field")
    func applicationValidation() async throws {
        try await Support.application(office).test(.router) { client in
            try await client.execute(uri: "/v1/applications", method: .post, body: Support.json(["citizenId": person.rawValue, "originOffice": "999999"])) { response in
                #expect(response.status == .unprocessableContent)
                #expect(Support.decode(response.body)["field"] as? String == "originOffice")
            }
            try await client.execute(uri: "/v1/applications", method: .post, body: Support.json(["citizenId": person.rawValue, "originOffice": "510100"])) { response in
                #expect(Support.decode(response.body)["field"] as? String == "originOffice")
            }
            try await client.execute(uri: "/v1/applications", method: .post, body: Support.json(["citizenId": person.rawValue, "originOffice": "440300"])) { response in
                #expect(response.status == .unprocessableContent)
                #expect(Support.decode(response.body)["field"] as? String == "name", "an unregistered applicant must give a name")
            }
            try await client.execute(uri: "/v1/applications", method: .post, body: Support.json(["citizenId": "123", "originOffice": "440300"])) { response in
                #expect(Support.decode(response.body)["field"] as? String == "citizenId")
            }
            try await client.execute(
                uri: "/v1/applications", method: .post,
                body: Support.json(["citizenId": person.rawValue, "originOffice": "440300", "certificateNo": "PC-1"])
            ) { response in
                #expect(Support.decode(response.body)["field"] as? String == "certificateNo")
            }
        }
        #expect(try Support.outbox(context.database).isEmpty, "nothing half-written")
    }

    @Test("review outcomes: a letter, D01 for an unregistered applicant, D05 for a second open application, D07 within a province")
    func reviewOutcomes() async throws {
        // Millisecond timestamps: the start is rounded down so a case closed in its first
        // millisecond is not taken for one from before the test.
        let testStarted = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 * 1000).rounded(.down) / 1000)
        try await Support.application(office).test(.router) { client in
            let stranger = Support.citizenID(birth: "19920101", sequence: "031")
            try await client.execute(
                uri: "/v1/applications", method: .post,
                body: Support.json(["citizenId": stranger.rawValue, "originOffice": "440300", "name": "Sun Lei", "hukouProvince": "44"])
            ) { response in
                #expect(response.status == .created)
                let body = Support.decode(response.body)
                #expect(body["state"] as? String == "rejected")
                #expect(body["reasons"] as? [String] == ["D01"])
            }
            _ = try await register(client)
            var caseID = ""
            try await client.execute(uri: "/v1/applications", method: .post, body: Support.json(["citizenId": person.rawValue, "originOffice": "440300"])) { response in
                let body = Support.decode(response.body)
                #expect(body["state"] as? String == "contact-letter-sent")
                #expect((body["contactLetterNo"] as? String)?.hasPrefix("CL-510100-") == true)
                caseID = body["caseId"] as? String ?? ""
            }
            try await client.execute(uri: "/v1/applications", method: .post, body: Support.json(["citizenId": person.rawValue, "originOffice": "330100"])) { response in
                #expect(Support.decode(response.body)["reasons"] as? [String] == ["D05"])
            }
            try await client.execute(uri: "/v1/applications", method: .post, body: Support.json(["citizenId": person.rawValue, "originOffice": "510700"])) { response in
                #expect((Support.decode(response.body)["reasons"] as? [String])?.contains("D07") == true)
            }
            try await client.execute(uri: "/v1/cases/\(caseID)", method: .get) { response in
                let body = Support.decode(response.body)
                #expect(body["state"] as? String == "contact-letter-sent")
                #expect((body["deadlines"] as? [String: Any])?["originAnswer"] != nil)
                #expect(body["received"] as? String == "0.00")
                #expect(body["closedAt"] == nil, "an open case has no closedAt")
            }
            let beforeList = Date()
            try await client.execute(uri: "/v1/cases?state=rejected", method: .get) { response in
                let body = Support.decode(response.body)
                #expect(body["count"] as? Int == 3)
                // A terminal case says when it became terminal, to the millisecond, in UTC.
                for item in body["cases"] as? [[String: Any]] ?? [] {
                    let text = item["closedAt"] as? String ?? ""
                    let closed = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)
                    #expect(text.hasSuffix("Z") && text.count == 24, "\(text)")
                    #expect(closed.map { $0 >= testStarted && $0 <= beforeList } == true, "\(text) between \(testStarted) and \(beforeList)")
                }
            }
            // Pages: the filter's total stays, the page holds what is left after the offset.
            try await client.execute(uri: "/v1/cases?state=rejected&limit=2&offset=2", method: .get) { response in
                let body = Support.decode(response.body)
                #expect(body["count"] as? Int == 1 && body["total"] as? Int == 3)
            }
            try await client.execute(uri: "/v1/cases?limit=0", method: .get) { response in
                #expect(response.status == .unprocessableContent)
                #expect(Support.decode(response.body)["field"] as? String == "limit")
            }
            try await client.execute(uri: "/v1/persons/\(person.rawValue)", method: .get) { response in
                let body = Support.decode(response.body)
                #expect((body["claimingPlace"] as? [String: Any])?["rule"] as? Int == 4)
            }
        }
        let events = try Support.outbox(context.database)
        #expect(events.map(\.type) == ["application-rejected", "contact-letter-issued", "application-rejected", "application-rejected"])
        #expect(events[1].recipient == "440300")
        #expect((events[1].payload["destinationAccount"] as? [String: Any])?["bankName"] as? String == "FICTIONAL TEST BANK")
    }
}
