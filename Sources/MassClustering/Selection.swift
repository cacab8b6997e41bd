/// The clustering rule: mass-maximizing (MMC) or its density-maximizing twin (DMC), after
/// Ting, Zhu, Zhang & Liang, "Mass Distribution versus Density Distribution in the Context of
/// Clustering" (2026). See docs/algorithm.md for the formulation.
///
/// Both methods share the hierarchy and its cluster seeds (HDBSCAN's excess-of-mass selection);
/// they differ in the extent each cluster is given around its seed.
public enum ClusteringMethod: String, Sendable, Hashable, CaseIterable {
    /// Mass-maximization clustering: every seed grows to the largest extent it can hold without
    /// meeting another seed, maximizing the total mass (points) of all clusters.
    case mmc
    /// Density-maximization clustering: every cluster keeps its extent of largest excess density,
    /// which is its seed.
    case dmc
}

extension ClusterHierarchy {
    /// Every cluster's stability (HDBSCAN's excess of mass, Campello, Moulavi & Sander 2013):
    /// `sum (lambda_exit - lambda_birth)` over its own points, plus, for the points that went on
    /// to its children, the stretch from its birth to theirs.
    ///
    /// ```swift
    /// let stability = hierarchy.stabilities()
    /// ```
    ///
    /// - Complexity: O(number of clusters).
    public func stabilities() -> [Double] {
        clusters.map { cluster in
            var total = cluster.ownExcess
            for child in cluster.children {
                total += Double(clusters[child].mass) * (clusters[child].birthLambda - cluster.birthLambda)
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
    /// let seeds = hierarchy.selectClusters(scores: hierarchy.stabilities(), allowSingleCluster: false)
    /// ```
    ///
    /// - Parameters:
    ///   - scores: one score per cluster, as from ``stabilities()``.
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
}
