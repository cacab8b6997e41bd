#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The parameters of a re-clustering, validated at init.
///
/// ```swift
/// let parameters = try ClusteringParameters(method: .mmc, minSamples: 15)
/// parameters.minClusterSize(forPointCount: 20_000) // 200, derived: max(5, n / 100)
/// ```
public struct ClusteringParameters: Sendable, Hashable {
    /// `minSamples` unless told otherwise.
    public static let defaultMinSamples = 15
    /// `outlierFactor` unless told otherwise: in two dimensions a 3x larger spacing is a 9x
    /// lower density than the cluster's own sparse end.
    public static let defaultOutlierFactor = 3.0
    /// `gapFactor` unless told otherwise: a side of a split that keeps half its points at twice
    /// the split's level stands beyond what the density estimate's noise produces (about 1.4x
    /// in two dimensions, docs/algorithm.md).
    public static let defaultGapFactor = 2.0
    /// `valleyRatio` unless told otherwise: the density estimate's noise lifts a fragment of a
    /// flat region to about twice the density of the link it split off at (1.4x the level in
    /// two dimensions, 1.24x in three: docs/algorithm.md), so a side must rise beyond that.
    public static let defaultValleyRatio = 2.0

    /// Which rule selects the clusters.
    public let method: ClusteringMethod
    /// The neighbourhood of the density estimate: a point's core distance is the mean distance
    /// to its `minSamples` nearest other points (0: plain single linkage). Larger values smooth
    /// the estimate (fewer spurious modes) but blur clusters smaller than the neighbourhood.
    public let minSamples: Int
    /// The smallest cluster, or `nil` to derive it from the number of points with
    /// ``derivedMinClusterSize(pointCount:)``.
    public let minClusterSize: Int?
    /// Neighbours per point in the candidate graph; the graph uses
    /// `max(minSamples, graphNeighbours)`.
    public let graphNeighbours: Int
    /// Whether the whole data set may come back as one cluster (HDBSCAN's
    /// `allow_single_cluster`).
    public let allowSingleCluster: Bool
    /// MMC only: how far a cluster reaches out to unassigned points, in multiples of the 90th
    /// percentile of its seed's core distances. Points farther out stay noise.
    public let outlierFactor: Double
    /// When a split is a gap: some side keeps at least half of its points up to this many times
    /// the split's lambda and does not split below that (``ClusterHierarchy/gapSplits(factor:)``).
    /// A cluster holding a gap is never a seed, whatever its stability. Also the most a side's
    /// densest part may stand above the link where two extents meet for that side to be a ramp,
    /// which merges them. At least 1; `nil`: no split is forced and no ramp merged.
    public let gapFactor: Double?
    /// When a split can separate clusters at all: two of its sides each keep `minClusterSize`
    /// points at a density this many times the split's, i.e. a lambda `valleyRatio^(1/d_s)`
    /// times the split's where the data around it is locally `d_s`-dimensional
    /// (``ClusterHierarchy/twoSidedSplits(densityRatio:dimensions:)``).
    /// Other splits (a density gradient's) are undone unless they are gaps. At least 1;
    /// `nil` (or 1): every split competes by excess of mass, as in HDBSCAN.
    public let valleyRatio: Double?
    /// How the neighbour table is found: exact, approximate (NN-descent), or chosen by the
    /// window's size and dimension (docs/algorithm.md, section 5).
    public let neighbourSearch: NeighbourSearch

