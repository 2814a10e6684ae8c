import OfficeStorage
import ServiceLifecycle
import TransferDomain

/// What a failure to apply an incoming record says about that record.
///
/// Only what is wrong with the record itself goes to the dead-letter topic: it would fail the
/// same way on every delivery. Everything else (a full or failing disk, a busy database, a broker
/// away, a cancelled task at shutdown) is the office's own trouble: the record is retried, or the
/// consumer stops without committing it so it is read again after a restart.
public enum EventFailure: Equatable, Sendable {
    /// The record can never be applied: dead-letter it with `reason`.
    case record(reason: String)
    /// The office could not apply it now: retry, or stop without committing.
    case infrastructure

    /// Sorts `error` by what the consumer may do about it.
    public static func classify(_ error: any Error) -> EventFailure {
        switch error {
        case let error as EventDecodingError: return .record(reason: error.reason)
        case is IllegalTransition: return .record(reason: "illegal-transition")
        case let error as DomainError: return .record(reason: error.code)
        case is ValidationError: return .record(reason: "invalid-data")
        case is DecodingError: return .record(reason: "malformed")
        case is StoreConstraintViolation:
            return .record(reason: "constraint")
        default: return .infrastructure
        }
    }
}

/// Thrown by the consumer and the relay when shutdown interrupts a retry: the work in hand is
/// left undone and uncommitted, to be picked up again after a restart.
struct ShutdownInterruption: Error, CustomStringConvertible {
    var underlying: any Error
    var description: String { "interrupted by shutdown while retrying: \(underlying)" }
}

extension Task where Success == Never, Failure == Never {
    /// Shutdown has begun (graceful or not): retries must give up.
    static var isStopping: Bool { Task.isCancelled || Task.isShuttingDownGracefully }
}

/// Sleeps `duration`, returning early (without throwing) when the task is cancelled or its
/// service is asked to shut down gracefully: a periodic service or a retry loop never holds up a
/// stop for the rest of its interval.
func pause(_ duration: Duration) async {
    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }
}
