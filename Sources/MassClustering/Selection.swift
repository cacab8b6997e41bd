/// What the selection of clusters from a ``ClusterHierarchy`` maximizes.
///
/// Both are HDBSCAN's excess of mass (Campello, Moulavi & Sander 2013; McInnes & Healy 2017):
/// the integral, over a cluster's points, of how long past the cluster's birth each point stays
/// in it, where a point that goes to a child leaves at the child's birth. They differ in the
/// axis the integral runs along.
public enum ClusterScore: Sendable, Hashable, CaseIterable {
    /// HDBSCAN's stability, `sum (lambda_exit - lambda_birth)`. Lambda is a density scale, so
    /// dense clusters score high: the high-density bias.
    case density
    /// The same integral over log lambda, `sum log(lambda_exit / lambda_reference)`: every
    /// point counts by how many *relative* scales it persists. Multiplying one cluster's
    /// distances by a constant leaves its score unchanged, so a sparse cluster scores like an
    /// equally persistent dense one.
    case mass
}

/// The clustering rule: mass-maximizing (MMC) or its density-maximizing twin (DMC), after
/// Ting, Zhu, Zhang & Liang, "Mass Distribution versus Density Distribution in the Context of
/// Clustering" (2026).
public enum ClusteringMethod: Sendable, Hashable, CaseIterable {
    /// Mass-maximization clustering: selects the clusters of largest total excess mass.
    case mmc
    /// Density-maximization clustering: the same pipeline selecting by total excess density.
    case dmc

    /// The score each method's selection maximizes. This switch is the one place that ties a
    /// method to its rule.
    public var score: ClusterScore {
        switch self {
        case .mmc: .mass
        case .dmc: .density
        }
    }
}

extension ClusterHierarchy {
    /// Every cluster's excess under `score`: its own points' integral plus, for the points that
    /// went on to its children, the stretch from its birth to theirs.
    ///
    /// ```swift
    /// let stability = hierarchy.scores(.density) // HDBSCAN's cluster stabilities
    /// ```
    ///
    /// - Complexity: O(number of clusters).
    public func scores(_ score: ClusterScore) -> [Double] {
        clusters.map { cluster in
            var total = score == .density ? cluster.ownExcess : cluster.ownLogExcess
            for child in cluster.children {
                let born = clusters[child].birthLambda
                let mass = Double(clusters[child].mass)
                switch score {
                case .density: total += mass * (born - cluster.birthLambda)
                case .mass: total += mass * naturalLogarithm(born / cluster.referenceLambda)
                }
            }
            return total
        }
    }

    /// The antichain of clusters of largest total score (HDBSCAN's excess-of-mass selection).
    ///
    /// Bottom-up, each cluster keeps the larger of its own score and the best total of its
    /// children's subtrees, preferring itself on a tie; the selected clusters are the kept ones
    /// with no kept ancestor. A root is eligible when `allowSingleCluster` is set or when there
    /// are two or more roots (then no single root is the whole data set, just as HDBSCAN's
    /// root splits into the components at infinite distance); otherwise only its descendants
    /// compete.
    ///
    /// ```swift
    /// let chosen = hierarchy.selectClusters(scores: hierarchy.scores(.mass), allowSingleCluster: false)
    /// ```
    ///
    /// - Parameters:
    ///   - scores: one score per cluster, as from ``scores(_:)``.
    ///   - allowSingleCluster: whether a lone root may be selected.
    /// - Returns: cluster numbers in ascending order; no one is an ancestor of another.
    /// - Complexity: O(number of clusters).
    public func selectClusters(scores: [Double], allowSingleCluster: Bool) -> [Int] {
        precondition(scores.count == clusters.count, "selectClusters: one score per cluster")
        let rootsEligible = allowSingleCluster || rootCount > 1
        var best = scores
        var keeps = [Bool](repeating: false, count: clusters.count)
        // Children have larger numbers than their parents, so a reverse sweep is bottom-up.
        for cluster in stride(from: clusters.count - 1, through: 0, by: -1) {
            let children = clusters[cluster].children
            let childTotal = children.reduce(0) { $0 + best[$1] }
            let eligible = !clusters[cluster].isRoot || rootsEligible
            if eligible && (children.isEmpty || scores[cluster] >= childTotal) {
                keeps[cluster] = true
            } else {
                best[cluster] = childTotal
            }
        }
        // Top-down: a kept cluster shadows everything below it.
        var shadowed = [Bool](repeating: false, count: clusters.count)
        var selected = [Int]()
        for cluster in clusters.indices {
            let parent = Int(clusters[cluster].parent)
            if parent >= 0 && (shadowed[parent] || keeps[parent]) {
                shadowed[cluster] = true
            } else if keeps[cluster] {
                selected.append(cluster)
            }
        }
        return selected
    }

    /// The selection of `method`: ``selectClusters(scores:allowSingleCluster:)`` with the
    /// scores of `method.score`.
    public func selectClusters(method: ClusteringMethod, allowSingleCluster: Bool) -> [Int] {
        selectClusters(scores: scores(method.score), allowSingleCluster: allowSingleCluster)
    }
}
