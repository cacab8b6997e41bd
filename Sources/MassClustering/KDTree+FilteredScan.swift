internal import CMassKernels

/// The points in Float32, centred, for the filtered leaf scan of ``KDTree``: a fast lower bound
/// on each distance that discards most candidates before their exact distance is computed.
///
/// A candidate's exact squared distance `E` (Float64, the columns summed in order) is computed
/// only if the filter cannot prove that `E` exceeds the query's current `k`-th `T`; such a
/// candidate could not enter the list (a tie `E == T` is kept and settled by index), so the
/// table is the one the plain scan gives, bit for bit.
///
/// **The filter.** Let `x`, `y` be a query and a candidate, `m` the centroid of all points,
/// `p = fl32(fl64(x - m))`, `q` likewise, `u = 2^-24` and `r >= max(|x - m|, |p|)` each point's
/// radius (`|.|` the Euclidean norm). The C kernel computes `A = fl32(|p|^2 + |q|^2 - 2 p.q)`
/// with the norms rounded from exact Float64 sums and the dot product summed in Float32 (fused
/// or not, in any order), and keeps the pair when
/// `A <= (c a^2 + (s + 2u a)^2)(1 + 2^-20) + 1e-30`, `a = r_x + r_y`, `c = 1.01 (d + 8) u`,
/// `s = sqrt(T)(1 + 1e-6) + 1e-20`. Proof that `E <= T` implies it is kept:
/// 1. `E` is `|x - y|^2` with `d` rounded subtractions, squares and additions, so
///    `|x - y|^2 <= E / (1 - (d + 2) 2^-53)` and `|x - y| <= sqrt(T)(1 + (d + 2) 2^-53) < s`.
/// 2. Each coordinate of `p` is off `x - m` by at most `(2^-53 + u)|x_i - m_i|` (two roundings;
///    subnormals add at most 2^-149), so by the triangle inequality
///    `|p - q| <= |x - y| + 2u (|x - m| + |y - m|) <= s + 2u a` (1e-20 covers the subnormals).
/// 3. The computed `A` is off `|p - q|^2 = |p|^2 + |q|^2 - 2 p.q` by at most
///    `gamma(d + 4) (|p|^2 + |q|^2 + 2 sum|p_i q_i|) <= gamma(d + 4) a^2 <= c a^2` by the
///    standard bound of a sum of `d` products (Higham, *Accuracy and Stability of Numerical
///    Algorithms*, 3.1), with `gamma(n) = n u / (1 - n u) <= 1.01 n u` for `d <= 10^5`;
///    products that underflow are off by under `d 2^-149`, inside 1e-30.
/// 4. So `A <= c a^2 + (s + 2u a)^2`; the threshold's own Float32 evaluation (at most nine
///    roundings of nonnegative terms, each losing a factor `1 - u` at worst) loses less than its
///    factor `1 + 2^-20 = 1 + 16u` gives back.
///
/// The proof needs finite numbers: the filter is used only if every radius is at most 1e15 and
/// `d <= 10^5`, so no sum of squares approaches Float32's largest value (3.4e38) and no NaN
/// enters; otherwise the tree scans its leaves plainly.
struct FilterBlocks: Sendable {
    /// The points in tree order, row-major, as given (Float64): the exact distances read them
    /// here rather than in input order, so a leaf's candidates are consecutive in memory.
    let rows: [Double]
    /// Per block of 8 tree positions, per column the 8 centred coordinates in Float32; the
    /// padding of the last block is 0.
    let values: [Float]
    /// Per tree position, `|p|^2` rounded to Float32.
    let norms: [Float]
    /// Per tree position, `r`: at least both `|x - m|` and `|p|`.
    let radii: [Float]
    /// Number of features.
    let dimension: Int
    /// `c`, the relative error of the dot-product expansion, per squared radius.
    let cancellation: Float
    /// The error of rounding the centred coordinates to Float32, per radius (`2u`).
    static let rounding: Float = 0x1p-23
    /// The largest radius the proof allows.
    static let largestRadius = 1e15

