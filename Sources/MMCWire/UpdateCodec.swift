extension UpdateMessage {
    /// Decodes the body frame of an updates message (JSON).
    ///
    /// - Throws: `WireError`; unknown fields are skipped, everything else is checked as in the
    ///   initializers of ``ClusterUpdate`` and ``ProvisionalAssignments``.
    /// - Complexity: O(body bytes) plus O(assignments) hash look-ups for cluster references.
    public static func decode(_ body: some Collection<UInt8>, limits: DecodingLimits = .default) throws(WireError) -> UpdateMessage {
        try withContiguousBytes(body) { bytes throws(WireError) -> UpdateMessage in
            try limits.checkMessageSize(bytes.count)
            var reader = JSONReader(bytes, limits: limits)
            let message = try UpdateCodec.read(&reader, context: "update")
            try reader.finish()
            return message
        }
    }

    /// The JSON body, without whitespace.
    ///
    /// - Complexity: O(size of the message); integers are formatted without allocation.
    public func encoded() -> [UInt8] {
        var writer = JSONWriter(capacity: UpdateCodec.estimatedSize(self))
        UpdateCodec.write(self, to: &writer)
        return writer.bytes
    }
}

/// JSON form of ``UpdateMessage``; see docs/protocol.md, "Updates".
enum UpdateCodec {
    /// Top-level fields of both kinds (bit numbers for duplicate detection).
    private enum Field: Int, CaseIterable {
        case `protocol`, kind, modelVersion, time, dim, windowSize, noise, clusters, events, assignments, points

        var name: StaticString {
            switch self {
            case .protocol: "protocol"
            case .kind: "kind"
            case .modelVersion: "model_version"
            case .time: "time"
            case .dim: "dim"
            case .windowSize: "window_size"
            case .noise: "noise"
            case .clusters: "clusters"
            case .events: "events"
            case .assignments: "assignments"
            case .points: "points"
            }
        }
    }

    static func estimatedSize(_ message: UpdateMessage) -> Int {
        switch message {
        case .clusters(let update):
            256 + update.clusters.count * (64 + 60 * update.dimension) + update.events.count * 40
                + (update.assignments.map { $0.ids.count * 24 + $0.removed.count * 21 } ?? 0)
        case .provisional(let provisional):
            128 + provisional.ids.count * 48
        }
    }

    static func write(_ message: UpdateMessage, to writer: inout JSONWriter) {
        switch message {
        case .clusters(let update):
            writer.raw("{\"protocol\":1,\"kind\":\"clusters\"")
            writer.nextKey("model_version")
            writer.uint(update.modelVersion)
            writer.nextKey("time")
            writer.double(update.time)
            writer.nextKey("dim")
            writer.uint(UInt64(update.dimension))
            writer.nextKey("window_size")
            writer.uint(UInt64(update.windowSize))
            writer.nextKey("noise")
            writer.uint(UInt64(update.noiseCount))
            writer.nextKey("clusters")
            writer.array(update.clusters) { writer, cluster in
                writer.raw("{\"id\":")
                writer.int(cluster.id)
                writer.nextKey("mass")
                writer.uint(UInt64(cluster.mass))
                writer.nextKey("centroid")
                writer.doubles(cluster.centroid)
                writer.nextKey("min")
                writer.doubles(cluster.minimum)
                writer.nextKey("max")
                writer.doubles(cluster.maximum)
                writer.raw("}")
            }
            writer.nextKey("events")
            writer.array(update.events) { writer, event in writeEvent(event, to: &writer) }
            if let assignments = update.assignments {
                writer.nextKey("assignments")
                switch assignments.mode {
                case .full:
                    writer.raw("{\"mode\":\"full\"")
                case .diff(let baseVersion):
                    writer.raw("{\"mode\":\"diff\",\"base_version\":")
                    writer.uint(baseVersion)
                    writer.nextKey("removed")
                    writer.uints(assignments.removed)
                }
                writer.nextKey("ids")
                writer.uints(assignments.ids)
                writer.nextKey("clusters")
                writer.ints(assignments.clusters)
                writer.raw("}")
            }
            writer.raw("}")
        case .provisional(let provisional):
            writer.raw("{\"protocol\":1,\"kind\":\"provisional\",\"model_version\":")
            writer.uint(provisional.modelVersion)
            writer.raw(",\"points\":{\"ids\":")
            writer.uints(provisional.ids)
            writer.clustersAndConfidence(provisional.clusters, provisional.confidence)
            writer.raw("}}")
        }
    }

