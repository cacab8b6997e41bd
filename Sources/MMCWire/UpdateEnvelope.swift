/// An outbound updates message: `[topic][body][sequence]`.
public struct UpdateEnvelope: Sendable, Hashable {
    /// The updates topic, e.g. `clusters.site1`.
    public let topic: String
    /// The decoded body.
    public let message: UpdateMessage
    /// The topic's message counter.
    public let sequence: UInt64

    /// Creates an envelope.
    public init(topic: String, message: UpdateMessage, sequence: UInt64) {
        self.topic = topic
        self.message = message
        self.sequence = sequence
    }

    /// The three frames.
    public func encodedFrames() -> [[UInt8]] {
        [Array(topic.utf8), message.encoded(), Frames.sequenceFrame(sequence)]
    }

    /// Decodes the three frames of an updates message.
    ///
    /// - Throws: `WireError` from ``Frames`` or ``UpdateMessage/decode(_:limits:)``.
    public static func decode(frames: [some Collection<UInt8>], limits: DecodingLimits = .default) throws(WireError) -> UpdateEnvelope {
        try Frames.checkCount(frames.count, expected: 3, what: "an updates")
        let topic = try Frames.decodeTopic(frames[0], limits: limits)
        let sequence = try Frames.decodeSequence(frames[2])
        let message = try UpdateMessage.decode(frames[1], limits: limits)
        return UpdateEnvelope(topic: topic, message: message, sequence: sequence)
    }
}
