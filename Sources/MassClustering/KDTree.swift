internal import CMassKernels

/// The k nearest neighbours of every point, as two flat row-major `pointCount x neighbourCount`
/// tables.
///
/// Row `i` lists the other points in ascending (distance, index) order: equal distances are
/// broken by the smaller point index, so the table is exactly determined by the data and does
/// not depend on how it was computed. A point never lists itself; duplicates of it are listed
/// at distance 0.
public struct NeighbourTable: Sendable, Equatable {
    /// Number of points (rows).
    public let pointCount: Int
    /// Neighbours per point: the requested k, capped at `pointCount - 1`.
    public let neighbourCount: Int
    /// Neighbour indices, row-major.
    public let indices: [Int32]
    /// Euclidean distances matching `indices`, ascending along each row.
    public let distances: [Double]

    /// Wraps precomputed tables.
    ///
    /// - Precondition: both arrays hold `pointCount * neighbourCount` entries.
    public init(pointCount: Int, neighbourCount: Int, indices: [Int32], distances: [Double]) {
        precondition(
            indices.count == pointCount * neighbourCount && distances.count == indices.count,
            "NeighbourTable: tables do not match \(pointCount) x \(neighbourCount)")
        self.pointCount = pointCount
        self.neighbourCount = neighbourCount
        self.indices = indices
        self.distances = distances
    }
}

/// A tree for exact all-points k-nearest-neighbour queries at any dimension: a k-d tree
/// (Bentley 1975; Friedman, Bentley & Finkel 1977) whose nodes are bounded by boxes in few
/// dimensions and by balls in many (as a ball tree's are: Omohundro 1989; Uhlmann 1991).
///
/// Each node splits its points at the median of its widest dimension (the median rounded to a
/// whole block of 8 points), so the depth is O(log n) whatever the data, including many
/// identical points. A node whose points are all identical, or that holds at most `leafSize`
/// points, is a leaf. Nodes keep the smallest point index they hold, which lets a query skip a
/// run of duplicates that cannot improve its (distance, index) order.
///
/// **Bounds.** A query skips a node when a lower bound of its distance to the node's points
/// cannot beat its current k-th neighbour. Up to ``maximumBoxDimension`` features the bound is
/// the distance to the node's tight bounding box; above, the distance to its ball (centroid and
/// the largest distance of its points from it) less the radius. A box separates only along the
/// few dimensions its ancestors split; in many dimensions a query's neighbourhood is wider than
/// most of the box's gaps and boxes stop pruning, while a ball separates clusters by their whole
/// Euclidean distance. The ball bound is lowered by a relative margin of 1e-9, far above the
/// rounding error of a sum of `d` squares in any order (about `d * 2^-53` relative) for any `d`
/// below 10^6,
/// so it never skips a point that the scan would have kept: the result stays exact.
///
/// **Leaf scans.** Tree positions are stored in blocks of 8 points, column by column, so one
/// step of a leaf scan subtracts, squares and adds one column for 8 candidates at once
/// (`SIMD8<Double>`). Each lane sums its columns in order, the same operations as one point at
/// a time, so every distance is bit for bit the one a plain loop computes. A block whose 8
/// partial sums all exceed the current k-th distance is left after the next 8 columns (sums of
/// squares only grow). From ``minimumFilterDimension`` features up, queries go 8 at a time and
/// a Float32 filter with a proven error bound (``FilterBlocks``) discards most candidates
/// before their exact distance is computed; the table is the same bit for bit
/// (docs/algorithm.md section 5 gives the rule).
///
/// ```swift
/// let points = PointMatrix(rows: [[0, 0], [0, 1], [5, 5], [5, 6]])
/// let table = KDTree(points).nearestNeighbours(k: 1)
/// table.indices // [1, 0, 3, 2]
/// ```
///
/// - Complexity: building is O(n log n * d); memory O(n * d).
public struct KDTree: Sendable {
    /// Points per leaf unless told otherwise.
    public static let defaultLeafSize = 16
    /// Up to this many features nodes are bounded by boxes, above by balls.
    public static let maximumBoxDimension = 16
    /// Points per leaf-scan step (the lanes of `SIMD8<Double>`).
    static let blockWidth = 8
    /// Queries per chunk of work handed to a thread.
    static let queryChunk = 1_024
    /// From this many features up, leaves are scanned through the Float32 filter.
    public static let minimumFilterDimension = 6

