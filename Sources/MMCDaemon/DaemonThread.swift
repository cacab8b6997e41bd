internal import Logging
internal import Glibc
internal import Prometheus
internal import Synchronization

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

/// Counts the threads that could not take a lower priority and says so once in the log.
///
/// Lowering one's own priority needs no privilege, but a seccomp filter (a unit's
/// `SystemCallFilter=` without `setpriority`, a container runtime's profile) can refuse it. The
/// work then runs at normal priority, which costs ingestion some CPU but nothing else: a
/// warning on the first refusal and `mmcd_thread_priority_denied_total` are all it is worth.
final class ThreadPriorityDenials: Sendable {
    private let counter: Counter
    private let logger: Logger
    private let logged = Atomic<Bool>(false)

    /// Registers `mmcd_thread_priority_denied_total` on `registry`; the warning goes to `logger`.
    init(registry: PrometheusCollectorRegistry, logger: Logger) {
        counter = registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "mmcd", metricName: "thread_priority_denied", unitName: "total",
                helpText: "Threads that could not lower their priority and ran at normal priority."))
        self.logger = logger
    }

    /// Records a refused priority change of the thread `thread` (`errno` as the call set it).
    func record(thread: String, errno code: Int32) {
        counter.increment()
        guard !logged.exchange(true, ordering: .relaxed) else { return }
        logger.warning(
            "cannot lower a thread's priority; such threads run at normal priority (counted in mmcd_thread_priority_denied_total)",
            metadata: ["thread": "\(thread)", "error": "\(String(cString: strerror(code)))"])
    }
}
