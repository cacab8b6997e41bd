internal import Foundation
internal import Glibc

#if !_endian(little)
#error("The state file is little-endian and is written with bulk copies: a little-endian host is required.")
#endif

/// Everything the daemon needs to resume after a restart, as flat arrays.
///
/// The daemon fills it from the model (window, forest, cluster tracker) and the publisher
/// (model version, sequence numbers); ``StateStore`` writes and reads it. It holds no model
/// types, only plain numbers, so the file format does not change when the model's Swift types
/// do. ``inconsistencies`` lists arrays whose lengths disagree; such a snapshot is neither
/// written nor accepted on load.
public struct DaemonStateSnapshot: Sendable, Hashable {
    /// The cluster id of a tracked point that was noise at the last re-clustering.
    public static let noCluster = UInt64.max

    /// When the snapshot was taken, seconds since 1970 (UTC).
    public var createdAt: Double
    /// The model version of the last published clustering.
    public var modelVersion: UInt64
    /// Values per point.
    public var dimension: Int

    /// Window point ids, oldest first.
    public var windowIDs: [UInt64]
    /// Window point timestamps, parallel to ``windowIDs``.
    public var windowTimestamps: [Double]
    /// Window point values, `dimension` per point, row-major, parallel to ``windowIDs``.
    public var windowValues: [Double]
    /// The storage slot of every window point (the forest's leaf cache is indexed by slot).
    public var windowSlots: [Int32]

    /// The mass-estimation forest, or `nil` before it was grown.
    public var forest: Forest?

    /// The id the cluster tracker gives the next new cluster.
    public var nextClusterID: UInt64
    /// Point ids the tracker remembers: the window's at the snapshot, each with its id from the
    /// last re-clustering or its leaf votes (files of earlier builds hold the last
    /// re-clustering's points instead; the format is the same and both restore alike).
    public var trackedPointIDs: [UInt64]
    /// The stable cluster id of every tracked point, ``noCluster`` for noise.
    public var trackedClusterIDs: [UInt64]

    /// The last sequence number published on each topic.
    public var sequenceNumbers: [String: UInt64]

    /// A forest stored as one heap-ordered array per node attribute, trees concatenated.
    public struct Forest: Sendable, Hashable {
        /// Number of trees.
        public var treeCount: Int
        /// Height of every tree.
        public var height: Int
        /// Points each tree is built from.
        public var sampleSize: Int
        /// The seed the forest was created with.
        public var seed: UInt64
        /// Nodes in one tree; every node array holds `treeCount * nodesPerTree` entries.
        public var nodesPerTree: Int
        /// The tree the next refresh rebuilds.
        public var oldestTree: Int
        /// Split dimension of every node.
        public var splitDimensions: [Int32]
        /// Split value of every node.
        public var splitValues: [Double]
        /// Window points in every node.
        public var counts: [Int32]
        /// Log volume of every node's region.
        public var logVolumes: [Double]
        /// Leaf of every window slot in every tree, `treeCount` per slot.
        public var leaves: [Int32]
        /// State of the forest's random generator.
        public var generatorState: [UInt64]

        /// Creates a forest record.
        public init(
            treeCount: Int, height: Int, sampleSize: Int, seed: UInt64, nodesPerTree: Int, oldestTree: Int,
            splitDimensions: [Int32], splitValues: [Double], counts: [Int32], logVolumes: [Double],
            leaves: [Int32], generatorState: [UInt64]
        ) {
            self.treeCount = treeCount
            self.height = height
            self.sampleSize = sampleSize
            self.seed = seed
            self.nodesPerTree = nodesPerTree
            self.oldestTree = oldestTree
            self.splitDimensions = splitDimensions
            self.splitValues = splitValues
            self.counts = counts
            self.logVolumes = logVolumes
            self.leaves = leaves
            self.generatorState = generatorState
        }
    }

