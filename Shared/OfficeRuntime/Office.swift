import Foundation
import Hummingbird
import EventSigning
import Kafka
import Logging
import Metrics
import OfficeStorage
import Prometheus
import ServiceLifecycle
import TransferDomain

/// What a service's routes and event handler work with.
public struct OfficeContext: Sendable {
    public let configuration: OfficeConfiguration
    /// Where the office keeps its state (SQLite or PostgreSQL): services reach it through their
    /// repositories, the runtime through ``StoreTransaction``.
    public let database: any OfficeStore
    public let doorbell: Doorbell
    public let clock: BusinessClock
    public let directory: OfficeDirectory
    public let calendar: WorkingDayCalendar
    /// Signs every event this office sends.
    public let signer: EventSigner
    /// The office key directory incoming events are checked against.
    public let eventKeys: EventKeyDirectory
    public let logger: Logger

    public init(
        configuration: OfficeConfiguration, database: any OfficeStore, signer: EventSigner, eventKeys: EventKeyDirectory,
        doorbell: Doorbell = Doorbell(), clock: BusinessClock = BusinessClock(), directory: OfficeDirectory = .standard,
        calendar: WorkingDayCalendar = .standard, logger: Logger
    ) {
        self.configuration = configuration
        self.database = database
        self.signer = signer
        self.eventKeys = eventKeys
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

    /// Appends `event`, signed, to the outbox for the recipient's inbox (the inbox of the role that
    /// reads its type), in the caller's transaction.
    public func publish(_ event: TransferEvent, to recipient: OfficeCode, in transaction: any StoreTransaction) throws {
        try transaction.appendToOutbox(cloudEvent(event, to: recipient), topic: configuration.inboxTopic(for: recipient, event.type.reader), signer: signer)
    }
}

/// A service plugged into the runtime: its tables, routes, event handler and gauges.
public protocol OfficeService: Sendable {
    static var role: OfficeRole { get }
    /// Registers the service's own named migrations (SQLite).
    static func registerMigrations(_ migrator: inout SQLiteMigrator)
    /// The service's own named migrations on PostgreSQL: the same tables and constraints.
    static var postgresMigrations: [PostgresMigration] { get }
    init(context: OfficeContext)
    /// The office this service instance is.
    var office: OfficeCode { get }
    /// Adds the service's routes, each in an ``Access`` group saying who may call it.
    func addRoutes(to router: Router<OfficeRequestContext>)
    var eventHandler: any OfficeEventHandler { get }
    /// Records gauges such as `cases{state}` and `cases_overdue`; called periodically.
    func recordGauges() async throws
    /// Work that falls due with time (e.g. a wait that expires); called periodically.
    func performScheduledWork() async throws
    /// Adds the service's web console (HTML pages outside `/v1`), if it has one.
    func addConsole(to router: Router<OfficeRequestContext>, environment: ConsoleEnvironment)
}

extension OfficeService {
    public func performScheduledWork() async throws {}
    public func addConsole(to router: Router<OfficeRequestContext>, environment: ConsoleEnvironment) {}
}

/// What an office's console needs of the process beyond the service's own records.
public struct ConsoleEnvironment: Sendable {
    public let configuration: OfficeConfiguration
    public let store: any OfficeStore
    /// What `/health` says now (the health prober's last finding).
    public let health: @Sendable () async -> HealthReport
    public let authentication: Authentication
    public let logger: Logger
    /// The consumer lag librdkafka last reported, by partition of the inbox.
    public let consumerLag: @Sendable () -> [TopicPartition: Int]
    /// Rings the relay (an outbox row was released).
    public let doorbell: Doorbell