    /// How a query scans the candidates of a leaf.
    enum LeafScan: Sendable {
        /// One query at a time, exact distances of 8 candidates per step (`SIMD8<Double>`).
        case plain
        /// A block of 8 queries at a time through ``FilterBlocks``; exact distances only for the
        /// candidates the filter keeps.
        case filtered
    }

    /// How nodes bound their points.
    enum Bounds: Sendable {
        /// A tight bounding box: `dimension` lower bounds, then `dimension` upper bounds.
        case box
        /// A ball: the `dimension` coordinates of the centroid, then the radius.
        case ball
    }

    /// A node's points are the tree positions `start ..< end`.
    struct Node: Sendable {
        var start: Int32
        var end: Int32
        /// The left child, or -1 for a leaf; the right child is `left + 1`.
        var left: Int32
        /// The smallest original index among the node's points.
        var minimumIndex: Int32
    }

    /// A candidate neighbour, or a pending node with its bound's squared distance.
    struct Entry {
        var squaredDistance: Double
        var index: Int32

        /// The (distance, index) order that makes neighbour lists unique.
        func precedes(_ other: Entry) -> Bool {
            squaredDistance < other.squaredDistance
                || (squaredDistance == other.squaredDistance && index < other.index)
        }
    }

    /// Number of points indexed.
    public let pointCount: Int
    /// Number of features.
    public let dimension: Int
    /// How the nodes bound their points.
    let bounds: Bounds

    /// The points as given, row-major: the queries' coordinates.
    let values: [Double]
    /// Original index of the point at each tree position; -1 pads the last block.
    let order: [Int32]
    /// Point coordinates in tree order, per block of 8 positions and per column the 8 values;
    /// empty when the leaves are scanned through ``filter``.
    private let blocks: [SIMD8<Double>]
    /// The Float32 copy of the points the filtered leaf scan reads; nil for the plain scan.
    let filter: FilterBlocks?
    let nodes: [Node]
    /// Per node, its box (2 `dimension` values) or ball (`dimension + 1`).
    let nodeBounds: [Double]
    /// Levels below the root; bounds the query stack.
    let depth: Int

    /// Builds the tree, with boxes up to ``maximumBoxDimension`` features and balls above.
    ///
    /// - Parameters:
    ///   - points: the points to index; the tree keeps its own copy in tree order.
    ///   - leafSize: the most points a leaf holds unless they are all identical; leaves hold
    ///     at least one block of 8.
    ///   - threads: the most threads the build uses; the tree is the same for any.
    /// - Complexity: O(n log n * d) expected time, O(n * d) memory.
    public init(_ points: PointMatrix, leafSize: Int = KDTree.defaultLeafSize, threads: Int = 1) {
        self.init(
            points, leafSize: leafSize, bounds: points.dimension <= KDTree.maximumBoxDimension ? .box : .ball,
            scan: points.dimension >= KDTree.minimumFilterDimension ? .filtered : .plain, threads: threads)
    }