    /// Creates a snapshot.
    public init(
        createdAt: Double, modelVersion: UInt64, dimension: Int,
        windowIDs: [UInt64], windowTimestamps: [Double], windowValues: [Double], windowSlots: [Int32],
        forest: Forest?, nextClusterID: UInt64, trackedPointIDs: [UInt64], trackedClusterIDs: [UInt64],
        sequenceNumbers: [String: UInt64]
    ) {
        self.createdAt = createdAt
        self.modelVersion = modelVersion
        self.dimension = dimension
        self.windowIDs = windowIDs
        self.windowTimestamps = windowTimestamps
        self.windowValues = windowValues
        self.windowSlots = windowSlots
        self.forest = forest
        self.nextClusterID = nextClusterID
        self.trackedPointIDs = trackedPointIDs
        self.trackedClusterIDs = trackedClusterIDs
        self.sequenceNumbers = sequenceNumbers
    }

    /// Lengths and values that disagree, as sentences; empty for a usable snapshot.
    public var inconsistencies: [String] {
        var problems: [String] = []
        let points = windowIDs.count
        if dimension < 1 { problems.append("dimension \(dimension) is below 1") }
        if windowTimestamps.count != points {
            problems.append("\(windowTimestamps.count) window timestamps for \(points) points")
        }
        if dimension >= 1, windowValues.count != points * dimension {
            problems.append("\(windowValues.count) window values for \(points) points of dimension \(dimension)")
        }
        if windowSlots.count != points { problems.append("\(windowSlots.count) window slots for \(points) points") }
        if trackedClusterIDs.count != trackedPointIDs.count {
            problems.append("\(trackedClusterIDs.count) tracked cluster ids for \(trackedPointIDs.count) points")
        }
        if let forest {
            let scalars = [
                ("treeCount", forest.treeCount), ("height", forest.height), ("sampleSize", forest.sampleSize),
                ("nodesPerTree", forest.nodesPerTree),
            ]
            for (name, value) in scalars where value < 1 { problems.append("forest \(name) \(value) is below 1") }
            if !(0..<max(forest.treeCount, 1)).contains(forest.oldestTree) {
                problems.append("forest oldestTree \(forest.oldestTree) is not a tree")
            }
            let (nodes, overflow) = forest.treeCount.multipliedReportingOverflow(by: forest.nodesPerTree)
            let arrays = [
                ("splitDimensions", forest.splitDimensions.count), ("splitValues", forest.splitValues.count),
                ("counts", forest.counts.count), ("logVolumes", forest.logVolumes.count),
            ]
            for (name, count) in arrays where overflow || count != nodes {
                problems.append("forest \(name) has \(count) entries for \(forest.treeCount) trees of \(forest.nodesPerTree) nodes")
            }
            if forest.treeCount >= 1, !forest.leaves.count.isMultiple(of: forest.treeCount) {
                problems.append("forest leaves has \(forest.leaves.count) entries, not a multiple of \(forest.treeCount) trees")
            }
        }
        return problems
    }
}

/// Why a state file could not be written or read.
public struct StateStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of problem it was.
    public enum Code: Sendable, Hashable {
        /// The file ends before its header or payload does.
        case truncated
        /// The file does not start with the state file magic.
        case badMagic
        /// A format version this build cannot read.
        case unsupportedVersion
        /// The header or payload checksum does not match (a flipped bit, a torn write).
        case checksumMismatch
        /// The checksum matched but the content is not a valid snapshot (bad lengths, trailing
        /// bytes, arrays that disagree).
        case malformed
        /// A valid snapshot the caller cannot use (another dimension or forest shape).
        case incompatible
        /// A system call failed (no space, read-only file system, permissions).
        case io
    }

    /// What kind of problem it was.
    public let code: Code
    /// The file or directory concerned.
    public let path: String
    /// The `errno` of a failed system call (``Code/io`` only).
    public let errno: Int32?
    /// A readable sentence naming the problem.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, path: String, errno: Int32? = nil, _ message: String) {
        self.code = code
        self.path = path
        self.errno = errno
        self.message = message
    }

    /// Whether the file's content is the problem (so it should be moved aside), rather than
    /// the system call that tried to read it.
    public var concernsFileContent: Bool { code != .io }

    /// `path: message`, with `strerror` for system call failures.
    public var description: String {
        let reason = errno.map { ": " + String(cString: strerror($0)) } ?? ""
        return "\(path): \(message)\(reason)"
    }
}