    /// Converts `rows`, the `points` in the tree's `order` (-1 for padding, whose rows are 0),
    /// or nil if they are out of the filter's range (a radius above ``largestRadius``, a
    /// non-finite value, or more than 10^5 features).
    init?(_ points: PointMatrix, rows: [Double], order: [Int32], threads: Int) {
        let d = points.dimension, width = KDTree.blockWidth
        guard d >= 1, d <= 100_000 else { return nil }
        let centre = Self.centroid(points, threads: threads)
        let blockCount = order.count / width
        // Every slot is written by the chunk that owns its block (padding included), so the
        // arrays are not cleared first on this thread.
        var values = [Float](unsafeUninitializedCapacity: blockCount * d * width) { _, initialized in
            initialized = blockCount * d * width
        }
        var norms = [Float](unsafeUninitializedCapacity: blockCount * width) { _, initialized in
            initialized = blockCount * width
        }
        var radii = [Float](unsafeUninitializedCapacity: blockCount * width) { _, initialized in
            initialized = blockCount * width
        }
        var inRange = [Bool](repeating: true, count: blockCount)
        values.withUnsafeMutableBufferPointer { values in
        norms.withUnsafeMutableBufferPointer { norms in
        radii.withUnsafeMutableBufferPointer { radii in
        inRange.withUnsafeMutableBufferPointer { inRange in
            let output = (
                values: ChunkOutput(buffer: values), norms: ChunkOutput(buffer: norms),
                radii: ChunkOutput(buffer: radii), inRange: ChunkOutput(buffer: inRange)
            )
            forEachChunk(count: blockCount, chunkSize: KDTree.queryChunk / width, threads: threads) { blocks in
                rows.withUnsafeBufferPointer { source in
                    for position in blocks.lowerBound * width..<blocks.upperBound * width {
                        guard order[position] >= 0 else {
                            // Padding: zero coordinates, norm and radius, never a candidate.
                            for column in 0..<d {
                                output.values.buffer[(position / width * d + column) * width + position % width] = 0
                            }
                            output.norms.buffer[position] = 0
                            output.radii.buffer[position] = 0
                            continue
                        }
                        var centred = 0.0, rounded = 0.0
                        for column in 0..<d {
                            let offset = source[position * d + column] - centre[column]
                            let value = Float(offset)
                            output.values.buffer[(position / width * d + column) * width + position % width] = value
                            centred += offset * offset
                            rounded += Double(value) * Double(value)
                        }
                        // The sums are off by d 2^-53 relative at most, inside the 1e-6.
                        let radius = max(centred, rounded).squareRoot() * (1 + 1e-6) + 1e-30
                        output.norms.buffer[position] = Float(rounded)
                        output.radii.buffer[position] = Float(radius)
                        if !(radius <= FilterBlocks.largestRadius) { output.inRange.buffer[position / width] = false }
                    }
                }
            }
        }}}}
        guard inRange.allSatisfy({ $0 }) else { return nil }
        self.dimension = d
        self.rows = rows
        self.values = values
        self.norms = norms
        self.radii = radii
        self.cancellation = Float(1.01 * Double(d + 8) * 0x1p-24)
    }

    /// The centroid of `points`: sums over fixed chunks of rows, added in chunk order, so the
    /// same for any `threads`.
    private static func centroid(_ points: PointMatrix, threads: Int) -> [Double] {
        let n = points.count, d = points.dimension, chunkSize = 4_096
        let chunks = (n + chunkSize - 1) / chunkSize
        var sums = [Double](repeating: 0, count: chunks * d)
        sums.withUnsafeMutableBufferPointer { sums in
            let output = ChunkOutput(buffer: sums)
            forEachChunk(count: n, chunkSize: chunkSize, threads: threads) { rows in
                let base = rows.lowerBound / chunkSize * d
                points.values.withUnsafeBufferPointer { values in
                    for row in rows {
                        for column in 0..<d { output.buffer[base + column] += values[row * d + column] }
                    }
                }
            }
        }
        var centre = [Double](repeating: 0, count: d)
        for chunk in 0..<chunks {
            for column in 0..<d { centre[column] += sums[chunk * d + column] }
        }
        return centre.map { $0 / Double(max(n, 1)) }
    }