    private static func writeEvent(_ event: ClusterEvent, to writer: inout JSONWriter) {
        switch event {
        case .birth(let id):
            writer.raw("{\"type\":\"birth\",\"id\":")
            writer.int(id)
        case .death(let id):
            writer.raw("{\"type\":\"death\",\"id\":")
            writer.int(id)
        case .merge(let from, let into):
            writer.raw("{\"type\":\"merge\",\"from\":")
            writer.ints(from)
            writer.nextKey("into")
            writer.int(into)
        case .split(let from, let into):
            writer.raw("{\"type\":\"split\",\"from\":")
            writer.int(from)
            writer.nextKey("into")
            writer.ints(into)
        }
        writer.raw("}")
    }

    /// Reads one update object (a message body, or the `"update"` of a snapshot reply).
    static func read(_ reader: inout JSONReader, context: String) throws(WireError) -> UpdateMessage {
        let limits = reader.limits
        let names = Field.allCases.map(\.name)
        var isClusters: Bool?
        var modelVersion: UInt64 = 0
        var time = 0.0
        var dimension = 0
        var windowSize = 0
        var noise = 0
        var clusters: [PublishedCluster] = []
        var events: [ClusterEvent] = []
        var assignments: Assignments?
        var provisional: ProvisionalAssignments?
        let seen = try reader.readObject(context, fields: names) { reader, index, what throws(WireError) in
            switch Field(rawValue: index)! {
            case .protocol: try reader.readProtocolVersion(context)
            case .kind:
                let kind = try reader.readStringToken(what)
                if reader.key(kind, is: "clusters") {
                    isClusters = true
                } else if reader.key(kind, is: "provisional") {
                    isClusters = false
                } else {
                    throw WireError(.unknownKind, "\(what): unknown kind \"\(reader.text(kind))\" (expected \"clusters\" or \"provisional\")")
                }
            case .modelVersion: modelVersion = try reader.readUInt64(what)
            case .time: time = try reader.readDouble(what)
            case .dim: dimension = try reader.readCount(what, maximum: limits.maxDimension)
            case .windowSize: windowSize = try reader.readCount(what, maximum: Int.max)
            case .noise: noise = try reader.readCount(what, maximum: Int.max)
            case .clusters:
                _ = try reader.readArray(into: &clusters, limit: limits.maxClusterCount, what) { reader, index throws(WireError) in
                    try readCluster(&reader, index: index)
                }
            case .events:
                _ = try reader.readArray(into: &events, limit: limits.maxClusterCount, what) { reader, index throws(WireError) in
                    try readEvent(&reader, index: index)
                }
            case .assignments: assignments = try readAssignments(&reader)
            case .points: provisional = try readProvisional(&reader)
            }
        }
        try seen.require([Field.protocol.rawValue, Field.kind.rawValue], of: names, in: context)
        let kindFields: [Field] = [.time, .dim, .windowSize, .noise, .clusters, .events, .assignments]
        if isClusters == true {
            try seen.require(([.modelVersion] + kindFields.dropLast()).map(\.rawValue), of: names, in: context)
            try seen.forbid([Field.points.rawValue], of: names, in: context, owner: "kind \"clusters\"")
            return .clusters(try ClusterUpdate(
                modelVersion: modelVersion, time: time, dimension: dimension, windowSize: windowSize, noiseCount: noise,
                clusters: clusters, events: events, assignments: assignments))
        }
        try seen.require([Field.modelVersion.rawValue, Field.points.rawValue], of: names, in: context)
        try seen.forbid(kindFields.map(\.rawValue), of: names, in: context, owner: "kind \"provisional\"")
        // "points" may precede "model_version", so the version is filled in here.
        let points = provisional!
        return .provisional(try ProvisionalAssignments(
            modelVersion: modelVersion, ids: points.ids, clusters: points.clusters, confidence: points.confidence))
    }

    private static func readCluster(_ reader: inout JSONReader, index: Int) throws(WireError) -> PublishedCluster {
        let context = "cluster \(index)"
        let names: [StaticString] = ["id", "mass", "centroid", "min", "max"]
        var id: Int64 = 0
        var mass = 0
        var vectors: [[Double]] = [[], [], []]
        let seen = try reader.readObject(context, fields: names) { reader, field, what throws(WireError) in
            switch field {
            case 0: id = try reader.readClusterID(what, allowNoise: false)
            case 1: mass = try reader.readCount(what, maximum: Int.max)
            default: _ = try reader.readDoubles(into: &vectors[field - 2], limit: reader.limits.maxDimension, what)
            }
        }
        try seen.require(names.indices, of: names, in: context)
        return try PublishedCluster(id: id, mass: mass, centroid: vectors[0], minimum: vectors[1], maximum: vectors[2])
    }

