import Foundation
import Hummingbird
import HummingbirdTesting
import OfficeRuntime
import OriginOffice
import Testing
import TransferDomain

@Suite("Origin office HTTP API (router level, no broker)")
struct OriginHTTPTests {
    let context: OfficeContext
    let office: OriginOffice
    let person = Support.citizenID(birth: "19850310", sequence: "013")

    init() throws {
        context = try Support.context(OriginOffice.self, code: "440300")
        office = OriginOffice(context: context)
    }

    func register(_ client: some TestClientProtocol, status: String = "contributing") async throws {
        try await client.execute(
            uri: "/v1/persons/\(person.rawValue)", method: .put,
            body: Support.json(["name": "Li Wei", "hukouProvince": "51", "status": status, "pre1998Account": "0.00"])
        ) { response in
            #expect(response.status == .created)
        }
    }

    @Test("registering validates the ID, the name and amounts, naming the field")
    func personValidation() async throws {
        try await Support.application(office).test(.router) { client in
            try await client.execute(uri: "/v1/persons/440300198503100130", method: .put, body: Support.json(["name": "X", "hukouProvince": "51"])) { response in
                #expect(response.status == .unprocessableContent)
                #expect(response.headers[.contentType] == "application/problem+json")
                #expect(Support.decode(response.body)["field"] as? String == "citizenId")
            }
            try await client.execute(uri: "/v1/persons/\(person.rawValue)", method: .put, body: Support.json(["hukouProvince": "51"])) { response in
                #expect(response.status == .badRequest)
                #expect(Support.decode(response.body)["field"] as? String == "name")
            }
            try await client.execute(uri: "/v1/persons/\(person.rawValue)", method: .put, body: Support.json(["name": "Li Wei", "hukouProvince": "99"])) { response in
                #expect(response.status == .unprocessableContent)
                #expect(Support.decode(response.body)["field"] as? String == "hukouProvince")
            }
            try await client.execute(
                uri: "/v1/persons/\(person.rawValue)", method: .put, body: Support.json(["name": "Li Wei", "hukouProvince": "51", "arrears": "1.234"])
            ) { response in
                #expect(response.status == .unprocessableContent)
                #expect(Support.decode(response.body)["field"] as? String == "arrears")
            }
            try await client.execute(uri: "/v1/persons/\(person.rawValue)", method: .put, body: ByteBuffer(string: "{not json")) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(
                uri: "/v1/persons/\(person.rawValue)", method: .put, body: Support.json(["name": "Li Wei", "hukouProvince": "51", "status": "transferred"])
            ) { response in
                #expect(response.status == .unprocessableContent)
                #expect(Support.decode(response.body)["field"] as? String == "status")
            }
            try await client.execute(uri: "/v1/persons/\(person.rawValue)", method: .get) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test("contribution months are idempotent per month; a different value for a recorded month is a conflict")
    func months() async throws {
        try await Support.application(office).test(.router) { client in
            try await register(client)
            let months: [[String: Any]] = [
                ["period": "2024-01", "base": "8000.00", "employerRate": "16", "personalRate": "8"],
                ["period": "2024-02", "base": "8000.00", "employerRate": "16", "personalRate": "8"],
            ]
            try await client.execute(uri: "/v1/persons/\(person.rawValue)/months", method: .post, body: Support.json(["months": months])) { response in
                #expect(response.status == .created)
                #expect(Support.decode(response.body)["added"] as? Int == 2)
            }
            try await client.execute(uri: "/v1/persons/\(person.rawValue)/months", method: .post, body: Support.json(["months": months])) { response in
                #expect(response.status == .ok)
                #expect(Support.decode(response.body)["unchanged"] as? Int == 2)
            }
            var changed = months
            changed[1]["base"] = "9000.00"
            try await client.execute(uri: "/v1/persons/\(person.rawValue)/months", method: .post, body: Support.json(["months": changed])) { response in
                #expect(response.status == .conflict)
                #expect(Support.decode(response.body)["field"] as? String == "months[1]")
            }
            try await client.execute(
                uri: "/v1/persons/\(person.rawValue)/months", method: .post,
                body: Support.json(["months": [["period": "2024-13", "base": "1.00", "employerRate": "16", "personalRate": "8"]]])
            ) { response in
                #expect(response.status == .unprocessableContent)
                #expect((Support.decode(response.body)["field"] as? String)?.contains("period") == true)
            }
            try await client.execute(uri: "/v1/persons/\(person.rawValue)", method: .get) { response in
                #expect(response.status == .ok)
                let body = Support.decode(response.body)
                #expect(body["monthsPaid"] as? Int == 2)
                // 2 × 8% × 8000.00 in 2024 (national rate 2.62% for 2024 interest only from 2025 on)
                #expect(body["individualAccountBalance"] as? String != nil || body["balanceError"] as? String != nil)
            }
        }
    }

    @Test("a payment certificate needs every step-1 material, a suspended relationship, and publishes its event")
    func certificate() async throws {
        try await Support.application(office).test(.router) { client in
            try await register(client)
            try await client.execute(
                uri: "/v1/persons/\(person.rawValue)/months", method: .post,
                body: Support.json(["months": [["period": "2025-05", "base": "8000.00", "employerRate": "16", "personalRate": "8"]]])
            ) { _ in }
            let materials = ["identityDocument": "ID", "householdRegister": "hukou", "laborContractTermination": "notice"]
            try await client.execute(
                uri: "/v1/persons/\(person.rawValue)/certificates", method: .post,
                body: Support.json(["destinationOffice": "510100", "materials": materials])
            ) { response in
                #expect(response.status == .conflict, "still contributing")
            }
            try await client.execute(uri: "/v1/persons/\(person.rawValue)/suspension", method: .post, body: Support.json([:])) { response in
                #expect(response.status == .ok)
            }
            var missing = materials
            missing["householdRegister"] = nil
            try await client.execute(
                uri: "/v1/persons/\(person.rawValue)/certificates", method: .post,
                body: Support.json(["destinationOffice": "510100", "materials": missing])
            ) { response in
                #expect(response.status == .unprocessableContent)
                #expect(Support.decode(response.body)["field"] as? String == "materials.householdRegister")
            }
            try await client.execute(
                uri: "/v1/persons/\(person.rawValue)/certificates", method: .post,
                body: Support.json(["destinationOffice": "999999", "materials": materials])
            ) { response in
                #expect(response.status == .unprocessableContent)
                #expect(Support.decode(response.body)["field"] as? String == "destinationOffice")
            }
            try await client.execute(
                uri: "/v1/persons/\(person.rawValue)/certificates", method: .post,
                body: Support.json(["destinationOffice": "510100", "materials": materials])
            ) { response in
                #expect(response.status == .created)
                #expect((Support.decode(response.body)["certificateNo"] as? String)?.hasPrefix("PC-440300-") == true)
            }
        }
        let events = try Support.outbox(context.database)
        #expect(events.map(\.type) == ["payment-certificate-issued"])
        #expect(events.first?.recipient == "510100")
    }

    @Test("cases: unknown ids are 404, bad filters name the field")
    func cases() async throws {
        try await Support.application(office).test(.router) { client in
            try await client.execute(uri: "/v1/cases/\(UUID().uuidString)", method: .get) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/v1/cases/not-a-uuid", method: .get) { response in
                #expect(response.status == .unprocessableContent)
                #expect(Support.decode(response.body)["field"] as? String == "caseId")
            }
            try await client.execute(uri: "/v1/cases?state=nonsense", method: .get) { response in
                #expect(response.status == .unprocessableContent)
                #expect(Support.decode(response.body)["field"] as? String == "state")
            }
            try await client.execute(uri: "/v1/cases?overdue=true", method: .get) { response in
                #expect(response.status == .ok)
                #expect(Support.decode(response.body)["count"] as? Int == 0)
            }
        }
    }
}
