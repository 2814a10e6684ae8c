import Configuration
import Foundation
import Kafka
import EventSigning
import Logging
import OfficeAuth
import OfficeStorage
import TransferDomain

/// Everything an office process is configured with, read through swift-configuration from
/// command-line flags, environment variables and an optional env-style file (in that order of
/// precedence). Every key is listed in ``OfficeConfiguration/keys`` with its default.
public struct OfficeConfiguration: Sendable {
    /// One configuration key: its dotted name and how it is spelled in each source.
    public struct Key: Sendable, Hashable {
        public var name: String
        public var defaultValue: String
        public var help: String

        /// `kafka.bootstrap.servers` → `KAFKA_BOOTSTRAP_SERVERS`.
        public var environmentVariable: String {
            name.uppercased().replacingOccurrences(of: ".", with: "_").replacingOccurrences(of: "-", with: "_")
        }

        /// `kafka.bootstrap.servers` → `--kafka-bootstrap-servers`.
        public var flag: String { "--" + name.replacingOccurrences(of: ".", with: "-") }
    }

    /// Every key an office reads. `role` fills role-specific defaults.
    public static func keys(role: OfficeRole) -> [Key] {
        let defaultCode = role == .origin ? "440300" : "510100"
        let defaultPort = role == .origin ? "8081" : "8082"
        return [
            Key(name: "office.code", defaultValue: defaultCode, help: "6-digit code of this office (GB/T 2260)"),
            Key(name: "http.host", defaultValue: "127.0.0.1", help: "address the HTTP API listens on"),
            Key(name: "http.port", defaultValue: defaultPort, help: "port of the HTTP API"),
            Key(name: "http.idle.timeout.seconds", defaultValue: "30", help: "close a connection idle (or stuck in a partial request) this long"),
            Key(name: "http.max.connections", defaultValue: "256", help: "connections served at once; more wait to be accepted"),
            Key(name: "http.operations.port", defaultValue: "", help: "a second port serving only /health and /metrics, with connections of its own, so an orchestrator can still ask when clients hold every connection of http.port (0: any free port; empty: none)"),
            Key(name: "database.path", defaultValue: "data/\(role.rawValue)-\(defaultCode).sqlite", help: "SQLite file; created with its folder on first start"),
            Key(name: "database.url", defaultValue: "", help: "PostgreSQL instead of SQLite: postgres://user[:password]@host[:port]/database[?sslmode=disable|require|verify-full&sslrootcert=ca.pem]; instances of one office share it (secret)"),
            Key(name: "database.pool.size", defaultValue: "8", help: "PostgreSQL connections per instance"),
            Key(name: "database.relay.lease.seconds", defaultValue: "10", help: "PostgreSQL: how long the outbox relay lease lasts without renewal; another instance takes the relay over this long after its holder is lost"),
            Key(name: "database.statement.timeout.seconds", defaultValue: "30", help: "PostgreSQL: the longest a statement may take (on the server and in the office, which closes a connection that stops answering)"),
            Key(name: "kafka.bootstrap.servers", defaultValue: "127.0.0.1:9092", help: "comma-separated host:port of Kafka brokers"),
            Key(name: "kafka.client.id", defaultValue: "", help: "client id (default: <role>-office-<code>)"),
            Key(name: "kafka.group.id", defaultValue: "", help: "consumer group (default: <role>-office-<code>)"),
            Key(name: "kafka.security.protocol", defaultValue: "plaintext", help: "plaintext, ssl, sasl_plaintext or sasl_ssl"),
            Key(name: "kafka.sasl.mechanism", defaultValue: "", help: "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"),
            Key(name: "kafka.sasl.username", defaultValue: "", help: "SASL user"),
            Key(name: "kafka.sasl.password", defaultValue: "", help: "SASL password (secret)"),
            Key(name: "kafka.ssl.ca.location", defaultValue: "", help: "CA certificate file for TLS"),
            Key(name: "kafka.session.timeout.ms", defaultValue: "6000", help: "consumer group session timeout"),
            Key(name: "kafka.max.poll.interval.ms", defaultValue: "300000", help: "longest pause between two reads of the consumer before the group gives its partitions to another member (librdkafka max.poll.interval.ms, also sent as the rebalance timeout)"),
            Key(name: "kafka.fetch.wait.max.ms", defaultValue: "50", help: "longest the broker may hold the consumer's fetch when no record is there (librdkafka fetch.wait.max.ms): the embedded broker answers a waiting fetch only when this runs out, so it bounds each hop's delay; with Apache Kafka, which answers as soon as records arrive, 500 saves idle requests"),
            Key(name: "kafka.statistics.interval.ms", defaultValue: "5000", help: "librdkafka statistics (consumer lag metric); 0 turns off"),
            Key(name: "kafka.topic.partitions", defaultValue: "6", help: "partitions of topics created at start when missing"),
            Key(name: "kafka.topic.check.seconds", defaultValue: "30", help: "how often the office checks that its inbox and the dead-letter topic still exist (a broker restarted empty loses them); 0 turns it off"),
            Key(name: "topic.inbox.prefix", defaultValue: Topics.inboxPrefix, help: "inbox topics are this prefix, the office code and the role (<prefix><code>.<role>); an office reads only its own"),
            Key(name: "topic.dead.letter", defaultValue: Topics.deadLetter, help: "dead-letter topic"),
            Key(name: "crediting.rates", defaultValue: "", help: "office crediting rates by year, e.g. 2014=4.0,2015=5.0,2025=2.0 (percent); national rates 2016-2024 are built in"),
            Key(name: "shutdown.timeout.seconds", defaultValue: "20", help: "bound on graceful shutdown"),
            Key(name: "health.outbox.max.age.seconds", defaultValue: "60", help: "/health answers 503 when the oldest unsent event is older than this"),
            Key(name: "business.date", defaultValue: "", help: "run as if today were this date (YYYY-MM-DD), advancing from there; for tests and rehearsals only (default: the real date in Asia/Shanghai)"),
            Key(name: "event.signing.key", defaultValue: "", help: "this office's Ed25519 private key (PEM) that signs every event it sends (see event-keys)"),
            Key(name: "event.keys.file", defaultValue: "", help: "the office key directory (JSON): every office's public event keys"),
            Key(name: "auth.public.keys", defaultValue: "", help: "Ed25519 public key files (PEM, comma-separated) of the token issuer; required unless auth.disabled"),
            Key(name: "auth.issuer", defaultValue: "pension-transfer", help: "the issuer (iss) tokens must name"),
            Key(name: "auth.disabled", defaultValue: "false", help: "true: no authentication, every request has every role; only with http.host on a loopback address (closed test benches only)"),
            Key(name: "auth.max.token.lifetime.seconds", defaultValue: "86400", help: "tokens whose lifetime (exp - iat) is longer are refused"),
            Key(name: "metrics.access", defaultValue: "open", help: "open, or token (any valid token for this office)"),
            Key(name: "log.level", defaultValue: "info", help: "trace, debug, info, notice, warning, error, critical"),
            Key(name: "console.session.idle.minutes", defaultValue: "30", help: "console: a session unused this long ends (sign in again)"),
            Key(name: "console.session.absolute.hours", defaultValue: "10", help: "console: a session ends this long after sign-in, used or not"),
            Key(name: "console.cookie.secure", defaultValue: "auto", help: "console: mark the session cookie Secure: always, never, or auto (when the request came over TLS, as a proxy's X-Forwarded-Proto: https says)"),
            Key(name: "console.login.failures", defaultValue: "5", help: "console: failed sign-ins per account (and 4x that per client address) within 15 minutes before further tries wait, doubling from 30 s"),
            Key(name: "console.progress.lookups.per.minute", defaultValue: "10", help: "console: lookups of the public progress page per client address and minute"),
        ]
    }

