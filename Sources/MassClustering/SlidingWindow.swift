/// A configuration value outside its allowed range: which key, the value given, what is allowed.
public struct ParameterError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The parameter's name, as spelled in the initializer (`windowSize`, `treeCount`, ...).
    public let key: String
    /// The rejected value, printed.
    public let value: String
    /// The allowed range or rule, in words.
    public let allowed: String

    /// An error naming `key`, the rejected `value` and the `allowed` range or rule.
    public init(key: String, value: String, allowed: String) {
        self.key = key
        self.value = value
        self.allowed = allowed
    }

    /// `invalid key = value: allowed ...`.
    public var description: String { "invalid \(key) = \(value): allowed \(allowed)" }
}

/// The most recent points of a stream in flat ring buffers, addressed by stable slots.
///
/// A point is an `id`, its own `timestamp` (seconds) and a vector of `dimension` finite values.
/// The window keeps the last `windowSize` points, or the points younger than `horizon` seconds
/// relative to the window's clock, or the points that satisfy both bounds.
///
/// The window's **clock** is the newest timestamp appended, but never later than the limit the
/// owner sets with ``limitClock(to:)`` (a daemon sets its own clock before each batch). Without
/// the limit, one point stamped ahead of the others would move the clock by itself and expire
/// every point the window holds, then refuse the next good points as too old.
///
/// Each live point occupies a **slot**, an index in `0..<capacity` that stays the same from
/// `append` until the point expires, so other structures (the trees of a ``MassForest``) can
/// cache per-slot data. Values are stored row-major in one `[Double]` of
/// `capacity * dimension`; timestamps and ids in parallel arrays; the arrival order is a ring of
/// slot numbers. A window with a `windowSize` allocates it all up front. A time-only window
/// starts small and doubles up to its hard `maximumCount`; when it holds `maximumCount` points,
/// the oldest point is expired to make room, as if the count bound were reached.
///
/// Expiry by time removes points from the oldest-arrival end while their age
/// (`clock - timestamp`) is at least `horizon`. Timestamps may arrive out of order:
/// - a late point still inside the horizon is kept in arrival order; it leaves when it reaches
///   the oldest end, so it can outstay the horizon by at most the stream's disorder;
/// - a point already outside the horizon when it arrives (age ≥ `horizon`) is rejected:
///   `append` returns `nil` and the window is unchanged. It would expire at once, and
///   keeping it would put a stale point in front of the forest.
///
/// `SlidingWindow` is a value type with copy-on-write storage, so a copy is a cheap snapshot
/// that a re-clustering task can read while the owner keeps appending.
///
/// ```swift
/// var window = try SlidingWindow(dimension: 2, windowSize: 1_000, horizon: 60)
/// var expired: [SlidingWindow.Expiry] = []
/// let slot = window.append(id: 7, timestamp: 12.5, values: [0.25, 0.75], expired: &expired)
/// // slot is stable until point 7 appears in `expired` of a later append.
/// ```
///
/// - Complexity: `append` is O(`dimension` + number of points it expires), without allocation
///   except when a time-only window doubles. Memory per slot:
///   `8 * dimension + 8 (timestamp) + 8 (id) + 4 (arrival ring) + 4 (free-slot stack)` bytes.
public struct SlidingWindow: Sendable {
    /// A point that left the window: the slot it occupied and its id.
    public struct Expiry: Sendable, Hashable {
        /// The slot the point occupied; it is free now, and may already hold the new point.
        public let slot: Int
        /// The point's id.
        public let id: UInt64

        /// An expiry of the point `id` from `slot`.
        public init(slot: Int, id: UInt64) {
            self.slot = slot
            self.id = id
        }
    }

    /// The number of values per point.
    public let dimension: Int
    /// The count bound N (keep the last N points), or `nil` for a time-only window.
    public let windowSize: Int?
    /// The time bound D in seconds (keep points younger than D), or `nil` for a count-only window.
    public let horizon: Double?
    /// The most points the window ever holds: `windowSize` when set, else the hard cap given
    /// for a time-only window.
    public let maximumCount: Int
    /// The number of live points.
    public private(set) var count: Int = 0

