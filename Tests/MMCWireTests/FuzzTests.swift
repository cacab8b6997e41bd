import MMCDevTools
import MMCTestSupport
import MMCWire
import Testing

/// Seeded mutation fuzzing: random edits of valid messages and random bytes must decode to a
/// valid value or fail with a `WireError`, never trap; whatever decodes must re-encode and decode
/// to the same value.
@Suite("Fuzzing", .tags(.unit))
struct FuzzTests {
    private enum Kind: CaseIterable { case points, update, request, reply }

    /// The target that decodes `kind`.
    private static func target(_ kind: Kind) -> FuzzTarget {
        switch kind {
        case .points: .binaryBatch
        case .update: .update
        case .request: .request
        case .reply: .reply
        }
    }

    /// Decodes `bytes` as `kind`, expecting a decoded value that survives a round trip or a
    /// `WireError`.
    ///
    /// - Returns: whether `bytes` decoded.
    @discardableResult
    private static func check(_ bytes: [UInt8], as kind: Kind) -> Bool {
        let outcome = target(kind).check(bytes)
        if case .failed(let problem) = outcome { Issue.record("\(kind): \(problem)") }
        return outcome == .accepted
    }

    @Test("mutated valid messages", arguments: 0..<8)
    func mutations(seed: Int) {
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
            var mutator = FuzzMutator(generator: random.generator.next(), corpus: [valid], tokens: FuzzTarget.jsonTokens)
            outcomes.insert(Self.check(mutator.mutate(valid), as: kind))
        }
        // Some mutations keep a message valid (a flipped bit in a value), most break it.
        #expect(outcomes == [true, false])
    }

    @Test("random bytes, plain and behind a binary header", arguments: 0..<4)
    func randomBytes(seed: Int) {
        var random = TestRandom(seed: UInt64(70_000 + seed))
        for _ in 0..<2_000 {
            var bytes = (0..<random.int(0...64)).map { _ in UInt8(truncatingIfNeeded: random.generator.next()) }
            if random.bool() { bytes = [0x4D, 0x4D, 0x43, 0x42, 1, 1, 0, 0] + bytes }
            if random.bool() { bytes = Array("{\"".utf8) + bytes }
            for kind in Kind.allCases { Self.check(bytes, as: kind) }
        }
    }

    /// The `mmc fuzz` targets, 20,000 inputs each with a fixed seed: no broken property, and the
    /// mutations both keep some inputs valid and break most of them.
    @Test(arguments: FuzzTarget.wireTargets.map(\.name))
    func seededRun(target name: String) throws {
        let target = try #require(FuzzTarget.wireTargets.first { $0.name == name })
        let report = target.run(execs: 20_000, seed: 2024)
        #expect(report.execs == 20_000)
        #expect(report.failures.isEmpty, "\(report.failures.prefix(5))")
        #expect(report.accepted > 0)
        #expect(report.rejected.values.reduce(0, +) > report.execs / 2)
        #expect(target.input(at: 17, seed: 2024) == target.input(at: 17, seed: 2024))
    }
}
