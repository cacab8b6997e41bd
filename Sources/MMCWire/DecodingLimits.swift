/// Upper bounds that every decoder checks before it allocates.
///
/// A daemon reads from the network, so a header that claims four billion points or a JSON
/// document nested ten thousand levels deep must be refused cheaply. Every decoder takes a
/// `DecodingLimits`; counts and sizes read from a binary header are compared with these
/// bounds before any array is allocated, and JSON arrays are refused as soon as they grow past
/// them. The defaults suit a daemon with a window of up to a few million points.
///
/// ```swift
/// var limits = DecodingLimits.default
/// limits.maxPointCount = 10_000
/// let batch = try PointBatch.decode(payload, expectedDimension: 2, limits: limits)
/// ```
public struct DecodingLimits: Sendable, Hashable {
    /// Largest message (one frame) in bytes. Default 64 MiB.
    public var maxMessageBytes: Int
    /// Most points in one batch or classify query. Default 1,000,000.
    public var maxPointCount: Int
    /// Largest dimension of a point, centroid or box. Default 1,024.
    public var maxDimension: Int
    /// Most clusters, and most lifecycle events, in one update. Default 65,536.
    public var maxClusterCount: Int
    /// Most point ids in one assignment list (snapshot, diff or provisional). Default 10,000,000.
    public var maxAssignmentCount: Int
    /// Longest topic frame in bytes. Default 255.
    public var maxTopicBytes: Int
    /// Deepest JSON nesting of objects and arrays, including unknown fields that are skipped.
    /// Default 32.
    public var maxNestingDepth: Int

    /// The documented defaults.
    public static let `default` = DecodingLimits()

    /// Creates limits; every argument defaults to the documented default.
    public init(
        maxMessageBytes: Int = 64 << 20,
        maxPointCount: Int = 1_000_000,
        maxDimension: Int = 1_024,
        maxClusterCount: Int = 65_536,
        maxAssignmentCount: Int = 10_000_000,
        maxTopicBytes: Int = 255,
        maxNestingDepth: Int = 32
    ) {
        self.maxMessageBytes = maxMessageBytes
        self.maxPointCount = maxPointCount
        self.maxDimension = maxDimension
        self.maxClusterCount = maxClusterCount
        self.maxAssignmentCount = maxAssignmentCount
        self.maxTopicBytes = maxTopicBytes
        self.maxNestingDepth = maxNestingDepth
    }

    /// Throws ``WireError/Code/limitExceeded`` when a message is larger than ``maxMessageBytes``.
    func checkMessageSize(_ count: Int) throws(WireError) {
        if count > maxMessageBytes {
            throw WireError(.limitExceeded, "message of \(count) bytes exceeds the limit of \(maxMessageBytes) bytes")
        }
    }
}
