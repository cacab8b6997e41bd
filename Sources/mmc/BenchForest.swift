import MassClustering

/// A ``StreamModel`` fed point by point from a pool of points, cycling through the pool: the
/// daemon's ingest path (window append, expiry of the oldest point, forest update) without
/// the sockets.
struct PoolFeeder {
    /// The model being fed.
    private(set) var model: StreamModel
    /// The points inserted, in order, over and over.
    let pool: BenchPoints
    /// How many points have been inserted; also the next point's id and timestamp.
    private(set) var inserted = 0

    /// An empty count-based window of `windowSize` points and a forest with `parameters`.
    ///
    /// - Throws: ``ParameterError`` for a window size out of range.
    init(windowSize: Int, pool: BenchPoints, parameters: MassForest.Parameters) throws(ParameterError) {
        model = StreamModel(
            window: try SlidingWindow(dimension: pool.dimension, windowSize: windowSize), parameters: parameters)
        self.pool = pool
    }

    /// Inserts the next `count` points of the pool.
    /// - Complexity: O(count * t * h) once the window is full, without allocation.
    mutating func insert(_ count: Int) {
        let values = pool.values
        let (dimension, poolCount) = (pool.dimension, pool.count)
        var row = inserted % poolCount
        values.withUnsafeBufferPointer { points in
            for _ in 0..<count {
                let point = UnsafeBufferPointer(start: points.baseAddress! + row * dimension, count: dimension)
                model.insert(id: UInt64(inserted), timestamp: Double(inserted), values: point)
                inserted += 1
                row = row + 1 == poolCount ? 0 : row + 1
            }
        }
    }

    /// Regrows every tree from the current window, as re-clusterings do over time.
    mutating func regrowForest() {
        model.refreshTrees(count: model.parameters.treeCount)
    }
}

/// Section `forest`: points per second through a full window at the forest's default
/// parameters, each insert expiring the oldest point.
enum ForestBench {
    /// The rates for one window size.
    struct Result: Encodable {
        let windowSize: Int
        let dimension: Int
        let treeCount: Int
        let height: Int
        let sampleSize: Int
        /// Points inserted per timed repetition.
        let insertsPerRepetition: Int
        let repetitions: Int
        /// Inserts per second of the benchmark thread's CPU time.
        let cpuPointsPerSecond: Spread
        /// Inserts per second of wall time.
        let wallPointsPerSecond: Spread
    }

    /// Fills a window of `windowSize` points from `pool`, regrows the trees from the full
    /// window, then times `repetitions` runs of `inserts` inserts on the calling thread.
    ///
    /// - Throws: ``ParameterError`` for a window size out of range.
    static func run(
        windowSize: Int, pool: BenchPoints, inserts: Int, repetitions: Int
    ) throws(ParameterError) -> Result {
        let parameters = MassForest.Parameters.default
        var feeder = try PoolFeeder(windowSize: windowSize, pool: pool, parameters: parameters)
        feeder.insert(windowSize)
        feeder.regrowForest()
        let durations = (0..<repetitions).map { _ in BenchClock.measure { feeder.insert(inserts) } }
        return Result(
            windowSize: windowSize, dimension: pool.dimension, treeCount: parameters.treeCount,
            height: parameters.height, sampleSize: parameters.sampleSize, insertsPerRepetition: inserts,
            repetitions: repetitions,
            cpuPointsPerSecond: Spread(durations.map { Double(inserts) / $0.cpu }),
            wallPointsPerSecond: Spread(durations.map { Double(inserts) / $0.wall }))
    }
}

/// Section `memory`: the model's bytes per window point and per forest node, and the resident
/// set size over a long run of inserts through a fixed window.
enum MemoryBench {
    /// The resident set size after some number of inserts.
    struct Sample: Encodable {
        let inserts: Int
        let residentBytes: Int
    }