/// What ``StateStore/restore(accepting:)`` found.
public enum RestoreOutcome: Sendable {
    /// No state file: a first start.
    case empty
    /// The snapshot was read and accepted.
    case restored(DaemonStateSnapshot)
    /// The file was corrupt, of another version or rejected; it was moved to `movedTo` (or could
    /// not be moved: `moveError`). The daemon starts empty.
    case discarded(StateStoreError, movedTo: String?, moveError: StateStoreError?)
    /// The file could not be read (permissions, I/O error); it was left in place. The daemon
    /// starts empty.
    case unreadable(StateStoreError)
}

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
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        let stamp = String(
            format: "%04d%02d%02dT%02d%02d%02dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
            Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
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

    // MARK: Encoding

    /// The complete file content for `snapshot`: header and payload.
    ///
    /// - Throws: ``StateStoreError/Code/malformed`` when the snapshot's arrays disagree.
    public static func encode(_ snapshot: DaemonStateSnapshot, path: String = "<memory>") throws(StateStoreError) -> [UInt8] {
        let problems = snapshot.inconsistencies
        guard problems.isEmpty else {
            throw StateStoreError(.malformed, path: path, "inconsistent snapshot: " + problems.joined(separator: "; "))
        }
        var payload = PayloadWriter()
        payload.append(snapshot.createdAt)
        payload.append(snapshot.modelVersion)
        payload.append(Int64(snapshot.dimension))
        payload.append(array: snapshot.windowIDs)
        payload.append(array: snapshot.windowTimestamps)
        payload.append(array: snapshot.windowValues)
        payload.append(array: snapshot.windowSlots)
        if let forest = snapshot.forest {
            payload.append(UInt8(1))
            for scalar in [forest.treeCount, forest.height, forest.sampleSize, forest.nodesPerTree, forest.oldestTree] {
                payload.append(Int64(scalar))
            }
            payload.append(forest.seed)
            payload.append(array: forest.splitDimensions)
            payload.append(array: forest.splitValues)
            payload.append(array: forest.counts)
            payload.append(array: forest.logVolumes)
            payload.append(array: forest.leaves)
            payload.append(array: forest.generatorState)
        } else {
            payload.append(UInt8(0))
        }
        payload.append(snapshot.nextClusterID)
        payload.append(array: snapshot.trackedPointIDs)
        payload.append(array: snapshot.trackedClusterIDs)
        payload.append(UInt64(snapshot.sequenceNumbers.count))
        for (topic, sequence) in snapshot.sequenceNumbers.sorted(by: { $0.key < $1.key }) {
            payload.append(UInt32(topic.utf8.count))
            payload.bytes.append(contentsOf: topic.utf8)
            payload.append(sequence)
        }

        var file = PayloadWriter()
        file.bytes.reserveCapacity(headerLength + payload.bytes.count)
        file.bytes.append(contentsOf: magic)
        file.append(formatVersion)
        file.append(UInt32(headerLength))
        file.append(UInt64(payload.bytes.count))
        file.append(payload.bytes.withUnsafeBytes { CRC32C.checksum($0) })
        file.append(file.bytes.withUnsafeBytes { CRC32C.checksum($0) })
        file.bytes.append(contentsOf: payload.bytes)
        return file.bytes
    }

    /// Verifies and decodes a complete state file.
    ///
    /// - Throws: ``StateStoreError`` with the first check that failed, in file order: length,
    ///   magic, version, header checksum, payload length, payload checksum, payload structure.
    public static func decode(_ bytes: [UInt8], path: String = "<memory>") throws(StateStoreError) -> DaemonStateSnapshot {
        guard bytes.count >= 16 else {
            throw StateStoreError(.truncated, path: path, "\(bytes.count) bytes is shorter than the header")
        }
        guard bytes.starts(with: magic) else {
            throw StateStoreError(.badMagic, path: path, "not an mmcd state file (bad magic)")
        }
        var header = PayloadReader(bytes: bytes, path: path, offset: magic.count)
        let version: UInt32 = try header.scalar()
        guard version == formatVersion else {
            throw StateStoreError(
                .unsupportedVersion, path: path, "format version \(version); this build reads version \(formatVersion)")
        }
        let declaredHeaderLength: UInt32 = try header.scalar()
        guard declaredHeaderLength == headerLength else {
            throw StateStoreError(.malformed, path: path, "header length \(declaredHeaderLength), expected \(headerLength)")
        }
        guard bytes.count >= headerLength else {
            throw StateStoreError(.truncated, path: path, "\(bytes.count) bytes is shorter than the header")
        }
        let payloadLength: UInt64 = try header.scalar()
        let payloadChecksum: UInt32 = try header.scalar()
        let headerChecksum: UInt32 = try header.scalar()
        let computedHeaderChecksum = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[..<28])) }
        guard headerChecksum == computedHeaderChecksum else {
            throw StateStoreError(.checksumMismatch, path: path, "header checksum mismatch")
        }
        let available = UInt64(bytes.count - headerLength)
        guard payloadLength <= available else {
            throw StateStoreError(
                .truncated, path: path, "payload of \(payloadLength) bytes, but only \(available) bytes follow the header")
        }
        guard payloadLength == available else {
            throw StateStoreError(.malformed, path: path, "\(available - payloadLength) bytes follow the payload")
        }
        let computedPayloadChecksum = bytes.withUnsafeBytes {
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[headerLength...]))
        }
        guard payloadChecksum == computedPayloadChecksum else {
            throw StateStoreError(.checksumMismatch, path: path, "payload checksum mismatch")
        }

        var reader = PayloadReader(bytes: bytes, path: path, offset: headerLength)
        let createdAt: Double = try reader.scalar()
        let modelVersion: UInt64 = try reader.scalar()
        let dimension = try reader.int()
        let windowIDs: [UInt64] = try reader.array()
        let windowTimestamps: [Double] = try reader.array()
        let windowValues: [Double] = try reader.array()
        let windowSlots: [Int32] = try reader.array()
        var forest: DaemonStateSnapshot.Forest?
        let forestFlag: UInt8 = try reader.scalar()
        switch forestFlag {
        case 0: forest = nil
        case 1:
            let treeCount = try reader.int()
            let height = try reader.int()
            let sampleSize = try reader.int()
            let nodesPerTree = try reader.int()
            let oldestTree = try reader.int()
            let seed: UInt64 = try reader.scalar()
            forest = DaemonStateSnapshot.Forest(
                treeCount: treeCount, height: height, sampleSize: sampleSize, seed: seed, nodesPerTree: nodesPerTree,
                oldestTree: oldestTree, splitDimensions: try reader.array(), splitValues: try reader.array(),
                counts: try reader.array(), logVolumes: try reader.array(), leaves: try reader.array(),
                generatorState: try reader.array())
        default:
            throw StateStoreError(.malformed, path: path, "forest presence byte \(forestFlag)")
        }
        let nextClusterID: UInt64 = try reader.scalar()
        let trackedPointIDs: [UInt64] = try reader.array()
        let trackedClusterIDs: [UInt64] = try reader.array()
        let sequenceCount = try reader.count(elementSize: 12)
        var sequenceNumbers: [String: UInt64] = [:]
        for _ in 0..<sequenceCount {
            let topic = try reader.string()
            let sequence: UInt64 = try reader.scalar()
            sequenceNumbers[topic] = sequence
        }
        guard reader.offset == bytes.count else {
            throw StateStoreError(.malformed, path: path, "\(bytes.count - reader.offset) unread bytes after the snapshot")
        }
        let snapshot = DaemonStateSnapshot(
            createdAt: createdAt, modelVersion: modelVersion, dimension: dimension, windowIDs: windowIDs,
            windowTimestamps: windowTimestamps, windowValues: windowValues, windowSlots: windowSlots, forest: forest,
            nextClusterID: nextClusterID, trackedPointIDs: trackedPointIDs, trackedClusterIDs: trackedClusterIDs,
            sequenceNumbers: sequenceNumbers)
        let problems = snapshot.inconsistencies
        guard problems.isEmpty else {
            throw StateStoreError(.malformed, path: path, "inconsistent snapshot: " + problems.joined(separator: "; "))
        }
        return snapshot
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

