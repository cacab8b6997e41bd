#if !_endian(little)
#error("The state file is little-endian and is written with bulk copies: a little-endian host is required.")
#endif

extension StateStore {
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
}
