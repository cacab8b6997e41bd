internal import Logging
internal import MMCRuntime
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

/// Counts and logs what the system refused the daemon's dedicated threads; the work goes on.
///
/// - **A lower priority.** Lowering one's own priority needs no privilege, but a seccomp filter
///   (a unit's `SystemCallFilter=` without `setpriority`, a container runtime's profile) can
///   refuse it. The work then runs at normal priority, which costs ingestion some CPU but
///   nothing else: a warning on the first refusal and `mmcd_thread_priority_denied_total`.
/// - **A thread.** `pthread_create` fails only when threads or memory run out (a cgroup's
///   `pids.max`, the address space). The re-clustering, snapshot or plot then runs on a thread
///   of the cooperative pool (``runOnDedicatedThread(named:niceness:stackSize:priorityDenied:refused:_:)``),
///   late rather than lost; every refusal counts in `mmcd_thread_refused_total`, and the
///   warning repeats at most once a minute per thread name while the shortage lasts.
final class DedicatedThreadReports: Sendable {
    private let priorityDenials: Counter
    private let refusals: Counter
    private let logger: Logger
    private let priorityLogged = Atomic<Bool>(false)
    private let refusalLog: RateLimitedLog

    /// Registers `mmcd_thread_priority_denied_total` and `mmcd_thread_refused_total` on
    /// `registry`; the warnings go to `logger`.
    init(registry: PrometheusCollectorRegistry, logger: Logger) {
        priorityDenials = registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "mmcd", metricName: "thread_priority_denied", unitName: "total",
                helpText: "Threads that could not lower their priority and ran at normal priority."))
        refusals = registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "mmcd", metricName: "thread_refused", unitName: "total",
                helpText: "Threads the system refused to start; their work ran on the async pool."))
        self.logger = logger
        refusalLog = RateLimitedLog(logger: logger, interval: .seconds(60))
    }

    /// Records a refused priority change of the thread `thread` (`errno` as the call set it).
    func priorityDenied(thread: String, errno code: Int32) {
        priorityDenials.increment()
        guard !priorityLogged.exchange(true, ordering: .relaxed) else { return }
        logger.warning(
            "cannot lower a thread's priority; such threads run at normal priority (counted in mmcd_thread_priority_denied_total)",
            metadata: ["thread": "\(thread)", "error": "\(String(cString: strerror(code)))"])
    }

    /// Records a thread the system refused to start.
    func refused(_ refusal: ThreadRefused) {
        refusals.increment()
        refusalLog.log(
            .warning, key: refusal.thread,
            "the system refused a thread; its work runs on the async pool (counted in mmcd_thread_refused_total)",
            metadata: ["thread": "\(refusal.thread)", "error": "\(String(cString: strerror(refusal.code)))"])
    }
}
