internal import Logging
internal import Synchronization

/// Logs at most one line per key every `interval`, and says how many were suppressed since
/// the last line (`suppressed=41`), so a flood of bad messages cannot flood the log.
final class RateLimitedLog: Sendable {
    private struct Entry {
        var lastLogged: ContinuousClock.Instant
        var suppressed: Int
    }

    private let logger: Logger
    private let interval: Duration
    private let entries = Mutex<[String: Entry]>([:])

    /// A limiter writing to `logger`, one line per key per `interval` (10 s by default).
    init(logger: Logger, interval: Duration = .seconds(10)) {
        self.logger = logger
        self.interval = interval
    }

    /// Logs `message` unless a line with the same `key` was logged within the interval.
    func log(_ level: Logger.Level, key: String, _ message: String, metadata: Logger.Metadata = [:]) {
        let now = ContinuousClock.now
        let suppressed: Int? = entries.withLock { entries in
            if let entry = entries[key], now - entry.lastLogged < interval {
                entries[key]?.suppressed += 1
                return nil
            }
            let suppressed = entries[key]?.suppressed ?? 0
            entries[key] = Entry(lastLogged: now, suppressed: 0)
            return suppressed
        }
        guard let suppressed else { return }
        var metadata = metadata
        if suppressed > 0 { metadata["suppressed"] = "\(suppressed)" }
        logger.log(level: level, "\(message)", metadata: metadata)
    }
}
