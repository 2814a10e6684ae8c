import DestinationOffice
import Foundation
import Hummingbird
import Kafka
import OfficeAuth
import OfficeRuntime
import OriginOffice
import Testing
import TransferDomain

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Who may do what, through the real token check: 401 without a valid token, 403 with the wrong
/// role, both as problem documents.
@Suite("Authentication and roles")
struct AuthTests {
    static let person = Support.citizenID(birth: "19850310", sequence: "013")
    static let p = "/v1/persons/\(person.rawValue)"

    /// A request and the roles allowed to make it.
    struct Call: Sendable, CustomStringConvertible {
        var method: HTTPRequest.Method
        var uri: String
        var body: [UInt8]?
        var allowed: Set<AccessRole>
        var description: String { "\(method) \(uri)" }
    }

    static func json(_ text: String) -> [UInt8] { Array(text.utf8) }

    static let origin: [Call] = [
        Call(method: .put, uri: p, body: json(#"{"name": "Li Wei", "hukouProvince": "51"}"#), allowed: [.clerk]),
        Call(method: .post, uri: p + "/months", body: json(#"{"months": [{"period": "2024-01", "base": "8000.00", "employerRate": "16", "personalRate": "8"}]}"#), allowed: [.clerk]),
        Call(method: .post, uri: p + "/suspension", body: json("{}"), allowed: [.clerk]),
        Call(method: .post, uri: p + "/certificates", body: json(#"{"destinationOffice": "510100", "materials": {"identityDocument": "ID", "householdRegister": "H", "laborContractTermination": "T"}}"#), allowed: [.clerk]),
        Call(method: .get, uri: p, allowed: [.clerk, .viewer, .auditor]),
        Call(method: .get, uri: "/v1/cases", allowed: [.clerk, .viewer, .auditor]),
        Call(method: .get, uri: "/v1/cases/\(UUID().uuidString)", allowed: [.clerk, .viewer, .auditor]),
    ]

    static let destination: [Call] = [
        Call(method: .put, uri: p, body: json(#"{"name": "Li Wei", "hukouProvince": "51", "registeredOn": "2026-03-02"}"#), allowed: [.clerk]),
        Call(method: .post, uri: "/v1/applications", body: json("{\"citizenId\": \"\(person.rawValue)\", \"originOffice\": \"440300\"}"), allowed: [.clerk]),
        Call(method: .get, uri: p, allowed: [.clerk, .viewer, .auditor]),
        Call(method: .get, uri: "/v1/cases", allowed: [.clerk, .viewer, .auditor]),
        Call(method: .get, uri: "/v1/cases/\(UUID().uuidString)", allowed: [.clerk, .viewer, .auditor]),
    ]

    func check<S: OfficeService>(_ service: S, _ calls: [Call]) async throws {
        // Without a token, with a broken one, with a valid one for another office: 401.
        let otherOffice = try await Support.token(offices: ["330100"])
        let expired = try await Support.token(lifetime: .seconds(-60))
        let otherKeys = FileManager.default.temporaryDirectory.appendingPathComponent("other-keys-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: otherKeys, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: otherKeys) }
        _ = try TokenKeys.generate(privateKeyPath: otherKeys.appendingPathComponent("k.pem").path, publicKeyPath: otherKeys.appendingPathComponent("k.pub").path)
        let forged = try await TokenIssuer(privateKeyPath: otherKeys.appendingPathComponent("k.pem").path, issuer: "pension-transfer")
            .mint(subject: "mallory", offices: Support.testOffices, roles: AccessRole.allCases, lifetime: .seconds(600))
        let otherIssuer = try await TokenIssuer(privateKeyPath: Support.keys.privateKey, issuer: "someone-else")
            .mint(subject: "x", offices: Support.testOffices, roles: AccessRole.allCases, lifetime: .seconds(600))
        for call in calls {
            for (label, token) in [("none", ""), ("garbage", "not.a.token"), ("another office's", otherOffice), ("expired", expired),
                                   ("signed by an unknown key", forged), ("from another issuer", otherIssuer)] {
                let (status, headers, body) = try await Support.callRaw(service, call.method, call.uri, call.body, token: token)
                #expect(status == .unauthorized, "\(call) with \(label) token")
                #expect(headers[.contentType] == "application/problem+json" && headers[.wwwAuthenticate] == "Bearer", "\(call) \(label)")
                #expect(body["status"] as? Int == 401 && !(body["detail"] as? String ?? "").isEmpty, "\(call) \(label)")
            }
            for role in AccessRole.allCases {
                let (status, headers, body) = try await Support.callRaw(service, call.method, call.uri, call.body, token: try await Support.token(roles: [role]))
                if call.allowed.contains(role) {
                    // Allowed: past the token check, and answered by the route (a 500 is a failure too).
                    #expect(status != .unauthorized && status != .forbidden && status.code < 500, "\(call) as \(role): \(status) \(body)")
                } else {
                    #expect(status == .forbidden, "\(call) as \(role)")
                    #expect(headers[.contentType] == "application/problem+json" && body["status"] as? Int == 403, "\(call) as \(role)")
                }
            }
        }
    }

    @Test("origin: clerks write, viewers, clerks and auditors read; 401 for a missing, broken, expired, foreign or forged token")
    func originRoles() async throws {
        let office = OriginOffice(context: try Support.context(OriginOffice.self, code: "440300"))
        try await check(office, Self.origin)
        // The yearly ledger: auditors only.
        let viewer = try await Support.callRaw(office, .get, Self.p, nil, token: try await Support.token(roles: [.viewer]))
        let auditor = try await Support.callRaw(office, .get, Self.p, nil, token: try await Support.token(roles: [.auditor]))
        #expect(viewer.status == .ok && viewer.body["ledger"] == nil && viewer.body["monthsPaid"] != nil)
        #expect(auditor.status == .ok && (auditor.body["ledger"] as? [Any])?.isEmpty == false)
    }

    @Test("destination: clerks write, viewers, clerks and auditors read; 401 for a missing, broken, expired, foreign or forged token")
    func destinationRoles() async throws {
        let office = DestinationOffice(context: try Support.context(DestinationOffice.self, code: "510100"))
        try await check(office, Self.destination)
    }

    @Test("error bodies never carry a full citizen ID, whoever's it is")
    func noIDsInErrors() async throws {
        let office = OriginOffice(context: try Support.context(OriginOffice.self, code: "440300"))
        let other = Support.citizenID(birth: "19700101", sequence: "555")
        for (method, uri, body) in [
            (HTTPRequest.Method.get, "/v1/persons/\(other.rawValue)", nil as [UInt8]?),
            (.post, "/v1/persons/\(other.rawValue)/suspension", Self.json("{}")),
            (.put, "/v1/persons/\(other.rawValue.dropLast())0", Self.json(#"{"name": "X", "hukouProvince": "51"}"#)),
        ] {
            let (status, _, decoded) = try await Support.callRaw(office, method, uri, body)
            let text = String(describing: decoded)
            #expect(status.code >= 400)
            #expect(!text.contains(String(other.rawValue.dropLast())), "\(uri): \(text)")
        }
    }
}

/// The token tool and an office, as an operator uses them.
@Suite("office-token and /health, /metrics access")
struct TokenToolTests {
    func tool(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let (status, output) = try await Support.runToolCombined("office-token", arguments)
        return (status, output.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test("keygen and mint make a token the office takes; /health is open, /metrics takes a token when configured so")
    func mintAndUse() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tokens-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let privateKey = folder.appendingPathComponent("issuer.pem").path
        let publicKey = folder.appendingPathComponent("issuer.pub.pem").path
        #expect(try await tool(["keygen", "--private-key", privateKey, "--public-key", publicKey]).status == 0)
        let permissions = try FileManager.default.attributesOfItem(atPath: privateKey)[.posixPermissions] as? Int
        #expect(permissions == 0o600, "the private key is readable by its owner only")
        #expect(try await tool(["keygen", "--private-key", privateKey, "--public-key", publicKey]).status != 0, "never overwrites by accident")
        let minted = try await tool(["mint", "--private-key", privateKey, "--office", "440300", "--role", "viewer", "--subject", "zhang.min", "--ttl", "1h"])
        #expect(minted.status == 0)
        #expect(try await tool(["mint", "--private-key", privateKey, "--office", "440300", "--role", "boss", "--subject", "x"]).status != 0)

        let cluster = try KafkaMockCluster()
        try Support.createTopics(cluster)
        let configuration = try OfficeConfiguration(role: .origin, values: Support.eventKeySettings("440300").merging([
            "office.code": "440300", "http.port": "0", "database.path": folder.appendingPathComponent("origin.sqlite").path,
            "kafka.bootstrap.servers": cluster.bootstrapServers, "kafka.statistics.interval.ms": "0",
            "auth.public.keys": publicKey, "metrics.access": "token",
        ]) { $1 })
        let process = try await OfficeProcess<OriginOffice>(configuration: configuration, logger: Support.logger, registry: .init())
        let running = Task { try await process.run() }
        let port = try #require(await process.boundPort.value())
        func status(_ path: String, token: String?) async throws -> Int {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
            if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
            let (_, response) = try await URLSession.shared.data(for: request)
            return (response as? HTTPURLResponse)?.statusCode ?? 0
        }
        #expect(try await status("/v1/cases", token: minted.output) == 200)
        #expect(try await status("/v1/cases", token: nil) == 401)
        #expect(try await [200, 503].contains(status("/health", token: nil)), "health needs no token")
        #expect(try await status("/metrics", token: nil) == 401)
        #expect(try await status("/metrics", token: minted.output) == 200)
        await process.serviceGroup.triggerGracefulShutdown()
        try await running.value
    }
}