    public var role: OfficeRole
    public var officeCode: OfficeCode
    public var httpHost: String
    public var httpPort: Int
    public var httpIdleTimeout: Duration
    public var httpMaxConnections: Int
    /// The port of the operations listener (`/health`, `/metrics` only), if any.
    public var httpOperationsPort: Int?
    public var databasePath: String
    /// PostgreSQL connection URL; nil: the SQLite file at ``databasePath``.
    public var databaseURL: String?
    public var databaseRelayLease: Duration
    public var databaseStatementTimeout: Duration
    public var databasePoolSize: Int
    public var kafka: KafkaConfiguration
    public var groupID: String
    public var sessionTimeout: Duration
    /// librdkafka's `max.poll.interval.ms`, which it sends as the group's rebalance timeout.
    public var maxPollInterval: Duration
    /// The longest the broker may hold a fetch of the consumer that finds no record (`fetch.wait.max.ms`).
    public var fetchWaitMax: Duration
    public var topicPartitions: Int
    /// How often the office checks its topics still exist; nil: never after start.
    public var topicCheckInterval: Duration?
    /// Inbox topics are this prefix and an office code.
    public var inboxPrefix: String
    public var deadLetterTopic: String
    public var creditingRates: CreditingRates
    public var shutdownTimeout: Duration
    public var healthOutboxMaxAge: Duration
    /// The business date to start from instead of the real one (tests and rehearsals).
    public var businessDate: LocalDate?
    public var logLevel: Logger.Level
    /// Token issuer public key files; empty only with ``authDisabled``.
    public var authPublicKeys: [String]
    public var authIssuer: String
    public var authDisabled: Bool
    public var authMaxTokenLifetime: Duration
    public enum MetricsAccess: String, Sendable { case open, token }
    public var metricsAccess: MetricsAccess
    /// The console's session lifetimes, cookie and throttles.
    public var console = ConsoleSettings()

