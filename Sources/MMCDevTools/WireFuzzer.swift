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

/// What one fuzz input did.
public enum FuzzOutcome: Sendable, Hashable {
    /// It decoded, and the value survived a round trip.
    case accepted
    /// It was refused with this error code.
    case rejected(String)
    /// A property broke: a wrong error type, a round trip that changed the value.
    case failed(String)
}

/// The totals of a fuzz run.
public struct FuzzReport: Sendable, Hashable {
    /// The target's name.
    public let target: String
    /// The run's seed.
    public let seed: UInt64
    /// The index of the first input.
    public let start: Int
    /// Inputs run.
    public private(set) var execs = 0
    /// Inputs that decoded.
    public private(set) var accepted = 0
    /// Inputs refused, by error code.
    public private(set) var rejected: [String: Int] = [:]
    /// Broken properties (at most the first 100).
    public private(set) var failures: [FuzzFailure] = []
    /// The largest input tried, in bytes.
    public private(set) var largestInput = 0

    init(target: String, seed: UInt64, start: Int) {
        self.target = target
        self.seed = seed
        self.start = start
    }

    mutating func record(_ outcome: FuzzOutcome, index: Int, inputBytes: Int) {
        execs += 1
        largestInput = max(largestInput, inputBytes)
        switch outcome {
        case .accepted: accepted += 1
        case .rejected(let code): rejected[code, default: 0] += 1
        case .failed(let problem) where failures.count < 100: failures.append(FuzzFailure(index: index, problem: problem))
        case .failed: break
        }
    }
}

/// An input that broke a property: rebuild it with ``FuzzTarget/input(at:seed:)``.
public struct FuzzFailure: Sendable, Hashable {
    /// The input's index in its run.
    public let index: Int
    /// What broke.
    public let problem: String
}

/// Edits a valid input into a probably invalid one; deterministic for a seed.
public struct FuzzMutator: Sendable {
    private var random: WireBenchmark.SplitMix64
    private let corpus: [[UInt8]]
    private let tokens: [[UInt8]]

    /// Values that sit on the edges of integer fields.
    static let boundaries: [UInt64] = [
        0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, UInt64(Int64.max),
        UInt64.max,
    ]

    /// A mutator drawing from a generator seeded with `generator`, splicing from `corpus`.
    public init(generator seed: UInt64, corpus: [[UInt8]], tokens: [[UInt8]]) {
        random = WireBenchmark.SplitMix64(seed: seed)
        self.corpus = corpus
        self.tokens = tokens.isEmpty ? [[0]] : tokens
    }

    private mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(random.next() % UInt64(range.count))
    }

    /// `input` with one to four random edits.
    public mutating func mutate(_ input: [UInt8]) -> [UInt8] {
        var bytes = input
        for _ in 0..<int(1...4) {
            let index = bytes.isEmpty ? 0 : int(0...bytes.count - 1)
            switch int(0...9) {
            case 0 where !bytes.isEmpty:
                bytes[index] ^= UInt8(1 << int(0...7))
            case 1 where !bytes.isEmpty:
                bytes.removeSubrange(index..<min(bytes.count, index + int(1...8)))
            case 2:
                bytes.insert(contentsOf: tokens[int(0...tokens.count - 1)], at: index)
            case 3:
                bytes = Array(bytes.prefix(index))
            case 4 where !bytes.isEmpty:
                let end = min(bytes.count, index + int(1...16))
                bytes.insert(contentsOf: bytes[index..<end], at: int(0...bytes.count))
            case 5 where !bytes.isEmpty:
                bytes[index] = UInt8(truncatingIfNeeded: random.next())
            case 6:
                // Splice: this input's head with another corpus entry's tail.
                let other = corpus[int(0...corpus.count - 1)]
                bytes = Array(bytes.prefix(index)) + other.suffix(other.isEmpty ? 0 : int(0...other.count))
            case 7...8 where !bytes.isEmpty:
                // A boundary integer over 1, 2, 4 or 8 little-endian bytes.
                let width = [1, 2, 4, 8][int(0...3)]
                var value = Self.boundaries[int(0...Self.boundaries.count - 1)]
                if random.next() & 1 == 1 { value = value &- 1 }
                for offset in 0..<width where index + offset < bytes.count {
                    bytes[index + offset] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(offset)))
                }
            default:
                bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: index)
            }
        }
        return bytes
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
