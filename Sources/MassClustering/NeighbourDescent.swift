internal import CMassKernels

/// An approximate k-nearest-neighbour table by NN-descent (Dong, Charikar & Li, "Efficient
/// k-nearest neighbor graph construction for generic similarity measures", WWW 2011), started
/// from a forest of random projection trees (Dasgupta & Freund 2008), as pynndescent does
/// (McInnes 2018).
///
/// The idea: a neighbour of a neighbour is likely a neighbour. The trees give every point a first
/// list (the points of its leaves, each leaf cut by hyperplanes between two random points); each
/// round then offers every point the neighbours of its neighbours and of its reverse neighbours,
/// only through links that appeared in the previous round, until a round changes fewer than
/// ``convergence`` of all entries. In many dimensions, where an exact search must compare most
/// pairs of a cluster, this costs O(n k² d) per round.
///
/// **Determinism.** Each point's list is the `k` smallest of the (distance, index) pairs it was
/// offered, which does not depend on the order of the offers. Trees and rounds are cut into
/// chunks by `n` alone; a round reads the previous round's lists and writes only its own chunk's
/// lists, so the table is the same for every number of threads, and a pure function of the points
/// and ``seed``.
///
/// **Exact distances, consistent rows.** Candidates are compared in Float32
/// (`CMassKernels`); the final lists get their exact Float64 distances (columns summed in
/// order, as ``KDTree`` computes them) and (squared distance, index) order. A last pass offers
/// every point the points that list it: after it, whenever row `i` lists `j` and row `j` does not
/// list `i`, row `j`'s last entry precedes `(d(i, j), i)`, the property ``SpanningForest`` uses to
/// take each pair once.
///
/// ```swift
/// let table = NeighbourDescent(seed: 1).neighbours(of: points, k: 15, threads: 2)
/// ```
public struct NeighbourDescent: Sendable {
    /// Random projection trees that seed the lists.
    public let treeCount: Int
    /// Most points in a tree's leaf; every pair in a leaf is compared.
    public let leafSize: Int
    /// Most rounds of descent.
    public let maximumRounds: Int
    /// A round that changes fewer than this fraction of the `n k` entries is the last.
    public let convergence: Double
    /// Seeds the trees' hyperplanes and the samples of reverse neighbours.
    public let seed: UInt64

    /// Parameters as in docs/algorithm.md, section 5.
    ///
    /// - Precondition: `treeCount >= 1`, `leafSize >= 2`, `maximumRounds >= 0`,
    ///   `convergence >= 0`.
    public init(
        treeCount: Int = 8, leafSize: Int = 32, maximumRounds: Int = 10, convergence: Double = 0.001,
        seed: UInt64 = 0x6E6E_6465_7363_656E
    ) {
        precondition(treeCount >= 1, "NeighbourDescent: treeCount must be at least 1")
        precondition(leafSize >= 2, "NeighbourDescent: leafSize must be at least 2")
        precondition(maximumRounds >= 0, "NeighbourDescent: maximumRounds must not be negative")
        precondition(convergence >= 0, "NeighbourDescent: convergence must not be negative")
        self.treeCount = treeCount
        self.leafSize = leafSize
        self.maximumRounds = maximumRounds
        self.convergence = convergence
        self.seed = seed
    }

    /// Largest coordinate magnitude the Float32 comparisons take; beyond it (or for a value
    /// that is not finite) the exact ``KDTree`` search answers instead.
    static let largestCoordinate = 1e15

    /// Points per chunk of rows handed to a thread.
    static let rowChunk = 512