    /// Builds the tree with the given kind of node bounds.
    ///
    /// Subtrees own disjoint ranges of the tree order, so they grow on up to `threads`
    /// threads: the root's two halves down to ``splitLevels``, then the subtrees below, each
    /// with a pivot generator seeded by its place, and put in place in that order: the tree is
    /// the same for every `threads`.
    /// With `scan` `.filtered`, points too far from their centroid for the filter's Float32
    /// arithmetic (``FilterBlocks``) are scanned plainly instead.
    init(_ points: PointMatrix, leafSize: Int, bounds: Bounds, scan: LeafScan = .plain, threads: Int = 1) {
        precondition(leafSize >= 1, "KDTree: leafSize must be at least 1")
        precondition(points.count < Int(Int32.max) - KDTree.blockWidth, "KDTree: too many points for Int32 indices")
        let n = points.count
        let d = points.dimension
        let width = KDTree.blockWidth
        let shape = Shape(dimension: d, leafSize: max(leafSize, width), bounds: bounds)
        var order = (0..<n).map { Int32($0) }
        // The points in tree order: every split moves the rows with their indices, so each
        // level reads its nodes' points in sequence instead of at random places of the input.
        var rows = points.values
        let root = Node(start: 0, end: Int32(n), left: -1, minimumIndex: .max)
        // The root's split on the calling thread, its two halves down to `splitLevels` on a
        // thread each, then the subtrees below on the pool.
        var top = order.withUnsafeMutableBufferPointer { order in
            rows.withUnsafeMutableBufferPointer { rows in
                shape.grow(root: root, order: order, rows: rows, stopLevel: 1, seed: 0)
            }
        }
        shape.growFrontier(
            of: &top, level: 1, stopLevel: KDTree.splitLevels - 1, order: &order, rows: &rows, seeds: 1 << 32,
            threads: threads)
        shape.growFrontier(
            of: &top, level: KDTree.splitLevels, stopLevel: nil, order: &order, rows: &rows, seeds: 1,
            threads: threads)
        let blockCount = (n + width - 1) / width
        order.append(contentsOf: repeatElement(-1, count: blockCount * width - n))
        rows.append(contentsOf: repeatElement(0, count: (blockCount * width - n) * d))
        let filter = scan == .filtered ? FilterBlocks(points, rows: rows, order: order, threads: threads) : nil
        var blocks = [SIMD8<Double>](repeating: .zero, count: filter == nil ? blockCount * d : 0)
        if filter == nil { blocks.withUnsafeMutableBufferPointer { blocks in
            let output = ChunkOutput(buffer: blocks), tree = rows
            forEachChunk(count: blockCount, chunkSize: KDTree.queryChunk / width, threads: threads) { range in
                tree.withUnsafeBufferPointer { rows in
                    for position in range.lowerBound * width..<min(n, range.upperBound * width) {
                        for column in 0..<d {
                            output.buffer[position / width * d + column][position % width] = rows[position * d + column]
                        }
                    }
                }
            }
        }}
        self.pointCount = n
        self.dimension = d
        self.bounds = bounds
        self.values = points.values
        self.order = order
        self.blocks = blocks
        self.filter = filter
        self.nodes = top.nodes
        self.nodeBounds = top.nodeBounds
        self.depth = top.depth
    }

    /// Levels grown before the subtrees below are grown in parallel: 2^5 = 32 subtrees,
    /// enough to keep a few threads busy when subtrees differ in cost.
    static let splitLevels = 5

    /// Nodes grown from one root, numbered from 0 (that root).
    private struct Subtree: Sendable {
        var nodes: [Node]
        var nodeBounds: [Double]
        /// Levels below the root.
        var depth: Int
        /// Nodes left ungrown at the stop level, in the order they were made.
        var frontier: [Int]

        /// Puts `subtree` in place of the ungrown node `node`, `level` levels below the root,
        /// its other nodes at the end and its own ungrown nodes in `node`'s place in `frontier`.
        mutating func append(_ subtree: Subtree, at node: Int, level: Int, stride: Int) {
            let base = nodes.count - 1
            func placed(_ child: Node) -> Node {
                var child = child
                if child.left >= 0 { child.left += Int32(base) }
                return child
            }
            nodes[node] = placed(subtree.nodes[0])
            for slot in 0..<stride { nodeBounds[node * stride + slot] = subtree.nodeBounds[slot] }
            nodes.append(contentsOf: subtree.nodes.dropFirst().map(placed))
            nodeBounds.append(contentsOf: subtree.nodeBounds.dropFirst(stride))
            depth = max(depth, level + subtree.depth)
            if let slot = frontier.firstIndex(of: node) {
                frontier.replaceSubrange(slot...slot, with: subtree.frontier.map { $0 == 0 ? node : base + $0 })
            }
        }
    }

