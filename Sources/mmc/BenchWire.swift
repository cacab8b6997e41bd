import MMCDevTools
import MMCWire

/// Section `wire`: MMCWire's decode and encode rates on its seeded payloads
/// (``WireBenchmark/measure(count:dimension:seed:minimumSeconds:)``), the same payloads
/// `scripts/wire_bench.py` decodes in Python.
enum WireBench {
    /// One measured operation.
    struct Result: Encodable {
        let name: String
        let payloadBytes: Int
        let points: Int
        let values: Int
        let pointsPerSecond: Double
        let valuesPerSecond: Double
        let megabytesPerSecond: Double
    }

    /// The payload shape and every operation's rate.
    struct Section: Encodable {
        let points: Int
        let dimension: Int
        let seed: UInt64
        let results: [Result]
    }

    /// Measures each operation for at least `seconds` (mean rate).
    static func run(points: Int, dimension: Int, seed: UInt64, seconds: Double) -> Section {
        let results = WireBenchmark.measure(count: points, dimension: dimension, seed: seed, minimumSeconds: seconds)
        return Section(
            points: points, dimension: dimension, seed: seed,
            results: results.map {
                Result(
                    name: $0.name, payloadBytes: $0.payloadBytes, points: $0.points, values: $0.values,
                    pointsPerSecond: $0.pointsPerSecond, valuesPerSecond: $0.valuesPerSecond,
                    megabytesPerSecond: $0.megabytesPerSecond)
            })
    }
}
