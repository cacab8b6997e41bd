/// A side's own neighbour graph: each side point's `neighbours` nearest side points and the
/// spanning forest's edges between side points (straight lengths), in compressed rows.
///
/// Shortest paths in it follow the data: over a convex region they stay within a tenth of the
/// straight distances, along an arm they are its length. The forest's edges keep it connected
/// (an extent is grown along them).
struct SideGraph {
    /// The side's points, in the order of the graph's nodes.
    let side: [Int]
    /// The side's own `k`-nearest-neighbour table (local indices), `k = min(neighbours, s - 1)`.
    let table: NeighbourTable?
    private let rowStart: [Int], target: [Int32], length: [Double]

    /// - Complexity: O(s k log s) for the neighbours, O(n) for the forest's edges.
    init(side: [Int], points: PointMatrix, forest: SpanningForest, neighbours: Int) {
        let s = side.count
        var local = [Int32](repeating: -1, count: points.count)
        for (index, point) in side.enumerated() { local[point] = Int32(index) }
        let k = min(neighbours, s - 1)
        // Edges in both directions, then grouped by their first end (compressed rows).
        var ends = [(from: Int32, to: Int32, length: Double)]()
        if k >= 1 {
            let table = KDTree(subMatrix(side, of: points)).nearestNeighbours(k: k)
            ends.reserveCapacity(2 * s * table.neighbourCount + 2 * s)
            for row in 0..<s {
                for slot in row * table.neighbourCount..<(row + 1) * table.neighbourCount {
                    let other = table.indices[slot], length = table.distances[slot]
                    ends.append((Int32(row), other, length))
                    ends.append((other, Int32(row), length))
                }
            }
            self.table = table
        } else {
            self.table = nil
        }
        for edge in forest.edges {
            let a = local[Int(edge.a)], b = local[Int(edge.b)]
            guard a >= 0 && b >= 0 else { continue }
            ends.append((a, b, edge.distance))
            ends.append((b, a, edge.distance))
        }
        var rowStart = [Int](repeating: 0, count: s + 1)
        for end in ends { rowStart[Int(end.from) + 1] += 1 }
        for row in 0..<s { rowStart[row + 1] += rowStart[row] }
        var fill = rowStart
        var target = [Int32](repeating: 0, count: ends.count), length = [Double](repeating: 0, count: ends.count)
        for end in ends {
            target[fill[Int(end.from)]] = end.to
            length[fill[Int(end.from)]] = end.length
            fill[Int(end.from)] += 1
        }
        self.side = side
        self.rowStart = rowStart
        self.target = target
        self.length = length
    }

    /// The graph's neighbours of node `node` (local indices).
    func neighbours(of node: Int) -> ArraySlice<Int32> { target[rowStart[node]..<rowStart[node + 1]] }

    /// Shortest-path distances from `sources` (local index and starting distance) to every node;
    /// nodes the graph does not reach get infinity.
    ///
    /// - Complexity: O(e log e) for the graph's `e` edges.
    func shortestPaths(from sources: [(node: Int, distance: Double)]) -> [Double] {
        var distance = [Double](repeating: .infinity, count: side.count)
        // Binary min-heap of (distance, node); stale entries are skipped when popped.
        var heap = [(Double, Int)]()
        func push(_ entry: (Double, Int)) {
            heap.append(entry)
            var child = heap.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard heap[child].0 < heap[parent].0 else { break }
                heap.swapAt(child, parent)
                child = parent
            }
        }
        func pop() -> (Double, Int) {
            let top = heap[0]
            let last = heap.removeLast()
            if !heap.isEmpty {
                heap[0] = last
                var parent = 0
                while true {
                    let left = 2 * parent + 1, right = left + 1
                    var smallest = parent
                    if left < heap.count && heap[left].0 < heap[smallest].0 { smallest = left }
                    if right < heap.count && heap[right].0 < heap[smallest].0 { smallest = right }
                    guard smallest != parent else { break }
                    heap.swapAt(parent, smallest)
                    parent = smallest
                }
            }
            return top
        }
        for source in sources where source.distance < distance[source.node] {
            distance[source.node] = source.distance
            push((source.distance, source.node))
        }
        while !heap.isEmpty {
            let (current, node) = pop()
            guard current <= distance[node] else { continue }
            for slot in rowStart[node]..<rowStart[node + 1] {
                let other = Int(target[slot]), reached = current + length[slot]
                guard reached < distance[other] else { continue }
                distance[other] = reached
                push((reached, other))
            }
        }
        return distance
    }
}

/// The smallest box holding the points `rows`, as its lower and upper corners.
private func boundingBox(_ rows: [Int], points: PointMatrix) -> (low: [Double], high: [Double]) {
    let d = points.dimension
    var low = [Double](repeating: .infinity, count: d), high = [Double](repeating: -.infinity, count: d)
    for point in rows {
        for column in 0..<d {
            low[column] = min(low[column], points.values[point * d + column])
            high[column] = max(high[column], points.values[point * d + column])
        }
    }
    return (low, high)
}

/// Whether `point` lies within the box `low`...`high` widened by `margin` on every side.
private func within(point: Int, low: [Double], high: [Double], margin: Double, points: PointMatrix) -> Bool {
    let d = points.dimension
    for column in 0..<d {
        let value = points.values[point * d + column]
        if value < low[column] - margin || value > high[column] + margin { return false }
    }
    return true
}