    /// How a tree's nodes are made: what every subtree's growth shares.
    private struct Shape: Sendable {
        let dimension: Int
        let leafSize: Int
        let bounds: Bounds

        /// Values per node bound.
        var stride: Int { bounds == .box ? 2 * dimension : dimension + 1 }

        /// Grows the subtrees of `top`'s ungrown nodes, which lie `level` levels below its
        /// root, on up to `threads` threads, down to `stopLevel` levels below each (`nil`: to
        /// the leaves), the `i`-th with pivot seed `seeds + i`, and puts them in place.
        func growFrontier(
            of top: inout Subtree, level: Int, stopLevel: Int?, order: inout [Int32], rows: inout [Double],
            seeds: UInt64, threads: Int
        ) {
            let roots = top.frontier
            var subtrees = [Subtree?](repeating: nil, count: roots.count)
            order.withUnsafeMutableBufferPointer { order in
            rows.withUnsafeMutableBufferPointer { rows in
                subtrees.withUnsafeMutableBufferPointer { subtrees in
                    let tree = (order: ChunkOutput(buffer: order), rows: ChunkOutput(buffer: rows))
                    let output = ChunkOutput(buffer: subtrees), frontier = top.nodes
                    forEachChunk(count: roots.count, chunkSize: 1, threads: threads) { range in
                        output.buffer[range.lowerBound] = grow(
                            root: frontier[roots[range.lowerBound]], order: tree.order.buffer, rows: tree.rows.buffer,
                            stopLevel: stopLevel, seed: seeds + UInt64(range.lowerBound))
                    }
                }
            }}
            for (root, subtree) in zip(roots, subtrees) {
                guard let subtree else { continue }
                top.append(subtree, at: root, level: level, stride: stride)
            }
        }

        /// Grows the subtree of `root` by median splits of the widest feature, writing only
        /// `order[root.start ..< root.end]` and the same positions' `rows` (`dimension` values
        /// each, moved with their indices); nodes at `stopLevel` below the root are left ungrown
        /// and listed in `frontier`.
        func grow(
            root: Node, order: UnsafeMutableBufferPointer<Int32>, rows: UnsafeMutableBufferPointer<Double>,
            stopLevel: Int?, seed: UInt64
        ) -> Subtree {
            let d = dimension, width = KDTree.blockWidth, stride = self.stride
            let estimate = 4 * (Int(root.end - root.start) / leafSize + 1)
            var nodes = [root]
            nodes.reserveCapacity(estimate)
            var nodeBounds = [Double](repeating: 0, count: stride)
            nodeBounds.reserveCapacity(estimate * stride)
            var frontier = [Int]()
            var box = [Double](repeating: 0, count: 2 * d)
            var depth = 0
            var pivotState: UInt64 = 0x9E37_79B9_7F4A_7C15 &+ seed &* 0xD1B5_4A32_D192_ED03
            // Explicit stack of (node, level): no recursion, so no stack overflow on any input.
            var pending: [(node: Int, level: Int)] = [(0, 0)]
            while let (node, level) = pending.popLast() {
                depth = max(depth, level)
                if level == stopLevel {
                    frontier.append(node)
                    continue
                }
                let first = Int(nodes[node].start), last = Int(nodes[node].end)
                for column in 0..<d {
                    box[column] = .infinity
                    box[d + column] = -.infinity
                }
                var minimumIndex = nodes[node].minimumIndex
                box.withUnsafeMutableBufferPointer { box in
                    let lower = box.baseAddress!, upper = lower + d
                    for position in first..<last {
                        minimumIndex = min(minimumIndex, order[position])
                        let row = rows.baseAddress! + position * d
                        for column in 0..<d {
                            let value = row[column]
                            lower[column] = value < lower[column] ? value : lower[column]
                            upper[column] = value > upper[column] ? value : upper[column]
                        }
                    }
                }
                nodes[node].minimumIndex = minimumIndex
                switch bounds {
                case .box:
                    for slot in 0..<2 * d { nodeBounds[node * stride + slot] = box[slot] }
                case .ball:
                    KDTree.ball(
                        of: UnsafeBufferPointer(rebasing: rows[first * d..<last * d]), dimension: d,
                        into: &nodeBounds[node * stride..<(node + 1) * stride])
                }
                var widest = 0
                var widestRange = 0.0
                for column in 0..<d where box[d + column] - box[column] > widestRange {
                    widestRange = box[d + column] - box[column]
                    widest = column
                }
                guard last - first > leafSize, widestRange > 0 else { continue }
                // Children start on whole blocks (`first` does), so no block straddles two leaves.
                let middle = first + ((last - first) / 2 + width - 1) / width * width
                KDTree.select(
                    order, rows: rows, range: first..<last, rank: middle, column: widest, dimension: d,
                    state: &pivotState)
                let child = nodes.count
                nodes[node].left = Int32(child)
                nodes.append(Node(start: Int32(first), end: Int32(middle), left: -1, minimumIndex: .max))
                nodes.append(Node(start: Int32(middle), end: Int32(last), left: -1, minimumIndex: .max))
                nodeBounds.append(contentsOf: repeatElement(0, count: 2 * stride))
                pending.append((child + 1, level + 1))
                pending.append((child, level + 1))
            }
            return Subtree(nodes: nodes, nodeBounds: nodeBounds, depth: depth, frontier: frontier)
        }
    }

