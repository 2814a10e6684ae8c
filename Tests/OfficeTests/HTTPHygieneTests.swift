import DestinationOffice
import Foundation
import Hummingbird
import HummingbirdTesting
import OfficeRuntime
import OfficeStorage
import OriginOffice
import Testing
import TransferDomain

/// Every rejected request: a 4xx problem document (naming the field where one is at fault) and
/// a database exactly as it was before.
@Suite("HTTP input hygiene (router level, no broker)")
struct HTTPHygieneTests {
    struct Bad: Sendable, CustomStringConvertible {
        var method: HTTPRequest.Method
        var uri: String
        var body: [UInt8]?
        var status: Int
        var field: String?
        var description: String { "\(method) \(uri) \(body.map { String(decoding: $0.prefix(60), as: UTF8.self) } ?? "")" }

        init(_ method: HTTPRequest.Method, _ uri: String, json: String? = nil, bytes: [UInt8]? = nil, _ status: Int, field: String? = nil) {
            self.method = method
            self.uri = uri
            self.body = bytes ?? json.map { Array($0.utf8) }
            self.status = status
            self.field = field
        }
    }

    static let person = Support.citizenID(birth: "19850310", sequence: "013")
    static let p = "/v1/persons/\(person.rawValue)"
    static let other = Support.citizenID(birth: "19850311", sequence: "015")
    static let longName = String(repeating: "李", count: 1_500_000 / 3)