/// The rows `rows` of `points`, as a matrix of their own.
private func subMatrix(_ rows: [Int], of points: PointMatrix) -> PointMatrix {
    let d = points.dimension
    var values = [Double](repeating: 0, count: rows.count * d)
    for (index, point) in rows.enumerated() {
        for column in 0..<d { values[index * d + column] = points.values[point * d + column] }
    }
    return PointMatrix(count: rows.count, dimension: d, values: values)
}

/// Distances from `link` to every point of a side along the side itself: shortest paths in the
/// side's own neighbour graph `graph`, from the side's end of the link edge.
///
/// A curled arm seen from a link at its centre lies at every straight distance, as a surface
/// does; along the arm its points lie one after another.
///
/// - Parameters:
///   - graph: the side's own neighbour graph.
///   - start: the side's end of the link edge (a member of the side).
///   - link: the link's midpoint.
/// - Returns: one distance per point of the side, in its order; points the graph does not reach
///   (none, as the forest's edges connect an extent) get infinity.
/// - Complexity: O(e log e) for the graph's `e` edges.
func geodesicDistances(graph: SideGraph, start: Int, link: [Double], points: PointMatrix) -> [Double] {
    guard let origin = graph.side.firstIndex(of: start) else { return [Double](repeating: .infinity, count: graph.side.count) }
    let d = points.dimension
    var sum = 0.0
    for column in 0..<d {
        let delta = points.values[start * d + column] - link[column]
        sum += delta * delta
    }
    return graph.shortestPaths(from: [(origin, sum.squareRoot())])
}

/// Whether the side whose own neighbour graph is `graph` is a stretch of a loop through `other`:
/// it meets `other` in two contacts at its opposite ends (docs/algorithm.md, section 2, item 7).
///
/// A side point is a *contact* when one of its `neighbours` nearest points among the two sides is
/// `other`'s (the neighbour graph's own relation, read on the two sides' points alone). Contacts
/// that are neighbours in the side's own graph (``SideGraph``) are one contact region. Two
/// clusters that touch meet in one region (a border, a rim around a cluster inside another); a
/// stretch of a loop meets the rest of the loop where it enters and where it leaves. So the side
/// is a loop's stretch when another region lies at the side's far end as seen from its largest
/// region: along the side, nearer to the side's farthest point from the largest region than to
/// the largest region itself.
///
/// - Complexity: O(s k log s) for the neighbours among the two sides' points near the side,
///   O(|other| d) to find those.
func isLoopStretch(graph: SideGraph, other: [Int], points: PointMatrix, neighbours: Int) -> Bool {
    let side = graph.side, s = side.count
    guard let table = graph.table else { return false }
    // Only `other`'s points within a side point's k-th neighbour distance (within the side) can
    // be among its k nearest of the two sides: those within the side's box widened by the largest.
    var reach = 0.0
    for row in 0..<s { reach = max(reach, table.distances[(row + 1) * table.neighbourCount - 1]) }
    let (low, high) = boundingBox(side, points: points)
    let near = other.filter { within(point: $0, low: low, high: high, margin: reach, points: points) }
    guard !near.isEmpty else { return false }
    // Only side points within that distance of `near`'s box can be contacts; their k nearest of
    // the two sides lie within twice it, so a search over those and `near` reads them exactly.
    let (nearLow, nearHigh) = boundingBox(near, points: points)
    let searched = (0..<s).filter { within(point: side[$0], low: nearLow, high: nearHigh, margin: 2 * reach, points: points) }
    let joint = KDTree(subMatrix(searched.map { side[$0] } + near, of: points))
        .nearestNeighbours(k: min(neighbours, searched.count + near.count - 1))
    var contact = [Bool](repeating: false, count: s)
    for (row, node) in searched.enumerated()
    where within(point: side[node], low: nearLow, high: nearHigh, margin: reach, points: points) {
        contact[node] = joint.indices[row * joint.neighbourCount..<(row + 1) * joint.neighbourCount]
            .contains { Int($0) >= searched.count }
    }
    // Contact regions: contacts joined by the side's graph.
    var regions = DisjointSets(count: s)
    for node in 0..<s where contact[node] {
        for neighbour in graph.neighbours(of: node) where contact[Int(neighbour)] { _ = regions.union(node, Int(neighbour)) }
    }
    var size = [Int](repeating: 0, count: s)
    for node in 0..<s where contact[node] { size[regions.find(node)] += 1 }
    // A loop's stretch has two regions at least.
    guard let largest = size.indices.max(by: { size[$0] < size[$1] || (size[$0] == size[$1] && $0 > $1) }),
        size.reduce(0, +) > size[largest]
    else { return false }
    let first = (0..<s).filter { contact[$0] && regions.find($0) == largest }
    let fromFirst = graph.shortestPaths(from: first.map { ($0, 0) })
    // The side's far end as seen from the first region: its farthest point along the side.
    guard let end = fromFirst.indices.filter({ fromFirst[$0].isFinite }).max(by: { fromFirst[$0] < fromFirst[$1] })
    else { return false }
    let fromEnd = graph.shortestPaths(from: [(end, 0)])
    // A region lies where its nearest point lies; one at the far end lies nearer to it than to
    // the first region.
    var nearFirst = [Double](repeating: .infinity, count: s), nearEnd = nearFirst
    for node in 0..<s where contact[node] && regions.find(node) != largest {
        let region = regions.find(node)
        nearFirst[region] = min(nearFirst[region], fromFirst[node])
        nearEnd[region] = min(nearEnd[region], fromEnd[node])
    }
    return (0..<s).contains { nearEnd[$0] < nearFirst[$0] }
}
