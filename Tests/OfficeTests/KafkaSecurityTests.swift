import Foundation
import Kafka
import OfficeRuntime
import OriginOffice
import Testing
import TransferDomain

#if canImport(Glibc)
import Glibc
#endif

extension OfficeRuns {
    /// TLS and SASL to the broker, for real where the embedded broker allows it.
    ///
    /// Tansu 0.6 cannot serve TLS itself (its `--cert`/`--key` options are refused at start), so TLS
    /// is terminated by a small proxy (Tests/Scripts/tcp_proxy.py) in front of a dedicated Tansu
    /// that advertises the proxy's address: every connection the clients make - bootstrap and broker
    /// - is TLS, verified against a CA made with openssl for this test. SASL: Tansu's
    /// `--authentication` demands a SCRAM login but cannot be given users, so what is tested is that a
    /// refused login stops the office quickly with a message naming the settings.
    @Suite("Kafka TLS and SASL", .enabled(if: Broker.available), .timeLimit(.minutes(3)))
    struct KafkaSecurityTests {
        let client = Client()

        /// A CA and a broker certificate for 127.0.0.1 signed by it, made with openssl.
        static func certificates(in folder: URL, name: String = "ca") async throws -> (ca: String, certificate: String, key: String) {
            func path(_ file: String) -> String { folder.appendingPathComponent(file).path }
            let steps: [[String]] = [
                ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", path("\(name).key"),
                 "-out", path("\(name).pem"), "-days", "2", "-subj", "/CN=pension-transfer test \(name)"],
                ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", path("broker-\(name).key"),
                 "-out", path("broker-\(name).csr"), "-subj", "/CN=127.0.0.1"],
                ["x509", "-req", "-in", path("broker-\(name).csr"), "-CA", path("\(name).pem"), "-CAkey", path("\(name).key"), "-CAcreateserial",
                 "-out", path("broker-\(name).pem"), "-days", "2", "-extfile", path("san.cnf")],
            ]
            try Data("subjectAltName=IP:127.0.0.1,DNS:localhost\n".utf8).write(to: folder.appendingPathComponent("san.cnf"))
            for step in steps {
                let result = try await Support.run(URL(fileURLWithPath: "/usr/bin/env"), ["openssl"] + step)
                guard result.status == 0 else { throw TestFailure("openssl \(step[0]) failed: \(result.error)") }
            }
            return (path("\(name).pem"), path("broker-\(name).pem"), path("broker-\(name).key"))
        }

        @Test("TLS for real: an office reaches the broker only through TLS verified against its CA, applies a signed letter and sends its remittance; transfer-audit reads over TLS; a certificate from another CA stops the office with a clear error")
        func tls() async throws {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let trusted = try await Self.certificates(in: folder)
            let rogue = try await Self.certificates(in: folder, name: "rogue")

            let (plainPort, tlsPort) = (freePort(), freePort())
            let tansu = try ChildProcess.tansu(port: plainPort, advertised: tlsPort, log: folder.appendingPathComponent("tansu.log"))
            let proxy = try ChildProcess.proxy(
                listen: tlsPort, target: plainPort, tls: (trusted.certificate, trusted.key), log: folder.appendingPathComponent("proxy.log"))
            try await withChildren([proxy, tansu]) {
                try await waitForPort(plainPort)
                try await waitForPort(tlsPort)

                let security = ["kafka.security.protocol": "ssl", "kafka.ssl.ca.location": trusted.ca]
                let world = try TestWorld(servers: "127.0.0.1:\(tlsPort)", security: security)
                defer { world.cleanUp() }
                let origin = try await world.start(OriginOffice.self, code: "440300")
                let person = Applicant.make(birth: "19820202", sequence: "711", from: "2021-01", to: "\(Support.businessYear - 1)-12")
                try await person.registerAtOrigin(client, origin.url)
                let chengdu = try #require(OfficeDirectory.standard[try OfficeCode("510100")])
                let shenzhen = try #require(OfficeDirectory.standard[try OfficeCode("440300")])
                let letter = CloudEvent(source: chengdu.code, recipient: shenzhen.code, time: Date(), event: .contactLetterIssued(ContactLetterIssued(
                    caseId: CaseID(), contactLetterNo: ContactLetterNumber(office: chengdu.code, year: Support.businessYear, sequence: 801),
                    person: PersonRef(PersonFacts(citizenID: person.id, name: person.name, hukouProvince: try ProvinceCode("44"))),
                    origin: OfficeRef(shenzhen), destination: OfficeRef(chengdu), destinationAccount: chengdu.account, certificateNo: nil,
                    applicationDate: Support.today, issuedOn: Support.today)))
                try await world.publish(letter)
                _ = try await client.waitFor(origin.url.appendingPathComponent("v1/cases/\(letter.subject)")) { $0["state"] as? String == "terminated" }
                let health = try await client.call("GET", origin.url.appendingPathComponent("health"))
                #expect(health["status"] as? String == "ok", "\(health)")
                #expect(try await world.firstRecord(world.inbox("510100", .destination), type: .fundsRemitted) != nil, "the remittance went out over TLS")
                try await origin.stop()

                // transfer-audit with the same variables as the offices.
                var environment = ProcessInfo.processInfo.environment
                environment["KAFKA_SECURITY_PROTOCOL"] = "ssl"
                environment["KAFKA_SSL_CA_LOCATION"] = trusted.ca
                let audit = try await Support.runTool("transfer-audit", [
                    "--brokers", world.servers, "--inbox-prefix", world.inboxPrefix, "--keys", Support.eventKeys.directory,
                    "--dead-letter-topic", world.deadLetterTopic, "--as-of", Support.today.description,
                ], environment: environment)
                let auditText = String(decoding: audit.output, as: UTF8.self)
                #expect(audit.status == 0, "\(auditText) \(audit.error)")
                #expect(auditText.contains("Cases: 1,") && auditText.contains("Verdict: CLEAN"), "\(auditText)")

                // Nothing reaches the broker in the clear: the proxy's port speaks only TLS.
                let plain = try TestWorld(servers: "127.0.0.1:\(tlsPort)")
                defer { plain.cleanUp() }
                let admin = try KafkaAdminClient(configuration: KafkaConfiguration(bootstrapServers: [plain.servers], clientID: "plain",
                    properties: ["socket.connection.setup.timeout.ms": "3000"]), logger: Support.logger)
                await #expect(throws: (any Error).self) { _ = try await admin.listTopics(timeout: .seconds(5)) }

                // A broker certificate this CA did not sign: the office stops, naming the CA setting.
                let wrongCA = try TestWorld(servers: "127.0.0.1:\(tlsPort)", security: ["kafka.security.protocol": "ssl", "kafka.ssl.ca.location": rogue.ca])
                defer { wrongCA.cleanUp() }
                let started = ContinuousClock.now
                let configuration = try OfficeConfiguration(role: .origin, values: wrongCA.settings(.origin, code: "440300"))
                // Refused either at the first quick topic set-up (inside start-up) or by the running clients.
                let error = await #expect(throws: (any Error).self) {
                    try await OfficeProcess<OriginOffice>(configuration: configuration, logger: Support.logger).run()
                }
                #expect(ContinuousClock.now - started < .seconds(30))
                #expect("\(error.map { "\($0)" } ?? "")".contains("KAFKA_SSL_CA_LOCATION"), "\(error.map { "\($0)" } ?? "no error")")
            }
        }

        @Test("SASL as far as the embedded broker allows: a refused SCRAM login stops the office within seconds, naming the SASL settings", arguments: ["SCRAM-SHA-256", "SCRAM-SHA-512"])
        func saslRefused(mechanism: String) async throws {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sasl-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let port = freePort()
            let tansu = try ChildProcess.tansu(port: port, authentication: true, log: folder.appendingPathComponent("tansu.log"))
            try await withChildren([tansu]) {
                try await waitForPort(port)
                let world = try TestWorld(servers: "127.0.0.1:\(port)", security: [
                    "kafka.security.protocol": "sasl_plaintext", "kafka.sasl.mechanism": mechanism,
                    "kafka.sasl.username": "office-440300", "kafka.sasl.password": "not-the-password",
                ])
                defer { world.cleanUp() }
                let started = ContinuousClock.now
                let configuration = try OfficeConfiguration(role: .origin, values: world.settings(.origin, code: "440300"))
                // Refused either at the first quick topic set-up (inside start-up) or by the running clients.
                let error = await #expect(throws: (any Error).self) {
                    try await OfficeProcess<OriginOffice>(configuration: configuration, logger: Support.logger).run()
                }
                #expect(ContinuousClock.now - started < .seconds(30))
                let text = error.map { "\($0)" } ?? ""
                #expect(text.contains("SASL") && text.contains("KAFKA_SASL_USERNAME"), "\(text)")
            }
        }
    }
}
