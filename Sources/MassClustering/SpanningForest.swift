/// An edge between points `a < b` with its mutual-reachability weight.
public struct ForestEdge: Sendable, Equatable {
    /// The smaller point index.
    public var a: Int32
    /// The larger point index.
    public var b: Int32
    /// `max(core(a), core(b), distance(a, b))`.
    public var weight: Double
    /// The plain Euclidean distance between the endpoints.
    public var distance: Double

    public init(a: Int32, b: Int32, weight: Double, distance: Double) {
        self.a = a
        self.b = b
        self.weight = weight
        self.distance = distance
    }

    /// Ascending weight, then ascending distance, then ascending endpoints: a total order.
    /// Mutual reachability makes equal weights common (every edge of a sparse point weighs its
    /// core distance); breaking those ties by distance rather than by point index keeps the
    /// forest, and what is grown along it, independent of the order of the input rows.
    func precedes(_ other: ForestEdge) -> Bool {
        if weight != other.weight { return weight < other.weight }
        if distance != other.distance { return distance < other.distance }
        if a != other.a { return a < other.a }
        return b < other.b
    }
}

/// The minimum spanning forest of the mutual-reachability graph restricted to k-nearest-neighbour
/// edges: the backbone of HDBSCAN's hierarchy (Campello, Moulavi & Sander 2013; McInnes & Healy
/// 2017).
///
/// The **core distance** of a point is the *mean* distance to its `minSamples` nearest other
/// points, and `minSamples = 0` gives 0 (plain single linkage). HDBSCAN takes the distance to
/// the `minSamples`-th point alone; a single order statistic is a noisy density estimate (its
/// relative spread is about `1 / sqrt(minSamples)`, and each point has its own draw), and that
/// noise becomes spurious modes in flat regions, so we average the whole neighbourhood. The
/// **mutual-reachability** weight of an edge is `max(core(a), core(b), distance(a, b))`, which
/// pushes sparse points away from everything while leaving dense regions as they are.
///
/// **Repeated readings** (docs/algorithm.md, "Repeated readings"). Readings with equal values
/// share a *position*; the window's *replay factor* is the median number of readings per
/// position. Built from points, the density estimate counts in units of that factor: a position
/// read `m` times weighs `m / replayFactor` readings, and a point's own position counts
/// `m / replayFactor - 1` of its neighbours (none below one unit). A window whose every reading
/// arrived `r` times therefore has the core distances, the neighbour graph and (with the
/// minimum cluster size counted in the same units) the clusters of the readings once, while a
/// stuck sensor's hundreds of identical readings among distinct ones (replay factor 1) still
/// make a point of infinite density. Every further reading of a position joins its first at
/// distance 0 (weight: the position's core distance), adding mass but no neighbours. With a
/// replay factor of 1 this is exactly the plain count of the `minSamples` nearest readings.
///
/// The graph holds only the edges from each point to its `k` nearest neighbours, not all pairs,
/// so the forest is built in about O(n k) instead of O(n²). Each undirected pair is taken once.
/// Kruskal's algorithm over the edges in ``ForestEdge`` order, with a union-find (path halving,
/// union by size), keeps the minimum spanning tree of every connected component. Components of
/// the neighbour graph stay apart: they are separated at infinite distance.
///
/// ```swift
/// let points = PointMatrix(rows: [[0], [1], [2], [10], [11], [12]])
/// let forest = SpanningForest(points: points, minSamples: 2, graphNeighbours: 2)
/// forest.edges.count     // 4: two chains of two edges
/// forest.componentCount  // 2
/// ```
///
/// - Complexity: O(n k²) time to take each pair once (k integer comparisons per edge), a
///   radix sort of the n k candidate edges (plus O(r log r) per run of r equal weights) and
///   O(n k α(n)) for Kruskal; O(n k) memory.
public struct SpanningForest: Sendable {
    /// Neighbours per point in the candidate graph unless told otherwise.
    public static let defaultGraphNeighbours = 15

