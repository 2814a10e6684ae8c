import Foundation
import GRDB
import Hummingbird
import Kafka
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import TransferDomain

/// What a service's routes and event handler work with.
public struct OfficeContext: Sendable {
    public let configuration: OfficeConfiguration
    public let database: OfficeDatabase
    public let doorbell: Doorbell
    public let clock: BusinessClock
    public let directory: OfficeDirectory
    public let calendar: WorkingDayCalendar
    public let logger: Logger

    public init(
        configuration: OfficeConfiguration, database: OfficeDatabase, doorbell: Doorbell = Doorbell(),
        clock: BusinessClock = BusinessClock(), directory: OfficeDirectory = .standard,
        calendar: WorkingDayCalendar = .standard, logger: Logger
    ) {
        self.configuration = configuration
        self.database = database
        self.doorbell = doorbell
        self.clock = clock
        self.directory = directory
        self.calendar = calendar
        self.logger = logger
    }

    public var office: OfficeCode { configuration.officeCode }

    /// Wraps `event` as a CloudEvent from this office to `recipient`, stamped now.
    public func cloudEvent(_ event: TransferEvent, to recipient: OfficeCode) -> CloudEvent {
        CloudEvent(source: office, recipient: recipient, time: clock.currentTime, event: event)
    }

    /// Appends `event` to the outbox of this office's outgoing topic, in the caller's transaction.
    public func publish(_ event: TransferEvent, to recipient: OfficeCode, in db: Database) throws {
        try Outbox.append(cloudEvent(event, to: recipient), topic: configuration.outgoingTopic, in: db)
    }
}

/// A service plugged into the runtime: its tables, routes, event handler and gauges.
public protocol OfficeService: Sendable {
    static var role: OfficeRole { get }
    /// Registers the service's own named migrations.
    static func registerMigrations(_ migrator: inout DatabaseMigrator)
    init(context: OfficeContext)
    func addRoutes(to router: Router<BasicRequestContext>)
    var eventHandler: any OfficeEventHandler { get }
    /// Records gauges such as `cases{state}` and `cases_overdue`; called periodically.
    func recordGauges() async
}

/// One office process: database, Kafka clients, outbox relay, event consumer and HTTP API in
/// one ServiceGroup. Clients start first and stop last; the HTTP server stops first.
public struct OfficeProcess<S: OfficeService>: Sendable {
    public let context: OfficeContext
    public let service: S
    public let producer: KafkaProducer
    public let consumer: KafkaConsumer
    public let serviceGroup: ServiceGroup
    /// Resolves to the bound HTTP port once the server listens (useful with port 0).
    public let boundPort: PortBox

