/// An inbound points message: `[topic][payload]`.
public struct PointMessage: Sendable, Hashable {
    /// The sensor group, e.g. `points.site1`.
    public let topic: String
    /// The decoded points.
    public let batch: PointBatch

    /// Creates a message.
    public init(topic: String, batch: PointBatch) {
        self.topic = topic
        self.batch = batch
    }

    /// Decodes the two frames of a points message.
    ///
    /// - Throws: `WireError` from ``Frames`` or ``PointBatch/decode(_:expectedDimension:limits:)``.
    public static func decode(
        frames: [some Collection<UInt8>], expectedDimension: Int? = nil, limits: DecodingLimits = .default
    ) throws(WireError) -> PointMessage {
        try Frames.checkCount(frames.count, expected: 2, what: "a points")
        let topic = try Frames.decodeTopic(frames[0], limits: limits)
        let batch = try PointBatch.decode(frames[1], expectedDimension: expectedDimension, limits: limits)
        return PointMessage(topic: topic, batch: batch)
    }
}
