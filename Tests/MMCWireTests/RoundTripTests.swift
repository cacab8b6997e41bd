import MMCDevTools
import MMCTestSupport
import MMCWire
import Testing

@Suite("Round trips of every message type", .tags(.unit))
struct RoundTripTests {
    /// Batch sizes sampled for each dimension: always the edges, plus a few seeded ones.
    private static func sizes(dimension: Int, random: inout TestRandom) -> [Int] {
        var sizes = [1, 2, random.int(3...100)]
        if dimension % 8 == 0 { sizes.append(random.int(101...10_000)) }
        if dimension == 3 { sizes.append(10_000) }
        return sizes
    }

    @Test("point batches, every dimension 1...64, binary and both JSON layouts", arguments: 1...64)
    func pointBatches(dimension: Int) throws {
        var random = TestRandom(seed: UInt64(dimension))
        for count in Self.sizes(dimension: dimension, random: &random) {
            let batch = random.batch(count: count, dimension: dimension)
            let binary = batch.encodedBinary()
            #expect(binary.count == 16 + 8 * count * (dimension + 2))
            #expect(try PointBatch.decode(binary, expectedDimension: dimension) == batch)
            #expect(PointBatch.declaredCount(binary) == count)
            for layout in PointBatch.JSONLayout.allCases {
                #expect(PointBatch.declaredCount(batch.encodedJSON(layout: layout)) == count)
                let decoded = try PointBatch.decode(batch.encodedJSON(layout: layout), expectedDimension: dimension)
                #expect(decoded == batch, "layout \(layout), \(count) points")
                // Bit-exact, including the sign of zero.
                #expect(decoded.values.map(\.bitPattern) == batch.values.map(\.bitPattern))
                #expect(decoded.timestamps.map(\.bitPattern) == batch.timestamps.map(\.bitPattern))
            }
        }
    }

    @Test("the single-point JSON form and whitespace decode")
    func singlePointForm() throws {
        let text = " \n{ \"v\" : [ 0.1 , 2.5 ] ,\t\"t\":1732600000.25, \"id\": 17 , \"extra\": {\"nested\": [true, false, null, \"x\"]}}\r\n"
        let batch = try PointBatch.decode(bytes(text))
        #expect(batch == (try PointBatch(dimension: 2, ids: [17], timestamps: [1732600000.25], values: [0.1, 2.5])))
        let versioned = try PointBatch.decode(bytes(#"{"protocol":1,"id":18446744073709551615,"t":-0.0,"v":[1e-7]}"#))
        #expect(versioned.ids == [UInt64.max] && versioned.values == [1e-7])
    }

    @Test("JSON numbers parse to the correctly rounded float64")
    func numberParsing() throws {
        var random = TestRandom(seed: 99)
        var texts: [String] = ["0", "-0", "1E2", "1e+2", "1.5e-3", "123456789012345678901234567890", "0.000000000000000000000000001",
                               "2.2250738585072011e-308", "4.9e-324", "1e-400", "9007199254740993", "0.1e1", "17976931348623157e292"]
        for _ in 0..<5_000 {
            let value = random.double()
            texts.append("\(value)")
            // Random decimal strings with up to 25 digits and exponents, as other encoders write them.
            let digits = String((0..<random.int(1...25)).map { _ in Character(String(random.int(0...9))) })
            let integer = digits.drop { $0 == "0" }
            texts.append("\(random.bool() ? "-" : "")\(integer.isEmpty ? "0" : String(integer)).\(digits)e\(random.int(-330...310))")
        }
        for text in texts {
            let expected = Double(text)!
            guard expected.isFinite else { continue }
            let batch = try PointBatch.decode(bytes("{\"id\":1,\"t\":\(text),\"v\":[\(text)]}"))
            #expect(batch.values[0].bitPattern == expected.bitPattern, "\(text)")
            #expect(batch.timestamps[0].bitPattern == expected.bitPattern, "\(text)")
        }
    }

    @Test("cluster updates and provisional assignments", arguments: 0..<200)
    func updates(seed: Int) throws {
        var random = TestRandom(seed: UInt64(1_000 + seed))
        for message in [UpdateMessage.clusters(random.update()), .provisional(random.provisional())] {
            #expect(try UpdateMessage.decode(message.encoded()) == message)
        }
    }

    @Test("requests and replies", arguments: 0..<200)
    func requestsAndReplies(seed: Int) throws {
        var random = TestRandom(seed: UInt64(5_000 + seed))
        let request = random.request()
        #expect(try Request.decode(request.encoded()) == request)
        let reply = random.reply()
        #expect(try Reply.decode(reply.encoded()) == reply)
    }

    @Test("a 50,000-point snapshot round-trips")
    func largeSnapshot() throws {
        let update = UpdateMessage.clusters(WireBenchmark.snapshotUpdate(count: 50_000, dimension: 3, clusterCount: 20, seed: 7))
        #expect(try UpdateMessage.decode(update.encoded()) == update)
        let reply = Reply.snapshot(WireBenchmark.snapshotUpdate(count: 50_000, dimension: 3, clusterCount: 20, seed: 7))
        #expect(try Reply.decode(reply.encoded()) == reply)
    }

    @Test("update envelopes and points messages round-trip through frames")
    func frames() throws {
        var random = TestRandom(seed: 3)
        let envelope = UpdateEnvelope(topic: "clusters.site1", message: .clusters(random.update()), sequence: UInt64.max - 1)
        #expect(try UpdateEnvelope.decode(frames: envelope.encodedFrames()) == envelope)
        let batch = random.batch(count: 5, dimension: 3)
        let message = try PointMessage.decode(frames: [bytes("points.site1"), batch.encodedBinary()], expectedDimension: 3)
        #expect(message == PointMessage(topic: "points.site1", batch: batch))
        #expect(Frames.sequenceFrame(0x0102) == [0x02, 0x01, 0, 0, 0, 0, 0, 0])
    }

    @Test("the sequence tracker reports first, next, gaps, repeats and restarts")
    func sequenceTracker() {
        var tracker = SequenceTracker()
        #expect(tracker.observe(topic: "a", sequence: 7) == .first)
        #expect(tracker.observe(topic: "a", sequence: 8) == .next)
        #expect(tracker.observe(topic: "b", sequence: 0) == .first)
        #expect(tracker.observe(topic: "a", sequence: 11) == .gap(missed: 2))
        #expect(tracker.observe(topic: "a", sequence: 11) == .repeated)
        #expect(tracker.observe(topic: "a", sequence: 0) == .restarted)
        #expect(tracker.observe(topic: "b", sequence: 1) == .next)
    }
}
