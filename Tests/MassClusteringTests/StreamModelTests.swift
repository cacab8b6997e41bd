import MassClustering
import MMCTestSupport
import Testing

@Suite(.tags(.unit)) struct StreamModelTests {
    @Test func growsTheForestOnceTheWindowHoldsASample() throws {
        var model = StreamModel(
            window: try SlidingWindow(dimension: 2, windowSize: 100), parameters: try smallParameters(seed: 1))
        var stream = RandomStream(seed: 1, dimension: 2, lateness: 0)
        for _ in 0..<39 {
            let point = stream.next()
            model.insert(id: point.id, timestamp: point.timestamp, values: point.values)
            #expect(model.forest == nil)
        }
        let point = stream.next()
        model.insert(id: point.id, timestamp: point.timestamp, values: point.values)
        let forest = try #require(model.forest)
        expectConsistent(forest, model.window)
        for _ in 0..<200 {
            let point = stream.next()
            model.insert(id: point.id, timestamp: point.timestamp, values: point.values)
        }
        expectConsistent(try #require(model.forest), model.window)
    }

    @Test func aWindowSmallerThanTheSampleGrowsItsForestWhenFull() throws {
        var model = StreamModel(
            window: try SlidingWindow(dimension: 1, windowSize: 10), parameters: try smallParameters(seed: 2))
        #expect(model.growthThreshold == 10)
        for id in 0..<UInt64(10) {
            #expect(model.forest == nil)
            model.insert(id: id, timestamp: 0, values: [Double(id)])
        }
        expectConsistent(try #require(model.forest), model.window)
    }

    @Test func refreshingGrowsAMissingForestFromWhatTheWindowHolds() throws {
        var model = StreamModel(
            window: try SlidingWindow(dimension: 2, horizon: 10, maximumCount: 1_000),
            parameters: try smallParameters(seed: 3))
        model.refreshTrees(count: 2)
        #expect(model.forest == nil)
        for id in 0..<UInt64(12) {
            model.insert(id: id, timestamp: Double(id), values: [Double(id), 1])
        }
        #expect(model.forest == nil)
        model.refreshTrees(count: 2)
        let forest = try #require(model.forest)
        #expect(forest.pointCount == 10)
        expectConsistent(forest, model.window)
    }

    @Test(arguments: Bounds.allCases)
    func streamingKeepsWindowAndForestConsistent(bounds: Bounds) throws {
        var generator = SeededGenerator(seed: 4)
        let dimension = 1 + generator.nextInt(below: 8)
        let window = try bounds.makeWindow(dimension: dimension, generator: &generator)
        var windowModel = WindowModel(window)
        var model = StreamModel(window: window, parameters: try smallParameters(seed: 4))
        var stream = RandomStream(seed: 4, dimension: dimension, lateness: 1.5 * (window.horizon ?? 10))
        for step in 1...500 {
            let point = stream.next()
            let expired = windowModel.append(id: point.id, timestamp: point.timestamp, values: point.values)
            let slot = model.insert(id: point.id, timestamp: point.timestamp, values: point.values)
            #expect((slot == nil) == (expired == nil))
            #expect(model.lastExpired.map(\.id) == expired ?? [])
            if step % 25 == 0 {
                #expect(model.snapshot().ids == windowModel.points.map(\.id))
                if let forest = model.forest {
                    // Immediate and spread refreshes alternate; either way the counts stay exact.
                    if step % 200 == 0 {
                        model.refreshTrees(count: 3)
                    } else if step % 200 == 100 {
                        model.scheduleTreeRefresh(count: 3)
                    }
                    expectConsistent(try #require(model.forest), model.window)
                    #expect(forest.pointCount == model.window.count)
                }
            }
        }
        expectConsistent(try #require(model.forest), model.window)
    }

    @Test func aRejectedPointLeavesTheModelUnchanged() throws {
        var model = StreamModel(
            window: try SlidingWindow(dimension: 2, windowSize: 50, horizon: 50),
            parameters: try smallParameters(seed: 5))
        var stream = RandomStream(seed: 5, dimension: 2, lateness: 0)
        for _ in 0..<60 {
            let point = stream.next()
            model.insert(id: point.id, timestamp: point.timestamp, values: point.values)
        }
        let snapshot = model.snapshot()
        let table = nodeTable(try #require(model.forest))
        let late = try #require(model.window.newestTimestamp) - 50
        #expect(model.insert(id: 999, timestamp: late, values: [0.5, 0.5]) == nil)
        #expect(model.lastExpired.isEmpty)
        #expect(model.snapshot() == snapshot)
        #expect(nodeTable(try #require(model.forest)) == table)
    }

    @Test func sameInputsAndSeedGiveTheSameModel() throws {
        func run() throws -> StreamModel {
            var model = StreamModel(
                window: try SlidingWindow(dimension: 3, windowSize: 80), parameters: try smallParameters(seed: 6))
            var stream = RandomStream(seed: 6, dimension: 3, lateness: 0)
            for step in 1...300 {
                let point = stream.next()
                model.insert(id: point.id, timestamp: point.timestamp, values: point.values)
                if step % 60 == 0 {
                    model.refreshTrees(count: 4)
                }
            }
            return model
        }
        let (first, second) = (try run(), try run())
        #expect(first.snapshot() == second.snapshot())
        #expect(nodeTable(try #require(first.forest)) == nodeTable(try #require(second.forest)))
    }
}