    /// Marks the candidates of the blocks `candidates` that may lie within the limits of the
    /// 8 queries of block `query` (``limit(_:)`` of their `k`-th squared distances): bit `j`
    /// of `masks[8 b + i]` for candidate `j` of block `candidates.lowerBound + b` and query `i`.
    /// A candidate left unmarked is proven farther than the limit (the type's documentation).
    func mark(query: Int, candidates: Range<Int>, limits: UnsafePointer<Float>, into masks: UnsafeMutablePointer<UInt8>) {
        let width = KDTree.blockWidth, stride = dimension * width
        values.withUnsafeBufferPointer { values in
        norms.withUnsafeBufferPointer { norms in
        radii.withUnsafeBufferPointer { radii in
            mmc_distance_filter(
                values.baseAddress! + query * stride, values.baseAddress! + candidates.lowerBound * stride,
                candidates.count, dimension, norms.baseAddress! + query * width, radii.baseAddress! + query * width,
                limits, norms.baseAddress! + candidates.lowerBound * width, radii.baseAddress! + candidates.lowerBound * width,
                cancellation, FilterBlocks.rounding, masks)
        }}}
    }

    /// The filter's `s` for a query whose `k`-th squared distance is `limit` (infinity while
    /// it has fewer than `k`).
    static func limit(_ squaredDistance: Double) -> Float {
        Float(squaredDistance.squareRoot() * (1 + 1e-6) + 1e-20)
    }
}

extension KDTree {
    /// Blocks of candidates the filter marks per call: a leaf of many identical points is
    /// marked in parts of this size.
    static let filterBlocksPerCall = 64

    /// Answers the queries of the blocks `blocks` of tree positions, writing only their rows.
    func filteredSearch(
        blocks: Range<Int>, k: Int, filter: FilterBlocks, indices: ChunkOutput<Int32>, distances: ChunkOutput<Double>
    ) {
        let width = KDTree.blockWidth, d = dimension
        var best = [Entry](repeating: Entry(squaredDistance: 0, index: 0), count: width * k)
        var stack = [Entry](repeating: Entry(squaredDistance: 0, index: 0), count: depth + 2)
        var region = [Double](repeating: 0, count: 2 * d)
        var masks = [UInt8](repeating: 0, count: width * KDTree.filterBlocksPerCall)
        filter.rows.withUnsafeBufferPointer { rows in
        order.withUnsafeBufferPointer { order in
        nodes.withUnsafeBufferPointer { nodes in
        nodeBounds.withUnsafeBufferPointer { nodeBounds in
        best.withUnsafeMutableBufferPointer { best in
        stack.withUnsafeMutableBufferPointer { stack in
        region.withUnsafeMutableBufferPointer { region in
        masks.withUnsafeMutableBufferPointer { masks in
            var search = FilteredSearch(
                dimension: d, k: k, bounds: bounds, filter: filter, rows: rows, order: order,
                nodes: nodes, nodeBounds: nodeBounds, best: best,
                stack: stack, region: region, masks: masks)
            for block in blocks {
                search.run(block: block)
                for lane in 0..<width {
                    let query = Int(order[block * width + lane])
                    guard query >= 0 else { continue }
                    for slot in 0..<k {
                        let entry = best[lane * k + slot]
                        indices.buffer[query * k + slot] = entry.index
                        distances.buffer[query * k + slot] = entry.squaredDistance.squareRoot()
                    }
                }
            }
        }}}}}}}}
    }

    /// One thread's queries through the filter, 8 at a time (one block of tree positions,
    /// all in one leaf): the tree's storage and that thread's scratch, as unsafe buffers valid
    /// for the duration of ``nearestNeighbours(k:threads:)``.
    private struct FilteredSearch {
        let dimension: Int
        let k: Int
        let bounds: Bounds
        let filter: FilterBlocks
        /// ``FilterBlocks/rows``: the points in tree order.
        let rows: UnsafeBufferPointer<Double>
        let order: UnsafeBufferPointer<Int32>
        let nodes: UnsafeBufferPointer<Node>
        let nodeBounds: UnsafeBufferPointer<Double>
        /// Per lane, the best `k` neighbours so far, sorted by `precedes`.
        let best: UnsafeMutableBufferPointer<Entry>
        let stack: UnsafeMutableBufferPointer<Entry>
        /// The block's bounding box (lower, upper) or ball (centre, in the first half).
        let region: UnsafeMutableBufferPointer<Double>
        let masks: UnsafeMutableBufferPointer<UInt8>
        /// Per lane, how many entries of `best` are filled, and the filter's limit.
        var found = [Int](repeating: 0, count: KDTree.blockWidth)
        var limits = [Float](repeating: .infinity, count: KDTree.blockWidth)
        /// Marked pairs whose exact distance is not yet computed: the query's and the
        /// candidate's tree positions, and room for the distance. One call of the filter marks
        /// at most `8 * 8 * filterBlocksPerCall` pairs, added to fewer than ``exactBatch``.
        var pendingQueries = [Int32](repeating: 0, count: FilteredSearch.pendingCapacity)
        var pendingCandidates = [Int32](repeating: 0, count: FilteredSearch.pendingCapacity)
        var pendingDistances = [Double](repeating: 0, count: FilteredSearch.pendingCapacity)
        var pending = 0

