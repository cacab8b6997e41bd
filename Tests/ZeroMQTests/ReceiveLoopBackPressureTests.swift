import MMCTestSupport
import Synchronization
import Testing
import ZeroMQ

/// How far a producer got, shared with the test that watches it.
private final class ProducerProgress: Sendable {
    /// Messages the socket accepted.
    let sent = Atomic<Int>(0)
    /// Sends refused with `EAGAIN` because the high-water mark was reached.
    let refused = Atomic<Int>(0)
}

/// Sends the messages "0", "1", ... "`count - 1`" from a `PUSH` as fast as it takes them; when a
/// send would block, waits a millisecond and tries the same message again.
///
/// The socket lingers, so that closing it at the end cannot discard what it queued.
private func pushAsFastAsPossible(
    _ count: Int, to endpoint: String, in context: ZMQContext, progress: ProducerProgress
) async throws {
    let push = try ZMQSocket(context: context, type: .push)
    try push.set(.linger(milliseconds: 5_000))
    try push.connect(endpoint)
    for index in 0..<count {
        let message = ZMQMessage(strings: "\(index)")
        while try !push.send(message, flags: .dontWait) {
            progress.refused.add(1, ordering: .relaxed)
            try await Task.sleep(for: .milliseconds(1))
        }
        progress.sent.add(1, ordering: .relaxed)
    }
}

/// A back-pressure `PULL` loop that has taken "0", "1", ... up to its buffer size from the
/// `queued` messages pushed into it and waits for room.
private func loopWaitingForRoom(
    in context: ZMQContext, bufferSize: Int, queued: Int, pollIntervalMilliseconds: Int
) async throws -> (loop: ZMQReceiveLoop, endpoint: String) {
    let (loop, endpoint) = try pullLoop(
        in: context, bufferSize: bufferSize, overflow: .backPressure, pollIntervalMilliseconds: pollIntervalMilliseconds)
    let push = try ZMQSocket(context: context, type: .push)
    try push.connect(endpoint)
    for index in 0..<queued {
        #expect(try push.send(ZMQMessage(strings: "\(index)"), flags: .dontWait))
    }
    try #require(try await eventually { loop.received == bufferSize })
    return (loop, endpoint)
}

@Suite("Receive loop with back-pressure", .timeLimit(.minutes(1)), .tags(.unit))
struct ReceiveLoopBackPressureTests {
    @Test("A slow consumer gets every message in order and the PUSH waits instead")
    func slowConsumerLosesNothing() async throws {
        let context = try ZMQContext()
        let bufferSize = 8
        let count = 5_000
        let (loop, endpoint) = try pullLoop(in: context, bufferSize: bufferSize, overflow: .backPressure)
        let progress = ProducerProgress()
        let producer = Task {
            try await pushAsFastAsPossible(count, to: endpoint, in: context, progress: progress)
        }

        // Nobody consumes yet: the loop takes what its buffer holds and leaves the rest in the
        // socket, whose queue fills up to the high-water marks until the PUSH is refused.
        try #require(try await eventually {
            loop.received == bufferSize && progress.refused.load(ordering: .relaxed) > 0
        })
        // While the PUSH is refused 50 more times (a millisecond apart), the loop takes nothing.
        let refused = progress.refused.load(ordering: .relaxed)
        try #require(try await eventually { progress.refused.load(ordering: .relaxed) >= refused + 50 })
        #expect(loop.received == bufferSize)
        #expect(progress.sent.load(ordering: .relaxed) < count)

        var delivered: [String] = []
        for await message in loop.messages {
            delivered += message.strings
            if delivered.count == count {
                break
            }
            if delivered.count.isMultiple(of: 100) {
                try await Task.sleep(for: .milliseconds(2))
            }
        }
        try await producer.value
        #expect(delivered == (0..<count).map { "\($0)" })
        #expect(loop.received == count)
        #expect(loop.dropped == 0)
        loop.stop()
        for await message in loop.messages {
            Issue.record("unexpected message \(message.strings)")
        }
        #expect(loop.failure == nil)
    }

    @Test("Stopping ends a loop that waits for room, and the buffered messages are still delivered")
    func stopEndsLoopWaitingForRoom() async throws {
        let context = try ZMQContext()
        // A poll interval far beyond the time limit: only the stop request can wake this loop.
        let (loop, endpoint) = try await loopWaitingForRoom(
            in: context, bufferSize: 2, queued: 10, pollIntervalMilliseconds: 600_000)

        // The loop ends before anyone consumes, so no credit coming back can wake it.
        loop.stop()
        #expect(try await endpointFreed(endpoint, in: context))
        var delivered: [String] = []
        for await message in loop.messages {
            delivered += message.strings
        }
        #expect(delivered == ["0", "1"])
        #expect(loop.received == 2 && loop.dropped == 0)
        #expect(loop.failure == nil)
    }

    @Test("A context shutdown ends a loop that waits for room within its poll interval")
    func contextShutdownEndsLoopWaitingForRoom() async throws {
        let context = try ZMQContext()
        let (loop, _) = try await loopWaitingForRoom(in: context, bufferSize: 1, queued: 3, pollIntervalMilliseconds: 20)

        context.shutdown()
        var delivered: [String] = []
        for await message in loop.messages {
            delivered += message.strings
        }
        #expect(delivered == ["0"])
        #expect(loop.failure == nil)
    }

    @Test("A loop that waits for room still sends at once")
    func loopWaitingForRoomStillSends() async throws {
        let context = try ZMQContext()
        let endpoint = uniqueInproc("dealer-loop")
        let dealer = try ZMQSocket(context: context, type: .dealer)
        try dealer.bind(endpoint)
        // Only send's wake-up can make this loop look at its outbox while it waits for room.
        let loop = try ZMQReceiveLoop(
            socket: dealer, bufferSize: 1, overflow: .backPressure, name: "test.dealer-loop",
            pollIntervalMilliseconds: 600_000)
        let peer = try ZMQSocket(context: context, type: .dealer)
        try peer.set(.receiveTimeout(milliseconds: 2_000))
        try peer.connect(endpoint)
        for question in ["q0", "q1", "q2"] {
            #expect(try peer.send(ZMQMessage(strings: question), flags: .dontWait))
        }
        try #require(try await eventually { loop.received == 1 })

        #expect(try loop.send(ZMQMessage(strings: "answer")))
        #expect(try peer.receive() == ZMQMessage(strings: "answer"))
        #expect(loop.received == 1)

        var questions = loop.messages.makeAsyncIterator()
        var delivered: [String] = []
        while delivered.count < 3, let message = await questions.next() {
            delivered += message.strings
        }
        #expect(delivered == ["q0", "q1", "q2"])
        #expect(loop.dropped == 0 && loop.sendDropped == 0)
    }
}