/// Appends little-endian scalars and length-prefixed arrays.
private struct PayloadWriter {
    var bytes: [UInt8] = []

    mutating func append<Value: BitwiseCopyable>(_ value: Value) {
        withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) }
    }

    mutating func append<Element: BitwiseCopyable>(array: [Element]) {
        append(UInt64(array.count))
        array.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }
}

/// Reads what ``PayloadWriter`` wrote, checking every length against the bytes that remain.
private struct PayloadReader {
    let bytes: [UInt8]
    let path: String
    var offset: Int

    mutating func scalar<Value: BitwiseCopyable>() throws(StateStoreError) -> Value {
        let size = MemoryLayout<Value>.size
        guard bytes.count - offset >= size else {
            throw StateStoreError(.malformed, path: path, "payload ends inside a field at byte \(offset)")
        }
        defer { offset += size }
        return bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: Value.self) }
    }

    mutating func int() throws(StateStoreError) -> Int {
        Int(try scalar() as Int64)
    }

    /// Reads an element count and checks that `count * elementSize` bytes remain.
    mutating func count(elementSize: Int) throws(StateStoreError) -> Int {
        let count: UInt64 = try scalar()
        let remaining = UInt64(bytes.count - offset)
        guard count <= remaining / UInt64(elementSize) else {
            throw StateStoreError(
                .malformed, path: path, "an array of \(count) elements at byte \(offset) exceeds the payload")
        }
        return Int(count)
    }

    mutating func array<Element: BitwiseCopyable>() throws(StateStoreError) -> [Element] {
        let size = MemoryLayout<Element>.stride
        let count = try count(elementSize: size)
        let start = offset
        offset += count * size
        return [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(
                    from: UnsafeRawBufferPointer(rebasing: source[start..<start + count * size]))
            }
            initialized = count
        }
    }

    mutating func string() throws(StateStoreError) -> String {
        let length = Int(try scalar() as UInt32)
        guard bytes.count - offset >= length else {
            throw StateStoreError(.malformed, path: path, "a string of \(length) bytes at byte \(offset) exceeds the payload")
        }
        defer { offset += length }
        guard let text = String(validating: bytes[offset..<offset + length], as: UTF8.self) else {
            throw StateStoreError(.malformed, path: path, "a topic at byte \(offset) is not UTF-8")
        }
        return text
    }
}

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), slicing-by-8.
enum CRC32C {
    /// Eight 256-entry tables, one after another.
    static let table: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 8 * 256)
        for byte in 0..<256 {
            var crc = UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
            table[byte] = crc
        }
        for byte in 0..<256 {
            for slice in 1..<8 {
                let previous = table[(slice - 1) * 256 + byte]
                table[slice * 256 + byte] = (previous >> 8) ^ table[Int(previous & 0xFF)]
            }
        }
        return table
    }()

    /// The CRC-32C of `bytes` (`"123456789"` gives 0xE3069283).
    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc = ~UInt32(0)
        var index = 0
        table.withUnsafeBufferPointer { table in
            while index + 8 <= bytes.count {
                let word = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self).littleEndian
                let low = UInt32(truncatingIfNeeded: word) ^ crc
                let high = UInt32(truncatingIfNeeded: word >> 32)
                crc = table[7 * 256 + Int(low & 0xFF)] ^ table[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ table[5 * 256 + Int((low >> 16) & 0xFF)] ^ table[4 * 256 + Int(low >> 24)]
                    ^ table[3 * 256 + Int(high & 0xFF)] ^ table[2 * 256 + Int((high >> 8) & 0xFF)]
                    ^ table[256 + Int((high >> 16) & 0xFF)] ^ table[Int(high >> 24)]
                index += 8
            }
            while index < bytes.count {
                crc = table[Int((crc ^ UInt32(bytes[index])) & 0xFF)] ^ (crc >> 8)
                index += 1
            }
        }
        return ~crc
    }
}