    /// How the console signs staff in and how much it lets the public ask.
    public struct ConsoleSettings: Sendable {
        public enum SecureCookie: String, Sendable { case auto, always, never }
        public var sessionIdle: Duration = .seconds(30 * 60)
        public var sessionAbsolute: Duration = .seconds(10 * 3600)
        public var secureCookie: SecureCookie = .auto
        public var loginFailures: Int = 5
        public var progressLookupsPerMinute: Int = 10
        public init() {}
    }

    /// How the office authenticates callers: tokens checked against the configured keys.
    /// - Throws: ``ValidationError`` naming `auth.public.keys` when a key file cannot be used.
    public func authentication() async throws -> Authentication {
        if authDisabled { return .disabled }
        do {
            return .tokens(
                try await TokenVerifier(publicKeyPaths: authPublicKeys, issuer: authIssuer, maxLifetime: authMaxTokenLifetime), office: officeCode.rawValue)
        } catch let error as TokenError {
            // A key file is a setting: name it as the operator wrote it.
            throw ValidationError(field: "auth.public.keys", reason: error.description)
        }
    }

    /// The business clock this configuration asks for.
    public var businessClock: BusinessClock {
        businessDate.map { BusinessClock(startingOn: $0) } ?? BusinessClock()
    }

    /// The inbox of `office`'s `role` service: where mail to it is written.
    public func inboxTopic(for office: OfficeCode, _ role: OfficeRole) -> String { Topics.inbox(office, role, prefix: inboxPrefix) }
    /// This office's own inbox: the only topic it reads.
    public var incomingTopic: String { inboxTopic(for: officeCode, role) }
    public var eventSigningKeyPath: String
    public var eventKeysPath: String

    /// This office's signing key and the office key directory.
    /// - Throws: ``ValidationError`` naming the file that cannot be used, or when the signing key
    ///   is not in the directory under this office (other offices could not verify its events).
    public func eventKeys() throws -> (EventSigner, EventKeyDirectory) {
        guard !eventSigningKeyPath.isEmpty else {
            throw ValidationError(field: "event.signing.key", reason: "is required: this office's event signing key (see event-keys keygen)")
        }
        guard !eventKeysPath.isEmpty else {
            throw ValidationError(field: "event.keys.file", reason: "is required: the office key directory (see event-keys keygen)")
        }
        guard let directoryData = FileManager.default.contents(atPath: eventKeysPath) else {
            throw ValidationError(field: "event.keys.file", reason: "\(eventKeysPath) cannot be read")
        }
        let directory: EventKeyDirectory
        do { directory = try EventKeyDirectory(json: directoryData) } catch let error as ValidationError {
            throw ValidationError(field: "event.keys.file", reason: "\(eventKeysPath): \(error)")
        }
        guard let pem = FileManager.default.contents(atPath: eventSigningKeyPath) else {
            throw ValidationError(field: "event.signing.key", reason: "\(eventSigningKeyPath) cannot be read")
        }
        let signer: EventSigner
        do { signer = try EventSigner(pem: String(decoding: pem, as: UTF8.self), office: officeCode.rawValue) } catch {
            throw ValidationError(field: "event.signing.key", reason: "\(eventSigningKeyPath) is not an Ed25519 private key in PEM")
        }
        guard let listed = directory.key(id: signer.keyID), listed.office == officeCode.rawValue, !listed.retired else {
            throw ValidationError(
                field: "event.signing.key",
                reason: "key \(signer.keyID) is not in the key directory \(eventKeysPath) as an active key of office \(officeCode) (add it with event-keys keygen)")
        }
        return (signer, directory)
    }

