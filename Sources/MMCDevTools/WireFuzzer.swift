import MMCWire

/// Seeded mutation fuzzing of decoders: every input must decode or throw, never trap.
///
/// A ``FuzzTarget`` pairs a decoder with a corpus of valid inputs and the tokens worth
/// inserting into them. ``FuzzTarget/run(execs:seed:start:)`` feeds it `execs` inputs, each made
/// by ``FuzzMutator`` from one corpus entry with one to four edits: bit flips, byte inserts and
/// deletes, token inserts, duplicated chunks, truncations, splices with another corpus entry, and
/// boundary integers (0, 1, 2^7, 2^8 - 1, 2^15, 2^16 - 1, 2^31 - 1, 2^32 - 1, 2^63 - 1, 2^64 - 1)
/// written over 1, 2, 4 or 8 bytes, which hits the counts and lengths of binary headers.
///
/// Input `i` depends only on the seed and `i`, so a run can be resumed or a single input
/// rebuilt (``FuzzTarget/input(at:seed:)``). A decoded value must survive a re-encode and a
/// second decode unchanged; anything else (a throw of the wrong error type, a changed round
/// trip) is a ``FuzzOutcome/failed(_:)``. A trap ends the process: that is the crash a fuzzer
/// looks for, and the input that caused it can be rebuilt from the last progress report.
///
/// ```swift
/// let report = FuzzTarget.binaryBatch.run(execs: 20_000, seed: 1)
/// precondition(report.failures.isEmpty)
/// ```
public struct FuzzTarget: Sendable {
    /// The name `mmc fuzz --target` takes.
    public let name: String
    /// Valid inputs the mutations start from.
    public let corpus: [[UInt8]]
    /// Byte strings worth inserting (syntax, keywords, magic numbers).
    public let tokens: [[UInt8]]
    /// Runs the decoder on one input.
    public let check: @Sendable ([UInt8]) -> FuzzOutcome

    /// A target over `check`, mutating `corpus` (at least one entry) with `tokens`.
    public init(
        name: String, corpus: [[UInt8]], tokens: [[UInt8]], check: @escaping @Sendable ([UInt8]) -> FuzzOutcome
    ) {
        precondition(!corpus.isEmpty, "a fuzz target needs a corpus")
        self.name = name
        self.corpus = corpus
        self.tokens = tokens
        self.check = check
    }

    /// Input number `index` of a run with `seed`.
    public func input(at index: Int, seed: UInt64) -> [UInt8] {
        var generator = WireBenchmark.SplitMix64(seed: seed ^ (UInt64(truncatingIfNeeded: index) &* 0xD6E8_FEB8_6659_FD93))
        var mutator = FuzzMutator(generator: generator.next(), corpus: corpus, tokens: tokens)
        return mutator.mutate(corpus[Int(generator.next() % UInt64(corpus.count))])
    }

    /// Runs inputs `start ..< start + execs` of `seed`.
    ///
    /// - Parameter progress: called every `progressEvery` inputs with the report so far.
    public func run(
        execs: Int, seed: UInt64, start: Int = 0, progressEvery: Int = 0, progress: (FuzzReport) -> Void = { _ in }
    ) -> FuzzReport {
        var report = FuzzReport(target: name, seed: seed, start: start)
        for index in start..<start + execs {
            let input = input(at: index, seed: seed)
            report.record(check(input), index: index, inputBytes: input.count)
            if progressEvery > 0 && report.execs % progressEvery == 0 { progress(report) }
        }
        return report
    }
}

// The corpora below are built from constants their initializers accept, so the `try!`s in them
// cannot fail.
extension FuzzTarget {
    /// Every decoder of the wire protocol: `binary-batch`, `json-batch`, `update`, `request`,
    /// `reply`.
    public static let wireTargets: [FuzzTarget] = [binaryBatch, jsonBatch, update, request, reply]

    /// Decoder limits of the targets: the defaults, with batches of at most 100,000 points.
    static let limits = DecodingLimits(maxPointCount: 100_000)

