import ArgumentParser
import CLinuxSupport
import Logging
import MMCConfiguration
import MMCDaemon

/// `mmcd`: the streaming clustering daemon.
///
/// `mmcd --config /etc/mmcd/mmcd.toml [--set key=value ...]` runs it until `SIGTERM` or
/// `SIGINT`; `SIGHUP` reloads the file. `--check-config` validates the file with the overrides
/// and the files and directory it names (``DaemonConfiguration/fileProblems()``), prints every
/// effective setting (or every problem) and exits 0 (or 1): the systemd units run it before
/// starting and reloading.
@main
struct MMCD: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mmcd",
        abstract: "Streaming mass-maximization clustering daemon.",
        discussion: """
            Points arrive on ZeroMQ (SUB or PULL), cluster updates leave on an XPUB socket, \
            queries are answered on a ROUTER socket; see docs/protocol.md. Every key of the \
            configuration file can be overridden with --set section.key=value.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The TOML configuration file.", valueName: "file"))
    var config: String

    @Option(
        name: .customLong("set"),
        help: ArgumentHelp("Override a configuration key, e.g. --set window.size=5000 (repeatable).", valueName: "key=value"))
    var overrides: [String] = []

    @Flag(name: .customLong("check-config"), help: "Validate the configuration, print the effective settings and exit.")
    var checkConfig = false

    /// Blocks from 32 MiB (glibc's largest allowed threshold) are mapped and unmapped as they come.
    static let mallocMmapThreshold: Int32 = 32 << 20
    /// Free memory at the top of a heap beyond 128 MiB is returned to the kernel.
    static let mallocTrimThreshold: Int32 = 128 << 20
    /// Two heaps: ingestion and a re-clustering each have one to allocate from without waiting.
    static let mallocArenas: Int32 = 2

    func run() async throws {
        let configuration: DaemonConfiguration
        do {
            configuration = try DaemonConfiguration(contentsOfFile: config, overrides: overrides)
        } catch {
            DaemonLogHandler.writeToStandardError("mmcd: invalid configuration \(config):\n\(error)", level: .error)
            throw ExitCode.failure
        }
        if checkConfig {
            for warning in configuration.warnings {
                DaemonLogHandler.writeToStandardError("mmcd: warning: \(warning)", level: .warning)
            }
            let problems = configuration.fileProblems()
            guard problems.isEmpty else {
                let text = problems.joined(separator: "\n")
                DaemonLogHandler.writeToStandardError("mmcd: invalid configuration \(config):\n\(text)", level: .error)
                throw ExitCode.failure
            }
            let lines = configuration.settings.map { "\($0.key) = \($0.value)" }
            print("mmcd: configuration \(config) is valid; effective settings:")
            print(lines.joined(separator: "\n"))
            return
        }

        // Every re-clustering allocates and frees tens of megabytes (kNN table, spanning forest,
        // copies of the window); glibc would hand them back to the kernel each time and fault them
        // in again a second later. Kept, the resident size settles at the peak a re-clustering
        // needs, which is what a memory limit has to allow for anyway. Each re-clustering runs on
        // a new thread, which glibc may give another arena: with the default 16 arenas on two
        // CPUs the kept memory grew for minutes as more arenas reached that peak.
        _ = mmc_keep_freed_memory(Self.mallocMmapThreshold, Self.mallocTrimThreshold, Self.mallocArenas)
        // ZeroMQ peers take a descriptor each beyond the HTTP cap and the reserve; see
        // FileDescriptorBudget.
        FileDescriptorBudget.raiseLimit()

        let level = DaemonLogLevel(configuration.log.level)
        let format = configuration.log.format
        let journal = DaemonLogHandler.standardErrorIsJournal()
        LoggingSystem.bootstrap { label in
            DaemonLogHandler(label: label, format: format, level: level, journal: journal)
        }
        let logger = Logger(label: "mmcd")
        logger.info("starting", metadata: ["config": "\(config)", "overrides": "\(overrides.joined(separator: " "))"])
        for (key, value) in configuration.settings {
            logger.debug("setting", metadata: ["key": "\(key)", "value": "\(value)"])
        }
        for warning in configuration.warnings {
            logger.warning("unauthenticated endpoint", metadata: ["warning": "\(warning)"])
        }
        let daemon: Daemon
        do {
            daemon = try Daemon(
                configuration: configuration, configurationPath: config, overrides: overrides, logger: logger,
                logLevel: level, handlesSignals: true)
        } catch {
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
        do {
            try await daemon.run()
        } catch {
            logger.critical("stopped after a failure", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
        logger.info("stopped")
    }
}
