#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Which touching extents are one cluster: those that meet where one of them is only the slope
/// of the other, with no valley on its side of the link (docs/algorithm.md, section 2, item 7).
///
/// MMC maximizes total mass, so a split must be paid for by a valley: from the link where two
/// extents meet, the density must rise again on both sides. Along a density gradient the
/// hierarchy still splits (the sparse end erodes, a weak link of the estimate breaks first), and
/// the gap rule forces such a split when the dense end holds together. The sparse side of it is
/// a *ramp*: its densest points are those at the link, and they stand no higher than the link
/// itself beyond noise. A side `B` of contact `(A, B)` with link `s` (the midpoint of the
/// refused edge) is a ramp when, with `q = min(minClusterSize, |B| / 4)`:
///
/// - *at the link*: the median distance from `s` of `B`'s `q` densest points is below a third of
///   the median distance from `s` of all of `B`'s points (a path leaving the link puts them
///   within its first quarter, a mode at its centre, a lobe of a two-dimensional mode whose
///   densest part touches the link nearer the middle than a third);
/// - *no higher than a gap*: their median level is at most `riseBound` times the link's;
/// - *no climb*: their median level is at most `climbBound` times that of `B`'s `q` points
///   nearest the link (the densest points of a ramp are its points at the link, up to noise).
///
/// Where a path goes on through the link (both sides leave it as a path: their volume grows
/// with the distance from the link as along a line, not over a surface,
/// ``leavesAsPath(_:logVolumes:)``, the distance read straight or, for an arm that curls around
/// the link, along the side, ``geodesicDistances(graph:start:link:points:)``;
/// or the two are one loop, each meeting the other at both of its ends,
/// ``isLoopStretch(graph:other:points:neighbours:)``), a side needs no densest part at the
/// link: farther out is farther along the path, and its
/// climb from the link to its densest part is the dip of the path there, whose bottom is the
/// link. It is a ramp when its `q` points nearest the link stand no higher than a gap above the
/// link (``rampPathRiseBound(gapFactor:valleyRatio:dimension:)``) and climb from there to its densest points by less than a valley (`valleyRatio` as a
/// level factor with the side's own local dimension, and one spread of noise), rather than
/// `climbBound`, whether or not its densest part is at the link. A path that runs into a mode
/// (a blob, a row of blobs whose side is not a path at the link) does not go on through the
/// link, and is that mode's ramp only by the first test.
///
/// The two extents of a contact with a ramp side get one label; contacts are judged on the
/// extents as grown, and merges chain.
///
/// - Parameters:
///   - extents: per point, its extent's label (``maximizeMass(labels:forest:outlierFactor:)``).
///   - contacts: where the extents meet, as that function returns them.
///   - points: the points the forest was built on.
///   - forest: the spanning forest; its core distances are the levels (`1 / core`).
///   - minClusterSize: a cluster's worth of points.
///   - riseBound: the gap factor: a side whose densest part stands higher is a mode.
///   - climbBound: the largest climb from the link to the densest part that noise explains.
///   - valleyRatio: the density ratio a valley needs; along a path, the climb it needs is
///     ``rampPathClimbBound(valleyRatio:dimension:)`` with the side's own local dimension
///     (``SpanningForest/inverseLocalDimensions`` pooled over its points), and a path-like side
///     that climbs less is a ramp.
///   - neighbours: the neighbour graph's size, for the distances along a side.
/// - Returns: per label, the label it merges into (the smallest of its group).
/// - Complexity: O(n log n) to order every extent by level, then O(s log s) for each side of
///   size s of every contact, judged once and again only after one of its extents has grown;
///   a side read along itself adds O(s k log s) and a pass over the forest's edges, and one read
///   for a loop a neighbour search over its points near the other side and the other's near it.
func rampMerges(
    extents: [Int32], contacts: [ExtentContact], points: PointMatrix, forest: SpanningForest,
    minClusterSize: Int, riseBound: Double, climbBound: Double, valleyRatio: Double, neighbours: Int
) -> [Int32] {
    let clusterCount = Int(extents.max() ?? -1) + 1
    var sets = DisjointSets(count: max(clusterCount, 0))
    guard clusterCount > 1 && !contacts.isEmpty else { return (0..<Int32(max(clusterCount, 0))).map { $0 } }
    // Every extent's points, densest first (ties by index, so the order is deterministic).
    var members = [[Int]](repeating: [], count: clusterCount)
    for point in extents.indices where extents[point] >= 0 { members[Int(extents[point])].append(point) }
    let core = forest.coreDistances
    for label in members.indices {
        members[label].sort { core[$0] < core[$1] || (core[$0] == core[$1] && $0 < $1) }
    }
    let d = points.dimension
    // Until nothing changes: a merge can make a larger extent of which a neighbour is the slope.
    // A contact is judged again only when one of its groups has grown since its last verdict;
    // every merge stamps its group with a number never used before.
    var version = [Int](repeating: 0, count: clusterCount), stamps = 0
    var judged = [(first: Int, second: Int)](repeating: (-1, -1), count: contacts.count)
    var changed = true
    while changed {
        changed = false
        for (index, contact) in contacts.enumerated() {
            let first = sets.find(Int(contact.first)), second = sets.find(Int(contact.second))
            guard first != second && judged[index] != (version[first], version[second]) else { continue }
            judged[index] = (version[first], version[second])
            let edge = forest.edges[contact.edge]
            let link = (0..<d).map { (points.values[Int(edge.a) * d + $0] + points.values[Int(edge.b) * d + $0]) / 2 }
            let start = [first, second].map { sets.find(Int(extents[Int(edge.a)])) == $0 ? Int(edge.a) : Int(edge.b) }
            // A side's climb is read on its own levels: the valley's factor and the noise take
            // its own local dimension (the valley test's statistic, pooled over the side).
            let verdicts = [first, second].map { group in
                var inverseSum = 0.0, inverseCount = 0
                for point in members[group] where forest.inverseLocalDimensions[point].isFinite {
                    inverseSum += forest.inverseLocalDimensions[point]
                    inverseCount += 1
                }
                let local = pooledLocalDimension(inverseSum: inverseSum, count: inverseCount, ceiling: Double(d))
                return sideVerdict(
                    members[group], link: link, linkWeight: edge.weight, points: points, core: core,
                    minClusterSize: minClusterSize, riseBound: riseBound, climbBound: climbBound,
                    pathClimbBound: rampPathClimbBound(valleyRatio: valleyRatio, dimension: local),
                    pathRiseBound: rampPathRiseBound(gapFactor: riseBound, valleyRatio: valleyRatio, dimension: local))
            }
            // A side that climbs along a path is a ramp only where the path goes on through the
            // link: both sides leave it as a path (read straight first, the smaller side first
            // along itself, so the costlier reading runs only when it can decide), or the two are
            // one loop (each meets the other at both of its ends; the smaller side read first).
            // Each side's own neighbour graph is built at most once per judgement, when needed.
            var graphs = [Int: SideGraph]()
            func graph(_ group: Int) -> SideGraph {
                if let built = graphs[group] { return built }
                let built = SideGraph(side: members[group], points: points, forest: forest, neighbours: neighbours)
                graphs[group] = built
                return built
            }
            let smaller = members[first].count <= members[second].count ? first : second
            let larger = smaller == first ? second : first
            let ramp = verdicts.contains(.ramp)
                || (verdicts.contains(.rampIfPath)
                    && (bothLeaveAsPath(
                        [first, second], members: members, starts: start, link: link, points: points, core: core,
                        graph: graph)
                        || oneLoop(smaller, larger, members: members, points: points, neighbours: neighbours, graph: graph)))
            guard ramp else { continue }
            _ = sets.union(first, second)
            let root = sets.find(first), other = root == first ? second : first
            members[root] = mergedByCore(members[root], members[other], core: core)
            members[other] = []
            stamps += 1
            version[root] = stamps
            changed = true
        }
    }
    // The smallest label of each group represents it.
    var smallest = [Int32](repeating: Int32.max, count: clusterCount)
    for label in 0..<clusterCount {
        let root = sets.find(label)
        smallest[root] = min(smallest[root], Int32(label))
    }
    return (0..<clusterCount).map { smallest[sets.find($0)] }
}

