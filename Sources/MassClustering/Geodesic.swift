/// Distances from `link` to every point of `side` along the side itself: shortest paths in the
/// graph of each side point's `neighbours` nearest side points and the spanning forest's edges
/// between side points (straight lengths), from the side's end of the link edge.
///
/// A curled arm seen from a link at its centre lies at every straight distance, as a surface
/// does; along the arm its points lie one after another, as on a path. Over a convex region the
/// shortest paths of a neighbour graph stay within a tenth of the straight distances.
///
/// - Parameters:
///   - side: the side's points.
///   - start: the side's end of the link edge (a member of `side`).
///   - link: the link's midpoint.
///   - neighbours: the neighbour graph's size (the density estimate's own).
/// - Returns: one distance per point of `side`, in its order; points the graph does not reach
///   (none, as the forest's edges connect an extent) get infinity.
/// - Complexity: O(s k log s) for the neighbours and the shortest paths, O(n) for the forest.
func geodesicDistances(
    side: [Int], start: Int, link: [Double], points: PointMatrix, forest: SpanningForest, neighbours: Int
) -> [Double] {
    let d = points.dimension, s = side.count
    var local = [Int32](repeating: -1, count: points.count)
    for (index, point) in side.enumerated() { local[point] = Int32(index) }
    var values = [Double](repeating: 0, count: s * d)
    for (index, point) in side.enumerated() {
        for column in 0..<d { values[index * d + column] = points.values[point * d + column] }
    }
    let sub = PointMatrix(count: s, dimension: d, values: values)
    let k = min(neighbours, s - 1)
    // Edges in both directions, then grouped by their first end (compressed rows).
    var ends = [(from: Int32, to: Int32, length: Double)]()
    if k >= 1 {
        let table = KDTree(sub).nearestNeighbours(k: k)
        ends.reserveCapacity(2 * s * table.neighbourCount + 2 * s)
        for row in 0..<s {
            for slot in row * table.neighbourCount..<(row + 1) * table.neighbourCount {
                let other = table.indices[slot], length = table.distances[slot]
                ends.append((Int32(row), other, length))
                ends.append((other, Int32(row), length))
            }
        }
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
    var distance = [Double](repeating: .infinity, count: s)
    let origin = Int(local[start])
    var sum = 0.0
    for column in 0..<d {
        let delta = values[origin * d + column] - link[column]
        sum += delta * delta
    }
    distance[origin] = sum.squareRoot()
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
    push((distance[origin], origin))
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
