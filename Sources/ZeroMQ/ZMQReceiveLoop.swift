import Dispatch
import FoundationEssentials
import Synchronization

/// Runs one socket on a dedicated thread and delivers what it receives as a bounded
/// `AsyncStream`.
///
/// The loop takes the socket over (the parameter is `sending`, so the caller cannot touch it
/// again); configure, bind and connect it first. The thread waits on the socket with
/// `zmq_poll` for at most the poll interval at a time, so it notices ``stop()`` promptly, and
/// it ends at once when the context is shut down (`ETERM`). When it ends it closes the socket
/// and finishes ``messages``; messages already buffered are still delivered, and messages
/// still queued in the socket are discarded with it. Releasing the loop object, or cancelling
/// the task that iterates ``messages``, stops it too.
///
/// The stream buffers at most `bufferSize` messages; `overflow` says what happens when it is
/// full:
/// - ``Overflow/dropNewest`` (the default) keeps reading and keeps the oldest: a message that
///   arrives while the buffer is full is dropped and counted in ``dropped``, so a slow
///   consumer costs counted data loss, never unbounded memory or a stalled socket. This suits
///   a `SUB` input, whose `PUB` peers drop anyway once its queue is full.
/// - ``Overflow/backPressure`` loses nothing: the thread receives a message only when the
///   buffer has room for it and otherwise leaves the socket alone (it still sends and still
///   notices ``stop()`` and context shutdown), so messages wait in libzmq's queues and, once
///   the high-water marks are reached, a `PUSH` or `DEALER` peer's send blocks. Use it for a
///   `PULL` input whose producers must not lose data; ``dropped`` stays 0.
///
/// Use a `SUB` or `PULL` socket for input, an `XPUB` for subscription events (then
/// ``send(_:)`` publishes on it, including the snapshot that answers a late subscriber), or a
/// `ROUTER` for requests (reply with ``send(_:)``, routing-id frame first). Strict `REQ`/`REP`
/// sockets cannot run in a loop, which receives again before anyone could reply.
///
/// ```swift
/// let socket = try ZMQSocket(context: context, type: .pull)
/// try socket.bind("tcp://127.0.0.1:5555")
/// let loop = try ZMQReceiveLoop(socket: socket, bufferSize: 1_024, overflow: .backPressure, name: "mmcd.input")
/// for await message in loop.messages { await handle(message) }
/// ```
public final class ZMQReceiveLoop: Sendable {
    /// What the loop does while ``messages`` holds `bufferSize` messages.
    public enum Overflow: Sendable, Hashable {
        /// Keep receiving and drop each message that finds the buffer full, counting it in
        /// ``dropped``. The socket never stalls; the newest messages are lost.
        case dropNewest
        /// Receive nothing until the consumer takes a message, so that nothing is lost and
        /// libzmq's high-water marks push back on the peers (a `PUSH` peer blocks).
        case backPressure
    }

    /// The received messages, oldest first; finishes when the loop ends.
    public let messages: AsyncStream<ZMQMessage>

    private let state: SocketThreadState
    private let counters = Counters()
    /// The gate's counters; never changed without a gate.
    private let peerCounters: PeerCounters
    /// The room left in ``messages`` with ``Overflow/backPressure``; `nil` with
    /// ``Overflow/dropNewest``.
    private let credits: ReceiveCredits?
    /// Asks the loop thread to stop and wakes it if it waits for room.
    private let requestStop: @Sendable () -> Void
    /// The sending end of the outbox, a `PUSH` connected to the loop thread's `PULL`; the
    /// lock makes it usable from any thread, one at a time.
    private let outbox: Mutex<ZMQSocket>

