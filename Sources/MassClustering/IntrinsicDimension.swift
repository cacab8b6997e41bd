#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Per row of a neighbour table, Levina & Bickel's maximum-likelihood statistic of the local
/// (intrinsic) dimension: `sum over j < k of log(T_k / T_j) / (k - 1)`, where `T_j` is the
/// distance to the `j`-th neighbour among the first `columns`.
///
/// Around a point of an `m`-dimensional structure the number of neighbours within `r` grows as
/// `r^m`, so the log-ratios of the neighbour distances are exponential with mean `1 / m`; the
/// statistic is their mean (an unbiased estimate of `1 / m`), and `1 / mean` over a region
/// (MacKay & Ghahramani's pooling, steadier than a mean of per-point inverses) estimates the dimension the density estimate's
/// neighbourhoods actually fill: about 1 along a path or a thin arm, the feature count in a
/// full-dimensional blob (docs/algorithm.md, section 2, item 5).
///
/// Neighbours at distance 0 (repeated readings) carry no scale and are skipped, the row's `k`
/// counting only the others; a row with fewer than three positive distances gets `nan` (no
/// estimate).
///
/// Rows are cut into chunks on at most `threads` threads; each row's statistic depends on its
/// row alone, so the result is the same for any number of threads.
///
/// - Complexity: O(rows * columns).
func inverseLocalDimensions(_ table: NeighbourTable, columns: Int, threads: Int = 1) -> [Double] {
    let width = table.neighbourCount
    let k = min(columns, width)
    var result = [Double](repeating: .nan, count: table.pointCount)
    guard k >= 3 else { return result }
    result.withUnsafeMutableBufferPointer { result in
        let output = ChunkOutput(buffer: result)
        forEachChunk(count: table.pointCount, chunkSize: SpanningForest.rowChunk, threads: threads) { rows in
            table.distances.withUnsafeBufferPointer { distances in
                for row in rows {
                    let base = row * width
                    let farthest = distances[base + k - 1]
                    var sum = 0.0, positive = 1
                    guard farthest > 0 else { continue }
                    for slot in base..<base + k - 1 where distances[slot] > 0 {
                        sum += log(farthest / distances[slot])
                        positive += 1
                    }
                    if positive >= 3 { output.buffer[row] = sum / Double(positive - 1) }
                }
            }
        }
    }
    return result
}

extension ClusterHierarchy {
    /// Per cluster with a true split: the local dimension around the split, pooled over the
    /// points of its children (`1 / mean` of their ``SpanningForest/inverseLocalDimensions``),
    /// clamped to `[1, dimension]`; `dimension` for a cluster without children or without a
    /// finite statistic among them.
    ///
    /// The valley test's density ratio is a statement about the density estimate's noise,
    /// whose reach in lambda is `ratio^(1 / m)` for points on an `m`-dimensional structure: the
    /// feature count overstates `m` for a path or a thin arm, and for data whose features
    /// outnumber its intrinsic dimension (docs/algorithm.md, section 2, item 5).
    ///
    /// ```swift
    /// let dimensions = hierarchy.splitLocalDimensions(inverseLocalDimensions: forest.inverseLocalDimensions, dimension: 2)
    /// ```
    ///
    /// - Complexity: O(n + number of clusters).
    public func splitLocalDimensions(inverseLocalDimensions statistic: [Double], dimension: Int) -> [Double] {
        precondition(statistic.count == pointCount, "splitDimensions: one statistic per point")
        let ceiling = Double(max(1, dimension))
        // Prefix sums over the positions: every subtree is a contiguous range of them.
        var sums = [Double](repeating: 0, count: pointCount + 1)
        var counts = [Int](repeating: 0, count: pointCount + 1)
        for position in 0..<pointCount {
            let value = statistic[Int(pointOrder[position])]
            sums[position + 1] = sums[position] + (value.isFinite ? value : 0)
            counts[position + 1] = counts[position] + (value.isFinite ? 1 : 0)
        }
        return clusters.map { cluster in
            var sum = 0.0, count = 0
            for child in cluster.children {
                let members = clusters[child].members
                sum += sums[members.upperBound] - sums[members.lowerBound]
                count += counts[members.upperBound] - counts[members.lowerBound]
            }
            return pooledLocalDimension(inverseSum: sum, count: count, ceiling: ceiling)
        }
    }
}

/// The local dimension of a region from its points' statistics (``inverseLocalDimensions(_:columns:threads:)``,
/// `count` finite ones summing to `inverseSum`): `1 / mean`, clamped to `[1, ceiling]`;
/// `ceiling` without a positive sum.
func pooledLocalDimension(inverseSum: Double, count: Int, ceiling: Double) -> Double {
    guard count > 0 && inverseSum > 0 else { return ceiling }
    return min(ceiling, max(1, Double(count) / inverseSum))
}
