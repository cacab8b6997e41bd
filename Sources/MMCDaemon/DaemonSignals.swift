internal import ServiceLifecycle
internal import UnixSignals

/// Reloads the configuration on every `SIGHUP` (`systemctl reload`), until graceful shutdown.
///
/// `SIGTERM` and `SIGINT` are not handled here: the service group turns them into a graceful
/// shutdown.
struct DaemonReloadService: Service {
    let reloader: DaemonReloader

    func run() async {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            _ = await reloader.reload()
        }
    }
}