    /// The approximate `k` nearest other points of every point, ties broken by the smaller
    /// index, with exact distances.
    ///
    /// - Parameters:
    ///   - points: the points.
    ///   - k: neighbours per point; capped at `count - 1`.
    ///   - threads: the most threads to use; the table is the same for any.
    /// - Returns: a table with `min(k, count - 1)` neighbours per point.
    /// - Complexity: O(t n log n d) for `t` trees, O(n k² d) per round, O(n k d) for the exact
    ///   distances. Memory O(n (k + t + d)).
    public func neighbours(of points: PointMatrix, k: Int, threads: Int = 1) -> NeighbourTable {
        precondition(k >= 0, "NeighbourDescent: k must be non-negative")
        let n = points.count
        let k = min(k, max(n - 1, 0))
        guard k > 0 else { return NeighbourTable(pointCount: n, neighbourCount: 0, indices: [], distances: []) }
        guard points.values.allSatisfy({ $0.magnitude <= NeighbourDescent.largestCoordinate }) else {
            return KDTree(points, threads: threads).nearestNeighbours(k: k, threads: threads)
        }
        var graph = DescentGraph(points: points, k: k, threads: threads, seed: seed)
        graph.plantTrees(count: treeCount, leafSize: leafSize, seed: seed)
        graph.fillRows(seed: seed)
        let enough = convergence * Double(n * k)
        for round in 0..<maximumRounds {
            let changes = graph.descend(seed: seed &+ UInt64(round))
            if Double(changes) <= enough { break }
        }
        return graph.exactTable()
    }
}

/// Every point's list of a ``DescentGraph``, as pointers for the chunks of one parallel pass.
///
/// `@unchecked Sendable` under ``ChunkOutput``'s rule: the pointers come from a scope that
/// encloses the whole ``forEachChunk(count:chunkSize:threads:_:)`` call, and each chunk offers
/// only to the rows it owns (a tree's leaves hold disjoint points; a round's chunks own their
/// rows) and reads no other row's list.
struct DescentLists: @unchecked Sendable {
    let distances: UnsafeMutablePointer<Float>
    let indices: UnsafeMutablePointer<Int32>
    let fresh: UnsafeMutablePointer<UInt8>
    let k: Int

    /// Offers `(distance, candidate)` to the list at `row`: it goes in, marked fresh, unless the
    /// list is full of entries that precede it or already holds it.
    ///
    /// - Returns: whether it went in.
    @inline(__always)
    func offer(_ distance: Float, _ candidate: Int32, row: Int) -> Bool {
        let base = row * k
        let lastDistance = distances[base + k - 1], lastIndex = indices[base + k - 1]
        guard distance < lastDistance || (distance == lastDistance && candidate < lastIndex) else { return false }
        for slot in base..<base + k where indices[slot] == candidate { return false }
        var slot = base + k - 1
        while slot > base
            && (distance < distances[slot - 1] || (distance == distances[slot - 1] && candidate < indices[slot - 1]))
        {
            distances[slot] = distances[slot - 1]
            indices[slot] = indices[slot - 1]
            fresh[slot] = fresh[slot - 1]
            slot -= 1
        }
        distances[slot] = distance
        indices[slot] = candidate
        fresh[slot] = 1
        return true
    }
}

/// The working state of one ``NeighbourDescent`` run: the Float32 points and every point's
/// current list.
struct DescentGraph {
    let n: Int
    let k: Int
    let threads: Int
    let points: PointMatrix
    /// Floats per row of ``coordinates``: the dimension rounded up to a multiple of 8.
    let stride: Int
    /// The points in Float32, row-major, each row padded with zeros to ``stride``, in the leaf
    /// order of one random projection tree: the lists, the links and the rows a round reads are
    /// then those of nearby points, near each other in memory. Indices in the lists are
    /// positions in this order.
    private(set) var coordinates: [Float]
    /// The point at each position of ``coordinates``.
    let original: [Int32]
    /// Row-major `n x k` lists, each ascending in (distance, index); an empty slot holds
    /// `(+infinity, Int32.max)`.
    var distances: [Float]
    var indices: [Int32]
    /// Whether each entry came in during the last round (or the trees): only links that are
    /// new somewhere offer pairs not offered before.
    var fresh: [UInt8]
    /// A round's snapshot of the lists, as links (``fillLinks()``), and the points that list
    /// each point (``fillReverseLists()``): a round reads other points' lists only here, so it
    /// updates the lists in place. Kept between rounds so their pages are not mapped again.
    var links: [UInt32] = []
    var reverseStarts: [Int] = []
    var reverseMembers: [UInt32] = []

    /// An empty slot's index; above every point's, so empty slots sort last.
    static let empty = Int32.max

