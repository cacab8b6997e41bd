internal import MassClustering
internal import MMCWire

/// The latest clustering as a read-only value: enough to label new points (provisional
/// assignments, `classify`) anywhere, without asking the model owner again.
struct DaemonClassifier: Sendable {
    /// The model version of the clustering.
    let modelVersion: UInt64
    /// The leaf votes of the clustering, `nil` when the window had no forest yet.
    let votes: LeafVotes?
    /// The stable cluster id of each label of the clustering (`stableIDs[label]`).
    let stableIDs: [UInt64]

    /// Cluster ids (`-1` noise) and confidences of `values` (row-major, `dimension` per point).
    /// - Complexity: O(t * h) per point.
    func classify(values: [Double], dimension: Int) -> (clusters: [Int64], confidence: [Double]) {
        let count = values.count / dimension
        var clusters: [Int64] = []
        var confidence: [Double] = []
        clusters.reserveCapacity(count)
        confidence.reserveCapacity(count)
        values.withUnsafeBufferPointer { values in
            for index in 0..<count {
                let (cluster, weight) = classify(
                    point: UnsafeBufferPointer(rebasing: values[index * dimension..<(index + 1) * dimension]))
                clusters.append(cluster)
                confidence.append(weight)
            }
        }
        return (clusters, confidence)
    }

    /// The cluster id (`-1` noise) and confidence of one point; noise for a point of another
    /// dimension than the clustering's.
    /// - Complexity: O(t * h).
    func classify(point: UnsafeBufferPointer<Double>) -> (cluster: Int64, confidence: Double) {
        guard let votes, votes.dimension == point.count else { return (-1, 0) }
        return stableCluster(votes.provisionalLabel(of: point))
    }

    /// The provisional assignments of a batch from its leaf votes (see
    /// ``StreamModel/insert(ids:timestamps:values:labelledBy:into:)``), in stable cluster ids;
    /// all noise when there were no votes to take.
    /// - Throws: `WireError` when the assignments cannot be built, which would be a bug of this
    ///   function (every cluster id and confidence it gives is in range).
    func provisionalAssignments(
        ids: [UInt64], votes: [(label: Int32, confidence: Double)]
    ) throws(WireError) -> ProvisionalAssignments {
        let count = ids.count
        guard votes.count == count else {
            return try ProvisionalAssignments(
                modelVersion: modelVersion, ids: ids, clusters: Array(repeating: -1, count: count),
                confidence: Array(repeating: 0, count: count))
        }
        var clusters: [Int64] = []
        var confidence: [Double] = []
        clusters.reserveCapacity(count)
        confidence.reserveCapacity(count)
        for vote in votes {
            let (cluster, weight) = stableCluster(vote)
            clusters.append(cluster)
            confidence.append(weight)
        }
        return try ProvisionalAssignments(modelVersion: modelVersion, ids: ids, clusters: clusters, confidence: confidence)
    }

    /// The stable id these votes give every point of `window`, in arrival order (`nil` for
    /// noise): the evidence that carries the ids to the next clustering of the model.
    /// - Parameter forest: the live forest counting `window`, whose cached chain ends spare
    ///   most descents, or `nil` to descend the votes' trees.
    /// - Complexity: O(n * t) for the n window points with `forest`, O(n * t * h) without.
    func inheritedIDs(
        of window: SlidingWindow, countedBy forest: MassForest?, minimumConfidence: Double
    ) -> [UInt64?]? {
        guard let votes, votes.dimension == window.dimension, !window.isEmpty else { return nil }
        return votes.provisionalLabels(of: window, countedBy: forest, minimumConfidence: minimumConfidence).map { label in
            label >= 0 && Int(label) < stableIDs.count ? stableIDs[Int(label)] : nil
        }
    }

    private func stableCluster(_ vote: (label: Int32, confidence: Double)) -> (cluster: Int64, confidence: Double) {
        guard vote.label >= 0 && Int(vote.label) < stableIDs.count else { return (-1, 0) }
        return (Int64(stableIDs[Int(vote.label)]), min(max(vote.confidence, 0), 1))
    }
}
