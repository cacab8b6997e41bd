/// Counters a daemon reports in a `stats` reply.
public struct DaemonStats: Sendable, Hashable {
    /// Version of the current model (0 before the first re-clustering).
    public let modelVersion: UInt64
    /// Dimension of the points (0 while not yet known).
    public let dimension: Int
    /// Points currently in the window.
    public let windowSize: Int
    /// Most points the window holds.
    public let windowCapacity: Int
    /// Clusters of the current model.
    public let clusterCount: Int
    /// Window points assigned to no cluster.
    public let noiseCount: Int
    /// Points accepted since start.
    public let pointsReceived: UInt64
    /// Points in payloads refused as malformed since start.
    public let pointsRejected: UInt64
    /// Points lost since start (full queues), as far as the daemon can count them.
    public let pointsDropped: UInt64
    /// Re-clusterings since start.
    public let reclusterCount: UInt64
    /// Duration of the last re-clustering in seconds.
    public let lastReclusterSeconds: Double
    /// Seconds since the daemon started.
    public let uptimeSeconds: Double

    /// Creates stats after checking them.
    ///
    /// - Throws: `WireError` with code `outOfRange` for a negative count or duration, or
    ///   `nonFinite` for a duration that is NaN or infinite.
    public init(
        modelVersion: UInt64, dimension: Int, windowSize: Int, windowCapacity: Int, clusterCount: Int, noiseCount: Int,
        pointsReceived: UInt64, pointsRejected: UInt64, pointsDropped: UInt64, reclusterCount: UInt64,
        lastReclusterSeconds: Double, uptimeSeconds: Double
    ) throws(WireError) {
        guard min(dimension, windowSize, windowCapacity, clusterCount, noiseCount) >= 0 else {
            throw WireError(.outOfRange, "stats: counts must not be negative")
        }
        for (name, value) in [("last_recluster_seconds", lastReclusterSeconds), ("uptime_seconds", uptimeSeconds)] {
            guard value.isFinite else { throw WireError(.nonFinite, "stats: field \"\(name)\" is not finite") }
            guard value >= 0 else { throw WireError(.outOfRange, "stats: field \"\(name)\" is negative") }
        }
        self.modelVersion = modelVersion
        self.dimension = dimension
        self.windowSize = windowSize
        self.windowCapacity = windowCapacity
        self.clusterCount = clusterCount
        self.noiseCount = noiseCount
        self.pointsReceived = pointsReceived
        self.pointsRejected = pointsRejected
        self.pointsDropped = pointsDropped
        self.reclusterCount = reclusterCount
        self.lastReclusterSeconds = lastReclusterSeconds
        self.uptimeSeconds = uptimeSeconds
    }

    /// JSON field names, in the order of the stored properties.
    static let names: [StaticString] = [
        "model_version", "dim", "window_size", "window_capacity", "clusters", "noise",
        "points_received", "points_rejected", "points_dropped", "recluster_count",
        "last_recluster_seconds", "uptime_seconds",
    ]

    /// The integer fields in the order of ``names`` (the last two are the durations).
    var integers: [UInt64] {
        [modelVersion, UInt64(dimension), UInt64(windowSize), UInt64(windowCapacity), UInt64(clusterCount),
         UInt64(noiseCount), pointsReceived, pointsRejected, pointsDropped, reclusterCount]
    }
}

/// The answer to a classify request: one cluster id and confidence per query point.
public struct Classification: Sendable, Hashable {
    /// The model the points were matched against.
    public let modelVersion: UInt64
    /// Cluster id per point (`-1` = noise).
    public let clusters: [Int64]
    /// Confidence per point, 0...1.
    public let confidence: [Double]

    /// Creates a classification after checking it.
    ///
    /// - Throws: `WireError` with code `countMismatch` or `outOfRange`.
    public init(modelVersion: UInt64, clusters: [Int64], confidence: [Double]) throws(WireError) {
        try checkAssignmentColumns(ids: clusters.count, clusters: clusters, context: "classification")
        try checkConfidences(confidence, count: clusters.count, context: "classification")
        self.modelVersion = modelVersion
        self.clusters = clusters
        self.confidence = confidence
    }
}

