/// Provisional assignments of one batch, in batch order, labelled by one clustering.
struct ProvisionalLabels: Sendable {
    /// The model version of the clustering that labelled them.
    let modelVersion: UInt64
    /// Stable cluster ids, -1 for noise.
    let clusters: [Int64]
    let confidence: [Double]
}
