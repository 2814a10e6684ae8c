import CRdKafka

/// A librdkafka version, and the floor below which this project refuses to run.
///
/// Debian 12 ships librdkafka 2.0.2, which cannot parse the ApiVersions reply of the embedded test
/// broker (a tag-skipping bug fixed in 2.2.0); anything older fails in confusing ways later, so
/// every client checks the floor when it is created and says what to do.
public struct LibrdkafkaVersion: Comparable, Sendable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int

    public init(major: Int, minor: Int, patch: Int) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// Decodes librdkafka's packed hex form `0xMMmmrrxx` (as returned by `rd_kafka_version()`).
    public init(packed: Int32) {
        let value = UInt32(bitPattern: packed)
        self.init(major: Int((value >> 24) & 0xff), minor: Int((value >> 16) & 0xff), patch: Int((value >> 8) & 0xff))
    }

    /// The oldest librdkafka the project works with.
    public static let minimumSupported = LibrdkafkaVersion(major: 2, minor: 2, patch: 0)

    /// The librdkafka the process has loaded.
    public static var linked: LibrdkafkaVersion { LibrdkafkaVersion(packed: rd_kafka_version()) }

    public var description: String { "\(major).\(minor).\(patch)" }

    public static func < (lhs: LibrdkafkaVersion, rhs: LibrdkafkaVersion) -> Bool {
        (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
    }

    /// Throws when `version` is below ``minimumSupported``, with the fix in the message.
    /// - Throws: ``KafkaError`` with code ``KafkaError/Code/unsupportedFeature``.
    public static func checkSupported(_ version: LibrdkafkaVersion = .linked) throws(KafkaError) {
        guard version >= minimumSupported else {
            throw KafkaError(
                code: .unsupportedFeature,
                message: "librdkafka \(version) is loaded but \(minimumSupported) or newer is required "
                    + "(older versions cannot talk to the embedded broker). Run scripts/bootstrap, which "
                    + "builds a newer librdkafka into /usr/local, or install librdkafka-dev >= \(minimumSupported).")
        }
    }
}