    public init(
        configuration: OfficeConfiguration, store: any OfficeStore, authentication: Authentication, logger: Logger, doorbell: Doorbell,
        consumerLag: @escaping @Sendable () -> [TopicPartition: Int] = { [:] }, health: @escaping @Sendable () async -> HealthReport
    ) {
        self.consumerLag = consumerLag
        self.doorbell = doorbell
        self.configuration = configuration
        self.store = store
        self.authentication = authentication
        self.logger = logger
        self.health = health
    }
}

/// Opens the store an office's configuration names.
public enum OfficeStores {
    /// PostgreSQL when ``OfficeConfiguration/databaseURL`` is set, else the SQLite file at
    /// ``OfficeConfiguration/databasePath``; migrated either way.
    public static func open<S: OfficeService>(_: S.Type, configuration: OfficeConfiguration, logger: Logger) async throws -> any OfficeStore {
        if let url = configuration.databaseURL {
            return try await PostgresStore(
                url: url, lockName: "outbox-relay-\(configuration.officeCode.rawValue)", migrations: S.postgresMigrations,
                connections: configuration.databasePoolSize, leaseTime: configuration.databaseRelayLease,
                statementTimeout: configuration.databaseStatementTimeout, logger: logger)
        }
        return try SQLiteStore(path: configuration.databasePath, migrations: { S.registerMigrations(&$0) })
    }
}

/// One office process: database, Kafka clients, outbox relay, event consumer and HTTP API in
/// one ServiceGroup. Clients start first and stop last; the HTTP server stops first.
public struct OfficeProcess<S: OfficeService>: Sendable {
    public let context: OfficeContext
    public let service: S
    /// The producer (replaced when the broker lost its state): ``ProducerSlot/producer``.
    public let producer: ProducerSlot
    public let consumer: KafkaConsumer
    public let serviceGroup: ServiceGroup
    /// Resolves to the bound HTTP port once the server listens (useful with port 0).
    public let boundPort: PortBox
    /// The port of the operations listener (``OfficeConfiguration/httpOperationsPort``), once it listens.
    public let operationsPort: PortBox