    /// Writes the centroid of the points `members` (rows of `d` values) and their largest
    /// distance from it.
    private static func ball(
        of members: UnsafeBufferPointer<Double>, dimension d: Int, into ball: inout ArraySlice<Double>
    ) {
        let count = members.count / d
        ball.withUnsafeMutableBufferPointer { ball in
            let centre = ball.baseAddress!
            centre.update(repeating: 0, count: d)
            for member in 0..<count {
                let row = members.baseAddress! + member * d
                for column in 0..<d { centre[column] += row[column] }
            }
            let scale = 1 / Double(count)
            for column in 0..<d { centre[column] *= scale }
            var radius = 0.0
            for member in 0..<count {
                radius = max(radius, KDTree.squaredDistance(members.baseAddress! + member * d, centre, dimension: d))
            }
            centre[d] = radius.squareRoot()
        }
    }

    /// The squared distance of two points, summed in any order: within `d 2^-53` relative of
    /// the true value, but not bit for bit a plain loop's (for bounds, not for neighbours).
    @inline(__always)
    static func squaredDistance(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, dimension d: Int) -> Double {
        mmc_bound_squared_distance(a, b, d)
    }

    /// Rearranges `order[range]`, and the rows of `rows` with it, so that the entry at `rank`
    /// holds the point whose `column` value would be there after sorting, with no larger value
    /// before it and no smaller after.
    ///
    /// Quickselect: each round moves the keys below a pivot to the front, then, if `rank` lies
    /// beyond them, the keys equal to it, so a run of equal values ends the search at once.
    /// Pivots are the median of three positions from a fixed-seed generator, so the expected
    /// time is linear on every input and the result is deterministic. The passes are
    /// branch-free (every position is swapped with the boundary, whether it moves or not): on
    /// unordered keys a branch on the comparison mispredicts half the time, which cost more
    /// than the swaps.
    private static func select(
        _ order: UnsafeMutableBufferPointer<Int32>, rows: UnsafeMutableBufferPointer<Double>, range: Range<Int>,
        rank: Int, column: Int, dimension: Int, state: inout UInt64
    ) {
        func key(_ position: Int) -> Double { rows[position * dimension + column] }
        /// Moves the positions of `part` whose key is `first(key)` to its front; returns where
        /// the others begin.
        func partition(_ part: Range<Int>, first: (Double) -> Bool) -> Int {
            var boundary = part.lowerBound
            for position in part {
                let moves = first(key(position))
                // [lowerBound, boundary) hold keys that go first, [boundary, position) the others.
                order.swapAt(boundary, position)
                for offset in 0..<dimension {
                    rows.swapAt(boundary * dimension + offset, position * dimension + offset)
                }
                boundary += moves ? 1 : 0
            }
            return boundary
        }
        func randomPosition(_ low: Int, _ high: Int) -> Int {
            // SplitMix64 step.
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return low + Int(z % UInt64(high - low))
        }
        var part = range
        while part.count > 1 {
            let a = key(randomPosition(part.lowerBound, part.upperBound))
            let b = key(randomPosition(part.lowerBound, part.upperBound))
            let c = key(randomPosition(part.lowerBound, part.upperBound))
            let pivot = max(min(a, b), min(max(a, b), c))
            let less = partition(part) { $0 < pivot }
            if rank < less {
                part = part.lowerBound..<less
                continue
            }
            // The pivot is one of the keys, so this part is never empty: every round shrinks.
            let equal = partition(less..<part.upperBound) { $0 == pivot }
            if rank < equal { return }
            part = equal..<part.upperBound
        }
    }

