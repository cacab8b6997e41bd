/// A ``SlidingWindow`` and the ``MassForest`` that counts it, updated together point by point.
///
/// `insert` appends to the window, uncounts the points it expired from the forest (by slot,
/// before a reused slot is counted again) and counts the new point. The forest is grown
/// lazily: there is nothing worth partitioning until the window holds `sampleSize` points (or
/// is full, for a window smaller than that), so until then ``forest`` is `nil` and an insert
/// only updates the window; the insert that reaches the threshold grows every tree from the
/// window. A window that never gets there (a slow time window) gets its forest from the first
/// ``refreshTrees(count:)``, grown from whatever it holds.
///
/// The model is a value: copying it is the cheap (copy-on-write) snapshot a re-clustering
/// task reads while the owner keeps inserting.
///
/// ```swift
/// var model = StreamModel(
///     window: try SlidingWindow(dimension: 2, windowSize: 5_000),
///     parameters: try MassForest.Parameters(seed: 42))
/// model.insert(id: 1, timestamp: 0.5, values: [0.2, 0.9])
/// // ... at each re-clustering:
/// model.refreshTrees(count: 4)
/// let points = model.snapshot()
/// ```
///
/// - Complexity: `insert` is O(t * h * (1 + expired)) once the forest exists, without
///   allocation in the steady state.
public struct StreamModel: Sendable {
    /// The forest's parameters, used when it is grown.
    public let parameters: MassForest.Parameters
    /// The live points.
    public private(set) var window: SlidingWindow
    /// The forest counting `window`, or `nil` until it has been grown.
    public private(set) var forest: MassForest?
    /// The points the last `insert` expired, oldest first (empty after a rejected insert).
    public private(set) var lastExpired: [SlidingWindow.Expiry] = []

    /// A model over `window` (usually empty); the forest is grown at once if the window already
    /// holds enough points.
    public init(window: SlidingWindow, parameters: MassForest.Parameters = .default) {
        self.window = window
        self.parameters = parameters
        if window.count >= growthThreshold {
            forest = MassForest(window: window, parameters: parameters)
        }
    }

    /// The window size at which an insert grows the forest: psi, or the window's cap if smaller.
    public var growthThreshold: Int { min(parameters.sampleSize, window.maximumCount) }

    /// Inserts a point: appends it to the window, uncounts the points that expired, counts it.
    /// - Returns: the point's window slot, or `nil` when the window rejects a point older than
    ///   its horizon (see ``SlidingWindow``); the model is then unchanged.
    /// - Precondition: `values.count == window.dimension`; finite timestamp and values.
    /// - Complexity: O(t * h) per point inserted or expired.
    @inlinable
    @discardableResult
    public mutating func insert(id: UInt64, timestamp: Double, values: some Collection<Double>) -> Int? {
        values.withContiguousDoubles { insert(id: id, timestamp: timestamp, contiguous: $0) }
    }

    /// Inserts points in order, as ``insert(id:timestamp:values:)`` does one by one, and with
    /// `votes` labels each right after its insert, from the chain ends the insert cached (see
    /// ``LeafVotes/provisionalLabel(slot:of:countedBy:)``); a point the window rejects is
    /// labelled from its values.
    ///
    /// - Parameters:
    ///   - values: `ids.count * window.dimension` values, row-major.
    ///   - votes: the votes of a re-clustering of this model, or `nil` for no labels.
    ///   - labels: with `votes`, receives a label (-1 noise) and a confidence per point, in order.
    /// - Returns: the number of points the window took.
    /// - Precondition: `timestamps.count == ids.count`; finite timestamps and values.
    /// - Complexity: O(t * h) per point inserted or expired, O(t) per label (O(h) more per tree
    ///   regrown since `votes` were built).
    @discardableResult
    public mutating func insert(
        ids: [UInt64], timestamps: [Double], values: [Double], labelledBy votes: LeafVotes?,
        into labels: inout [(label: Int32, confidence: Double)]
    ) -> Int {
        guard let votes else { return insertEach(ids: ids, timestamps: timestamps, values: values) { _, _ in } }
        labels.reserveCapacity(labels.count + ids.count)
        return votes.withTables { tables in
            insertEach(ids: ids, timestamps: timestamps, values: values) { point, cached in
                labels.append(
                    cached.map { tables.label(of: point, cachedChainEnds: $0.ends, liveGenerations: $0.generations) }
                        ?? tables.label(of: point))
            }
        }
    }

