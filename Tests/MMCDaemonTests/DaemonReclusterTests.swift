import Foundation
import Logging
import MassClustering
import MMCConfiguration
@testable import MMCDaemon
import MMCState
import MMCTestSupport
import MMCWire
import Synchronization
import Testing

/// The re-clustering job and the pieces around it, without sockets.
@Suite(.tags(.unit))
struct DaemonReclusterTests {
    /// A model holding `points` (x, y) with ids `ids`.
    func model(_ points: [(Double, Double)], ids: [UInt64]) throws -> StreamModel {
        var model = StreamModel(
            window: try SlidingWindow(dimension: 2, windowSize: 10_000),
            parameters: try MassForest.Parameters(treeCount: 8, height: 6, sampleSize: 32, seed: 1))
        for (point, id) in zip(points, ids) {
            model.insert(id: id, timestamp: Double(id), values: [point.0, point.1])
        }
        model.refreshTrees(count: 0)
        return model
    }

    /// Two Gaussian blobs far apart in large, unequal units: x around 1000 and 5000, y around
    /// -3 and 7.
    func twoBlobs(count: Int, seed: UInt64) -> [(Double, Double)] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { index in
            let radius = (-2 * log(max(generator.nextDouble(), 1e-12))).squareRoot()
            let angle = 2 * Double.pi * generator.nextDouble()
            let (x, y) = index.isMultiple(of: 2) ? (1_000.0, -3.0) : (5_000.0, 7.0)
            return (x + 10 * radius * cos(angle), y + 0.1 * radius * sin(angle))
        }
    }

    func job(_ model: StreamModel, tracker: ClusterTracker = ClusterTracker(), version: UInt64 = 1,
             base: (version: UInt64, assignments: [UInt64: Int64])? = nil) throws -> ReclusterJob {
        ReclusterJob(
            model: model, tracker: tracker, previous: nil, parameters: try ClusteringParameters(), threads: 2,
            modelVersion: version,
            time: 10,
            diffBase: base)
    }

    @Test func reclusteringsYieldToIngestionUntilOneOverrunsItsInterval() {
        var priority = DedicatedThreadPriority.background
        let durations: [(seconds: Double, then: DedicatedThreadPriority)] = [
            (0.3, .background), (0.7, .background), (1.2, .normal), (0.8, .normal), (0.6, .normal),
            (0.4, .background), (0.9, .background),
        ]
        for step in durations {
            priority = priority.next(afterReclusterTaking: .seconds(step.seconds), interval: 1)
            #expect(priority == step.then, "after \(step.seconds) s")
        }
        // Scheduled by point count only: no deadline to keep.
        #expect(DedicatedThreadPriority.normal.next(afterReclusterTaking: .seconds(30), interval: 0) == .background)
    }

    @Test func clustersAreSummarisedInTheOriginalUnits() throws {
        let points = twoBlobs(count: 400, seed: 1)
        let result = try job(try model(points, ids: Array(0..<400))).run()
        let update = result.fullUpdate
        #expect(update.clusters.count == 2)
        #expect(update.windowSize == 400)
        #expect(update.events == [.birth(0), .birth(1)])
        let sorted = update.clusters.sorted { $0.centroid[0] < $1.centroid[0] }
        #expect(abs(sorted[0].centroid[0] - 1_000) < 5 && abs(sorted[0].centroid[1] + 3) < 0.1)
        #expect(abs(sorted[1].centroid[0] - 5_000) < 5 && abs(sorted[1].centroid[1] - 7) < 0.1)
        for cluster in update.clusters {
            #expect(zip(cluster.minimum, cluster.maximum).allSatisfy { $0 <= $1 })
        }
        #expect(update.clusters.reduce(0) { $0 + $1.mass } + update.noiseCount == 400)
        #expect(result.publishedFull && result.publishedBody == result.fullBody)
        // The votes label a new point near a blob with that blob's stable id.
        let (clusters, confidence) = result.classifier.classify(values: [1_000, -3, 9_000, 9_000], dimension: 2)
        #expect(clusters[0] == sorted[0].id && confidence[0] > 0.5)
        #expect(clusters[1] == -1 && confidence[1] == 0)
    }

    @Test func successiveJobsShareOneWorkspaceAndPublishWhatAFreshOneDoes() throws {
        let workspace = ClusteringWorkspace()
        let window = try model(twoBlobs(count: 600, seed: 4), ids: Array(0..<600))
        var shared = try job(window)
        shared.workspace = workspace
        let first = try shared.run()
        let capacity = workspace.edgeCapacity
        #expect(capacity > 0)
        let second = try shared.run()
        #expect(workspace.edgeCapacity == capacity)
        let fresh = try job(window).run()
        #expect(first.fullBody == fresh.fullBody && second.fullBody == fresh.fullBody)
    }

    @Test func aDiffListsChangedAndEnteringPointsAndRemovedIds() throws {
        let points = twoBlobs(count: 400, seed: 2)
        let first = try job(try model(points, ids: Array(0..<400))).run()
        // The next window lost ids 0..<10 and gained 400..<410.
        let moved = Array(points[10..<400]) + twoBlobs(count: 10, seed: 3)
        let second = try job(
            try model(moved, ids: Array(10..<410)), tracker: first.tracker, version: 2,
            base: (1, first.assignments)
        ).run()
        let message = try UpdateMessage.decode(second.publishedBody)
        guard case .clusters(let diff) = message else {
            Issue.record("expected a cluster update")
            return
        }
        let assignments = try #require(diff.assignments)
        #expect(assignments.mode == .diff(baseVersion: 1))
        #expect(assignments.removed == Array(0..<10))
        #expect(Set(400..<410).isSubset(of: Set(assignments.ids)))
        for (id, cluster) in zip(assignments.ids, assignments.clusters) where id < 400 {
            #expect(first.assignments[id] != cluster)
        }
        #expect(Set(diff.clusters.map(\.id)) == Set(first.fullUpdate.clusters.map(\.id)))
        #expect(!second.publishedFull)
        #expect(second.fullUpdate.assignments?.ids.count == 400)
    }

    /// A model whose 400-point window turned over entirely after its first re-clustering, the
    /// result of that re-clustering, and the result of the next one (same blobs, new points).
    func turnedOver() throws -> (model: StreamModel, first: ReclusterResult, second: ReclusterResult) {
        var model = StreamModel(
            window: try SlidingWindow(dimension: 2, windowSize: 400),
            parameters: try MassForest.Parameters(treeCount: 16, height: 8, sampleSize: 64, seed: 3))
        for (id, point) in twoBlobs(count: 400, seed: 6).enumerated() {
            model.insert(id: UInt64(id), timestamp: Double(id), values: [point.0, point.1])
        }
        let first = try job(model).run()
        for (offset, point) in twoBlobs(count: 400, seed: 7).enumerated() {
            model.insert(id: UInt64(400 + offset), timestamp: Double(400 + offset), values: [point.0, point.1])
        }
        let second = try ReclusterJob(
            model: model, tracker: first.tracker, previous: first.classifier, parameters: try ClusteringParameters(),
            modelVersion: 2, time: 20, diffBase: (1, first.assignments)
        ).run()
        return (model, first, second)
    }

    @Test func idsSurviveAWindowThatTurnedOverAndTheFullUpdateReplacesALargerDiff() throws {
        let (_, first, second) = try turnedOver()
        let before = first.fullUpdate.clusters.sorted { $0.centroid[0] < $1.centroid[0] }.map(\.id)
        let after = second.fullUpdate.clusters.sorted { $0.centroid[0] < $1.centroid[0] }.map(\.id)
        #expect(before.count == 2)
        #expect(after == before)
        #expect(second.fullUpdate.events.isEmpty)
        // Every point left the window: a diff would list 400 removed and 400 new points.
        #expect(second.publishedFull && second.publishedBody == second.fullBody)
        // Provisional labels of the first clustering and assignments of the second agree.
        let (clusters, _) = first.classifier.classify(values: [1_000, -3, 5_000, 7], dimension: 2)
        #expect(clusters == before)
    }

    @Test func aRestoredDaemonContinuesItsIDsAfterTheWindowTurnedOver() throws {
        let (model, first, _) = try turnedOver()
        // Saved after the turnover, before the next re-clustering: the tracker knows none of
        // the window's points, the votes do.
        let saved = DaemonPersistedState(
            window: model.window, tracker: first.tracker, classifier: first.classifier, modelVersion: 1,
            sequenceNumbers: [:]
        ).snapshot(createdAt: 0)
        let empty = StreamModel(
            window: try SlidingWindow(dimension: 2, windowSize: 400),
            parameters: try MassForest.Parameters(treeCount: 16, height: 8, sampleSize: 64, seed: 3))
        let restored = try DaemonRestoredState(snapshot: try StateStore.decode(try StateStore.encode(saved)), empty: empty)
        let next = try job(restored.model, tracker: restored.tracker, version: 2).run()
        let before = first.fullUpdate.clusters.sorted { $0.centroid[0] < $1.centroid[0] }.map(\.id)
        #expect(next.fullUpdate.clusters.sorted { $0.centroid[0] < $1.centroid[0] }.map(\.id) == before)
        #expect(next.fullUpdate.events.isEmpty)
    }

    @Test func reusedPointIdsDoNotBreakTheTracker() throws {
        let points = twoBlobs(count: 300, seed: 4)
        // Two producers numbering from 0: every id appears twice or three times.
        let ids = (0..<300).map { UInt64($0 % 120) }
        let result = try job(try model(points, ids: ids)).run()
        #expect(result.fullUpdate.assignments?.ids.count == 300)
        #expect(result.assignments.count == 120)
        let known = Set(result.fullUpdate.clusters.map(\.id))
        #expect(result.fullUpdate.assignments?.clusters.allSatisfy { $0 == -1 || known.contains($0) } == true)
    }

    @Test(arguments: [1, 2, 3])
    func aTinyWindowIsAllNoiseWithoutFailing(count: Int) throws {
        let points = (0..<count).map { (Double($0), Double($0)) }
        let result = try job(try model(points, ids: (0..<count).map { UInt64($0) })).run()
        #expect(result.fullUpdate.clusters.isEmpty)
        #expect(result.fullUpdate.noiseCount == count)
        let (clusters, _) = result.classifier.classify(values: [0, 0], dimension: 2)
        #expect(clusters == [-1])
    }

    @Test func aStateSnapshotRestoresTheWindowAndTheTracker() throws {
        let points = twoBlobs(count: 200, seed: 5)
        let live = try model(points, ids: Array(500..<700))
        let result = try job(live).run()
        let saved = DaemonPersistedState(
            window: live.window, tracker: result.tracker, classifier: result.classifier, modelVersion: 1,
            sequenceNumbers: ["clusters.mmcd": 4])
            .snapshot(createdAt: 0)
        let decoded = try StateStore.decode(try StateStore.encode(saved))
        let empty = try model([], ids: [])
        let restored = try DaemonRestoredState(snapshot: decoded, empty: empty)
        #expect(restored.model.snapshot().ids == live.snapshot().ids)
        #expect(restored.model.snapshot().values == live.snapshot().values)
        #expect(restored.tracker.state == result.tracker.state)
        #expect(restored.sequenceNumbers == ["clusters.mmcd": 4])
        #expect(restored.modelVersion == 1)

        let wrongDimension = StreamModel(window: try SlidingWindow(dimension: 3, windowSize: 10))
        #expect(throws: DaemonError.self) { _ = try DaemonRestoredState(snapshot: decoded, empty: wrongDimension) }
    }

    @Test func theForestDefaultsMatchTheCore() {
        let defaults = DaemonConfiguration()
        #expect(defaults.forest.trees == MassForest.Parameters.default.treeCount)
        #expect(defaults.forest.height == MassForest.Parameters.default.height)
        #expect(defaults.forest.sampleSize == MassForest.Parameters.default.sampleSize)
    }

    @Test func logLinesAreTextOrJSONWithSortedMetadata() {
        let time = Date(timeIntervalSince1970: 1_732_600_000.25)
        let metadata: Logger.Metadata = ["window.size": "5000", "error": "bad \"x\"", "clusters": .array(["1", "2"])]
        let text = DaemonLogHandler.render(
            format: .text, time: time, level: .warning, label: "mmcd", message: "re-clustered", metadata: metadata)
        #expect(text == #"2024-11-26T05:46:40.250Z warning mmcd: re-clustered clusters=[1,2] error="bad \"x\"" window.size=5000"#)
        let json = DaemonLogHandler.render(
            format: .json, time: time, level: .info, label: "mmcd", message: "a\nb", metadata: metadata)
        #expect(
            json
                == #"{"time":"2024-11-26T05:46:40.250Z","level":"info","label":"mmcd","message":"a\nb","clusters":"[1,2]","error":"bad \"x\"","window.size":"5000"}"#
        )
        let parsed = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: String]
        #expect(parsed?["window.size"] == "5000")
    }

    @Test func theSharedLogLevelFollowsReloadsUnlessAHandlerHasItsOwn() {
        let level = DaemonLogLevel(.info)
        var handler = DaemonLogHandler(label: "mmcd", format: .text, level: level)
        #expect(handler.logLevel == .info)
        level.set(.debug)
        #expect(handler.logLevel == .debug)
        handler.logLevel = .error
        level.set(.trace)
        #expect(handler.logLevel == .error)
    }

    @Test func rateLimitedLogSuppressesRepeatsPerKey() {
        let lines = LineCollector()
        let logger = Logger(label: "test") { _ in lines }
        let limited = RateLimitedLog(logger: logger, interval: .seconds(60))
        for _ in 0..<5 { limited.log(.warning, key: "bad_magic", "rejected") }
        limited.log(.warning, key: "truncated", "rejected")
        #expect(lines.count == 2)
    }
}

/// A log handler that counts the lines it gets.
struct LineCollector: LogHandler {
    private let box = Counter()
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    var count: Int { box.value.withLock { $0 } }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        box.value.withLock { $0 += 1 }
    }

    final class Counter: Sendable {
        let value = Mutex(0)
    }
}
