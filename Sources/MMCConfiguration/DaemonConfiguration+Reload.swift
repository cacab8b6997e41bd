extension DaemonConfiguration {
    /// Which keys differ between two configurations, split into those the running daemon
    /// applies on `SIGHUP` and those that take effect only after a restart.
    ///
    /// Live keys: everything in `[schedule]`, `output.provisional`, `output.assignments`,
    /// `output.full_every` and `log.level`. Every other key shapes the window, the forest, a
    /// socket, the state directory or the HTTP listener, which cannot change without losing
    /// them.
    ///
    /// - Returns: key paths in documentation order.
    public static func reloadPlan(
        from old: DaemonConfiguration, to new: DaemonConfiguration
    ) -> (applied: [String], requiresRestart: [String]) {
        var applied: [String] = []
        var requiresRestart: [String] = []
        for key in ConfigurationKey.all where key.render(old) != key.render(new) {
            if key.reloadsLive { applied.append(key.path) } else { requiresRestart.append(key.path) }
        }
        return (applied, requiresRestart)
    }

    /// This configuration with the live-reloadable keys taken from `new`: what the daemon runs
    /// with after a `SIGHUP` (keys that need a restart keep their current values).
    public func applyingLiveChanges(from new: DaemonConfiguration) -> DaemonConfiguration {
        var result = self
        for key in ConfigurationKey.all where key.reloadsLive { key.copy(&result, new) }
        return result
    }
}
