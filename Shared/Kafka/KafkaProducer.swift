import CRdKafka
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Settings of a ``KafkaProducer``.
public struct KafkaProducerConfiguration: Sendable {
    public var client: KafkaConfiguration
    /// Idempotent delivery (`enable.idempotence`, which implies `acks=all`): retries never
    /// duplicate or reorder records within a partition. On by default.
    public var idempotent: Bool
    /// How many sends may await their acknowledgement at once; further sends wait for a slot
    /// (backpressure) instead of failing.
    public var maxInFlight: Int
    /// How long librdkafka keeps trying one record before reporting it failed (`message.timeout.ms`).
    public var deliveryTimeout: Duration
    /// How long to batch records before sending (`linger.ms`).
    public var linger: Duration
    /// How long ``close()`` (and graceful shutdown) waits for outstanding records.
    public var flushTimeout: Duration

    public init(
        client: KafkaConfiguration, idempotent: Bool = true, maxInFlight: Int = 10_000,
        deliveryTimeout: Duration = .seconds(120), linger: Duration = .milliseconds(1),
        flushTimeout: Duration = .seconds(10)
    ) {
        self.client = client
        self.idempotent = idempotent
        self.maxInFlight = maxInFlight
        self.deliveryTimeout = deliveryTimeout
        self.linger = linger
        self.flushTimeout = flushTimeout
    }

    var librdkafkaProperties: [(String, String)] {
        var base: [(String, String)] = [
            ("enable.idempotence", idempotent ? "true" : "false"),
            ("message.timeout.ms", String(deliveryTimeout.milliseconds)),
            ("linger.ms", String(linger.milliseconds)),
            // librdkafka's own queue is larger than our in-flight bound, so QUEUE_FULL is rare.
            ("queue.buffering.max.messages", String(max(maxInFlight * 2, 1000))),
        ]
        if idempotent { base.append(("acks", "all")) }
        // The caller's pass-through properties come after ours and win.
        return base + client.librdkafkaProperties
    }
}

/// A Kafka producer whose `send` returns when the broker has acknowledged the record.
///
/// Delivery reports are served by a dedicated thread blocked in `rd_kafka_poll`, which returns as
/// soon as a report arrives: an acknowledgement costs no polling interval. At most
/// ``KafkaProducerConfiguration/maxInFlight`` sends are outstanding; more wait for a slot.
///
/// As a ServiceLifecycle `Service`, ``run()`` returns on graceful shutdown after flushing what is
/// outstanding within ``KafkaProducerConfiguration/flushTimeout``.
public final class KafkaProducer: Service, Sendable {
    private let client: RDKafkaClient
    private let router: DeliveryRouter
    private let poller: PollThread
    private let configuration: KafkaProducerConfiguration
    private let logger: Logger
    private let produced: Counter

    /// Creates the producer and starts its delivery-report thread.
    /// - Throws: ``KafkaError`` for an invalid property or a librdkafka below the floor.
    public init(configuration: KafkaProducerConfiguration, logger: Logger) throws {
        let router = DeliveryRouter(permits: max(1, configuration.maxInFlight))
        let context = ClientContext(
            logger: logger, clientID: configuration.client.clientID,
            onDelivery: { message in router.deliver(message) })
        self.client = try RDKafkaClient(
            kind: .producer, properties: configuration.librdkafkaProperties, context: context)
        self.router = router
        self.configuration = configuration
        self.logger = logger
        self.produced = Counter(label: "kafka_messages_produced_total", dimensions: [("client_id", configuration.client.clientID)])
        self.poller = PollThread(name: "kafka.producer.\(configuration.client.clientID)", handle: HandlePointer(raw: client.handle))
    }

    deinit {
        poller.stop()
    }

