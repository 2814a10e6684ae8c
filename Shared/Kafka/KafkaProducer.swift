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
    /// The largest record (key, value and headers) the producer accepts (`message.max.bytes`);
    /// a larger one fails at once with ``KafkaError/Code/messageSizeTooLarge``. Brokers have
    /// their own limit (Apache Kafka's default is about 1 MiB).
    public var maxMessageBytes: Int

    public init(
        client: KafkaConfiguration, idempotent: Bool = true, maxInFlight: Int = 10_000,
        deliveryTimeout: Duration = .seconds(120), linger: Duration = .milliseconds(1),
        flushTimeout: Duration = .seconds(10), maxMessageBytes: Int = 1_000_000
    ) {
        self.client = client
        self.idempotent = idempotent
        self.maxInFlight = maxInFlight
        self.deliveryTimeout = deliveryTimeout
        self.linger = linger
        self.flushTimeout = flushTimeout
        self.maxMessageBytes = maxMessageBytes
    }

    var librdkafkaProperties: [(String, String)] {
        var base: [(String, String)] = [
            ("enable.idempotence", idempotent ? "true" : "false"),
            ("message.timeout.ms", String(deliveryTimeout.milliseconds)),
            ("linger.ms", String(linger.milliseconds)),
            ("message.max.bytes", String(maxMessageBytes)),
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
    public let configuration: KafkaProducerConfiguration
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
    /// Cancelling the task ends the wait with `CancellationError`: a record already handed to
    /// librdkafka may still be written (its report is then dropped), so a caller that must know
    /// sends it again and relies on consumers deduplicating.
    /// - Throws: ``KafkaError`` when the record could not be delivered; its
    ///   ``KafkaError/persistence`` tells whether the broker may have it anyway, ``KafkaError/isFatal``
    ///   that the producer is unusable (the process should restart), and
    ///   ``KafkaError/rejectsRecord`` that this record can never be delivered as it is.
    /// Records handed to librdkafka whose reports have not come yet, counted against
    /// ``KafkaProducerConfiguration/maxInFlight`` (a cancelled send's record stays counted until
    /// its report arrives: the window is what librdkafka really holds).
    public var inFlight: Int { configuration.maxInFlight - router.available }

    public func send(_ record: KafkaRecord) async throws -> DeliveryReport {
        try await router.acquire()
        // The slot is given back when this send is answered, except when it is cancelled while
        // librdkafka holds the record: then the record's own report gives it back (the window
        // counts what librdkafka really holds).
        var releaseSlot = true
        defer { if releaseSlot { router.release() } }
        while true {
            if let fatal = client.fatalError() { throw fatal }
            let ticket = router.newTicket()
            let outcome: Result<DeliveryReport, any Error>? = await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    guard router.register(ticket, .single(continuation)) else { return }
                    if let error = produce(record, id: ticket) {
                        // Only whoever takes the continuation out of the router resumes it: a
                        // close() or cancellation may have answered it already.
                        router.take(ticket)?.answer(error.code == .queueFull ? nil : .failure(error))
                    }
                }
            } onCancel: {
                router.cancel(ticket)
            }
            switch outcome {
            case .success(let report)?:
                produced.increment()
                return report
            case .failure(let error as CancelledInFlight)?:
                releaseSlot = false
                throw error.cancellation
            case .failure(let error)?:
                // A failure can be the first sign of a fatal state (idempotence lost): say so.
                if let fatal = client.fatalError() { throw fatal }
                throw error
            case nil:
                // A full librdkafka queue is backpressure, not failure: wait and try again.
                try await Task.sleep(for: .milliseconds(2))
            }
        }
    }

    /// Sends `records` together and returns when every one is acknowledged or failed: one result
    /// per record, in the order given.
    ///
    /// The bulk path: the records are handed to librdkafka one after another without a task or a
    /// continuation each (one per batch), so a batch costs little more than librdkafka's own
    /// produce calls. Records for the same partition are written in the order given (the
    /// idempotent producer keeps that order through retries). At most
    /// ``KafkaProducerConfiguration/maxInFlight`` records are outstanding: slots are taken in
    /// chunks as records are handed over and given back as each one's report arrives, so a large
    /// batch streams through a sliding window.
    ///
    /// A record that fails has its ``KafkaError`` in its slot; the call itself throws only
    /// `CancellationError` (records already handed over may still be written), or the producer's
    /// fatal error before anything was handed over.
    public func send(batch records: [KafkaRecord]) async throws -> [Result<DeliveryReport, KafkaError>] {
        if let fatal = client.fatalError() { throw fatal }
        guard !records.isEmpty else { return [] }
        let router = self.router
        let batch = BatchWaiter(count: records.count, onSlotDone: { router.release() })
        let tickets = router.newTickets(records.count)
        let chunk = max(1, min(1024, configuration.maxInFlight))
        let outcomes = try await withTaskCancellationHandler {
            var next = 0
            handOver: while next < records.count, !Task.isCancelled {
                let end = min(next + chunk, records.count)
                do { try await router.acquire(count: end - next) } catch { break }
                guard router.register(tickets[next..<end], batch, firstIndex: next) else {
                    router.release(count: end - next)
                    break
                }
                for index in next..<end {
                    while true {
                        guard let error = produce(records[index], id: tickets[index]) else { break }
                        guard error.code == .queueFull, !Task.isCancelled else {
                            router.take(tickets[index])?.answer(.failure(error))
                            break
                        }
                        // librdkafka's queue is full: wait for reports to make room, then try again.
                        try? await Task.sleep(for: .milliseconds(1))
                    }
                }
                next = end
            }
            // Slots never registered (closed, or cancelled on the way) are answered here.
            if next < records.count {
                router.forget(tickets[next...])
                let failure: any Error = Task.isCancelled ? CancellationError() : KafkaError.closed("the producer")
                for index in next..<records.count { batch.complete(index, .failure(failure), releasesSlot: false) }
            }
            return await batch.results()
        } onCancel: {
            for ticket in tickets { router.cancel(ticket) }
        }
        if Task.isCancelled { throw CancellationError() }
        var delivered = 0
        // A failure can be the first sign of a fatal state (idempotence lost): say so.
        let fatal = client.fatalError()
        let results = outcomes.map { outcome -> Result<DeliveryReport, KafkaError> in
            switch outcome {
            case .success(let report):
                delivered += 1
                return .success(report)
            case .failure(let error):
                if let fatal { return .failure(fatal) }
                return .failure(error as? KafkaError ?? KafkaError.closed("the send (\(error))"))
            }
        }
        if delivered > 0 { produced.increment(by: delivered) }
        return results
    }

    /// The fatal error the producer entered, if any (for health checks): a fatal producer
    /// fails every later send and must be replaced, in practice by restarting the process.
    public var fatalError: KafkaError? { client.fatalError() }

    /// The first TLS handshake or SASL authentication failure this producer met, if any (a
    /// misconfiguration that retrying will not cure).
    public var securityFailure: KafkaError? { client.context.securityFailure.withLock { $0 } }

    /// The cluster's topics as the brokers describe them, read through this producer's own
    /// connections (a health check that needs no client of its own).
    public func clusterTopics(timeout: Duration) async throws -> [KafkaTopicMetadata] {
        let client = self.client
        return try await Blocking.run { try client.topics(timeout: timeout) }
    }

    /// Puts the producer in a fatal error state, as librdkafka would on lost idempotence.
    /// For fault tests only.
    public func triggerFatalErrorForTesting(reason: String) {
        _ = rd_kafka_test_fatal_error(client.handle, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, reason)
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
///
/// Every waiting send is one entry in one locked state; a continuation is resumed only by
/// whoever removed it from that state (delivery, close, cancellation or a refused produce), so it
/// is resumed exactly once.
final class DeliveryRouter: Sendable {
    typealias Waiter = CheckedContinuation<Result<DeliveryReport, any Error>?, Never>

    /// Who awaits a record's report: a single send, or one slot of a batch.
    enum Entry: Sendable {
        case single(Waiter)
        case batch(BatchWaiter, Int)

        /// Answers the waiter (`nil`: try again, for a single send refused with a full queue).
        func answer(_ outcome: Result<DeliveryReport, any Error>?) {
            switch self {
            case .single(let continuation): continuation.resume(returning: outcome)
            case .batch(let batch, let index): batch.complete(index, outcome ?? .failure(KafkaError(code: .queueFull, message: "queue full")))
            }
        }
    }

    private struct State {
        var nextID: UInt = 1
        var pending: [UInt: Entry] = [:]
        /// Tickets cancelled before their continuation was registered.
        var cancelled: Set<UInt> = []
        /// Tickets whose waiter was answered (cancelled) while librdkafka still holds the record:
        /// each keeps its in-flight slot until the record's report arrives.
        var abandoned: Set<UInt> = []
        var closed = false
        var permits: Int
        var nextPermitWaiter: UInt = 0
        var permitWaiters: [(id: UInt, count: Int, continuation: CheckedContinuation<Void, any Error>)] = []
    }

    private let state: Mutex<State>

    init(permits: Int) {
        state = Mutex(State(permits: permits))
    }

    /// Takes an in-flight slot, waiting for one when none is free.
    /// - Throws: `CancellationError` when the task is cancelled while waiting.
    func acquire(count: Int = 1) async throws {
        let id = state.withLock { state in
            defer { state.nextPermitWaiter += 1 }
            return state.nextPermitWaiter
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Decision { case granted, cancelled, wait }
                let decision = state.withLock { state -> Decision in
                    if Task.isCancelled { return .cancelled }
                    // First come, first served: nobody overtakes a waiter.
                    if state.permitWaiters.isEmpty, state.permits >= count {
                        state.permits -= count
                        return .granted
                    }
                    state.permitWaiters.append((id, count, continuation))
                    return .wait
                }
                switch decision {
                case .granted: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .wait: break
                }
            }
        } onCancel: {
            let (waiter, granted) = state.withLock { state -> (CheckedContinuation<Void, any Error>?, [CheckedContinuation<Void, any Error>]) in
                guard let index = state.permitWaiters.firstIndex(where: { $0.id == id }) else { return (nil, []) }
                let waiter = state.permitWaiters.remove(at: index).continuation
                // Those behind a large cancelled request may fit now.
                return (waiter, Self.grant(&state))
            }
            waiter?.resume(throwing: CancellationError())
            for continuation in granted { continuation.resume() }
        }
    }

    /// Takes permits for the waiters at the head of the line that fit, in order.
    private static func grant(_ state: inout State) -> [CheckedContinuation<Void, any Error>] {
        var granted: [CheckedContinuation<Void, any Error>] = []
        while let first = state.permitWaiters.first, first.count <= state.permits {
            state.permits -= first.count
            granted.append(state.permitWaiters.removeFirst().continuation)
        }
        return granted
    }

    /// Slots free now.
    var available: Int { state.withLock { $0.permits } }

    func release(count: Int = 1) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.permits += count
            return Self.grant(&state)
        }
        for waiter in waiters { waiter.resume() }
    }

    func newTicket() -> UInt {
        state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
    }

    /// `count` consecutive tickets.
    func newTickets(_ count: Int) -> [UInt] {
        state.withLock { state in
            defer { state.nextID += UInt(count) }
            return (0..<count).map { state.nextID + UInt($0) }
        }
    }

    /// Records slots of `batch` (from `firstIndex` on) under their tickets; `false` (nothing
    /// recorded) when closed. A ticket cancelled before it got here is answered at once.
    func register(_ tickets: ArraySlice<UInt>, _ batch: BatchWaiter, firstIndex: Int) -> Bool {
        let cancelled = state.withLock { state -> [Int]? in
            guard !state.closed else { return nil }
            var cancelled: [Int] = []
            for (offset, ticket) in tickets.enumerated() {
                if state.cancelled.remove(ticket) != nil {
                    cancelled.append(firstIndex + offset)
                } else {
                    state.pending[ticket] = .batch(batch, firstIndex + offset)
                }
            }
            return cancelled
        }
        guard let cancelled else { return false }
        for index in cancelled { batch.complete(index, .failure(CancellationError())) }
        return true
    }

    /// Forgets cancellations recorded for tickets that will never be registered.
    func forget(_ tickets: ArraySlice<UInt>) {
        state.withLock { state in for ticket in tickets { state.cancelled.remove(ticket) } }
    }

    /// Records a waiting send. Returns `false` after answering the continuation itself, when
    /// the producer is closed or the send was cancelled before it got here.
    func register(_ ticket: UInt, _ entry: Entry) -> Bool {
        enum Decision { case registered, closed, cancelled }
        let decision = state.withLock { state -> Decision in
            if state.cancelled.remove(ticket) != nil { return .cancelled }
            guard !state.closed else { return .closed }
            state.pending[ticket] = entry
            return .registered
        }
        switch decision {
        case .registered: return true
        case .closed: entry.answer(.failure(KafkaError.closed("the producer")))
        case .cancelled: entry.answer(.failure(CancellationError()))
        }
        return false
    }

    /// Removes a waiting send; `nil` when someone else already answered it.
    func take(_ ticket: UInt) -> Entry? {
        state.withLock { $0.pending.removeValue(forKey: ticket) }
    }

    /// Answers a waiting send with `CancellationError` (or marks it, if not registered yet). A
    /// record already handed to librdkafka keeps its in-flight slot until its report comes.
    func cancel(_ ticket: UInt) {
        let waiter = state.withLock { state -> Entry? in
            if let waiter = state.pending.removeValue(forKey: ticket) {
                state.abandoned.insert(ticket)
                return waiter
            }
            state.cancelled.insert(ticket)
            return nil
        }
        switch waiter {
        case .single(let continuation)?: continuation.resume(returning: .failure(CancelledInFlight()))
        case .batch(let batch, let index)?: batch.complete(index, .failure(CancellationError()), releasesSlot: false)
        case nil: break
        }
    }

    /// Marks closed; `false` when it already was.
    func close() -> Bool {
        state.withLock { state in
            defer { state.closed = true }
            return !state.closed
        }
    }

    func failAll(_ error: KafkaError) {
        let (pending, abandoned) = state.withLock { state in
            defer {
                state.pending.removeAll()
                state.abandoned.removeAll()
            }
            return (Array(state.pending.values), state.abandoned.count)
        }
        // Their reports will not come now.
        if abandoned > 0 { release(count: abandoned) }
        var failure = error
        failure.persistence = .possiblyPersisted
        for entry in pending { entry.answer(.failure(failure)) }
    }

    /// Called on the poll thread for each delivery report.
    func deliver(_ message: UnsafePointer<rd_kafka_message_t>) {
        let id = UInt(bitPattern: message.pointee._private)
        guard let entry = take(id) else {
            // A cancelled send's record: librdkafka is done with it, its slot is free now.
            if state.withLock({ $0.abandoned.remove(id) }) != nil { release() }
            return
        }
        let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
            entry.answer(.success(DeliveryReport(topic: topic, partition: message.pointee.partition, offset: message.pointee.offset)))
        } else {
            var error = KafkaError.from(message.pointee.err, context: "delivering to \(topic)")
            switch rd_kafka_message_status(message) {
            case RD_KAFKA_MSG_STATUS_NOT_PERSISTED: error.persistence = .notPersisted
            case RD_KAFKA_MSG_STATUS_PERSISTED: error.persistence = .persisted
            default: error.persistence = .possiblyPersisted
            }
            entry.answer(.failure(error))
        }
    }
}

