// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "pension-transfer",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Kafka", targets: ["Kafka"]),
        .library(name: "TransferDomain", targets: ["TransferDomain"]),
        .executable(name: "origin-office", targets: ["OriginOfficeMain"]),
        .executable(name: "destination-office", targets: ["DestinationOfficeMain"]),
        .executable(name: "transfer-audit", targets: ["TransferAuditMain"]),
        .executable(name: "transfer-demo", targets: ["TransferDemo"]),
        .executable(name: "kafka-bench", targets: ["KafkaBench"]),
        .executable(name: "event-bench", targets: ["EventBench"]),
        .executable(name: "office-token", targets: ["OfficeToken"]),
        .executable(name: "event-keys", targets: ["EventKeys"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0", traits: [.defaults, "CommandLineArguments"]),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "5.0.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
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
        // Event signatures (contract v2): canonical bytes, Ed25519 signing and the office key directory.
        .target(
            name: "EventSigning",
            dependencies: ["TransferDomain", .product(name: "Crypto", package: "swift-crypto")],
            path: "Shared/EventSigning"
        ),
        // API tokens: Ed25519-signed JWTs, their claims and roles (the offices and the office-token tool).
        .target(
            name: "OfficeAuth",
            dependencies: [.product(name: "Crypto", package: "swift-crypto"), .product(name: "JWTKit", package: "jwt-kit")],
            path: "Shared/OfficeAuth"
        ),
        // Where an office keeps its state: the store's protocols and rows (backend-free, at the
        // top), the SQLite store (SQLite/, GRDB) and the PostgreSQL store (Postgres/, postgres-nio),
        // each with the runtime's tables (outbox, inbox, consumer position, document sequences).
        .target(
            name: "OfficeStorage",
            dependencies: [
                "EventSigning",
                "Kafka",
                "TransferDomain",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Shared/OfficeStorage"
        ),
        // What both offices run on: process, relay, consumer loop, HTTP plumbing, configuration.
        // No database library: the store is reached through OfficeStorage's protocols.
        .target(
            name: "OfficeRuntime",
            dependencies: [
                "EventSigning",
                "Kafka",
                "OfficeAuth",
                "OfficeStorage",
                "TransferDomain",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/OfficeRuntime"
        ),
        // The web console: sign-in, sessions, CSRF, security headers, both languages, templates
        // (Mustache), charts; the services add their own pages.
        .target(
            name: "OfficeConsole",
            dependencies: [
                "OfficeAuth",
                "OfficeRuntime",
                "OfficeStorage",
                "TransferDomain",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Shared/OfficeConsole"
        ),
        .target(
            name: "OriginOffice",
            dependencies: ["OfficeConsole", "OfficeRuntime", "OfficeStorage", "TransferDomain", .product(name: "GRDB", package: "GRDB.swift")],
            path: "Services/OriginOffice/Sources"
        ),
        .executableTarget(name: "OriginOfficeMain", dependencies: ["OriginOffice"], path: "Services/OriginOffice/Main"),
        .target(
            name: "DestinationOffice",
            dependencies: ["OfficeConsole", "OfficeRuntime", "OfficeStorage", "TransferDomain", .product(name: "GRDB", package: "GRDB.swift")],
            path: "Services/DestinationOffice/Sources"
        ),
        .executableTarget(
            name: "DestinationOfficeMain", dependencies: ["DestinationOffice"], path: "Services/DestinationOffice/Main"),
        // The audit's logic: pure (domain only), tested on synthetic streams.
        .target(name: "AuditCore", dependencies: ["EventSigning", "TransferDomain"], path: "Tools/TransferAudit/Core"),
        .executableTarget(
            name: "TransferAuditMain",
            dependencies: [
                "AuditCore",
                "EventSigning",
                "Kafka",
                "OfficeRuntime",
                "OfficeStorage",
                "TransferDomain",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tools/TransferAudit/Main"
        ),
        .executableTarget(
            name: "TransferDemo",
            dependencies: [
                "TransferDomain",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Tools/Demo"
        ),
        .executableTarget(
            name: "OfficeToken",
            dependencies: ["OfficeAuth", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tools/OfficeToken"
        ),
        .executableTarget(
            name: "EventKeys",
            dependencies: ["EventSigning", "TransferDomain", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tools/EventKeys"
        ),
        .executableTarget(
            name: "EventBench",
            dependencies: [
                "EventSigning", "Kafka", "TransferDomain",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tools/EventBench"
        ),
        .executableTarget(
            name: "KafkaBench",
            dependencies: [
                "Kafka",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
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
        .testTarget(
            name: "DeploymentTests",
            dependencies: ["OfficeRuntime", "TransferDomain", .product(name: "Yams", package: "Yams")],
            path: "Tests/DeploymentTests"
        ),
        .testTarget(
            name: "AuditTests",
            dependencies: ["AuditCore", "EventSigning", "TransferDomain"],
            path: "Tests/AuditTests"
        ),
        .testTarget(
            name: "OfficeTests",
            dependencies: [
                "AuditCore",
                "OfficeConsole",
                "OriginOffice",
                "DestinationOffice",
                "EventSigning",
                "OfficeAuth",
                "OfficeRuntime",
                "OfficeStorage",
                "Kafka",
                "TransferDomain",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Tests/OfficeTests"
        ),
    ],
    swiftLanguageModes: [.v6]
)
