internal import Synchronization

/// What `/healthz` reports: whether the daemon is up and re-clustering on schedule.
///
/// The daemon calls ``markReady()`` once it serves, ``recordRecluster()`` after every
/// re-clustering and ``markStopping()`` at shutdown. With a staleness limit set, a daemon that has
/// not re-clustered for longer than the limit (counted from readiness before the first one)
/// reports ``Status/stale``. While a part of the daemon cannot do its job
/// (``setProblem(_:)``: the state directory is not a writable directory), it reports
/// ``Status/failing``. Thread-safe.
public final class HealthMonitor: Sendable {
    /// The health states.
    public enum Status: String, Sendable, Hashable {
        /// Not ready yet (restoring state, binding sockets).
        case starting
        /// Ready and re-clustering on schedule.
        case ok
        /// Ready, but the last re-clustering is older than the staleness limit.
        case stale
        /// Serving, but a part cannot do its job (``Report/problem`` says which).
        case failing
        /// Shutting down.
        case stopping
    }

    /// One reading of the health state.
    public struct Report: Sendable, Hashable {
        /// The state.
        public let status: Status
        /// Time since the last re-clustering, `nil` before the first.
        public let lastReclusterAge: Duration?
        /// What fails, with ``Status/failing``.
        public let problem: String?

        /// Whether the state is ``Status/ok`` (HTTP 200; anything else is 503).
        public var isHealthy: Bool { status == .ok }

        /// `{"status":"ok","last_recluster_age_seconds":1.5}` (`null` before the first), with a
        /// `"problem"` string when failing.
        public var json: String {
            let age = lastReclusterAge.map { "\(Double($0.components.seconds) + Double($0.components.attoseconds) * 1e-18)" }
            let fields = #""status":"\#(status.rawValue)","last_recluster_age_seconds":\#(age ?? "null")"#
            guard let problem else { return "{" + fields + "}" }
            let escaped = problem.unicodeScalars.map { scalar -> String in
                if scalar == "\"" || scalar == "\\" { return "\\" + String(scalar) }
                guard scalar.value < 0x20 else { return String(scalar) }
                let hex = String(scalar.value, radix: 16)
                return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }.joined()
            return "{" + fields + #","problem":""# + escaped + "\"}"
        }
    }

    /// Times are durations since the monitor was made, on its clock.
    private struct State {
        var status = Status.starting
        var readyAt: Duration?
        var lastRecluster: Duration?
        var staleAfter: Duration?
        var problem: String?
    }

    private let state: Mutex<State>
    /// The time since the monitor was made, on its clock.
    private let elapsed: @Sendable () -> Duration

    /// A monitor in the ``Status/starting`` state, on the continuous clock.
    ///
    /// - Parameter staleAfter: how long without a re-clustering counts as stale; `nil` never.
    public convenience init(staleAfter: Duration? = nil) {
        self.init(staleAfter: staleAfter, clock: ContinuousClock())
    }

    /// A monitor in the ``Status/starting`` state that reads the time from `clock` (tests
    /// advance a manual clock instead of waiting).
    ///
    /// - Parameter staleAfter: how long without a re-clustering counts as stale; `nil` never.
    public init<C: Clock>(staleAfter: Duration?, clock: C) where C.Duration == Duration {
        state = Mutex(State(staleAfter: staleAfter))
        let origin = clock.now
        elapsed = { origin.duration(to: clock.now) }
    }

    /// The daemon serves: configuration valid, sockets bound.
    public func markReady() {
        state.withLock {
            $0.status = .ok
            $0.readyAt = $0.readyAt ?? elapsed()
        }
    }

    /// Shutdown has begun.
    public func markStopping() {
        state.withLock { $0.status = .stopping }
    }

    /// A re-clustering finished now.
    public func recordRecluster() {
        state.withLock { $0.lastRecluster = elapsed() }
    }

    /// Changes the staleness limit (after a reload changed the schedule); `nil` turns it off.
    public func setStaleAfter(_ limit: Duration?) {
        state.withLock { $0.staleAfter = limit }
    }

    /// Sets what fails (the daemon then reports ``Status/failing``), or `nil` once it works.
    public func setProblem(_ problem: String?) {
        state.withLock { $0.problem = problem }
    }

    /// The current health.
    public func report() -> Report {
        state.withLock { state in
            let now = elapsed()
            let age = state.lastRecluster.map { now - $0 }
            var status = state.status
            if status == .ok, let limit = state.staleAfter, let since = state.lastRecluster ?? state.readyAt,
                now - since > limit
            {
                status = .stale
            }
            if status == .ok || status == .stale, state.problem != nil {
                status = .failing
            }
            return Report(status: status, lastReclusterAge: age, problem: status == .failing ? state.problem : nil)
        }
    }
}
