/// Points to classify against the current model without learning them.
public struct ClassifyQuery: Sendable, Hashable {
    /// Coordinates per point (at least 1).
    public let dimension: Int
    /// Coordinates, row-major: `count * dimension` finite values.
    public let values: [Double]

    /// The number of points.
    public var count: Int { values.count / dimension }

    /// Creates a query after checking it.
    ///
    /// - Throws: `WireError` with code `invalidDimension`, `emptyBatch`, `countMismatch`
    ///   (`values.count` not a multiple of `dimension`) or `nonFinite`.
    public init(dimension: Int, values: [Double]) throws(WireError) {
        guard dimension >= 1 else { throw WireError(.invalidDimension, "classify: dimension must be at least 1, got \(dimension)") }
        guard !values.isEmpty else { throw WireError(.emptyBatch, "classify: no points") }
        guard values.count % dimension == 0 else {
            throw WireError(.countMismatch, "classify: \(values.count) values are not a whole number of points of dimension \(dimension)")
        }
        if let index = values.firstIndex(where: { !$0.isFinite }) {
            throw WireError(.nonFinite, "classify: point \(index / dimension) coordinate \(index % dimension) is not finite")
        }
        self.dimension = dimension
        self.values = values
    }
}

/// A request on the request/reply endpoint.
///
/// JSON: `{"protocol":1,"request":"snapshot"}`, `{"protocol":1,"request":"stats"}`,
/// `{"protocol":1,"request":"classify","dim":2,"v":[0.1,2.5,3.0,4.0]}`.
public enum Request: Sendable, Hashable {
    /// The latest cluster update with a full assignment snapshot.
    case snapshot
    /// Counters of the daemon (``DaemonStats``).
    case stats
    /// Cluster ids and confidences for points, which are not learned.
    case classify(ClassifyQuery)

    private static let names: [StaticString] = ["protocol", "request", "dim", "v"]

    /// Decodes a request.
    ///
    /// - Parameter expectedDimension: when set, a classify query of another dimension is refused.
    /// - Throws: `WireError`; an unknown request name gives `unknownKind`.
    /// - Complexity: O(request bytes).
    public static func decode(
        _ body: some Collection<UInt8>, expectedDimension: Int? = nil, limits: DecodingLimits = .default
    ) throws(WireError) -> Request {
        try withContiguousBytes(body) { bytes throws(WireError) -> Request in
            try limits.checkMessageSize(bytes.count)
            var reader = JSONReader(bytes, limits: limits)
            var name = ""
            var dimension = 0
            var values: [Double] = []
            let seen = try reader.readObject("request", fields: names) { reader, field, what throws(WireError) in
                switch field {
                case 0: try reader.readProtocolVersion("request")
                case 1: name = try reader.readString(what)
                case 2:
                    dimension = try reader.readCount(what, maximum: limits.maxDimension)
                    if let expectedDimension, dimension != expectedDimension {
                        throw WireError(.dimensionMismatch, "\(what): expected \(expectedDimension), got \(dimension)")
                    }
                default:
                    let limit = saturatingProduct(limits.maxPointCount, limits.maxDimension)
                    _ = try reader.readDoubles(into: &values, limit: limit, what)
                }
            }
            try reader.finish()
            try seen.require([1], of: names, in: "request")
            switch name {
            case "snapshot", "stats":
                try seen.forbid([2, 3], of: names, in: "request", owner: "request \"\(name)\"")
                return name == "stats" ? .stats : .snapshot
            case "classify":
                try seen.require([2, 3], of: names, in: "request")
                guard values.count / max(dimension, 1) <= limits.maxPointCount else {
                    throw WireError(.limitExceeded, "request: more than \(limits.maxPointCount) points to classify")
                }
                return .classify(try ClassifyQuery(dimension: dimension, values: values))
            default:
                throw WireError(.unknownKind, "request: unknown request \"\(name)\" (expected \"snapshot\", \"stats\" or \"classify\")")
            }
        }
    }

    /// The JSON form, without whitespace.
    public func encoded() -> [UInt8] {
        var writer = JSONWriter(capacity: 64)
        writer.raw("{\"protocol\":1,\"request\":")
        switch self {
        case .snapshot: writer.raw("\"snapshot\"}")
        case .stats: writer.raw("\"stats\"}")
        case .classify(let query):
            writer.raw("\"classify\",\"dim\":")
            writer.uint(UInt64(query.dimension))
            writer.nextKey("v")
            writer.doubles(query.values)
            writer.raw("}")
        }
        return writer.bytes
    }
}