    /// Inserts points in order and calls `afterInsert` after each with its values and, when the
    /// window took it and the forest counts it, the chain ends the insert cached and the trees'
    /// generations (read in place: see `MassForest.withInsertedChainEnds(slot:_:)`).
    private mutating func insertEach(
        ids: [UInt64], timestamps: [Double], values: [Double],
        _ afterInsert: (
            _ point: UnsafeBufferPointer<Double>, _ cached: (ends: UnsafePointer<Int32>, generations: UnsafePointer<UInt64>)?
        ) -> Void
    ) -> Int {
        let dimension = window.dimension
        precondition(timestamps.count == ids.count && values.count == ids.count * dimension, "one row per id")
        var inserted = 0
        values.withUnsafeBufferPointer { values in
            for index in ids.indices {
                let point = UnsafeBufferPointer(rebasing: values[index * dimension..<(index + 1) * dimension])
                guard let slot = insert(id: ids[index], timestamp: timestamps[index], contiguous: point) else {
                    afterInsert(point, nil)
                    continue
                }
                inserted += 1
                if forest?.withInsertedChainEnds(slot: slot, { afterInsert(point, ($0, $1)) }) == nil {
                    afterInsert(point, nil)
                }
            }
        }
        return inserted
    }

    @usableFromInline
    mutating func insert(id: UInt64, timestamp: Double, contiguous point: UnsafeBufferPointer<Double>) -> Int? {
        guard let slot = window.append(id: id, timestamp: timestamp, contiguous: point, expired: &lastExpired)
        else { return nil }
        if forest == nil {
            if window.count >= growthThreshold {
                forest = MassForest(window: window, parameters: parameters)
            }
        } else if let last = lastExpired.last {
            for expiry in lastExpired.dropLast() {
                forest?.remove(slot: expiry.slot)
            }
            forest?.insert(slot: slot, of: window, replacing: last.slot)
        } else {
            forest?.insert(slot: slot, of: window)
        }
        if forest?.refreshesPending ?? 0 > 0 {
            let steps = refreshStepsPerInsert
            forest?.continueRefresh(budget: steps, window: window)
        }
        return slot
    }

    /// Regrowth steps (one descent each) an insert does while a scheduled refresh is pending:
    /// an insert itself costs `treeCount` descents and as many expiries, so this keeps a refresh
    /// within an eighth of the insert cost, and `count` regrown trees take about
    /// `count * n * 4 / treeCount` inserts for an n-point window (half a window for 4 of 32 trees).
    @usableFromInline
    var refreshStepsPerInsert: Int { max(1, parameters.treeCount / 4) }

    /// Caps the window's clock for later inserts (``SlidingWindow/limitClock(to:)``): a point
    /// stamped after `time` moves it only to `time`.
    public mutating func limitClock(to time: Double) {
        window.limitClock(to: time)
    }

    /// Regrows the `count` oldest trees from a fresh subsample of the window (see
    /// ``MassForest/refresh(trees:from:)``), or grows the whole forest if it does not exist yet
    /// and the window is not empty.
    /// - Precondition: `0 <= count <= parameters.treeCount`.
    public mutating func refreshTrees(count: Int) {
        precondition(count >= 0 && count <= parameters.treeCount, "count must be in 0...treeCount")
        if forest == nil {
            if !window.isEmpty {
                forest = MassForest(window: window, parameters: parameters)
            }
        } else {
            forest?.refresh(trees: count, from: window)
        }
    }

    /// Schedules the `count` oldest trees for regrowth like ``refreshTrees(count:)``, but spreads
    /// the work: every insert does a bounded share of it (see ``MassForest/scheduleRefresh(trees:)``),
    /// and ``continueTreeRefresh(budget:)`` more when the stream is idle. Grows the whole forest at
    /// once if it does not exist yet and the window is not empty.
    /// - Precondition: `0 <= count <= parameters.treeCount`.
    public mutating func scheduleTreeRefresh(count: Int) {
        precondition(count >= 0 && count <= parameters.treeCount, "count must be in 0...treeCount")
        if forest == nil {
            refreshTrees(count: count)
        } else {
            forest?.scheduleRefresh(trees: count)
        }
    }

    /// Does up to `budget` steps of scheduled tree regrowth (see
    /// ``MassForest/continueRefresh(budget:window:)``).
    /// - Returns: whether regrowth work remains.
    @discardableResult
    public mutating func continueTreeRefresh(budget: Int) -> Bool {
        forest?.continueRefresh(budget: budget, window: window) ?? false
    }

    /// The window's points in arrival order, in contiguous arrays, for re-clustering.
    /// - Complexity: O(n * dimension).
    public func snapshot() -> SlidingWindow.Snapshot { window.snapshot() }
}
