/// MMC's extent step: grows every selected cluster seed to the largest extent it can hold without
/// meeting another seed, which maximizes the total mass (point count) of all clusters.
///
/// The seeds are the clusters the excess-of-mass selection picked; every other point starts as
/// noise. The forest's edges are replayed in ascending weight (Kruskal order, which is the order
/// single linkage merges them): joining two components that carry different seeds is refused,
/// joining a seeded component with an unseeded one hands the seed's label to the whole unseeded
/// component. Every point therefore joins the seed it reaches through the lightest possible
/// heaviest edge (its minimax path), whatever that seed's density: a point in a sparse cluster
/// counts exactly as much as one in a dense cluster.
///
/// The forest's edge order breaks equal weights by plain distance, so a point between two seeds
/// at the same weight joins the nearer one, whatever the order of the input rows.
///
/// Outliers stay noise: an unseeded component joins seed `c` only through an edge no heavier than
/// `outlierFactor` times the 90th percentile of the core distances of `c`'s seed members. The
/// bound is relative to each cluster's own spacing, so it treats sparse and dense clusters alike.
///
/// - Parameters:
///   - labels: seed labels per point (`-1` = not in a seed); updated in place.
///   - forest: the spanning forest the seeds were selected from.
///   - outlierFactor: how many times its own sparse-end spacing a cluster reaches out.
///   - growing: per label, whether it grows (empty: every label); a label that does not keeps
///     its points and takes no other.
/// - Complexity: O(n) expected for the percentiles, O(n α(n)) to grow.
@discardableResult
func maximizeMass(
    labels: inout [Int32], forest: SpanningForest, outlierFactor: Double, growing: [Bool] = []
) -> [ExtentContact] {
    let n = labels.count
    let clusterCount = Int(labels.max() ?? -1) + 1
    guard clusterCount > 0 else { return [] }

    var seedCores = [[Double]](repeating: [], count: clusterCount)
    for point in 0..<n where labels[point] >= 0 {
        seedCores[Int(labels[point])].append(forest.coreDistances[point])
    }
    precondition(growing.isEmpty || growing.count >= clusterCount, "maximizeMass: one growing flag per label")
    let reach = seedCores.enumerated().map { label, cores -> Double in
        guard growing.isEmpty || growing[label] else { return -.infinity }
        var cores = cores
        let index = min(cores.count - 1, Int((0.9 * Double(cores.count - 1)).rounded(.up)))
        selectRank(&cores, rank: index, in: 0..<cores.count)
        return outlierFactor * cores[index]
    }

    var sets = DisjointSets(count: n)
    // The label of each set, kept at its representative.
    var setLabel = labels
    var contacts = [ExtentContact](), touching = Set<Int>()
    for (index, edge) in forest.edges.enumerated() {
        let rootA = sets.find(Int(edge.a)), rootB = sets.find(Int(edge.b))
        let labelA = setLabel[rootA], labelB = setLabel[rootB]
        let joined: Int32
        if labelA >= 0 && labelB >= 0 {
            guard labelA == labelB else {
                let first = min(labelA, labelB), second = max(labelA, labelB)
                if touching.insert(Int(first) * clusterCount + Int(second)).inserted {
                    contacts.append(ExtentContact(first: first, second: second, edge: index))
                }
                continue
            }
            joined = labelA
        } else if labelA >= 0 || labelB >= 0 {
            joined = max(labelA, labelB)
            guard edge.weight <= reach[Int(joined)] else { continue }
        } else {
            joined = -1
        }
        // Forest edges never close a cycle: the two roots differ.
        setLabel[sets.unite(roots: rootA, rootB)] = joined
    }
    for point in 0..<n {
        labels[point] = setLabel[sets.find(point)]
    }
    return contacts
}

/// Where two extents meet: the first forest edge, in Kruskal order, that the extent step refused
/// because it joins them. It is the lightest edge between the two, the saddle of the minimax
/// path from one seed to the other.
struct ExtentContact: Sendable, Equatable {
    /// The smaller label.
    let first: Int32
    /// The larger label.
    let second: Int32
    /// The index of the edge in ``SpanningForest/edges``.
    let edge: Int
}
