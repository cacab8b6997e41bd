import MMCWire
import Testing

/// Seeded mutation fuzzing: random edits of valid messages and random bytes must decode to a
/// valid value or fail with a `WireError`, never trap; whatever decodes must re-encode and decode
/// to the same value.
@Suite("Fuzzing")
struct FuzzTests {
    private enum Kind: CaseIterable { case points, update, request, reply }

    /// Interesting bytes to insert: structure, digits, signs, quotes, escapes, UTF-8 leads.
    private static let tokens: [[UInt8]] = [
        "{", "}", "[", "]", ",", ":", "\"", "\\", "-", "0", "9", ".", "e", "E", "+", "1e400", "null", "true",
        "\"id\"", "\"v\"", "\"t\"", "\\u", "\\ud800", "NaN", " ",
    ].map { Array($0.utf8) } + [[0xFF], [0xC3], [0xED, 0xA0, 0x80], [0x00], [0x4D, 0x4D, 0x43, 0x42]]

    private static func mutate(_ input: [UInt8], _ random: inout TestRandom) -> [UInt8] {
        var bytes = input
        for _ in 0..<random.int(1...4) {
            let index = bytes.isEmpty ? 0 : random.int(0...bytes.count - 1)
            switch random.int(0...6) {
            case 0 where !bytes.isEmpty: bytes[index] ^= UInt8(1 << random.int(0...7))
            case 1 where !bytes.isEmpty: bytes.removeSubrange(index..<min(bytes.count, index + random.int(1...8)))
            case 2: bytes.insert(contentsOf: tokens[random.int(0...tokens.count - 1)], at: index)
            case 3: bytes = Array(bytes.prefix(index))
            case 4 where !bytes.isEmpty:
                let end = min(bytes.count, index + random.int(1...16))
                bytes.insert(contentsOf: bytes[index..<end], at: random.int(0...bytes.count))
            case 5 where !bytes.isEmpty: bytes[index] = UInt8(truncatingIfNeeded: random.generator.next())
            default: bytes.append(contentsOf: tokens[random.int(0...tokens.count - 1)])
            }
        }
        return bytes
    }

    /// Decodes `bytes` as `kind`; on success checks that the value survives a second round trip.
    ///
    /// - Returns: whether `bytes` decoded.
    @discardableResult
    private static func check(_ bytes: [UInt8], as kind: Kind) throws -> Bool {
        var limits = DecodingLimits.default
        limits.maxPointCount = 100_000
        do {
            switch kind {
            case .points:
                // The peek runs on every input too; whatever decodes must declare its true count.
                let declared = PointBatch.declaredCount(bytes, limits: limits)
                let batch = try PointBatch.decode(bytes, limits: limits)
                #expect(declared == batch.count)
                #expect(try PointBatch.decode(batch.encodedBinary()) == batch)
                #expect(try PointBatch.decode(batch.encodedJSON(layout: .columns)) == batch)
            case .update:
                let message = try UpdateMessage.decode(bytes, limits: limits)
                #expect(try UpdateMessage.decode(message.encoded()) == message)
            case .request:
                let request = try Request.decode(bytes, limits: limits)
                #expect(try Request.decode(request.encoded()) == request)
            case .reply:
                let reply = try Reply.decode(bytes, limits: limits)
                #expect(try Reply.decode(reply.encoded()) == reply)
            }
            return true
        } catch {
            #expect(!error.message.isEmpty)
            return false
        }
    }

    @Test("mutated valid messages", arguments: 0..<8)
    func mutations(seed: Int) throws {
        var random = TestRandom(seed: UInt64(90_000 + seed))
        var outcomes: Set<Bool> = []
        for iteration in 0..<1_500 {
            let kind = Kind.allCases[iteration % Kind.allCases.count]
            let valid: [UInt8]
            switch kind {
            case .points:
                let batch = random.batch(count: random.int(1...5), dimension: random.int(1...4))
                valid = [batch.encodedBinary(), batch.encodedJSON(layout: .rows), batch.encodedJSON(layout: .columns)][random.int(0...2)]
            case .update: valid = random.bool() ? UpdateMessage.clusters(random.update()).encoded() : UpdateMessage.provisional(random.provisional()).encoded()
            case .request: valid = random.request().encoded()
            case .reply: valid = random.reply().encoded()
            }
            let mutated = Self.mutate(valid, &random)
            outcomes.insert(try Self.check(mutated, as: kind))
        }
        // Some mutations keep a message valid (a flipped bit in a value), most break it.
        #expect(outcomes == [true, false])
    }

    @Test("random bytes, plain and behind a binary header", arguments: 0..<4)
    func randomBytes(seed: Int) throws {
        var random = TestRandom(seed: UInt64(70_000 + seed))
        for _ in 0..<2_000 {
            var bytes = (0..<random.int(0...64)).map { _ in UInt8(truncatingIfNeeded: random.generator.next()) }
            if random.bool() { bytes = [0x4D, 0x4D, 0x43, 0x42, 1, 1, 0, 0] + bytes }
            if random.bool() { bytes = Array("{\"".utf8) + bytes }
            for kind in Kind.allCases { try Self.check(bytes, as: kind) }
        }
    }
}
