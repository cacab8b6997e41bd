/// The three JSON forms of an inbound points payload.
///
/// - one point: `{"id":17,"t":1732600000.25,"v":[0.1,2.5]}`
/// - rows: `{"points":[{"id":17,"t":1732600000.25,"v":[0.1,2.5]},…]}`
/// - columns: `{"columns":{"dim":2,"id":[17,…],"t":[1732600000.25,…],"v":[0.1,2.5,…]}}`
///
/// The top-level keys select the form; keys of two forms in one object are refused. Unknown
/// keys are skipped. All forms decode straight into the flat arrays of ``PointBatch``.
enum JSONPointCodec {
    private enum Form: String {
        case single = "one point"
        case rows = "\"points\""
        case columns = "\"columns\""
    }

    /// - Complexity: O(payload bytes); one append per number, no per-point allocation.
    static func decode(
        _ bytes: UnsafeBufferPointer<UInt8>, expectedDimension: Int?, limits: DecodingLimits
    ) throws(WireError) -> PointBatch {
        var reader = JSONReader(bytes, limits: limits)
        var builder = PointBuilder(expectedDimension: expectedDimension, limits: limits)
        var form: Form?
        var seen = SeenFields()
        func select(_ next: Form) throws(WireError) {
            if let form, form != next {
                throw WireError(.conflictingFields, "payload mixes the \(form.rawValue) form with the \(next.rawValue) form")
            }
            form = next
        }
        var cursor = try reader.beginObject("payload")
        while let key = try reader.nextKey(&cursor) {
            if reader.key(key, is: "protocol") {
                try seen.mark(0, "protocol", in: "payload")
                try reader.readProtocolVersion("payload")
            } else if reader.key(key, is: "points") {
                try select(.rows)
                try seen.mark(1, "points", in: "payload")
                try builder.readRows(&reader, payloadBytes: bytes.count)
            } else if reader.key(key, is: "columns") {
                try select(.columns)
                try seen.mark(2, "columns", in: "payload")
                try builder.readColumns(&reader)
            } else if let field = PointBuilder.Field(reader, key) {
                if form == nil { builder.beginPoint() }
                try select(.single)
                try builder.read(field, &reader, point: 0)
            } else {
                try reader.skipValue()
            }
        }
        try reader.finish()
        switch form {
        case nil:
            throw WireError(.missingField, "payload has none of \"points\", \"columns\" or the fields \"id\", \"t\", \"v\" of one point")
        case .single:
            try builder.endPoint(0)
        case .rows, .columns:
            break
        }
        return try builder.batch()
    }

    /// The number of points the payload holds by its structure: the elements of `points` or
    /// of `columns.id`, or 1 for the one-point form. Values are skipped, not converted.
    /// - Throws: `WireError` when the structure is malformed before the count is known.
    static func declaredCount(_ bytes: UnsafeBufferPointer<UInt8>, limits: DecodingLimits) throws(WireError) -> Int {
        var reader = JSONReader(bytes, limits: limits)
        var cursor = try reader.beginObject("payload")
        var single = false
        while let key = try reader.nextKey(&cursor) {
            if reader.key(key, is: "points") {
                return try reader.countElements("\"points\"")
            } else if reader.key(key, is: "columns") {
                var columns = try reader.beginObject("\"columns\"")
                while let column = try reader.nextKey(&columns) {
                    if reader.key(column, is: "id") { return try reader.countElements("\"columns.id\"") }
                    try reader.skipValue()
                }
            } else {
                single = single || PointBuilder.Field(reader, key) != nil
                try reader.skipValue()
            }
        }
        guard single else { throw WireError(.missingField, "payload holds no points") }
        return 1
    }

    static func encode(_ batch: PointBatch, layout: PointBatch.JSONLayout) -> [UInt8] {
        var writer = JSONWriter(capacity: 32 + batch.values.count * 20 + batch.count * 40)
        switch layout {
        case .rows:
            writer.raw("{\"points\":[")
            for index in 0..<batch.count {
                if index > 0 { writer.raw(",") }
                writer.raw("{\"id\":")
                writer.uint(batch.ids[index])
                writer.nextKey("t")
                writer.double(batch.timestamps[index])
                writer.nextKey("v")
                writer.doubles(batch.vector(at: index))
                writer.raw("}")
            }
            writer.raw("]}")
        case .columns:
            writer.raw("{\"columns\":{\"dim\":")
            writer.uint(UInt64(batch.dimension))
            writer.nextKey("id")
            writer.uints(batch.ids)
            writer.nextKey("t")
            writer.doubles(batch.timestamps)
            writer.nextKey("v")
            writer.doubles(batch.values)
            writer.raw("}}")
        }
        return writer.bytes
    }
}

/// Accumulates points into flat arrays while the JSON is read.
private struct PointBuilder {
    enum Field: Int {
        case id, t, v

        init?(_ reader: JSONReader, _ key: JSONReader.StringToken) {
            if reader.key(key, is: "id") {
                self = .id
            } else if reader.key(key, is: "t") {
                self = .t
            } else if reader.key(key, is: "v") {
                self = .v
            } else {
                return nil
            }
        }

        var name: StaticString {
            switch self {
            case .id: "id"
            case .t: "t"
            case .v: "v"
            }
        }
    }