    /// The `k` nearest other points of every indexed point, ties broken by the smaller index.
    ///
    /// Each query descends from the root with an explicit stack, visiting the nearer child first
    /// and skipping a node whose bound cannot hold a point that beats the current k-th
    /// (distance, index). Queries run in tree order so consecutive ones touch the same leaves;
    /// with `threads > 1` chunks of consecutive queries run on that many threads, each writing
    /// only its own queries' rows, so the table is the same for every `threads`.
    ///
    /// - Parameters:
    ///   - k: neighbours per point; capped at `pointCount - 1`.
    ///   - threads: the most threads the queries use; 1 runs them on the calling thread.
    /// - Returns: a table with `min(k, pointCount - 1)` neighbours per point.
    /// - Complexity: about O(n log n * k * d) for well-spread low-dimensional data or well-separated
    ///   clusters, up to O(n² d) for data that fills many dimensions uniformly. No allocation per
    ///   query.
    public func nearestNeighbours(k: Int, threads: Int = 1) -> NeighbourTable {
        precondition(k >= 0, "KDTree: k must be non-negative")
        let n = pointCount
        let k = min(k, max(n - 1, 0))
        guard k > 0 else {
            return NeighbourTable(pointCount: n, neighbourCount: 0, indices: [], distances: [])
        }
        // Uninitialized: every slot is written by its row's query, and the pages are then
        // first touched by the threads that fill them instead of zeroed on the calling thread.
        var indices = [Int32](unsafeUninitializedCapacity: n * k) { _, initialized in initialized = n * k }
        var distances = [Double](unsafeUninitializedCapacity: n * k) { _, initialized in initialized = n * k }
        indices.withUnsafeMutableBufferPointer { indices in
            distances.withUnsafeMutableBufferPointer { distances in
                let rows = (indices: ChunkOutput(buffer: indices), distances: ChunkOutput(buffer: distances))
                if let filter {
                    let width = KDTree.blockWidth
                    forEachChunk(count: (n + width - 1) / width, chunkSize: KDTree.queryChunk / width, threads: threads) {
                        filteredSearch(blocks: $0, k: k, filter: filter, indices: rows.indices, distances: rows.distances)
                    }
                } else {
                    forEachChunk(count: n, chunkSize: KDTree.queryChunk, threads: threads) { positions in
                        search(positions: positions, k: k, indices: rows.indices, distances: rows.distances)
                    }
                }
            }
        }
        return NeighbourTable(pointCount: n, neighbourCount: k, indices: indices, distances: distances)
    }