    /// Opens the database, creates missing topics and builds every component.
    public init(configuration: OfficeConfiguration, logger: Logger, registry: PrometheusCollectorRegistry? = nil, clock: BusinessClock = BusinessClock()) async throws {
        let database = try OfficeDatabase(path: configuration.databasePath, migrations: { S.registerMigrations(&$0) })
        let context = OfficeContext(configuration: configuration, database: database, clock: clock, logger: logger)
        let service = S(context: context)
        await Self.ensureTopics(configuration, logger: logger)

        let producer = try KafkaProducer(
            configuration: .init(client: configuration.kafka, flushTimeout: configuration.shutdownTimeout / 2), logger: logger)
        let consumer = try KafkaConsumer(
            configuration: .init(
                client: configuration.kafka, mode: .group(id: configuration.groupID, topics: [configuration.incomingTopic]),
                sessionTimeout: configuration.sessionTimeout),
            logger: logger)
        let relay = OutboxRelay(database: database, producer: producer, doorbell: context.doorbell, logger: logger)
        let events = EventConsumerService(
            consumer: consumer, producer: producer, database: database, handler: service.eventHandler, office: configuration.officeCode,
            deadLetterTopic: configuration.deadLetterTopic, consumerName: configuration.groupID, doorbell: context.doorbell,
            logger: logger)
        let gauges = PeriodicService(interval: .seconds(5)) { await service.recordGauges() }

        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ProblemMiddleware())
        let health = HealthCheck(database: database, kafka: configuration.kafka, logger: logger)
        router.get("/health") { _, _ in try await health.response() }
        if let registry {
            router.get("/metrics") { _, _ in
                var buffer: [UInt8] = []
                registry.emit(into: &buffer)
                return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
            }
        }
        service.addRoutes(to: router)
        let port = PortBox()
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(configuration.httpHost, port: configuration.httpPort), serverName: "\(S.role.rawValue)-office"),
            onServerRunning: { channel in port.set(channel.localAddress?.port ?? configuration.httpPort) },
            logger: logger)

        var groupConfiguration = ServiceGroupConfiguration(
            services: [
                .init(service: producer), .init(service: consumer), .init(service: relay), .init(service: events),
                .init(service: gauges), .init(service: app),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = configuration.shutdownTimeout
        groupConfiguration.maximumCancellationDuration = .seconds(5)
        self.context = context
        self.service = service
        self.producer = producer
        self.consumer = consumer
        self.serviceGroup = ServiceGroup(configuration: groupConfiguration)
        self.boundPort = port
    }

    /// Runs until SIGTERM/SIGINT (or ``ServiceGroup/triggerGracefulShutdown()``).
    public func run() async throws {
        context.logger.info(
            "Office starting",
            metadata: [
                "office.code": .string(context.office.rawValue), "office.role": .string(S.role.rawValue),
                "http": .string("\(context.configuration.httpHost):\(context.configuration.httpPort)"),
                "kafka.bootstrap": .string(context.configuration.kafka.bootstrapServers.joined(separator: ",")),
                "database": .string(context.configuration.databasePath),
            ])
        try await serviceGroup.run()
        context.logger.info("Office stopped")
    }

    /// Creates the office's topics when missing (tolerating a broker that is not up yet).
    static func ensureTopics(_ configuration: OfficeConfiguration, logger: Logger) async {
        let topics = [configuration.destinationEventsTopic, configuration.originEventsTopic, configuration.deadLetterTopic]
        for attempt in 1...10 {
            do {
                let admin = try KafkaAdminClient(configuration: configuration.kafka, logger: logger)
                try await admin.createTopics(topics.map { KafkaNewTopic(name: $0, partitions: configuration.topicPartitions) }, timeout: .seconds(5))
                return
            } catch {
                logger.warning("Could not create topics yet", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(500 * attempt))
            }
        }
        logger.error("Topics were not created; the clients will keep retrying the broker")
    }
}

/// Holds the HTTP port once known.
public final class PortBox: Sendable {
    private let stream: AsyncStream<Int>
    private let continuation: AsyncStream<Int>.Continuation

    init() {
        (stream, continuation) = AsyncStream.makeStream(of: Int.self, bufferingPolicy: .bufferingNewest(1))
    }

    func set(_ port: Int) { continuation.yield(port) }

    /// Waits until the server listens.
    public func value() async -> Int? {
        for await port in stream { return port }
        return nil
    }
}

/// Runs `body` every `interval` until shutdown.
public struct PeriodicService: Service {
    let interval: Duration
    let body: @Sendable () async -> Void

    public init(interval: Duration, body: @escaping @Sendable () async -> Void) {
        self.interval = interval
        self.body = body
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await body()
            try? await Task.sleep(for: interval)
        }
    }
}

/// `/health`: the database and the broker, each checked (the broker at most every 5 s).
final class HealthCheck: Sendable {
    let database: OfficeDatabase
    let kafka: KafkaConfiguration
    let logger: Logger
    private let cache = NSLock()
    nonisolated(unsafe) private var lastBrokerCheck: (at: ContinuousClock.Instant, ok: Bool)?

    init(database: OfficeDatabase, kafka: KafkaConfiguration, logger: Logger) {
        self.database = database
        self.kafka = kafka
        self.logger = logger
    }

    struct Body: Encodable {
        var status: String
        var database: String
        var broker: String
    }

    func brokerReachable() async -> Bool {
        if let last = cache.withLock({ lastBrokerCheck }), ContinuousClock.now - last.at < .seconds(5) { return last.ok }
        var ok = false
        if let admin = try? KafkaAdminClient(configuration: kafka, logger: logger) {
            ok = (try? await admin.listTopics(timeout: .seconds(2))) != nil
        }
        cache.withLock { lastBrokerCheck = (ContinuousClock.now, ok) }
        return ok
    }

    func response() async throws -> Response {
        let databaseOK = await database.isReachable()
        let brokerOK = await brokerReachable()
        let body = Body(
            status: databaseOK && brokerOK ? "ok" : "degraded", database: databaseOK ? "ok" : "unreachable",
            broker: brokerOK ? "ok" : "unreachable")
        return try JSONBody.response(body, status: databaseOK && brokerOK ? .ok : .serviceUnavailable)
    }
}