    init(points: PointMatrix, k: Int, threads: Int, seed: UInt64) {
        let n = points.count
        self.n = n
        self.k = k
        self.threads = threads
        self.points = points
        let stride = max(8, (points.dimension + 7) / 8 * 8)
        self.stride = stride
        let unordered = DescentGraph.floats(points, order: nil, stride: stride, threads: threads)
        var order = [Int32](repeating: 0, count: n)
        var starts = [UInt8](repeating: 0, count: n)
        unordered.withUnsafeBufferPointer { unordered in
            DescentGraph.growTree(
                order: &order, leafStarts: &starts, n: n, points: unordered.baseAddress!, stride: stride,
                leafSize: 2 * k, seed: ~seed)
        }
        original = order
        coordinates = DescentGraph.floats(points, order: order, stride: stride, threads: threads)
        distances = [Float](repeating: .infinity, count: n * k)
        indices = [Int32](repeating: DescentGraph.empty, count: n * k)
        fresh = [UInt8](repeating: 0, count: n * k)
    }

    /// The points in Float32, in `order` (or as they are), each row padded with zeros to `stride`.
    private static func floats(_ points: PointMatrix, order: [Int32]?, stride: Int, threads: Int) -> [Float] {
        let n = points.count, d = points.dimension
        var floats = [Float](repeating: 0, count: n * stride)
        floats.withUnsafeMutableBufferPointer { buffer in
            let output = ChunkOutput(buffer: buffer)
            forEachChunk(count: n, chunkSize: NeighbourDescent.rowChunk, threads: threads) { rows in
                points.values.withUnsafeBufferPointer { values in
                    for row in rows {
                        let point = order.map { Int($0[row]) } ?? row
                        for column in 0..<d { output.buffer[row * stride + column] = Float(values[point * d + column]) }
                    }
                }
            }
        }
        return floats
    }

    /// Runs `body` with every point's list and the Float32 points, for a pass whose chunks each
    /// write only the lists of their own rows.
    private mutating func withLists(_ body: (DescentLists, ChunkInput<Float>) -> Void) {
        let k = self.k
        coordinates.withUnsafeBufferPointer { coordinates in
            distances.withUnsafeMutableBufferPointer { distances in
                indices.withUnsafeMutableBufferPointer { indices in
                    fresh.withUnsafeMutableBufferPointer { fresh in
                        body(
                            DescentLists(
                                distances: distances.baseAddress!, indices: indices.baseAddress!, fresh: fresh.baseAddress!, k: k),
                            ChunkInput(buffer: coordinates))
                    }
                }
            }
        }
    }

    /// Grows `count` random projection trees and compares every pair within each of their
    /// leaves. Trees grow in parallel, one per chunk; each tree's leaves are then joined in
    /// parallel chunks of leaves (a tree's leaves hold disjoint points, so each chunk writes
    /// only its own points' lists).
    mutating func plantTrees(count: Int, leafSize: Int, seed: UInt64) {
        let n = self.n, stride = self.stride
        var orders = [Int32](repeating: 0, count: count * n)
        var leafStarts = [UInt8](repeating: 0, count: count * n)
        coordinates.withUnsafeBufferPointer { coordinates in
            orders.withUnsafeMutableBufferPointer { orders in
                leafStarts.withUnsafeMutableBufferPointer { starts in
                    let order = ChunkOutput(buffer: orders), start = ChunkOutput(buffer: starts)
                    let points = ChunkInput(buffer: coordinates)
                    forEachChunk(count: count, chunkSize: 1, threads: threads) { trees in
                        for tree in trees {
                            DescentGraph.growTree(
                                order: order.buffer.baseAddress! + tree * n, leafStarts: start.buffer.baseAddress! + tree * n,
                                n: n, points: points.buffer.baseAddress!, stride: stride, leafSize: leafSize,
                                seed: seed &+ UInt64(tree) &* 0x9E37_79B9_7F4A_7C15)
                        }
                    }
                }
            }
        }
        for tree in 0..<count {
            let base = tree * n
            var leaves: [Int] = []
            for position in 0..<n where leafStarts[base + position] != 0 { leaves.append(position) }
            leaves.append(n)
            let bounds = leaves
            joinLeaves(order: orders, base: base, bounds: bounds)
        }
    }

