import Foundation
import MMCDevTools
import MMCTestSupport
import MMCWire
import Testing

/// Decode rates, run on demand from a release build:
/// `MMC_WIRE_BENCH=1 swift test -c release --filter MMCWireTests.BenchmarkTests`
/// (`MMC_WIRE_BENCH_POINTS` and `MMC_WIRE_BENCH_DIM` change the batch, defaults 10000 and 4).
@Suite("Benchmark", .enabled(if: benchmarkSetting("MMC_WIRE_BENCH") != nil), .tags(.unit))
struct BenchmarkTests {
    @Test("decode rates of the seeded payloads")
    func decodeRates() {
        let count = benchmarkSetting("MMC_WIRE_BENCH_POINTS").flatMap(Int.init) ?? 10_000
        let dimension = benchmarkSetting("MMC_WIRE_BENCH_DIM").flatMap(Int.init) ?? 4
        for result in WireBenchmark.measure(count: count, dimension: dimension, seed: 42, minimumSeconds: 1) {
            let name = result.name.padding(toLength: 24, withPad: " ", startingAt: 0)
            print("\(name) \(result.payloadBytes) bytes  \(Int(result.pointsPerSecond)) points/s  \(Int(result.valuesPerSecond)) values/s  \(Int(result.megabytesPerSecond)) MB/s")
            #expect(result.secondsPerOperation > 0)
        }
    }
}
