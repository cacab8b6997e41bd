internal import Synchronization

/// Counters the `stats` reply reports, updated from any task.
final class DaemonCounters: Sendable {
    /// Points the model accepted into its window.
    let pointsAccepted = Atomic<UInt64>(0)
    /// Points in messages refused as malformed, as their payloads declare them (see
    /// `PointBatch.declaredCount`; a payload too malformed to tell counts 0).
    let pointsRejected = Atomic<UInt64>(0)
    /// Points in messages the input queue dropped unread (as declared) plus points the window
    /// refused as older than its horizon.
    let pointsDropped = Atomic<UInt64>(0)
    /// When the daemon started.
    let started = ContinuousClock.now
}
