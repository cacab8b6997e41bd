internal import FoundationEssentials
internal import Glibc
internal import Synchronization

/// The rules for `state.directory` beyond its syntax: one daemon per directory, and a directory
/// the daemon can write.
///
/// - **One owner**: a daemon holds an exclusive `flock` on the directory from its start until
///   its final snapshot is written (``lock(_:)``); a second daemon given the same directory refuses to start, since both would
///   overwrite each other's snapshots. The lock is on the directory itself (opened read-only),
///   so it also works on a directory that cannot be written; the kernel drops it when the
///   process ends, however it ends.
/// - **Writable**: a path that is not a directory, or a directory that cannot be written, is a
///   ``problem(_:)``: `mmcd --check-config` fails on it and `/healthz` reports `failing` while it
///   lasts (checked at start and before every snapshot write). The daemon still runs, since a
///   missing snapshot loses nothing until it stops.
enum StateDirectory {
    /// An exclusive lock on a state directory, held until ``release()`` or until the value is
    /// released.
    final class Lock: Sendable {
        /// The locked directory's descriptor, -1 once released.
        private let descriptor: Mutex<Int32>

        fileprivate init(descriptor: Int32) {
            self.descriptor = Mutex(descriptor)
        }

        deinit {
            release()
        }

        /// Releases the lock (closes the directory); later calls do nothing.
        func release() {
            descriptor.withLock { descriptor in
                if descriptor >= 0 { close(descriptor) }
                descriptor = -1
            }
        }
    }

    /// Why `path` cannot hold the state snapshot, `nil` when it can: it is a writable directory,
    /// or it does not exist and its nearest existing ancestor is a writable directory (the
    /// daemon creates it).
    static func problem(_ path: String) -> String? {
        var candidate = path
        var missing = false
        while true {
            var status = stat()
            if stat(candidate, &status) == 0 {
                guard status.st_mode & S_IFMT == S_IFDIR else {
                    return missing
                        ? "state.directory = \"\(path)\": \(candidate) is not a directory, so the directory cannot be created"
                        : "state.directory = \"\(path)\" is not a directory"
                }
                guard access(candidate, W_OK | X_OK) == 0 else {
                    let reason = String(cString: strerror(errno))
                    return missing
                        ? "state.directory = \"\(path)\" cannot be created in \(candidate): \(reason)"
                        : "state.directory = \"\(path)\" is not writable: \(reason)"
                }
                return nil
            }
            guard errno == ENOENT, candidate != "/", !candidate.isEmpty else {
                return "state.directory = \"\(path)\": cannot examine \(candidate): \(String(cString: strerror(errno)))"
            }
            missing = true
            candidate = parent(of: candidate)
        }
    }

    /// The directory holding the absolute `path`: `/a//b/` gives `/a`, `/a` gives `/`.
    private static func parent(of path: String) -> String {
        (path.hasPrefix("/") ? "/" : "") + path.split(separator: "/").dropLast().joined(separator: "/")
    }

    /// Creates `path` if needed and locks it exclusively.
    ///
    /// - Returns: the lock, or `nil` when the directory cannot be opened (not a directory, or
    ///   missing and impossible to create): no snapshot can be written there, so nothing needs
    ///   the lock, and ``problem(_:)`` reports it.
    /// - Throws: ``DaemonError`` when another process holds the lock.
    static func lock(_ path: String) throws(DaemonError) -> Lock? {
        try? FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let failure = errno
            close(descriptor)
            if failure == EWOULDBLOCK {
                throw DaemonError(
                    "state.directory = \"\(path)\" is locked by another process (another mmcd?): two daemons on one "
                        + "state directory would overwrite each other's snapshots; give each its own")
            }
            throw DaemonError("cannot lock state.directory = \"\(path)\": \(String(cString: strerror(failure)))")
        }
        return Lock(descriptor: descriptor)
    }
}
