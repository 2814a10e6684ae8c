import Foundation
import OfficeRuntime
import Testing
import TransferDomain
import Yams

/// `docker-compose.yml`, `docker-compose.offline.yml` and the Dockerfiles, checked against the code
/// that reads them: typos that would silently fall back to defaults are caught here, without a
/// Docker engine. `scripts/compose test` runs the offline stack for real.
@Suite("docker-compose.yml and Dockerfile")
struct ComposeFileTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The compose file as plain values, with `<<` merge keys applied.
    static func compose(_ file: String = "docker-compose.yml") throws -> [String: Any] {
        let text = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
        return merged(try Yams.load(yaml: text)) as? [String: Any] ?? [:]
    }

    static func merged(_ value: Any?) -> Any? {
        if var mapping = value as? [String: Any] {
            if let base = mapping.removeValue(forKey: "<<") as? [String: Any] {
                for (key, value) in base where mapping[key] == nil { mapping[key] = value }
            }
            return mapping.compactMapValues { merged($0) }
        }
        if let list = value as? [Any] { return list.compactMap { merged($0) } }
        return value
    }

    static func service(_ name: String, in file: String = "docker-compose.yml") throws -> [String: Any] {
        try #require((try compose(file)["services"] as? [String: Any])?[name] as? [String: Any], "service \(name) in \(file)")
    }

    /// A service as docker-compose sees it with the offline file over the main one: mappings
    /// merged key by key (environment, healthcheck), everything else replaced.
    static func offlineService(_ name: String) throws -> [String: Any] {
        var service = (try Self.compose()["services"] as? [String: Any])?[name] as? [String: Any] ?? [:]
        for (key, value) in try Self.service(name, in: "docker-compose.offline.yml") {
            if var base = service[key] as? [String: Any], let over = value as? [String: Any] {
                for (inner, innerValue) in over { base[inner] = innerValue }
                service[key] = base
            } else {
                service[key] = value
            }
        }
        return service
    }

    /// A service's environment, `${NAME:-default}` replaced by its default (as compose does when
    /// the variable is unset).
    static func environment(_ service: [String: Any]) -> [String: String] {
        (service["environment"] as? [String: Any] ?? [:]).mapValues { defaulted("\($0)") }
    }

    /// `text` with each `${NAME:-default}` replaced by its default.
    static func defaulted(_ text: String) -> String {
        var text = text
        while let start = text.range(of: "${"), let end = text[start.upperBound...].firstIndex(of: "}") {
            let inner = text[start.upperBound..<end]
            let fallback = inner.range(of: ":-").map { String(inner[$0.upperBound...]) } ?? ""
            text.replaceSubrange(start.lowerBound...end, with: fallback)
        }
        return text
    }

    /// A list of strings (a command, a health check's test) with defaults substituted.
    static func strings(_ value: Any?) -> [String] { (value as? [String] ?? []).map(defaulted) }

    static let offices: [(String, OfficeRole)] = [("origin-office", .origin), ("destination-office", .destination)]

    @Test("every office environment key is one the office reads, and the values parse", arguments: offices)
    func officeEnvironment(name: String, role: OfficeRole) throws {
        let service = try Self.service(name)
        let known = Set(OfficeConfiguration.keys(role: role).map(\.environmentVariable)).union(["OFFICE_CONFIG_FILE"])
        let environment = Self.environment(service)
        for key in environment.keys.sorted() {
            #expect(known.contains(key), "\(name) sets \(key), which the \(role.rawValue) office does not read")
        }
        #expect((service["command"] as? [String])?.first == name)
        // The values are accepted by the same code the office runs at start.
        var values: [String: String] = [:]
        for key in OfficeConfiguration.keys(role: role) where environment[key.environmentVariable] != nil {
            values[key.name] = environment[key.environmentVariable]
        }
        let configuration = try OfficeConfiguration(role: role, values: values)
        #expect(configuration.httpHost == "0.0.0.0", "listen on the container's interfaces")
        #expect(configuration.kafka.bootstrapServers == ["kafka:9092"])
        // State in the compose PostgreSQL, the office's own database (several instances can share it).
        let database = try #require(configuration.databaseURL.flatMap { URLComponents(string: $0) })
        #expect(database.host == "postgres" && database.path == "/\(role.rawValue)_\(configuration.officeCode.rawValue)")
        let databases = try String(contentsOf: Self.root.appendingPathComponent("deploy/postgres-databases.sql"), encoding: .utf8)
        #expect(databases.contains("CREATE DATABASE \(role.rawValue)_\(configuration.officeCode.rawValue)"), "the postgres service creates it")
        // Authentication is on, with the public key from the auth-keys volume (read-only).
        #expect(!configuration.authDisabled && configuration.authPublicKeys == ["/keys/issuer.pub.pem"])
        #expect((service["volumes"] as? [String])?.contains("auth-keys:/keys:ro") == true)
        // Events signed with this office's own key (its own volume), checked against the directory.
        #expect(configuration.eventKeysPath == "/keys/office-keys.json")
        #expect(configuration.eventSigningKeyPath == "/event-key/events-\(configuration.officeCode.rawValue).pem")
        #expect((service["volumes"] as? [String])?.contains("\(role.rawValue)-event-key:/event-key:ro") == true)
        // Kafka login as the office's own principal.
        #expect(configuration.kafka.securityProtocol == .saslPlaintext)
        #expect(configuration.kafka.sasl?.username == "office-\(configuration.officeCode.rawValue)")
    }

    @Test("ports, health checks and shutdown grace agree", arguments: offices)
    func portsAndHealth(name: String, role: OfficeRole) throws {
        let service = try Self.service(name)
        let port = try #require(Self.environment(service)["HTTP_PORT"])
        #expect((service["ports"] as? [String])?.contains { $0.hasSuffix(":\(port)") } == true, "published port is the HTTP port")
        #expect((service["ports"] as? [String])?.allSatisfy { $0.hasPrefix("127.0.0.1:") } == true, "published on loopback only by default")
        let health = (service["healthcheck"] as? [String: Any])?["test"] as? [String] ?? []
        #expect(health.contains("http://127.0.0.1:\(port)/health"))
        let grace = try #require(service["stop_grace_period"] as? String)
        let graceSeconds = Int(grace.dropLast()) ?? 0
        let shutdown = Int(Self.environment(service)["SHUTDOWN_TIMEOUT_SECONDS"] ?? "20") ?? 20
        #expect(graceSeconds > shutdown, "stop_grace_period \(grace) must exceed SHUTDOWN_TIMEOUT_SECONDS \(shutdown)")
        let dependsOn = service["depends_on"] as? [String: Any] ?? [:]
        #expect((dependsOn["kafka"] as? [String: Any])?["condition"] as? String == "service_healthy")
        #expect((dependsOn["kafka-init"] as? [String: Any])?["condition"] as? String == "service_completed_successfully")
        #expect((dependsOn["postgres"] as? [String: Any])?["condition"] as? String == "service_healthy")
        let postgres = try Self.service("postgres")
        #expect(((postgres["healthcheck"] as? [String: Any])?["test"] as? [String])?.joined(separator: " ").contains("pg_isready") == true)
        #expect((postgres["volumes"] as? [String])?.contains { $0.hasSuffix(":/docker-entrypoint-initdb.d/10-databases.sql:ro") } == true)
    }

    @Test("Kafka is KRaft with listeners for the compose network and the host, and a health check")
    func kafka() throws {
        let kafka = try Self.service("kafka")
        let environment = Self.environment(kafka)
        #expect(environment["KAFKA_PROCESS_ROLES"] == "broker,controller")
        #expect(environment["KAFKA_ADVERTISED_LISTENERS"]?.contains("kafka:9092") == true)
        #expect(environment["KAFKA_ADVERTISED_LISTENERS"]?.contains("localhost:9094") == true)
        #expect((kafka["ports"] as? [String]) == ["127.0.0.1:9094:9094"], "the plaintext host listener is published on loopback only")
        #expect(kafka["healthcheck"] != nil)
        #expect((kafka["image"] as? String)?.hasPrefix("apache/kafka:") == true)
        // Every client listener demands a login; nothing is allowed without an ACL.
        #expect(environment["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"] == "INTERNAL:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT,EXTERNAL:SASL_PLAINTEXT")
        #expect(environment["KAFKA_AUTHORIZER_CLASS_NAME"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer")
        #expect(environment["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false")
        #expect(environment["KAFKA_SUPER_USERS"] == "User:admin;User:ANONYMOUS")
        for listener in ["INTERNAL", "EXTERNAL"] {
            let users = try #require(environment["KAFKA_LISTENER_NAME_\(listener)_PLAIN_SASL_JAAS_CONFIG"])
            for (name, _) in Self.offices {
                let user = Self.environment(try Self.service(name))["KAFKA_SASL_USERNAME"] ?? "?"
                #expect(users.contains("user_\(user)="), "\(listener) knows \(user)")
            }
            #expect(users.contains("user_auditor=") && users.hasSuffix(";"))
        }
    }

    @Test("the initialiser creates every directory office's inbox and the dead-letter topic, 6 partitions each, and the ACLs")
    func topics() throws {
        let command = ((try Self.service("kafka-init"))["command"] as? [String] ?? []).joined(separator: " ")
        // Both roles' inboxes of every directory office: the loop over codes, then over the two roles.
        for office in OfficeDirectory.standard.offices.keys { #expect(command.contains(" \(office.rawValue) ") || command.contains(" \(office.rawValue);"), "inboxes of \(office)") }
        for role in OfficeRole.allCases { #expect(command.contains("\(Topics.inboxPrefix)$$code.\(role.rawValue)"), "\(role) inboxes") }
        #expect(command.contains(Topics.inboxPrefix) && command.contains(Topics.deadLetter))
        #expect(command.contains("--partitions 6"))
        #expect(command.contains("--if-not-exists"))
        // Each office principal reads only its own inbox (and its group) and writes the inboxes and
        // the dead-letter topic; nobody but the auditor reads another inbox.
        let reads = command.components(separatedBy: ";").filter { $0.contains("--operation Read --topic \(Topics.inboxPrefix)") }
        for (name, role) in Self.offices {
            let environment = Self.environment(try Self.service(name))
            let user = try #require(environment["KAFKA_SASL_USERNAME"])
            let code = environment["OFFICE_CODE"] ?? ""
            let inbox = Topics.inbox(try OfficeCode(code), role)
            #expect(command.contains("--allow-principal User:\(user) --operation Read --topic \(inbox);"), "\(user) reads its inbox")
            #expect(reads.filter { $0.contains("User:\(user) ") }.count == 1, "\(user) reads no other inbox")
            #expect(command.contains("--allow-principal User:\(user) --operation Read --group \(role.rawValue)-office-\(code);"), "\(user) uses its group")
            #expect(command.contains("--allow-principal User:\(user) --operation Write --resource-pattern-type prefixed --topic \(Topics.inboxPrefix);"), "\(user) writes inboxes")
            #expect(command.contains("--allow-principal User:\(user) --operation Write --topic \(Topics.deadLetter);"), "\(user) dead-letters")
        }
        #expect(command.contains("--allow-principal User:auditor --operation Read --resource-pattern-type prefixed --topic \(Topics.inboxPrefix);"))
        #expect(command.contains("--command-config"), "the initialiser logs in as admin")
    }

    @Test("the tests profile points the suite at the stack through the variables the suite reads")
    func testsProfile() throws {
        let tests = try Self.service("tests")
        #expect((tests["profiles"] as? [String]) == ["tests"])
        let environment = Self.environment(tests)
        #expect(environment["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092")
        #expect(environment["ORIGIN_URL"] == "http://origin-office:\(Self.environment(try Self.service("origin-office"))["HTTP_PORT"] ?? "")")
        #expect(environment["DESTINATION_URL"] == "http://destination-office:\(Self.environment(try Self.service("destination-office"))["HTTP_PORT"] ?? "")")
        #expect(environment["CREDITING_RATES"] == Self.environment(try Self.service("origin-office"))["CREDITING_RATES"], "the suite checks amounts with the origin's rates")
        let command = (tests["command"] as? [String] ?? []).joined(separator: " ")
        #expect(command.contains("swift test --filter StackTests"))
        #expect(command.contains("transfer-audit"))
        #expect(environment["AUTH_PRIVATE_KEY_FILE"] == "/keys/issuer.pem", "the suite mints its token with the stack's key")
        #expect(command.contains("--keys /keys/office-keys.json"), "the audit checks signatures")
        #expect(environment["KAFKA_SASL_USERNAME"] == "auditor" && environment["KAFKA_SECURITY_PROTOCOL"] == "sasl_plaintext")
    }

    @Test("the Dockerfile builds the five products on a librdkafka >= 2.2 distribution and runs as non-root with a health check")
    func dockerfile() throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("Dockerfile"), encoding: .utf8)
        #expect(text.contains("FROM swift:6.2-noble AS build"), "Ubuntu 24.04 ships librdkafka 2.3.0")
        // One `swift build` per product: given several --product options it builds only the last.
        #expect(text.contains("for product in origin-office destination-office transfer-audit office-token event-keys; do"))
        #expect(text.contains("--product \"$product\"") && text.contains("cp origin-office destination-office transfer-audit office-token event-keys /out/"))
        #expect(text.contains("USER office"))
        #expect(text.contains("HEALTHCHECK"))
        #expect(text.contains("librdkafka1") && text.contains("libsqlite3-0"))
    }

    @Test("the offline file keeps every service on the host's loopback, never a bridge network")
    func offlineNetworking() throws {
        let services = try #require(try Self.compose("docker-compose.offline.yml")["services"] as? [String: Any])
        let main = try #require(try Self.compose()["services"] as? [String: Any])
        #expect(Set(main.keys).isSubset(of: Set(services.keys)), "every service of the main file is swapped or moved to loopback")
        for (name, value) in services {
            let service = try #require(value as? [String: Any])
            #expect(service["network_mode"] as? String == "host", "\(name) uses the host's network")
            #expect(service["networks"] == nil, "\(name) joins no compose network")
        }
        for (name, _) in Self.offices + [("destination-office-2", .destination)] {
            let environment = Self.environment(try Self.offlineService(name))
            #expect(environment["HTTP_HOST"] == "127.0.0.1", "\(name) listens on loopback only")
        }
        let postgres = try Self.offlineService("postgres")
        #expect((postgres["command"] as? [String])?.contains("listen_addresses=127.0.0.1") == true)
        let kafka = ((try Self.offlineService("kafka"))["command"] as? [String] ?? []).joined(separator: " ")
        #expect(kafka.contains("--listener-url=tcp://127.0.0.1:"))
    }

    @Test("offline, each office's merged settings parse and point at the loopback PostgreSQL and Tansu", arguments: offices + [("destination-office-2", .destination)])
    func offlineOffices(name: String, role: OfficeRole) throws {
        let service = try Self.offlineService(name)
        let environment = Self.environment(service)
        let known = Set(OfficeConfiguration.keys(role: role).map(\.environmentVariable)).union(["OFFICE_CONFIG_FILE"])
        for key in environment.keys.sorted() { #expect(known.contains(key), "\(name) sets \(key)") }
        var values: [String: String] = [:]
        for key in OfficeConfiguration.keys(role: role) where environment[key.environmentVariable] != nil {
            values[key.name] = environment[key.environmentVariable]
        }
        let configuration = try OfficeConfiguration(role: role, values: values)
        #expect(configuration.kafka.bootstrapServers == ["127.0.0.1:29092"])
        #expect(configuration.kafka.securityProtocol == .plaintext && configuration.kafka.sasl == nil, "Tansu has no SASL users")
        let database = try #require(configuration.databaseURL.flatMap { URLComponents(string: $0) })
        #expect(database.host == "127.0.0.1" && database.port == 25432)
        #expect(database.path == "/\(role.rawValue)_\(configuration.officeCode.rawValue)", "instances of an office share its database")
        let health = Self.strings((service["healthcheck"] as? [String: Any])?["test"])
        #expect(health.contains("http://127.0.0.1:\(configuration.httpPort)/health"))
        #expect(service["image"] as? String == "pension-transfer:offline")
        #expect((service["volumes"] as? [String])?.contains("\(role.rawValue)-event-key:/event-key:ro") == true, "the same keys as the main file")
    }

    @Test("offline, the two destination instances differ only in their HTTP port")
    func offlineSecondInstance() throws {
        var first = Self.environment(try Self.offlineService("destination-office"))
        var second = Self.environment(try Self.offlineService("destination-office-2"))
        #expect(first.removeValue(forKey: "HTTP_PORT") != second.removeValue(forKey: "HTTP_PORT"))
        #expect(first == second)
        let one = try Self.offlineService("destination-office")
        let two = try Self.offlineService("destination-office-2")
        for key in ["image", "command", "volumes", "restart", "stop_grace_period"] {
            #expect(String(describing: one[key]) == String(describing: two[key]), "\(key)")
        }
        #expect((two["profiles"] as? [String]) == ["scale"])
    }

    @Test("offline, Tansu gets the same topics as the main file's initialiser")
    func offlineTopics() throws {
        func codes(_ command: String) -> [String] {
            guard let loop = command.range(of: "for code in "), let end = command[loop.upperBound...].range(of: ";") else { return [] }
            return command[loop.upperBound..<end.lowerBound].split(separator: " ").map(String.init)
        }
        let main = ((try Self.service("kafka-init"))["command"] as? [String] ?? []).joined(separator: " ")
        let offline = ((try Self.offlineService("kafka-init"))["command"] as? [String] ?? []).joined(separator: " ")
        #expect(!codes(main).isEmpty && codes(offline) == codes(main))
        for role in OfficeRole.allCases { #expect(offline.contains("create \(Topics.inboxPrefix)$$code.\(role.rawValue)")) }
        #expect(offline.contains("create \(Topics.deadLetter)") && offline.contains("--partitions 6"))
    }

    @Test("offline, the tests profile runs the suite and the audit against the loopback stack")
    func offlineTests() throws {
        let tests = try Self.offlineService("tests")
        let environment = Self.environment(tests)
        let origin = Self.environment(try Self.offlineService("origin-office"))["HTTP_PORT"] ?? ""
        let destination = Self.environment(try Self.offlineService("destination-office"))["HTTP_PORT"] ?? ""
        #expect(environment["ORIGIN_URL"] == "http://127.0.0.1:\(origin)" && environment["DESTINATION_URL"] == "http://127.0.0.1:\(destination)")
        #expect(environment["AUTH_PRIVATE_KEY_FILE"] == "/keys/issuer.pem" && environment["CREDITING_RATES"] != nil, "kept from the main file")
        let command = Self.strings(tests["command"]).joined(separator: " ")
        #expect(command.contains("--filter StackTests") && command.contains("transfer-audit --brokers 127.0.0.1:29092 --keys /keys/office-keys.json"))
        #expect(command.contains("/origin_440300") && command.contains("/destination_510100"), "the audit compares both databases")
    }

    @Test("the offline offices' image runs as the main Dockerfile's does: user, health check, command")
    func offlineDockerfile() throws {
        func lines(_ path: String, from marker: String? = nil) throws -> [String] {
            var text = try String(contentsOf: Self.root.appendingPathComponent(path), encoding: .utf8)
            if let marker, let start = text.range(of: marker) { text = String(text[start.lowerBound...]) }
            return text.split(separator: "\n").map(String.init)
        }
        let production = try lines("Dockerfile", from: "# Runtime stage")
        let offline = try lines("deploy/offline/offices.Dockerfile")
        for prefix in ["USER ", "WORKDIR ", "ENV ", "    HTTP_PORT", "    LOG_LEVEL", "EXPOSE ", "HEALTHCHECK ", "  CMD curl", "CMD ["] {
            let want = production.filter { $0.hasPrefix(prefix) }
            #expect(!want.isEmpty && want == offline.filter { $0.hasPrefix(prefix) }, "\(prefix)")
        }
        #expect(offline.contains { $0.contains("useradd --system --uid 10001 --home-dir /data --create-home office") })
        #expect(production.contains { $0.contains("useradd --system --uid 10001 --home-dir /data --create-home office") })
        #expect(offline.first { $0.hasPrefix("FROM ") } == "FROM pension-transfer-base:bookworm")
    }
}