    /// Reads the configuration.
    /// - Throws: ``ValidationError`` naming the key whose value is unusable.
    public init(role: OfficeRole, reader: ConfigReader) throws {
        func value(_ name: String) -> String {
            let key = Self.keys(role: role).first { $0.name == name }
            return reader.string(forKey: ConfigKey(name), isSecret: name.contains("password") || name == "database.url", default: key?.defaultValue ?? "")
        }
        self.role = role
        officeCode = try OfficeCode(value("office.code"), field: "office.code")
        guard OfficeDirectory.standard[officeCode] != nil else {
            throw ValidationError(field: "office.code", reason: "\(officeCode) is not in the office directory")
        }
        httpHost = value("http.host")
        guard let port = Int(value("http.port")), (0...65535).contains(port) else {
            throw ValidationError(field: "http.port", reason: "must be a port number, got \(value("http.port"))")
        }
        httpPort = port
        guard let idle = Int(value("http.idle.timeout.seconds")), idle > 0 else {
            throw ValidationError(field: "http.idle.timeout.seconds", reason: "must be a positive number of seconds")
        }
        httpIdleTimeout = .seconds(idle)
        guard let connections = Int(value("http.max.connections")), connections > 0 else {
            throw ValidationError(field: "http.max.connections", reason: "must be a positive number")
        }
        httpMaxConnections = connections
        if value("http.operations.port").isEmpty {
            httpOperationsPort = nil
        } else {
            guard let operations = Int(value("http.operations.port")), (0...65535).contains(operations), operations == 0 || operations != port else {
                throw ValidationError(field: "http.operations.port", reason: "must be a port number other than http.port, got \(value("http.operations.port"))")
            }
            httpOperationsPort = operations
        }
        databasePath = value("database.path").isEmpty
            ? "data/\(role.rawValue)-\(officeCode.rawValue).sqlite" : value("database.path")
        if value("database.url").isEmpty {
            databaseURL = nil
        } else {
            _ = try PostgresURL(value("database.url"))
            databaseURL = value("database.url")
        }
        guard let poolSize = Int(value("database.pool.size")), (1...100).contains(poolSize) else {
            throw ValidationError(field: "database.pool.size", reason: "must be a number from 1 to 100")
        }
        databasePoolSize = poolSize
        guard let lease = Int(value("database.relay.lease.seconds")), (2...600).contains(lease) else {
            throw ValidationError(field: "database.relay.lease.seconds", reason: "must be a number of seconds from 2 to 600")
        }
        databaseRelayLease = .seconds(lease)
        guard let statementTimeout = Int(value("database.statement.timeout.seconds")), (1...3600).contains(statementTimeout) else {
            throw ValidationError(field: "database.statement.timeout.seconds", reason: "must be a number of seconds from 1 to 3600")
        }
        databaseStatementTimeout = .seconds(statementTimeout)
        let clientID = value("kafka.client.id").isEmpty ? "\(role.rawValue)-office-\(officeCode.rawValue)" : value("kafka.client.id")
        groupID = value("kafka.group.id").isEmpty ? "\(role.rawValue)-office-\(officeCode.rawValue)" : value("kafka.group.id")
        guard let statistics = Int(value("kafka.statistics.interval.ms")), statistics >= 0 else {
            throw ValidationError(field: "kafka.statistics.interval.ms", reason: "must be a number of milliseconds")
        }
        let servers = value("kafka.bootstrap.servers").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !servers.isEmpty else { throw ValidationError(field: "kafka.bootstrap.servers", reason: "is empty") }
        for server in servers {
            let parts = server.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count >= 2, let port = Int(parts.last!), (1...65535).contains(port),
                  !parts.dropLast().joined(separator: ":").isEmpty, !server.contains(" ")
            else {
                throw ValidationError(field: "kafka.bootstrap.servers", reason: "\"\(server)\" is not host:port")
            }
        }
        kafka = KafkaConfiguration(
            bootstrapServers: servers, clientID: clientID, statisticsInterval: statistics > 0 ? .milliseconds(statistics) : nil)
        do {
            try kafka.applySecurity { value("kafka." + $0) }
        } catch {
            throw ValidationError(field: "kafka." + error.setting, reason: error.reason)
        }
        // A connection whose TCP, TLS and SASL set-up takes longer than this is a wrong setting
        // (TLS against a plaintext listener stalls in the handshake), not a slow network.
        kafka.properties["socket.connection.setup.timeout.ms"] = "6000"
        guard let session = Int(value("kafka.session.timeout.ms")), session >= 1000 else {
            throw ValidationError(field: "kafka.session.timeout.ms", reason: "must be at least 1000")
        }
        sessionTimeout = .milliseconds(session)
        guard let maxPoll = Int(value("kafka.max.poll.interval.ms")), maxPoll >= session, maxPoll <= 86_400_000 else {
            throw ValidationError(field: "kafka.max.poll.interval.ms", reason: "must be at least kafka.session.timeout.ms (\(session)) and at most 86400000")
        }
        maxPollInterval = .milliseconds(maxPoll)
        guard let fetchWait = Int(value("kafka.fetch.wait.max.ms")), (0...300_000).contains(fetchWait) else {
            throw ValidationError(field: "kafka.fetch.wait.max.ms", reason: "must be a number of milliseconds from 0 to 300000")
        }
        fetchWaitMax = .milliseconds(fetchWait)
        guard let partitions = Int(value("kafka.topic.partitions")), partitions >= 1 else {
            throw ValidationError(field: "kafka.topic.partitions", reason: "must be a positive number")
        }
        topicPartitions = partitions
        guard let check = Int(value("kafka.topic.check.seconds")), check >= 0 else {
            throw ValidationError(field: "kafka.topic.check.seconds", reason: "must be a number of seconds (0: off)")
        }
        topicCheckInterval = check > 0 ? .seconds(check) : nil
        inboxPrefix = value("topic.inbox.prefix")
        eventSigningKeyPath = value("event.signing.key")
        eventKeysPath = value("event.keys.file")

        deadLetterTopic = value("topic.dead.letter")
        creditingRates = try Self.parseRates(value("crediting.rates"))
        guard let shutdown = Int(value("shutdown.timeout.seconds")), shutdown > 0 else {
            throw ValidationError(field: "shutdown.timeout.seconds", reason: "must be a positive number of seconds")
        }
        shutdownTimeout = .seconds(shutdown)
        guard let maxAge = Int(value("health.outbox.max.age.seconds")), maxAge > 0 else {
            throw ValidationError(field: "health.outbox.max.age.seconds", reason: "must be a positive number of seconds")
        }
        healthOutboxMaxAge = .seconds(maxAge)
        businessDate = value("business.date").isEmpty ? nil : try LocalDate(value("business.date"), field: "business.date")
        guard let level = Logger.Level(rawValue: value("log.level").lowercased()) else {
            throw ValidationError(field: "log.level", reason: "must be trace, debug, info, notice, warning, error or critical")
        }
        logLevel = level
        guard let disabled = Bool(value("auth.disabled").lowercased()) else {
            throw ValidationError(field: "auth.disabled", reason: "must be true or false")
        }
        authDisabled = disabled
        if disabled && !Self.isLoopback(httpHost) {
            throw ValidationError(
                field: "auth.disabled", reason: "true is allowed only when http.host is a loopback address (127.0.0.1, ::1, localhost), not \(httpHost)")
        }
        guard let lifetime = Int(value("auth.max.token.lifetime.seconds")), lifetime > 0 else {
            throw ValidationError(field: "auth.max.token.lifetime.seconds", reason: "must be a positive number of seconds")
        }
        authMaxTokenLifetime = .seconds(lifetime)
        authPublicKeys = value("auth.public.keys").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if !disabled {
            guard !authPublicKeys.isEmpty else {
                throw ValidationError(
                    field: "auth.public.keys", reason: "is required: the issuer's public key file(s) (see office-token keygen), or auth.disabled=true on a closed test bench")
            }
        }
        authIssuer = value("auth.issuer")
        guard let metrics = MetricsAccess(rawValue: value("metrics.access").lowercased()) else {
            throw ValidationError(field: "metrics.access", reason: "must be open or token")
        }
        metricsAccess = metrics
        guard let idle = Int(value("console.session.idle.minutes")), (1...1440).contains(idle) else {
            throw ValidationError(field: "console.session.idle.minutes", reason: "must be a number of minutes from 1 to 1440")
        }
        guard let absolute = Int(value("console.session.absolute.hours")), (1...168).contains(absolute) else {
            throw ValidationError(field: "console.session.absolute.hours", reason: "must be a number of hours from 1 to 168")
        }
        guard let secure = ConsoleSettings.SecureCookie(rawValue: value("console.cookie.secure").lowercased()) else {
            throw ValidationError(field: "console.cookie.secure", reason: "must be auto, always or never")
        }
        guard let failures = Int(value("console.login.failures")), (1...1000).contains(failures) else {
            throw ValidationError(field: "console.login.failures", reason: "must be a number from 1 to 1000")
        }
        guard let lookups = Int(value("console.progress.lookups.per.minute")), (1...10000).contains(lookups) else {
            throw ValidationError(field: "console.progress.lookups.per.minute", reason: "must be a number from 1 to 10000")
        }
        console.sessionIdle = .seconds(idle * 60)
        console.sessionAbsolute = .seconds(absolute * 3600)
        console.secureCookie = secure
        console.loginFailures = failures
        console.progressLookupsPerMinute = lookups
    }