    /// Validates and stores the parameters.
    ///
    /// - Parameters:
    ///   - method: the selection rule; default ``ClusteringMethod/mmc``.
    ///   - minSamples: at least 0; default ``defaultMinSamples`` (15).
    ///   - minClusterSize: at least 2, or `nil` (default) to derive it per call.
    ///   - graphNeighbours: at least 1; default ``SpanningForest/defaultGraphNeighbours`` (15).
    ///   - allowSingleCluster: default `false`.
    ///   - outlierFactor: greater than 0; default ``defaultOutlierFactor`` (3).
    ///   - gapFactor: at least 1, or `nil`; default ``defaultGapFactor`` (2).
    ///   - valleyRatio: at least 1, or `nil`; default ``defaultValleyRatio`` (2).
    ///   - neighbourSearch: default ``NeighbourSearch/automatic``.
    /// - Throws: ``ParameterError`` naming the first parameter out of range.
    public init(
        method: ClusteringMethod = .mmc,
        minSamples: Int = ClusteringParameters.defaultMinSamples,
        minClusterSize: Int? = nil,
        graphNeighbours: Int = SpanningForest.defaultGraphNeighbours,
        allowSingleCluster: Bool = false,
        outlierFactor: Double = ClusteringParameters.defaultOutlierFactor,
        gapFactor: Double? = ClusteringParameters.defaultGapFactor,
        valleyRatio: Double? = ClusteringParameters.defaultValleyRatio,
        neighbourSearch: NeighbourSearch = .automatic
    ) throws(ParameterError) {
        guard minSamples >= 0 else {
            throw ParameterError(key: "minSamples", value: "\(minSamples)", allowed: ">= 0")
        }
        if let minClusterSize, minClusterSize < 2 {
            throw ParameterError(key: "minClusterSize", value: "\(minClusterSize)", allowed: ">= 2")
        }
        guard graphNeighbours >= 1 else {
            throw ParameterError(key: "graphNeighbours", value: "\(graphNeighbours)", allowed: ">= 1")
        }
        self.method = method
        self.minSamples = minSamples
        self.minClusterSize = minClusterSize
        self.graphNeighbours = graphNeighbours
        guard outlierFactor > 0 && outlierFactor.isFinite else {
            throw ParameterError(key: "outlierFactor", value: "\(outlierFactor)", allowed: "> 0")
        }
        if let gapFactor, !(gapFactor >= 1 && gapFactor.isFinite) {
            throw ParameterError(key: "gapFactor", value: "\(gapFactor)", allowed: ">= 1")
        }
        self.allowSingleCluster = allowSingleCluster
        self.outlierFactor = outlierFactor
        if let valleyRatio, !(valleyRatio >= 1 && valleyRatio.isFinite) {
            throw ParameterError(key: "valleyRatio", value: "\(valleyRatio)", allowed: ">= 1")
        }
        self.gapFactor = gapFactor
        self.valleyRatio = valleyRatio
        self.neighbourSearch = neighbourSearch
    }

    /// The default smallest cluster for `pointCount` points: `max(5, pointCount / 100)`, so
    /// that a cluster holds at least 1% of the points (and at least 5) at any window size.
    ///
    /// Counted in units of `replayFactor` readings (``SpanningForest/replayFactor``):
    /// `replayFactor * max(5, pointCount / (100 * replayFactor))`, so that a window whose every
    /// reading arrived `r` times asks exactly `r` times the size of the readings once.
    public static func derivedMinClusterSize(pointCount: Int, replayFactor: Int = 1) -> Int {
        let size = replayFactor * max(5, pointCount / (100 * replayFactor))
        // Units of several readings can ask for more than the window holds; no cluster needs more.
        return replayFactor > 1 ? min(size, pointCount) : size
    }

    /// The smallest cluster used for `pointCount` points: the set value, or the derived one.
    public func minClusterSize(forPointCount pointCount: Int, replayFactor: Int = 1) -> Int {
        minClusterSize ?? Self.derivedMinClusterSize(pointCount: pointCount, replayFactor: replayFactor)
    }
}

/// The result of ``cluster(_:parameters:)``: a label per point and a summary per cluster.
public struct Clustering: Sendable, Equatable {
    /// Per input point, its cluster's label in `0..<clusters.count`, or -1 for noise.
    public let labels: [Int32]
    /// The clusters, indexed by label.
    public let clusters: [ClusterSummary]
    /// The minimum cluster size that was used (set or derived).
    public let minClusterSize: Int

    /// Points labelled -1.
    public var noiseCount: Int { labels.reduce(0) { $0 + ($1 < 0 ? 1 : 0) } }
}

