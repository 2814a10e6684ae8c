import Foundation
import Logging
import ServiceLifecycle

/// Bounds how long a stop may take: armed when graceful shutdown begins, it ends the process
/// with a logged exit status 1 if the process is still there after `bound`.
///
/// ServiceGroup's own bound on cancellation traps (`fatalError`), which loses the log and looks
/// like a crash to a supervisor; this one says what happened and exits like any failed process.
/// It runs on a thread of its own, so a stuck cooperative pool cannot delay it.
public struct ShutdownWatchdog: Service, CustomStringConvertible {
    /// How ServiceLifecycle names it in logs (not every field, which would print the configuration).
    public var description: String { "ShutdownWatchdog" }

    let bound: Duration
    let logger: Logger
    let exit: @Sendable (Int32) -> Void

    /// - Parameter exit: how to end the process (tests pass a recorder).
    public init(bound: Duration, logger: Logger, exit: @escaping @Sendable (Int32) -> Void = { Foundation.exit($0) }) {
        self.bound = bound
        self.logger = logger
        self.exit = exit
    }

    public func run() async throws {
        // Returns when graceful shutdown begins; throws when the group is cancelled (also a stop).
        try? await gracefulShutdown()
        arm()
    }

    func arm() {
        let (bound, logger, exit) = (self.bound, self.logger, self.exit)
        let thread = Thread {
            Thread.sleep(forTimeInterval: bound.seconds)
            logger.critical(
                "Shutdown did not finish in time; exiting with status 1",
                metadata: ["shutdown.bound.seconds": "\(bound.seconds)"])
            exit(1)
        }
        thread.name = "shutdown-watchdog"
        thread.start()
    }
}
