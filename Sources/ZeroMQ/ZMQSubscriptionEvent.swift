/// A subscribe or unsubscribe message as `XPUB` sockets receive and `XSUB` sockets send it:
/// one frame, a byte 1 (subscribe) or 0 (unsubscribe), then the topic prefix.
///
/// An `XPUB` publisher reads these to answer late joiners with the latest snapshot (the
/// "last value cache"; set ``ZMQSocketOption/xpubVerbose(_:)`` so every subscriber is seen);
/// an `XSUB` subscriber sends ``message`` to change its subscriptions while it runs.
///
/// ```swift
/// if let event = ZMQSubscriptionEvent(message), event.kind == .subscribe {
///     _ = try loop.send(snapshot(for: event.topic))
/// }
/// ```
public struct ZMQSubscriptionEvent: Sendable, Hashable {
    /// Whether a subscription starts or ends.
    public enum Kind: Sendable, Hashable {
        /// A peer subscribed to ``ZMQSubscriptionEvent/topic``.
        case subscribe
        /// A peer dropped its subscription to ``ZMQSubscriptionEvent/topic``.
        case unsubscribe
    }

    /// Subscribe or unsubscribe.
    public let kind: Kind
    /// The topic prefix; empty means every topic.
    public let topic: [UInt8]

    /// Makes an event to send on an `XSUB` socket.
    public init(kind: Kind, topic: [UInt8]) {
        self.kind = kind
        self.topic = topic
    }

    /// Reads an `XPUB` subscription message; `nil` when `message` is not one (more than one
    /// frame, or a first byte other than 0 or 1).
    public init?(_ message: ZMQMessage) {
        guard message.frames.count == 1, let flag = message.frames[0].first, flag <= 1 else {
            return nil
        }
        self.kind = flag == 1 ? .subscribe : .unsubscribe
        self.topic = Array(message.frames[0].dropFirst())
    }

    /// The one-frame message that carries this event.
    public var message: ZMQMessage {
        ZMQMessage([[kind == .subscribe ? 1 : 0] + topic])
    }
}