/// Clusters points by mass maximization (MMC) or its density twin (DMC); see docs/algorithm.md.
///
/// The steps: a ``KDTree`` (or, for large windows in many features, ``NeighbourDescent``;
/// ``ClusteringParameters/neighbourSearch``) finds each point's `max(minSamples, graphNeighbours)`
/// nearest neighbours; a ``SpanningForest`` keeps the minimum spanning forest of those edges under
/// mutual reachability; a ``ClusterHierarchy`` condenses its single-linkage dendrogram with the
/// minimum cluster size (Campello, Moulavi & Sander 2013; McInnes & Healy 2017); the antichain
/// of largest total stability among the clusters that hold no gap, over the splits that rise on
/// two sides (``ClusterHierarchy/valleySeeds(gaps:twoSided:allowSingleCluster:)``), gives the
/// cluster *seeds*; seeds whose extents meet on a ramp, where one is only the other's slope,
/// share a label (docs/algorithm.md, section 2). DMC labels the seeds'
/// points, the extent of largest excess density (HDBSCAN's result). MMC grows every seed along
/// the forest until it meets another seed or its outlier bound, the extent of largest total
/// mass (``maximizeMass(labels:forest:outlierFactor:)``). Labels are numbered in order of each
/// cluster's smallest point index, so they do not depend on tree internals.
///
/// The points are used as given: scale them (``FeatureScaling/scaled(_:threads:)``) when features have
/// different units. The result is deterministic. Reordering the rows gives the same partition
/// (the hierarchy takes equal weights together, see ``ClusterHierarchy``) unless distances tie
/// at some point's k-th neighbour (duplicate points, grid data): neighbour lists break such
/// ties by index.
///
/// Edge cases: with no cluster large enough (fewer points than the minimum cluster size, or a
/// single component that never splits into two clusters of that size) every point is noise,
/// unless `allowSingleCluster` lets the component be the one cluster. All-identical points are
/// one component that never splits: all noise, or one cluster with `allowSingleCluster`.
///
/// `threads` bounds the threads of the parallel phases (the k-d tree, the neighbour search, the
/// candidate edges and their sort); the result is the same for every value, as the work is cut
/// into chunks that do not depend on it and each chunk writes only its own part.
///
/// ```swift
/// let points = FeatureScaling.robust.scaled(PointMatrix(rows: rows))
/// let result = cluster(points, parameters: try ClusteringParameters(method: .mmc))
/// result.labels   // [0, 0, 1, -1, ...]
/// result.clusters // centroid, bounding box and mass per label
/// ```
///
/// `far` flags the readings that lie far outside the window's body (``FeatureScaling/scaledMarkingFar(_:threads:)``):
/// such a reading keeps a label only in a cluster made mostly of far readings (several spikes at
/// one place). A component of the neighbour graph is a root of the hierarchy, born at lambda 0,
/// so a spike that hangs off it would otherwise be its member, however far.
///
/// `workspace` lends the forest's largest buffer (the candidate edges and their sort's second
/// array) to successive calls, such as a daemon's re-clusterings of its window; the result is
/// the same without one.
///
/// - Complexity: O(n log n * k * d) for the neighbour search (up to O(n² d) for data that
///   fills many dimensions uniformly, see ``KDTree``; O(n k² d) per round of
///   ``NeighbourDescent``) plus O(n k log(n k)) for the forest, with
///   `k = max(minSamples, graphNeighbours)`. Memory: O(n k) transient (12 bytes per neighbour
///   entry, then 36 per candidate edge: the edges and the sort's half), O(n d) for the tree's copy.
public func cluster(
    _ points: PointMatrix, parameters: ClusteringParameters, far: [Bool] = [], threads: Int = 1,
    workspace: ClusteringWorkspace? = nil
) -> Clustering {
    precondition(far.isEmpty || far.count == points.count, "cluster: one far flag per point")
    let n = points.count
    let d = points.dimension
    let forest: SpanningForest
    if let workspace {
        forest = workspace.withEdgeStorage { scratch in
            SpanningForest(
                points: points, minSamples: parameters.minSamples, graphNeighbours: parameters.graphNeighbours,
                threads: threads, neighbourSearch: parameters.neighbourSearch, scratch: &scratch, spare: true)
        }
    } else {
        forest = SpanningForest(
            points: points, minSamples: parameters.minSamples, graphNeighbours: parameters.graphNeighbours,
            threads: threads, neighbourSearch: parameters.neighbourSearch)
    }
    let minClusterSize = parameters.minClusterSize(forPointCount: n, replayFactor: forest.replayFactor)
    let hierarchy = ClusterHierarchy(forest: forest, minClusterSize: minClusterSize)
    let seeds = hierarchy.valleySeeds(
        gaps: parameters.gapFactor.map { hierarchy.gapSplits(factor: $0) }
            ?? [Bool](repeating: false, count: hierarchy.clusters.count),
        twoSided: parameters.valleyRatio.map { ratio in
            hierarchy.twoSidedSplits(
                densityRatio: ratio,
                dimensions: hierarchy.splitLocalDimensions(inverseLocalDimensions: forest.inverseLocalDimensions, dimension: d))
        }
            ?? [Bool](repeating: true, count: hierarchy.clusters.count),
        allowSingleCluster: parameters.allowSingleCluster)

    // Seeds' subtrees are disjoint ranges of the point order; number them by smallest member.
    let ranked = seeds.map { cluster in
        (cluster: cluster, smallest: hierarchy.pointOrder[hierarchy.clusters[cluster].members].min() ?? 0)
    }.sorted { $0.smallest < $1.smallest }
    var labels = [Int32](repeating: -1, count: n)
    for (label, entry) in ranked.enumerated() {
        for position in hierarchy.clusters[entry.cluster].members {
            labels[Int(hierarchy.pointOrder[position])] = Int32(label)
        }
    }
    var extents = labels
    let contacts = maximizeMass(labels: &extents, forest: forest, outlierFactor: parameters.outlierFactor)
    // Extents that meet where one is only the other's slope are one cluster (for DMC too: the
    // seeds are shared). Gaps off, nothing forces a split along a gradient, and none is undone.
    let representative = parameters.gapFactor.map {
        rampMerges(
            extents: extents, contacts: contacts, points: points, forest: forest,
            minClusterSize: minClusterSize, riseBound: $0, climbBound: rampClimbBound(dimension: d),
            valleyRatio: parameters.valleyRatio ?? 1,
            neighbours: max(parameters.minSamples, parameters.graphNeighbours))
    } ?? (0..<Int32(ranked.count)).map { $0 }
    var group = [Int32](repeating: -1, count: ranked.count)
    var groups = [[Int]]()
    for label in 0..<ranked.count {
        let root = Int(representative[label])
        if group[root] < 0 { group[root] = Int32(groups.count); groups.append([]) }
        group[label] = group[root]
        groups[Int(group[root])].append(ranked[label].cluster)
    }
    if parameters.method == .mmc { labels = extents }
    for point in 0..<n where labels[point] >= 0 { labels[point] = group[Int(labels[point])] }
    // A cluster of seeds joined on ramps is a slope: its sparse end is its extent's, not its
    // densest seed's, and it reaches out from there (docs/algorithm.md, section 3).
    if parameters.method == .mmc && groups.contains(where: { $0.count > 1 }) {
        maximizeMass(
            labels: &labels, forest: forest, outlierFactor: parameters.outlierFactor,
            growing: groups.map { $0.count > 1 })
    }
    if !far.isEmpty {
        detachFarReadings(labels: &labels, far: far, clusterCount: groups.count)
    }

    let summaries = ClusterSummary.summaries(
        of: points, labels: labels,
        lambdas: groups.map { seeds in
            (seeds.map { hierarchy.clusters[$0].birthLambda }.min() ?? 0,
             seeds.map { hierarchy.clusters[$0].peakLambda }.max() ?? 0)
        })
    return Clustering(labels: labels, clusters: summaries, minClusterSize: minClusterSize)
}

/// Labels far readings noise unless they are most of their cluster's readings.
private func detachFarReadings(labels: inout [Int32], far: [Bool], clusterCount: Int) {
    var farCount = [Int](repeating: 0, count: clusterCount), count = farCount
    for (point, label) in labels.enumerated() where label >= 0 {
        count[Int(label)] += 1
        if far[point] { farCount[Int(label)] += 1 }
    }
    for point in labels.indices where far[point] && labels[point] >= 0 {
        if 2 * farCount[Int(labels[point])] <= count[Int(labels[point])] { labels[point] = -1 }
    }
}
