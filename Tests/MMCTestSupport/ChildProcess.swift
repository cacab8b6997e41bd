public import Foundation
import Glibc

/// How a child process ended.
public enum ProcessExit: Equatable, Sendable, CustomStringConvertible {
    /// It exited with this status.
    case exited(Int32)
    /// A signal ended it.
    case signalled(Int32)

    public var description: String {
        switch self {
        case .exited(let status): "exit status \(status)"
        case .signalled(let signal): "killed by signal \(signal) (\(String(cString: strsignal(signal))))"
        }
    }
}

/// A child process (`mmcd`, `mmc`, a browser) whose standard output and error go to files. It is
/// killed when the object is released while it still runs, so a failing test leaves nothing
/// behind.
public final class ChildProcess {
    private let process = Process()
    private let standardOutputPath: String
    private let standardErrorPath: String

    /// Starts `executable` with `arguments` and the test's environment without systemd's
    /// variables, plus `environment`; its output goes to `<outputPrefix>.stdout` and `.stderr`.
    public init(
        executable: String, arguments: [String], environment: [String: String] = [:], outputPrefix: String,
        standardInput: FileHandle = FileHandle.nullDevice
    ) throws {
        standardOutputPath = outputPrefix + ".stdout"
        standardErrorPath = outputPrefix + ".stderr"
        var inherited = ProcessInfo.processInfo.environment
        for name in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID"] {
            inherited[name] = nil
        }
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = inherited.merging(environment) { _, new in new }
        process.standardInput = standardInput
        process.standardOutput = try Self.createFile(standardOutputPath)
        process.standardError = try Self.createFile(standardErrorPath)
        try process.run()
    }

    deinit {
        kill()
    }

    private static func createFile(_ path: String) throws -> FileHandle {
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let handle = FileHandle(forWritingAtPath: path)
        else { throw TestFailure("cannot create \(path)") }
        return handle
    }

    public var isRunning: Bool { process.isRunning }

    /// The process id.
    public var processIdentifier: Int32 { process.processIdentifier }

    /// Sends `signal` to the process.
    public func send(_ signal: Int32) {
        Glibc.kill(process.processIdentifier, signal)
    }

    /// Kills the process (`SIGKILL`) if it still runs and waits for it.
    public func kill() {
        if process.isRunning {
            send(SIGKILL)
            process.waitUntilExit()
        }
    }

    /// Waits up to `limit` for the process to end; `nil` when it still runs.
    public func exit(within limit: Duration) async throws -> ProcessExit? {
        guard try await eventually(within: limit, polling: .milliseconds(20), { !process.isRunning }) else {
            return nil
        }
        // Foundation stores the status before it clears isRunning.
        return process.terminationReason == .uncaughtSignal
            ? .signalled(process.terminationStatus) : .exited(process.terminationStatus)
    }

    /// Sends `SIGTERM` and waits up to 20 s for the process to end; `nil` when it still runs.
    public func terminate() async throws -> ProcessExit? {
        send(SIGTERM)
        return try await exit(within: .seconds(20))
    }

    /// Everything the process wrote to standard output so far.
    public var standardOutput: String { Self.read(standardOutputPath) }
    /// Everything the process wrote to standard error so far.
    public var standardError: String { Self.read(standardErrorPath) }

    private static func read(_ path: String) -> String {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// What a process run to its end left: how it ended and its output.
    public struct Outcome: Sendable {
        public let exit: ProcessExit
        public let output: String
        public let error: String
    }

    /// Runs `executable` to its end, at most `limit`, killing it past the limit.
    ///
    /// - Throws: ``TestFailure`` when it still ran after `limit`.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], outputPrefix: String,
        within limit: Duration = .seconds(20)
    ) async throws -> Outcome {
        let process = try ChildProcess(
            executable: executable, arguments: arguments, environment: environment, outputPrefix: outputPrefix)
        guard let exit = try await process.exit(within: limit) else {
            process.kill()
            let name = URL(fileURLWithPath: executable).lastPathComponent
            throw TestFailure("\(name) \(arguments.joined(separator: " ")) still ran after \(limit)")
        }
        return Outcome(exit: exit, output: process.standardOutput, error: process.standardError)
    }
}

/// Finds the executables the package built (`mmcd`, `mmc`): they are next to the test bundle,
/// whatever the scratch path (`.build/debug`, `.build-e2e/debug`).
public enum BuiltExecutables {
    /// The directory holding the running test bundle (`<scratch>/debug/mmcdPackageTests.xctest`).
    public static let directory: String = {
        let executable = (Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0]))
            .resolvingSymlinksInPath()
        var url = executable
        while url.pathExtension != "xctest" && url.pathComponents.count > 1 {
            url.deleteLastPathComponent()
        }
        return (url.pathExtension == "xctest" ? url : executable).deletingLastPathComponent().path
    }()

    /// The path of executable `name`.
    ///
    /// - Throws: ``TestFailure`` when the build did not make it.
    public static func path(_ name: String) throws -> String {
        let path = directory + "/" + name
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw TestFailure(
                "no \(name) executable at \(path), next to the test bundle; build every product with the tests: "
                    + "swift build --build-tests")
        }
        return path
    }
}
