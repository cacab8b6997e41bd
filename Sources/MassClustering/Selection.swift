#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The clustering rule: mass-maximizing (MMC) or its density-maximizing twin (DMC), after
/// Ting, Zhu, Zhang & Liang, "Mass Distribution versus Density Distribution in the Context of
/// Clustering" (2026). See docs/algorithm.md for the formulation.
///
/// Both methods share the hierarchy and its cluster seeds (HDBSCAN's excess-of-mass selection
/// over the splits that valleys pay for, never keeping a cluster that holds a gap, and seeds
/// whose extents meet on a ramp merged); they differ in the extent each cluster is given around
/// its seed.
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

    /// Which clusters end in a *gap*: a true split where some child keeps at least half of its
    /// points up to `factor` times the split's lambda and holds together up to there (it does
    /// not split itself at a lower lambda).
    ///
    /// Such a child is a mode standing `factor` times above the points that bridge it to its
    /// siblings: its typical point is `factor` times closer to its neighbours, beyond what the
    /// density estimate's noise gives, and it does not fall apart before reaching that level,
    /// as the dense side of a density gradient does, shedding one fragment after another
    /// (docs/algorithm.md, section 2). A cluster whose subtree holds a gap is never a seed
    /// (``valleySeeds(gaps:twoSided:allowSingleCluster:)``).
    ///
    /// ```swift
    /// let gaps = hierarchy.gapSplits(factor: 2)
    /// ```
    ///
    /// - Parameter factor: at least 1; at 1 every true split whose children do not split at
    ///   their own birth is a gap.
    /// - Returns: one flag per cluster, for its own split only.
    /// - Complexity: O(number of clusters) plus, for every child whose peak reaches `factor`
    ///   times its birth lambda, one pass over its points: O(n * depth) at worst.
    public func gapSplits(factor: Double) -> [Bool] {
        precondition(factor >= 1, "gapSplits: factor must be at least 1")
        return clusters.map { cluster in
            cluster.children.contains { child in
                let level = factor * clusters[child].birthLambda
                let holds = clusters[child].children.first.map { clusters[$0].birthLambda >= level } ?? true
                guard holds && clusters[child].peakLambda >= level else { return false }
                return 2 * count(in: child, atLeast: level, enough: clusters[child].mass) >= clusters[child].mass
            }
        }
    }

    /// Which true splits rise on two sides: at least two children each keep a cluster's worth
    /// (`minClusterSize`) of points up to `densityRatio^(1 / d_s)` times the split's lambda,
    /// `d_s` the split's local dimension (density goes as `lambda^(d_s)` there).
    ///
    /// A split where only one side rises beyond the density estimate's noise is a change of
    /// level, not a valley: along a density gradient the sparse side of every split is a
    /// fragment held together by noise alone (docs/algorithm.md, section 2).
    ///
    /// ```swift
    /// let twoSided = hierarchy.twoSidedSplits(densityRatio: 2, dimensions: [Double](repeating: 2, count: hierarchy.clusters.count))
    /// ```
    ///
    /// - Parameters:
    ///   - densityRatio: at least 1; at 1 every true split rises on two sides.
    ///   - dimensions: one local dimension (at least 1) per cluster, as from
    ///     ``splitLocalDimensions(inverseLocalDimensions:dimension:)``.
    /// - Returns: one flag per cluster, false for a cluster without children.
    /// - Complexity: one pass over the points of every child, stopping at `minClusterSize`
    ///   points: O(n * depth) at worst.
    public func twoSidedSplits(densityRatio: Double, dimensions: [Double]) -> [Bool] {
        precondition(densityRatio >= 1, "twoSidedSplits: densityRatio must be at least 1")
        precondition(dimensions.count == clusters.count, "twoSidedSplits: one dimension per cluster")
        return clusters.indices.map { index in
            let cluster = clusters[index]
            let factor = pow(densityRatio, 1 / max(1, dimensions[index]))
            var rising = 0
            for child in cluster.children {
                let level = factor * clusters[child].birthLambda
                if clusters[child].peakLambda >= level
                    && count(in: child, atLeast: level, enough: minClusterSize) >= minClusterSize {
                    rising += 1
                }
                if rising >= 2 { return true }
            }
            return false
        }
    }

    /// Points of `cluster`'s subtree whose exit lambda is at least `level`, counted up to `enough`.
    private func count(in cluster: Int, atLeast level: Double, enough: Int) -> Int {
        var above = 0
        for position in clusters[cluster].members where exitLambda[position] >= level {
            above += 1
            if above >= enough { break }
        }
        return above
    }

    /// The cluster seeds where only valleys separate clusters: HDBSCAN's excess-of-mass
    /// selection on the tree left when every split that is neither a gap nor two-sided is
    /// undone, with no cluster holding a gap a seed.
    ///
    /// An undone split's children stay parts of the cluster that split: their points count
    /// toward its excess of mass up to where they leave it or enter a cluster born at a kept
    /// split below them, and they are never seeds themselves. Kept splits below them still
    /// compete. So a cluster whose density only changes along it, shedding fragments that rise
    /// on one side only, stays one cluster; two-sided splits compete by excess of mass as in
    /// HDBSCAN; gaps always separate. When nothing is left to select (one component, no kept
    /// split, and no single cluster allowed), the selection falls back to excess of mass on
    /// the whole tree, so a data set that must split still does.
    ///
    /// ```swift
    /// let seeds = hierarchy.valleySeeds(
    ///     gaps: hierarchy.gapSplits(factor: 2), twoSided: hierarchy.twoSidedSplits(densityRatio: 2, dimensions: dimensions),
    ///     allowSingleCluster: false)
    /// ```
    ///
    /// - Parameters:
    ///   - gaps: one flag per cluster, as from ``gapSplits(factor:)``.
    ///   - twoSided: one flag per cluster, as from ``twoSidedSplits(densityRatio:dimensions:)``; all true keeps
    ///     every split (HDBSCAN's selection with gaps).
    ///   - allowSingleCluster: whether a lone root may be selected.
    /// - Returns: cluster numbers in ascending order; no one is an ancestor of another.
    /// - Complexity: O(n + number of clusters).
    public func valleySeeds(gaps: [Bool], twoSided: [Bool], allowSingleCluster: Bool) -> [Int] {
        let count = clusters.count
        precondition(gaps.count == count && twoSided.count == count, "valleySeeds: one flag per cluster")
        // Each cluster's owner: itself if a root or born at a kept split, else its parent's owner.
        var owner = Array(0..<count)
        var mustSplit = [Bool](repeating: false, count: count)
        for cluster in 0..<count {
            let parent = Int(clusters[cluster].parent)
            if parent >= 0 && !(gaps[parent] || twoSided[parent]) {
                owner[cluster] = owner[parent]
                mustSplit[cluster] = true
            }
        }
        // Excess of mass on the reduced tree: every point counts toward its exit cluster's owner.
        var scores = [Double](repeating: 0, count: count)
        for position in 0..<pointCount where exitCluster[position] >= 0 {
            let kept = owner[Int(exitCluster[position])]
            scores[kept] += exitLambda[position] - clusters[kept].birthLambda
        }
        for cluster in 0..<count where owner[cluster] == cluster && clusters[cluster].parent >= 0 {
            let kept = owner[Int(clusters[cluster].parent)]
            scores[kept] += Double(clusters[cluster].mass) * (clusters[cluster].birthLambda - clusters[kept].birthLambda)
        }
        // A cluster whose subtree holds a gap must split.
        let holdsGap = propagated(gaps)
        for cluster in 0..<count where holdsGap[cluster] { mustSplit[cluster] = true }
        let seeds = selectClusters(scores: scores, allowSingleCluster: allowSingleCluster, mustSplit: mustSplit)
        guard seeds.isEmpty && count > 0 else { return seeds }
        return selectClusters(scores: stabilities(), allowSingleCluster: allowSingleCluster, mustSplit: holdsGap)
    }

    /// `flags` with every flagged cluster's ancestors flagged too.
    private func propagated(_ flags: [Bool]) -> [Bool] {
        var result = flags
        // Children have larger numbers than their parents, so a reverse sweep is bottom-up.
        for cluster in stride(from: clusters.count - 1, through: 0, by: -1) {
            let parent = Int(clusters[cluster].parent)
            if result[cluster] && parent >= 0 { result[parent] = true }
        }
        return result
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
    ///     scores: hierarchy.stabilities(), allowSingleCluster: false, mustSplit: mustSplit)
    /// ```
    ///
    /// - Parameters:
    ///   - scores: one score per cluster, as from ``stabilities()``.
    ///   - allowSingleCluster: whether a lone root may be selected.
    ///   - mustSplit: one flag per cluster; a marked cluster's ancestors should be marked too,
    ///     or they can be kept in its place.
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
