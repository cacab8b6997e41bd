import Foundation
// `stat` and `timespec` come from Glibc or, depending on which module the compiler loads first,
// from CDispatch (through Foundation); MemberImportVisibility needs the one it picked imported.
import CDispatch
import Glibc
@testable import MMCDaemon
@testable import MMCState
import MMCTestSupport
import Testing

@Suite(.tags(.unit)) struct StateStoreTests {
    /// A deterministic snapshot of `points` points (values from a fixed linear congruence).
    static func snapshot(points: Int, dimension: Int = 3, forest: Bool = true) -> DaemonStateSnapshot {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state >> 11) / Double(1 << 53)
        }
        let ids = (0..<points).map { UInt64($0) + 1_000 }
        let trees = 4
        let nodes = 15
        return DaemonStateSnapshot(
            createdAt: 1_750_000_000.25, modelVersion: 17, dimension: dimension, windowIDs: ids,
            windowTimestamps: ids.map { Double($0) * 0.5 }, windowValues: (0..<points * dimension).map { _ in next() },
            windowSlots: (0..<points).map { Int32($0) },
            forest: forest
                ? DaemonStateSnapshot.Forest(
                    treeCount: trees, height: 3, sampleSize: 8, seed: 42, nodesPerTree: nodes, oldestTree: 1,
                    splitDimensions: (0..<trees * nodes).map { Int32($0 % dimension) },
                    splitValues: (0..<trees * nodes).map { _ in next() },
                    counts: (0..<trees * nodes).map { Int32($0) }, logVolumes: (0..<trees * nodes).map { _ in -next() },
                    leaves: (0..<points * trees).map { Int32(7 + $0 % 8) }, generatorState: [1, 2, 3, 4])
                : nil,
            nextClusterID: 12, trackedPointIDs: Array(ids.prefix(5)),
            trackedClusterIDs: [0, 3, DaemonStateSnapshot.noCluster, 3, 11].prefix(min(5, points)).map { $0 },
            sequenceNumbers: ["mmcd": 99, "mmcd.provisional": 4_000, "é": 1])
    }

    /// The code of the `StateStoreError` that `body` throws, `nil` when it throws nothing.
    static func code(_ body: () throws -> Void) -> StateStoreError.Code? {
        do {
            try body()
            return nil
        } catch let error as StateStoreError {
            return error.code
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    /// Rewrites the header checksums after a test edited the payload, so only the payload is wrong.
    static func resealed(_ bytes: [UInt8]) -> [UInt8] {
        var bytes = bytes
        let payloadLength = UInt64(bytes.count - 32)
        withUnsafeBytes(of: payloadLength.littleEndian) { bytes.replaceSubrange(16..<24, with: $0) }
        let payload = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[32...])) }
        withUnsafeBytes(of: payload.littleEndian) { bytes.replaceSubrange(24..<28, with: $0) }
        let header = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[..<28])) }
        withUnsafeBytes(of: header.littleEndian) { bytes.replaceSubrange(28..<32, with: $0) }
        return bytes
    }

    @Test func crc32cKnownAnswer() {
        #expect(Array("123456789".utf8).withUnsafeBytes { CRC32C.checksum($0) } == 0xE306_9283)
        #expect([UInt8]().withUnsafeBytes { CRC32C.checksum($0) } == 0)
        let zeros = [UInt8](repeating: 0, count: 32)
        #expect(zeros.withUnsafeBytes { CRC32C.checksum($0) } == 0x8A91_36AA)
    }

    @Test func roundTripInMemory() throws {
        for snapshot in [Self.snapshot(points: 0, forest: false), Self.snapshot(points: 3), Self.snapshot(points: 257)] {
            let bytes = try StateStore.encode(snapshot)
            #expect(Array(bytes.prefix(8)) == Array("MMCDSTAT".utf8))
            #expect(try StateStore.decode(bytes) == snapshot)
        }
    }

    @Test func roundTripOnDiskWith50000Points() throws {
        let directory = try TemporaryDirectory()
        let store = StateStore(directory: directory.path + "/nested/state")
        #expect(try store.load() == nil)
        let snapshot = Self.snapshot(points: 50_000, dimension: 4)
        try store.save(snapshot)
        #expect(try store.load() == snapshot)
        var status = stat()
        #expect(stat(store.path, &status) == 0)
        #expect(status.st_mode & 0o777 == 0o600)
        #expect(stat(store.directory, &status) == 0)
        #expect(status.st_mode & 0o777 == 0o700)
        #expect(!FileManager.default.fileExists(atPath: store.temporaryPath))
    }

    @Test func truncatedFiles() throws {
        let bytes = try StateStore.encode(Self.snapshot(points: 10))
        #expect(Self.code { _ = try StateStore.decode(Array(bytes.prefix(10))) } == .truncated)
        #expect(Self.code { _ = try StateStore.decode(Array(bytes.prefix(20))) } == .truncated)
        #expect(Self.code { _ = try StateStore.decode(Array(bytes.dropLast(1))) } == .truncated)
        #expect(Self.code { _ = try StateStore.decode(Array(bytes.prefix(32))) } == .truncated)
    }

    @Test func flippedBytes() throws {
        let bytes = try StateStore.encode(Self.snapshot(points: 10))
        for index in [40, bytes.count / 2, bytes.count - 1, 17, 25] {
            var damaged = bytes
            damaged[index] ^= 0x04
            #expect(Self.code { _ = try StateStore.decode(damaged) } == .checksumMismatch, "byte \(index)")
        }
    }

    @Test func wrongVersionAndMagic() throws {
        let bytes = try StateStore.encode(Self.snapshot(points: 10))
        var version = bytes
        version[8] = 2
        #expect(Self.code { _ = try StateStore.decode(version) } == .unsupportedVersion)
        var magic = bytes
        magic[0] = UInt8(ascii: "X")
        #expect(Self.code { _ = try StateStore.decode(magic) } == .badMagic)
        #expect(Self.code { _ = try StateStore.decode(Array("{\"not\": \"a state file\"}".utf8)) } == .badMagic)
    }

    @Test func malformedPayloadsWithValidChecksums() throws {
        let bytes = try StateStore.encode(Self.snapshot(points: 10))
        #expect(Self.code { _ = try StateStore.decode(Self.resealed(bytes + [0])) } == .malformed)
        var huge = bytes
        // The window id count follows createdAt, modelVersion and dimension (24 bytes).
        withUnsafeBytes(of: UInt64(1 << 60).littleEndian) { huge.replaceSubrange(56..<64, with: $0) }
        #expect(Self.code { _ = try StateStore.decode(Self.resealed(huge)) } == .malformed)
        var dimension = bytes
        withUnsafeBytes(of: Int64(5).littleEndian) { dimension.replaceSubrange(48..<56, with: $0) }
        #expect(Self.code { _ = try StateStore.decode(Self.resealed(dimension)) } == .malformed)
        var trailing = bytes
        trailing.append(contentsOf: [1, 2, 3])
        #expect(Self.code { _ = try StateStore.decode(trailing) } == .malformed)
    }

    @Test func inconsistentSnapshotsAreNotWritten() throws {
        var snapshot = Self.snapshot(points: 10)
        snapshot.windowValues.removeLast()
        snapshot.forest?.counts.removeLast()
        #expect(
            snapshot.inconsistencies == [
                "29 window values for 10 points of dimension 3", "forest counts has 59 entries for 4 trees of 15 nodes",
            ])
        #expect(Self.code { _ = try StateStore.encode(snapshot) } == .malformed)
    }

    @Test func aFailingWriteLeavesTheOldFileIntact() throws {
        let directory = try TemporaryDirectory()
        let store = StateStore(directory: directory.path)
        let old = Self.snapshot(points: 20)
        try store.save(old)

        var inconsistent = Self.snapshot(points: 30)
        inconsistent.windowSlots = []
        #expect(Self.code { try store.save(inconsistent) } == .malformed)
        #expect(try store.load() == old)

        // The temporary file cannot be created: a directory is in its place.
        try FileManager.default.createDirectory(atPath: store.temporaryPath, withIntermediateDirectories: false)
        do {
            try store.save(Self.snapshot(points: 40))
            Issue.record("expected the save to fail")
        } catch {
            #expect(error.code == .io)
            #expect(error.errno == EISDIR)
            #expect(error.path == store.temporaryPath)
        }
        #expect(try store.load() == old)
        try FileManager.default.removeItem(atPath: store.temporaryPath)
        let new = Self.snapshot(points: 40)
        try store.save(new)
        #expect(try store.load() == new)
    }

    @Test func unwritableDirectory() throws {
        let directory = try TemporaryDirectory()
        let file = directory.path + "/not-a-directory"
        #expect(FileManager.default.createFile(atPath: file, contents: Data([1])))
        let store = StateStore(directory: file + "/state")
        do {
            try store.save(Self.snapshot(points: 5))
            Issue.record("expected the save to fail")
        } catch {
            #expect(error.code == .io)
            #expect(error.errno == ENOTDIR)
        }
    }

    @Test(.enabled(if: geteuid() != 0, "root ignores directory permissions"))
    func readOnlyDirectory() throws {
        let directory = try TemporaryDirectory()
        chmod(directory.path, 0o500)
        defer { chmod(directory.path, 0o700) }
        do {
            try StateStore(directory: directory.path).save(Self.snapshot(points: 5))
            Issue.record("expected the save to fail")
        } catch {
            #expect(error.code == .io)
            #expect(error.errno == EACCES)
        }
    }

    @Test func restoreMovesBadFilesAside() throws {
        let directory = try TemporaryDirectory()
        let store = StateStore(directory: directory.path)
        guard case .empty = store.restore() else { Issue.record("expected .empty"); return }

        let good = Self.snapshot(points: 10)
        try store.save(good)
        guard case .restored(let restored) = store.restore() else { Issue.record("expected .restored"); return }
        #expect(restored == good)

        var bytes = try StateStore.encode(good)
        bytes[bytes.count - 3] ^= 0xFF
        #expect(FileManager.default.createFile(atPath: store.path, contents: Data(bytes)))
        guard case .discarded(let error, let movedTo?, nil) = store.restore() else {
            Issue.record("expected .discarded with a new path")
            return
        }
        #expect(error.code == .checksumMismatch)
        #expect(movedTo.hasPrefix(store.path + ".corrupt-"))
        // `<file>.corrupt-yyyyMMdd'T'HHmmss'Z'`, UTC.
        #expect(movedTo.dropFirst((store.path + ".corrupt-").count).wholeMatch(of: /[0-9]{8}T[0-9]{6}Z/) != nil, "\(movedTo)")
        #expect(FileManager.default.contents(atPath: movedTo) == Data(bytes))
        #expect(!FileManager.default.fileExists(atPath: store.path))

        try store.save(good)
        let outcome = store.restore { $0.dimension == 2 ? nil : "dimension \($0.dimension), configured 2" }
        guard case .discarded(let rejection, let second?, nil) = outcome else {
            Issue.record("expected .discarded")
            return
        }
        #expect(rejection.code == .incompatible)
        #expect(rejection.message == "dimension 3, configured 2")
        #expect(second != movedTo)
        guard case .empty = store.restore() else { Issue.record("expected .empty"); return }
    }

    @Test func unreadableFilesAreLeftInPlace() throws {
        let directory = try TemporaryDirectory()
        let store = StateStore(directory: directory.path)
        try FileManager.default.createDirectory(atPath: store.path, withIntermediateDirectories: false)
        guard case .unreadable(let error) = store.restore() else { Issue.record("expected .unreadable"); return }
        #expect(error.code == .io)
        #expect(error.errno == EISDIR)
        #expect(FileManager.default.fileExists(atPath: store.path))
    }
}
