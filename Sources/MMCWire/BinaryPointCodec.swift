/// The compact binary point batch (protocol version 1).
///
/// ```
/// offset size field
///  0      4   magic "MMCB" (4D 4D 43 42)
///  4      1   version = 1
///  5      1   kind = 1 (point batch)
///  6      2   flags, uint16 LE: bits 0-7 must be understood (none defined), bits 8-15 may be ignored
///  8      4   dimension, uint32 LE, >= 1
/// 12      4   count, uint32 LE, >= 1
/// 16      8·count·dimension   values, float64 LE, row-major
///  …      8·count             timestamps, float64 LE
///  …      8·count             ids, uint64 LE
/// ```
/// The total length is exactly `16 + 8 · count · (dimension + 2)`; every array starts 8-byte
/// aligned relative to the start of the payload.
enum BinaryPointCodec {
    static let magic: [UInt8] = Array("MMCB".utf8)
    static let version: UInt8 = 1
    static let pointBatchKind: UInt8 = 1
    static let headerSize = 16
    /// Flag bits a receiver must understand; any of them set and unknown makes it refuse.
    static let criticalFlags: UInt16 = 0x00FF

    static func encode(_ batch: PointBatch) -> [UInt8] {
        let count = batch.count
        let total = headerSize + 8 * count * (batch.dimension + 2)
        return [UInt8](unsafeUninitializedCapacity: total) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            raw.copyBytes(from: magic)
            raw[4] = version
            raw[5] = pointBatchKind
            raw.storeBytes(of: UInt16(0).littleEndian, toByteOffset: 6, as: UInt16.self)
            raw.storeBytes(of: UInt32(batch.dimension).littleEndian, toByteOffset: 8, as: UInt32.self)
            raw.storeBytes(of: UInt32(count).littleEndian, toByteOffset: 12, as: UInt32.self)
            var offset = headerSize
            for value in batch.values {
                raw.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: offset, as: UInt64.self)
                offset += 8
            }
            for value in batch.timestamps {
                raw.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: offset, as: UInt64.self)
                offset += 8
            }
            for id in batch.ids {
                raw.storeBytes(of: id.littleEndian, toByteOffset: offset, as: UInt64.self)
                offset += 8
            }
            initialized = total
        }
    }

    /// Decodes a binary batch; every header field is checked before any array is allocated.
    static func decode(
        _ bytes: UnsafeBufferPointer<UInt8>, expectedDimension: Int?, limits: DecodingLimits
    ) throws(WireError) -> PointBatch {
        guard bytes.count >= headerSize else {
            throw WireError(.truncated, "binary header needs \(headerSize) bytes, got \(bytes.count)")
        }
        guard bytes[0] == magic[0], bytes[1] == magic[1], bytes[2] == magic[2], bytes[3] == magic[3] else {
            let found = bytes[0..<4].map(describeByte).joined(separator: " ")
            throw WireError(.badMagic, "binary magic must be \"MMCB\", got \(found)")
        }
        guard bytes[4] == version else {
            throw WireError(.unsupportedVersion, "binary version \(bytes[4]) is not supported (this decoder speaks \(version))")
        }
        guard bytes[5] == pointBatchKind else {
            throw WireError(.unknownKind, "binary kind \(bytes[5]) is unknown (1 = point batch)")
        }
        let flags = bytes.littleEndian(at: 6, as: UInt16.self)
        guard flags & criticalFlags == 0 else {
            throw WireError(.unsupportedFlags, "flags 0x\(String(flags, radix: 16)) set must-understand bits this decoder does not know")
        }
        let dimension = Int(bytes.littleEndian(at: 8, as: UInt32.self))
        let count = Int(bytes.littleEndian(at: 12, as: UInt32.self))
        guard dimension >= 1 else { throw WireError(.invalidDimension, "header: dimension is 0") }
        guard dimension <= limits.maxDimension else {
            throw WireError(.limitExceeded, "header: dimension \(dimension) exceeds the limit of \(limits.maxDimension)")
        }
        if let expectedDimension, dimension != expectedDimension {
            throw WireError(.dimensionMismatch, "header: dimension \(dimension), expected \(expectedDimension)")
        }
        guard count >= 1 else { throw WireError(.emptyBatch, "header: count is 0") }
        guard count <= limits.maxPointCount else {
            throw WireError(.limitExceeded, "header: count \(count) exceeds the limit of \(limits.maxPointCount) points")
        }
        // Limits may be raised far enough for the product to overflow: compute it checked.
        let (valueCount, overflow) = count.multipliedReportingOverflow(by: dimension)
        let expectedBytes = overflow || valueCount > (Int.max - headerSize) / 8 - 2 * count
            ? Int.max : headerSize + 8 * (valueCount + 2 * count)
        guard bytes.count == expectedBytes else {
            throw WireError(.countMismatch, "header announces \(count) points of dimension \(dimension) (\(expectedBytes) bytes), payload has \(bytes.count) bytes")
        }
        let values = readFloat64s(bytes, from: headerSize, count: valueCount)
        let timestamps = readFloat64s(bytes, from: headerSize + 8 * valueCount, count: count)
        let idOffset = headerSize + 8 * (valueCount + count)
        let ids = [UInt64](unsafeUninitializedCapacity: count) { buffer, initialized in
            let raw = UnsafeRawBufferPointer(bytes)
            for index in 0..<count {
                buffer[index] = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: idOffset + 8 * index, as: UInt64.self))
            }
            initialized = count
        }
        return try PointBatch(dimension: dimension, ids: ids, timestamps: timestamps, values: values)
    }

    /// Reads `count` little-endian float64 values starting at byte `start`.
    ///
    /// - Complexity: O(`count`); on little-endian hosts the loop compiles to a copy.
    private static func readFloat64s(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, count: Int) -> [Double] {
        [Double](unsafeUninitializedCapacity: count) { buffer, initialized in
            let raw = UnsafeRawBufferPointer(bytes)
            for index in 0..<count {
                let bits = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: start + 8 * index, as: UInt64.self))
                buffer[index] = Double(bitPattern: bits)
            }
            initialized = count
        }
    }
}