    /// Number of points.
    public let pointCount: Int
    /// The `minSamples` the core distances were computed with.
    public let minSamples: Int
    /// Per point: the mean distance to its `minSamples` nearest other points.
    public let coreDistances: [Double]
    /// The forest's edges, `pointCount - componentCount` of them, in ascending ``ForestEdge``
    /// order, which is the order single linkage merges them.
    public let edges: [ForestEdge]
    /// Connected components of the neighbour graph, isolated points included.
    public let componentCount: Int
    /// The median number of readings per distinct position: the unit in which the density
    /// estimate counted readings (1 unless most positions were read more than once).
    public let replayFactor: Int
    /// Per point: Levina & Bickel's statistic of the local dimension over its graph
    /// neighbours (``inverseLocalDimensions(_:columns:)``; `nan` without an estimate).
    public let inverseLocalDimensions: [Double]

    /// Builds the forest from points: a ``KDTree`` query for
    /// `k = max(minSamples, graphNeighbours)` neighbours, then ``init(neighbours:minSamples:)``;
    /// when most positions were read more than once, the query and the forest are those of the
    /// distinct positions, weighed in units of the replay factor (see the type's documentation).
    ///
    /// - Parameters:
    ///   - points: the points, as they are (scale them first if features differ in units).
    ///   - minSamples: the neighbours the core distance averages; 0 for plain single linkage.
    ///   - graphNeighbours: neighbours per point in the candidate graph; at least 1.
    ///   - threads: the most threads the neighbour search uses; the forest is the same for any.
    /// - Complexity: O(n log n * k * d) for the neighbours plus O(n k²) for the forest; with
    ///   repeated readings, another O(n log n * d) to find the positions, and with a replay
    ///   factor `r` above 1, a query of up to `k * min(r, 4)` neighbours per position.
    public init(
        points: PointMatrix, minSamples: Int, graphNeighbours: Int = SpanningForest.defaultGraphNeighbours,
        threads: Int = 1
    ) {
        precondition(graphNeighbours >= 1, "SpanningForest: graphNeighbours must be at least 1")
        let k = max(minSamples, graphNeighbours)
        let table = KDTree(points).nearestNeighbours(k: k, threads: threads)
        // A repeated reading has a neighbour at distance 0; without one, every row is distinct.
        let repeated = table.neighbourCount > 0
            && (0..<table.pointCount).contains { table.distances[$0 * table.neighbourCount] == 0 }
        let positions = repeated ? DistinctPositions(points) : nil
        guard let positions, positions.replayFactor > 1 else {
            self.init(neighbours: table, minSamples: minSamples)
            return
        }
        // Positions lighter than the unit need more of their neighbours to fill `minSamples`.
        let wide = KDTree(positions.matrix(of: points))
            .nearestNeighbours(k: k * min(positions.replayFactor, 4), threads: threads)
        self.init(positions: positions, neighbours: wide, graphNeighbours: k, minSamples: minSamples)
    }