/// A single send answered by cancellation while librdkafka still held its record: its caller
/// throws `CancellationError` and leaves the in-flight slot to the record's report.
struct CancelledInFlight: Error {
    var cancellation: CancellationError { CancellationError() }
}

/// The results of one batch send, filled in by delivery reports on the poll thread; one
/// continuation for the whole batch, resumed when the last slot is answered.
final class BatchWaiter: Sendable {
    private struct State {
        var results: [Result<DeliveryReport, any Error>?]
        var remaining: Int
        var continuation: CheckedContinuation<[Result<DeliveryReport, any Error>], Never>?
    }

    private let state: Mutex<State>
    /// Gives back the in-flight slot a registered record held.
    private let onSlotDone: @Sendable () -> Void

    init(count: Int, onSlotDone: @escaping @Sendable () -> Void = {}) {
        state = Mutex(State(results: Array(repeating: nil, count: count), remaining: count))
        self.onSlotDone = onSlotDone
    }

    /// Answers slot `index` (once; later answers are ignored). `releasesSlot`: the record held
    /// an in-flight slot (it was registered), which is given back.
    func complete(_ index: Int, _ result: Result<DeliveryReport, any Error>, releasesSlot: Bool = true) {
        var first = false
        let finished = state.withLock { state -> (CheckedContinuation<[Result<DeliveryReport, any Error>], Never>, [Result<DeliveryReport, any Error>])? in
            if case .some = state.results[index] { return nil }
            first = true
            state.results[index] = result
            state.remaining -= 1
            guard state.remaining == 0, let continuation = state.continuation else { return nil }
            state.continuation = nil
            return (continuation, state.results.map { $0! })
        }
        if first, releasesSlot { onSlotDone() }
        if let (continuation, results) = finished { continuation.resume(returning: results) }
    }

    /// Waits until every slot is answered.
    func results() async -> [Result<DeliveryReport, any Error>] {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> [Result<DeliveryReport, any Error>]? in
                if state.remaining == 0 { return state.results.map { $0! } }
                state.continuation = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
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

/// A value behind a lock, shareable by reference (a `Mutex` cannot be captured by escaping closures).
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    func withLock<R>(_ body: (inout sending Value) throws -> sending R) rethrows -> R {
        try mutex.withLock(body)
    }
}