    /// Compares every pair of points within each leaf of one tree, `order[base...]` cut at
    /// `bounds`.
    private mutating func joinLeaves(order: [Int32], base: Int, bounds: [Int]) {
        let stride = self.stride, threads = self.threads
        let leafCount = bounds.count - 1
        withLists { lists, points in
            forEachChunk(count: leafCount, chunkSize: 64, threads: threads) { leaves in
                var scratch = [Float](repeating: 0, count: bounds[leaves.upperBound] - bounds[leaves.lowerBound])
                order.withUnsafeBufferPointer { order in
                    scratch.withUnsafeMutableBufferPointer { scratch in
                        for leaf in leaves {
                            let members = order.baseAddress! + base + bounds[leaf]
                            let size = bounds[leaf + 1] - bounds[leaf]
                            for first in 0..<size {
                                let others = size - first - 1
                                guard others > 0 else { continue }
                                let a = Int(members[first])
                                mmc_float32_squared_distances(
                                    points.buffer.baseAddress!, stride, points.buffer.baseAddress! + a * stride,
                                    members + first + 1, others, scratch.baseAddress!)
                                for other in 0..<others {
                                    let b = members[first + 1 + other]
                                    _ = lists.offer(scratch[other], b, row: a)
                                    _ = lists.offer(scratch[other], Int32(a), row: Int(b))
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Grows one random projection tree over all `n` points: `order` becomes the points in leaf
    /// order and `leafStarts` marks each leaf's first position.
    ///
    /// A node of more than `leafSize` points is cut by the hyperplane halfway between two of its
    /// points drawn at random: each point goes to the side of the nearer of the two (in Float32),
    /// a point equally near to both to a random side. A cut that leaves a side empty (every
    /// point equally near both) is replaced by a cut of the node's order in half.
    static func growTree(
        order: UnsafeMutablePointer<Int32>, leafStarts: UnsafeMutablePointer<UInt8>, n: Int,
        points: UnsafePointer<Float>, stride: Int, leafSize: Int, seed: UInt64
    ) {
        var generator = SeededGenerator(seed: seed)
        for position in 0..<n { order[position] = Int32(position) }
        var nearA = [Float](repeating: 0, count: n), nearB = [Float](repeating: 0, count: n)
        var pending = [(Int, Int)]()
        pending.append((0, n))
        while let (low, high) = pending.popLast() {
            let size = high - low
            guard size > leafSize else {
                leafStarts[low] = 1
                continue
            }
            let first = generator.nextInt(below: size)
            var second = generator.nextInt(below: size - 1)
            if second >= first { second += 1 }
            let a = Int(order[low + first]), b = Int(order[low + second])
            nearA.withUnsafeMutableBufferPointer { nearA in
                nearB.withUnsafeMutableBufferPointer { nearB in
                    mmc_float32_squared_distances(points, stride, points + a * stride, order + low, size, nearA.baseAddress!)
                    mmc_float32_squared_distances(points, stride, points + b * stride, order + low, size, nearB.baseAddress!)
                    // Partition: points nearer `a` first. The distances move with their points.
                    var left = 0, right = size
                    var bits: UInt64 = 0, bitsLeft = 0
                    while left < right {
                        var toA: Bool
                        if nearA[left] != nearB[left] {
                            toA = nearA[left] < nearB[left]
                        } else {
                            if bitsLeft == 0 { bits = generator.next(); bitsLeft = 64 }
                            toA = bits & 1 == 0
                            bits >>= 1
                            bitsLeft -= 1
                        }
                        if toA {
                            left += 1
                        } else {
                            right -= 1
                            (order[low + left], order[low + right]) = (order[low + right], order[low + left])
                            nearA.swapAt(left, right)
                            nearB.swapAt(left, right)
                        }
                    }
                    let middle = left == 0 || left == size ? size / 2 : left
                    pending.append((low + middle, high))
                    pending.append((low, low + middle))
                }
            }
        }
    }

    /// Fills the empty slots that the trees left (points in leaves smaller than `k + 1`) with
    /// points taken in index order from a random start, so every list is full before the rounds.
    mutating func fillRows(seed: UInt64) {
        let n = self.n, k = self.k, stride = self.stride, threads = self.threads
        withLists { lists, points in
            forEachChunk(count: n, chunkSize: NeighbourDescent.rowChunk, threads: threads) { rows in
                let p = points.buffer.baseAddress!
                for row in rows where lists.indices[row * k + k - 1] == DescentGraph.empty {
                    var generator = SeededGenerator(seed: seed ^ UInt64(row))
                    var candidate = generator.nextInt(below: n)
                    while lists.indices[row * k + k - 1] == DescentGraph.empty {
                        if candidate != row {
                            var distance: Float = 0
                            var index = Int32(candidate)
                            mmc_float32_squared_distances(p, stride, p + row * stride, &index, 1, &distance)
                            _ = lists.offer(distance, index, row: row)
                        }
                        candidate = candidate + 1 == n ? 0 : candidate + 1
                    }
                }
            }
        }
    }

    /// Fills ``links`` from the lists: each entry's index with bit 31 set when it is fresh.
    mutating func fillLinks() {
        if links.count != n * k { links = [UInt32](repeating: 0, count: n * k) }
        for slot in 0..<n * k { links[slot] = UInt32(bitPattern: indices[slot]) | UInt32(fresh[slot]) << 31 }
    }

    /// Fills ``reverseStarts`` and ``reverseMembers`` from the lists and ``links``: the points
    /// that list each point, `reverseMembers[reverseStarts[p] ..< reverseStarts[p + 1]]` in
    /// ascending order, as links (bit 31 set when the listing is fresh).
    mutating func fillReverseLists() {
        if reverseStarts.count != n + 1 {
            reverseStarts = [Int](repeating: 0, count: n + 1)
            reverseMembers = [UInt32](repeating: 0, count: n * k)
        }
        for point in 0...n { reverseStarts[point] = 0 }
        for slot in 0..<n * k { reverseStarts[Int(indices[slot]) + 1] += 1 }
        for point in 0..<n { reverseStarts[point + 1] += reverseStarts[point] }
        // Each point's run filled from its end, rows taken from the last: ascending order.
        for row in Swift.stride(from: n - 1, through: 0, by: -1) {
            for slot in Swift.stride(from: row * k + k - 1, through: row * k, by: -1) {
                let listed = Int(indices[slot]) + 1
                reverseStarts[listed] -= 1
                reverseMembers[reverseStarts[listed]] = UInt32(row) | links[slot] & DescentGraph.freshBit
            }
        }
        // `reverseStarts[p + 1]` now holds the start of point p's run: shift down one place.
        for point in 0..<n { reverseStarts[point] = reverseStarts[point + 1] }
        reverseStarts[n] = n * k
    }

    /// Points per chunk of a round: larger than ``NeighbourDescent/rowChunk`` since each chunk
    /// marks the points it took in an array of `n`.
    ///
    /// At most 32 chunks beyond 65,536 points: each chunk clears its array of `n`, so more
    /// chunks would clear `n^2 / chunk` bytes a round (2 GB at a million points in chunks of
    /// 2,048). A function of `n` alone, like every cut.
    static func joinChunk(_ n: Int) -> Int { max(2_048, (n + 31) / 32) }


    /// The bit of a link that marks it fresh.
    static let freshBit: UInt32 = 1 << 31

    /// One round: every point is offered the neighbours of its neighbours and the points that
    /// list it and their neighbours, each only through a link of which at least one is fresh,
    /// at most `k` of the points that list it (a run from a random start). Other points' lists
    /// are read from the snapshot taken before the round, so each chunk of points writes only
    /// its own lists, in place.
    ///
    /// - Returns: how many entries came in.
    mutating func descend(seed: UInt64) -> Int {
        let n = self.n, stride = self.stride, threads = self.threads
        fillLinks()
        fillReverseLists()
        let links = self.links, reverse = (starts: reverseStarts, members: reverseMembers)
        let chunk = DescentGraph.joinChunk(n)
        let chunks = (n + chunk - 1) / chunk
        var changes = [Int](repeating: 0, count: chunks)
        changes.withUnsafeMutableBufferPointer { changes in
            let counts = ChunkOutput(buffer: changes)
            withLists { lists, points in
                forEachChunk(count: n, chunkSize: chunk, threads: threads) { rows in
                    counts.buffer[rows.lowerBound / chunk] = DescentGraph.join(
                        rows: rows, n: n, stride: stride, points: points.buffer.baseAddress!, links: links,
                        reverse: reverse, seed: seed, lists: lists)
                }
            }
        }
        return changes.reduce(0, +)
    }

    /// The work of ``descend(seed:)`` for the points `rows`.
    private static func join(
        rows: Range<Int>, n: Int, stride: Int, points: UnsafePointer<Float>, links: [UInt32],
        reverse: (starts: [Int], members: [UInt32]), seed: UInt64, lists: DescentLists
    ) -> Int {
        let k = lists.k
        // Candidates of one point; `marks[p]` is the last row that took point `p`.
        let capacity = 2 * k * (k + 1)
        var candidates = [Int32](repeating: 0, count: capacity + 1)
        var candidateDistances = [Float](repeating: 0, count: capacity)
        var via = [Int](repeating: 0, count: 2 * k)
        var marks = [Int32](repeating: -1, count: n)
        var changes = 0
        let freshBit = DescentGraph.freshBit
        links.withUnsafeBufferPointer { links in
        reverse.starts.withUnsafeBufferPointer { starts in
        reverse.members.withUnsafeBufferPointer { members in
        candidates.withUnsafeMutableBufferPointer { candidates in
        candidateDistances.withUnsafeMutableBufferPointer { candidateDistances in
        via.withUnsafeMutableBufferPointer { via in
        marks.withUnsafeMutableBufferPointer { marks in
            for row in rows {
                // Only what comes in this round is fresh after it (`links` holds the flags
                // the round reads).
                for slot in row * k..<row * k + k { lists.fresh[slot] = 0 }
                var count = 0
                let stamp = Int32(row)
                marks[row] = stamp
                // Adds `point` once per row, never the row itself; without a branch on whether
                // it was taken before (as likely as not, so a branch would be mispredicted).
                func take(_ point: Int32) {
                    let taken = marks[Int(point)] == stamp
                    marks[Int(point)] = stamp
                    candidates[count] = point
                    count += taken ? 0 : 1
                }
                // The links to expand (the neighbours, then a run of the points that list the
                // row), their lists asked for before any is read.
                var links2 = 0
                for slot in row * k..<row * k + k {
                    via[links2] = Int(links[slot])
                    links2 += 1
                }
                let low = starts[row], listed = starts[row + 1] - low
                let sample = min(listed, k)
                if listed > 0 {
                    var mixer = seed ^ (UInt64(row) &* 0xD6E8_FEB8_6659_FD93)
                    mixer ^= mixer >> 32
                    let first = Int(mixer % UInt64(listed))
                    for step in 0..<sample {
                        via[links2] = Int(members[low + (first + step) % listed]) | 1 << 32
                        links2 += 1
                    }
                }
                for index in 0..<links2 {
                    mmc_prefetch(links.baseAddress! + Int(UInt32(truncatingIfNeeded: via[index]) & ~freshBit) * k)
                }
                for index in 0..<links2 {
                    let link = UInt32(truncatingIfNeeded: via[index])
                    let other = Int(link & ~freshBit)
                    let viaFresh = link & freshBit != 0
                    // A point that lists the row, through a fresh listing, is a candidate itself.
                    if via[index] >> 32 != 0 && viaFresh { take(Int32(other)) }
                    for further in other * k..<other * k + k where viaFresh || links[further] & freshBit != 0 {
                        take(Int32(bitPattern: links[further] & ~freshBit))
                    }
                }
                guard count > 0 else { continue }
                mmc_float32_squared_distances(
                    points, stride, points + row * stride, candidates.baseAddress!, count, candidateDistances.baseAddress!)
                for index in 0..<count where lists.offer(candidateDistances[index], candidates[index], row: row) {
                    changes += 1
                }
            }
        }}}}}}}
        return changes
    }

    /// The lists with exact Float64 distances in (squared distance, index) order, each list then
    /// offered the points that list it (see ``NeighbourDescent``).
    ///
    /// The Float32 state is released first, so the table's memory takes its place.
    mutating func exactTable() -> NeighbourTable {
        let n = self.n, k = self.k, points = self.points, threads = self.threads, d = points.dimension
        precondition(n * k <= Int(UInt32.max), "NeighbourDescent: more than 2^32 entries")
        coordinates = []
        distances = []
        fresh = []
        links = []
        reverseStarts = []
        reverseMembers = []
        let positionIndices = indices, original = self.original
        indices = []
        // Exact squared distances of every entry, rows in point order sorted by them.
        var squared = [Double](repeating: 0, count: n * k)
        var sortedIndices = [Int32](repeating: 0, count: n * k)
        squared.withUnsafeMutableBufferPointer { squared in
            sortedIndices.withUnsafeMutableBufferPointer { sortedIndices in
                let output = (ChunkOutput(buffer: squared), ChunkOutput(buffer: sortedIndices))
                forEachChunk(count: n, chunkSize: NeighbourDescent.rowChunk, threads: threads) { rows in
                    points.values.withUnsafeBufferPointer { values in
                        var row = [(Double, Int32)](repeating: (0, 0), count: k)
                        for position in rows {
                            let point = Int(original[position])
                            for slot in 0..<k {
                                let other = original[Int(positionIndices[position * k + slot])]
                                var sum = 0.0
                                for column in 0..<d {
                                    let difference = values[point * d + column] - values[Int(other) * d + column]
                                    sum += difference * difference
                                }
                                row[slot] = (sum, other)
                            }
                            row.sort { $0 < $1 }
                            for slot in 0..<k {
                                output.0.buffer[point * k + slot] = row[slot].0
                                output.1.buffer[point * k + slot] = row[slot].1
                            }
                        }
                    }
                }
            }
        }
        // Every point offered the points that list it, at the distance their row holds: the
        // slots that list each point, grouped by the point.
        var starts = [Int](repeating: 0, count: n + 1)
        for slot in 0..<n * k { starts[Int(sortedIndices[slot]) + 1] += 1 }
        for point in 0..<n { starts[point + 1] += starts[point] }
        var next = starts
        var listings = [UInt32](repeating: 0, count: n * k)
        for slot in 0..<n * k {
            let listed = Int(sortedIndices[slot])
            listings[next[listed]] = UInt32(slot)
            next[listed] += 1
        }
        next = []
        var finalIndices = [Int32](repeating: 0, count: n * k)
        var finalDistances = [Double](repeating: 0, count: n * k)
        let rowSquared = squared, rowIndices = sortedIndices
        let reverseStarts = starts, reverseListings = listings
        finalIndices.withUnsafeMutableBufferPointer { finalIndices in
            finalDistances.withUnsafeMutableBufferPointer { finalDistances in
                let output = (ChunkOutput(buffer: finalIndices), ChunkOutput(buffer: finalDistances))
                forEachChunk(count: n, chunkSize: NeighbourDescent.rowChunk, threads: threads) { rows in
                    var best = [(Double, Int32)](repeating: (0, 0), count: k)
                    for point in rows {
                        for slot in 0..<k { best[slot] = (rowSquared[point * k + slot], rowIndices[point * k + slot]) }
                        for position in reverseStarts[point]..<reverseStarts[point + 1] {
                            let listing = Int(reverseListings[position])
                            let entry = (rowSquared[listing], Int32(listing / k))
                            guard entry < best[k - 1], !best.contains(where: { $0.1 == entry.1 }) else { continue }
                            var slot = k - 1
                            while slot > 0 && entry < best[slot - 1] {
                                best[slot] = best[slot - 1]
                                slot -= 1
                            }
                            best[slot] = entry
                        }
                        for slot in 0..<k {
                            output.0.buffer[point * k + slot] = best[slot].1
                            output.1.buffer[point * k + slot] = best[slot].0.squareRoot()
                        }
                    }
                }
            }
        }
        return NeighbourTable(pointCount: n, neighbourCount: k, indices: finalIndices, distances: finalDistances)
    }
}
