/// The ZeroMQ framing around payloads: topic frames and sequence frames.
///
/// Points travel as two frames, `[topic][payload]`; updates as three,
/// `[topic][body][sequence]`, where the sequence frame is the topic's message counter as a
/// uint64 little-endian (8 bytes). These helpers check the frames; the sockets live elsewhere.
public enum Frames {
    /// The 8-byte little-endian sequence frame.
    public static func sequenceFrame(_ sequence: UInt64) -> [UInt8] {
        withUnsafeBytes(of: sequence.littleEndian) { Array($0) }
    }

    /// Decodes a sequence frame.
    ///
    /// - Throws: `WireError` with code `invalidFrame` unless the frame is exactly 8 bytes.
    public static func decodeSequence(_ frame: some Collection<UInt8>) throws(WireError) -> UInt64 {
        guard frame.count == 8 else {
            throw WireError(.invalidFrame, "sequence frame must be 8 bytes, got \(frame.count)")
        }
        return frame.reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Decodes a topic frame: non-empty UTF-8 of at most `limits.maxTopicBytes` bytes.
    ///
    /// - Throws: `WireError` with code `invalidFrame` (empty), `limitExceeded` or `invalidUTF8`.
    public static func decodeTopic(_ frame: some Collection<UInt8>, limits: DecodingLimits = .default) throws(WireError) -> String {
        guard !frame.isEmpty else { throw WireError(.invalidFrame, "topic frame is empty") }
        guard frame.count <= limits.maxTopicBytes else {
            throw WireError(.limitExceeded, "topic of \(frame.count) bytes exceeds the limit of \(limits.maxTopicBytes) bytes")
        }
        guard let topic = String(validating: frame, as: UTF8.self) else {
            throw WireError(.invalidUTF8, "topic frame is not valid UTF-8")
        }
        return topic
    }

    /// Checks the number of frames of a multipart message.
    ///
    /// - Throws: `WireError` with code `invalidFrame` naming both counts.
    public static func checkCount(_ count: Int, expected: Int, what: String) throws(WireError) {
        guard count == expected else {
            throw WireError(.invalidFrame, "\(what) message needs \(expected) frames, got \(count)")
        }
    }
}
