/// Waits, without holding a concurrency thread, until `condition` holds or `limit` passes.
///
/// Tests wait on what they need (a reply, a file, a metric) rather than for a fixed time: on a
/// loaded machine a fixed sleep is either too short (a flaky failure) or always too long. The
/// condition is checked once more after the deadline, so a test starved of threads by parallel
/// suites does not fail for the starvation alone.
/// - Parameters:
///   - limit: how long to wait at most.
///   - interval: the pause between checks.
/// - Returns: Whether `condition` held.
public func eventually(
    within limit: Duration = .seconds(20), polling interval: Duration = .milliseconds(5),
    _ condition: () async throws -> Bool
) async throws -> Bool {
    let deadline = ContinuousClock.now + limit
    while true {
        if try await condition() { return true }
        guard ContinuousClock.now < deadline else { return false }
        try await Task.sleep(for: interval)
    }
}

/// The first non-`nil` result of `attempt` within `limit`, checked as ``eventually(within:polling:_:)``
/// checks a condition; `nil` when none came.
public func firstResult<Value>(
    within limit: Duration = .seconds(20), polling interval: Duration = .milliseconds(5),
    _ attempt: () async throws -> Value?
) async throws -> Value? {
    var value: Value?
    _ = try await eventually(within: limit, polling: interval) {
        value = try await attempt()
        return value != nil
    }
    return value
}
