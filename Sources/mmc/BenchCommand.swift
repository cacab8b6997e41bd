import ArgumentParser
import FoundationEssentials
import MMCConfiguration
import MMCRuntime
import MassClustering

/// `mmc bench`: measures the core, the wire codec and the transport on this machine and prints
/// the figures, readable or as one JSON object.
///
/// Five sections, each selectable with `--only`:
/// - `forest`: points per second through a full window at the forest's default parameters
///   (32 trees of height 10), each insert expiring the oldest point; thread CPU time and wall
///   time, median and range over repetitions.
/// - `recluster`: seconds per ``cluster(_:parameters:)`` with MMC and DMC on windows of points.
/// - `memory`: bytes per window point and per forest node, and the resident set size over
///   millions of inserts through a fixed window.
/// - `wire`: MMCWire's decode rates (``WireBenchmark``).
/// - `pubsub`: binary batches from PUB to SUB over TCP loopback: the delivered rate without loss
///   and the losses of a subscriber slower than its publisher.
///
/// The points are the seeded drifting stream of `mmc feed --generate drift`, or the rows of
/// `--points-file` (re-clustering) and `--stream-file` (forest, memory, pubsub), so that
/// `scripts/bench.py` can run its Python peers on exactly the same points. Everything runs on
/// dedicated threads, never on the Swift concurrency pool: the measured loops, and the
/// publisher and subscriber, which block in libzmq.
///
/// ```
/// mmc bench                                   # every section, a few minutes
/// mmc bench --only forest,wire --json         # two sections as JSON
/// mmc bench --only recluster --points-file window.csv --recluster-runs 3
/// ```
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure forest updates, re-clustering, memory, wire decoding and PUB/SUB transport.",
        discussion: """
            Sections (all by default, or those named by --only): forest (points per second \
            through a full window, 32 trees of height 10), recluster (mmc and dmc on 2-D \
            windows), memory (bytes per point and per node; resident set size over \
            --memory-inserts inserts), wire (MMCWire decode rates), pubsub (1,000-point binary \
            batches over tcp://127.0.0.1 at increasing paces, then against a slow subscriber).

            Rates are given per second of the measuring thread's CPU time and of wall time: on \
            a shared machine CPU time is the steadier of the two. The points are the seeded \
            drifting stream of mmc feed --generate drift unless --points-file and \
            --stream-file name data files (read as mmc cluster reads them). Run a release \
            build: a debug build is many times slower. Progress goes to standard error.
            """
    )

    @Option(help: "Sections to run, comma-separated: forest, recluster, memory, wire, pubsub. (default: all)")
    var only: String?

    @Flag(help: "Print one JSON object instead of the readable report.")
    var json = false

    @Option(help: "The seed of the generated points.")
    var seed: UInt64 = 1

    @Option(help: "forest: window sizes, comma-separated.")
    var forestWindows = "10000,100000"

    @Option(help: "forest: inserts per timed repetition.")
    var forestInserts = 1_000_000

    @Option(help: "forest: timed repetitions per window size.")
    var repetitions = 5

    @Option(help: "forest, memory, pubsub: stream the rows of this file (over and over) instead of the generated points.")
    var streamFile: String?

    @Option(help: "recluster: sizes of the generated windows, comma-separated; unused with --points-file.")
    var reclusterSizes = "20000,100000"

    @Option(name: .customLong("points-file"), help: "recluster: cluster the points of this file; repeatable.")
    var pointsFiles: [String] = []

    @Option(help: "recluster: runs per method and window.")
    var reclusterRuns = 5

    @Option(help: "recluster: the most threads a re-clustering uses. (default: the daemon's, every processor but one)")
    var reclusterThreads: Int?

    @Option(help: "memory: the window size.")
    var memoryWindow = 50_000

    @Option(help: "memory: inserts through the full window; the resident set size is read every tenth.")
    var memoryInserts = 10_000_000

    @Option(help: "wire: points per payload.")
    var wirePoints = 10_000

    @Option(help: "wire: coordinates per point.")
    var wireDimension = 4

    @Option(help: "wire: the payloads' seed (scripts/wire_bench.py's default is 42).")
    var wireSeed: UInt64 = 42

    @Option(help: "wire: seconds per operation at least.")
    var wireSeconds = 0.5

    @Option(help: "pubsub: paces of the paced runs in points per second, comma-separated; an unpaced run follows.")
    var pubsubRates = "1000000,2000000,4000000,6000000,8000000,10000000,12000000"

    @Option(help: "pubsub: seconds each publisher sends.")
    var pubsubSeconds = 2.0

    @Option(help: "pubsub: points per batch.")
    var batch = 1_000

    @Option(help: "pubsub: ZMQ_SNDHWM and ZMQ_RCVHWM in messages. (default: libzmq's, 1000)")
    var hwm: Int?

    @Option(help: "pubsub: milliseconds the slow subscriber sleeps after each batch.")
    var slowSleepMs = 2.0

    func validate() throws {
        _ = try plan()
    }

    func run() async throws {
        let plan = try plan()
        let report = try await withCheckedThrowingContinuation { continuation in
            do {
                try startDedicatedThread(named: "mmc.bench") {
                    continuation.resume(with: Result { try plan.run() })
                }
            } catch {
                continuation.resume(throwing: error)
            }
        }
        try Output.writeStandardOutput(Array((json ? report.json() : report.text()).utf8))
    }

    /// The checked settings.
    ///
    /// - Throws: `ValidationError` naming the flag at fault.
    private func plan() throws -> BenchPlan {
        var sections = Set(BenchSection.allCases)
        if let only {
            sections = try Set(only.split(separator: ",").map { name in
                guard let section = BenchSection(rawValue: name.trimmingBlanks()) else {
                    throw ValidationError("--only: unknown section \"\(name)\"; use \(BenchSection.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return section
            })
        }
        func positive(_ value: Int, _ flag: String) throws -> Int {
            guard value >= 1 else { throw ValidationError("--\(flag) must be at least 1, got \(value)") }
            return value
        }
        func positive(_ value: Double, _ flag: String) throws -> Double {
            guard value > 0 && value.isFinite else { throw ValidationError("--\(flag) must be a positive number, got \(value)") }
            return value
        }
        func list(_ text: String, _ flag: String) throws -> [Int] {
            try text.split(separator: ",").map { item in
                guard let value = Int(item.trimmingBlanks()), value >= 1, value <= Int(Int32.max) else {
                    throw ValidationError("--\(flag): \"\(item)\" is not a whole number in 1...\(Int32.max)")
                }
                return value
            }
        }
        let sampleSize = MassForest.Parameters.default.sampleSize
        guard memoryWindow > sampleSize, memoryWindow <= Int(Int32.max) else {
            throw ValidationError("--memory-window must be in \(sampleSize + 1)...\(Int32.max), got \(memoryWindow)")
        }
        if let hwm, !(0...Int(Int32.max)).contains(hwm) {
            throw ValidationError("--hwm must be in 0...\(Int32.max), got \(hwm)")
        }
        guard slowSleepMs >= 0 && slowSleepMs.isFinite else {
            throw ValidationError("--slow-sleep-ms must not be negative, got \(slowSleepMs)")
        }
        return BenchPlan(
            sections: sections, seed: seed, command: CommandLine.arguments.joined(separator: " "),
            forestWindows: try list(forestWindows, "forest-windows"),
            forestInserts: try positive(forestInserts, "forest-inserts"),
            repetitions: try positive(repetitions, "repetitions"), streamFile: streamFile,
            reclusterSizes: try list(reclusterSizes, "recluster-sizes"), pointsFiles: pointsFiles,
            reclusterRuns: try positive(reclusterRuns, "recluster-runs"),
            reclusterThreads: try positive(
                reclusterThreads
                    ?? DaemonConfiguration.Clustering().resolvedThreads(
                        processors: ProcessInfo.processInfo.activeProcessorCount),
                "recluster-threads"),
            memoryWindow: memoryWindow,
            memoryInserts: try positive(memoryInserts, "memory-inserts"),
            wirePoints: try positive(wirePoints, "wire-points"), wireDimension: try positive(wireDimension, "wire-dimension"),
            wireSeed: wireSeed, wireSeconds: try positive(wireSeconds, "wire-seconds"),
            pubsubRates: try list(pubsubRates, "pubsub-rates").map(Double.init),
            pubsubSeconds: try positive(pubsubSeconds, "pubsub-seconds"), batchSize: try positive(batch, "batch"),
            highWaterMark: hwm, slowSleepMilliseconds: slowSleepMs)
    }
}

/// The sections of `mmc bench`, in the order they run.
enum BenchSection: String, CaseIterable, Sendable {
    case forest
    case recluster
    case neighbours
    case memory
    case wire
    case pubsub
}

/// The checked settings of one `mmc bench` run.
struct BenchPlan: Sendable {
    let sections: Set<BenchSection>
    let seed: UInt64
    let command: String
    let forestWindows: [Int]
    let forestInserts: Int
    let repetitions: Int
    let streamFile: String?
    let reclusterSizes: [Int]
    let pointsFiles: [String]
    let reclusterRuns: Int
    let reclusterThreads: Int
    let memoryWindow: Int
    let memoryInserts: Int
    let wirePoints: Int
    let wireDimension: Int
    let wireSeed: UInt64
    let wireSeconds: Double
    let pubsubRates: [Double]
    let pubsubSeconds: Double
    let batchSize: Int
    let highWaterMark: Int?
    let slowSleepMilliseconds: Double

    /// Runs the chosen sections in order on the calling thread, reporting progress on
    /// standard error.
    ///
    /// - Throws: ``FileError`` for an unreadable data file, ``BenchError`` or a ZeroMQ error
    ///   for a section that cannot run.
    func run() throws -> BenchReport {
        var report = BenchReport(machine: .current(), command: command)
        let needsStream = !sections.isDisjoint(with: [.forest, .memory, .pubsub])
        // Twice the largest window, so that a point never meets itself in the window.
        let poolSize = 2 * max(memoryWindow, forestWindows.max() ?? 0)
        let pool: BenchPoints? =
            if !needsStream { nil } else if let streamFile { try BenchPoints.file(streamFile) } else {
                BenchPoints.drift(count: poolSize, seed: seed)
            }
        if sections.contains(.forest), let pool {
            report.forest = try forestWindows.map { window in
                progress("forest: window \(window), \(repetitions) x \(forestInserts) inserts")
                return try ForestBench.run(windowSize: window, pool: pool, inserts: forestInserts, repetitions: repetitions)
            }
        }
        // The windows of the recluster and neighbours sections: the files given, or drift windows.
        let windows = pointsFiles.isEmpty ? reclusterSizes.map { Source.drift($0) } : pointsFiles.map { Source.file($0) }
        if sections.contains(.recluster) {
            report.recluster = try windows.flatMap { window in
                let points = try window.load(seed: seed)
                progress("recluster: \(points.count) points from \(points.source), \(reclusterRuns) runs per method")
                return try ReclusterBench.run(
                    points: points, runs: reclusterRuns,
                    threads: reclusterThreads)
            }
        }
        if sections.contains(.neighbours) {
            report.neighbours = try windows.map { window in
                let points = try window.load(seed: seed)
                progress("neighbours: \(points.count) points from \(points.source), \(reclusterRuns) runs per search")
                return NeighbourBench.run(
                    points: points, k: SpanningForest.defaultGraphNeighbours, runs: reclusterRuns, threads: reclusterThreads)
            }
        }
        if sections.contains(.memory), let pool {
            progress("memory: window \(memoryWindow), \(memoryInserts) inserts")
            report.memory = try MemoryBench.run(windowSize: memoryWindow, pool: pool, inserts: memoryInserts)
        }
        if sections.contains(.wire) {
            progress("wire: \(wirePoints) points of dimension \(wireDimension)")
            report.wire = WireBench.run(points: wirePoints, dimension: wireDimension, seed: wireSeed, seconds: wireSeconds)
        }
        if sections.contains(.pubsub), let pool {
            progress("pubsub: \(pubsubRates.count + 2) runs of \(pubsubSeconds) s")
            report.pubsub = try PubSubBench.run(
                pool: pool, batchSize: batchSize, highWaterMark: highWaterMark, seconds: pubsubSeconds,
                rates: pubsubRates, slowSleepMilliseconds: slowSleepMilliseconds)
        }
        return report
    }

    /// A window of the recluster section, before it is read or generated.
    private enum Source {
        case drift(Int)
        case file(String)

        func load(seed: UInt64) throws(FileError) -> BenchPoints {
            switch self {
            case .drift(let count): BenchPoints.drift(count: count, seed: seed)
            case .file(let path): try BenchPoints.file(path)
            }
        }
    }

    private func progress(_ line: String) {
        Output.writeStandardError("mmc bench: \(line)\n")
    }
}
