import MMCTestSupport
import Testing
import ZeroMQ

/// A `PULL` socket bound to a fresh `inproc://` endpoint and handed to a receive loop.
func pullLoop(
    in context: ZMQContext, bufferSize: Int = 4, overflow: ZMQReceiveLoop.Overflow = .dropNewest,
    weigh: (@Sendable (ZMQMessage) -> Int)? = nil, pollIntervalMilliseconds: Int = 100
) throws -> (loop: ZMQReceiveLoop, endpoint: String) {
    let endpoint = uniqueInproc("pull-loop")
    let pull = try ZMQSocket(context: context, type: .pull)
    try pull.bind(endpoint)
    let loop = try ZMQReceiveLoop(
        socket: pull, bufferSize: bufferSize, overflow: overflow, name: "test.pull-loop", weigh: weigh,
        pollIntervalMilliseconds: pollIntervalMilliseconds
    )
    return (loop, endpoint)
}

/// Whether `endpoint` can be bound again soon, which shows that the socket bound to it was
/// closed (libzmq releases the name on its reaper thread, a moment after the close).
func endpointFreed(_ endpoint: String, in context: ZMQContext) async throws -> Bool {
    try await eventually {
        (try? ZMQSocket(context: context, type: .pull).bind(endpoint)) != nil
    }
}

@Suite("Receive loop on its own thread", .timeLimit(.minutes(1)), .tags(.unit))
struct ReceiveLoopTests {
    @Test("The bounded stream keeps the oldest messages and counts every drop")
    func boundedStreamCountsEveryDrop() async throws {
        let context = try ZMQContext()
        let (loop, endpoint) = try pullLoop(in: context, bufferSize: 16)
        let push = try ZMQSocket(context: context, type: .push)
        try push.connect(endpoint)

        // PUSH/PULL loses nothing, so only the stream's buffer can drop; nobody consumes yet.
        let count = 500
        for index in 0..<count {
            #expect(try push.send(ZMQMessage(strings: "\(index)")))
        }
        #expect(try await eventually { loop.received == count })
        loop.stop()
        var delivered: [String] = []
        for await message in loop.messages {
            delivered += message.strings
        }
        #expect(delivered == (0..<16).map { "\($0)" })
        #expect(loop.dropped == count - 16)
        #expect(delivered.count + loop.dropped == count)
        #expect(loop.droppedWeight == loop.dropped)
        #expect(loop.failure == nil)
    }

    @Test("A weigh function sums what the dropped messages carried")
    func droppedMessagesAreWeighed() async throws {
        let context = try ZMQContext()
        // Each message carries as many items as it has frames.
        let (loop, endpoint) = try pullLoop(in: context, bufferSize: 2, weigh: { $0.frames.count })
        let push = try ZMQSocket(context: context, type: .push)
        try push.connect(endpoint)
        let frameCounts = [1, 2, 3, 1, 2, 3]
        for frames in frameCounts {
            #expect(try push.send(ZMQMessage((0..<frames).map { _ in [UInt8(frames)] })))
        }
        #expect(try await eventually { loop.received == frameCounts.count })
        #expect(loop.dropped == 4)
        #expect(loop.droppedWeight == 3 + 1 + 2 + 3)
    }

    @Test("Stopping ends the stream and closes the socket", arguments: [ZMQReceiveLoop.Overflow.dropNewest, .backPressure])
    func stopEndsStreamAndClosesSocket(overflow: ZMQReceiveLoop.Overflow) async throws {
        let context = try ZMQContext()
        let (loop, endpoint) = try pullLoop(in: context, overflow: overflow, pollIntervalMilliseconds: 10)
        loop.stop()
        for await _ in loop.messages {}
        #expect(try await endpointFreed(endpoint, in: context))
        #expect(loop.failure == nil)
        #expect(try await eventually { (try? loop.send(ZMQMessage(strings: "too late"))) == false })
    }

    @Test("A context shutdown ends a loop blocked in its socket", arguments: [ZMQReceiveLoop.Overflow.dropNewest, .backPressure])
    func contextShutdownEndsLoop(overflow: ZMQReceiveLoop.Overflow) async throws {
        let context = try ZMQContext()
        // A poll interval far beyond the time limit: only ETERM can end this loop.
        let (loop, _) = try pullLoop(in: context, overflow: overflow, pollIntervalMilliseconds: 600_000)
        context.shutdown()
        for await _ in loop.messages {}
        #expect(loop.failure == nil)
        let late = try #require(throws: ZMQError.self) { try loop.send(ZMQMessage(strings: "late")) }
        #expect(late.isTerminated)
    }

    @Test("A consumer that goes away stops the loop", arguments: [ZMQReceiveLoop.Overflow.dropNewest, .backPressure])
    func cancelledConsumerStopsLoop(overflow: ZMQReceiveLoop.Overflow) async throws {
        let context = try ZMQContext()
        let (loop, endpoint) = try pullLoop(in: context, overflow: overflow, pollIntervalMilliseconds: 10)
        let consumer = Task {
            for await _ in loop.messages {}
        }
        consumer.cancel()
        await consumer.value
        #expect(try await endpointFreed(endpoint, in: context))
    }

