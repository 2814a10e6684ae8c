import Foundation

/// Connection and client settings shared by producers, consumers and admin clients.
///
/// Typed fields cover what operators set most often; ``properties`` passes any other librdkafka
/// property through unchanged (see librdkafka's CONFIGURATION.md). Pass-through properties are
/// applied last, so they override the typed fields. A property librdkafka does not know, or a
/// value it refuses, is a thrown ``KafkaError`` naming the property when the client is created.
public struct KafkaConfiguration: Sendable {
    /// How the client talks to brokers (`security.protocol`).
    public enum SecurityProtocol: String, Sendable, CaseIterable {
        case plaintext = "plaintext"
        case ssl = "ssl"
        case saslPlaintext = "sasl_plaintext"
        case saslSSL = "sasl_ssl"
    }

    /// SASL credentials (`sasl.mechanism`, `sasl.username`, `sasl.password`).
    public struct SASL: Sendable {
        public enum Mechanism: String, Sendable, CaseIterable {
            case plain = "PLAIN"
            case scramSHA256 = "SCRAM-SHA-256"
            case scramSHA512 = "SCRAM-SHA-512"
        }

        public var mechanism: Mechanism
        public var username: String
        public var password: String

        public init(mechanism: Mechanism, username: String, password: String) {
            self.mechanism = mechanism
            self.username = username
            self.password = password
        }
    }

    /// TLS files (`ssl.ca.location`, `ssl.certificate.location`, `ssl.key.location`, `ssl.key.password`).
    public struct TLS: Sendable {
        public var caLocation: String?
        public var certificateLocation: String?
        public var keyLocation: String?
        public var keyPassword: String?

        public init(
            caLocation: String? = nil, certificateLocation: String? = nil, keyLocation: String? = nil,
            keyPassword: String? = nil
        ) {
            self.caLocation = caLocation
            self.certificateLocation = certificateLocation
            self.keyLocation = keyLocation
            self.keyPassword = keyPassword
        }
    }

    /// `host:port` of one or more brokers (`bootstrap.servers`).
    public var bootstrapServers: [String]
    /// Names this client in broker logs and metrics (`client.id`).
    public var clientID: String
    public var securityProtocol: SecurityProtocol
    public var sasl: SASL?
    public var tls: TLS?
    /// How often librdkafka reports statistics to swift-metrics (consumer lag, queue depth);
    /// `nil` turns statistics off.
    public var statisticsInterval: Duration?
    /// Any other librdkafka property, applied after the typed fields.
    public var properties: [String: String]

    public init(
        bootstrapServers: [String], clientID: String = "pension-transfer",
        securityProtocol: SecurityProtocol = .plaintext, sasl: SASL? = nil, tls: TLS? = nil,
        statisticsInterval: Duration? = nil, properties: [String: String] = [:]
    ) {
        self.bootstrapServers = bootstrapServers
        self.clientID = clientID
        self.securityProtocol = securityProtocol
        self.sasl = sasl
        self.tls = tls
        self.statisticsInterval = statisticsInterval
        self.properties = properties
    }

    /// The librdkafka properties, in the order they are applied.
    var librdkafkaProperties: [(String, String)] {
        var result: [(String, String)] = [
            ("bootstrap.servers", bootstrapServers.joined(separator: ",")),
            ("client.id", clientID),
            ("security.protocol", securityProtocol.rawValue),
            // IPv4 first: the embedded broker advertises an IPv4 address, and a resolver that
            // answers ::1 first for "localhost" would otherwise cost a failed connect per broker.
            ("broker.address.family", "v4"),
        ]
        if let sasl {
            result += [
                ("sasl.mechanism", sasl.mechanism.rawValue), ("sasl.username", sasl.username),
                ("sasl.password", sasl.password),
            ]
        }
        if let tls {
            if let value = tls.caLocation { result.append(("ssl.ca.location", value)) }
            if let value = tls.certificateLocation { result.append(("ssl.certificate.location", value)) }
            if let value = tls.keyLocation { result.append(("ssl.key.location", value)) }
            if let value = tls.keyPassword { result.append(("ssl.key.password", value)) }
        }
        if let statisticsInterval {
            result.append(("statistics.interval.ms", String(statisticsInterval.milliseconds)))
        }
        result += properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        return result
    }
}

