public import MassClustering

/// Points and the cluster of each: what ``ScatterPlot`` draws.
///
/// Cluster ids are the non-negative integers of the clustering (the daemon's stable ids, or
/// `mmc cluster`'s labels). Two negative values are reserved: ``noise`` for a point in no
/// cluster and ``unassigned`` for a point that joined a window after its last re-clustering,
/// so it has no label yet. A labels file whose noise label is another value (`0` in the
/// benchmark sets' `.labels0` files) is mapped to ``noise`` by the caller.
public struct PlotData: Sendable {
    /// The cluster value of a noise point.
    public static let noise: Int64 = -1
    /// The cluster value of a point that has not been clustered yet.
    public static let unassigned: Int64 = -2

    /// The points, one row each.
    public let points: PointMatrix
    /// The cluster id of every point, ``noise`` or ``unassigned``.
    public let clusters: [Int64]
    /// One name per feature: the file's header, or `x1`, `x2`, ... when there is none.
    public let featureNames: [String]

    /// Pairs points with their clusters.
    ///
    /// - Parameter featureNames: one name per feature; `nil` names them `x1`, `x2`, ...
    /// - Throws: ``PlotError`` when the counts disagree or a cluster value is below
    ///   ``unassigned``.
    public init(points: PointMatrix, clusters: [Int64], featureNames: [String]? = nil) throws(PlotError) {
        guard clusters.count == points.count else {
            throw PlotError("\(clusters.count) cluster labels for \(points.count) points")
        }
        if let bad = clusters.firstIndex(where: { $0 < Self.unassigned }) {
            throw PlotError("point \(bad + 1) has cluster \(clusters[bad]); ids are >= 0, -1 is noise")
        }
        let names = featureNames ?? (0..<points.dimension).map { "x\($0 + 1)" }
        guard names.count == points.dimension else {
            throw PlotError("\(names.count) feature names for \(points.dimension) features")
        }
        self.points = points
        self.clusters = clusters
        self.featureNames = names
    }
}

/// Why a plot cannot be drawn: a readable sentence.
public struct PlotError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    public let description: String

    /// An error saying `description`.
    public init(_ description: String) {
        self.description = description
    }
}

/// Which two coordinates a plot shows.
public enum PlotAxes: Sendable, Hashable {
    /// The only feature against the point's position (one feature), the two features (two), or
    /// the first two principal components (more).
    case automatic
    /// Two features by index, from 0.
    case features(x: Int, y: Int)
    /// The first two principal components of the features scaled to [0, 1], as the clusterer
    /// sees them.
    case principalComponents
}

/// How a plot is laid out.
public struct PlotOptions: Sendable, Hashable {
    /// The heading above the plot; empty for none.
    public var title = ""
    /// The coordinates shown.
    public var axes = PlotAxes.automatic
    /// Width of the plot with its axes, in pixels (the legend is added to the right), 200...10,000.
    public var width = 720
    /// Height of the plot with its axes, in pixels (notes are added below), 200...10,000.
    public var height = 540
    /// Above this many points, points are aggregated into grid cells so that a browser draws a
    /// bounded number of shapes; 0 always aggregates.
    public var pointLimit = 20_000
    /// The side of an aggregation cell, in pixels, 1...100.
    public var cellSize = 4.0
    /// Lines printed under the plot (where the labels came from, say).
    public var notes: [String] = []

    /// The defaults.
    public init() {}
}
