import Foundation
import MMCDevTools
import MMCWire

/// Seeded random values for property tests (never the system generator).
struct TestRandom {
    var generator: WireBenchmark.SplitMix64

    init(seed: UInt64) { generator = WireBenchmark.SplitMix64(seed: seed) }

    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(generator.next() % UInt64(range.count))
    }

    mutating func bool() -> Bool { generator.next() & 1 == 1 }

    /// A finite float64 of varied shape: plain decimals, full precision, extremes, subnormals.
    mutating func double() -> Double {
        switch int(0...9) {
        case 0: return Double(int(-1000...1000))
        case 1: return Double(int(-99_999...99_999)) / 100
        case 2: return [0.0, -0.0, Double.leastNonzeroMagnitude, -Double.leastNormalMagnitude, Double.greatestFiniteMagnitude, -1e-300, 1e22, 0x1p53 + 2][int(0...7)]
        case 3:
            // Any finite bit pattern.
            while true {
                let value = Double(bitPattern: generator.next())
                if value.isFinite { return value }
            }
        default: return generator.nextUnit() * 200 - 100
        }
    }

    mutating func uint64() -> UInt64 {
        switch int(0...3) {
        case 0: return UInt64(int(0...1000))
        case 1: return UInt64.max - UInt64(int(0...3))
        default: return generator.next()
        }
    }

    mutating func doubles(_ count: Int) -> [Double] { (0..<count).map { _ in double() } }

    /// A valid batch of `count` points of `dimension` coordinates.
    mutating func batch(count: Int, dimension: Int) -> PointBatch {
        try! PointBatch(
            dimension: dimension, ids: (0..<count).map { _ in uint64() },
            timestamps: (0..<count).map { _ in double() }, values: doubles(count * dimension))
    }

    /// A valid cluster update with random clusters, events and (maybe) assignments.
    mutating func update() -> ClusterUpdate {
        let dimension = int(1...8)
        let clusterIDs = Array(Set((0..<int(0...12)).map { _ in Int64(int(0...40)) })).sorted()
        let clusters = clusterIDs.map { id in
            let low = doubles(dimension).map { $0 / 4 }
            let high = low.map { $0 + Double(int(0...5)) }
            return try! PublishedCluster(id: id, mass: int(0...500), centroid: zip(low, high).map { ($0 + $1) / 2 }, minimum: low, maximum: high)
        }
        var events: [ClusterEvent] = []
        for _ in 0..<int(0...4) {
            let id = Int64(int(0...40))
            switch int(0...3) {
            case 0: events.append(.birth(id))
            case 1: events.append(.death(id))
            case 2: events.append(.merge(from: [id, id + 1, id + 7].prefix(int(2...3)).map { $0 }, into: id))
            default: events.append(.split(from: id, into: [id, id + 3]))
            }
        }
        let windowSize = int(0...300)
        let labels = [Int64(-1)] + clusterIDs
        func assignmentColumns(_ count: Int) -> ([UInt64], [Int64]) {
            ((0..<count).map { _ in uint64() }, (0..<count).map { _ in labels[int(0...labels.count - 1)] })
        }
        let assignments: Assignments?
        switch int(0...2) {
        case 0: assignments = nil
        case 1:
            let (ids, labels) = assignmentColumns(windowSize)
            assignments = try! Assignments(full: ids, clusters: labels)
        default:
            let (ids, labels) = assignmentColumns(int(0...50))
            assignments = try! Assignments(diffFrom: UInt64(int(0...99)), ids: ids, clusters: labels, removed: (0..<int(0...20)).map { _ in uint64() })
        }
        return try! ClusterUpdate(
            modelVersion: UInt64(int(100...1_000_000)), time: double(), dimension: dimension, windowSize: windowSize,
            noiseCount: int(0...windowSize), clusters: clusters, events: events, assignments: assignments)
    }

    mutating func provisional() -> ProvisionalAssignments {
        let count = int(0...100)
        return try! ProvisionalAssignments(
            modelVersion: uint64(), ids: (0..<count).map { _ in uint64() },
            clusters: (0..<count).map { _ in Int64(int(-1...20)) }, confidence: (0..<count).map { _ in generator.nextUnit() })
    }

    mutating func request() -> Request {
        switch int(0...2) {
        case 0: return .snapshot
        case 1: return .stats
        default:
            let dimension = int(1...16)
            return .classify(try! ClassifyQuery(dimension: dimension, values: doubles(dimension * int(1...20))))
        }
    }

    mutating func reply() -> Reply {
        switch int(0...3) {
        case 0: return .snapshot(update())
        case 1:
            return .stats(try! DaemonStats(
                modelVersion: uint64(), dimension: int(0...64), windowSize: int(0...100_000), windowCapacity: 100_000,
                clusterCount: int(0...50), noiseCount: int(0...1000), pointsReceived: uint64(), pointsRejected: uint64(),
                pointsDropped: uint64(), reclusterCount: uint64(), lastReclusterSeconds: generator.nextUnit(),
                uptimeSeconds: Double(int(0...1_000_000)) / 8))
        case 2:
            let count = int(1...30)
            return .classification(try! Classification(
                modelVersion: uint64(), clusters: (0..<count).map { _ in Int64(int(-1...9)) },
                confidence: (0..<count).map { _ in generator.nextUnit() }))
        default:
            let messages = ["no model yet", "quote \" backslash \\ newline \n tab \t bell \u{07} é 漢 🚀", ""]
            return .failure(ReplyError(code: [.notReady, .internal, .wire(.invalidJSON)][int(0...2)], message: messages[int(0...2)]))
        }
    }
}

/// The bytes of a string, for test payloads.
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// The error code a throwing decode produced, or nil if it succeeded.
func errorCode<T>(_ body: () throws -> T) -> WireError.Code? {
    do {
        _ = try body()
        return nil
    } catch {
        return (error as? WireError)?.code
    }
}

/// An environment variable, for opt-in tests.
func benchmarkSetting(_ name: String) -> String? { ProcessInfo.processInfo.environment[name] }
