/// A batch of points of one fixed dimension, stored as flat parallel arrays.
///
/// Point `i` has id `ids[i]`, timestamp `timestamps[i]` (seconds, float64) and the vector
/// `values[i * dimension ..< (i + 1) * dimension]` (row-major). The arrays are the decoded form
/// of every inbound payload, JSON or binary, so the daemon can append them to its window without
/// touching individual points. The initializer validates, so every `PointBatch` that exists is
/// non-empty, consistent and finite, and encodes and decodes back to an equal value.
///
/// ```swift
/// let batch = try PointBatch(dimension: 2, ids: [17, 18], timestamps: [1732600000.25, 1732600000.5],
///                            values: [0.1, 2.5, 0.2, 2.4])
/// let payload = batch.encodedBinary()            // 16-byte header + 64 bytes
/// let same = try PointBatch.decode(payload, expectedDimension: 2)
/// ```
public struct PointBatch: Sendable, Hashable {
    /// The number of coordinates of every point (at least 1).
    public let dimension: Int
    /// Point ids, one per point.
    public let ids: [UInt64]
    /// Timestamps in seconds (float64, finite), one per point.
    public let timestamps: [Double]
    /// Coordinates, row-major: `count * dimension` finite values.
    public let values: [Double]

    /// The number of points.
    public var count: Int { ids.count }

    /// Creates a batch after checking it.
    ///
    /// - Throws: `WireError` with code `invalidDimension` (dimension below 1), `emptyBatch`,
    ///   `countMismatch` (array lengths disagree), `nonFinite` (a NaN or infinite value or
    ///   timestamp) or `limitExceeded` (more than `UInt32.max` points or dimensions, which the
    ///   binary header cannot carry).
    /// - Complexity: O(`values.count`).
    public init(dimension: Int, ids: [UInt64], timestamps: [Double], values: [Double]) throws(WireError) {
        guard dimension >= 1 else {
            throw WireError(.invalidDimension, "dimension must be at least 1, got \(dimension)")
        }
        guard !ids.isEmpty else { throw WireError(.emptyBatch, "a batch needs at least one point") }
        guard dimension <= Int(UInt32.max), ids.count <= Int(UInt32.max) else {
            throw WireError(.limitExceeded, "a batch holds at most \(UInt32.max) points of at most \(UInt32.max) dimensions")
        }
        guard timestamps.count == ids.count else {
            throw WireError(.countMismatch, "\(ids.count) ids but \(timestamps.count) timestamps")
        }
        guard values.count == ids.count * dimension else {
            throw WireError(.countMismatch, "\(values.count) values for \(ids.count) points of dimension \(dimension), expected \(ids.count * dimension)")
        }
        try Self.checkFinite(values, dimension: dimension, what: "coordinate")
        try Self.checkFinite(timestamps, dimension: 1, what: "timestamp")
        self.dimension = dimension
        self.ids = ids
        self.timestamps = timestamps
        self.values = values
    }

    /// The coordinates of point `index`.
    public func vector(at index: Int) -> ArraySlice<Double> {
        values[index * dimension ..< (index + 1) * dimension]
    }

    /// Throws `nonFinite` naming the first NaN or infinity in `array`.
    private static func checkFinite(_ array: [Double], dimension: Int, what: String) throws(WireError) {
        // One branch-free pass for the common all-finite case, a second only to name the culprit.
        var allFinite = true
        for value in array { allFinite = allFinite && value.isFinite }
        if allFinite { return }
        let index = array.firstIndex { !$0.isFinite } ?? 0
        let kind = array[index].isNaN ? "NaN" : "infinite"
        let place = dimension == 1 ? what : "\(what) \(index % dimension)"
        throw WireError(.nonFinite, "point \(index / dimension): \(place) is \(kind)")
    }
}

extension PointBatch {
    /// The JSON layouts this codec writes (it reads the single-point form too).
    public enum JSONLayout: Sendable, Hashable, CaseIterable {
        /// `{"points":[{"id":17,"t":1732600000.25,"v":[0.1,2.5]},…]}`
        case rows
        /// `{"columns":{"dim":2,"id":[…],"t":[…],"v":[…]}}`, the faster JSON form.
        case columns
    }

