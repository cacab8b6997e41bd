/// The clustering rule: mass-maximizing (MMC) or its density-maximizing twin (DMC), after
/// Ting, Zhu, Zhang & Liang, "Mass Distribution versus Density Distribution in the Context of
/// Clustering" (2026). See docs/algorithm.md for the formulation.
///
/// Both methods share the hierarchy and its cluster seeds (HDBSCAN's excess-of-mass selection,
/// which never keeps a cluster that holds a gap); they differ in the extent each cluster is given
/// around its seed.
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

    /// Which clusters hold a *gap*: a true split, their own or a descendant's, where some child
    /// keeps at least half of its points up to `factor` times the split's lambda.
    ///
    /// Such a child's typical point is `factor` times closer to its neighbours than the points
    /// that bridge it to its siblings: the split separates clusters, not the fluctuations of
    /// the density estimate inside one (docs/algorithm.md, section 2). A cluster holding a gap
    /// is never a seed (see ``selectClusters(scores:allowSingleCluster:mustSplit:)``); nor is
    /// any ancestor, which holds the same gap.
    ///
    /// ```swift
    /// let mustSplit = hierarchy.gaps(factor: 2)
    /// ```
    ///
    /// - Parameter factor: at least 1; at 1 every true split is a gap (only leaves can be seeds).
    /// - Returns: one flag per cluster.
    /// - Complexity: O(number of clusters) plus, for every child whose peak reaches
    ///   `factor` times its birth lambda, one pass over its points: O(n * depth) at worst.
    public func gaps(factor: Double) -> [Bool] {
        precondition(factor >= 1, "gaps: factor must be at least 1")
        var gap = [Bool](repeating: false, count: clusters.count)
        // Children have larger numbers than their parents, so a reverse sweep is bottom-up and
        // a cluster is visited after all its descendants have marked it.
        for cluster in stride(from: clusters.count - 1, through: 0, by: -1) {
            if !gap[cluster] {
                gap[cluster] = clusters[cluster].children.contains { child in
                    let level = factor * clusters[child].birthLambda
                    let members = clusters[child].members
                    guard clusters[child].peakLambda >= level else { return false }
                    var above = 0
                    for position in members where exitLambda[position] >= level { above += 1 }
                    return 2 * above >= members.count
                }
            }
            let parent = Int(clusters[cluster].parent)
            if gap[cluster] && parent >= 0 { gap[parent] = true }
        }
        return gap
    }

    /// The antichain of clusters of largest total score (HDBSCAN's excess-of-mass selection)
    /// among the clusters that need not split.
    ///
    /// Bottom-up, each cluster keeps the larger of its own score and the best total of its
    /// children's subtrees, preferring itself on a tie; the selected clusters are the kept ones
    /// with no kept ancestor. A cluster marked in `mustSplit` is never kept: its children's
    /// subtrees compete instead. A root is eligible when `allowSingleCluster` is set or when
    /// there are two or more roots (then no single root is the whole data set, just as
    /// HDBSCAN's root splits into the components at infinite distance); otherwise only its
    /// descendants compete.
    ///
    /// ```swift
    /// let seeds = hierarchy.selectClusters(
    ///     scores: hierarchy.stabilities(), allowSingleCluster: false, mustSplit: hierarchy.gaps(factor: 2))
    /// ```
    ///
    /// - Parameters:
    ///   - scores: one score per cluster, as from ``stabilities()``.
    ///   - allowSingleCluster: whether a lone root may be selected.
    ///   - mustSplit: one flag per cluster, as from ``gaps(factor:)``; a marked cluster's
    ///     ancestors should be marked too, or they can be kept in its place.
    /// - Returns: cluster numbers in ascending order; no one is an ancestor of another.
    /// - Complexity: O(number of clusters).
    public func selectClusters(scores: [Double], allowSingleCluster: Bool, mustSplit: [Bool]) -> [Int] {
        precondition(scores.count == clusters.count, "selectClusters: one score per cluster")
        precondition(mustSplit.count == clusters.count, "selectClusters: one mustSplit flag per cluster")
        let rootsEligible = allowSingleCluster || rootCount > 1
        var best = scores
        var keeps = [Bool](repeating: false, count: clusters.count)
        // Children have larger numbers than their parents, so a reverse sweep is bottom-up.
        for cluster in stride(from: clusters.count - 1, through: 0, by: -1) {
            let children = clusters[cluster].children
            let childTotal = children.reduce(0) { $0 + best[$1] }
            let eligible = (!clusters[cluster].isRoot || rootsEligible) && !mustSplit[cluster]
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
