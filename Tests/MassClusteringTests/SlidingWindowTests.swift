import MassClustering
import MMCTestSupport
import Testing

/// The window shapes the property tests run on.
enum Bounds: String, CaseIterable, Sendable {
    case count, time, both

    /// A random window of this shape; time-only windows get a cap on either side of the
    /// initial capacity (64), so that both growth and the cap are exercised.
    func makeWindow(dimension: Int, generator: inout SeededGenerator) throws -> SlidingWindow {
        let size = 5 + generator.nextInt(below: 120)
        let horizon = 5 + 20 * generator.nextDouble()
        switch self {
        case .count: return try SlidingWindow(dimension: dimension, windowSize: size)
        case .time: return try SlidingWindow(dimension: dimension, horizon: horizon, maximumCount: 2 * size)
        case .both: return try SlidingWindow(dimension: dimension, windowSize: size, horizon: horizon)
        }
    }
}

/// A random stream: clock steps of 0 to 0.6 s, one point in ten late by up to 1.5 horizons
/// (so some are rejected), values drawn from a coarse grid one time in three (ties), and
/// occasionally a dimension held constant.
struct RandomStream {
    var generator: SeededGenerator
    let dimension: Int
    let lateness: Double
    let constantDimension: Int?
    var clock = 0.0
    var nextID: UInt64 = 0

    init(seed: UInt64, dimension: Int, lateness: Double) {
        var generator = SeededGenerator(seed: seed)
        let holdsOneConstant = dimension > 1 && generator.nextInt(below: 3) == 0
        constantDimension = holdsOneConstant ? generator.nextInt(below: dimension) : nil
        self.generator = generator
        self.dimension = dimension
        self.lateness = lateness
    }

    mutating func next() -> (id: UInt64, timestamp: Double, values: [Double]) {
        clock += 0.6 * generator.nextDouble()
        let timestamp = generator.nextInt(below: 10) == 0 ? clock - lateness * generator.nextDouble() : clock
        var values: [Double] = []
        for j in 0..<dimension {
            if j == constantDimension {
                values.append(0.5)
            } else if generator.nextInt(below: 3) == 0 {
                values.append(Double(generator.nextInt(below: 5)) / 4)
            } else {
                values.append(generator.nextDouble())
            }
        }
        defer { nextID += 1 }
        return (nextID, timestamp, values)
    }
}

/// The window rules as a plain array: reject a point whose age is at least the horizon; expire
/// from the oldest arrival while the age is at least the horizon; expire the oldest when full.
struct WindowModel {
    let windowSize: Int?
    let horizon: Double?
    let maximumCount: Int
    var points: [(id: UInt64, timestamp: Double, values: [Double])] = []
    var newest = -Double.infinity

    init(_ window: SlidingWindow) {
        windowSize = window.windowSize
        horizon = window.horizon
        maximumCount = window.maximumCount
    }

    /// Returns the expired ids, or nil when the point is rejected.
    mutating func append(id: UInt64, timestamp: Double, values: [Double]) -> [UInt64]? {
        if let horizon, newest - timestamp >= horizon {
            return nil
        }
        newest = max(newest, timestamp)
        var expired: [UInt64] = []
        while let horizon, let oldest = points.first, newest - oldest.timestamp >= horizon {
            expired.append(points.removeFirst().id)
        }
        if points.count == maximumCount {
            expired.append(points.removeFirst().id)
        }
        points.append((id, timestamp, values))
        return expired
    }
}

/// The window's points in arrival order, read through its public API.
func contents(of window: SlidingWindow) -> [(id: UInt64, timestamp: Double, values: [Double])] {
    window.slots.map { slot in
        (window.id(slot: slot), window.timestamp(slot: slot), window.withValues(slot: slot) { Array($0) })
    }
}

/// The key a thrown ``ParameterError`` names, or nil when `make` succeeds.
func rejectedKey<Value>(_ make: () throws -> Value) -> String? {
    do {
        _ = try make()
        return nil
    } catch {
        return (error as? ParameterError)?.key ?? "unexpected \(error)"
    }
}