    /// Builds the forest over the edges of a neighbour table.
    ///
    /// When the table lists fewer than `minSamples` neighbours (a table capped by a small
    /// `pointCount`), the core distance averages the listed ones; with none it is 0.
    ///
    /// - Parameters:
    ///   - neighbours: each row sorted by ascending distance, as ``KDTree`` produces.
    ///   - minSamples: the neighbours the core distance averages; 0 for plain single linkage.
    /// - Complexity: O(n k²) time, O(n k) memory.
    public init(neighbours: NeighbourTable, minSamples: Int) {
        precondition(minSamples >= 0, "SpanningForest: minSamples must not be negative")
        let n = neighbours.pointCount
        let k = neighbours.neighbourCount
        var core = [Double](repeating: 0, count: n)
        let averaged = min(minSamples, k)
        if averaged > 0 {
            neighbours.distances.withUnsafeBufferPointer { distances in
                for point in 0..<n {
                    var sum = 0.0
                    for slot in 0..<averaged { sum += distances[point * k + slot] }
                    core[point] = sum / Double(averaged)
                }
            }
        }
        var candidates = [ForestEdge]()
        candidates.reserveCapacity(n * k)
        neighbours.indices.withUnsafeBufferPointer { indices in
            neighbours.distances.withUnsafeBufferPointer { distances in
                for point in 0..<n {
                    for slot in 0..<k {
                        let other = Int(indices[point * k + slot])
                        // A pair listed by both endpoints is taken from the smaller index's row.
                        if other < point && SpanningForest.row(other, of: indices, width: k, contains: point) {
                            continue
                        }
                        candidates.append(
                            ForestEdge(
                                a: Int32(min(point, other)), b: Int32(max(point, other)),
                                weight: max(core[point], core[other], distances[point * k + slot]),
                                distance: distances[point * k + slot]))
                    }
                }
            }
        }
        self.init(
            pointCount: n, minSamples: minSamples, coreDistances: core, candidates: &candidates, replayFactor: 1,
            inverseLocalDimensions: MassClustering.inverseLocalDimensions(neighbours, columns: k))
    }

    /// The forest of the distinct `positions`, weighed in units of their replay factor, each
    /// further reading joined to its position's first reading at distance 0.
    ///
    /// - Parameters:
    ///   - neighbours: the positions' neighbour table, at least `graphNeighbours` wide; its
    ///     further columns serve only positions lighter than the unit.
    ///   - graphNeighbours: the columns that make the candidate graph.
    private init(positions: DistinctPositions, neighbours: NeighbourTable, graphNeighbours: Int, minSamples: Int) {
        let rows = neighbours.pointCount, width = neighbours.neighbourCount
        let unit = Double(positions.replayFactor)
        let graphWidth = min(graphNeighbours, width)
        var positionCore = [Double](repeating: 0, count: rows)
        if minSamples > 0 {
            let wanted = Double(minSamples)
            for row in 0..<rows {
                // The position's own further readings, at distance 0, then its neighbours'.
                var weight = max(0, Double(positions.multiplicity[row]) / unit - 1)
                var sum = 0.0
                var slot = 0
                while weight < wanted && slot < width {
                    let other = Int(neighbours.indices[row * width + slot])
                    let taken = min(Double(positions.multiplicity[other]) / unit, wanted - weight)
                    sum += taken * neighbours.distances[row * width + slot]
                    weight += taken
                    slot += 1
                }
                // Short of weight with more positions beyond the table, the rest counts at the
                // farthest listed distance; with every position listed, the mean is over them.
                if weight < wanted && width > 0 && width < rows - 1 {
                    sum += (wanted - weight) * neighbours.distances[row * width + width - 1]
                    weight = wanted
                }
                positionCore[row] = weight > 0 ? sum / weight : 0
            }
        }
        let n = positions.pointCount
        let core = positions.position.map { positionCore[Int($0)] }
        var candidates = [ForestEdge]()
        candidates.reserveCapacity(rows * graphWidth + n - rows)
        neighbours.indices.withUnsafeBufferPointer { indices in
            for row in 0..<rows {
                for slot in 0..<graphWidth {
                    let other = Int(indices[row * width + slot])
                    // A pair listed by both endpoints is taken from the smaller index's row.
                    if other < row
                        && SpanningForest.row(other, of: indices, width: width, columns: graphWidth, contains: row)
                    {
                        continue
                    }
                    let a = Int(positions.firstReading[row]), b = Int(positions.firstReading[other])
                    let distance = neighbours.distances[row * width + slot]
                    candidates.append(
                        ForestEdge(
                            a: Int32(min(a, b)), b: Int32(max(a, b)), weight: max(core[a], core[b], distance),
                            distance: distance))
                }
            }
        }
        for reading in 0..<n {
            let first = Int(positions.firstReading[Int(positions.position[reading])])
            if first != reading {
                candidates.append(ForestEdge(a: Int32(first), b: Int32(reading), weight: core[first], distance: 0))
            }
        }
        let statistic = MassClustering.inverseLocalDimensions(neighbours, columns: graphWidth)
        self.init(
            pointCount: n, minSamples: minSamples, coreDistances: core, candidates: &candidates,
            replayFactor: positions.replayFactor,
            inverseLocalDimensions: positions.position.map { statistic[Int($0)] })
    }