    /// Answers the queries at tree positions `positions`, writing only their rows.
    private func search(
        positions: Range<Int>, k: Int, indices: ChunkOutput<Int32>, distances: ChunkOutput<Double>
    ) {
        var best = [Entry](repeating: Entry(squaredDistance: 0, index: 0), count: k)
        var stack = [Entry](repeating: Entry(squaredDistance: 0, index: 0), count: depth + 2)
        values.withUnsafeBufferPointer { values in
        order.withUnsafeBufferPointer { order in
        blocks.withUnsafeBufferPointer { blocks in
        nodes.withUnsafeBufferPointer { nodes in
        nodeBounds.withUnsafeBufferPointer { nodeBounds in
        best.withUnsafeMutableBufferPointer { best in
        stack.withUnsafeMutableBufferPointer { stack in
            let search = Search(
                dimension: dimension, bounds: bounds, values: values, order: order, blocks: blocks,
                nodes: nodes, nodeBounds: nodeBounds, best: best, stack: stack)
            for position in positions {
                let query = Int(order[position])
                search.run(query: query)
                for slot in 0..<k {
                    indices.buffer[query * k + slot] = best[slot].index
                    distances.buffer[query * k + slot] = best[slot].squaredDistance.squareRoot()
                }
            }
        }}}}}}}
    }

    /// Puts `candidate` into the list `best[0 ..< found]`, sorted by `precedes` and of at most
    /// `k` entries, unless the list is full and its last entry precedes the candidate.
    ///
    /// - Returns: whether the candidate went in.
    @inline(__always)
    @discardableResult
    static func insert(_ candidate: Entry, into best: UnsafeMutablePointer<Entry>, found: inout Int, k: Int) -> Bool {
        if found == k {
            if !candidate.precedes(best[k - 1]) { return false }
        } else {
            found += 1
        }
        // Insertion into the sorted list, shifting worse entries right.
        var slot = found - 1
        while slot > 0 && candidate.precedes(best[slot - 1]) {
            best[slot] = best[slot - 1]
            slot -= 1
        }
        best[slot] = candidate
        return true
    }

    /// Pushes the nodes `left` and `left + 1`, whose bounds are `leftBound` and `rightBound`,
    /// onto `stack[top...]`, the one of smaller key (by default its bound) last, so popped
    /// first; a tie goes to the smaller index.
    @inline(__always)
    static func push(
        children left: Int, bounds leftBound: Double, _ rightBound: Double, nodes: UnsafeBufferPointer<Node>,
        stack: UnsafeMutableBufferPointer<Entry>, top: inout Int, keys: (left: Double, right: Double)? = nil
    ) {
        let leftEntry = Entry(squaredDistance: leftBound, index: Int32(left))
        let rightEntry = Entry(squaredDistance: rightBound, index: Int32(left + 1))
        let (leftKey, rightKey) = keys ?? (leftBound, rightBound)
        let leftFirst =
            leftKey < rightKey || (leftKey == rightKey && nodes[left].minimumIndex < nodes[left + 1].minimumIndex)
        stack[top] = leftFirst ? rightEntry : leftEntry
        stack[top + 1] = leftFirst ? leftEntry : rightEntry
        top += 2
    }

    /// The smallest of 8 lanes, by halving (`SIMDMask` comparisons compile to a loop over
    /// the lanes through memory, several times slower).
    @inline(__always)
    private static func smallest(_ lanes: SIMD8<Double>) -> Double {
        let four = pointwiseMin(lanes.lowHalf, lanes.highHalf)
        let two = pointwiseMin(four.lowHalf, four.highHalf)
        return min(two[0], two[1])
    }

    /// One thread's queries: the tree's storage and that thread's scratch, as unsafe buffers
    /// valid for the duration of ``nearestNeighbours(k:threads:)``.
    private struct Search {
        let dimension: Int
        let bounds: Bounds
        let values: UnsafeBufferPointer<Double>
        let order: UnsafeBufferPointer<Int32>
        let blocks: UnsafeBufferPointer<SIMD8<Double>>
        let nodes: UnsafeBufferPointer<Node>
        let nodeBounds: UnsafeBufferPointer<Double>
        /// The best `best.count` neighbours so far, sorted by `precedes`.
        let best: UnsafeMutableBufferPointer<Entry>
        /// Pending nodes; each pop of an inner node pushes its two children, so depth + 2 slots.
        let stack: UnsafeMutableBufferPointer<Entry>