@Suite(.tags(.unit)) struct SlidingWindowTests {
    @Test(arguments: Bounds.allCases, [UInt64(1), 2, 3])
    func matchesArrayModel(bounds: Bounds, seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        let dimension = 1 + generator.nextInt(below: 8)
        var window = try bounds.makeWindow(dimension: dimension, generator: &generator)
        var model = WindowModel(window)
        var stream = RandomStream(seed: seed &+ 100, dimension: dimension, lateness: 1.5 * (window.horizon ?? 10))
        var expired: [SlidingWindow.Expiry] = []
        var slotOfID: [UInt64: Int] = [:]
        var rejections = 0
        for _ in 0..<600 {
            let point = stream.next()
            let expectedExpired = model.append(id: point.id, timestamp: point.timestamp, values: point.values)
            let slot = window.append(id: point.id, timestamp: point.timestamp, values: point.values, expired: &expired)
            #expect((slot == nil) == (expectedExpired == nil))
            guard let slot, let expectedExpired else {
                rejections += 1
                #expect(expired.isEmpty)
                continue
            }
            #expect(expired.map(\.id) == expectedExpired)
            for expiry in expired {
                #expect(slotOfID.removeValue(forKey: expiry.id) == expiry.slot)
            }
            slotOfID[point.id] = slot
            #expect(slot >= 0 && slot < window.capacity)

            let actual = contents(of: window)
            #expect(actual.map(\.id) == model.points.map(\.id))
            #expect(actual.map(\.timestamp) == model.points.map(\.timestamp))
            #expect(actual.map(\.values) == model.points.map(\.values))
            // A live point keeps the slot it was given.
            #expect(window.slots.map { slotOfID[window.id(slot: $0)] } == Array(window.slots))
            #expect(window.count <= window.maximumCount && window.capacity <= window.maximumCount)
        }
        #expect(bounds == .count ? rejections == 0 : rejections > 0)
    }

    @Test(arguments: Bounds.allCases)
    func inOrderStreamKeepsTheLastPointsYoungerThanTheHorizon(bounds: Bounds) throws {
        var generator = SeededGenerator(seed: 11)
        var window = try bounds.makeWindow(dimension: 2, generator: &generator)
        var all: [(id: UInt64, timestamp: Double)] = []
        var expired: [SlidingWindow.Expiry] = []
        var clock = 0.0
        for id in 0..<UInt64(400) {
            clock += generator.nextInt(below: 4) == 0 ? 0 : 0.5 * generator.nextDouble()
            #expect(window.append(id: id, timestamp: clock, values: [0, 1], expired: &expired) != nil)
            all.append((id, clock))
            let young = all.filter { window.horizon == nil || clock - $0.timestamp < window.horizon! }
            #expect(window.slots.map { window.id(slot: $0) } == young.suffix(window.maximumCount).map(\.id))
        }
    }

    @Test func lateArrivalsBeyondTheHorizonAreRejected() throws {
        var window = try SlidingWindow(dimension: 1, windowSize: 10, horizon: 5)
        var expired: [SlidingWindow.Expiry] = []
        #expect(window.append(id: 1, timestamp: 100, values: [0], expired: &expired) == 0)
        // Age exactly the horizon: already out.
        #expect(window.append(id: 2, timestamp: 95, values: [0], expired: &expired) == nil)
        // Late but inside the horizon: kept, in arrival order.
        #expect(window.append(id: 3, timestamp: 96, values: [0], expired: &expired) != nil)
        #expect(window.slots.map { window.id(slot: $0) } == [1, 3])
        #expect(window.newestTimestamp == 100)
        // Point 3 is now 5.5 s old but outstays the horizon behind point 1, which is younger.
        #expect(window.append(id: 4, timestamp: 101.5, values: [0], expired: &expired) != nil)
        #expect(expired.isEmpty)
        #expect(window.slots.map { window.id(slot: $0) } == [1, 3, 4])
        // Once point 1 expires, point 3 follows it, oldest arrival first.
        #expect(window.append(id: 5, timestamp: 105, values: [0], expired: &expired) != nil)
        #expect(expired.map(\.id) == [1, 3])
        #expect(window.slots.map { window.id(slot: $0) } == [4, 5])
    }

    @Test func aPointStampedAheadOfTheClockLimitMovesTheClockOnlyToTheLimit() throws {
        var window = try SlidingWindow(dimension: 1, horizon: 60, maximumCount: 1_000)
        var expired: [SlidingWindow.Expiry] = []
        window.limitClock(to: 100)
        for id in 0..<10 {
            #expect(window.append(id: UInt64(id), timestamp: 91 + Double(id), values: [0], expired: &expired) != nil)
        }
        // 290 s ahead: kept, but the clock stops at 100, so nothing expires...
        #expect(window.append(id: 10, timestamp: 390, values: [0], expired: &expired) != nil)
        #expect(expired.isEmpty && window.count == 11)
        #expect(window.newestTimestamp == 100)
        // ...and a good point after it is not too old.
        #expect(window.append(id: 11, timestamp: 100, values: [0], expired: &expired) != nil)
        // The clock follows the limit as it moves; a limit below the clock never moves it back.
        window.limitClock(to: 155)
        #expect(window.append(id: 12, timestamp: 200, values: [0], expired: &expired) != nil)
        #expect(window.newestTimestamp == 155 && expired.map(\.id) == [0, 1, 2, 3, 4])
        window.limitClock(to: 10)
        #expect(window.append(id: 13, timestamp: 150, values: [0], expired: &expired) != nil)
        #expect(window.newestTimestamp == 155)
    }

    @Test func fullTimeOnlyWindowExpiresTheOldestToMakeRoom() throws {
        var window = try SlidingWindow(dimension: 1, horizon: 1_000, maximumCount: 150)
        var expired: [SlidingWindow.Expiry] = []
        for id in 0..<UInt64(150) {
            _ = window.append(id: id, timestamp: Double(id), values: [Double(id)], expired: &expired)
            #expect(expired.isEmpty)
        }
        #expect(window.count == 150 && window.capacity == 150)
        let slot = window.append(id: 150, timestamp: 150, values: [150], expired: &expired)
        #expect(expired == [SlidingWindow.Expiry(slot: 0, id: 0)])
        #expect(slot == 0)
        #expect(window.withValues(slot: 0) { Array($0) } == [150])
    }

    @Test func countWindowPreallocatesAndTimeWindowStartsSmall() throws {
        #expect(try SlidingWindow(dimension: 3, windowSize: 1_000).capacity == 1_000)
        #expect(try SlidingWindow(dimension: 3, horizon: 1, maximumCount: 1_000).capacity == 64)
        #expect(try SlidingWindow(dimension: 3, horizon: 1, maximumCount: 10).capacity == 10)
    }

    @Test func snapshotIsArrivalOrderAndCopiesAreIndependent() throws {
        var window = try SlidingWindow(dimension: 2, windowSize: 3)
        var expired: [SlidingWindow.Expiry] = []
        for id in 0..<UInt64(5) {
            _ = window.append(id: id, timestamp: Double(id), values: [Double(id), -Double(id)], expired: &expired)
        }
        let copy = window
        let snapshot = window.snapshot()
        #expect(snapshot.ids == [2, 3, 4])
        #expect(snapshot.timestamps == [2, 3, 4])
        #expect(snapshot.values == [2, -2, 3, -3, 4, -4])
        #expect(snapshot.slots == Array(window.slots))
        #expect(snapshot.count == 3 && snapshot.dimension == 2)
        _ = window.append(id: 9, timestamp: 9, values: [9, 9], expired: &expired)
        #expect(copy.snapshot() == snapshot)
        #expect(window.snapshot().ids == [3, 4, 9])
    }

    @Test func appendAcceptsAnyCollectionOfValues() throws {
        var window = try SlidingWindow(dimension: 2, windowSize: 4)
        var expired: [SlidingWindow.Expiry] = []
        let row: [Double] = [7, 8, 9]
        _ = window.append(id: 1, timestamp: 0, values: row[1...], expired: &expired)
        _ = window.append(id: 2, timestamp: 0, values: (1...2).lazy.map { Double($0) }, expired: &expired)
        #expect(window.snapshot().values == [8, 9, 1, 2])
    }

    @Test func invalidConfigurationsNameTheKey() {
        #expect(rejectedKey { try SlidingWindow(dimension: 0, windowSize: 5) } == "dimension")
        #expect(rejectedKey { try SlidingWindow(dimension: 2) } == "windowSize")
        #expect(rejectedKey { try SlidingWindow(dimension: 2, windowSize: 0) } == "windowSize")
        #expect(rejectedKey { try SlidingWindow(dimension: 2, horizon: 0, maximumCount: 5) } == "horizon")
        #expect(rejectedKey { try SlidingWindow(dimension: 2, horizon: .infinity, maximumCount: 5) } == "horizon")
        #expect(rejectedKey { try SlidingWindow(dimension: 2, horizon: 3) } == "maximumCount")
        #expect(rejectedKey { try SlidingWindow(dimension: 2, horizon: 3, maximumCount: 0) } == "maximumCount")
        #expect(rejectedKey { try SlidingWindow(dimension: 2, windowSize: 5, maximumCount: 9) } == "maximumCount")
        #expect(rejectedKey { try SlidingWindow(dimension: 2, windowSize: 5, horizon: 3) } == nil)
    }
}