/// The error form of a reply: a machine-readable code and a readable message.
public struct ReplyError: Error, Sendable, Hashable {
    /// An error code. The set is open: decoders keep codes they do not know.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        /// The snake_case code as sent on the wire.
        public let rawValue: String
        /// Wraps any code, known or not.
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The raw code.
        public var description: String { rawValue }

        /// No model exists yet (no re-clustering has finished).
        public static let notReady = Code(rawValue: "not_ready")
        /// The daemon failed in a way that is not the request's fault.
        public static let `internal` = Code(rawValue: "internal")
        /// The code of a ``WireError`` that the request produced (`invalid_json`, `unknown_kind`, …).
        public static func wire(_ code: WireError.Code) -> Code { Code(rawValue: code.rawValue) }
    }

    /// What went wrong.
    public let code: Code
    /// A readable sentence.
    public let message: String

    /// Creates an error reply.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// The error reply for a request that failed to decode.
    public init(_ error: WireError) {
        self.init(code: .wire(error.code), message: error.message)
    }
}

/// A reply on the request/reply endpoint: `"status":"ok"` with a result, or `"status":"error"`.
public enum Reply: Sendable, Hashable {
    /// Reply to `snapshot`: the latest cluster update, with full assignments.
    case snapshot(ClusterUpdate)
    /// Reply to `stats`.
    case stats(DaemonStats)
    /// Reply to `classify`.
    case classification(Classification)
    /// Any failed request.
    case failure(ReplyError)

    private static let names: [StaticString] = ["protocol", "status", "reply", "update", "stats", "result", "error"]

    /// The JSON form, without whitespace.
    public func encoded() -> [UInt8] {
        var writer = JSONWriter(capacity: 256)
        writer.raw("{\"protocol\":1,\"status\":")
        switch self {
        case .snapshot(let update):
            writer.raw("\"ok\",\"reply\":\"snapshot\",\"update\":")
            UpdateCodec.write(.clusters(update), to: &writer)
        case .stats(let stats):
            writer.raw("\"ok\",\"reply\":\"stats\",\"stats\":{")
            for (index, value) in stats.integers.enumerated() {
                if index > 0 { writer.raw(",") }
                writer.key(DaemonStats.names[index])
                writer.uint(value)
            }
            writer.nextKey("last_recluster_seconds")
            writer.double(stats.lastReclusterSeconds)
            writer.nextKey("uptime_seconds")
            writer.double(stats.uptimeSeconds)
            writer.raw("}")
        case .classification(let result):
            writer.raw("\"ok\",\"reply\":\"classify\",\"result\":{\"model_version\":")
            writer.uint(result.modelVersion)
            writer.clustersAndConfidence(result.clusters, result.confidence)
            writer.raw("}")
        case .failure(let error):
            writer.raw("\"error\",\"error\":{\"code\":")
            writer.string(error.code.rawValue)
            writer.nextKey("message")
            writer.string(error.message)
            writer.raw("}")
        }
        writer.raw("}")
        return writer.bytes
    }

