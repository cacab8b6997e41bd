import Foundation
@testable import MassClustering
import MMCTestSupport
import Testing

/// Sensor glitches: spike readings far outside the window, replayed batches and stuck sensors
/// (docs/algorithm.md, "Scaling" and "Repeated readings").
@Suite("Sensor glitches", .tags(.unit))
struct SensorGlitchTests {
    typealias Fixtures = PipelineFixtures

    /// A small random window: 2 to 4 normal blobs of 80 to 200 readings in 2 or 3 features, each
    /// feature in its own units.
    static func window(seed: UInt64) -> PointMatrix {
        var generator = SeededGenerator(seed: seed)
        let dimension = 2 + generator.nextInt(below: 2)
        let blobs = 2 + generator.nextInt(below: 3)
        let units = (0..<dimension).map { _ in [0.01, 1, 300][generator.nextInt(below: 3)] }
        let centres = (0..<blobs).map { _ in (0..<dimension).map { units[$0] * 20 * generator.nextDouble() } }
        let spreads = (0..<blobs).map { _ in 0.3 + generator.nextDouble() }
        var rows = [[Double]]()
        for blob in 0..<blobs {
            for _ in 0..<(80 + generator.nextInt(below: 121)) {
                rows.append((0..<dimension).map {
                    centres[blob][$0] + units[$0] * spreads[blob] * Fixtures.normal(&generator)
                })
            }
        }
        return PointMatrix(rows: rows)
    }

    /// `points` with every reading `times` times, the copies after the originals.
    static func replayed(_ points: PointMatrix, times: Int) -> PointMatrix {
        PointMatrix(
            count: points.count * times, dimension: points.dimension,
            values: (0..<times).flatMap { _ in points.values })
    }

    /// `points` clustered as `mmc cluster` does at its defaults: robust scaling, far readings
    /// flagged.
    static func robustClustering(
        _ points: PointMatrix, parameters: ClusteringParameters? = nil
    ) throws -> Clustering {
        let scaled = FeatureScaling.robust.scaledMarkingFar(points)
        return cluster(scaled.points, parameters: try parameters ?? ClusteringParameters(), far: scaled.far)
    }

    static func labels(_ points: PointMatrix) throws -> [Int32] {
        try robustClustering(points).labels
    }

    @Test("robust scaling maps a clean window like its bounding box", arguments: [1, 2, 3] as [UInt64])
    func robustIsTheBoundingBoxWithoutFarReadings(seed: UInt64) {
        let points = Self.window(seed: seed)
        let robust = FeatureScaling.robust.scaled(points)
        let window = FeatureScaling.window.scaled(points)
        #expect(zip(robust.values, window.values).allSatisfy { abs($0 - $1) < 1e-12 })
    }

    @Test("far readings leave the others' scale alone and stay far away")
    func spikesKeepTheirDistance() {
        let clean = Self.window(seed: 4)
        let spike = (0..<clean.dimension).map { $0 == 0 ? 1e6 * (clean[0, 0] + 1) : clean[0, $0] }
        let spiked = PointMatrix(count: clean.count + 1, dimension: clean.dimension, values: clean.values + spike)
        let scaled = FeatureScaling.robust.scaled(spiked)
        #expect(Array(scaled.values.prefix(clean.values.count)) == FeatureScaling.robust.scaled(clean).values)
        #expect(scaled[clean.count, 0] > 1_000)
        // The bounding box lets the spike squeeze every other reading into a sliver.
        let window = FeatureScaling.window.scaled(spiked)
        #expect((0..<clean.count).allSatisfy { window[$0, 0] < 1e-3 })
    }