/// A connection setting that cannot work: `setting` is its librdkafka name (`security.protocol`,
/// `sasl.mechanism`, `sasl.username`, `sasl.password`, `ssl.ca.location`).
public struct KafkaSettingError: Error, Sendable, CustomStringConvertible {
    public var setting: String
    public var reason: String
    public var description: String { "\(setting): \(reason)" }
}

extension KafkaConfiguration {
    /// Sets ``securityProtocol``, ``sasl`` and ``tls`` from the settings every office and tool
    /// reads the same way, checked before any connection is tried.
    /// - Parameter setting: the value of `security.protocol`, `sasl.mechanism`, `sasl.username`,
    ///   `sasl.password` or `ssl.ca.location` (empty when not set; no protocol is plaintext).
    /// - Throws: ``KafkaSettingError`` naming the setting that cannot work: an unknown protocol or
    ///   mechanism, SASL without its user or password, a SASL protocol without a mechanism, a CA
    ///   file that cannot be read.
    public mutating func applySecurity(_ setting: (String) -> String) throws(KafkaSettingError) {
        let protocolName = setting("security.protocol").isEmpty ? "plaintext" : setting("security.protocol").lowercased()
        guard let security = SecurityProtocol(rawValue: protocolName) else {
            throw KafkaSettingError(setting: "security.protocol", reason: "must be plaintext, ssl, sasl_plaintext or sasl_ssl")
        }
        var sasl: SASL?
        if !setting("sasl.mechanism").isEmpty {
            guard let mechanism = SASL.Mechanism(rawValue: setting("sasl.mechanism").uppercased()) else {
                throw KafkaSettingError(setting: "sasl.mechanism", reason: "must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
            }
            guard !setting("sasl.username").isEmpty else {
                throw KafkaSettingError(setting: "sasl.username", reason: "is required with a SASL mechanism")
            }
            guard !setting("sasl.password").isEmpty else {
                throw KafkaSettingError(setting: "sasl.password", reason: "is required with a SASL mechanism")
            }
            sasl = SASL(mechanism: mechanism, username: setting("sasl.username"), password: setting("sasl.password"))
        }
        if security == .saslPlaintext || security == .saslSSL, sasl == nil {
            throw KafkaSettingError(setting: "sasl.mechanism", reason: "is required with security protocol \(security.rawValue)")
        }
        let caLocation = setting("ssl.ca.location")
        if !caLocation.isEmpty && !FileManager.default.isReadableFile(atPath: caLocation) {
            throw KafkaSettingError(setting: "ssl.ca.location", reason: "\(caLocation) is not a readable file")
        }
        securityProtocol = security
        self.sasl = sasl
        tls = caLocation.isEmpty ? nil : TLS(caLocation: caLocation)
    }
}

extension Duration {
    /// Whole milliseconds, rounded down; what librdkafka's `*.ms` properties and timeouts take.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// Milliseconds clamped to librdkafka's `int` timeout parameters.
    var timeoutMilliseconds: Int32 { Int32(clamping: milliseconds) }
}

// Secrets never reach a log line, even when a whole configuration is printed (ServiceLifecycle
// logs its services at debug level).
extension KafkaConfiguration.SASL: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String { "SASL(\(mechanism.rawValue), user: \(username), password: <redacted>)" }
    public var debugDescription: String { description }
}

extension KafkaConfiguration.TLS: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String {
        "TLS(ca: \(caLocation ?? "-"), certificate: \(certificateLocation ?? "-"), key: \(keyLocation ?? "-")\(keyPassword == nil ? "" : ", key password: <redacted>"))"
    }
    public var debugDescription: String { description }
}