    /// Whether `host` can be reached from this machine only.
    static func isLoopback(_ host: String) -> Bool {
        let host = host.lowercased()
        return host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// Reads flags (`--office-code 510100`), then environment variables (`OFFICE_CODE`), then the
    /// env-style file named by `OFFICE_CONFIG_FILE` (if set).
    public static func load(role: OfficeRole, arguments: [String] = CommandLine.arguments) async throws -> OfficeConfiguration {
        var providers: [any ConfigProvider] = [
            CommandLineArgumentsProvider(arguments: arguments), EnvironmentVariablesProvider(),
        ]
        if let file = ProcessInfo.processInfo.environment["OFFICE_CONFIG_FILE"], !file.isEmpty {
            providers.append(try await EnvironmentVariablesProvider(environmentFilePath: .init(file)))
        }
        return try OfficeConfiguration(role: role, reader: ConfigReader(providers: providers))
    }

    /// For tests and embedding: settings given as `name: value` (dotted names).
    public init(role: OfficeRole, values: [String: String]) throws {
        let provider = InMemoryProvider(values: Dictionary(uniqueKeysWithValues: values.map { (AbsoluteConfigKey($0.key.split(separator: ".").map(String.init)), ConfigValue(.string($0.value), isSecret: false)) }))
        try self.init(role: role, reader: ConfigReader(provider: provider))
    }

    /// Parses `YEAR=PERCENT,...` as ``CREDITING_RATES`` takes it.
    public static func parseRates(_ text: String) throws -> CreditingRates {
        var overrides: [Int: Rate] = [:]
        for entry in text.split(separator: ",") where !entry.trimmingCharacters(in: .whitespaces).isEmpty {
            let parts = entry.split(separator: "=")
            guard parts.count == 2, let year = Int(parts[0].trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError(field: "crediting.rates", reason: "\"\(entry)\" is not YEAR=PERCENT")
            }
            overrides[year] = try Rate(percent: parts[1].trimmingCharacters(in: .whitespaces), field: "crediting.rates")
        }
        return CreditingRates(overrides: overrides)
    }

    /// A usage text listing every key in its three spellings, for `--help`.
    public static func helpText(role: OfficeRole) -> String {
        var lines = ["Settings (flag / environment variable, default):"]
        for key in keys(role: role) {
            lines.append("  \(key.flag) / \(key.environmentVariable)  [\(key.defaultValue.isEmpty ? "unset" : key.defaultValue)]")
            lines.append("      \(key.help)")
        }
        lines.append("An env-style file named by OFFICE_CONFIG_FILE is read last (lowest precedence).")
        return lines.joined(separator: "\n")
    }
}