    /// Kruskal's algorithm over the candidate edges.
    private init(
        pointCount n: Int, minSamples: Int, coreDistances: [Double], candidates: inout [ForestEdge], replayFactor: Int,
        inverseLocalDimensions: [Double]
    ) {
        SpanningForest.sort(&candidates)
        var sets = DisjointSets(count: n)
        var edges = [ForestEdge]()
        edges.reserveCapacity(max(n - 1, 0))
        for edge in candidates where sets.union(Int(edge.a), Int(edge.b)) {
            edges.append(edge)
            if edges.count == n - 1 { break }
        }
        self.pointCount = n
        self.minSamples = minSamples
        self.coreDistances = coreDistances
        self.edges = edges
        self.componentCount = n - edges.count
        self.replayFactor = replayFactor
        self.inverseLocalDimensions = inverseLocalDimensions
    }

    /// The sum of the forest's edge weights.
    public var totalWeight: Double { edges.reduce(0) { $0 + $1.weight } }

    /// Whether the first `columns` (all by default) of `row` in a table `width` wide list `point`.
    private static func row(
        _ row: Int, of indices: UnsafeBufferPointer<Int32>, width: Int, columns: Int? = nil, contains point: Int
    ) -> Bool {
        for slot in row * width..<row * width + (columns ?? width) where indices[slot] == Int32(point) {
            return true
        }
        return false
    }

    /// Sorts edges into ``ForestEdge`` order: a stable least-significant-digit radix sort on
    /// the weight's bit pattern (which orders non-negative doubles), then a comparison sort of
    /// each run of equal weights by distance and endpoints. A comparison sort of all n k edges costs several
    /// times more.
    ///
    /// - Complexity: O(m) for m edges plus O(r log r) per run of r equal weights.
    private static func sort(_ edges: inout [ForestEdge]) {
        let count = edges.count
        let digitBits = 11, buckets = 1 << 11
        var buffer = edges
        var histogram = [Int](repeating: 0, count: buckets)
        var sortedInBuffer = false
        edges.withUnsafeMutableBufferPointer { edges in
            buffer.withUnsafeMutableBufferPointer { buffer in
                histogram.withUnsafeMutableBufferPointer { histogram in
                    for shift in stride(from: 0, to: 64, by: digitBits) {
                        let source = sortedInBuffer ? buffer : edges
                        let target = sortedInBuffer ? edges : buffer
                        func digit(_ edge: ForestEdge) -> Int {
                            // `+ 0` turns a negative zero into the positive one.
                            Int(truncatingIfNeeded: ((edge.weight + 0).bitPattern >> UInt64(shift)) & UInt64(buckets - 1))
                        }
                        histogram.update(repeating: 0)
                        for edge in source { histogram[digit(edge)] += 1 }
                        // A digit shared by all edges (the high bits, mostly) changes nothing.
                        if count == 0 || histogram[digit(source[0])] == count { continue }
                        var offset = 0
                        for bucket in 0..<buckets {
                            (histogram[bucket], offset) = (offset, offset + histogram[bucket])
                        }
                        for edge in source {
                            target[histogram[digit(edge)]] = edge
                            histogram[digit(edge)] += 1
                        }
                        sortedInBuffer.toggle()
                    }
                }
            }
        }
        if sortedInBuffer { swap(&edges, &buffer) }
        var runStart = 0
        while runStart < count {
            var runEnd = runStart + 1
            while runEnd < count && edges[runEnd].weight == edges[runStart].weight { runEnd += 1 }
            if runEnd - runStart > 1 { edges[runStart..<runEnd].sort { $0.precedes($1) } }
            runStart = runEnd
        }
    }
}