    /// Decodes an inbound points payload, JSON or binary, telling them apart by the first byte:
    /// `M` (the binary magic `MMCB`) or `{` after optional JSON whitespace.
    ///
    /// - Parameters:
    ///   - payload: the payload frame (the frame after the topic).
    ///   - expectedDimension: when set, a batch of another dimension is refused.
    ///   - limits: bounds checked before allocation.
    /// - Throws: `WireError`; see `docs/protocol.md` for the codes each form can produce.
    /// - Complexity: O(payload bytes); binary batches are copied with one pass for finiteness.
    public static func decode(
        _ payload: some Collection<UInt8>,
        expectedDimension: Int? = nil,
        limits: DecodingLimits = .default
    ) throws(WireError) -> PointBatch {
        try withContiguousBytes(payload) { bytes throws(WireError) -> PointBatch in
            try decode(bytes: bytes, expectedDimension: expectedDimension, limits: limits)
        }
    }

    static func decode(
        bytes: UnsafeBufferPointer<UInt8>, expectedDimension: Int?, limits: DecodingLimits
    ) throws(WireError) -> PointBatch {
        try limits.checkMessageSize(bytes.count)
        guard let first = bytes.first else { throw WireError(.truncated, "empty payload") }
        if first == BinaryPointCodec.magic[0] {
            return try BinaryPointCodec.decode(bytes, expectedDimension: expectedDimension, limits: limits)
        }
        var index = 0
        while index < bytes.count, JSONReader.isWhitespace(bytes[index]) { index += 1 }
        guard index < bytes.count else { throw WireError(.truncated, "payload holds only whitespace") }
        guard bytes[index] == UInt8(ascii: "{") else {
            throw WireError(.badMagic, "payload starts with \(describeByte(bytes[index])), expected '{' (JSON) or \"MMCB\" (binary)")
        }
        return try JSONPointCodec.decode(bytes, expectedDimension: expectedDimension, limits: limits)
    }

    /// The number of points a payload says it holds, without decoding it: the binary header's
    /// count, or the length of the JSON `points` or `columns.id` array (1 for the one-point form).
    /// A receiver that drops a message unread uses it to count the points it lost.
    ///
    /// - Returns: at most `limits.maxPointCount`, the most a message may hold (a 16-byte header
    ///   declaring four billion points must not add four billion to a counter); `nil` when the
    ///   payload is malformed before the count can be told (a message the decoder would refuse).
    /// - Complexity: O(1) for binary; O(payload bytes) for JSON, skipping values unconverted.
    public static func declaredCount(_ payload: some Collection<UInt8>, limits: DecodingLimits = .default) -> Int? {
        uncappedDeclaredCount(payload, limits: limits).map { min($0, limits.maxPointCount) }
    }

    private static func uncappedDeclaredCount(_ payload: some Collection<UInt8>, limits: DecodingLimits) -> Int? {
        try? withContiguousBytes(payload) { bytes throws(WireError) -> Int in
            try limits.checkMessageSize(bytes.count)
            guard let first = bytes.first else { throw WireError(.truncated, "empty payload") }
            if first == BinaryPointCodec.magic[0] {
                guard bytes.count >= BinaryPointCodec.headerSize, bytes[0..<4].elementsEqual(BinaryPointCodec.magic)
                else { throw WireError(.badMagic, "not a binary point batch") }
                return Int(bytes.littleEndian(at: 12, as: UInt32.self))
            }
            return try JSONPointCodec.declaredCount(bytes, limits: limits)
        }
    }

    /// The binary form: 16-byte header, then values, timestamps and ids, all little-endian.
    ///
    /// - Complexity: O(`values.count`).
    public func encodedBinary() -> [UInt8] { BinaryPointCodec.encode(self) }

    /// The JSON form in the given layout, without whitespace.
    ///
    /// - Complexity: O(`values.count`).
    public func encodedJSON(layout: JSONLayout = .rows) -> [UInt8] { JSONPointCodec.encode(self, layout: layout) }
}
