import CZeroMQ

/// One ZeroMQ message: one or more frames that travel together.
///
/// libzmq delivers a multipart message atomically: a receiver gets all of its frames or none
/// of them, and a high-water mark drops whole messages. Conventionally the first frame of a
/// published message is its topic, because subscriptions match it by prefix.
///
/// ```swift
/// let message = ZMQMessage([Array("sensor/7".utf8), [0x01, 0x02]])
/// ```
public struct ZMQMessage: Sendable, Hashable {
    /// The frames, in order; never empty.
    public let frames: [[UInt8]]

    /// Makes a message from its frames.
    ///
    /// A message has at least one frame (which may itself be empty); passing none is a
    /// programmer error and traps.
    public init(_ frames: [[UInt8]]) {
        precondition(!frames.isEmpty, "A ZeroMQ message has at least one frame")
        self.frames = frames
    }
}

/// Flags for ``ZMQSocket/send(_:flags:)`` and ``ZMQSocket/receive(flags:)``.
public struct ZMQFlags: OptionSet, Sendable, Hashable {
    /// The libzmq flag bits.
    public let rawValue: Int32

    /// Makes flags from libzmq flag bits.
    public init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    /// Return at once instead of blocking (`ZMQ_DONTWAIT`): a send that would block and a
    /// receive that finds nothing report that instead of waiting.
    public static let dontWait = ZMQFlags(rawValue: ZMQ_DONTWAIT)
}

/// The ZeroMQ socket patterns this module supports.
public enum ZMQSocketType: Sendable, Hashable, CaseIterable {
    /// Publisher: sends to every matching subscriber; drops for a peer at its high-water mark.
    case pub
    /// Subscriber: receives published messages whose first frame starts with a subscribed
    /// prefix.
    case sub
    /// Publisher that also receives its subscribers' subscribe and unsubscribe messages
    /// (see ``ZMQSubscriptionEvent``).
    case xpub
    /// Subscriber that subscribes by sending subscription messages instead of setting options.
    case xsub
    /// Pipeline sender: round-robins to pullers and blocks (never drops) at the high-water mark.
    case push
    /// Pipeline receiver: fair-queues from pushers.
    case pull
    /// Request side of strict request/reply.
    case req
    /// Reply side of strict request/reply.
    case rep
    /// Asynchronous request side.
    case dealer
    /// Asynchronous reply side that prefixes each message with its peer's routing id.
    case router
    /// Exclusive pair: one peer, both directions (a receive loop reads its socket monitor on one).
    case pair

    /// The libzmq constant (`ZMQ_PUB`, ...).
    var rawValue: Int32 {
        switch self {
        case .pub: ZMQ_PUB
        case .sub: ZMQ_SUB
        case .xpub: ZMQ_XPUB
        case .xsub: ZMQ_XSUB
        case .push: ZMQ_PUSH
        case .pull: ZMQ_PULL
        case .req: ZMQ_REQ
        case .rep: ZMQ_REP
        case .dealer: ZMQ_DEALER
        case .router: ZMQ_ROUTER
        case .pair: ZMQ_PAIR
        }
    }
}
