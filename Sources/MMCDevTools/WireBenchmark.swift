internal import MMCRuntime
public import MMCWire

/// Seeded payloads and decode-rate measurements, for `mmc bench` and `scripts/wire_bench.py`.
///
/// The payloads are reproducible in any language from the documented generator, so the Python
/// script decodes exactly the same points (its interop test compares the binary bytes):
///
/// - ``SplitMix64`` seeded with `seed`;
/// - point `i` (from 0) has id `i`, timestamp `1732600000.0 + Double(i) * 0.001`, and
///   `dimension` coordinates `nextUnit() * 100.0 - 50.0`, drawn in order.
///
/// Random full-precision coordinates are the hardest case for JSON (17 significant digits).
///
/// ```swift
/// let results = WireBenchmark.measure(count: 10_000, dimension: 4, seed: 42, minimumSeconds: 0.5)
/// for result in results { print(result.name, result.pointsPerSecond) }
/// ```
public enum WireBenchmark {
    /// The SplitMix64 generator (Steele, Lea and Flood, "Fast splittable pseudorandom number
    /// generators", OOPSLA 2014).
    public struct SplitMix64: Sendable {
        private var state: UInt64

        /// Creates a generator from a seed.
        public init(seed: UInt64) { state = seed }

        /// The next 64 random bits.
        public mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }

        /// A uniform float64 in [0, 1): the top 53 bits of ``next()`` times 2^-53.
        public mutating func nextUnit() -> Double {
            Double(next() >> 11) * 0x1p-53
        }
    }

    /// The seeded batch described above.
    ///
    /// - Precondition: `count >= 1`, `dimension >= 1`.
    public static func pointBatch(count: Int, dimension: Int, seed: UInt64) -> PointBatch {
        precondition(count >= 1 && dimension >= 1, "a benchmark batch needs points and coordinates")
        var generator = SplitMix64(seed: seed)
        let values = (0..<count * dimension).map { _ in generator.nextUnit() * 100.0 - 50.0 }
        let timestamps = (0..<count).map { 1_732_600_000.0 + Double($0) * 0.001 }
        // Finite by construction, so the checks cannot fail.
        return try! PointBatch(dimension: dimension, ids: (0..<count).map(UInt64.init), timestamps: timestamps, values: values)
    }

    /// A cluster update with a full snapshot of a window of `count` points in `clusterCount`
    /// clusters (point `i` is noise when `i % 10 == 0`, else in cluster `i % clusterCount`).
    ///
    /// - Precondition: `count >= 1`, `dimension >= 1`, `clusterCount >= 1`.
    public static func snapshotUpdate(count: Int, dimension: Int, clusterCount: Int, seed: UInt64) -> ClusterUpdate {
        precondition(count >= 1 && dimension >= 1 && clusterCount >= 1, "a benchmark update needs points, coordinates and clusters")
        var generator = SplitMix64(seed: seed)
        let ids = (0..<count).map { UInt64($0) + 1_000_000_000 }
        let clusters = (0..<count).map { $0 % 10 == 0 ? Int64(-1) : Int64($0 % clusterCount) }
        let summaries = (0..<clusterCount).map { id in
            let centroid = (0..<dimension).map { _ in generator.nextUnit() * 100.0 - 50.0 }
            return try! PublishedCluster(
                id: Int64(id), mass: clusters.count { $0 == Int64(id) }, centroid: centroid,
                minimum: centroid.map { $0 - 1 }, maximum: centroid.map { $0 + 1 })
        }
        return try! ClusterUpdate(
            modelVersion: 2, time: 1_732_600_000.5, dimension: dimension, windowSize: count,
            noiseCount: clusters.count { $0 == -1 }, clusters: summaries, events: [.birth(0)],
            assignments: try! Assignments(full: ids, clusters: clusters))
    }

    /// One measured operation.
    public struct Result: Sendable, Hashable {
        /// What was measured, e.g. `decode binary`.
        public let name: String
        /// Size of one payload in bytes.
        public let payloadBytes: Int
        /// Points (or assignments) per payload.
        public let points: Int
        /// Float64 coordinates per payload (0 for updates).
        public let values: Int
        /// Mean seconds per operation.
        public let secondsPerOperation: Double

        /// Points (or assignments) per second.
        public var pointsPerSecond: Double { Double(points) / secondsPerOperation }
        /// Coordinates per second.
        public var valuesPerSecond: Double { Double(values) / secondsPerOperation }
        /// Payload megabytes (10^6) per second.
        public var megabytesPerSecond: Double { Double(payloadBytes) / secondsPerOperation / 1e6 }
    }

    /// Measures decoding of the seeded batch in binary, JSON rows and JSON columns, and encoding
    /// and decoding of a full-snapshot update of the same number of points.
    ///
    /// Each operation repeats until `minimumSeconds` have passed (at least 3 times); the result is
    /// the mean. Run it from a release build: a debug build is many times slower.
    public static func measure(count: Int, dimension: Int, seed: UInt64, minimumSeconds: Double) -> [Result] {
        let batch = pointBatch(count: count, dimension: dimension, seed: seed)
        var results: [Result] = []
        for (name, payload) in [("binary", batch.encodedBinary()), ("JSON rows", batch.encodedJSON(layout: .rows)),
                                ("JSON columns", batch.encodedJSON(layout: .columns))] {
            let seconds = time(minimumSeconds) { (try? PointBatch.decode(payload, expectedDimension: dimension))?.count ?? 0 }
            results.append(Result(name: "decode points \(name)", payloadBytes: payload.count, points: count, values: count * dimension, secondsPerOperation: seconds))
        }
        let update = UpdateMessage.clusters(snapshotUpdate(count: count, dimension: dimension, clusterCount: 16, seed: seed))
        let body = update.encoded()
        let encodeSeconds = time(minimumSeconds) { update.encoded().count }
        results.append(Result(name: "encode update snapshot", payloadBytes: body.count, points: count, values: 0, secondsPerOperation: encodeSeconds))
        let decodeSeconds = time(minimumSeconds) { (try? UpdateMessage.decode(body)) == nil ? 0 : 1 }
        results.append(Result(name: "decode update snapshot", payloadBytes: body.count, points: count, values: 0, secondsPerOperation: decodeSeconds))
        return results
    }

    /// Mean seconds per call of `operation`, repeated for at least `minimumSeconds` and 3 calls.
    private static func time(_ minimumSeconds: Double, _ operation: () -> Int) -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        var calls = 0
        var sink = 0
        var elapsed = 0.0
        while calls < 3 || elapsed < minimumSeconds {
            sink &+= operation()
            calls += 1
            elapsed = (clock.now - start).seconds
        }
        precondition(sink != Int.min, "keeps the operation's result alive")
        return elapsed / Double(calls)
    }
}
