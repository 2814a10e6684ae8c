// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "pension-transfer",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Kafka", targets: ["Kafka"]),
        .library(name: "TransferDomain", targets: ["TransferDomain"]),
        .executable(name: "kafka-bench", targets: ["KafkaBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // librdkafka through pkg-config. Only the Kafka module may import it.
        .systemLibrary(
            name: "CRdKafka",
            path: "Shared/CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .target(
            name: "Kafka",
            dependencies: [
                "CRdKafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/Kafka"
        ),
        // The pure domain: Foundation only, no I/O.
        // The JSON Schema files under Schemas/ are generated from the Swift schemas (see the tests).
        .target(name: "TransferDomain", path: "Shared/TransferDomain", exclude: ["Schemas"]),
        .executableTarget(
            name: "KafkaBench",
            dependencies: [
                "Kafka",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tools/KafkaBench"
        ),
        .testTarget(
            name: "KafkaTests",
            dependencies: [
                "Kafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/KafkaTests"
        ),
        .testTarget(
            name: "TransferDomainTests",
            dependencies: ["TransferDomain"],
            path: "Tests/TransferDomainTests"
        ),
    ],
    swiftLanguageModes: [.v6]
)
