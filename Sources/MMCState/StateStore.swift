internal import Glibc
internal import MMCRuntime

/// Writes and reads the daemon's state file atomically, in a versioned, checksummed format.
///
/// **Writing** (``save(_:)``): the snapshot is encoded, written to `.<file>.tmp` in the same
/// directory, `fsync`ed, renamed over the file and the directory is `fsync`ed, so after a crash
/// the file is either the old snapshot or the new one, never a mix. Any failure (read-only
/// directory, `ENOSPC`) throws ``StateStoreError`` and leaves the previous file untouched.
///
/// **Reading** (``load()``) checks the magic, version, header checksum, payload length and
/// payload checksum before decoding, and every array length before allocating it.
/// ``restore(accepting:)`` moves a bad file aside as `<file>.corrupt-<UTC timestamp>` and
/// reports it, so the daemon starts empty instead of crashing.
///
/// **Format, version 1** (all integers little-endian):
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 8 | magic `MMCDSTAT` |
/// | 8 | 4 | format version, 1 |
/// | 12 | 4 | header length, 32 |
/// | 16 | 8 | payload length in bytes |
/// | 24 | 4 | CRC-32C of the payload |
/// | 28 | 4 | CRC-32C of bytes 0..<28 |
/// | 32 | n | payload |
///
/// The payload is the fields of ``DaemonStateSnapshot`` in declaration order: scalars as
/// 8-byte values (`Int` as two's-complement 64-bit), arrays as a `UInt64` element count followed
/// by the elements, the optional forest as a presence byte followed by its fields, and the
/// sequence numbers as a `UInt64` count of (`UInt32` UTF-8 length, topic bytes, `UInt64` value)
/// sorted by topic.
public struct StateStore: Sendable {
    /// The state directory.
    public let directory: String
    /// The state file's name in ``directory``.
    public let fileName: String

    /// The magic at the start of every state file.
    public static let magic = Array("MMCDSTAT".utf8)
    /// The format version this build writes and reads.
    public static let formatVersion: UInt32 = 1
    /// Bytes before the payload.
    static let headerLength = 32

    /// A store for `directory/fileName`.
    public init(directory: String, fileName: String = "state.bin") {
        self.directory = directory
        self.fileName = fileName
    }

    /// The state file's path.
    public var path: String { directory + "/" + fileName }

    /// The temporary file a save writes before renaming it.
    var temporaryPath: String { directory + "/." + fileName + ".tmp" }

    /// Writes `snapshot` atomically, creating the directory (mode 0700) if needed.
    ///
    /// - Throws: ``StateStoreError`` with ``StateStoreError/Code/malformed`` for an inconsistent
    ///   snapshot, ``StateStoreError/Code/io`` when a system call fails; the previous file is
    ///   left intact either way.
    /// - Complexity: O(size of the snapshot); one write and two `fsync`s.
    public func save(_ snapshot: DaemonStateSnapshot) throws(StateStoreError) {
        let bytes = try Self.encode(snapshot, path: path)
        try createDirectory()
        let temporary = temporaryPath
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw ioError("cannot create", temporary) }
        do throws(StateStoreError) {
            try writeAll(bytes, to: descriptor, path: temporary)
            guard fsync(descriptor) == 0 else { throw ioError("cannot fsync", temporary) }
        } catch {
            close(descriptor)
            unlink(temporary)
            throw error
        }
        guard close(descriptor) == 0 else {
            let error = ioError("cannot close", temporary)
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let error = ioError("cannot rename \(temporary) to", path)
            unlink(temporary)
            throw error
        }
        let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directoryDescriptor >= 0 else { throw ioError("cannot open the directory", directory) }
        defer { close(directoryDescriptor) }
        guard fsync(directoryDescriptor) == 0 else { throw ioError("cannot fsync the directory", directory) }
    }

    /// Reads and verifies the state file.
    ///
    /// - Returns: the snapshot, or `nil` when there is no state file.
    /// - Throws: ``StateStoreError`` naming what is wrong with the file.
    public func load() throws(StateStoreError) -> DaemonStateSnapshot? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            if errno == ENOENT { return nil }
            throw ioError("cannot open", path)
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw ioError("cannot stat", path) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(status.st_size))
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw ioError("cannot read", path) }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[..<count])
        }
        return try Self.decode(bytes, path: path)
    }

    /// Loads the state file for a start: a missing file is a first start, a bad one is moved
    /// aside and reported, an unreadable one is reported and left alone. Never throws.
    ///
    /// - Parameter accepting: returns why a valid snapshot cannot be used (another dimension,
    ///   another forest shape), or `nil` to accept it; a rejected snapshot is moved aside with
    ///   ``StateStoreError/Code/incompatible``.
    public func restore(accepting: (DaemonStateSnapshot) -> String? = { _ in nil }) -> RestoreOutcome {
        let failure: StateStoreError
        do {
            guard let snapshot = try load() else { return .empty }
            guard let reason = accepting(snapshot) else { return .restored(snapshot) }
            failure = StateStoreError(.incompatible, path: path, reason)
        } catch {
            failure = error
        }
        guard failure.concernsFileContent else { return .unreadable(failure) }
        do {
            return .discarded(failure, movedTo: try moveAside(), moveError: nil)
        } catch {
            return .discarded(failure, movedTo: nil, moveError: error)
        }
    }

    /// Renames the state file to `<file>.corrupt-<UTC yyyyMMdd'T'HHmmss'Z'>` (with `-1`, `-2`...
    /// if that exists) so a fresh start does not overwrite the evidence.
    ///
    /// - Returns: the new path.
    public func moveAside() throws(StateStoreError) -> String {
        let stamp = utcTimestamp(secondsSinceEpoch: Int(time(nil)), format: "%Y%m%dT%H%M%SZ")
        let base = "\(path).corrupt-\(stamp)"
        var target = base
        var suffix = 0
        while access(target, F_OK) == 0 {
            suffix += 1
            target = "\(base)-\(suffix)"
        }
        guard rename(path, target) == 0 else { throw ioError("cannot move aside to \(target):", path) }
        return target
    }

    // MARK: System calls

    /// `mkdir -p` with mode 0700 for the directories it creates.
    private func createDirectory() throws(StateStoreError) {
        var prefix = directory.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o700) == 0 { continue }
            guard errno == EEXIST else { throw ioError("cannot create the state directory", prefix) }
            var status = stat()
            guard stat(prefix, &status) == 0, status.st_mode & S_IFMT == S_IFDIR else {
                throw StateStoreError(.io, path: prefix, errno: ENOTDIR, "cannot create the state directory")
            }
        }
    }

    private func writeAll(_ bytes: [UInt8], to descriptor: Int32, path: String) throws(StateStoreError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw ioError("cannot write", path) }
            offset += written
        }
    }

    private func ioError(_ operation: String, _ path: String) -> StateStoreError {
        StateStoreError(.io, path: path, errno: errno, operation)
    }
}