    /// Opens the database, loads the token keys, creates missing topics and builds every component.
    /// - Parameter clock: the business clock; by default the configured ``OfficeConfiguration/businessDate``
    ///   or the real date.
    ///   - watchdog: end the process with status 1 when a stop takes more than the shutdown
    ///     timeout plus 10 s (the executables do; in-process tests do not).
    public init(
        configuration: OfficeConfiguration, logger: Logger, registry: PrometheusCollectorRegistry? = nil, clock: BusinessClock? = nil,
        watchdog: Bool = false
    ) async throws {
        let authentication = try await configuration.authentication()
        if configuration.authDisabled {
            // At every start, at the highest level: an office without authentication must never go unnoticed.
            logger.critical(
                "Authentication is disabled: every request has every role (auth.disabled=true, closed test benches only)",
                metadata: ["http.host": .string(configuration.httpHost)])
        }
        let (signer, eventKeys) = try configuration.eventKeys()
        let database = try await OfficeStores.open(S.self, configuration: configuration, logger: logger)
        let clock = clock ?? configuration.businessClock
        let context = OfficeContext(
            configuration: configuration, database: database, signer: signer, eventKeys: eventKeys, clock: clock, logger: logger)
        let service = S(context: context)
        let health = OfficeHealth()
        // One quick attempt before the clients start (the usual case: the topics exist or are
        // created in milliseconds); when the broker is away, the office starts anyway and serves
        // HTTP while a background service keeps trying.
        let firstAttempt = TopicSetup(configuration: configuration, health: health, logger: logger)
        if case .misconfigured(let failure) = await firstAttempt.attempt(timeout: .seconds(1)) {
            throw OfficeStartupError.kafkaSecurity(configuration, failure)
        }

        let producer = try ProducerSlot(
            configuration: .init(client: configuration.kafka, flushTimeout: configuration.shutdownTimeout / 2), logger: logger)
        var consumerClient = configuration.kafka
        // A topic created after the subscription (the broker was away at start) is found within
        // 10 s instead of librdkafka's default 5 minutes.
        consumerClient.properties["topic.metadata.refresh.interval.ms"] = consumerClient.properties["topic.metadata.refresh.interval.ms"] ?? "10000"
        // librdkafka takes durations as whole milliseconds.
        func milliseconds(_ duration: Duration) -> String {
            "\(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)"
        }
        consumerClient.properties["fetch.wait.max.ms"] = milliseconds(configuration.fetchWaitMax)
        consumerClient.properties["max.poll.interval.ms"] = milliseconds(configuration.maxPollInterval)
        let consumer = try KafkaConsumer(
            configuration: .init(
                client: consumerClient, mode: .group(id: configuration.groupID, topics: [configuration.incomingTopic]),
                sessionTimeout: configuration.sessionTimeout),
            logger: logger)
        // The same setup (done once, done for both) watching the running clients' TLS and SASL.
        // A broker that lost the topics lost the producer's identity too: a new producer.
        let topics = firstAttempt.watching(
            { [producer, consumer] in producer.producer.securityFailure ?? consumer.securityFailure },
            onTopicsLost: { [producer] in try? await producer.renew() })
        let relay = OutboxRelay(database: database, producers: producer, doorbell: context.doorbell, health: health, logger: logger)
        let events = EventConsumerService(
            consumer: consumer, database: database, handler: service.eventHandler, office: configuration.officeCode, eventKeys: eventKeys,
            deadLetters: DeadLetterSender(
                producers: producer, topic: configuration.deadLetterTopic, consumerName: configuration.groupID, health: health, logger: logger),
            doorbell: context.doorbell, health: health, logger: logger)
        let gauges = PeriodicService(name: "gauges", interval: .seconds(5), logger: logger) {
            try await service.recordGauges()
            // Where the office has applied its inbox to, per partition: recorded with each batch in
            // the shared store, so it is the office's position whichever instance applied it.
            for (place, next) in try await database.read({ transaction in try transaction.positions() }) {
                Gauge(label: "consumer_applied_offset", dimensions: [("topic", place.topic), ("partition", "\(place.partition)")]).record(Int(next))
            }
        }
        let scheduled = PeriodicService(name: "scheduled work", interval: .seconds(5), logger: logger) { try await service.performScheduledWork() }

        let healthCheck = HealthCheck(
            database: database, producer: producer, consumer: consumer, health: health, maxOutboxAge: configuration.healthOutboxMaxAge,
            logger: logger)
        // /health and /metrics, on the API's port and on the operations port when there is one.
        let operational = { (router: Router<OfficeRequestContext>) in
            router.get("/health") { _, context in try await healthCheck.response(detailed: context.identity != nil) }
            if let registry {
                let metrics = configuration.metricsAccess == .open ? router.group() : router.group().add(middleware: Access.anyone)
                metrics.get("/metrics") { _, _ in
                    var buffer: [UInt8] = []
                    registry.emit(into: &buffer)
                    return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
                }
            }
        }
        let console = ConsoleEnvironment(
            configuration: configuration, store: database, authentication: authentication, logger: logger, doorbell: context.doorbell,
            consumerLag: { [consumer] in consumer.lag }, health: { await healthCheck.report() })
        let router = OfficeRouter.make(service, authentication: authentication, console: console, extra: operational)
        let port = PortBox()
        let app = Application(
            router: router, server: configuration.httpServer, configuration: configuration.httpServerConfiguration,
            onServerRunning: { channel in port.set(channel.localAddress?.port ?? configuration.httpPort) },
            logger: logger)

        let operationsPort = PortBox()
        var operationsApp: Application<RouterResponder<OfficeRequestContext>>?
        if let operationsConfiguration = configuration.httpOperationsConfiguration {
            let operationsRouter = Router(context: OfficeRequestContext.self)
            operationsRouter.add(middleware: ProblemMiddleware())
            operationsRouter.add(middleware: TokenAuthenticator(authentication: authentication))
            operational(operationsRouter)
            operationsApp = Application(
                router: operationsRouter, server: configuration.httpServer, configuration: operationsConfiguration,
                onServerRunning: { channel in operationsPort.set(channel.localAddress?.port ?? 0) }, logger: logger)
        }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: producer), .init(service: consumer), .init(service: topics, successTerminationBehavior: .ignore),
            .init(service: relay), .init(service: events), .init(service: gauges), .init(service: scheduled), .init(service: healthCheck),
            .init(service: app),
        ]
        if let operationsApp { services.append(.init(service: operationsApp)) }
        if watchdog {
            // Last in the group, so the first to hear of the shutdown.
            services.append(.init(service: ShutdownWatchdog(bound: configuration.shutdownTimeout + .seconds(10), logger: logger)))
        }
        var groupConfiguration = ServiceGroupConfiguration(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // Graceful shutdown gets SHUTDOWN_TIMEOUT_SECONDS; then everything is cancelled. No bound
        // on the cancellation itself: ServiceGroup would trap when it is exceeded. The office
        // executable's watchdog (``ShutdownWatchdog``) bounds the whole stop instead, ending the
        // process with a logged non-zero exit if a stop ever hangs.
        groupConfiguration.maximumGracefulShutdownDuration = configuration.shutdownTimeout
        groupConfiguration.maximumCancellationDuration = nil
        self.context = context
        self.service = service
        self.producer = producer
        self.consumer = consumer
        self.serviceGroup = ServiceGroup(configuration: groupConfiguration)
        self.boundPort = port
        self.operationsPort = operationsPort
    }