    @Test("robust scaling gives the same points and far readings on any number of threads")
    func robustScalingAnyThreads() {
        var generator = SeededGenerator(seed: 9)
        // 9 features (more than the threads), 10,000 readings (several row chunks), 1% far out.
        var rows = [[Double]]()
        for row in 0..<10_000 {
            var reading = [Double]()
            for feature in 0..<9 {
                let spike = row % 100 == 7 && feature == row % 9
                reading.append(spike ? 1e5 : Double(feature + 1) * generator.nextDouble())
            }
            rows.append(reading)
        }
        let points = PointMatrix(rows: rows)
        let single = FeatureScaling.robust.scaledMarkingFar(points, threads: 1)
        #expect(single.far.filter { $0 }.count == 100)
        for threads in [2, 4, 16] {
            let many = FeatureScaling.robust.scaledMarkingFar(points, threads: threads)
            #expect(many.points == single.points)
            #expect(many.far == single.far)
        }
    }

    @Test("a spike hanging off a cluster that is a component of its own is noise", arguments: ClusteringMethod.allCases)
    func spikeOffAComponentIsNoise(method: ClusteringMethod) throws {
        // The blobs are far enough apart that no reading lists the other blob among its
        // neighbours: each is a root of the hierarchy, born at lambda 0.
        let (blobs, truth) = Fixtures.blobs(centres: [[0, 0], [100, 50]], spreads: [1, 1], sizes: [200, 200], seed: 13)
        let points = PointMatrix(count: 401, dimension: 2, values: blobs.values + [1e9, 50])
        let result = try Self.robustClustering(points, parameters: try ClusteringParameters(method: method))
        #expect(result.labels[400] == -1)
        #expect(Fixtures.adjustedRandIndex(Array(result.labels.prefix(400)), truth) == 1)
        #expect(result.clusters.allSatisfy { $0.upperBound[0] < 10 })
        // Without the flags, the spike is a member of the blob it hangs off.
        let unflagged = cluster(FeatureScaling.robust.scaled(points), parameters: try ClusteringParameters(method: method))
        #expect(unflagged.labels[400] >= 0)
    }

    @Test("a feature most readings share one value of is scaled by its whole range")
    func constantBodyFallsBackToTheRange() {
        let values = [Double](repeating: 5, count: 96) + [6, 7, 8, 100]
        let points = PointMatrix(count: 100, dimension: 1, values: values)
        #expect(FeatureScaling.robust.scaled(points).values == points.minMaxScaled().values)
        let constant = PointMatrix(count: 3, dimension: 1, values: [2, 2, 2])
        #expect(FeatureScaling.robust.scaled(constant).values == [0, 0, 0])
    }

    @Test("the robust range by selection equals the one read off the sorted values", arguments: [1, 2, 3] as [UInt64])
    func robustRangeBySelection(seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        for count in [1, 2, 17, 40, 1_000, 5_003] {
            // Few distinct values (ties at the body's ends), a spread body, and far spikes.
            let values = (0..<count).map { _ in
                switch generator.nextInt(below: 10) {
                case 0: 1e6 * (generator.nextDouble() - 0.5)
                case 1...3: Double(generator.nextInt(below: 4))
                default: Fixtures.normal(&generator)
                }
            }
            let sorted = values.sorted(), last = count - 1
            let bodyLower = sorted[Int((FeatureScaling.bodyQuantile * Double(last)).rounded(.down))]
            let bodyUpper = sorted[Int(((1 - FeatureScaling.bodyQuantile) * Double(last)).rounded(.up))]
            let width = bodyUpper - bodyLower
            let fences = width > 0
                ? (bodyLower - FeatureScaling.fenceFactor * width)...(bodyUpper + FeatureScaling.fenceFactor * width)
                : sorted[0]...sorted[last]
            let within = sorted.filter { fences.contains($0) }
            var selected = values
            let range = FeatureScaling.robustRange(of: &selected)
            #expect(range.lower == within.first && range.upper == within.last && range.fences == fences, "\(count)")
            #expect(selected.sorted() == sorted)
        }
    }