/// What a side says about its contact.
private enum SideVerdict {
    /// A ramp down from the link: its densest part at the link, no higher than a gap, no climb.
    case ramp
    /// A ramp if it and the other side leave the link as a path: its points at the link stand no
    /// higher than a gap above the link, and it climbs from there by less than a valley, wherever
    /// its densest part lies.
    case rampIfPath
    /// Not a ramp.
    case no
}

/// Whether the side whose points are `side` (densest first) is a ramp down from `link`.
private func sideVerdict(
    _ side: [Int], link: [Double], linkWeight: Double, points: PointMatrix, core: [Double],
    minClusterSize: Int, riseBound: Double, climbBound: Double, pathClimbBound: Double, pathRiseBound: Double
) -> SideVerdict {
    let top = min(minClusterSize, side.count / 4)
    guard top >= 1 else { return .no }
    let distances = linkDistances(side, link: link, points: points)
    let densest = Array(distances[..<top]), densestCores = side[..<top].map { core[$0] }
    let atLink = 3 * median(densest) < median(distances)
    let densestCore = median(densestCores)
    let nearest = side.indices.sorted { distances[$0] < distances[$1] || (distances[$0] == distances[$1] && $0 < $1) }
    let nearestCore = median(nearest[..<top].map { core[side[$0]] })
    // Levels are 1 / core distance: a rise is a ratio of core distances.
    if atLink && linkWeight <= riseBound * densestCore && nearestCore <= climbBound * densestCore { return .ramp }
    // A path's link is the bottom of its dip: it rises to the side's points at the link, and
    // climbs from there; whatever lies farther out is farther along it.
    return linkWeight <= pathRiseBound * nearestCore && nearestCore <= pathClimbBound * densestCore ? .rampIfPath : .no
}

