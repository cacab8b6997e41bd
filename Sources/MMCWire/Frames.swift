/// The ZeroMQ framing around payloads: topic frames and sequence frames.
///
/// Points travel as two frames, `[topic][payload]`; updates as three,
/// `[topic][body][sequence]`, where the sequence frame is the topic's message counter as a
/// uint64 little-endian (8 bytes). These helpers check the frames; the sockets live elsewhere.
public enum Frames {
    /// The 8-byte little-endian sequence frame.
    public static func sequenceFrame(_ sequence: UInt64) -> [UInt8] {
        withUnsafeBytes(of: sequence.littleEndian) { Array($0) }
    }

    /// Decodes a sequence frame.
    ///
    /// - Throws: `WireError` with code `invalidFrame` unless the frame is exactly 8 bytes.
    public static func decodeSequence(_ frame: some Collection<UInt8>) throws(WireError) -> UInt64 {
        guard frame.count == 8 else {
            throw WireError(.invalidFrame, "sequence frame must be 8 bytes, got \(frame.count)")
        }
        return frame.reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Decodes a topic frame: non-empty UTF-8 of at most `limits.maxTopicBytes` bytes.
    ///
    /// - Throws: `WireError` with code `invalidFrame` (empty), `limitExceeded` or `invalidUTF8`.
    public static func decodeTopic(_ frame: some Collection<UInt8>, limits: DecodingLimits = .default) throws(WireError) -> String {
        guard !frame.isEmpty else { throw WireError(.invalidFrame, "topic frame is empty") }
        guard frame.count <= limits.maxTopicBytes else {
            throw WireError(.limitExceeded, "topic of \(frame.count) bytes exceeds the limit of \(limits.maxTopicBytes) bytes")
        }
        guard let topic = String(validating: frame, as: UTF8.self) else {
            throw WireError(.invalidUTF8, "topic frame is not valid UTF-8")
        }
        return topic
    }

    /// Checks the number of frames of a multipart message.
    ///
    /// - Throws: `WireError` with code `invalidFrame` naming both counts.
    public static func checkCount(_ count: Int, expected: Int, what: String) throws(WireError) {
        guard count == expected else {
            throw WireError(.invalidFrame, "\(what) message needs \(expected) frames, got \(count)")
        }
    }
}

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

/// Tells a subscriber, per topic, whether a sequence number continues the stream.
///
/// The publisher numbers the messages of each topic 0, 1, 2, …. A message that repeats the last
/// number is a re-sent snapshot for late joiners (the same state, safe to drop when in sync); a
/// smaller number means the publisher restarted.
///
/// ```swift
/// var tracker = SequenceTracker()
/// tracker.observe(topic: "clusters.site1", sequence: 7)   // .first
/// tracker.observe(topic: "clusters.site1", sequence: 9)   // .gap(missed: 1)
/// ```
public struct SequenceTracker: Sendable {
    /// How a sequence number relates to the previous one of its topic.
    public enum Observation: Sendable, Hashable {
        /// The first message seen on the topic.
        case first
        /// Exactly one more than the previous.
        case next
        /// `missed` messages were lost before this one.
        case gap(missed: UInt64)
        /// The same number as the previous message (a re-sent snapshot).
        case repeated
        /// A smaller number than the previous: the publisher restarted.
        case restarted
    }

    private var last: [String: UInt64] = [:]

    /// Creates a tracker that has seen nothing.
    public init() {}

    /// Records `sequence` for `topic` and says how it relates to the previous one.
    public mutating func observe(topic: String, sequence: UInt64) -> Observation {
        defer { last[topic] = sequence }
        guard let previous = last[topic] else { return .first }
        if sequence == previous { return .repeated }
        if sequence < previous { return .restarted }
        return sequence == previous &+ 1 ? .next : .gap(missed: sequence - previous - 1)
    }
}