    var values: [Double]
    var timestamps: [Double]
    var ids: [UInt64]
    /// Slots in arrival order, a ring starting at `head`; `order.count == capacity`.
    var order: [Int32]
    var head = 0
    /// Free slots, a stack: the slot an expiry frees is the one the next append takes.
    var freeSlots: [Int32]
    /// The window's clock: the newest timestamp appended, each capped by `clockLimit`.
    var newest = -Double.infinity
    /// The latest time the clock may reach (``limitClock(to:)``).
    var clockLimit = Double.infinity

    /// A time-only window starts with room for this many points and doubles as needed.
    static let initialTimeOnlyCapacity = 64

    /// Creates an empty window.
    ///
    /// - Parameters:
    ///   - dimension: values per point, `1...Int32.max`.
    ///   - windowSize: keep the last `windowSize` points, `1...Int32.max`.
    ///   - horizon: keep the points younger than `horizon` seconds, finite and `> 0`.
    ///   - maximumCount: required for a time-only window (no `windowSize`), `1...Int32.max`;
    ///     must be `nil` when `windowSize` is set (the count bound is then the cap).
    /// - Throws: ``ParameterError`` naming the first invalid key.
    public init(
        dimension: Int, windowSize: Int? = nil, horizon: Double? = nil, maximumCount: Int? = nil
    ) throws(ParameterError) {
        let countRange = 1...Int(Int32.max)
        guard countRange.contains(dimension) else {
            throw ParameterError(key: "dimension", value: "\(dimension)", allowed: "1...\(Int32.max)")
        }
        if let windowSize, !countRange.contains(windowSize) {
            throw ParameterError(key: "windowSize", value: "\(windowSize)", allowed: "1...\(Int32.max)")
        }
        if let horizon, !(horizon.isFinite && horizon > 0) {
            throw ParameterError(key: "horizon", value: "\(horizon)", allowed: "a finite number of seconds > 0")
        }
        let cap: Int
        switch (windowSize, horizon, maximumCount) {
        case (nil, nil, _):
            throw ParameterError(key: "windowSize", value: "nil", allowed: "a count when horizon is nil")
        case (let size?, _, nil):
            cap = size
        case (.some, _, let maximum?):
            throw ParameterError(
                key: "maximumCount", value: "\(maximum)", allowed: "nil when windowSize is set")
        case (nil, .some, nil):
            throw ParameterError(
                key: "maximumCount", value: "nil", allowed: "1...\(Int32.max), required without windowSize")
        case (nil, .some, let maximum?):
            guard countRange.contains(maximum) else {
                throw ParameterError(key: "maximumCount", value: "\(maximum)", allowed: "1...\(Int32.max)")
            }
            cap = maximum
        }
        self.dimension = dimension
        self.windowSize = windowSize
        self.horizon = horizon
        self.maximumCount = cap
        let capacity = windowSize == nil ? min(cap, Self.initialTimeOnlyCapacity) : cap
        values = [Double](repeating: 0, count: capacity * dimension)
        timestamps = [Double](repeating: 0, count: capacity)
        ids = [UInt64](repeating: 0, count: capacity)
        order = [Int32](repeating: 0, count: capacity)
        freeSlots = []
        freeSlots.reserveCapacity(capacity)
        pushFreeSlots(0..<capacity)
    }

    /// The number of slots allocated: every live slot is in `0..<capacity`.
    public var capacity: Int { timestamps.count }

    /// Whether the window holds no point.
    public var isEmpty: Bool { count == 0 }

    /// The window's clock: the largest timestamp appended so far, each first capped by the clock
    /// limit in force when it was appended; `nil` before the first append.
    public var newestTimestamp: Double? { newest == -.infinity ? nil : newest }

    /// Caps the clock that later appends may move: a point stamped after `time` is kept, but
    /// moves the clock only to `time`, so it expires nothing younger than `time - horizon`.
    /// The clock never goes back; a limit below it only keeps it where it is.
    /// - Precondition: `time` is not NaN.
    public mutating func limitClock(to time: Double) {
        precondition(!time.isNaN, "a clock limit must be a number")
        clockLimit = time
    }