    /// Sends `record` and returns where the broker wrote it, once acknowledged.
    ///
    /// Waits for a slot when ``KafkaProducerConfiguration/maxInFlight`` sends are outstanding.
    /// - Throws: ``KafkaError`` when the record could not be delivered; its
    ///   ``KafkaError/persistence`` tells whether the broker may have it anyway.
    public func send(_ record: KafkaRecord) async throws -> DeliveryReport {
        await router.acquire()
        defer { router.release() }
        while true {
            let outcome: Result<DeliveryReport, any Error>? = await withCheckedContinuation { continuation in
                guard let id = router.register(continuation) else {
                    continuation.resume(returning: .failure(KafkaError.closed("the producer")))
                    return
                }
                if let error = produce(record, id: id) {
                    router.unregister(id)
                    // A full librdkafka queue is backpressure, not failure: wait and try again.
                    continuation.resume(returning: error.code == .queueFull ? nil : .failure(error))
                }
            }
            if let outcome {
                let report = try outcome.get()
                produced.increment()
                return report
            }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Hands `record` to librdkafka; returns an error when librdkafka refuses it at once.
    private func produce(_ record: KafkaRecord, id: UInt) -> KafkaError? {
        var headers: OpaquePointer? = nil
        if !record.headers.isEmpty {
            headers = rd_kafka_headers_new(record.headers.count)
            for header in record.headers {
                if let value = header.value {
                    _ = value.withUnsafeBytes { rd_kafka_header_add(headers, header.name, -1, $0.baseAddress, $0.count) }
                } else {
                    _ = rd_kafka_header_add(headers, header.name, -1, nil, 0)
                }
            }
        }
        let error: OpaquePointer? = record.topic.withCString { topic in
            withOptionalBytes(record.key) { key in
                withOptionalBytes(record.value) { value in
                    var fields = [rd_kafka_vu_t](repeating: rd_kafka_vu_t(), count: 7)
                    fields[0].vtype = RD_KAFKA_VTYPE_TOPIC
                    fields[0].u.cstr = topic
                    fields[1].vtype = RD_KAFKA_VTYPE_MSGFLAGS
                    fields[1].u.i = RD_KAFKA_MSG_F_COPY
                    fields[2].vtype = RD_KAFKA_VTYPE_OPAQUE
                    fields[2].u.ptr = UnsafeMutableRawPointer(bitPattern: id)
                    fields[3].vtype = RD_KAFKA_VTYPE_PARTITION
                    fields[3].u.i32 = record.partition ?? RD_KAFKA_PARTITION_UA
                    var count = 4
                    if let key {
                        fields[count].vtype = RD_KAFKA_VTYPE_KEY
                        fields[count].u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress)
                        fields[count].u.mem.size = key.count
                        count += 1
                    }
                    if let value {
                        fields[count].vtype = RD_KAFKA_VTYPE_VALUE
                        fields[count].u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress)
                        fields[count].u.mem.size = value.count
                        count += 1
                    }
                    if let headers {
                        fields[count].vtype = RD_KAFKA_VTYPE_HEADERS
                        fields[count].u.headers = headers
                        count += 1
                    }
                    return rd_kafka_produceva(client.handle, fields, count)
                }
            }
        }
        guard let error else { return nil }  // on success librdkafka owns the headers
        if let headers { rd_kafka_headers_destroy(headers) }
        return KafkaError.consuming(error, context: "producing to \(record.topic)")
    }

    /// Waits until every outstanding record is acknowledged or failed.
    /// - Throws: ``KafkaError`` with code ``KafkaError/Code/timedOut`` when records remain after `timeout`.
    public func flush(timeout: Duration) async throws {
        let handle = HandlePointer(raw: client.handle)
        let err = try await Blocking.run { rd_kafka_flush(handle.raw, timeout.timeoutMilliseconds) }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError.from(err, context: "flushing \(rd_kafka_outq_len(handle.raw)) outstanding records")
        }
    }

    /// Stops accepting sends, flushes within ``KafkaProducerConfiguration/flushTimeout``, fails what
    /// is still outstanding (their senders learn it was not persisted) and stops the poll thread.
    public func close() async {
        guard router.close() else { return }
        do {
            try await flush(timeout: configuration.flushTimeout)
        } catch {
            logger.warning("Producer flush incomplete at close; purging", metadata: ["error": "\(error)"])
            let handle = HandlePointer(raw: client.handle)
            _ = try? await Blocking.run {
                rd_kafka_purge(handle.raw, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT)
                // Serve the purged records' delivery reports so their senders are answered.
                return rd_kafka_flush(handle.raw, 1000)
            }
        }
        await poller.stopAndWait()
        router.failAll(KafkaError.closed("the producer"))
    }

    /// Serves until graceful shutdown or cancellation, then ``close()``s.
    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }
}