    /// Takes over `socket` and starts the loop thread.
    ///
    /// - Parameters:
    ///   - socket: A configured, bound or connected socket, not `REQ` or `REP`; the loop owns
    ///     it from now on.
    ///   - bufferSize: The most messages ``messages`` holds; at least 1.
    ///   - overflow: Whether a full buffer drops new messages (the default) or makes the loop
    ///     wait, losing nothing.
    ///   - name: The thread's name, as debuggers and `top -H` show it.
    ///   - weigh: What a dropped message carried (the points of a batch, say), summed in
    ///     ``droppedWeight``; called on the loop thread for dropped messages only. Without it
    ///     every message weighs 1.
    ///   - pollIntervalMilliseconds: The longest the thread waits before checking for
    ///     ``stop()`` while it waits on the socket, and for context shutdown while it waits
    ///     for room (``stop()`` and ``send(_:)`` end that wait at once).
    ///   - peerGate: Caps the connections the socket's bound endpoints hold, in all and from
    ///     one address (each takes a file descriptor, and libzmq accepts without limit); made
    ///     before the socket was bound. `nil`: no limit.
    /// - Throws: ``ZMQError`` if the internal outbox sockets cannot be made (for example
    ///   `ETERM` after ``ZMQContext/shutdown()``); the socket is given up all the same.
    public init(
        socket: sending ZMQSocket, bufferSize: Int, overflow: Overflow = .dropNewest, name: String,
        weigh: (@Sendable (ZMQMessage) -> Int)? = nil, pollIntervalMilliseconds: Int = 100,
        peerGate: sending ZMQPeerGate? = nil
    ) throws(ZMQError) {
        precondition(bufferSize > 0, "bufferSize must be at least 1")
        precondition(pollIntervalMilliseconds > 0, "pollIntervalMilliseconds must be positive")
        precondition(socket.type != .req && socket.type != .rep, "REQ and REP need strict turns; use DEALER or ROUTER")
        let endpoint = "inproc://zeromq.receive-loop.\(UUID().uuidString)"
        let outboxReceiver = try ZMQSocket(context: socket.context, type: .pull)
        let outboxSender = try ZMQSocket(context: socket.context, type: .push)
        try outboxReceiver.set(.linger(milliseconds: 0))
        try outboxSender.set(.linger(milliseconds: 0))
        try outboxReceiver.set(.receiveHighWaterMark(Loop.outboxHighWaterMark))
        try outboxSender.set(.sendHighWaterMark(Loop.outboxHighWaterMark))
        try outboxReceiver.bind(endpoint)
        try outboxSender.connect(endpoint)
        self.outbox = Mutex(outboxSender)
        peerCounters = peerGate?.counters ?? PeerCounters()

        let state = SocketThreadState()
        let credits = overflow == .backPressure ? ReceiveCredits(bufferSize) : nil
        self.state = state
        self.credits = credits
        let requestStop: @Sendable () -> Void = {
            state.requestStop()
            credits?.wake()
        }
        self.requestStop = requestStop
        // With credits the buffer never holds more than `bufferSize`, so it never drops.
        let (stream, continuation) = AsyncStream.makeStream(
            of: ZMQMessage.self, bufferingPolicy: .bufferingOldest(bufferSize)
        )
        if let credits {
            // Each message the consumer takes frees room for one more. The iterator is made
            // anew each time: an AsyncStream iterator is only a handle on the stream's buffer.
            messages = AsyncStream(
                unfolding: {
                    var buffered = stream.makeAsyncIterator()
                    let message = await buffered.next()
                    if message != nil {
                        credits.give()
                    }
                    return message
                },
                onCancel: requestStop
            )
        } else {
            messages = stream
        }
        let loop = Loop(
            continuation: continuation, state: state, counters: counters, credits: credits, weigh: weigh,
            pollIntervalMilliseconds: pollIntervalMilliseconds
        )
        continuation.onTermination = { _ in requestStop() }
        try startSocketThread(named: name, handing: (socket, outboxReceiver, peerGate)) { sockets in
            loop.run(socket: sockets.0, outbox: sockets.1, gate: sockets.2)
        }
    }

    deinit {
        requestStop()
    }

    /// Messages taken from the socket so far, delivered or dropped.
    public var received: Int {
        counters.received.load(ordering: .relaxed)
    }

    /// Messages received but dropped because ``messages`` already held `bufferSize`; always 0
    /// with ``Overflow/backPressure``.
    public var dropped: Int {
        counters.dropped.load(ordering: .relaxed)
    }

    /// Connections the socket's bound endpoints hold now, as of the last event the loop read;
    /// 0 without a `peerGate`.
    public var peers: Int {
        peerCounters.open.load(ordering: .relaxed)
    }

    /// Connections closed as soon as they were accepted because the `peerGate`'s limit were
    /// open, or their address held its `perAddressLimit`.
    public var refusedPeers: Int {
        peerCounters.refused.load(ordering: .relaxed)
    }

    /// Those of ``refusedPeers`` closed because their address held the `peerGate`'s
    /// `perAddressLimit`.
    public var refusedPeersAtAddressLimit: Int {
        peerCounters.refusedAtAddressLimit.load(ordering: .relaxed)
    }

    /// The summed `weigh` of the dropped messages (``dropped`` when no `weigh` was given).
    public var droppedWeight: Int {
        counters.droppedWeight.load(ordering: .relaxed)
    }

    /// Messages given to ``send(_:)`` that the socket did not take: it would have blocked
    /// (a `PUSH` or `DEALER` at its high-water mark), has no route (`ROUTER`), or cannot
    /// send at all (`SUB`, `PULL`).
    public var sendDropped: Int {
        counters.sendDropped.load(ordering: .relaxed)
    }

    /// The error that ended the loop, if one did; `nil` while it runs and after a normal end
    /// (``stop()``, context shutdown, release, or a cancelled consumer).
    public var failure: ZMQError? {
        state.failure
    }

