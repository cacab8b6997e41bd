/// Helpers shared by the schema decoders: duplicate detection, the protocol version field and
/// arrays of numbers with limits.

/// The known fields already seen in one JSON object, to refuse duplicates.
struct SeenFields {
    private var bits: UInt64 = 0

    /// Records field number `bit` (0 to 63); throws `duplicateField` if it was seen before.
    mutating func mark(_ bit: Int, _ name: StaticString, in context: @autoclosure () -> String) throws(WireError) {
        let mask: UInt64 = 1 << UInt64(bit)
        if bits & mask != 0 { throw WireError(.duplicateField, "\(context()): duplicate field \"\(name)\"") }
        bits |= mask
    }

    func contains(_ bit: Int) -> Bool { bits & (1 << UInt64(bit)) != 0 }
}

/// The protocol version this codec reads and writes in JSON (`"protocol"`) and binary headers.
public let wireProtocolVersion = 1

extension JSONReader {
    /// Reads the `"protocol"` field: an integer that must equal ``wireProtocolVersion``.
    mutating func readProtocolVersion(_ context: @autoclosure () -> String) throws(WireError) {
        let version = try readUInt64("\(context()): field \"protocol\"")
        guard version == UInt64(wireProtocolVersion) else {
            throw WireError(.unsupportedVersion, "\(context()): protocol \(version) is not supported (this decoder speaks \(wireProtocolVersion))")
        }
    }

    /// Reads a JSON array, appending each element read by `element` to `array`.
    ///
    /// - Parameters:
    ///   - limit: the most elements accepted; one more throws `limitExceeded` before it is read.
    ///   - element: reads element number `index` (counted from 0 within this array).
    /// - Returns: the number of elements read.
    mutating func readArray<Element>(
        into array: inout [Element],
        limit: Int,
        _ what: @autoclosure () -> String,
        element: (inout JSONReader, Int) throws(WireError) -> Element
    ) throws(WireError) -> Int {
        var cursor = try beginArray(what())
        var count = 0
        while try nextElement(&cursor) {
            if count == limit { throw WireError(.limitExceeded, "\(what()): more than \(limit) elements") }
            array.append(try element(&self, count))
            count += 1
        }
        return count
    }

    /// Reads an array of float64 values.
    mutating func readDoubles(into array: inout [Double], limit: Int, _ what: @autoclosure () -> String) throws(WireError) -> Int {
        try readArray(into: &array, limit: limit, what()) { reader, index throws(WireError) in
            try reader.readDouble("\(what())[\(index)]")
        }
    }

    /// Reads an array of uint64 values.
    mutating func readUInt64s(into array: inout [UInt64], limit: Int, _ what: @autoclosure () -> String) throws(WireError) -> Int {
        try readArray(into: &array, limit: limit, what()) { reader, index throws(WireError) in
            try reader.readUInt64("\(what())[\(index)]")
        }
    }

    /// Reads an array of cluster ids: integers of at least -1 (-1 is noise).
    mutating func readClusterIDs(into array: inout [Int64], limit: Int, _ what: @autoclosure () -> String) throws(WireError) -> Int {
        try readArray(into: &array, limit: limit, what()) { reader, index throws(WireError) in
            try reader.readClusterID("\(what())[\(index)]", allowNoise: true)
        }
    }

    /// Reads one cluster id: an integer >= 0, or -1 (noise) when `allowNoise`.
    @inline(__always)
    mutating func readClusterID(_ what: @autoclosure () -> String, allowNoise: Bool) throws(WireError) -> Int64 {
        let value = try readInt64(what())
        let lowest: Int64 = allowNoise ? -1 : 0
        guard value >= lowest else {
            throw WireError(.outOfRange, "\(what()): cluster id \(value) is below \(lowest)")
        }
        return value
    }
}

/// `a * b`, or `Int.max` when the product overflows (for limits derived from other limits).
func saturatingProduct(_ a: Int, _ b: Int) -> Int {
    let (product, overflow) = a.multipliedReportingOverflow(by: b)
    return overflow ? Int.max : product
}

extension JSONReader {
    /// Reads an object whose known fields are `names`, skipping unknown ones and refusing
    /// duplicates; `field` reads the value of known field number `index`, named `what` in errors.
    ///
    /// - Returns: which known fields were present.
    mutating func readObject(
        _ context: String,
        fields names: [StaticString],
        _ field: (inout JSONReader, _ index: Int, _ what: String) throws(WireError) -> Void
    ) throws(WireError) -> SeenFields {
        var seen = SeenFields()
        var cursor = try beginObject(context)
        while let key = try nextKey(&cursor) {
            guard let index = names.firstIndex(where: { self.key(key, is: $0) }) else {
                try skipValue()
                continue
            }
            try seen.mark(index, names[index], in: context)
            try field(&self, index, "\(context): field \"\(names[index])\"")
        }
        return seen
    }
}

extension SeenFields {
    /// Throws `missingField` for the first of `required` that was not seen.
    func require(_ required: some Sequence<Int>, of names: [StaticString], in context: String) throws(WireError) {
        for index in required where !contains(index) {
            throw WireError(.missingField, "\(context): missing field \"\(names[index])\"")
        }
    }

    /// Throws `conflictingFields` for the first of `forbidden` that was seen.
    func forbid(_ forbidden: some Sequence<Int>, of names: [StaticString], in context: String, owner: String) throws(WireError) {
        for index in forbidden where contains(index) {
            throw WireError(.conflictingFields, "\(context): field \"\(names[index])\" does not belong to \(owner)")
        }
    }
}
