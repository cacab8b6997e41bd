internal import MassClustering

/// A clustering of the window with stable cluster ids: what a ``ReclusterJob`` computes before
/// it encodes the updates.
struct TrackedClustering {
    /// The window's point ids, in arrival order (an id may repeat).
    let ids: [UInt64]
    /// Coordinates per point.
    let dimension: Int
    /// Indices into `ids` of the newest point of each id, in arrival order.
    let unique: [Int]
    /// The clusters that hold the newest point of some id, labelled `0..<k` and summarised in
    /// the points' original units.
    let clustering: Clustering
    /// The tracker after matching this clustering.
    let tracker: ClusterTracker
    /// The stable cluster id of each label of `clustering`.
    let stableIDs: [UInt64]
    /// The lifecycle events of this clustering.
    let events: [ClusterTracker.Event]
    /// The stable cluster id of every window point, -1 for noise.
    let pointClusters: [Int64]
    /// The stable cluster id of every point id, the base of the next diff.
    let assignments: [UInt64: Int64]
    /// The leaf votes that label new points, `nil` when the window has no forest yet.
    let votes: LeafVotes?
}