    private static func readEvent(_ reader: inout JSONReader, index: Int) throws(WireError) -> ClusterEvent {
        let context = "event \(index)"
        let names: [StaticString] = ["type", "id", "from", "into"]
        var type = ""
        var id: Int64 = 0
        // "from" and "into" are an id or a list of ids depending on the type, which may come last.
        var lists: [[Int64]] = [[], []]
        var listWasArray = [false, false]
        let seen = try reader.readObject(context, fields: names) { reader, field, what throws(WireError) in
            switch field {
            case 0: type = try reader.readString(what)
            case 1: id = try reader.readClusterID(what, allowNoise: false)
            default:
                reader.skipWhitespace()
                if reader.position < reader.bytes.count, reader.bytes[reader.position] == UInt8(ascii: "[") {
                    listWasArray[field - 2] = true
                    _ = try reader.readArray(into: &lists[field - 2], limit: reader.limits.maxClusterCount, what) { reader, item throws(WireError) in
                        try reader.readClusterID("\(what)[\(item)]", allowNoise: false)
                    }
                } else {
                    lists[field - 2] = [try reader.readClusterID(what, allowNoise: false)]
                }
            }
        }
        try seen.require([0], of: names, in: context)
        // The fields each type takes, and whether "from" / "into" are lists.
        let shape: (fields: [Int], fromList: Bool, intoList: Bool)
        switch type {
        case "birth", "death": shape = ([1], false, false)
        case "merge": shape = ([2, 3], true, false)
        case "split": shape = ([2, 3], false, true)
        default: throw WireError(.unknownKind, "\(context): unknown event type \"\(type)\"")
        }
        let typed = "\(context) (\(type))"
        try seen.require(shape.fields, of: names, in: typed)
        try seen.forbid((1...3).filter { !shape.fields.contains($0) }, of: names, in: typed, owner: "this type")
        for (slot, list) in [shape.fromList, shape.intoList].enumerated() where seen.contains(slot + 2) && listWasArray[slot] != list {
            throw WireError(.typeMismatch, "\(typed): field \"\(names[slot + 2])\": expected \(list ? "an array of ids" : "one id")")
        }
        let event: ClusterEvent
        switch type {
        case "birth": event = .birth(id)
        case "death": event = .death(id)
        case "merge": event = .merge(from: lists[0], into: lists[1][0])
        default: event = .split(from: lists[0][0], into: lists[1])
        }
        try event.validate(index: index)
        return event
    }

    private static func readAssignments(_ reader: inout JSONReader) throws(WireError) -> Assignments {
        let context = "assignments"
        let names: [StaticString] = ["mode", "base_version", "ids", "clusters", "removed"]
        let limit = reader.limits.maxAssignmentCount
        var isFull = true
        var baseVersion: UInt64 = 0
        var ids: [UInt64] = []
        var clusters: [Int64] = []
        var removed: [UInt64] = []
        let seen = try reader.readObject(context, fields: names) { reader, field, what throws(WireError) in
            switch field {
            case 0:
                let mode = try reader.readStringToken(what)
                if reader.key(mode, is: "full") {
                    isFull = true
                } else if reader.key(mode, is: "diff") {
                    isFull = false
                } else {
                    throw WireError(.unknownKind, "\(what): unknown mode \"\(reader.text(mode))\" (expected \"full\" or \"diff\")")
                }
            case 1: baseVersion = try reader.readUInt64(what)
            case 2: _ = try reader.readUInt64s(into: &ids, limit: limit, what)
            case 3: _ = try reader.readClusterIDs(into: &clusters, limit: limit, what)
            default: _ = try reader.readUInt64s(into: &removed, limit: limit, what)
            }
        }
        try seen.require([0, 2, 3] + (isFull ? [] : [1]), of: names, in: context)
        if isFull {
            try seen.forbid([1, 4], of: names, in: context, owner: "mode \"full\"")
            return try Assignments(full: ids, clusters: clusters)
        }
        return try Assignments(diffFrom: baseVersion, ids: ids, clusters: clusters, removed: removed)
    }

    /// Reads the `"points"` object of provisional assignments (model version filled in later).
    private static func readProvisional(_ reader: inout JSONReader) throws(WireError) -> ProvisionalAssignments {
        let context = "points"
        let names: [StaticString] = ["ids", "clusters", "confidence"]
        let limit = reader.limits.maxAssignmentCount
        var ids: [UInt64] = []
        var clusters: [Int64] = []
        var confidence: [Double] = []
        let seen = try reader.readObject(context, fields: names) { reader, field, what throws(WireError) in
            switch field {
            case 0: _ = try reader.readUInt64s(into: &ids, limit: limit, what)
            case 1: _ = try reader.readClusterIDs(into: &clusters, limit: limit, what)
            default: _ = try reader.readDoubles(into: &confidence, limit: limit, what)
            }
        }
        try seen.require(names.indices, of: names, in: context)
        return try ProvisionalAssignments(modelVersion: 0, ids: ids, clusters: clusters, confidence: confidence)
    }
}
