/// Which neighbour table a re-clustering builds: the exact one (``KDTree``), the approximate one
/// (``NeighbourDescent``), or the one the window's size and dimension call for.
///
/// The rule for ``automatic`` and its reasoning are in docs/algorithm.md, section 5.
public enum NeighbourSearch: String, Sendable, CaseIterable {
    /// The exact k nearest neighbours at any dimension.
    case exact
    /// NN-descent's approximate neighbours, with exact distances.
    case approximate
    /// Approximate for windows of at least ``approximateMinimumCount`` points in at least
    /// ``approximateMinimumDimension`` features, exact otherwise.
    case automatic

    /// Fewest features for which ``automatic`` takes the approximate table.
    public static let approximateMinimumDimension = 8
    /// Fewest points for which ``automatic`` takes the approximate table.
    public static let approximateMinimumCount = 100_000

    /// Whether a window of `count` points in `dimension` features takes the approximate table.
    public func isApproximate(count: Int, dimension: Int) -> Bool {
        switch self {
        case .exact: false
        case .approximate: true
        case .automatic:
            dimension >= NeighbourSearch.approximateMinimumDimension && count >= NeighbourSearch.approximateMinimumCount
        }
    }

    /// The `k`-neighbour table of `points` by this search.
    ///
    /// - Parameter threads: the most threads to use; the table is the same for any.
    public func table(of points: PointMatrix, k: Int, threads: Int) -> NeighbourTable {
        if isApproximate(count: points.count, dimension: points.dimension) {
            NeighbourDescent().neighbours(of: points, k: k, threads: threads)
        } else {
            KDTree(points, threads: threads).nearestNeighbours(k: k, threads: threads)
        }
    }
}