    /// Runs until SIGTERM/SIGINT (or ``ServiceGroup/triggerGracefulShutdown()``).
    public func run() async throws {
        context.logger.info(
            "Office starting",
            metadata: [
                "office.code": .string(context.office.rawValue), "office.role": .string(S.role.rawValue),
                "http": .string("\(context.configuration.httpHost):\(context.configuration.httpPort)"),
                "kafka.bootstrap": .string(context.configuration.kafka.bootstrapServers.joined(separator: ",")),
                "database": .string(context.database.location),
            ])
        do {
            try await serviceGroup.run()
        } catch {
            await context.database.close()
            throw error
        }
        await context.database.close()
        context.logger.info("Office stopped")
    }
}

/// Why an office refused to start, naming the setting to look at.
public enum OfficeStartupError: Error, CustomStringConvertible {
    case kafkaSecurity(OfficeConfiguration, KafkaError)
    case portInUse(host: String, port: Int)
    /// Not a start-up failure: the broker lost topics the office had (reported by `/health`).
    case topicsLost([String])

    public var description: String {
        switch self {
        case .kafkaSecurity(let configuration, let failure):
            let protocolName = configuration.kafka.securityProtocol.rawValue
            return failure.code == .ssl
                ? "the TLS handshake with \(configuration.kafka.bootstrapServers.joined(separator: ",")) failed (KAFKA_SECURITY_PROTOCOL=\(protocolName); "
                    + "is the listener plaintext, or KAFKA_SSL_CA_LOCATION the wrong CA?): \(failure.message)"
                : "the broker refused the SASL login (KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD): \(failure.message)"
        case .portInUse(let host, let port):
            return "the HTTP port \(port) on \(host) is already in use (HTTP_PORT, HTTP_HOST)"
        case .topicsLost(let topics):
            return "the broker lost \(topics.joined(separator: ", ")) (restarted empty?): the records they held are gone; creating them again"
        }
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

/// Runs `body` every `interval` until shutdown; a failing round is logged, the next one runs.
public struct PeriodicService: Service, CustomStringConvertible {
    /// How ServiceLifecycle names it in logs (not every field, which would print the configuration).
    public var description: String { "\(name) (PeriodicService)" }

    let name: String
    let interval: Duration
    let logger: Logger
    let body: @Sendable () async throws -> Void

    public init(name: String, interval: Duration, logger: Logger, body: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.interval = interval
        self.logger = logger
        self.body = body
    }

    public func run() async throws {
        while !Task.isStopping {
            do {
                try await body()
            } catch {
                if Task.isStopping { break }
                logger.warning("Periodic work failed; trying again later", metadata: ["work": .string(name), "error": "\(error)"])
            }
            await pause(interval)
        }
    }
}

/// The router of an office: problem documents, authentication, the service's routes (each in an
/// ``Access`` group), and 405s for known paths. Tests build it the same way.
public enum OfficeRouter {
    public static func make<S: OfficeService>(
        _ service: S, authentication: Authentication, console: ConsoleEnvironment? = nil, extra: (Router<OfficeRequestContext>) -> Void = { _ in }
    ) -> Router<OfficeRequestContext> {
        let router = Router(context: OfficeRequestContext.self)
        let routes = RouteTable()
        router.add(middleware: ProblemMiddleware(routes: routes))
        router.add(middleware: TokenAuthenticator(authentication: authentication))
        extra(router)
        service.addRoutes(to: router)
        if let console { service.addConsole(to: router, environment: console) }
        routes.load(from: router)
        return router
    }
}
