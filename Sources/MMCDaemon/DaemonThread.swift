internal import CLinuxSupport
internal import Foundation

/// How a dedicated thread is scheduled against the daemon's other threads.
enum DedicatedThreadPriority {
    /// Like every other thread.
    case normal
    /// Nice 5 (weight 335 against 1,024): long computations that a deadline of a second or
    /// more allows to yield to ingestion, whose batches wait in a bounded queue behind them.
    case background

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