    /// The layout figures and the run.
    struct Result: Encodable {
        let dimension: Int
        let windowSize: Int
        let treeCount: Int
        let height: Int
        /// `treeCount * (2^(height+1) - 1)`.
        let forestNodes: Int
        /// From ``MassForest/memoryFootprint`` of two windows of different capacity.
        let bytesPerForestNode: Double
        /// The forest's per-slot cache (chain ends), per window point.
        let forestBytesPerWindowPoint: Double
        /// The window's own storage per point: values, timestamp, id, arrival ring, free-slot stack.
        let windowBytesPerWindowPoint: Int
        /// Window and forest together, per window point.
        let bytesPerWindowPoint: Double
        /// The whole model at `windowSize`: nodes, per-point cache and window.
        let modelBytes: Int
        let inserts: Int
        /// Resident set size once the window is full, before the timed inserts.
        let residentBytesAfterFill: Int
        /// Every tenth of the run.
        let samples: [Sample]
        let residentBytesFirst: Int
        let residentBytesLast: Int
        let residentBytesMax: Int
        /// Inserts per second of CPU time over the whole run, sampling included.
        let cpuPointsPerSecond: Double
        let wallPointsPerSecond: Double
    }

    /// Measures the layout at the default forest parameters, then runs `inserts` inserts
    /// through a full window of `windowSize` points, sampling the resident set size every
    /// tenth of the run.
    ///
    /// - Throws: ``BenchError`` where /proc/self/statm cannot be read, ``ParameterError`` for
    ///   a window size out of range.
    static func run(windowSize: Int, pool: BenchPoints, inserts: Int) throws -> Result {
        let parameters = MassForest.Parameters.default
        // Two forests over windows of different capacity: the footprint's slope is the
        // per-slot cache, its intercept the nodes.
        let smallFootprint = try footprint(windowSize: parameters.sampleSize, pool: pool).bytes
        var feeder = try PoolFeeder(windowSize: windowSize, pool: pool, parameters: parameters)
        feeder.insert(windowSize)
        let (footprint, nodes) = try footprint(of: feeder)
        let perSlot = Double(footprint - smallFootprint) / Double(windowSize - parameters.sampleSize)
        let perNode = (Double(smallFootprint) - perSlot * Double(parameters.sampleSize)) / Double(nodes)
        // SlidingWindow's layout: values, timestamp (Double), id (UInt64), arrival ring and
        // free-slot stack (Int32 each) per slot.
        let windowPerPoint = MemoryLayout<Double>.stride * (pool.dimension + 1) + MemoryLayout<UInt64>.stride
            + 2 * MemoryLayout<Int32>.stride

        guard let afterFill = residentSetBytes() else {
            throw BenchError("the memory section reads /proc/self/statm, which this system does not have")
        }
        let interval = max(1, inserts / 10)
        var samples: [Sample] = []
        var done = 0
        let duration = BenchClock.measure {
            while done < inserts {
                let step = min(interval, inserts - done)
                feeder.insert(step)
                done += step
                samples.append(Sample(inserts: done, residentBytes: residentSetBytes() ?? 0))
            }
        }
        let resident = samples.map(\.residentBytes)
        return Result(
            dimension: pool.dimension, windowSize: windowSize, treeCount: parameters.treeCount,
            height: parameters.height, forestNodes: nodes, bytesPerForestNode: perNode,
            forestBytesPerWindowPoint: perSlot, windowBytesPerWindowPoint: windowPerPoint,
            bytesPerWindowPoint: perSlot + Double(windowPerPoint),
            modelBytes: footprint + windowPerPoint * windowSize, inserts: inserts,
            residentBytesAfterFill: afterFill, samples: samples,
            residentBytesFirst: resident.first ?? afterFill, residentBytesLast: resident.last ?? afterFill,
            residentBytesMax: resident.max() ?? afterFill,
            cpuPointsPerSecond: Double(inserts) / duration.cpu, wallPointsPerSecond: Double(inserts) / duration.wall)
    }

    /// ``MassForest/memoryFootprint`` and node count of a forest over a full window of
    /// `windowSize` points from `pool`.
    private static func footprint(windowSize: Int, pool: BenchPoints) throws -> (bytes: Int, nodes: Int) {
        var feeder = try PoolFeeder(windowSize: windowSize, pool: pool, parameters: .default)
        feeder.insert(windowSize)
        return try footprint(of: feeder)
    }

    /// The footprint and node count of a feeder's forest. Nothing of the forest outlives the
    /// call: a copy held while the feeder inserts would make its next insert copy the arrays.
    private static func footprint(of feeder: PoolFeeder) throws -> (bytes: Int, nodes: Int) {
        guard let forest = feeder.model.forest else {
            throw BenchError("the forest was not grown after filling the window")
        }
        return (forest.memoryFootprint, forest.treeCount * forest.nodesPerTree)
    }
}

/// A benchmark that cannot run here, with the reason.
struct BenchError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