        /// Marked pairs gathered before their exact distances are computed together. A leaf
        /// marks less than one candidate per query once the lists are full, and one pair's sum
        /// is a chain of `d` dependent additions; the kernel runs eight chains side by side.
        /// Gathering delays each lane's limit by a few pairs, so a few more are marked.
        static let exactBatch = 32
        static let pendingCapacity = exactBatch + KDTree.blockWidth * KDTree.blockWidth * KDTree.filterBlocksPerCall

        init(
            dimension: Int, k: Int, bounds: Bounds, filter: FilterBlocks, rows: UnsafeBufferPointer<Double>,
            order: UnsafeBufferPointer<Int32>, nodes: UnsafeBufferPointer<Node>, nodeBounds: UnsafeBufferPointer<Double>,
            best: UnsafeMutableBufferPointer<Entry>, stack: UnsafeMutableBufferPointer<Entry>,
            region: UnsafeMutableBufferPointer<Double>, masks: UnsafeMutableBufferPointer<UInt8>
        ) {
            self.dimension = dimension
            self.k = k
            self.bounds = bounds
            self.filter = filter
            self.rows = rows
            self.order = order
            self.nodes = nodes
            self.nodeBounds = nodeBounds
            self.best = best
            self.stack = stack
            self.region = region
            self.masks = masks
        }

        /// Fills `best` with the neighbours of the queries at tree positions `8 block ..< 8 block + 8`.
        mutating func run(block: Int) {
            let d = dimension, width = KDTree.blockWidth
            // Only the last block has padding (-1) after its points.
            var lanes = width
            while order[block * width + lanes - 1] < 0 { lanes -= 1 }
            let regionRadius = measureRegion(block: block, lanes: lanes)
            for lane in 0..<width {
                found[lane] = 0
                limits[lane] = .infinity
            }
            // The entry every lane's k-th precedes or equals, once every lane has k.
            var worst: Entry?
            var top = 1
            stack[0] = Entry(squaredDistance: 0, index: 0)
            let lower = UnsafePointer(region.baseAddress!), upper = lower + d
            while top > 0 {
                top -= 1
                let node = nodes[Int(stack[top].index)]
                if let worst, !Entry(squaredDistance: stack[top].squaredDistance, index: node.minimumIndex).precedes(worst) {
                    continue
                }
                let child = Int(node.left)
                if child >= 0 {
                    // Balls: the child whose centroid is nearer the queries' goes first. Inside a
                    // cluster every ball bound is 0 (the queries' ball is about as wide), so the
                    // bounds would leave the order to chance and the k-th distances would
                    // shrink slowly.
                    var leftCentre = 0.0, rightCentre = 0.0
                    let leftBound = KDTree.bound(
                        of: child, bounds: bounds, nodeBounds: nodeBounds, dimension: d, lower: lower,
                        upper: bounds == .box ? upper : lower, radius: regionRadius, centreDistance: &leftCentre)
                    let rightBound = KDTree.bound(
                        of: child + 1, bounds: bounds, nodeBounds: nodeBounds, dimension: d, lower: lower,
                        upper: bounds == .box ? upper : lower, radius: regionRadius, centreDistance: &rightCentre)
                    KDTree.push(
                        children: child, bounds: leftBound, rightBound, nodes: nodes, stack: stack, top: &top,
                        keys: bounds == .ball ? (leftCentre, rightCentre) : nil)
                    continue
                }
                var first = Int(node.start) / width
                let end = (Int(node.end) + width - 1) / width
                while first < end {
                    let count = min(end - first, KDTree.filterBlocksPerCall)
                    scan(block: block, lanes: lanes, candidates: first..<first + count)
                    first += count
                }
                if (0..<lanes).allSatisfy({ found[$0] == k }) {
                    var last = best[k - 1]
                    for lane in 1..<lanes where last.precedes(best[lane * k + k - 1]) { last = best[lane * k + k - 1] }
                    worst = last
                }
            }
            insertPending()
        }

