internal import Logging

/// What every part of the running daemon reports to: metrics, counters, log, systemd, health.
struct DaemonContext: Sendable {
    let metrics: DaemonMetrics
    let counters: DaemonCounters
    let logger: Logger
    let notifier: SystemdNotifier
    let health: HealthMonitor
    /// Rate-limited warnings about bad input, one line per reason per 10 s.
    let rejects: RateLimitedLog
    /// The live page's feed of re-clustering summaries.
    let live: LiveFeed
    /// What the system refused the dedicated threads: a lower priority, a thread at all.
    let threads: DedicatedThreadReports
}

