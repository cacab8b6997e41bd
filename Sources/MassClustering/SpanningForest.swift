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
///   radix sort of the n k candidate edges (plus O(r log r) per run of r equal keys) and
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

    /// Builds the forest from points: a neighbour table (``KDTree``, or ``NeighbourDescent``
    /// as `neighbourSearch` picks) of `k = max(minSamples, graphNeighbours)` neighbours, then ``init(neighbours:minSamples:)``;
    /// when most positions were read more than once, the query and the forest are those of the
    /// distinct positions, weighed in units of the replay factor (see the type's documentation).
    ///
    /// - Parameters:
    ///   - points: the points, as they are (scale them first if features differ in units).
    ///   - minSamples: the neighbours the core distance averages; 0 for plain single linkage.
    ///   - graphNeighbours: neighbours per point in the candidate graph; at least 1.
    ///   - threads: the most threads the neighbour search uses; the forest is the same for any.
    ///   - neighbourSearch: exact or approximate neighbours, or the window's choice.
    /// - Complexity: O(n log n * k * d) for the neighbours plus O(n k²) for the forest; with
    ///   repeated readings, another O(n log n * d) to find the positions, and with a replay
    ///   factor `r` above 1, a query of up to `k * min(r, 4)` neighbours per position.
    public init(
        points: PointMatrix, minSamples: Int, graphNeighbours: Int = SpanningForest.defaultGraphNeighbours,
        threads: Int = 1, neighbourSearch: NeighbourSearch = .automatic
    ) {
        var scratch = [ForestEdge]()
        self.init(
            points: points, minSamples: minSamples, graphNeighbours: graphNeighbours, threads: threads,
            neighbourSearch: neighbourSearch, scratch: &scratch, spare: false)
    }

    /// The forest of ``init(points:minSamples:graphNeighbours:threads:)``, with the candidate
    /// edges and the sort's second array in `scratch`, fitted by ``ClusteringWorkspace/fit(_:to:spare:)``.
    init(
        points: PointMatrix, minSamples: Int, graphNeighbours: Int, threads: Int, neighbourSearch: NeighbourSearch,
        scratch: inout [ForestEdge], spare: Bool
    ) {
        precondition(graphNeighbours >= 1, "SpanningForest: graphNeighbours must be at least 1")
        let k = max(minSamples, graphNeighbours)
        let table = neighbourSearch.table(of: points, k: k, threads: threads)
        // A repeated reading has a neighbour at distance 0. The replay factor (the median
        // multiplicity) exceeds 1 only if positions read more than once outnumber those read
        // once; with `z` readings at distance 0 from a neighbour there are at most `z / 2` of
        // the former and at least `n - z` of the latter, so `3 z <= 2 n` settles it is 1.
        let zeros = table.neighbourCount == 0
            ? 0 : (0..<table.pointCount).reduce(0) { $0 + (table.distances[$1 * table.neighbourCount] == 0 ? 1 : 0) }
        let repeated = 3 * zeros > 2 * table.pointCount
        let positions = repeated ? DistinctPositions(points) : nil
        guard let positions, positions.replayFactor > 1 else {
            self.init(neighbours: consume table, minSamples: minSamples, threads: threads, scratch: &scratch, spare: spare)
            return
        }
        // Positions lighter than the unit need more of their neighbours to fill `minSamples`.
        let wide = neighbourSearch.table(
            of: positions.matrix(of: points), k: k * min(positions.replayFactor, 4), threads: threads)
        self.init(
            positions: positions, neighbours: consume wide, graphNeighbours: k, minSamples: minSamples,
            threads: threads, scratch: &scratch, spare: spare)
    }

    /// Builds the forest over the edges of a neighbour table.
    ///
    /// When the table lists fewer than `minSamples` neighbours (a table capped by a small
    /// `pointCount`), the core distance averages the listed ones; with none it is 0.
    ///
    /// - Parameters:
    ///   - neighbours: each row sorted by ascending distance, as ``KDTree`` and
    ///     ``NeighbourDescent`` produce it.
    ///   - minSamples: the neighbours the core distance averages; 0 for plain single linkage.
    /// - Complexity: O(n k²) time, O(n k) memory.
    public init(neighbours: consuming NeighbourTable, minSamples: Int, threads: Int = 1) {
        var scratch = [ForestEdge]()
        self.init(neighbours: neighbours, minSamples: minSamples, threads: threads, scratch: &scratch, spare: false)
    }

    private init(
        neighbours: consuming NeighbourTable, minSamples: Int, threads: Int, scratch: inout [ForestEdge], spare: Bool
    ) {
        precondition(minSamples >= 0, "SpanningForest: minSamples must not be negative")
        let n = neighbours.pointCount
        let k = neighbours.neighbourCount
        let core = SpanningForest.meanDistances(of: neighbours, columns: min(minSamples, k), threads: threads)
        let candidates = SpanningForest.candidateEdges(
            of: neighbours, columns: k, extra: 0, threads: threads, into: &scratch, spare: spare
        ) { point, other, distance in
            ForestEdge(
                a: Int32(min(point, other)), b: Int32(max(point, other)),
                weight: max(core[point], core[other], distance), distance: distance)
        }
        let statistic = MassClustering.inverseLocalDimensions(neighbours, columns: k, threads: threads)
        // The table is as large as the edges: gone before the sort needs its second array.
        _ = consume neighbours
        self.init(
            pointCount: n, minSamples: minSamples, coreDistances: core, candidates: candidates, storage: &scratch,
            replayFactor: 1, inverseLocalDimensions: statistic, threads: threads)
    }

    /// The forest of the distinct `positions`, weighed in units of their replay factor, each
    /// further reading joined to its position's first reading at distance 0.
    ///
    /// - Parameters:
    ///   - neighbours: the positions' neighbour table, at least `graphNeighbours` wide; its
    ///     further columns serve only positions lighter than the unit.
    ///   - graphNeighbours: the columns that make the candidate graph.
    private init(
        positions: DistinctPositions, neighbours: consuming NeighbourTable, graphNeighbours: Int, minSamples: Int,
        threads: Int, scratch: inout [ForestEdge], spare: Bool
    ) {
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
        let firstReading = positions.firstReading
        var candidates = SpanningForest.candidateEdges(
            of: neighbours, columns: graphWidth, extra: n - rows, threads: threads, into: &scratch, spare: spare
        ) { row, other, distance in
            let a = Int(firstReading[row]), b = Int(firstReading[other])
            return ForestEdge(
                a: Int32(min(a, b)), b: Int32(max(a, b)), weight: max(core[a], core[b], distance), distance: distance)
        }
        let statistic = MassClustering.inverseLocalDimensions(neighbours, columns: graphWidth, threads: threads)
        _ = consume neighbours
        for reading in 0..<n {
            let first = Int(positions.firstReading[Int(positions.position[reading])])
            if first != reading {
                scratch[candidates] = ForestEdge(a: Int32(first), b: Int32(reading), weight: core[first], distance: 0)
                candidates += 1
            }
        }
        self.init(
            pointCount: n, minSamples: minSamples, coreDistances: core, candidates: candidates, storage: &scratch,
            replayFactor: positions.replayFactor,
            inverseLocalDimensions: positions.position.map { statistic[Int($0)] }, threads: threads)
    }

    /// Kruskal's algorithm over the first `candidates` edges of `storage`, whose next
    /// `candidates - candidates / 2` slots hold the sort's second array.
    private init(
        pointCount n: Int, minSamples: Int, coreDistances: [Double], candidates: Int, storage: inout [ForestEdge],
        replayFactor: Int, inverseLocalDimensions: [Double], threads: Int
    ) {
        var edges = [ForestEdge]()
        edges.reserveCapacity(max(n - 1, 0))
        storage.withUnsafeMutableBufferPointer { storage in
            let half = candidates / 2
            SpanningForest.sortHalves(
                UnsafeMutableBufferPointer(rebasing: storage[..<candidates]),
                halfBuffer: UnsafeMutableBufferPointer(rebasing: storage[candidates..<(2 * candidates - half)]),
                threads: threads)
            var sets = DisjointSets(count: n)
            // The two sorted halves, merged as they are read.
            var first = 0, second = half
            while first < half || second < candidates {
                let takeFirst = second == candidates || (first < half && storage[first].precedes(storage[second]))
                let edge = takeFirst ? storage[first] : storage[second]
                if takeFirst { first += 1 } else { second += 1 }
                if sets.union(Int(edge.a), Int(edge.b)) {
                    edges.append(edge)
                    if edges.count == n - 1 { break }
                }
            }
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

    /// Rows per chunk of work handed to a thread.
    static let rowChunk = 4_096

    /// Per row, the mean of a neighbour table's first `columns` distances (0 for none).
    private static func meanDistances(of table: NeighbourTable, columns: Int, threads: Int) -> [Double] {
        let k = table.neighbourCount
        var means = [Double](repeating: 0, count: table.pointCount)
        guard columns > 0 else { return means }
        means.withUnsafeMutableBufferPointer { means in
            let output = ChunkOutput(buffer: means)
            forEachChunk(count: table.pointCount, chunkSize: rowChunk, threads: threads) { rows in
                table.distances.withUnsafeBufferPointer { distances in
                    for row in rows {
                        var sum = 0.0
                        for slot in 0..<columns { sum += distances[row * k + slot] }
                        output.buffer[row] = sum / Double(columns)
                    }
                }
            }
        }
        return means
    }

    /// The candidate graph of a neighbour table's first `columns` columns: each undirected pair
    /// once, from the smaller index's row when both rows list it, as `edge(row, other, distance)`
    /// makes it; with capacity for `extra` more edges.
    ///
    /// `row` lists `other` and `other < row`: whether `other`'s row lists `row` too is decided by
    /// its last column alone, as rows hold the nearest points in (distance, index) order and the
    /// distance between two points is the same computed from either (`(x - y)^2 == (y - x)^2`
    /// in floating point): a smaller distance than that column's is listed, a larger one is not.
    /// Only an equal one (a tie, or two squared distances that round to one root) needs the row
    /// scanned. Chunks of rows count their edges, then write them from their offset, so the
    /// edges come in row order for every `threads`.
    ///
    /// The edges go to the front of `storage`, fitted (``ClusteringWorkspace/fit(_:to:spare:)``)
    /// to hold them, the `extra` slots after them and the sort's second array; the result is
    /// how many were written.
    ///
    /// - Complexity: O(n * columns) time with few ties; the edges' memory only.
    private static func candidateEdges(
        of table: NeighbourTable, columns: Int, extra: Int, threads: Int, into storage: inout [ForestEdge], spare: Bool,
        edge: @escaping @Sendable (_ row: Int, _ other: Int, _ distance: Double) -> ForestEdge
    ) -> Int {
        let rows = table.pointCount, width = table.neighbourCount
        guard columns > 0 else {
            ClusteringWorkspace.fit(&storage, to: extra + (extra - extra / 2), spare: spare)
            return 0
        }
        let chunks = (rows + rowChunk - 1) / rowChunk
        // The last column's distances in a table of their own, 1/width of the table's memory:
        // the one read per edge that goes to a random row.
        var last = [Double](repeating: 0, count: rows)
        last.withUnsafeMutableBufferPointer { last in
            let output = ChunkOutput(buffer: last)
            forEachChunk(count: rows, chunkSize: rowChunk, threads: threads) { range in
                for row in range { output.buffer[row] = table.distances[row * width + columns - 1] }
            }
        }
        let lastColumn = last
        // One bit per (row, column): the row contributes the pair. A chunk's bits fill whole
        // words (`rowChunk` is a multiple of 64), so chunks never share a word.
        var taken = [UInt64](repeating: 0, count: (rows * columns + 63) / 64)
        var offsets = [Int](repeating: 0, count: chunks + 1)
        taken.withUnsafeMutableBufferPointer { taken in
            offsets.withUnsafeMutableBufferPointer { offsets in
                let bits = ChunkOutput(buffer: taken), counts = ChunkOutput(buffer: offsets)
                forEachChunk(count: rows, chunkSize: rowChunk, threads: threads) { range in
                    var count = 0
                    table.indices.withUnsafeBufferPointer { indices in
                        table.distances.withUnsafeBufferPointer { distances in
                            for row in range {
                                for column in 0..<columns {
                                    let slot = row * width + column, other = Int(indices[slot])
                                    if other < row {
                                        if distances[slot] < lastColumn[other] { continue }
                                        if distances[slot] == lastColumn[other]
                                            && (other * width..<other * width + columns).contains(where: {
                                                indices[$0] == Int32(row)
                                            })
                                        {
                                            continue
                                        }
                                    }
                                    let bit = row * columns + column
                                    bits.buffer[bit / 64] |= 1 << UInt64(bit % 64)
                                    count += 1
                                }
                            }
                        }
                    }
                    counts.buffer[range.lowerBound / rowChunk + 1] = count
                }
            }
        }
        for chunk in 0..<chunks { offsets[chunk + 1] += offsets[chunk] }
        let starts = offsets, takenBits = taken
        let total = starts[chunks] + extra
        ClusteringWorkspace.fit(&storage, to: total + (total - total / 2), spare: spare)
        storage.withUnsafeMutableBufferPointer { buffer in
            let output = ChunkOutput(buffer: buffer)
            forEachChunk(count: rows, chunkSize: rowChunk, threads: threads) { range in
                var next = starts[range.lowerBound / rowChunk]
                table.indices.withUnsafeBufferPointer { indices in
                    table.distances.withUnsafeBufferPointer { distances in
                        for row in range {
                            for column in 0..<columns {
                                let bit = row * columns + column
                                guard takenBits[bit / 64] & (1 << UInt64(bit % 64)) != 0 else { continue }
                                let slot = row * width + column
                                output.buffer.initializeElement(
                                    at: next, to: edge(row, Int(indices[slot]), distances[slot]))
                                next += 1
                            }
                        }
                    }
                }
            }
        }
        return starts[chunks]
    }

    /// Edges per chunk of the sort's passes: fixed, so the passes do the same for any `threads`.
    static let sortChunk = 1 << 16

    /// Radix passes of 11 bits: the weight's top 33 bits (sign, exponent and 21 bits of
    /// mantissa), a relative step of 2^-21. Weights closer than that are rare beside the
    /// exact ties the run sort settles anyway, so three passes order the edges nearly as well
    /// as six would have, at half the cost.
    static let radixPasses = 3
    static let radixDigitBits = 11

    /// The weight's bit pattern (which orders non-negative doubles as the doubles do) cut to
    /// the bits the passes sort by; `+ 0` turns a negative zero into the positive one.
    @inline(__always)
    static func radixKey(_ edge: ForestEdge) -> UInt64 {
        (edge.weight + 0).bitPattern >> UInt64(64 - radixPasses * radixDigitBits)
    }

    /// Sorts each half of `edges`, `..<m / 2` and `m / 2...`, into ``ForestEdge`` order: a
    /// stable least-significant-digit radix sort on ``radixKey(_:)``, then a comparison sort of
    /// each run of equal keys in the full order. A comparison sort of all n k edges costs
    /// several times more.
    ///
    /// Each pass counts the digits of fixed chunks of edges, then every chunk scatters its
    /// edges from its own offsets (the edges of a bucket in chunk order, so the pass stays
    /// stable); chunks and runs of equal keys are spread over `threads`. The halves are
    /// sorted one after the other with one second array of half their size, so the sort's peak
    /// memory is 1.5 times the edges instead of twice, and are left for Kruskal's scan to merge
    /// as it reads them: a merge pass of its own would run on one thread. The order is total,
    /// so the result is the same for any `threads`.
    ///
    /// - Complexity: O(m) for m edges plus O(r log r) per run of r equal keys; a second
    ///   array of m / 2 edges, `halfBuffer` (at least `m - m / 2` long).
    private static func sortHalves(
        _ edges: UnsafeMutableBufferPointer<ForestEdge>, halfBuffer buffer: UnsafeMutableBufferPointer<ForestEdge>,
        threads: Int
    ) {
        let half = edges.count / 2
        sort(UnsafeMutableBufferPointer(rebasing: edges[..<half]), buffer: buffer, threads: threads)
        sort(UnsafeMutableBufferPointer(rebasing: edges[half...]), buffer: buffer, threads: threads)
    }

    /// Sorts `edges` into ``ForestEdge`` order with the radix sort, using `buffer` (at least as
    /// long) as the second array.
    private static func sort(
        _ edges: UnsafeMutableBufferPointer<ForestEdge>, buffer: UnsafeMutableBufferPointer<ForestEdge>, threads: Int
    ) {
        let count = edges.count
        guard count > 1 else { return }
        let buffer = UnsafeMutableBufferPointer(rebasing: buffer[..<count])
        let digitBits = radixDigitBits, buckets = 1 << radixDigitBits
        let chunks = (count + sortChunk - 1) / sortChunk
        var counts = [Int](repeating: 0, count: chunks * buckets)
        var sortedInBuffer = false
        @Sendable func digit(_ edge: ForestEdge, _ shift: Int) -> Int {
            Int(truncatingIfNeeded: (radixKey(edge) >> UInt64(shift)) & UInt64(buckets - 1))
        }
        do {
            counts.withUnsafeMutableBufferPointer { counts in
                let histogram = ChunkOutput(buffer: counts)
                for shift in stride(from: 0, to: radixPasses * digitBits, by: digitBits) {
                    let source = ChunkOutput(buffer: sortedInBuffer ? buffer : edges)
                    let target = ChunkOutput(buffer: sortedInBuffer ? edges : buffer)
                    forEachChunk(count: count, chunkSize: sortChunk, threads: threads) { range in
                        let row = range.lowerBound / sortChunk * buckets
                        for bucket in row..<row + buckets { histogram.buffer[bucket] = 0 }
                        for index in range { histogram.buffer[row + digit(source.buffer[index], shift)] += 1 }
                    }
                    // A digit shared by all edges (the high bits, mostly) changes nothing.
                    let first = digit(source.buffer[0], shift)
                    if (0..<chunks).reduce(0, { $0 + counts[$1 * buckets + first] }) == count { continue }
                    var offset = 0
                    for bucket in 0..<buckets {
                        for chunk in 0..<chunks {
                            (counts[chunk * buckets + bucket], offset) = (offset, offset + counts[chunk * buckets + bucket])
                        }
                    }
                    forEachChunk(count: count, chunkSize: sortChunk, threads: threads) { range in
                        let row = range.lowerBound / sortChunk * buckets
                        for index in range {
                            let edge = source.buffer[index]
                            let slot = row + digit(edge, shift)
                            target.buffer[histogram.buffer[slot]] = edge
                            histogram.buffer[slot] += 1
                        }
                    }
                    sortedInBuffer.toggle()
                }
                if sortedInBuffer {
                    let sorted = ChunkOutput(buffer: buffer), target = ChunkOutput(buffer: edges)
                    forEachChunk(count: count, chunkSize: sortChunk, threads: threads) { range in
                        for index in range { target.buffer[index] = sorted.buffer[index] }
                    }
                }
                // Runs of equal weights: each chunk sorts the runs from its first run start to the
                // next chunk's first, so no two threads touch one edge.
                var firstStarts = [Int](repeating: count, count: chunks)
                firstStarts.withUnsafeMutableBufferPointer { firstStarts in
                    let output = ChunkOutput(buffer: firstStarts)
                    let sorted = ChunkOutput(buffer: edges)
                    forEachChunk(count: count, chunkSize: sortChunk, threads: threads) { range in
                        let edges = sorted.buffer
                        output.buffer[range.lowerBound / sortChunk] =
                            range.first { $0 == 0 || radixKey(edges[$0]) != radixKey(edges[$0 - 1]) } ?? count
                    }
                }
                var ends = [Int](repeating: count, count: chunks)
                for chunk in (0..<chunks - 1).reversed() {
                    ends[chunk] = firstStarts[chunk + 1] < count ? firstStarts[chunk + 1] : ends[chunk + 1]
                }
                let owned = (starts: firstStarts, ends: ends), sorted = ChunkOutput(buffer: edges)
                forEachChunk(count: count, chunkSize: sortChunk, threads: threads) { range in
                    let edges = sorted.buffer, chunk = range.lowerBound / sortChunk
                    var start = owned.starts[chunk]
                    while start < owned.ends[chunk] {
                        var end = start + 1
                        while end < owned.ends[chunk] && radixKey(edges[end]) == radixKey(edges[start]) { end += 1 }
                        if end - start > 1 {
                            var run = UnsafeMutableBufferPointer(rebasing: edges[start..<end])
                            run.sort { $0.precedes($1) }
                        }
                        start = end
                    }
                }
            }
        }
    }
}

/// Union-find over `0..<count` with path halving and union by size (Tarjan 1975): near-constant
/// amortized time per operation, one flat array.
struct DisjointSets: Sendable {
    /// Per element, its parent and (meaningful at roots) its set's size, side by side: a union
    /// reads both for the two roots, at random places of a large window, so one cache line
    /// serves each root instead of two.
    private var links: [SIMD2<Int32>]

    init(count: Int) {
        links = (0..<count).map { SIMD2(Int32($0), 1) }
    }

    /// The representative of `element`'s set.
    mutating func find(_ element: Int) -> Int {
        links.withUnsafeMutableBufferPointer { links in
            var element = element
            while Int(links[element][0]) != element {
                // Path halving: point every other node on the path at its grandparent.
                links[element][0] = links[Int(links[element][0])][0]
                element = Int(links[element][0])
            }
            return element
        }
    }

    /// Joins the sets of `a` and `b`; `false` when they were already one set.
    mutating func union(_ a: Int, _ b: Int) -> Bool {
        let rootA = find(a), rootB = find(b)
        if rootA == rootB { return false }
        _ = unite(roots: rootA, rootB)
        return true
    }

    /// Joins two different sets given by their representatives; returns the joined set's.
    mutating func unite(roots rootA: Int, _ rootB: Int) -> Int {
        assert(rootA != rootB && find(rootA) == rootA && find(rootB) == rootB, "DisjointSets: not two roots")
        return links.withUnsafeMutableBufferPointer { links in
            var (rootA, rootB) = (rootA, rootB)
            if links[rootA][1] < links[rootB][1] { swap(&rootA, &rootB) }
            links[rootB][0] = Int32(rootA)
            links[rootA][1] += links[rootB][1]
            return rootA
        }
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