/// Runs `body` with the bytes of `array`, or `nil`.
private func withOptionalBytes<R>(_ array: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBytes { body($0) }
}

// MARK: - Delivery routing

/// Matches delivery reports to the sends awaiting them and bounds how many are in flight.
final class DeliveryRouter: Sendable {
    private struct State {
        var nextID: UInt = 1
        var pending: [UInt: CheckedContinuation<Result<DeliveryReport, any Error>?, Never>] = [:]
        var closed = false
        var permits: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state: Mutex<State>

    init(permits: Int) {
        state = Mutex(State(permits: permits))
    }

    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = state.withLock { state -> Bool in
                if state.permits > 0 {
                    state.permits -= 1
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if granted { continuation.resume() }
        }
    }

    func release() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if !state.waiters.isEmpty { return state.waiters.removeFirst() }
            state.permits += 1
            return nil
        }
        waiter?.resume()
    }

    /// Records a waiting send; `nil` once the producer is closed.
    func register(_ continuation: CheckedContinuation<Result<DeliveryReport, any Error>?, Never>) -> UInt? {
        state.withLock { state in
            guard !state.closed else { return nil }
            let id = state.nextID
            state.nextID += 1
            state.pending[id] = continuation
            return id
        }
    }

    func unregister(_ id: UInt) {
        _ = state.withLock { $0.pending.removeValue(forKey: id) }
    }

    /// Marks closed; `false` when it already was.
    func close() -> Bool {
        state.withLock { state in
            defer { state.closed = true }
            return !state.closed
        }
    }

    func failAll(_ error: KafkaError) {
        let pending = state.withLock { state in
            defer { state.pending.removeAll() }
            return Array(state.pending.values)
        }
        var failure = error
        failure.persistence = .possiblyPersisted
        for continuation in pending { continuation.resume(returning: .failure(failure)) }
    }

    /// Called on the poll thread for each delivery report.
    func deliver(_ message: UnsafePointer<rd_kafka_message_t>) {
        let id = UInt(bitPattern: message.pointee._private)
        guard let continuation = state.withLock({ $0.pending.removeValue(forKey: id) }) else { return }
        let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
            continuation.resume(
                returning: .success(
                    DeliveryReport(topic: topic, partition: message.pointee.partition, offset: message.pointee.offset)))
        } else {
            var error = KafkaError.from(message.pointee.err, context: "delivering to \(topic)")
            switch rd_kafka_message_status(message) {
            case RD_KAFKA_MSG_STATUS_NOT_PERSISTED: error.persistence = .notPersisted
            case RD_KAFKA_MSG_STATUS_PERSISTED: error.persistence = .persisted
            default: error.persistence = .possiblyPersisted
            }
            continuation.resume(returning: .failure(error))
        }
    }
}

// MARK: - Poll thread

/// A dedicated thread blocked in `rd_kafka_poll`, which serves callbacks the moment they are
/// queued. The timeout only bounds how long ``stop()`` may take; `rd_kafka_yield` cuts it short.
final class PollThread: Sendable {
    private let stopping = StopFlag()
    private let done = DispatchSemaphore(value: 0)
    private let handle: HandlePointer

    init(name: String, handle: HandlePointer) {
        self.handle = handle
        let thread = Thread { [stopping, done, handle] in
            while !stopping.isSet {
                rd_kafka_poll(handle.raw, 1000)
            }
            done.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Stops the thread and waits for it (blocking; at most one poll cycle).
    func stop() {
        guard stopping.set() else { return }
        rd_kafka_yield(handle.raw)
        done.wait()
    }

    func stopAndWait() async {
        let poller = self
        _ = try? await Blocking.run { poller.stop() }
    }
}

/// A flag set once, read from any thread.
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)

    var isSet: Bool { value.load(ordering: .acquiring) }

    /// Sets the flag; `true` when this call set it.
    func set() -> Bool { !value.exchange(true, ordering: .acquiringAndReleasing) }
}