    @Test("two ranks by bracketing a sample equal the sorted values' whatever the order and ties")
    func ranksByBracketing() {
        var generator = SeededGenerator(seed: 11)
        let count = 20_011
        let random = (0..<count).map { _ in Fixtures.normal(&generator) }
        let orders: [(String, [Double])] = [
            ("random", random),
            ("ascending", random.sorted()),
            ("descending", random.sorted(by: >)),
            // Each sampled position (a multiple of count / 512) holds one of the largest values.
            ("against the sample", (0..<count).map { (index: Int) -> Double in
                index % (count / 512) == 0 ? 1e3 + Double(index) : Double(index % 97)
            }),
            ("few values", (0..<count).map { _ in Double(generator.nextInt(below: 3)) }),
            ("one value", [Double](repeating: 4, count: count)),
            ("spikes", (0..<count).map { (index: Int) -> Double in index % 10 == 0 ? 1e9 : Fixtures.normal(&generator) }),
        ]
        for (name, values) in orders {
            let sorted = values.sorted()
            for (lower, upper) in [(0, count - 1), (1_000, 19_010), (5, 5), (10_000, 10_001), (count - 2, count - 1)] {
                var reordered = values
                let (low, high) = FeatureScaling.ranked(&reordered, lower, upper)
                #expect(low == sorted[lower] && high == sorted[upper], "\(name), ranks \(lower) and \(upper)")
                #expect(reordered.sorted() == sorted, "\(name)")
            }
        }
    }

    @Test("readings beyond any scale stay finite")
    func hugeValuesStayFinite() throws {
        let clean = Self.window(seed: 5)
        let spikes = (0..<clean.dimension).flatMap { _ in [1e300, -1e300] }
        let points = PointMatrix(
            count: clean.count + 2, dimension: clean.dimension, values: clean.values + spikes)
        let scaled = FeatureScaling.robust.scaled(points)
        #expect(scaled.values.allSatisfy { $0.isFinite })
        let labels = try Self.labels(points)
        #expect(labels.suffix(2) == [-1, -1])
    }

    @Test("fixed ranges map lower to 0 and upper to 1, and are validated")
    func fixedRanges() throws {
        let points = PointMatrix(rows: [[0, -40], [50, 85], [200, 22.5]])
        let scaled = try FeatureScaling(rule: .fixed, ranges: [[0, 100], [-40, 85]]).scaled(points)
        #expect(scaled.values == [0, 0, 0.5, 1, 2, 0.5])
        let far = try FeatureScaling(rule: .fixed, ranges: [[0, 100], [-40, 85]])
            .scaledMarkingFar(PointMatrix(rows: [[-299, 0], [399, 0], [-301, 0], [0, 461]])).far
        #expect(far == [false, false, true, true])
        #expect(throws: ParameterError.self) { try FeatureScaling(rule: .fixed, ranges: [[1, 1]]) }
        #expect(throws: ParameterError.self) { try FeatureScaling(rule: .fixed, ranges: [[0, .infinity]]) }
        #expect(throws: ParameterError.self) { try FeatureScaling(rule: .fixed, ranges: []) }
        #expect(throws: ParameterError.self) { try FeatureScaling(rule: .robust, ranges: [[0, 1]]) }
        #expect(try FeatureScaling(rule: .none).scaled(points) == points)
    }

    @Test("up to 1% of readings far out on any axis leave the others' clusters", arguments: 1...12)
    func farReadingsDoNotMoveTheClustering(seed: Int) throws {
        let clean = Self.window(seed: UInt64(100 + seed))
        let reference = try Self.labels(clean)
        var generator = SeededGenerator(seed: UInt64(seed))
        var values = clean.values
        let spikeCount = 1 + generator.nextInt(below: clean.count / 100)
        for _ in 0..<spikeCount {
            // A copy of some reading with one feature thrown 10 to 1e9 spans away, either side.
            var row = Array(clean.row(generator.nextInt(below: clean.count)))
            let feature = generator.nextInt(below: clean.dimension)
            let column = (0..<clean.count).map { clean[$0, feature] }
            let span = column.max()! - column.min()!
            let magnitude = pow(10, 1 + 8 * generator.nextDouble())
            row[feature] += (generator.nextInt(below: 2) == 0 ? -1 : 1) * magnitude * span
            values += row
        }
        let spiked = PointMatrix(count: clean.count + spikeCount, dimension: clean.dimension, values: values)
        let labels = try Self.labels(spiked)
        let agreement = Fixtures.adjustedRandIndex(Array(labels.prefix(clean.count)), reference)
        #expect(agreement >= 0.98, "\(spikeCount) far readings: ARI \(agreement)")
    }