    static let origin: [Bad] = [
        Bad(.put, p, json: #"{"name": "Li Wei", "hukouProvince": "51",}"#, 400),
        Bad(.put, p, bytes: [0xEF, 0xBB, 0xBF] + Array(#"{"name": "Li Wei", "hukouProvince": "51"}"#.utf8), 400),
        // Issue 21, item 18: bytes that are not UTF-8, and a lone surrogate, in a field the route ignores.
        Bad(.put, p, bytes: Array(#"{"name": "Li Wei", "hukouProvince": "51", "note": ""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8), 400),
        Bad(.put, p, json: #"{"name": "Li Wei", "hukouProvince": "51", "note": "\uD800"}"#, 400),
        Bad(.put, p, json: #"{"name": "Li Wei", "hukouProvince": "51", "note": "\uDC00\uD800"}"#, 400),
        Bad(.get, "//v1//persons//\(person.rawValue)", 404),
        Bad(.put, p, json: "{\"name\": \"\(longName)\", \"hukouProvince\": \"51\"}", 413),
        Bad(.put, p, json: "{\"name\": \"\(String(repeating: "x", count: 200_000))\", \"hukouProvince\": \"51\"}", 422, field: "name"),
        Bad(.put, p, json: #"{"name": "Li\u0000Wei", "hukouProvince": "51"}"#, 422, field: "name"),
        Bad(.put, p, json: #"{"name": "Li\nWei", "hukouProvince": "51"}"#, 422, field: "name"),
        Bad(.put, p, json: #"{"name": "   ", "hukouProvince": "51"}"#, 422, field: "name"),
        Bad(.put, p, json: #"{"name": "Li Wei", "hukouProvince": "51", "arrears": "1e5"}"#, 422, field: "arrears"),
        Bad(.put, p, json: #"{"name": "Li Wei", "hukouProvince": "51", "arrears": 100}"#, 400, field: "arrears"),
        Bad(.put, p, json: #"{"name": "Li Wei", "hukouProvince": "51", "pre1998Account": "100000000.01"}"#, 422, field: "pre1998Account"),
        Bad(.put, p, json: #"{"name": "Li Wei", "hukouProvince": "51", "status": "transferred"}"#, 422, field: "status"),
        Bad(.put, "/v1/persons/440301198503100130", json: #"{"name": "Li Wei", "hukouProvince": "51"}"#, 422, field: "citizenId"),
        Bad(.post, p + "/months", json: #"{"months": [{"period": "-2024-01", "base": "8000.00", "employerRate": "16", "personalRate": "8"}]}"#, 422, field: "months[0].period"),
        Bad(.post, p + "/months", json: #"{"months": [{"period": "2024-01", "base": "0.00", "employerRate": "16", "personalRate": "8"}]}"#, 422, field: "months[0].base"),
        Bad(.post, p + "/months", json: #"{"months": [{"period": "2024-01", "base": "8000.123", "employerRate": "16", "personalRate": "8"}]}"#, 422, field: "months[0].base"),
        Bad(.post, p + "/months", json: #"{"months": [{"period": "2024-01", "base": "8000.00", "employerRate": "abc", "personalRate": "8"}]}"#, 422, field: "months[0].employerRate"),
        Bad(.post, p + "/months", json: #"{"months": [{"period": "2024-01", "base": "8000.00", "employerRate": "16", "personalRate": "100.5"}]}"#, 422, field: "months[0].personalRate"),
        Bad(.post, p + "/months", json: #"{"months": [{"period": "2024-01", "base": "8000.00", "employerRate": "16", "personalRate": "8"}, {"period": "2024-01", "base": "9000.00", "employerRate": "16", "personalRate": "8"}]}"#, 422, field: "months"),
        Bad(.post, p + "/certificates", json: #"{"destinationOffice": "510100"}"#, 422, field: "materials.identityDocument"),
        Bad(.post, p + "/certificates", json: #"{"destinationOffice": "510100", "materials": {"identityDocument": "ID\u0007", "householdRegister": "H", "laborContractTermination": "T"}}"#, 422, field: "materials.identityDocument"),
        Bad(.post, p + "/certificates", json: #"{"destinationOffice": "999999", "materials": {"identityDocument": "ID", "householdRegister": "H", "laborContractTermination": "T"}}"#, 422, field: "destinationOffice"),
        Bad(.get, "/v1/cases?overdue=maybe", 422, field: "overdue"),
        Bad(.get, "/v1/cases?state=closed&state=bogus", 422, field: "state"),
        Bad(.get, "/v1/cases?limit=0", 422, field: "limit"),
        Bad(.get, "/v1/cases/not-a-uuid", 422, field: "caseId"),
        Bad(.delete, p, 405),
        Bad(.get, "/v1/nothing-here", 404),
    ]

    static let destination: [Bad] = [
        Bad(.put, p, json: #"{"name": "Li Wei", "hukouProvince": "51", "registeredOn": "0999-12-31"}"#, 422, field: "registeredOn"),
        Bad(.put, p, json: #"{"name": "Li Wei", "hukouProvince": "51", "registeredOn": "9999-12-31"}"#, 422, field: "registeredOn"),
        Bad(.put, p, json: #"{"name": "Li Wei", "hukouProvince": "51", "registeredOn": "2099-01-05"}"#, 422, field: "registeredOn"),
        Bad(.put, p, json: #"{"name": "Li Wei", "hukouProvince": "51", "registeredOn": "1980-01-05"}"#, 422, field: "registeredOn"),
        Bad(.put, p, json: #"{"name": "Li Wei", "hukouProvince": "51", "registeredOn": "2026-03-02", "contributingSince": "1970-01"}"#, 422, field: "contributingSince"),
        Bad(.put, p, json: #"{"name": "Li Wei", "hukouProvince": "51", "registeredOn": "2026-03-02", "cards": [{"issuer": "440300", "issuedOn": "2099-01-01"}]}"#, 422, field: "cards[0].issuedOn"),
        Bad(.put, p, json: "{\"name\": \"\(longName)\", \"hukouProvince\": \"51\", \"registeredOn\": \"2026-03-02\"}", 413),
        Bad(.put, p, json: "{\"name\": \"Li \(String(repeating: "W", count: 101))\", \"hukouProvince\": \"51\", \"registeredOn\": \"2026-03-02\"}", 422, field: "name"),
        Bad(.post, "/v1/applications", json: "{\"citizenId\": \"\(other.rawValue)\", \"originOffice\": \"440300\", \"name\": \"Li\\u0000\", \"hukouProvince\": \"51\"}", 422, field: "name"),
        Bad(.post, "/v1/applications", json: "{\"citizenId\": \"\(other.rawValue)\", \"originOffice\": \"440300\",}", 400),
        Bad(.get, "/v1/cases?state=completed&state=bogus", 422, field: "state"),
        Bad(.get, "/v1/cases?overdue=maybe", 422, field: "overdue"),
        Bad(.patch, "/v1/applications", 405),
    ]

    func check<S: OfficeService>(_ service: S, _ database: any OfficeStore, _ bad: Bad) async throws {
        let before = try Support.fingerprint(database)
        let (status, headers, body) = try await Support.callRaw(service, bad.method, bad.uri, bad.body)
        #expect(Int(status.code) == bad.status, "\(bad): \(body)")
        #expect(headers[.contentType] == "application/problem+json", "\(bad)")
        #expect(body["status"] as? Int == bad.status && !(body["detail"] as? String ?? "").isEmpty, "\(bad)")
        if let field = bad.field { #expect(body["field"] as? String == field, "\(bad): \(body)") }
        if bad.status == 405 { #expect(headers[.allow]?.isEmpty == false, "\(bad)") }
        #expect(try Support.fingerprint(database) == before, "\(bad) changed the database")
    }

    @Test("origin: every rejected request is a problem document naming the field, and changes nothing")
    func originRejections() async throws {
        let context = try Support.context(OriginOffice.self, code: "440300")
        let office = OriginOffice(context: context)
        // A person with a month on record, so updates and months have something to change.
        #expect(try await Support.call(office, .put, Self.p, ["name": "Li Wei", "hukouProvince": "51"]).status == .created)
        #expect(try await Support.call(office, .post, Self.p + "/months", [
            "months": [["period": "2023-01", "base": "8000.00", "employerRate": "16", "personalRate": "8"]],
        ]).status == .created)
        for bad in Self.origin { try await check(office, context.database, bad) }
        let allow = try await Support.callRaw(office, .delete, Self.p, nil).headers[.allow]
        #expect(allow == "GET, HEAD, PUT")
    }

    @Test("destination: every rejected request is a problem document naming the field, and changes nothing")
    func destinationRejections() async throws {
        let context = try Support.context(DestinationOffice.self, code: "510100")
        let office = DestinationOffice(context: context)
        #expect(try await Support.call(office, .put, Self.p, ["name": "Li Wei", "hukouProvince": "51", "registeredOn": "2026-03-02"]).status == .created)
        for bad in Self.destination { try await check(office, context.database, bad) }
    }

    @Test("a store failure of the moment (timeout, lost connection, conflicts past the retries) answers 503 with Retry-After; a fault of the statement answers 500")
    func storeFailures() async throws {
        let router = Router()
        router.add(middleware: ProblemMiddleware())
        let failures: [String: PostgresStoreError] = [
            "conflicts": PostgresStoreError(sqlState: "40001", message: "could not serialize access"),
            "timeout": PostgresStoreError(sqlState: "57014", message: "canceling statement due to statement timeout"),
            "connection": PostgresStoreError(sqlState: nil, message: "serverClosedConnection", connectionLevel: true),
            "crowded": PostgresStoreError(sqlState: "53300", message: "too many connections"),
            "fault": PostgresStoreError(sqlState: "42P01", message: "relation does not exist"),
            "column": PostgresStoreError(sqlState: nil, message: "no column x in the result"),
        ]
        for (name, failure) in failures { router.post(RouterPath(name)) { _, _ -> String in throw failure } }
        try await Application(router: router).test(.router) { client in
            for (name, failure) in failures {
                let response = try await client.execute(uri: "/\(name)", method: .post)
                let transient = !["fault", "column"].contains(name)
                #expect(failure.isTransient == transient, "\(name)")
                #expect(response.status == (transient ? .serviceUnavailable : .internalServerError), "\(name)")
                #expect(response.headers[.retryAfter] == (transient ? "1" : nil), "\(name)")
                #expect(!String(buffer: response.body).contains(failure.message), "the database's words stay in the log: \(name)")
            }
        }
    }
}