        /// Fills `best` with the neighbours of the point of original index `query`.
        func run(query: Int) {
            let d = dimension, k = best.count
            let point = values.baseAddress! + query * d
            var found = 0
            var top = 1
            stack[0] = Entry(squaredDistance: 0, index: 0)
            while top > 0 {
                top -= 1
                let node = nodes[Int(stack[top].index)]
                // A node can only help if its bound, with its smallest index, beats the current
                // k-th neighbour.
                if found == k
                    && !Entry(squaredDistance: stack[top].squaredDistance, index: node.minimumIndex)
                        .precedes(best[k - 1])
                {
                    continue
                }
                let child = Int(node.left)
                if child >= 0 {
                    KDTree.push(
                        children: child, bounds: bound(child, point), bound(child + 1, point), nodes: nodes,
                        stack: stack, top: &top)
                    continue
                }
                let width = KDTree.blockWidth
                for block in Int(node.start) / width..<(Int(node.end) + width - 1) / width {
                    let columns = block * d
                    var sums = SIMD8<Double>.zero
                    var column = 0
                    var abandoned = false
                    while column < d {
                        let stop = min(column + 8, d)
                        while column < stop {
                            let delta = blocks[columns + column] - SIMD8(repeating: point[column])
                            sums += delta * delta
                            column += 1
                        }
                        if column < d && found == k && KDTree.smallest(sums) > best[k - 1].squaredDistance {
                            abandoned = true
                            break
                        }
                    }
                    if abandoned { continue }
                    if found == k && KDTree.smallest(sums) > best[k - 1].squaredDistance { continue }
                    for lane in 0..<width {
                        let candidate = Entry(squaredDistance: sums[lane], index: order[block * width + lane])
                        if candidate.index < 0 || Int(candidate.index) == query { continue }
                        KDTree.insert(candidate, into: best.baseAddress!, found: &found, k: k)
                    }
                }
            }
        }

        /// A lower bound of the squared distance from `point` to any point of `node`.
        private func bound(_ node: Int, _ point: UnsafePointer<Double>) -> Double {
            var centreDistance = 0.0
            return KDTree.bound(
                of: node, bounds: bounds, nodeBounds: nodeBounds, dimension: dimension, lower: point, upper: point,
                radius: 0, centreDistance: &centreDistance)
        }
    }

    /// A lower bound of the squared distance from any point of a region to any point of `node`.
    ///
    /// The region is the box `lower ... upper` for box bounds, the ball of centre `lower` and
    /// `radius` for ball bounds; a point is the box and ball from itself to itself. For balls,
    /// `centreDistance` receives the distance between the two centres. A box bound
    /// is at most every exact distance (computed in column order) bit for bit: each gap is the
    /// rounded difference of coordinates no closer than the points', and rounding is monotonic.
    @inline(__always)
    static func bound(
        of node: Int, bounds: Bounds, nodeBounds: UnsafeBufferPointer<Double>, dimension d: Int,
        lower: UnsafePointer<Double>, upper: UnsafePointer<Double>, radius regionRadius: Double,
        centreDistance centreDistanceOut: inout Double
    ) -> Double {
        switch bounds {
        case .box:
            let box = node * 2 * d
            var sum = 0.0
            for column in 0..<d {
                let gap = max(nodeBounds[box + column] - upper[column], lower[column] - nodeBounds[box + d + column], 0)
                sum += gap * gap
            }
            return sum
        case .ball:
            let ball = node * (d + 1)
            // Summed in any order (C, fused): the order does not matter inside the margin.
            let sum = squaredDistance(lower, nodeBounds.baseAddress! + ball, dimension: d)
            let centreDistance = sum.squareRoot(), radius = nodeBounds[ball + d] + regionRadius
            centreDistanceOut = centreDistance
            // The margin covers the rounding of both distances (see the type's documentation).
            let gap = centreDistance - radius - 1e-9 * (centreDistance + radius)
            return gap > 0 ? gap * gap : 0
        }
    }
}