        /// Writes the bounding box, or the centroid, of the block's queries into `region`, and
        /// returns their largest distance from the centroid (0 for boxes).
        private func measureRegion(block: Int, lanes: Int) -> Double {
            let d = dimension, width = KDTree.blockWidth
            for column in 0..<d {
                region[column] = bounds == .box ? .infinity : 0
                region[d + column] = -.infinity
            }
            for lane in 0..<lanes {
                let point = (block * width + lane) * d
                for column in 0..<d {
                    let value = rows[point + column]
                    if bounds == .box {
                        region[column] = min(region[column], value)
                        region[d + column] = max(region[d + column], value)
                    } else {
                        region[column] += value
                    }
                }
            }
            guard bounds == .ball else { return 0 }
            for column in 0..<d { region[column] /= Double(lanes) }
            var radius = 0.0
            for lane in 0..<lanes {
                let point = (block * width + lane) * d
                var sum = 0.0
                for column in 0..<d {
                    let delta = rows[point + column] - region[column]
                    sum += delta * delta
                }
                radius = max(radius, sum)
            }
            return radius.squareRoot()
        }

        /// Marks the candidate blocks `candidates` against the query block and adds the marked
        /// pairs to the pending ones, computing them once there are ``exactBatch``.
        private mutating func scan(block: Int, lanes: Int, candidates: Range<Int>) {
            let width = KDTree.blockWidth
            limits.withUnsafeBufferPointer { limits in
                filter.mark(query: block, candidates: candidates, limits: limits.baseAddress!, into: masks.baseAddress!)
            }
            // The 8 lanes' marks of one candidate block are one 64-bit word (byte `i` is lane
            // `i`), so a block no lane marked, the common case, costs one test.
            let lanesMask: UInt64 = lanes == width ? ~0 : (1 << (8 * UInt64(lanes))) - 1
            let marks = UnsafeRawPointer(masks.baseAddress!)
            for offset in 0..<candidates.count {
                var word = marks.loadUnaligned(fromByteOffset: offset * width, as: UInt64.self) & lanesMask
                while word != 0 {
                    let bit = word.trailingZeroBitCount
                    word &= word - 1
                    let queryPosition = block * width + bit / 8
                    let position = (candidates.lowerBound + offset) * width + bit % 8
                    let candidate = order[position]
                    if candidate < 0 || candidate == order[queryPosition] { continue }
                    pendingQueries[pending] = Int32(queryPosition)
                    pendingCandidates[pending] = Int32(position)
                    pending += 1
                }
            }
            if pending >= FilteredSearch.exactBatch { insertPending() }
        }

        /// Computes the exact distances of the pending pairs and inserts each into its query's
        /// list, updating the limits of the lists that changed. The lists keep the `k` least
        /// by (distance, index), which does not depend on the order of insertion.
        private mutating func insertPending() {
            let width = KDTree.blockWidth
            pendingQueries.withUnsafeBufferPointer { queries in
            pendingCandidates.withUnsafeBufferPointer { candidates in
            pendingDistances.withUnsafeMutableBufferPointer { distances in
                mmc_exact_squared_distances(
                    rows.baseAddress!, dimension, queries.baseAddress!, candidates.baseAddress!, pending,
                    distances.baseAddress!)
            }}}
            var changed: UInt8 = 0
            for pair in 0..<pending {
                let lane = Int(pendingQueries[pair]) % width
                let entry = Entry(squaredDistance: pendingDistances[pair], index: order[Int(pendingCandidates[pair])])
                if KDTree.insert(entry, into: best.baseAddress! + lane * k, found: &found[lane], k: k) {
                    changed |= 1 << lane
                }
            }
            pending = 0
            while changed != 0 {
                let lane = changed.trailingZeroBitCount
                changed &= changed - 1
                if found[lane] == k { limits[lane] = FilterBlocks.limit(best[lane * k + k - 1].squaredDistance) }
            }
        }
    }
}