/// Union-find over `0..<count` with path halving and union by size (Tarjan 1975): near-constant
/// amortized time per operation, two flat arrays.
struct DisjointSets: Sendable {
    private var parent: [Int32]
    private var size: [Int32]

    init(count: Int) {
        parent = (0..<count).map { Int32($0) }
        size = [Int32](repeating: 1, count: count)
    }

    /// The representative of `element`'s set.
    mutating func find(_ element: Int) -> Int {
        var element = element
        while Int(parent[element]) != element {
            // Path halving: point every other node on the path at its grandparent.
            parent[element] = parent[Int(parent[element])]
            element = Int(parent[element])
        }
        return element
    }

    /// Joins the sets of `a` and `b`; `false` when they were already one set.
    mutating func union(_ a: Int, _ b: Int) -> Bool {
        var rootA = find(a), rootB = find(b)
        if rootA == rootB { return false }
        if size[rootA] < size[rootB] { swap(&rootA, &rootB) }
        parent[rootB] = Int32(rootA)
        size[rootA] += size[rootB]
        return true
    }
}

/// The distinct positions among a matrix's rows and how many readings each holds.
struct DistinctPositions: Sendable {
    /// Number of readings (rows of the matrix).
    let pointCount: Int
    /// Per reading: its position's number.
    let position: [Int32]
    /// Per position: its first reading (smallest row index).
    let firstReading: [Int32]
    /// Per position: its number of readings.
    let multiplicity: [Int32]
    /// The lower median of `multiplicity`: the unit in which the density estimate counts.
    let replayFactor: Int

    /// Groups the rows of `points` by equal values.
    ///
    /// - Complexity: O(n log n * d).
    init(_ points: PointMatrix) {
        let n = points.count, d = points.dimension
        let order = points.values.withUnsafeBufferPointer { values in
            (0..<n).sorted { a, b in
                for column in 0..<d where values[a * d + column] != values[b * d + column] {
                    return values[a * d + column] < values[b * d + column]
                }
                return a < b
            }
        }
        var position = [Int32](repeating: 0, count: n)
        var firstReading = [Int32]()
        var multiplicity = [Int32]()
        for (rank, row) in order.enumerated() {
            let repeated = rank > 0
                && (0..<d).allSatisfy { points.values[order[rank - 1] * d + $0] == points.values[row * d + $0] }
            if repeated {
                multiplicity[multiplicity.count - 1] += 1
            } else {
                firstReading.append(Int32(row))
                multiplicity.append(1)
            }
            position[row] = Int32(firstReading.count - 1)
        }
        // Positions numbered by first reading, so the graph's tie-breaks follow the rows' order.
        let byFirst = firstReading.indices.sorted { firstReading[$0] < firstReading[$1] }
        var renumber = [Int32](repeating: 0, count: byFirst.count)
        for (number, old) in byFirst.enumerated() { renumber[old] = Int32(number) }
        self.pointCount = n
        self.position = position.map { renumber[Int($0)] }
        self.firstReading = byFirst.map { firstReading[$0] }
        self.multiplicity = byFirst.map { multiplicity[$0] }
        let sorted = multiplicity.sorted()
        self.replayFactor = sorted.isEmpty ? 1 : Int(sorted[(sorted.count - 1) / 2])
    }

    /// One row per position: its first reading's values.
    func matrix(of points: PointMatrix) -> PointMatrix {
        let d = points.dimension
        var values = [Double]()
        values.reserveCapacity(firstReading.count * d)
        for reading in firstReading { values += points.row(Int(reading)) }
        return PointMatrix(count: firstReading.count, dimension: d, values: values)
    }
}