    let limits: DecodingLimits
    var dimension: Int?
    var ids: [UInt64] = []
    var timestamps: [Double] = []
    var values: [Double] = []
    /// State of the point being read.
    private var seen = SeenFields()
    private var id: UInt64 = 0
    private var timestamp: Double = 0

    init(expectedDimension: Int?, limits: DecodingLimits) {
        self.dimension = expectedDimension
        self.limits = limits
    }

    mutating func beginPoint() {
        seen = SeenFields()
    }

    mutating func read(_ field: Field, _ reader: inout JSONReader, point: Int) throws(WireError) {
        try seen.mark(field.rawValue, field.name, in: "point \(point)")
        switch field {
        case .id:
            id = try reader.readUInt64("point \(point): field \"id\"")
        case .t:
            timestamp = try reader.readDouble("point \(point): field \"t\"")
        case .v:
            let count = try reader.readDoubles(into: &values, limit: limits.maxDimension, "point \(point): field \"v\"")
            guard count > 0 else { throw WireError(.invalidDimension, "point \(point): field \"v\" is empty") }
            if let dimension {
                guard count == dimension else {
                    throw WireError(.dimensionMismatch, "point \(point): field \"v\": expected \(dimension) values, got \(count)")
                }
            } else {
                dimension = count
            }
        }
    }

    mutating func endPoint(_ point: Int) throws(WireError) {
        for field in [Field.id, .t, .v] where !seen.contains(field.rawValue) {
            throw WireError(.missingField, "point \(point): missing field \"\(field.name)\"")
        }
        ids.append(id)
        timestamps.append(timestamp)
    }

    /// Reads the array of point objects of the rows form.
    mutating func readRows(_ reader: inout JSONReader, payloadBytes: Int) throws(WireError) {
        var cursor = try reader.beginArray("field \"points\"")
        var point = 0
        while try reader.nextElement(&cursor) {
            guard point < limits.maxPointCount else {
                throw WireError(.limitExceeded, "field \"points\": more than \(limits.maxPointCount) points")
            }
            let start = reader.position
            beginPoint()
            var object = try reader.beginObject("point \(point)")
            while let key = try reader.nextKey(&object) {
                if let field = Field(reader, key) { try read(field, &reader, point: point) } else { try reader.skipValue() }
            }
            try endPoint(point)
            if point == 0 { reserve(bytesPerPoint: reader.position - start, payloadBytes: payloadBytes) }
            point += 1
        }
    }

    /// Reserves room for the points a payload of this size probably holds, judged by its first.
    private mutating func reserve(bytesPerPoint: Int, payloadBytes: Int) {
        let estimate = min(limits.maxPointCount, payloadBytes / max(bytesPerPoint, 1) + 1)
        ids.reserveCapacity(estimate)
        timestamps.reserveCapacity(estimate)
        values.reserveCapacity(estimate * (dimension ?? 1))
    }

    /// Reads the object of the columns form.
    mutating func readColumns(_ reader: inout JSONReader) throws(WireError) {
        var seenColumns = SeenFields()
        var declaredDimension: Int?
        var object = try reader.beginObject("field \"columns\"")
        while let key = try reader.nextKey(&object) {
            if reader.key(key, is: "dim") {
                try seenColumns.mark(3, "dim", in: "columns")
                let value = try reader.readCount("columns: field \"dim\"", maximum: limits.maxDimension)
                guard value > 0 else { throw WireError(.invalidDimension, "columns: field \"dim\" is 0") }
                if let dimension, dimension != value {
                    throw WireError(.dimensionMismatch, "columns: field \"dim\": expected \(dimension), got \(value)")
                }
                declaredDimension = value
            } else if let field = Field(reader, key) {
                try seenColumns.mark(field.rawValue, field.name, in: "columns")
                switch field {
                case .id: _ = try reader.readUInt64s(into: &ids, limit: limits.maxPointCount, "columns: field \"id\"")
                case .t: _ = try reader.readDoubles(into: &timestamps, limit: limits.maxPointCount, "columns: field \"t\"")
                case .v:
                    let limit = saturatingProduct(limits.maxPointCount, limits.maxDimension)
                    _ = try reader.readDoubles(into: &values, limit: limit, "columns: field \"v\"")
                }
            } else {
                try reader.skipValue()
            }
        }
        for (bit, name) in [(3, "dim"), (0, "id"), (1, "t"), (2, "v")] where !seenColumns.contains(bit) {
            throw WireError(.missingField, "columns: missing field \"\(name)\"")
        }
        dimension = declaredDimension
        guard timestamps.count == ids.count else {
            throw WireError(.countMismatch, "columns: \"t\" has \(timestamps.count) values, \"id\" has \(ids.count)")
        }
        let dimension = declaredDimension ?? 1
        guard values.count == saturatingProduct(ids.count, dimension) else {
            throw WireError(.countMismatch, "columns: \"v\" has \(values.count) values, expected \(ids.count * dimension) (\(ids.count) points × dimension \(dimension))")
        }
    }

    /// The finished batch.
    func batch() throws(WireError) -> PointBatch {
        guard let dimension, !ids.isEmpty else { throw WireError(.emptyBatch, "payload holds no points") }
        return try PointBatch(dimension: dimension, ids: ids, timestamps: timestamps, values: values)
    }
}