    /// JSON syntax, keywords, numbers at the edges, escapes, bad UTF-8 and the binary magic.
    public static let jsonTokens: [[UInt8]] =
        [
            "{", "}", "[", "]", ",", ":", "\"", "\\", "-", "0", "9", ".", "e", "E", "+", "1e400", "-0", "1e-400",
            "18446744073709551616", "9223372036854775807", "null", "true", "false", "\"id\"", "\"v\"", "\"t\"",
            "\"dim\"", "\"points\"", "\"ids\"", "\"protocol\"", "\\u", "\\ud800", "\\u0000", "NaN", "Infinity", " ",
        ].map { Array($0.utf8) } + [[0xFF], [0xC3], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x00], Array("MMCB".utf8)]

    /// Runs `decode`; a value must pass `property` (when given) and come back unchanged from
    /// `reencode`.
    static func roundTrip<Value: Equatable>(
        _ input: [UInt8], decode: ([UInt8]) throws(WireError) -> Value, property: (Value) -> String? = { _ in nil },
        reencode: (Value) -> [[UInt8]]
    ) -> FuzzOutcome {
        let value: Value
        do {
            value = try decode(input)
        } catch {
            return error.message.isEmpty ? .failed("\(error.code.rawValue) without a message") : .rejected(error.code.rawValue)
        }
        if let problem = property(value) { return .failed(problem) }
        for encoded in reencode(value) {
            guard let again = try? decode(encoded), again == value else {
                return .failed("decoded \(input.count) bytes, but the re-encoded value does not decode to the same value")
            }
        }
        return .accepted
    }

    /// Whatever decodes must declare its true point count to the drop accounting's peek.
    static func declaredCountProblem(_ input: [UInt8], _ batch: PointBatch) -> String? {
        let declared = PointBatch.declaredCount(input, limits: limits)
        return declared == batch.count ? nil : "declares \(declared.map(String.init) ?? "no") points, decodes \(batch.count)"
    }

    /// Batches of 1...16 dimensions, 1...40 points, as the binary frames producers send.
    private static let sampleBatches: [PointBatch] = [(1, 1), (2, 2), (3, 2), (40, 2), (5, 4), (2, 16)].enumerated().map {
        WireBenchmark.pointBatch(count: $1.0, dimension: $1.1, seed: UInt64($0))
    }

    /// `PointBatch.decode` of binary batches (`MMCB` header, counts, float64 columns).
    public static let binaryBatch = FuzzTarget(
        name: "binary-batch", corpus: sampleBatches.map { $0.encodedBinary() },
        tokens: [Array("MMCB".utf8), [1], [2], [0, 0, 0, 0], [0xFF, 0xFF, 0xFF, 0xFF], [0, 0, 0, 0, 0, 0, 0xF8, 0x7F]]
    ) { input in
        roundTrip(
            input, decode: { bytes throws(WireError) in try PointBatch.decode(bytes, limits: limits) },
            property: { declaredCountProblem(input, $0) }
        ) {
            [$0.encodedBinary(), $0.encodedJSON(layout: .columns)]
        }
    }

    /// `PointBatch.decode` of JSON batches, in rows and columns.
    public static let jsonBatch = FuzzTarget(
        name: "json-batch",
        corpus: sampleBatches.flatMap { [$0.encodedJSON(layout: .rows), $0.encodedJSON(layout: .columns)] },
        tokens: jsonTokens
    ) { input in
        roundTrip(
            input, decode: { bytes throws(WireError) in try PointBatch.decode(bytes, limits: limits) },
            property: { declaredCountProblem(input, $0) }
        ) {
            [$0.encodedBinary(), $0.encodedJSON(layout: .rows)]
        }
    }

    /// Cluster updates with events and each kind of assignments, and provisional assignments.
    private static let sampleUpdates: [UpdateMessage] = {
        let full = WireBenchmark.snapshotUpdate(count: 30, dimension: 2, clusterCount: 3, seed: 5)
        // Valid by construction: the clusters exist, the diff's base precedes the update.
        let diff = try! ClusterUpdate(
            modelVersion: 9, time: 1_732_600_000.5, dimension: 2, windowSize: 40, noiseCount: 3,
            clusters: full.clusters, events: [.birth(2), .death(7), .merge(from: [4, 5], into: 4), .split(from: 1, into: [1, 8])],
            assignments: try Assignments(diffFrom: 8, ids: [3, 9, 12], clusters: [0, -1, 2], removed: [1, 2]))
        let bare = try! ClusterUpdate(
            modelVersion: 1, time: 0, dimension: 3, windowSize: 0, noiseCount: 0, clusters: [], events: [], assignments: nil)
        let provisional = try! ProvisionalAssignments(
            modelVersion: 9, ids: [1, 2, 3], clusters: [0, -1, 2], confidence: [1, 0, 0.25])
        return [.clusters(full), .clusters(diff), .clusters(bare), .provisional(provisional)]
    }()

    /// `UpdateMessage.decode`: what subscribers of the output socket decode.
    public static let update = FuzzTarget(
        name: "update", corpus: sampleUpdates.map { $0.encoded() },
        tokens: jsonTokens + ["\"clusters\"", "\"events\"", "\"assignments\"", "\"diff\"", "\"full\"", "\"merge\""].map { Array($0.utf8) }
    ) { input in
        roundTrip(input, decode: { bytes throws(WireError) in try UpdateMessage.decode(bytes, limits: limits) }) {
            [$0.encoded()]
        }
    }

    /// `Request.decode`: what the control endpoint decodes.
    public static let request = FuzzTarget(
        name: "request",
        corpus: [Request.snapshot, .stats, .classify(try! ClassifyQuery(dimension: 2, values: [0.5, -1, 3, 1e300]))]
            .map { $0.encoded() },
        tokens: jsonTokens + ["\"request\"", "\"classify\"", "\"snapshot\"", "\"stats\""].map { Array($0.utf8) }
    ) { input in
        roundTrip(input, decode: { bytes throws(WireError) in try Request.decode(bytes, limits: limits) }) { [$0.encoded()] }
    }

    /// `Reply.decode`: what control clients decode.
    public static let reply = FuzzTarget(
        name: "reply",
        corpus: [
            Reply.snapshot(WireBenchmark.snapshotUpdate(count: 12, dimension: 2, clusterCount: 2, seed: 3)),
            .stats(
                try! DaemonStats(
                    modelVersion: 43, dimension: 2, windowSize: 5, windowCapacity: 50_000, clusterCount: 1, noiseCount: 0,
                    pointsReceived: 24, pointsRejected: 1, pointsDropped: 0, reclusterCount: 43,
                    lastReclusterSeconds: 0.0123, uptimeSeconds: 3600.5)),
            .classification(try! Classification(modelVersion: 7, clusters: [0, -1], confidence: [0.9, 0])),
            .failure(ReplyError(code: .notReady, message: "no model yet: quote \" tab \t é 🚀")),
        ].map { $0.encoded() },
        tokens: jsonTokens + ["\"status\"", "\"error\"", "\"reply\"", "\"ok\""].map { Array($0.utf8) }
    ) { input in
        roundTrip(input, decode: { bytes throws(WireError) in try Reply.decode(bytes, limits: limits) }) { [$0.encoded()] }
    }
}