/// Straight distances from `link` to every point of `side`.
private func linkDistances(_ side: [Int], link: [Double], points: PointMatrix) -> [Double] {
    let d = points.dimension
    return side.map { point in
        var sum = 0.0
        for column in 0..<d {
            let delta = points.values[point * d + column] - link[column]
            sum += delta * delta
        }
        return sum.squareRoot()
    }
}

/// Whether both sides leave the link as a path, by straight distances or, for an arm that curls
/// around the link, by distances along the side (computed only for the sides whose straight
/// reading says surface, the smaller first).
private func bothLeaveAsPath(
    _ groups: [Int], members: [[Int]], starts: [Int], link: [Double], points: PointMatrix, core: [Double],
    graph: (Int) -> SideGraph
) -> Bool {
    let logVolumes = groups.map { group in members[group].map { Double(points.dimension) * log(core[$0]) } }
    let undecided = groups.indices.filter { index in
        !leavesAsPath(linkDistances(members[groups[index]], link: link, points: points), logVolumes: logVolumes[index])
    }
    return undecided.sorted { members[groups[$0]].count < members[groups[$1]].count }.allSatisfy { index in
        let along = geodesicDistances(graph: graph(groups[index]), start: starts[index], link: link, points: points)
        return leavesAsPath(along, logVolumes: logVolumes[index])
    }
}

/// Whether two sides are one loop: each is a stretch of a loop through the other (the smaller
/// read first, so the larger is read only when it can decide).
private func oneLoop(
    _ smaller: Int, _ larger: Int, members: [[Int]], points: PointMatrix, neighbours: Int, graph: (Int) -> SideGraph
) -> Bool {
    isLoopStretch(graph: graph(smaller), other: members[larger], points: points, neighbours: neighbours)
        && isLoopStretch(graph: graph(larger), other: members[smaller], points: points, neighbours: neighbours)
}

