/// The `result` label of `mmcd_snapshot_writes_total`.
public enum SnapshotWriteResult: String, Sendable, Hashable, CaseIterable {
    /// The snapshot was written and renamed into place.
    case ok
    /// Writing failed; the previous snapshot is still in place.
    case error
}
