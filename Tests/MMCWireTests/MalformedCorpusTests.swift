import MMCTestSupport
import MMCWire
import Testing

/// A malformed message, the decoder it goes to, and the error code it must produce.
struct MalformedCase: CustomTestStringConvertible, Sendable {
    enum Decoder: Sendable {
        case points(expectedDimension: Int?)
        case update, request, reply, topic, sequence
    }

    let name: String
    let payload: [UInt8]
    let decoder: Decoder
    let code: WireError.Code
    var limits = DecodingLimits.default
    /// The exact message, where the test pins it.
    var message: String?

    var testDescription: String { name }

    func decode() throws(WireError) {
        switch decoder {
        case .points(let expectedDimension): _ = try PointBatch.decode(payload, expectedDimension: expectedDimension, limits: limits)
        case .update: _ = try UpdateMessage.decode(payload, limits: limits)
        case .request: _ = try Request.decode(payload, expectedDimension: 2, limits: limits)
        case .reply: _ = try Reply.decode(payload, limits: limits)
        case .topic: _ = try Frames.decodeTopic(payload, limits: limits)
        case .sequence: _ = try Frames.decodeSequence(payload)
        }
    }
}

/// A binary header with the given fields followed by `body` bytes of zeros (valid float64 0.0).
func binaryPayload(magic: String = "MMCB", version: UInt8 = 1, kind: UInt8 = 1, flags: UInt16 = 0,
                   dimension: UInt32, count: UInt32, bodyBytes: Int? = nil) -> [UInt8] {
    var bytes = Array(magic.utf8) + [version, kind, UInt8(flags & 0xFF), UInt8(flags >> 8)]
    withUnsafeBytes(of: dimension.littleEndian) { bytes += $0 }
    withUnsafeBytes(of: count.littleEndian) { bytes += $0 }
    return bytes + [UInt8](repeating: 0, count: bodyBytes ?? Int(count) * (Int(dimension) + 2) * 8)
}

/// A valid binary batch with one value replaced.
func binaryWith(_ value: Double, atByte offset: Int) -> [UInt8] {
    var bytes = binaryPayload(dimension: 2, count: 2)
    withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.replaceSubrange(offset..<offset + 8, with: $0) }
    return bytes
}

let validUpdate = #"{"protocol":1,"kind":"clusters","model_version":5,"time":1.5,"dim":2,"window_size":3,"noise":1,"clusters":[{"id":1,"mass":2,"centroid":[0,0],"min":[-1,-1],"max":[1,1]}],"events":[],"assignments":{"mode":"full","ids":[7,8,9],"clusters":[1,1,-1]}}"#

/// The valid update with `old` replaced by `new` (which must occur).
func update(_ old: String, _ new: String) -> [UInt8] {
    precondition(validUpdate.contains(old), "\(old) is not in the valid update")
    return bytes(validUpdate.replacing(old, with: new, maxReplacements: 1))
}