/// Whether a side's volume grows away from the link as along a path rather than over a surface.
///
/// Each point stands for the volume its neighbourhood holds per point, `core^d` (`logVolumes`,
/// up to a common factor), so the shape is read apart from the density along it. With `R` the
/// distance within which half of the side's volume lies, Levina & Bickel's statistic, the
/// volume-weighted mean of `log(R / r)` over the points nearer than `R`, estimates `1 / D` for
/// volume growing as `r^D`: 1 for a path, 1/2 for a surface. The side is a path above the
/// midpoint of the two, 3/4.
///
/// - Complexity: O(s log s) for a side of `s` points.
func leavesAsPath(_ distances: [Double], logVolumes: [Double]) -> Bool {
    precondition(distances.count == logVolumes.count, "leavesAsPath: one volume per distance")
    guard let largest = logVolumes.max(), largest.isFinite else { return false }
    let weights = logVolumes.map { exp($0 - largest) }
    let order = distances.indices.sorted { distances[$0] < distances[$1] || (distances[$0] == distances[$1] && $0 < $1) }
    let total = weights.reduce(0, +)
    var held = 0.0, radius = 0.0
    for index in order {
        held += weights[index]
        if 2 * held >= total { radius = distances[index]; break }
    }
    var sum = 0.0, weight = 0.0
    for index in order where distances[index] > 0 && distances[index] < radius {
        sum += weights[index] * log(radius / distances[index])
        weight += weights[index]
    }
    return weight > 0 && 4 * sum > 3 * weight
}

/// The upper median of a non-empty array.
private func median(_ values: [Double]) -> Double {
    var values = values
    selectRank(&values, rank: values.count / 2, in: 0..<values.count)
    return values[values.count / 2]
}

/// The largest climb, in level, from a side's points at the link to its densest points that the
/// density estimate's noise explains: two spreads of a point's level, `1 + 2 * 0.32 / d`
/// (relative spread 0.16 in 2-D and 0.10 in 3-D, docs/algorithm.md, section 2).
func rampClimbBound(dimension: Int) -> Double {
    1 + 0.64 / Double(max(1, dimension))
}

/// The largest climb along a path from its points at the link to its densest points that is
/// not a valley: the valley test's factor `valleyRatio^(1/d)` for the density ratio, times one
/// spread of a point's level, `1 + 0.32 / d`, for the densest points being picked for their
/// noise (1.64 in 2-D, 1.39 in 3-D), `d` the side's local dimension (at least 1); never below
/// the noise bound `1 + 0.64 / d`.
func rampPathClimbBound(valleyRatio: Double, dimension: Double) -> Double {
    let d = max(1, dimension)
    return max(1 + 0.64 / d, pow(valleyRatio, 1 / d) * (1 + 0.32 / d))
}

/// The highest a path's side may stand at the link above the link itself before it faces a
/// gap: a gap is a density step the square of a valley's (`valleyRatio^2`; in the plane the
/// gap factor 2 is the square of the noise's reach 1.41), read on the side's own levels as a
/// level factor `valleyRatio^(2/d)`, `d` its local dimension (at least 1); never below
/// `gapFactor` (2 in 2-D, 2.6 at 1.45, where a single edge varies most).
func rampPathRiseBound(gapFactor: Double, valleyRatio: Double, dimension: Double) -> Double {
    max(gapFactor, pow(valleyRatio, 2 / max(1, dimension)))
}

/// Two lists of points, each densest first, merged densest first (ties by index).
private func mergedByCore(_ a: [Int], _ b: [Int], core: [Double]) -> [Int] {
    var result = [Int](), i = 0, j = 0
    result.reserveCapacity(a.count + b.count)
    while i < a.count || j < b.count {
        let takeA = j == b.count
            || (i < a.count && (core[a[i]] < core[b[j]] || (core[a[i]] == core[b[j]] && a[i] < b[j])))
        if takeA { result.append(a[i]); i += 1 } else { result.append(b[j]); j += 1 }
    }
    return result
}
