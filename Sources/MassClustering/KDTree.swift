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

/// A k-d tree for exact all-points k-nearest-neighbour queries (Bentley 1975; Friedman,
/// Bentley & Finkel 1977).
///
/// Each node splits its points at the median of its widest dimension, so the depth is
/// O(log n) whatever the data, including many identical points. A node whose points are all
/// identical, or that holds at most `leafSize` points, is a leaf. Nodes keep tight bounding
/// boxes, which prune better than split planes, and the smallest point index they hold, which
/// lets a query skip a run of duplicates that cannot improve its (distance, index) order. Points
/// are copied into tree order so that a leaf scan reads contiguous memory. Above
/// ``maximumSplitDimension`` features boxes stop pruning, so the tree is a single leaf and the
/// query becomes a brute-force scan.
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
    /// Above this many features the tree does not split and queries scan every point.
    public static let maximumSplitDimension = 16

    /// A node's points are the tree positions `start ..< end`.
    private struct Node {
        var start: Int32
        var end: Int32
        /// The left child, or -1 for a leaf; the right child is `left + 1`.
        var left: Int32
        /// The smallest original index among the node's points.
        var minimumIndex: Int32
    }

    /// A candidate neighbour, or a pending node with its box's squared distance.
    private struct Entry {
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

    /// Original index of the point at each tree position.
    private let order: [Int32]
    /// Point coordinates in tree order, row-major.
    private let coordinates: [Double]
    private let nodes: [Node]
    /// Per node, a tight bounding box: `dimension` lower bounds, then `dimension` upper bounds.
    private let boxes: [Double]
    /// Levels below the root; bounds the query stack.
    private let depth: Int

    /// Builds the tree.
    ///
    /// - Parameters:
    ///   - points: the points to index; the tree keeps its own copy in tree order.
    ///   - leafSize: the most points a leaf holds unless they are all identical.
    /// - Complexity: O(n log n * d) expected time, O(n * d) memory.
    public init(_ points: PointMatrix, leafSize: Int = KDTree.defaultLeafSize) {
        precondition(leafSize >= 1, "KDTree: leafSize must be at least 1")
        precondition(points.count < Int(Int32.max), "KDTree: too many points for Int32 indices")
        let n = points.count
        let d = points.dimension
        let splits = d <= KDTree.maximumSplitDimension
        var order = (0..<n).map { Int32($0) }
        var nodes = [Node(start: 0, end: Int32(n), left: -1, minimumIndex: .max)]
        nodes.reserveCapacity(4 * (n / leafSize + 1))
        var boxes = [Double](repeating: 0, count: 2 * d)
        boxes.reserveCapacity(4 * (n / leafSize + 1) * 2 * d)
        var depth = 0
        var pivotState: UInt64 = 0x9E37_79B9_7F4A_7C15
        // Explicit stack of (node, level): no recursion, so no stack overflow on any input.
        var pending: [(node: Int, level: Int)] = [(0, 0)]
        points.values.withUnsafeBufferPointer { values in
            while let (node, level) = pending.popLast() {
                depth = max(depth, level)
                let first = Int(nodes[node].start), last = Int(nodes[node].end)
                let box = node * 2 * d
                for column in 0..<d {
                    boxes[box + column] = .infinity
                    boxes[box + d + column] = -.infinity
                }
                for position in first..<last {
                    let point = Int(order[position])
                    nodes[node].minimumIndex = min(nodes[node].minimumIndex, Int32(point))
                    for column in 0..<d {
                        let value = values[point * d + column]
                        boxes[box + column] = min(boxes[box + column], value)
                        boxes[box + d + column] = max(boxes[box + d + column], value)
                    }
                }
                var widest = 0
                var width = 0.0
                for column in 0..<d where boxes[box + d + column] - boxes[box + column] > width {
                    width = boxes[box + d + column] - boxes[box + column]
                    widest = column
                }
                guard splits, last - first > leafSize, width > 0 else { continue }
                let middle = first + (last - first) / 2
                order.withUnsafeMutableBufferPointer { order in
                    KDTree.select(
                        order, range: first..<last, rank: middle, column: widest, dimension: d,
                        values: values, state: &pivotState)
                }
                let child = nodes.count
                nodes[node].left = Int32(child)
                nodes.append(Node(start: Int32(first), end: Int32(middle), left: -1, minimumIndex: .max))
                nodes.append(Node(start: Int32(middle), end: Int32(last), left: -1, minimumIndex: .max))
                boxes.append(contentsOf: repeatElement(0, count: 4 * d))
                pending.append((child + 1, level + 1))
                pending.append((child, level + 1))
            }
        }
        var coordinates = [Double](repeating: 0, count: n * d)
        for position in 0..<n {
            let point = Int(order[position])
            for column in 0..<d {
                coordinates[position * d + column] = points.values[point * d + column]
            }
        }
        self.pointCount = n
        self.dimension = d
        self.order = order
        self.coordinates = coordinates
        self.nodes = nodes
        self.boxes = boxes
        self.depth = depth
    }

    /// Rearranges `order[range]` so that the entry at `rank` holds the point whose `column`
    /// value would be there after sorting, with no larger value before it and no smaller after.
    ///
    /// Quickselect with a three-way partition, so runs of equal values finish in one pass;
    /// pivots are the median of three positions from a fixed-seed generator, so the expected
    /// time is linear on every input and the result is deterministic.
    private static func select(
        _ order: UnsafeMutableBufferPointer<Int32>, range: Range<Int>, rank: Int, column: Int,
        dimension: Int, values: UnsafeBufferPointer<Double>, state: inout UInt64
    ) {
        func key(_ position: Int) -> Double { values[Int(order[position]) * dimension + column] }
        func randomPosition(_ low: Int, _ high: Int) -> Int {
            // SplitMix64 step.
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return low + Int(z % UInt64(high - low))
        }
        var low = range.lowerBound, high = range.upperBound
        while high - low > 1 {
            let a = key(randomPosition(low, high))
            let b = key(randomPosition(low, high))
            let c = key(randomPosition(low, high))
            let pivot = max(min(a, b), min(max(a, b), c))
            // Dutch national flag: [low, less) < pivot, [less, index) == pivot, [greater, high) > pivot.
            var less = low, index = low, greater = high
            while index < greater {
                let value = key(index)
                if value < pivot {
                    order.swapAt(less, index)
                    less += 1
                    index += 1
                } else if value > pivot {
                    greater -= 1
                    order.swapAt(index, greater)
                } else {
                    index += 1
                }
            }
            if rank < less {
                high = less
            } else if rank >= greater {
                low = greater
            } else {
                return
            }
        }
    }

    /// The `k` nearest other points of every indexed point, ties broken by the smaller index.
    ///
    /// Each query descends from the root with an explicit stack, visiting the nearer child first
    /// and skipping a node whose box cannot hold a point that beats the current k-th
    /// (distance, index). Queries run in tree order so consecutive ones touch the same leaves.
    ///
    /// - Parameter k: neighbours per point; capped at `pointCount - 1`.
    /// - Returns: a table with `min(k, pointCount - 1)` neighbours per point.
    /// - Complexity: about O(n log n * k * d) for well-spread low-dimensional data; O(n² d)
    ///   above ``maximumSplitDimension`` features. No allocation per query.
    public func nearestNeighbours(k: Int) -> NeighbourTable {
        precondition(k >= 0, "KDTree: k must be non-negative")
        let n = pointCount, d = dimension
        let k = min(k, max(n - 1, 0))
        guard k > 0 else {
            return NeighbourTable(pointCount: n, neighbourCount: 0, indices: [], distances: [])
        }
        var indices = [Int32](repeating: 0, count: n * k)
        var distances = [Double](repeating: 0, count: n * k)
        // The best k so far, sorted by `precedes`.
        var best = [Entry](repeating: Entry(squaredDistance: 0, index: 0), count: k)
        // Each pop of an inner node pushes its two children, so depth + 2 slots suffice.
        var stack = [Entry](repeating: Entry(squaredDistance: 0, index: 0), count: depth + 2)
        order.withUnsafeBufferPointer { order in
        coordinates.withUnsafeBufferPointer { coordinates in
        nodes.withUnsafeBufferPointer { nodes in
        boxes.withUnsafeBufferPointer { boxes in
        best.withUnsafeMutableBufferPointer { best in
        stack.withUnsafeMutableBufferPointer { stack in
            func boxDistance(_ node: Int, _ query: Int) -> Double {
                var sum = 0.0
                for column in 0..<d {
                    let value = coordinates[query * d + column]
                    let gap = max(boxes[node * 2 * d + column] - value, value - boxes[node * 2 * d + d + column], 0)
                    sum += gap * gap
                }
                return sum
            }
            for queryPosition in 0..<n {
                let query = order[queryPosition]
                var found = 0
                var top = 1
                stack[0] = Entry(squaredDistance: 0, index: 0)
                while top > 0 {
                    top -= 1
                    let node = nodes[Int(stack[top].index)]
                    // A node can only help if its box distance, with its smallest index, beats
                    // the current k-th neighbour.
                    if found == k
                        && !Entry(squaredDistance: stack[top].squaredDistance, index: node.minimumIndex)
                            .precedes(best[k - 1])
                    {
                        continue
                    }
                    let child = Int(node.left)
                    if child >= 0 {
                        let leftEntry = Entry(squaredDistance: boxDistance(child, queryPosition), index: Int32(child))
                        let rightEntry = Entry(
                            squaredDistance: boxDistance(child + 1, queryPosition), index: Int32(child + 1))
                        let leftFirst =
                            leftEntry.squaredDistance < rightEntry.squaredDistance
                            || (leftEntry.squaredDistance == rightEntry.squaredDistance
                                && nodes[child].minimumIndex < nodes[child + 1].minimumIndex)
                        // Pushed last is popped first: the nearer child.
                        stack[top] = leftFirst ? rightEntry : leftEntry
                        stack[top + 1] = leftFirst ? leftEntry : rightEntry
                        top += 2
                        continue
                    }
                    for position in Int(node.start)..<Int(node.end) {
                        var candidate = Entry(squaredDistance: 0, index: order[position])
                        if candidate.index == query { continue }
                        for column in 0..<d {
                            let delta = coordinates[position * d + column] - coordinates[queryPosition * d + column]
                            candidate.squaredDistance += delta * delta
                        }
                        if found == k {
                            if !candidate.precedes(best[k - 1]) { continue }
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
                    }
                }
                let row = Int(query) * k
                for slot in 0..<k {
                    indices[row + slot] = best[slot].index
                    distances[row + slot] = best[slot].squaredDistance.squareRoot()
                }
            }
        }}}}}}
        return NeighbourTable(pointCount: n, neighbourCount: k, indices: indices, distances: distances)
    }
}