let malformedCorpus: [MalformedCase] = {
    let points = MalformedCase.Decoder.points(expectedDimension: nil)
    let twoD = MalformedCase.Decoder.points(expectedDimension: 2)
    func json(_ name: String, _ text: String, _ code: WireError.Code, _ decoder: MalformedCase.Decoder = points, message: String? = nil) -> MalformedCase {
        MalformedCase(name: name, payload: bytes(text), decoder: decoder, code: code, message: message)
    }
    var cases: [MalformedCase] = [
        // Framing and format detection.
        MalformedCase(name: "empty payload", payload: [], decoder: points, code: .truncated),
        json("only whitespace", " \n\t", .truncated),
        json("JSON array at top level", "[1,2]", .badMagic),
        MalformedCase(name: "byte-order mark", payload: [0xEF, 0xBB, 0xBF] + bytes("{}"), decoder: points, code: .badMagic),
        // Binary header.
        MalformedCase(name: "binary: truncated header", payload: Array(binaryPayload(dimension: 2, count: 1).prefix(10)), decoder: points, code: .truncated),
        MalformedCase(name: "binary: wrong magic", payload: binaryPayload(magic: "MMCX", dimension: 2, count: 1), decoder: points, code: .badMagic),
        MalformedCase(name: "binary: version 2", payload: binaryPayload(version: 2, dimension: 2, count: 1), decoder: points, code: .unsupportedVersion),
        MalformedCase(name: "binary: kind 2", payload: binaryPayload(kind: 2, dimension: 2, count: 1), decoder: points, code: .unknownKind),
        MalformedCase(name: "binary: must-understand flag", payload: binaryPayload(flags: 0x0001, dimension: 2, count: 1), decoder: points, code: .unsupportedFlags),
        MalformedCase(name: "binary: dimension 0", payload: binaryPayload(dimension: 0, count: 1), decoder: points, code: .invalidDimension),
        MalformedCase(name: "binary: dimension above the limit", payload: binaryPayload(dimension: 5_000, count: 1, bodyBytes: 0), decoder: points, code: .limitExceeded),
        MalformedCase(name: "binary: dimension 3 where 2 is expected", payload: binaryPayload(dimension: 3, count: 1), decoder: twoD, code: .dimensionMismatch,
                      message: "header: dimension 3, expected 2"),
        MalformedCase(name: "binary: count 0", payload: binaryPayload(dimension: 2, count: 0), decoder: points, code: .emptyBatch),
        MalformedCase(name: "binary: count of 4 billion is refused before allocating", payload: binaryPayload(dimension: 2, count: 4_000_000_000, bodyBytes: 64),
                      decoder: points, code: .limitExceeded),
        MalformedCase(name: "binary: fewer bytes than the count needs", payload: binaryPayload(dimension: 2, count: 2, bodyBytes: 40), decoder: points, code: .countMismatch),
        MalformedCase(name: "binary: more bytes than the count needs", payload: binaryPayload(dimension: 2, count: 1, bodyBytes: 40), decoder: points, code: .countMismatch),
        MalformedCase(name: "binary: NaN value", payload: binaryWith(.nan, atByte: 16 + 8), decoder: points, code: .nonFinite,
                      message: "point 0: coordinate 1 is NaN"),
        MalformedCase(name: "binary: infinite timestamp", payload: binaryWith(-.infinity, atByte: 16 + 32 + 8), decoder: points, code: .nonFinite,
                      message: "point 1: timestamp is infinite"),
        // JSON points.
        json("one point of the wrong dimension", #"{"id":1,"t":2,"v":[1,2,3]}"#, .dimensionMismatch, twoD,
             message: #"point 0: field "v": expected 2 values, got 3"#),
        json("a row of another dimension", #"{"points":[{"id":1,"t":1,"v":[1,2]},{"id":2,"t":1,"v":[1,2]},{"id":3,"t":1,"v":[1,2]},{"id":4,"t":1,"v":[1,2,3]}]}"#,
             .dimensionMismatch, message: #"point 3: field "v": expected 2 values, got 3"#),
        json("empty vector", #"{"id":1,"t":2,"v":[]}"#, .invalidDimension),
        json("missing field", #"{"points":[{"id":1,"v":[1]}]}"#, .missingField, message: #"point 0: missing field "t""#),
        json("duplicated field", #"{"id":1,"t":2,"v":[1],"id":2}"#, .duplicateField, message: #"point 0: duplicate field "id""#),
        json("id as a string", #"{"id":"1","t":2,"v":[1]}"#, .typeMismatch, message: #"point 0: field "id": expected an integer, got a string"#),
        json("id with a fraction", #"{"id":1.5,"t":2,"v":[1]}"#, .typeMismatch),
        json("id with an exponent", #"{"id":1e3,"t":2,"v":[1]}"#, .typeMismatch),
        json("negative id", #"{"id":-1,"t":2,"v":[1]}"#, .outOfRange),
        json("id of 2^64", #"{"id":18446744073709551616,"t":2,"v":[1]}"#, .outOfRange,
             message: #"point 0: field "id": 18446744073709551616 is out of range for uint64"#),
        json("timestamp null", #"{"id":1,"t":null,"v":[1]}"#, .typeMismatch),
        json("vector as an object", #"{"id":1,"t":2,"v":{}}"#, .typeMismatch),
        json("NaN literal", #"{"id":1,"t":NaN,"v":[1]}"#, .invalidJSON),
        json("Infinity literal", #"{"id":1,"t":2,"v":[-Infinity]}"#, .invalidJSON),
        json("leading zero", #"{"id":01,"t":2,"v":[1]}"#, .invalidJSON),
        json("plus sign", #"{"id":1,"t":+2,"v":[1]}"#, .invalidJSON),
        json("bare fraction point", #"{"id":1,"t":2.,"v":[1]}"#, .invalidJSON),
        json("float64 overflow", #"{"id":1,"t":1e400,"v":[1]}"#, .outOfRange),
        json("trailing comma in an array", #"{"id":1,"t":2,"v":[1,]}"#, .invalidJSON),
        json("trailing comma in an object", #"{"id":1,"t":2,"v":[1],}"#, .invalidJSON),
        json("unquoted key", #"{id:1,"t":2,"v":[1]}"#, .invalidJSON),
        json("single quotes", #"{'id':1}"#, .invalidJSON),
        json("bad literal", #"{"id":1,"t":2,"v":[1],"x":tru}"#, .invalidJSON),
        json("trailing garbage", #"{"id":1,"t":2,"v":[1]} x"#, .trailingData),
        json("two objects", #"{"id":1,"t":2,"v":[1]}{}"#, .trailingData),
        json("unterminated object", #"{"id":1,"t":2,"v":[1]"#, .truncated),
        json("unterminated string", #"{"id":1,"t":2,"v":[1],"x":"abc"#, .truncated),
        json("truncated number", #"{"id":1,"t":2,"v":[1e"#, .truncated),
        MalformedCase(name: "invalid UTF-8 byte in a string", payload: bytes(#"{"id":1,"t":2,"v":[1],"x":""#) + [0xFF] + bytes(#""}"#), decoder: points, code: .invalidUTF8),
        MalformedCase(name: "overlong UTF-8", payload: bytes(#"{"x":""#) + [0xC0, 0xAF] + bytes(#""}"#), decoder: points, code: .invalidUTF8),
        MalformedCase(name: "UTF-8 encoded surrogate", payload: bytes(#"{"x":""#) + [0xED, 0xA0, 0x80] + bytes(#""}"#), decoder: points, code: .invalidUTF8),
        MalformedCase(name: "byte above 0x7F outside strings", payload: bytes(#"{"id":1,"t":2,"v":[1]"#) + [0xC3, 0xA9] + bytes("}"), decoder: points, code: .invalidJSON),
        json("unpaired surrogate escape", #"{"x":"\ud800","id":1,"t":2,"v":[1]}"#, .invalidJSON),
        json("invalid escape", #"{"x":"\q","id":1,"t":2,"v":[1]}"#, .invalidJSON),
        json("control character in a string", "{\"x\":\"a\u{01}b\",\"id\":1,\"t\":2,\"v\":[1]}", .invalidJSON),
        json("rows mixed with one point", #"{"points":[{"id":1,"t":2,"v":[1]}],"id":1}"#, .conflictingFields),
        json("columns mixed with rows", #"{"columns":{"dim":1,"id":[1],"t":[1],"v":[1]},"points":[]}"#, .conflictingFields),
        json("empty rows", #"{"points":[]}"#, .emptyBatch),
        json("empty columns", #"{"columns":{"dim":1,"id":[],"t":[],"v":[]}}"#, .emptyBatch),
        json("protocol 2", #"{"protocol":2,"id":1,"t":2,"v":[1]}"#, .unsupportedVersion),
        json("columns of different lengths", #"{"columns":{"dim":2,"id":[1,2],"t":[1],"v":[1,2,3,4]}}"#, .countMismatch),
        json("columns with a partial vector", #"{"columns":{"dim":2,"id":[1,2],"t":[1,2],"v":[1,2,3]}}"#, .countMismatch),
        json("columns without dim", #"{"columns":{"id":[1],"t":[1],"v":[1]}}"#, .missingField),
        json("columns with dim 0", #"{"columns":{"dim":0,"id":[1],"t":[1],"v":[1]}}"#, .invalidDimension),
        json("no points at all", #"{"extra":1}"#, .missingField),
        json("nesting deeper than the limit in an unknown field",
             "{\"x\":" + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + ",\"id\":1,\"t\":2,\"v\":[1]}", .limitExceeded),
        // Updates.
        MalformedCase(name: "update: no protocol", payload: update(#""protocol":1,"#, ""), decoder: .update, code: .missingField),
        MalformedCase(name: "update: unknown kind", payload: update(#""kind":"clusters""#, #""kind":"weather""#), decoder: .update, code: .unknownKind),
        MalformedCase(name: "update: centroid of the wrong dimension", payload: update(#""centroid":[0,0]"#, #""centroid":[0,0,0]"#), decoder: .update, code: .dimensionMismatch),
        MalformedCase(name: "update: min above max", payload: update(#""min":[-1,-1]"#, #""min":[-1,2]"#), decoder: .update, code: .invalidValue),
        MalformedCase(name: "update: duplicated cluster id",
                      payload: update(#""clusters":[{"#, #""clusters":[{"id":1,"mass":0,"centroid":[0,0],"min":[0,0],"max":[0,0]},{"#),
                      decoder: .update, code: .invalidValue),
        MalformedCase(name: "update: assignment to an unknown cluster", payload: update(#""clusters":[1,1,-1]"#, #""clusters":[1,4,-1]"#), decoder: .update, code: .invalidValue),
        MalformedCase(name: "update: cluster id -2", payload: update(#""clusters":[1,1,-1]"#, #""clusters":[1,1,-2]"#), decoder: .update, code: .outOfRange),
        MalformedCase(name: "update: full snapshot shorter than the window", payload: update(#""window_size":3"#, #""window_size":4"#), decoder: .update, code: .countMismatch),
        MalformedCase(name: "update: noise above the window", payload: update(#""noise":1"#, #""noise":9"#), decoder: .update, code: .invalidValue),
        MalformedCase(name: "update: merge of one cluster", payload: update(#""events":[]"#, #""events":[{"type":"merge","from":[1],"into":1}]"#), decoder: .update, code: .invalidValue),
        MalformedCase(name: "update: merge with one source id", payload: update(#""events":[]"#, #""events":[{"type":"merge","from":3,"into":1}]"#), decoder: .update, code: .typeMismatch),
        MalformedCase(name: "update: unknown event", payload: update(#""events":[]"#, #""events":[{"type":"explode","id":1}]"#), decoder: .update, code: .unknownKind),
        MalformedCase(name: "update: birth with from", payload: update(#""events":[]"#, #""events":[{"type":"birth","id":1,"from":2}]"#), decoder: .update, code: .conflictingFields),
        MalformedCase(name: "update: full snapshot with a base version", payload: update(#""mode":"full""#, #""mode":"full","base_version":4"#), decoder: .update, code: .conflictingFields),
        MalformedCase(name: "update: diff from a newer version", payload: update(#""mode":"full""#, #""mode":"diff","base_version":5"#), decoder: .update, code: .invalidValue),
        MalformedCase(name: "update: unknown mode", payload: update(#""mode":"full""#, #""mode":"delta""#), decoder: .update, code: .unknownKind),
        MalformedCase(name: "update: provisional field in a cluster update", payload: update(#""events":[]"#, #""events":[],"points":{"ids":[],"clusters":[],"confidence":[]}"#), decoder: .update, code: .conflictingFields),
        json("provisional: confidence above 1", #"{"protocol":1,"kind":"provisional","model_version":1,"points":{"ids":[1],"clusters":[0],"confidence":[1.5]}}"#, .outOfRange, .update),
        json("provisional: columns of different lengths", #"{"protocol":1,"kind":"provisional","model_version":1,"points":{"ids":[1,2],"clusters":[0],"confidence":[1]}}"#, .countMismatch, .update),
        // Requests.
        json("request: unknown", #"{"request":"reboot"}"#, .unknownKind, .request),
        json("request: no name", #"{"protocol":1}"#, .missingField, .request),
        json("request: classify without dim", #"{"request":"classify","v":[1,2]}"#, .missingField, .request),
        json("request: classify with a partial point", #"{"request":"classify","dim":2,"v":[1,2,3]}"#, .countMismatch, .request),
        json("request: classify of another dimension", #"{"request":"classify","dim":3,"v":[1,2,3]}"#, .dimensionMismatch, .request),
        json("request: classify without points", #"{"request":"classify","dim":2,"v":[]}"#, .emptyBatch, .request),
        json("request: snapshot with points", #"{"request":"snapshot","v":[1]}"#, .conflictingFields, .request),
        // Replies.
        json("reply: unknown status", #"{"protocol":1,"status":"maybe"}"#, .unknownKind, .reply),
        json("reply: ok without a reply name", #"{"protocol":1,"status":"ok","stats":{}}"#, .missingField, .reply),
        json("reply: error with a result", #"{"protocol":1,"status":"error","error":{"code":"x","message":""},"result":{"model_version":1,"clusters":[],"confidence":[]}}"#, .conflictingFields, .reply),
        json("reply: stats missing a counter", #"{"protocol":1,"status":"ok","reply":"stats","stats":{"model_version":1}}"#, .missingField, .reply),
        json("reply: unknown reply", #"{"protocol":1,"status":"ok","reply":"weather"}"#, .unknownKind, .reply),
        // Frames.
        MalformedCase(name: "sequence frame of 4 bytes", payload: [1, 0, 0, 0], decoder: .sequence, code: .invalidFrame),
        MalformedCase(name: "empty topic", payload: [], decoder: .topic, code: .invalidFrame),
        MalformedCase(name: "topic that is not UTF-8", payload: [0x70, 0xFF], decoder: .topic, code: .invalidUTF8),
        MalformedCase(name: "topic above the limit", payload: [UInt8](repeating: 0x61, count: 256), decoder: .topic, code: .limitExceeded),
    ]
    var small = MalformedCase(name: "more rows than the point limit", payload: bytes(#"{"points":[{"id":1,"t":2,"v":[1]},{"id":2,"t":2,"v":[1]}]}"#), decoder: points, code: .limitExceeded)
    small.limits.maxPointCount = 1
    cases.append(small)
    var tiny = MalformedCase(name: "message above the byte limit", payload: bytes(#"{"id":1,"t":2,"v":[1]}"#), decoder: points, code: .limitExceeded)
    tiny.limits.maxMessageBytes = 10
    cases.append(tiny)
    return cases
}()

@Suite("Malformed messages", .tags(.unit))
struct MalformedCorpusTests {
    @Test("each malformed message yields its error code", arguments: malformedCorpus)
    func corpus(_ testCase: MalformedCase) {
        do {
            try testCase.decode()
            Issue.record("decoded without error")
        } catch {
            #expect(error.code == testCase.code, "\(error)")
            #expect(!error.message.isEmpty)
            if let message = testCase.message { #expect(error.message == message) }
        }
    }

    @Test("a declared point count is capped at the limit, so a header cannot inflate a counter")
    func declaredCountIsCapped() {
        let header: [UInt8] = Array("MMCB".utf8) + [1, 1, 0, 0, 2, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]
        #expect(PointBatch.declaredCount(header, limits: DecodingLimits(maxPointCount: 1_000)) == 1_000)
        #expect(PointBatch.declaredCount(header) == DecodingLimits.default.maxPointCount)
    }

    @Test("the corpus covers every error code")
    func coverage() {
        let covered = Set(malformedCorpus.map(\.code))
        #expect(covered == Set(WireError.Code.allCases), "missing: \(Set(WireError.Code.allCases).subtracting(covered))")
    }

    @Test("ignorable flag bits and unknown JSON fields are accepted")
    func tolerated() throws {
        var payload = binaryPayload(flags: 0x0100, dimension: 2, count: 1)
        #expect(try PointBatch.decode(payload).count == 1)
        payload = update(#""events":[]"#, #""events":[],"future":{"a":[1,"x",null,true]}"#)
        #expect(throws: Never.self) { try UpdateMessage.decode(payload) }
        #expect(try Request.decode(bytes(#"{"request":"stats","deadline":3}"#)) == .stats)
    }

    @Test("validating initializers refuse what decoders refuse")
    func initializers() {
        #expect(errorCode { try PointBatch(dimension: 0, ids: [1], timestamps: [1], values: []) } == .invalidDimension)
        #expect(errorCode { try PointBatch(dimension: 1, ids: [], timestamps: [], values: []) } == .emptyBatch)
        #expect(errorCode { try PointBatch(dimension: 2, ids: [1], timestamps: [1], values: [1]) } == .countMismatch)
        #expect(errorCode { try PointBatch(dimension: 1, ids: [1], timestamps: [.nan], values: [1]) } == .nonFinite)
        #expect(errorCode { try PublishedCluster(id: -1, mass: 1, centroid: [0], minimum: [0], maximum: [0]) } == .outOfRange)
        #expect(errorCode { try ClassifyQuery(dimension: 2, values: [1, 2, .infinity, 0]) } == .nonFinite)
        #expect(errorCode { try Classification(modelVersion: 1, clusters: [0], confidence: [-0.5]) } == .outOfRange)
        #expect(errorCode { try DaemonStats(modelVersion: 0, dimension: 1, windowSize: 0, windowCapacity: 0, clusterCount: 0, noiseCount: 0,
                                            pointsReceived: 0, pointsRejected: 0, pointsDropped: 0, reclusterCount: 0,
                                            lastReclusterSeconds: .nan, uptimeSeconds: 0) } == .nonFinite)
    }
}
