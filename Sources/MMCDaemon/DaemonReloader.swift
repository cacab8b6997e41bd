internal import Logging
internal import MMCConfiguration
internal import Synchronization

/// Re-reads and applies the configuration on `SIGHUP`.
final class DaemonReloader: Sendable {
    private let path: String
    private let overrides: [String]
    private let running: Mutex<DaemonConfiguration>
    private let model: DaemonModel
    private let security: DaemonSecurity
    private let logLevel: DaemonLogLevel
    private let context: DaemonContext

    init(
        path: String, overrides: [String], running: DaemonConfiguration, model: DaemonModel, security: DaemonSecurity,
        logLevel: DaemonLogLevel, context: DaemonContext
    ) {
        self.path = path
        self.overrides = overrides
        self.running = Mutex(running)
        self.model = model
        self.security = security
        self.logLevel = logLevel
        self.context = context
    }

    /// Reloads; an invalid file changes nothing and is reported key by key. The CURVE
    /// allow-list file is read again in any case (a bad one keeps the previous list).
    func reload() async -> DaemonReloadReport {
        let logger = context.logger
        notify { () throws(SystemdNotifierError) in try context.notifier.reloading(status: "reloading the configuration") }
        do {
            if let count = try security.reloadAllowList() {
                logger.info("CURVE allow-list reloaded", metadata: ["keys": "\(count)"])
            }
        } catch {
            logger.error("CURVE allow-list not reloaded; the previous one stays in force", metadata: ["error": "\(error)"])
        }
        let new: DaemonConfiguration
        do {
            new = try DaemonConfiguration(contentsOfFile: path, overrides: overrides)
        } catch {
            for issue in error.issues {
                logger.error("reload refused: invalid configuration", metadata: ["issue": "\(issue)", "path": "\(path)"])
            }
            notify { () throws(SystemdNotifierError) in
                try context.notifier.ready(status: "reload failed: configuration unchanged")
            }
            return DaemonReloadReport(applied: [], requiresRestart: [], issues: error.issues)
        }
        let (plan, previous, updated) = running.withLock { current in
            let plan = DaemonConfiguration.reloadPlan(from: current, to: new)
            let previous = current
            current = current.applyingLiveChanges(from: new)
            return (plan, previous, current)
        }
        await model.apply(DaemonModel.Settings(updated))
        logLevel.set(updated.log.level)
        context.health.setStaleAfter(Daemon.staleAfter(updated.schedule))
        let before = Dictionary(uniqueKeysWithValues: previous.settings.map { ($0.key, $0.value) })
        let after = Dictionary(uniqueKeysWithValues: new.settings.map { ($0.key, $0.value) })
        for key in plan.applied {
            logger.info(
                "configuration key applied",
                metadata: ["key": "\(key)", "old": "\(before[key] ?? "")", "new": "\(after[key] ?? "")"])
        }
        for key in plan.requiresRestart {
            logger.warning(
                "configuration key changed but needs a restart; still running with the old value",
                metadata: ["key": "\(key)", "running": "\(before[key] ?? "")", "file": "\(after[key] ?? "")"])
        }
        logger.info(
            "configuration reloaded",
            metadata: ["applied": "\(plan.applied.count)", "requires.restart": "\(plan.requiresRestart.count)"])
        notify { () throws(SystemdNotifierError) in try context.notifier.ready(status: "configuration reloaded") }
        return DaemonReloadReport(applied: plan.applied, requiresRestart: plan.requiresRestart, issues: [])
    }

    private func notify(_ send: () throws(SystemdNotifierError) -> Void) {
        do {
            try send()
        } catch {
            context.logger.warning("cannot notify systemd", metadata: ["error": "\(error)"])
        }
    }
}
