import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Places where a crash hurts most, for the fault tests: the office can be told to kill itself
/// (SIGKILL, no clean-up) the n-th time it passes one.
///
/// Compiled into debug builds only (the ones the tests run); a release build has no fault points
/// and ignores the variable. `OFFICE_FAULT_POINTS` arms them, e.g.
/// `relay.after-publish=40,consumer.after-apply=120`. Just before dying the office writes
/// `fault point <name> reached (hit <n>): SIGKILL` to standard error, so a test can show the point
/// was really hit.
///
/// `OFFICE_FAULT_POINTS_SETTLE_SECONDS=n` starts counting hits only once the office's consumer
/// has held its group assignment for n seconds: the embedded broker (Tansu) never completes a
/// rebalance again when a member dies during one (see docs/operations.md), so the crash tests kill
/// settled members, which is what they test.
public enum FaultPoint: String, CaseIterable, Sendable {
    /// An outbox row is committed and about to be sent: the state change is durable, the event
    /// not yet on the broker.
    case relayBeforePublish = "relay.before-publish"
    /// The broker acknowledged the event; the row is not yet marked sent (it will be sent again).
    case relayAfterPublish = "relay.after-publish"
    /// An incoming event's effects and its inbox row are committed; its offset is not (it will be
    /// delivered again).
    case consumerAfterApply = "consumer.after-apply"
    /// A batch is applied and its offsets' commit requested, not awaited: the request may never
    /// reach the broker (the batch will be delivered again).
    case consumerAfterCommitRequest = "consumer.after-commit-request"
    /// Not a crash: the producer is put in a fatal error state (as librdkafka does when the
    /// broker and the producer disagree on sequence numbers) just before a send.
    case producerFatal = "producer.fatal"

    /// Passes the point: dies here when it is armed for this hit.
    @inline(__always)
    func pass() {
        #if DEBUG
        if FaultPoints.fires(self) { FaultPoints.die(self) }
        #endif
    }

    /// The consumer holds its group assignment (counts for `OFFICE_FAULT_POINTS_SETTLE_SECONDS`).
    static func consumerJoined() {
        #if DEBUG
        FaultPoints.joined.withLock { $0 = $0 ?? .now }
        #endif
    }

    /// Passes a point that does not kill: whether it fires on this hit.
    @inline(__always)
    func fires() -> Bool {
        #if DEBUG
        return FaultPoints.fires(self)
        #else
        return false
        #endif
    }
}

#if DEBUG
enum FaultPoints {
    static let armed: [String: Int] = {
        var armed: [String: Int] = [:]
        for item in (ProcessInfo.processInfo.environment["OFFICE_FAULT_POINTS"] ?? "").split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2, FaultPoint(rawValue: parts[0]) != nil, let hit = Int(parts[1]), hit > 0 { armed[parts[0]] = hit }
        }
        return armed
    }()
    static let hits = Mutex<[String: Int]>([:])
    static let settle: Duration? = ProcessInfo.processInfo.environment["OFFICE_FAULT_POINTS_SETTLE_SECONDS"].flatMap(Int.init).map { .seconds($0) }
    /// When the consumer first held a group assignment.
    static let joined = Mutex<ContinuousClock.Instant?>(nil)

    /// Counts a pass; true on the armed hit.
    static func fires(_ point: FaultPoint) -> Bool {
        guard let target = armed[point.rawValue] else { return false }
        if let settle {
            guard let joined = joined.withLock({ $0 }), ContinuousClock.now - joined >= settle else { return false }
        }
        let hit = hits.withLock { hits -> Int in
            hits[point.rawValue, default: 0] += 1
            return hits[point.rawValue]!
        }
        guard hit == target else { return false }
        let line = "fault point \(point.rawValue) reached (hit \(hit))\(point == .producerFatal ? "" : ": SIGKILL")\n"
        _ = line.withCString { write(STDERR_FILENO, $0, strlen($0)) }
        return true
    }

    static func die(_ point: FaultPoint) {
        kill(getpid(), SIGKILL)
    }
}
#endif