    /// Appends a point, first expiring what falls out of the window.
    ///
    /// `expired` is emptied (keeping its capacity), then receives the points this call expired,
    /// oldest first. Their slots are free, and the returned slot may be one of them: a forest
    /// must uncount them (by slot, from its per-slot cache) before it counts the new point.
    ///
    /// - Parameters:
    ///   - values: exactly `dimension` finite values. A contiguous collection (`Array`,
    ///     `ArraySlice`, `UnsafeBufferPointer`) is read in place.
    ///   - expired: a buffer the caller reuses, so that steady-state appends do not allocate.
    /// - Returns: the point's slot, or `nil` when a time-bounded window rejects a point whose
    ///   age is already at least `horizon` (the window is then unchanged).
    /// - Precondition: `values.count == dimension`; `timestamp` and all values are finite.
    /// - Complexity: O(`dimension` + expired count); allocates only when a time-only window
    ///   doubles its capacity.
    @inlinable
    public mutating func append(
        id: UInt64, timestamp: Double, values: some Collection<Double>, expired: inout [Expiry]
    ) -> Int? {
        values.withContiguousDoubles {
            append(id: id, timestamp: timestamp, contiguous: $0, expired: &expired)
        }
    }

    @usableFromInline
    mutating func append(
        id: UInt64, timestamp: Double, contiguous point: UnsafeBufferPointer<Double>,
        expired: inout [Expiry]
    ) -> Int? {
        precondition(point.count == dimension, "a point needs exactly `dimension` values")
        precondition(timestamp.isFinite, "timestamps must be finite")
        for value in point {
            precondition(value.isFinite, "point values must be finite")
        }
        expired.removeAll(keepingCapacity: true)
        if let horizon, newest - timestamp >= horizon {
            return nil
        }
        newest = max(newest, min(timestamp, clockLimit))
        if let horizon {
            while count > 0 && newest - timestamps[Int(order[head])] >= horizon {
                expireOldest(into: &expired)
            }
        }
        if count == capacity {
            if capacity < maximumCount {
                grow()
            } else {
                expireOldest(into: &expired)
            }
        }
        let slot = Int(freeSlots.removeLast())
        values.withUnsafeMutableBufferPointer { storage in
            let row = slot &* dimension
            for j in 0..<dimension {
                storage[row &+ j] = point[j]
            }
        }
        timestamps[slot] = timestamp
        ids[slot] = id
        order[ringPosition(count)] = Int32(truncatingIfNeeded: slot)
        count += 1
        return slot
    }

    /// The live slots in arrival order, oldest first.
    public var slots: Slots { Slots(order: order, head: head, endIndex: count) }

    /// The live slots of a window in arrival order: `slots[0]` is the oldest point's slot.
    public struct Slots: RandomAccessCollection, Sendable {
        let order: [Int32]
        let head: Int
        /// The number of live points.
        public let endIndex: Int
        /// 0, the oldest point.
        public var startIndex: Int { 0 }

        /// The slot of the `position`-th oldest live point.
        public subscript(position: Int) -> Int {
            precondition(position >= 0 && position < endIndex, "position out of range")
            let ring = head + position
            return Int(order[ring < order.count ? ring : ring - order.count])
        }
    }

    /// The id of the point in a live slot.
    public func id(slot: Int) -> UInt64 { ids[slot] }

    /// The timestamp of the point in a live slot.
    public func timestamp(slot: Int) -> Double { timestamps[slot] }

    /// Calls `body` with the `dimension` values of the point in a live slot, read in place.
    /// - Complexity: O(1).
    public func withValues<Result>(
        slot: Int, _ body: (UnsafeBufferPointer<Double>) throws -> Result
    ) rethrows -> Result {
        precondition(slot >= 0 && slot < capacity, "slot out of range")
        return try values.withUnsafeBufferPointer { storage in
            try body(UnsafeBufferPointer(rebasing: storage[slot * dimension ..< (slot + 1) * dimension]))
        }
    }

    /// The live points copied into contiguous arrays in arrival order, for re-clustering.
    /// - Complexity: O(`count * dimension`).
    public func snapshot() -> Snapshot {
        var snapshotValues: [Double] = []
        snapshotValues.reserveCapacity(count * dimension)
        for slot in slots {
            snapshotValues.append(contentsOf: values[slot * dimension ..< (slot + 1) * dimension])
        }
        return Snapshot(
            dimension: dimension,
            ids: slots.map { ids[$0] },
            timestamps: slots.map { timestamps[$0] },
            values: snapshotValues,
            slots: Array(slots))
    }

