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
