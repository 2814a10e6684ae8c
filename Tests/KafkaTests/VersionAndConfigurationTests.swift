import Kafka
import Testing

@Suite("librdkafka version floor and configuration")
struct VersionAndConfigurationTests {
    @Test("packed versions decode as librdkafka encodes them", arguments: [
        (Int32(0x0200_02ff), LibrdkafkaVersion(major: 2, minor: 0, patch: 2)),
        (Int32(0x0202_00ff), LibrdkafkaVersion(major: 2, minor: 2, patch: 0)),
        (Int32(0x0208_00ff), LibrdkafkaVersion(major: 2, minor: 8, patch: 0)),
        (Int32(0x010b_06ff), LibrdkafkaVersion(major: 1, minor: 11, patch: 6)),
    ])
    func decodesPackedVersion(packed: Int32, expected: LibrdkafkaVersion) {
        #expect(LibrdkafkaVersion(packed: packed) == expected)
    }

    @Test("versions below 2.2.0 are refused with a fix, others accepted")
    func floor() throws {
        for old in [(2, 0, 2), (2, 1, 99), (1, 9, 2), (0, 11, 0)] {
            let version = LibrdkafkaVersion(major: old.0, minor: old.1, patch: old.2)
            let error = #expect(throws: KafkaError.self) { try LibrdkafkaVersion.checkSupported(version) }
            #expect(error?.code == .unsupportedFeature)
            #expect(error?.message.contains("scripts/bootstrap") == true)
            #expect(error?.message.contains("\(version)") == true)
        }
        for fine in [(2, 2, 0), (2, 2, 1), (2, 10, 0), (3, 0, 0)] {
            try LibrdkafkaVersion.checkSupported(LibrdkafkaVersion(major: fine.0, minor: fine.1, patch: fine.2))
        }
        #expect(LibrdkafkaVersion(major: 2, minor: 10, patch: 0) > LibrdkafkaVersion(major: 2, minor: 9, patch: 9))
    }

    @Test("the linked librdkafka is at or above the floor")
    func linkedVersion() throws {
        try LibrdkafkaVersion.checkSupported()
    }

    @Test("an unknown property is an error naming it")
    func unknownProperty() {
        var client = KafkaConfiguration(bootstrapServers: ["127.0.0.1:1"])
        client.properties = ["no.such.property": "1"]
        let error = #expect(throws: KafkaError.self) {
            _ = try KafkaProducer(configuration: .init(client: client), logger: TestSupport.logger)
        }
        #expect(error?.property == "no.such.property")
        #expect(error?.code == .invalidArgument)
    }

    @Test("an invalid value is an error naming the property")
    func invalidValue() {
        var client = KafkaConfiguration(bootstrapServers: ["127.0.0.1:1"])
        client.properties = ["linger.ms": "not-a-number"]
        let error = #expect(throws: KafkaError.self) {
            _ = try KafkaConsumer(
                configuration: .init(client: client, mode: .group(id: "g", topics: ["t"])), logger: TestSupport.logger)
        }
        #expect(error?.property == "linger.ms")
        #expect(error?.description.contains("not-a-number") == true)
    }

    @Test("typed SASL settings reach librdkafka (a wrong mechanism is refused)")
    func typedSettings() throws {
        let client = KafkaConfiguration(
            bootstrapServers: ["127.0.0.1:1"], securityProtocol: .saslPlaintext,
            sasl: .init(mechanism: .scramSHA256, username: "u", password: "p"))
        _ = try KafkaProducer(configuration: .init(client: client), logger: TestSupport.logger)
        var wrong = client
        wrong.properties = ["sasl.mechanism": "NOPE"]
        let error = #expect(throws: KafkaError.self) {
            _ = try KafkaProducer(configuration: .init(client: wrong), logger: TestSupport.logger)
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.description.contains("NOPE") == true || error?.description.lowercased().contains("sasl") == true)
    }
}
