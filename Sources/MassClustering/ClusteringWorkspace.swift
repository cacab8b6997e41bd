internal import Synchronization

/// Scratch memory that successive re-clusterings share, so that a daemon re-clustering its
/// window every few seconds reuses the largest buffer of the forest instead of mapping and
/// faulting it in again each time.
///
/// It holds the candidate edges together with the edge sort's second array (1.5 edges per
/// candidate edge, see ``SpanningForest``). Its size follows the window: it grows to an eighth
/// more than a run needs and is reallocated at that size when it holds more than four times
/// what a run needs, so it never exceeds four times the current window's need nor the need of
/// the largest window seen. Runs that share a workspace take turns (a lock); the clustering is
/// the same with or without one.
///
/// ```swift
/// let workspace = ClusteringWorkspace()
/// let first = cluster(points, parameters: parameters, workspace: workspace)
/// let second = cluster(points, parameters: parameters, workspace: workspace) // no new buffer
/// ```
public final class ClusteringWorkspace: Sendable {
    private let edges = Mutex<[ForestEdge]>([])

    /// An empty workspace; the first run sizes it.
    public init() {}

    /// The edges its buffer holds: candidates and the sort's second array.
    public var edgeCapacity: Int { edges.withLock { $0.count } }

    /// Runs `body` with the edge buffer, holding the lock meanwhile.
    func withEdgeStorage<Result: Sendable>(_ body: (inout [ForestEdge]) -> Result) -> Result {
        edges.withLock { storage in body(&storage) }
    }

    /// Makes `storage` hold at least `needed` edges. With `spare` (a reused buffer) it grows
    /// to `needed + needed / 8`, so a slowly growing window does not reallocate every run, and
    /// is reallocated when it exceeds `4 * needed`; without, it is allocated at `needed`.
    ///
    /// The slots are left uninitialized: `ForestEdge` is a trivial type and every slot is
    /// written before it is read. Untouched pages of a fresh buffer stay unmapped, so the
    /// sort's half costs no memory until the sort (after the neighbour table is gone).
    static func fit(_ storage: inout [ForestEdge], to needed: Int, spare: Bool) {
        if storage.count >= needed && (!spare || storage.count <= 4 * needed) { return }
        let size = spare ? needed + needed / 8 : needed
        storage = []
        storage = [ForestEdge](unsafeUninitializedCapacity: size) { _, initialized in initialized = size }
    }
}