    /// A window's points in arrival order (oldest first), in parallel contiguous arrays.
    public struct Snapshot: Sendable, Hashable {
        /// The number of values per point.
        public let dimension: Int
        /// The points' ids.
        public let ids: [UInt64]
        /// The points' own timestamps (seconds).
        public let timestamps: [Double]
        /// Row-major: point `i` is `values[i * dimension ..< (i + 1) * dimension]`.
        public let values: [Double]
        /// The slot each point occupied, to query a ``MassForest`` built on the same window.
        public let slots: [Int]

        /// The number of points.
        public var count: Int { ids.count }
    }

    func ringPosition(_ offset: Int) -> Int {
        let ring = head + offset
        return ring < order.count ? ring : ring - order.count
    }

    mutating func expireOldest(into expired: inout [Expiry]) {
        let slot = order[head]
        expired.append(Expiry(slot: Int(slot), id: ids[Int(slot)]))
        freeSlots.append(slot)
        head = ringPosition(1)
        count -= 1
    }

    /// Doubles a full time-only window (up to `maximumCount`). Live points keep their slots;
    /// only the arrival ring, which holds slot numbers, is laid out anew.
    mutating func grow() {
        let oldCapacity = capacity
        let newCapacity = min(maximumCount, 2 * oldCapacity)
        let added = newCapacity - oldCapacity
        values.append(contentsOf: repeatElement(0, count: added * dimension))
        timestamps.append(contentsOf: repeatElement(0, count: added))
        ids.append(contentsOf: repeatElement(0, count: added))
        order = (0..<newCapacity).map { $0 < count ? order[ringPosition($0)] : 0 }
        head = 0
        freeSlots.reserveCapacity(newCapacity)
        pushFreeSlots(oldCapacity..<newCapacity)
    }

    /// Pushes slots so that the lowest is taken first, which keeps a filling window sequential.
    mutating func pushFreeSlots(_ range: Range<Int>) {
        for slot in range.reversed() {
            freeSlots.append(Int32(truncatingIfNeeded: slot))
        }
    }

    /// The bounding box of the live points, padded; see ``PaddedBox``.
    /// - Precondition: the window is not empty.
    func paddedBox() -> PaddedBox {
        precondition(count > 0, "an empty window has no bounding box")
        var lower = [Double](repeating: .infinity, count: dimension)
        var upper = [Double](repeating: -.infinity, count: dimension)
        for slot in slots {
            for j in 0..<dimension {
                let value = values[slot * dimension + j]
                lower[j] = min(lower[j], value)
                upper[j] = max(upper[j], value)
            }
        }
        for j in 0..<dimension {
            if lower[j] == upper[j] {
                lower[j] = -.infinity
                upper[j] = .infinity
            } else {
                let pad = (upper[j] - lower[j]) * PaddedBox.paddingFraction
                lower[j] = min(lower[j] - pad, lower[j].nextDown)
                upper[j] = max(upper[j] + pad, upper[j].nextUp)
            }
        }
        return PaddedBox(lower: lower, upper: upper)
    }
}

/// The bounding box of a window's points at some moment, widened by `paddingFraction` of the
/// range on each side (and by at least one ulp), so that points arriving a little outside still
/// fall inside and every box width is strictly positive.
///
/// A dimension on which all points agree is unbounded, `(-inf, +inf)`: no tree can split it,
/// it counts as width 1 in volumes and it never excludes a point.
struct PaddedBox: Sendable {
    static let paddingFraction = 0.05

    var lower: [Double]
    var upper: [Double]

    func isBounded(_ dimension: Int) -> Bool { lower[dimension] != -.infinity }
}

extension Collection<Double> {
    /// Calls `body` with the values in contiguous memory: in place when the collection is
    /// contiguous (`Array`, `ArraySlice`, `UnsafeBufferPointer`), else from a temporary copy.
    @inlinable
    func withContiguousDoubles<Result>(
        _ body: (UnsafeBufferPointer<Double>) throws -> Result
    ) rethrows -> Result {
        if let result = try withContiguousStorageIfAvailable(body) {
            return result
        }
        return try Array(self).withUnsafeBufferPointer(body)
    }
}