    /// Decodes a reply.
    ///
    /// - Throws: `WireError`; error replies decode successfully as ``failure(_:)``.
    /// - Complexity: O(reply bytes).
    public static func decode(_ body: some Collection<UInt8>, limits: DecodingLimits = .default) throws(WireError) -> Reply {
        try withContiguousBytes(body) { bytes throws(WireError) -> Reply in
            try limits.checkMessageSize(bytes.count)
            var reader = JSONReader(bytes, limits: limits)
            var status = ""
            var kind = ""
            var payload: Reply?
            let seen = try reader.readObject("reply", fields: names) { reader, field, what throws(WireError) in
                switch field {
                case 0: try reader.readProtocolVersion("reply")
                case 1: status = try reader.readString(what)
                case 2: kind = try reader.readString(what)
                case 3:
                    guard case .clusters(let update) = try UpdateCodec.read(&reader, context: "reply: update") else {
                        throw WireError(.invalidValue, "\(what): expected an update of kind \"clusters\"")
                    }
                    payload = .snapshot(update)
                case 4: payload = .stats(try readStats(&reader))
                case 5: payload = .classification(try readClassification(&reader))
                default: payload = .failure(try readError(&reader))
                }
            }
            try reader.finish()
            try seen.require([0, 1], of: names, in: "reply")
            switch status {
            case "ok":
                try seen.require([2], of: names, in: "reply")
                let fieldFor = ["snapshot": 3, "stats": 4, "classify": 5]
                guard let field = fieldFor[kind] else {
                    throw WireError(.unknownKind, "reply: unknown reply \"\(kind)\" (expected \"snapshot\", \"stats\" or \"classify\")")
                }
                try seen.require([field], of: names, in: "reply \"\(kind)\"")
                try seen.forbid([3, 4, 5, 6].filter { $0 != field }, of: names, in: "reply", owner: "reply \"\(kind)\"")
            case "error":
                try seen.require([6], of: names, in: "reply")
                try seen.forbid([2, 3, 4, 5], of: names, in: "reply", owner: "an error reply")
            default:
                throw WireError(.unknownKind, "reply: unknown status \"\(status)\" (expected \"ok\" or \"error\")")
            }
            return payload!
        }
    }

    private static func readStats(_ reader: inout JSONReader) throws(WireError) -> DaemonStats {
        let names = DaemonStats.names
        var integers = [UInt64](repeating: 0, count: names.count - 2)
        var durations = [0.0, 0.0]
        let seen = try reader.readObject("stats", fields: names) { reader, field, what throws(WireError) in
            if field < integers.count {
                integers[field] = try reader.readUInt64(what)
            } else {
                durations[field - integers.count] = try reader.readDouble(what)
            }
        }
        try seen.require(names.indices, of: names, in: "stats")
        for index in 1...5 where integers[index] > UInt64(Int.max) {
            throw WireError(.outOfRange, "stats: field \"\(names[index])\": \(integers[index]) is out of range")
        }
        return try DaemonStats(
            modelVersion: integers[0], dimension: Int(integers[1]), windowSize: Int(integers[2]),
            windowCapacity: Int(integers[3]), clusterCount: Int(integers[4]), noiseCount: Int(integers[5]),
            pointsReceived: integers[6], pointsRejected: integers[7], pointsDropped: integers[8],
            reclusterCount: integers[9], lastReclusterSeconds: durations[0], uptimeSeconds: durations[1])
    }

    private static func readClassification(_ reader: inout JSONReader) throws(WireError) -> Classification {
        let names: [StaticString] = ["model_version", "clusters", "confidence"]
        let limit = reader.limits.maxPointCount
        var modelVersion: UInt64 = 0
        var clusters: [Int64] = []
        var confidence: [Double] = []
        let seen = try reader.readObject("result", fields: names) { reader, field, what throws(WireError) in
            switch field {
            case 0: modelVersion = try reader.readUInt64(what)
            case 1: _ = try reader.readClusterIDs(into: &clusters, limit: limit, what)
            default: _ = try reader.readDoubles(into: &confidence, limit: limit, what)
            }
        }
        try seen.require(names.indices, of: names, in: "result")
        return try Classification(modelVersion: modelVersion, clusters: clusters, confidence: confidence)
    }

    private static func readError(_ reader: inout JSONReader) throws(WireError) -> ReplyError {
        let names: [StaticString] = ["code", "message"]
        var texts = ["", ""]
        let seen = try reader.readObject("error", fields: names) { reader, field, what throws(WireError) in
            texts[field] = try reader.readString(what)
        }
        try seen.require(names.indices, of: names, in: "error")
        return ReplyError(code: ReplyError.Code(rawValue: texts[0]), message: texts[1])
    }
}