    @Test("every reading repeated r times gives the labels of the readings once", arguments: [2, 3, 5, 10])
    func replaysClusterLikeTheReadingsOnce(times: Int) throws {
        for seed in [7, 8, 9] as [UInt64] {
            let once = Self.window(seed: seed)
            let reference = try Self.labels(once)
            let labels = try Self.labels(Self.replayed(once, times: times))
            #expect(labels == (0..<once.count * times).map { reference[$0 % once.count] }, "seed \(seed)")
        }
    }

    @Test("two blobs of 200 readings replayed r times are two clusters", arguments: [1, 2, 3, 5, 10])
    func replayedBlobsAreTwoClusters(times: Int) throws {
        let (once, _) = Fixtures.blobs(centres: [[0, 0], [100, 50]], spreads: [1, 1], sizes: [200, 200], seed: 11)
        let result = try Self.robustClustering(Self.replayed(once, times: times))
        #expect(result.clusters.count == 2)
    }

    @Test("a stuck sensor's identical readings are a cluster of their own", arguments: ClusteringMethod.allCases)
    func stuckSensorIsItsOwnCluster(method: ClusteringMethod) throws {
        let (blobs, truth) = Fixtures.blobs(centres: [[0, 0], [10, 0]], spreads: [1, 1], sizes: [500, 500], seed: 12)
        let stuck = PointMatrix(
            count: blobs.count + 300, dimension: 2, values: blobs.values + (0..<300).flatMap { _ in [5.0, 8.0] })
        let result = try Self.robustClustering(stuck, parameters: try ClusteringParameters(method: method))
        #expect(result.clusters.count == 3)
        let stuckLabel = result.labels[blobs.count]
        #expect(stuckLabel >= 0 && result.labels.suffix(300).allSatisfy { $0 == stuckLabel })
        #expect(!result.labels.prefix(blobs.count).contains(stuckLabel))
        #expect(Fixtures.adjustedRandIndex(Array(result.labels.prefix(blobs.count)), truth) > 0.95)
    }

    @Test("replayed readings weigh in units of the replay factor", arguments: [2, 3, 16])
    func replayFactorCountsInUnits(times: Int) {
        let once = Fixtures.uniform(count: 120, dimension: 2, seed: 5)
        let reference = SpanningForest(points: once, minSamples: 15)
        let forest = SpanningForest(points: Self.replayed(once, times: times), minSamples: 15)
        #expect(reference.replayFactor == 1 && forest.replayFactor == times)
        #expect(forest.coreDistances == (0..<once.count * times).map { reference.coreDistances[$0 % once.count] })
        #expect(forest.componentCount == reference.componentCount)
        let derived = ClusteringParameters.derivedMinClusterSize(pointCount: once.count * times, replayFactor: times)
        #expect(derived == times * ClusteringParameters.derivedMinClusterSize(pointCount: once.count))
    }

    @Test("with a replay factor of 1, repeated readings count as today: as neighbours at distance 0")
    func replayFactorOneKeepsTheReadingCount() {
        // 20 readings at one position among 100 distinct ones: most positions are read once.
        let distinct = Fixtures.uniform(count: 100, dimension: 2, seed: 6)
        let points = PointMatrix(
            count: 120, dimension: 2, values: distinct.values + (0..<20).flatMap { _ in [0.5, 0.5] })
        let forest = SpanningForest(points: points, minSamples: 15)
        let table = KDTree(points).nearestNeighbours(k: 15)
        #expect(forest.replayFactor == 1)
        #expect(forest.coreDistances == SpanningForest(neighbours: table, minSamples: 15).coreDistances)
        #expect(forest.coreDistances[100] == 0)
    }
}
