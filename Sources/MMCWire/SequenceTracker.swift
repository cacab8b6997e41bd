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