    @Test("A late subscriber gets the cached snapshot from an XPUB loop")
    func lateSubscriberGetsSnapshot() async throws {
        let context = try ZMQContext()
        let xpub = try ZMQSocket(context: context, type: .xpub)
        try xpub.set(.xpubVerbose(true))
        let endpoint = try xpub.bindEphemeralTCP()
        let loop = try ZMQReceiveLoop(socket: xpub, bufferSize: 16, name: "test.xpub")
        var events = loop.messages.makeAsyncIterator()

        // Published before anyone subscribed: it reaches nobody, so it is kept as the snapshot.
        let snapshot = ZMQMessage(strings: "clusters/", "snapshot v7")
        #expect(try loop.send(snapshot))

        // Subscribers stay connected: one that left would show up as an unsubscribe event.
        var subscribers: [ZMQSocket] = []
        for subscriberNumber in 1...2 {
            let subscriber = try ZMQSocket(context: context, type: .sub)
            try subscriber.set(.receiveTimeout(milliseconds: 3_000))
            try subscriber.set(.subscribe(bytes("clusters/")))
            try subscriber.connect(endpoint)
            subscribers.append(subscriber)
            let message = try #require(await events.next())
            // With XPUB_VERBOSE the second subscription to the same topic is seen as well.
            #expect(ZMQSubscriptionEvent(message) == ZMQSubscriptionEvent(kind: .subscribe, topic: bytes("clusters/")))
            #expect(try loop.send(snapshot))
            #expect(try subscriber.receive() == snapshot, "subscriber \(subscriberNumber)")
        }
        #expect(loop.sendDropped == 0)
    }

    @Test("An XSUB loop subscribes by sending subscription messages")
    func xsubLoopSubscribesWhileRunning() async throws {
        let context = try ZMQContext()
        let publisher = try ZMQSocket(context: context, type: .pub)
        let endpoint = try publisher.bindEphemeralTCP()
        let xsub = try ZMQSocket(context: context, type: .xsub)
        try xsub.connect(endpoint)
        let loop = try ZMQReceiveLoop(socket: xsub, bufferSize: 1_000, name: "test.xsub")
        #expect(try loop.send(ZMQSubscriptionEvent(kind: .subscribe, topic: bytes("news/")).message))

        let subscribed = try await eventually {
            _ = try? publisher.send(ZMQMessage(strings: "news/probe"))
            return loop.received > 0
        }
        #expect(subscribed)
        for topic in ["other/1", "news/1", "other/2", "news/end"] {
            try publisher.send(ZMQMessage(strings: topic))
        }
        var topics: [String] = []
        for await message in loop.messages where message.strings != ["news/probe"] {
            topics += message.strings
            if message.strings == ["news/end"] {
                break
            }
        }
        #expect(topics == ["news/1", "news/end"])
    }

    @Test("A ROUTER loop answers requests through send")
    func routerLoopAnswersRequests() async throws {
        let context = try ZMQContext()
        let router = try ZMQSocket(context: context, type: .router)
        let endpoint = try router.bindEphemeralTCP()
        let loop = try ZMQReceiveLoop(socket: router, bufferSize: 16, name: "test.router")
        let client = try ZMQSocket(context: context, type: .req)
        try client.set(.receiveTimeout(milliseconds: 2_000))
        try client.connect(endpoint)

        var requests = loop.messages.makeAsyncIterator()
        for question in ["snapshot?", "stats?"] {
            try client.send(ZMQMessage(strings: question))
            let request = try #require(await requests.next())
            // Routing id, the REQ socket's empty delimiter, then the question.
            #expect(request.frames.count == 3)
            #expect(Array(request.strings.dropFirst()) == ["", question])
            #expect(try loop.send(ZMQMessage([request.frames[0], [], bytes("answer to \(question)")])))
            #expect(try client.receive() == ZMQMessage(strings: "answer to \(question)"))
        }
    }

    @Test("Messages handed to send just before stop still go out")
    func sendBeforeStopIsDelivered() throws {
        let context = try ZMQContext()
        let endpoint = uniqueInproc("last-words")
        let pull = try ZMQSocket(context: context, type: .pull)
        try pull.set(.receiveTimeout(milliseconds: 2_000))
        try pull.bind(endpoint)
        // Repeated because the stop can land before or after the loop's first poll.
        for round in 1...20 {
            let push = try ZMQSocket(context: context, type: .push)
            // Linger lets the message leave although the loop closes the socket right after.
            try push.set(.linger(milliseconds: 2_000))
            try push.connect(endpoint)
            let loop = try ZMQReceiveLoop(socket: push, bufferSize: 4, name: "test.last-words")
            let last = ZMQMessage(strings: "final update \(round)")
            #expect(try loop.send(last))
            loop.stop()
            #expect(try pull.receive() == last)
            #expect(loop.sendDropped == 0)
        }
    }

    @Test("Messages the socket cannot send are counted")
    func unsendableMessagesAreCounted() async throws {
        let context = try ZMQContext()
        let sub = try ZMQSocket(context: context, type: .sub)
        try sub.bind(uniqueInproc("unsendable"))
        let loop = try ZMQReceiveLoop(socket: sub, bufferSize: 4, name: "test.unsendable")
        #expect(try loop.send(ZMQMessage(strings: "a SUB cannot send")))
        #expect(try await eventually { loop.sendDropped == 1 })
        #expect(loop.received == 0)
    }
}
