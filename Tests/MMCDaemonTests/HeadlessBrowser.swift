import Foundation
import Glibc
import MMCTestSupport

/// Debian's chromium, headless, driven over the DevTools protocol on a pipe
/// (`--remote-debugging-pipe`: the browser reads commands on fd 3 and writes replies on fd 4,
/// each a JSON object ended by a NUL byte). Unlike `--dump-dom`, the page keeps running in
/// real time, so its event stream and its updates can be watched.
///
/// The browser is killed when the object is released.
final class HeadlessBrowser {
    private let pid: pid_t
    private let commands: Int32
    private let replies: Int32
    private var nextID = 0
    private var pending: [UInt8] = []

    /// The chromium executable on `PATH`.
    ///
    /// - Throws: ``TestFailure`` when there is none: the browser test fails rather than skips
    ///   (`scripts/deps.sh` and `.ci/run` install the `chromium` package).
    static func executable() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            for name in ["chromium", "chromium-browser"] {
                let candidate = "\(directory)/\(name)"
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
        }
        throw TestFailure("no chromium on PATH (\(path)); install Debian's chromium package: scripts/deps.sh does")
    }

    /// Starts the browser with a fresh profile in `profile`; its output goes to `log`.
    init(profile: String, log: String) throws {
        let executable = try Self.executable()
        var toBrowser: [Int32] = [0, 0]
        var fromBrowser: [Int32] = [0, 0]
        guard pipe(&toBrowser) == 0, pipe(&fromBrowser) == 0 else { throw TestFailure("pipe: errno \(errno)") }
        for descriptor in toBrowser + fromBrowser { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        // Above fd 4, so the child's dup2 onto 3 and 4 cannot overwrite one of them.
        let childReads = fcntl(toBrowser[0], F_DUPFD_CLOEXEC, 10)
        let childWrites = fcntl(fromBrowser[1], F_DUPFD_CLOEXEC, 10)
        for descriptor in [toBrowser[0], fromBrowser[1]] { close(descriptor) }
        defer {
            close(childReads)
            close(childWrites)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_adddup2(&actions, childReads, 3)
        posix_spawn_file_actions_adddup2(&actions, childWrites, 4)
        let arguments = [
            executable, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--remote-debugging-pipe",
            "--user-data-dir=\(profile)", "--window-size=1280,900", "about:blank",
        ]
        var argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let spawned = posix_spawn(&child, executable, &actions, nil, &argv, environ)
        guard spawned == 0 else {
            close(toBrowser[1])
            close(fromBrowser[0])
            throw TestFailure("cannot start \(executable): \(String(cString: strerror(spawned)))")
        }
        pid = child
        commands = toBrowser[1]
        replies = fromBrowser[0]
    }

    deinit {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        close(commands)
        close(replies)
    }

    /// Sends a DevTools command and returns its `result`, skipping the events that arrive
    /// before the reply.
    ///
    /// - Throws: ``TestFailure`` for an error reply, a closed pipe or no reply within `limit`.
    @discardableResult
    func send(
        _ method: String, _ parameters: [String: Any] = [:], session: String? = nil, within limit: Duration = .seconds(30)
    ) throws -> [String: Any] {
        nextID += 1
        var message: [String: Any] = ["id": nextID, "method": method, "params": parameters]
        if let session { message["sessionId"] = session }
        var bytes = [UInt8](try JSONSerialization.data(withJSONObject: message))
        bytes.append(0)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(commands, $0.baseAddress, $0.count) }
            guard written > 0 else { throw TestFailure("cannot write to chromium: errno \(errno)") }
            offset += written
        }
        let deadline = ContinuousClock.now + limit
        while true {
            while let end = pending.firstIndex(of: 0) {
                let object = try JSONSerialization.jsonObject(with: Data(pending[..<end])) as? [String: Any]
                pending.removeSubrange(...end)
                guard let object, object["id"] as? Int == nextID else { continue }
                if let error = object["error"] { throw TestFailure("chromium: \(method) failed: \(error)") }
                return object["result"] as? [String: Any] ?? [:]
            }
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { throw TestFailure("chromium: no reply to \(method) within \(limit)") }
            var poller = pollfd(fd: replies, events: Int16(POLLIN), revents: 0)
            let milliseconds = Int32(min(remaining.components.seconds * 1_000 + 1, 1_000))
            guard poll(&poller, 1, milliseconds) >= 0 else { throw TestFailure("poll: errno \(errno)") }
            guard poller.revents != 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let count = chunk.withUnsafeMutableBytes { read(replies, $0.baseAddress, $0.count) }
            guard count > 0 else { throw TestFailure("chromium closed its DevTools pipe") }
            pending += chunk[..<count]
        }
    }

    /// Opens `url` in a new tab; returns the session to address it.
    func open(_ url: String) throws -> String {
        let target = try send("Target.createTarget", ["url": url])
        guard let targetID = target["targetId"] as? String else { throw TestFailure("no targetId: \(target)") }
        let attached = try send("Target.attachToTarget", ["targetId": targetID, "flatten": true])
        guard let session = attached["sessionId"] as? String else { throw TestFailure("no sessionId: \(attached)") }
        return session
    }

    /// The value of a JavaScript expression in the page (which must evaluate to a JSON value).
    func evaluate(_ expression: String, session: String) throws -> Any? {
        let result = try send("Runtime.evaluate", ["expression": expression, "returnByValue": true], session: session)
        return (result["result"] as? [String: Any])?["value"]
    }

    /// A PNG screenshot of the page.
    func screenshot(session: String) throws -> Data {
        let result = try send("Page.captureScreenshot", ["format": "png"], session: session)
        guard let encoded = result["data"] as? String, let png = Data(base64Encoded: encoded) else {
            throw TestFailure("no screenshot data")
        }
        return png
    }
}
