import Foundation
import EventSigning
import Kafka
import Logging
import Metrics
import OfficeStorage
import ServiceLifecycle
import Synchronization
import TransferDomain

/// A wake-up signal: writers ring it after appending to the outbox so the relay does not wait
/// for its idle poll. Rings coalesce: any number of rings while nobody waits wake the next wait
/// once.
///
/// A timed-out or cancelled wait only removes its own continuation; the signal itself never ends
/// (an `AsyncStream` iterator whose `next()` is cancelled finishes the stream for good, which
/// once turned every later wait into a busy loop).
public final class Doorbell: Sendable {
    private struct State {
        var rung = false
        var nextWaiter: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public func ring() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard !state.waiters.isEmpty else {
                state.rung = true
                return []
            }
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits for a ring or `timeout`, whichever comes first; returns at once when a ring came
    /// since the last wait. Returns early when the task is cancelled.
    public func wait(timeout: Duration) async {
        if state.withLock({ state in defer { state.rung = false }; return state.rung }) { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForRing() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    /// Waits for the next ring; a cancelled wait removes only itself and returns.
    private func waitForRing() async {
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.rung {
                        state.rung = false
                        return true
                    }
                    if Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }
}

/// Publishes outbox rows in order with the idempotent producer, marking each sent only after its
/// delivery report. A crash between delivery and marking resends that row once: consumers
/// deduplicate by `ce_id`.
///
/// Failures are sorted by what they mean: a broker away or a database error is retried with
/// backoff (and reported to `/health`); a row the broker can never take (too large, invalid) is
/// parked, with the rows of its case held behind it, so the rest of the office keeps flowing; a
/// fatal producer error ends the relay with that error, which stops the process with a non-zero
/// exit so a supervisor restarts it.
public struct OutboxRelay: Service, CustomStringConvertible {
    /// How ServiceLifecycle names it in logs (not every field, which would print the configuration).
    public var description: String { "OutboxRelay" }

    let database: any OfficeStore
    let producer: ProducerSlot
    let doorbell: Doorbell
    let health: OfficeHealth
    let logger: Logger
    let idlePoll: Duration
    /// Recipients (topics) set aside after failures.
    let aside = AsideRecipients()

    public init(
        database: any OfficeStore, producer: KafkaProducer, doorbell: Doorbell, health: OfficeHealth = OfficeHealth(), logger: Logger,
        idlePoll: Duration = .milliseconds(500)
    ) {
        self.init(database: database, producers: ProducerSlot(producer), doorbell: doorbell, health: health, logger: logger, idlePoll: idlePoll)
    }

    public init(
        database: any OfficeStore, producers: ProducerSlot, doorbell: Doorbell, health: OfficeHealth = OfficeHealth(), logger: Logger,
        idlePoll: Duration = .milliseconds(500)
    ) {
        self.database = database
        self.producer = producers
        self.doorbell = doorbell
        self.health = health
        self.logger = logger
        self.idlePoll = idlePoll
    }

    public func run() async throws {
        // Recipients whose topic keeps failing are set aside and probed by a child task of their
        // own, so they never hold up the others' rounds.
        try await withThrowingDiscardingTaskGroup { group in
            try await relay(probes: &group)
        }
        logger.info("Outbox relay stopped")
    }

    private func relay(probes: inout ThrowingDiscardingTaskGroup<any Error>) async throws {
        let pending = Gauge(label: "outbox_pending_events")
        let parked = Gauge(label: "outbox_parked_events")
        var backoff = Duration.milliseconds(100)
        /// The office's own trouble (database, broker): say so, wait, and try again.
        func retryLater(_ message: Logger.Message, _ error: any Error, eventID: String? = nil) async {
            health.report(.relay, error)
            var metadata: Logger.Metadata = ["error": "\(error)", "retry.in": "\(backoff)"]
            if let eventID { metadata["event.id"] = .string(eventID) }
            logger.warning(message, metadata: metadata)
            await pause(backoff)
            backoff = min(backoff * 2, .seconds(5))
        }
        relay: while !Task.isStopping {
            let rows: [OutboxRow]
            do {
                // Several instances of an office share its outbox: one relay publishes (the
                // lease holder); the others wait, ready to take over when it dies.
                guard try await database.holdsRelayLease() else {
                    health.clear(.relay)
                    await pause(idlePoll)
                    continue
                }
                let (next, statistics) = try await database.read { transaction in
                    (try transaction.publishableOutbox(limit: 1000), try transaction.outboxStatistics())
                }
                rows = next
                pending.record(statistics.pending)
                parked.record(statistics.parked)
            } catch {
                if Task.isStopping { break }
                await retryLater("Outbox relay cannot read the outbox; retrying", error)
                continue
            }
            // One row per case in each batch, the oldest unsent of each: a case's next event goes
            // out only once the one before it is acknowledged, so no failure or retry can let
            // it overtake (per-case order), while many cases are in flight together.
            var keys = Set<String>()
            let oldest = rows.filter { keys.insert($0.key).inserted }
            let now = ContinuousClock.now
            var batch: [OutboxRow] = []
            var probing: [String: [OutboxRow]] = [:]
            for row in oldest {
                switch aside.state(of: row.topic, at: now) {
                case .flowing: batch.append(row)
                case .due: probing[row.topic, default: []].append(row)
                case .waiting, .probing: continue
                }
            }
            for (topic, rows) in probing {
                aside.startProbe(topic)
                probes.addTask { try await self.probe(topic, rows) }
            }
            if batch.isEmpty {
                if aside.isEmpty { health.clear(.relay) }
                await doorbell.wait(timeout: idlePoll)
                continue
            }
            let outcome: BatchOutcome
            do {
                outcome = try await publish(batch)
            } catch let error as KafkaError where error.isFatal {
                logger.critical("Kafka producer is in a fatal state; stopping the office", metadata: ["error": "\(error)"])
                throw error
            } catch let lost as RelayLeaseLost {
                // Sent, but another instance holds the lease now: it sends these rows again.
                logger.notice("The relay lease went to another instance; this one stops relaying", metadata: ["holder": .string(lost.holder ?? "none")])
                continue relay
            } catch {
                if Task.isStopping { break relay }
                await retryLater("Outbox relay failed; retrying", error)
                continue relay
            }
            do {
                for (row, reason) in outcome.rejected { try await park(row, reason: reason) }
            } catch is ShutdownInterruption {
                // The row stays unparked and is handled again after the restart.
                break relay
            } catch let lost as RelayLeaseLost {
                logger.notice("The relay lease went to another instance; this one stops relaying", metadata: ["holder": .string(lost.holder ?? "none")])
                continue relay
            }
            // A recipient whose records failed is set aside: its rows wait for a probe (after a
            // backoff) while everyone else's keep flowing.
            for (row, error) in outcome.failed {
                setAside(row.topic, error, eventID: row.eventId)
            }
            if outcome.failed.isEmpty && aside.isEmpty { health.clear(.relay) }
            backoff = .milliseconds(100)
            // At shutdown, finish the batch in hand and stop.
            if Task.isStopping { break relay }
        }
    }

    /// Sets `topic` aside after a failure (or keeps it aside, backing off further) and says so.
    private func setAside(_ topic: String, _ error: any Error, eventID: String) {
        let wait = aside.fail(topic)
        health.report(.relay, RecipientFailing(topic: topic, error: error))
        logger.warning(
            "Events for a recipient cannot be published; its events wait, the others go on",
            metadata: ["topic": .string(topic), "error": "\(error)", "event.id": .string(eventID), "retry.in": "\(wait)"])
    }

    /// One try at a recipient set aside: its oldest unsent row of each case; the recipient flows
    /// again when all of them are delivered.
    private func probe(_ topic: String, _ rows: [OutboxRow]) async throws {
        do {
            let outcome = try await publish(rows)
            for (row, reason) in outcome.rejected { try await park(row, reason: reason) }
            if let (row, error) = outcome.failed.first {
                setAside(topic, error, eventID: row.eventId)
            } else {
                aside.recovered(topic)
                logger.notice("Events for a recipient are published again", metadata: ["topic": .string(topic)])
            }
        } catch let error as KafkaError where error.isFatal {
            logger.critical("Kafka producer is in a fatal state; stopping the office", metadata: ["error": "\(error)"])
            throw error
        } catch {
            // Shutdown, a lost lease, the database: the next probe (or the next holder) tries again.
            _ = aside.fail(topic)
        }
        doorbell.ring()
    }

    private func park(_ row: OutboxRow, reason: String) async throws {
        guard let seq = row.seq else { return }
        try await writeRetrying { transaction in try transaction.park(seq: seq, reason: reason) }
        Counter(label: "outbox_parked_total", dimensions: [("type", row.eventType)]).increment()
        logger.error(
            "Outbox event parked: the broker can never take it as it is; later events of its case wait behind it",
            metadata: [
                "event.id": .string(row.eventId), "event.type": .string(row.eventType), "outbox.seq": "\(seq)",
                "bytes": "\(row.payload.count + row.headers.utf8.count)", "reason": .string(reason),
            ])
    }

    /// What became of a batch: rows the broker can never take (to park), and the rows that
    /// failed otherwise (their recipients are set aside and retried); every other row is marked sent.
    struct BatchOutcome {
        var rejected: [(OutboxRow, String)] = []
        var failed: [(OutboxRow, any Error)] = []
    }

    /// Publishes `rows` (at most one per case) as one batch, then marks the acknowledged ones
    /// sent in one transaction.
    private func publish(_ rows: [OutboxRow]) async throws -> BatchOutcome {
        var outcome = BatchOutcome()
        var sendable: [OutboxRow] = []
        var records: [KafkaRecord] = []
        for row in rows {
            do {
                let pairs = try JSONDecoder().decode([[String]].self, from: Data(row.headers.utf8))
                records.append(KafkaRecord(
                    topic: row.topic, key: Array(row.key.utf8), value: Array(row.payload),
                    headers: pairs.compactMap { $0.count == 2 ? KafkaHeader(name: $0[0], string: $0[1]) : nil }))
                sendable.append(row)
            } catch {
                outcome.rejected.append((row, "the stored headers do not decode: \(error)"))
            }
        }
        guard !records.isEmpty else { return outcome }
        for _ in records { FaultPoint.relayBeforePublish.pass() }
        if FaultPoint.producerFatal.fires() { producer.producer.triggerFatalErrorForTesting(reason: "fault point producer.fatal") }
        let results = try await producer.send(batch: records)
        var sent: [(row: OutboxRow, report: DeliveryReport)] = []
        for (row, result) in zip(sendable, results) {
            switch result {
            case .success(let report):
                FaultPoint.relayAfterPublish.pass()
                sent.append((row, report))
            case .failure(let error) where error.rejectsRecord:
                outcome.rejected.append((row, error.description))
            case .failure(let error):
                outcome.failed.append((row, error))
            }
        }
        guard !sent.isEmpty else { return outcome }
        let now = Date()
        try await markSent(sent.compactMap { sent in sent.row.seq.map { ($0, sent.report) } }, at: now)
        for (row, report) in sent {
            Counter(label: "events_published_total", dimensions: [("type", row.eventType)]).increment()
            logger.debug(
                "Event published",
                metadata: ["event.type": .string(row.eventType), "event.id": .string(row.eventId), "kafka.partition": "\(report.partition)", "kafka.offset": "\(report.offset)"])
        }
        return outcome
    }

    /// Marks rows sent in one transaction (see ``writeRetrying(_:)``: the rows are on the
    /// broker; sending them again would only make duplicates the receivers absorb).
    private func markSent(_ rows: [(seq: Int64, report: DeliveryReport)], at time: Date) async throws {
        let marks = rows.map { (seq: $0.seq, partition: Int($0.report.partition), offset: $0.report.offset) }
        try await writeRetrying { transaction in try transaction.markSent(marks, at: time) }
    }

    /// A write the relay must not lose: a database error is reported to `/health` and retried
    /// with backoff; at shutdown it gives up (``ShutdownInterruption``) and the rows stay as
    /// they were, to be handled again after the restart. Fenced by the relay lease: when another
    /// instance holds it now, nothing is written (``RelayLeaseLost``).
    private func writeRetrying(_ body: @escaping @Sendable (any StoreTransaction) throws -> Void) async throws {
        var backoff = Duration.milliseconds(100)
        while true {
            do {
                try await database.relayWrite(body)
                return
            } catch let lost as RelayLeaseLost {
                throw lost
            } catch {
                if Task.isStopping { throw ShutdownInterruption(underlying: error) }
                health.report(.relay, error)
                await pause(backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
    }
}

/// A recipient's events cannot be published (reported to `/health`).
struct RecipientFailing: Error, CustomStringConvertible {
    var topic: String
    var error: any Error
    var description: String { "events for \(topic) cannot be published: \(error)" }
}

/// The recipients (topics) the relay has set aside: each waits out a backoff (1 s, doubling to
/// 10 s) after a failure, then one probe at a time tries its rows again (a probe runs beside the
/// other recipients' rounds, so a short backoff costs them nothing, and a recipient that comes back
/// is found within 10 s).
final class AsideRecipients: Sendable {
    enum State { case flowing, waiting, due, probing }

    private struct Entry {
        var until: ContinuousClock.Instant
        var backoff: Duration
        var probing = false
    }

    private let entries = Mutex<[String: Entry]>([:])

    var isEmpty: Bool { entries.withLock { $0.isEmpty } }

    func state(of topic: String, at now: ContinuousClock.Instant) -> State {
        entries.withLock { entries in
            guard let entry = entries[topic] else { return .flowing }
            if entry.probing { return .probing }
            return now >= entry.until ? .due : .waiting
        }
    }

    func startProbe(_ topic: String) { entries.withLock { $0[topic]?.probing = true } }

    /// Records a failure; returns how long the recipient now waits.
    func fail(_ topic: String) -> Duration {
        entries.withLock { entries in
            let backoff = entries[topic].map { min($0.backoff * 2, .seconds(10)) } ?? .seconds(1)
            entries[topic] = Entry(until: .now + backoff, backoff: backoff)
            return backoff
        }
    }

    func recovered(_ topic: String) { _ = entries.withLock { $0.removeValue(forKey: topic) } }
}
