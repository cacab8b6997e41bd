internal import CLinuxSupport
internal import Foundation

/// How a dedicated thread is scheduled against the daemon's other threads.
enum DedicatedThreadPriority: Sendable {
    /// Like every other thread.
    case normal
    /// Nice 5 (weight 335 against 1,024): long computations that a deadline of a second or
    /// more allows to yield to ingestion, whose batches wait in a bounded queue behind them.
    case background

    /// The priority of the next re-clustering after one that took `duration`, with re-clusterings
    /// due every `interval` seconds (0: by point count only, no deadline).
    ///
    /// Background while they take less than half the interval: ingestion goes first and the
    /// re-clustering still has time to spare. A re-clustering that overran the interval (the CPUs
    /// are saturated, as under overload) puts the next ones back at normal priority, so that
    /// updates keep their schedule; the first to take less than half the interval again ends
    /// that. (A thread may lower its own priority but not raise it back without privileges, so
    /// the choice is made per re-clustering, each on a new thread.)
    func next(afterReclusterTaking duration: Duration, interval: Double) -> DedicatedThreadPriority {
        guard interval > 0 else { return .background }
        if duration > .seconds(interval) { return .normal }
        if duration < .seconds(interval / 2) { return .background }
        return self
    }

    var niceness: Int32 {
        switch self {
        case .normal: 0
        case .background: 5
        }
    }
}

/// Runs blocking or long work on a thread of its own and resumes the caller with its result.
///
/// Re-clusterings (hundreds of milliseconds of CPU) and state writes (`fsync`) would otherwise
/// hold one of the few threads of Swift's cooperative pool, which ingestion, publishing and
/// the control endpoint share.
func runOnDedicatedThread<Result: Sendable>(
    named name: String, priority: DedicatedThreadPriority = .normal, _ body: @escaping @Sendable () -> Result
) async -> Result {
    await withCheckedContinuation { continuation in
        let thread = Thread {
            mmc_name_current_thread(name)
            if priority != .normal {
                // Best effort: a thread that keeps the normal priority still works.
                _ = mmc_set_current_thread_niceness(priority.niceness)
            }
            continuation.resume(returning: body())
        }
        // The clusterer's k-d tree and hierarchy recurse; 8 MiB is the main thread's default.
        thread.stackSize = 8 << 20
        thread.start()
    }
}