    /// Sends `message` on the loop's socket, from any thread or task, without blocking.
    ///
    /// The message goes to the loop thread through an internal `inproc://` pipe and is sent
    /// there, so the socket keeps a single user. Messages queued before ``stop()`` are still
    /// sent as the loop ends (set a linger on the socket so they leave before it closes).
    ///
    /// - Returns: `false` when the message could not be queued: 2000 messages are already
    ///   waiting for the loop thread, or the loop has ended (libzmq notices that a moment
    ///   later, and a message accepted in between is lost).
    /// - Throws: ``ZMQError`` (`ETERM` after ``ZMQContext/shutdown()``).
    public func send(_ message: ZMQMessage) throws(ZMQError) -> Bool {
        let queued = try outbox.withLock { (sender: inout ZMQSocket) throws(ZMQError) -> Bool in
            try sender.send(message, flags: .dontWait)
        }
        if queued {
            // A loop thread waiting for room does not watch the outbox.
            credits?.wake()
        }
        return queued
    }

    /// Asks the loop to end; it does within the poll interval, closing its socket.
    ///
    /// Returns at once. Iterating ``messages`` to its end waits for the loop to finish.
    public func stop() {
        requestStop()
    }
}

/// The loop's counters, shared with its thread.
private final class Counters: Sendable {
    let received = Atomic<Int>(0)
    let dropped = Atomic<Int>(0)
    let droppedWeight = Atomic<Int>(0)
    let sendDropped = Atomic<Int>(0)
}

/// What the loop thread runs: everything it needs except its sockets, which it is handed.
private struct Loop: Sendable {
    /// The most messages moved in one direction before the thread looks at the other
    /// direction and at stop requests again.
    static let batch = 256
    /// The high-water mark of each end of the outbox; an `inproc` pipe holds both.
    static let outboxHighWaterMark = 1_000

    let continuation: AsyncStream<ZMQMessage>.Continuation
    let state: SocketThreadState
    let counters: Counters
    /// The room left in the stream with ``ZMQReceiveLoop/Overflow/backPressure``.
    let credits: ReceiveCredits?
    let weigh: (@Sendable (ZMQMessage) -> Int)?
    let pollIntervalMilliseconds: Int

    /// Serves `socket` and `outbox` (and `gate`'s events) until stopped or shut down, then
    /// closes the sockets and finishes the stream.
    func run(socket: ZMQSocket, outbox: ZMQSocket, gate: consuming ZMQPeerGate?) {
        defer {
            socket.close()
            outbox.close()
            gate?.events.close()
            continuation.finish()
        }
        do {
            while true {
                // Without room the socket is not read, so its queue fills and its peers wait;
                // the poll then only checks the outbox and the context, without waiting. A stop
                // request wakes the wait, and is checked after it so that no batch follows it.
                let room = credits?.waitForCredit(timeout: .milliseconds(pollIntervalMilliseconds)) ?? true
                if state.stopRequested {
                    break
                }
                var items = [ZMQPollItem(socket, events: room ? .pollIn : []), ZMQPollItem(outbox)]
                if let events = gate?.events {
                    items.append(ZMQPollItem(events))
                }
                let ready = try ZMQSocket.poll(items, timeoutMilliseconds: room ? pollIntervalMilliseconds : 0)
                if ready.count == 3 && ready[2].contains(.pollIn) {
                    try gate?.handleEvents()
                }
                if ready[0].contains(.pollIn) {
                    try deliver(from: socket)
                }
                if ready[1].contains(.pollIn) {
                    try forward(from: outbox, to: socket)
                }
            }
            // Everything sent before the stop request is in the outbox now, and it holds no more
            // than this; a sender that keeps going cannot hold the loop up.
            try forward(from: outbox, to: socket, limit: 2 * Self.outboxHighWaterMark)
        } catch {
            state.end(with: error)
        }
    }

    /// Moves up to ``batch`` waiting messages from the socket into the stream, with
    /// ``ZMQReceiveLoop/Overflow/backPressure`` only as many as it has room for.
    private func deliver(from socket: ZMQSocket) throws(ZMQError) {
        for _ in 0..<Self.batch {
            if let credits, !credits.take() {
                return
            }
            guard let message = try socket.receive(flags: .dontWait) else {
                credits?.give()
                return
            }
            counters.received.add(1, ordering: .relaxed)
            switch continuation.yield(message) {
            case .enqueued, .terminated:
                // After termination the stream's onTermination has already asked for a stop.
                break
            case .dropped(let lost):
                counters.dropped.add(1, ordering: .relaxed)
                counters.droppedWeight.add(weigh?(lost) ?? 1, ordering: .relaxed)
            @unknown default:
                counters.dropped.add(1, ordering: .relaxed)
                counters.droppedWeight.add(weigh?(message) ?? 1, ordering: .relaxed)
            }
        }
    }

    /// Sends up to `limit` messages waiting in the outbox on the socket, counting those it
    /// does not take.
    private func forward(from outbox: ZMQSocket, to socket: ZMQSocket, limit: Int = batch) throws(ZMQError) {
        var moved = 0
        while moved < limit, let message = try outbox.receive(flags: .dontWait) {
            moved += 1
            do {
                if try !socket.send(message, flags: .dontWait) {
                    counters.sendDropped.add(1, ordering: .relaxed)
                }
            } catch where !error.isTerminated {
                counters.sendDropped.add(1, ordering: .relaxed)
            }
        }
    }
}
