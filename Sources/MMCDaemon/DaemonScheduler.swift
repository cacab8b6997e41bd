internal import Logging
internal import ServiceLifecycle

/// The model owner's clock: every ``tickInterval`` it lets the model start a timed
/// re-clustering, pings the systemd watchdog and writes periodic state snapshots; on graceful
/// shutdown it waits for the model to finish (a running re-clustering is completed and its
/// update published) and writes the final state snapshot.
///
/// The watchdog ping follows a round trip through the model actor, so a model owner that hangs
/// stops the pings and systemd restarts the daemon.
struct DaemonScheduler: Service {
    /// How often the schedule is checked.
    static let tickInterval = Duration.milliseconds(50)

    let model: DaemonModel
    /// Writes snapshots; `nil` when `state.directory` is empty.
    let writer: DaemonStateWriter?
    /// Seconds between periodic snapshots, 0 for none.
    let snapshotInterval: Double
    let context: DaemonContext

    func run() async {
        let clock = ContinuousClock()
        var nextSnapshot = snapshotInterval > 0 ? clock.now + .seconds(snapshotInterval) : nil
        let watchdogInterval = context.notifier.watchdogPingInterval
        var nextPing = clock.now
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let now = clock.now
            await model.tick(now: now)
            // Not before READY=1 (sent just before the health leaves `starting`).
            if let watchdogInterval, now >= nextPing, context.health.report().status != .starting {
                do {
                    try context.notifier.watchdog()
                } catch {
                    context.logger.warning("cannot ping the systemd watchdog", metadata: ["error": "\(error)"])
                }
                nextPing = now + watchdogInterval
            }
            if let writer, let due = nextSnapshot, now >= due {
                await writer.write(await model.persistableState())
                nextSnapshot = clock.now + .seconds(snapshotInterval)
            }
            try? await Task.sleep(for: Self.tickInterval)
        }
        let final = await model.shutDown()
        if let writer {
            // A large window takes a while to encode and fsync: ask systemd for more time.
            try? context.notifier.extendTimeout(usec: 60_000_000)
            await writer.write(final)
        }
    }
}

/// The first service to hear of a graceful shutdown: tells systemd (`STOPPING=1`) and the
/// health endpoint that the daemon is stopping, before the other services stop in turn.
struct DaemonShutdownAnnouncer: Service {
    let context: DaemonContext

    func run() async {
        try? await gracefulShutdown()
        context.health.markStopping()
        context.logger.info("shutting down")
        do {
            try context.notifier.stopping(status: "stopping: writing the state snapshot")
        } catch {
            context.logger.debug("cannot notify systemd", metadata: ["error": "\(error)"])
        }
    }
}
