/// Everything the daemon needs to resume after a restart, as flat arrays.
///
/// The daemon fills it from the model (window, forest, cluster tracker) and the publisher
/// (model version, sequence numbers); ``StateStore`` writes and reads it. It holds no model
/// types, only plain numbers, so the file format does not change when the model's Swift types
/// do. ``inconsistencies`` lists arrays whose lengths disagree; such a snapshot is neither
/// written nor accepted on load.
public struct DaemonStateSnapshot: Sendable, Hashable {
    /// The cluster id of a tracked point that was noise at the last re-clustering.
    public static let noCluster = UInt64.max

    /// When the snapshot was taken, seconds since 1970 (UTC).
    public var createdAt: Double
    /// The model version of the last published clustering.
    public var modelVersion: UInt64
    /// Values per point.
    public var dimension: Int

    /// Window point ids, oldest first.
    public var windowIDs: [UInt64]
    /// Window point timestamps, parallel to ``windowIDs``.
    public var windowTimestamps: [Double]
    /// Window point values, `dimension` per point, row-major, parallel to ``windowIDs``.
    public var windowValues: [Double]
    /// The storage slot of every window point (the forest's leaf cache is indexed by slot).
    public var windowSlots: [Int32]

    /// The mass-estimation forest, or `nil` before it was grown.
    public var forest: Forest?

    /// The id the cluster tracker gives the next new cluster.
    public var nextClusterID: UInt64
    /// Point ids the tracker remembers: the window's at the snapshot, each with its id from the
    /// last re-clustering or its leaf votes (files of earlier builds hold the last
    /// re-clustering's points instead; the format is the same and both restore alike).
    public var trackedPointIDs: [UInt64]
    /// The stable cluster id of every tracked point, ``noCluster`` for noise.
    public var trackedClusterIDs: [UInt64]

    /// The last sequence number published on each topic.
    public var sequenceNumbers: [String: UInt64]

    /// A forest stored as one heap-ordered array per node attribute, trees concatenated.
    public struct Forest: Sendable, Hashable {
        /// Number of trees.
        public var treeCount: Int
        /// Height of every tree.
        public var height: Int
        /// Points each tree is built from.
        public var sampleSize: Int
        /// The seed the forest was created with.
        public var seed: UInt64
        /// Nodes in one tree; every node array holds `treeCount * nodesPerTree` entries.
        public var nodesPerTree: Int
        /// The tree the next refresh rebuilds.
        public var oldestTree: Int
        /// Split dimension of every node.
        public var splitDimensions: [Int32]
        /// Split value of every node.
        public var splitValues: [Double]
        /// Window points in every node.
        public var counts: [Int32]
        /// Log volume of every node's region.
        public var logVolumes: [Double]
        /// Leaf of every window slot in every tree, `treeCount` per slot.
        public var leaves: [Int32]
        /// State of the forest's random generator.
        public var generatorState: [UInt64]

        /// Creates a forest record.
        public init(
            treeCount: Int, height: Int, sampleSize: Int, seed: UInt64, nodesPerTree: Int, oldestTree: Int,
            splitDimensions: [Int32], splitValues: [Double], counts: [Int32], logVolumes: [Double],
            leaves: [Int32], generatorState: [UInt64]
        ) {
            self.treeCount = treeCount
            self.height = height
            self.sampleSize = sampleSize
            self.seed = seed
            self.nodesPerTree = nodesPerTree
            self.oldestTree = oldestTree
            self.splitDimensions = splitDimensions
            self.splitValues = splitValues
            self.counts = counts
            self.logVolumes = logVolumes
            self.leaves = leaves
            self.generatorState = generatorState
        }
    }

    /// Creates a snapshot.
    public init(
        createdAt: Double, modelVersion: UInt64, dimension: Int,
        windowIDs: [UInt64], windowTimestamps: [Double], windowValues: [Double], windowSlots: [Int32],
        forest: Forest?, nextClusterID: UInt64, trackedPointIDs: [UInt64], trackedClusterIDs: [UInt64],
        sequenceNumbers: [String: UInt64]
    ) {
        self.createdAt = createdAt
        self.modelVersion = modelVersion
        self.dimension = dimension
        self.windowIDs = windowIDs
        self.windowTimestamps = windowTimestamps
        self.windowValues = windowValues
        self.windowSlots = windowSlots
        self.forest = forest
        self.nextClusterID = nextClusterID
        self.trackedPointIDs = trackedPointIDs
        self.trackedClusterIDs = trackedClusterIDs
        self.sequenceNumbers = sequenceNumbers
    }

    /// Lengths and values that disagree, as sentences; empty for a usable snapshot.
    public var inconsistencies: [String] {
        var problems: [String] = []
        let points = windowIDs.count
        if dimension < 1 { problems.append("dimension \(dimension) is below 1") }
        if windowTimestamps.count != points {
            problems.append("\(windowTimestamps.count) window timestamps for \(points) points")
        }
        if dimension >= 1, windowValues.count != points * dimension {
            problems.append("\(windowValues.count) window values for \(points) points of dimension \(dimension)")
        }
        if windowSlots.count != points { problems.append("\(windowSlots.count) window slots for \(points) points") }
        if trackedClusterIDs.count != trackedPointIDs.count {
            problems.append("\(trackedClusterIDs.count) tracked cluster ids for \(trackedPointIDs.count) points")
        }
        if let forest {
            let scalars = [
                ("treeCount", forest.treeCount), ("height", forest.height), ("sampleSize", forest.sampleSize),
                ("nodesPerTree", forest.nodesPerTree),
            ]
            for (name, value) in scalars where value < 1 { problems.append("forest \(name) \(value) is below 1") }
            if !(0..<max(forest.treeCount, 1)).contains(forest.oldestTree) {
                problems.append("forest oldestTree \(forest.oldestTree) is not a tree")
            }
            let (nodes, overflow) = forest.treeCount.multipliedReportingOverflow(by: forest.nodesPerTree)
            let arrays = [
                ("splitDimensions", forest.splitDimensions.count), ("splitValues", forest.splitValues.count),
                ("counts", forest.counts.count), ("logVolumes", forest.logVolumes.count),
            ]
            for (name, count) in arrays where overflow || count != nodes {
                problems.append("forest \(name) has \(count) entries for \(forest.treeCount) trees of \(forest.nodesPerTree) nodes")
            }
            if forest.treeCount >= 1, !forest.leaves.count.isMultiple(of: forest.treeCount) {
                problems.append("forest leaves has \(forest.leaves.count) entries, not a multiple of \(forest.treeCount) trees")
            }
        }
        return problems
    }
}
