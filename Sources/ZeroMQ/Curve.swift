import CZeroMQ

/// Z85, ZeroMQ's printable encoding of binary data (RFC 32): 4 bytes become 5 characters.
///
/// CURVE keys are usually written as 40-character Z85 strings in configuration files.
///
/// ```swift
/// let text = try Z85.encode([0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B])  // "HelloWorld"
/// ```
public enum Z85 {
    /// Encodes `bytes` (`zmq_z85_encode`).
    ///
    /// - Throws: ``ZMQError`` with `EINVAL` when the length is not a multiple of 4.
    public static func encode(_ bytes: [UInt8]) throws(ZMQError) -> String {
        guard bytes.count % 4 == 0 else {
            throw ZMQError(code: EINVAL, operation: "z85 encode \(bytes.count) bytes")
        }
        var text = [CChar](repeating: 0, count: bytes.count / 4 * 5 + 1)
        let encoded = bytes.withUnsafeBufferPointer { zmq_z85_encode(&text, $0.baseAddress, $0.count) }
        guard encoded != nil else {
            throw ZMQError(code: EINVAL, operation: "z85 encode \(bytes.count) bytes")
        }
        return cString(text)
    }

    /// Decodes a Z85 string (`zmq_z85_decode`).
    ///
    /// - Throws: ``ZMQError`` with `EINVAL` when the length is not a multiple of 5 or a
    ///   character is outside the Z85 alphabet.
    public static func decode(_ text: String) throws(ZMQError) -> [UInt8] {
        let length = text.utf8.count
        guard length % 5 == 0 else {
            throw ZMQError(code: EINVAL, operation: "z85 decode \(length) characters")
        }
        var bytes = [UInt8](repeating: 0, count: length / 5 * 4)
        let decoded = text.withCString { zmq_z85_decode(&bytes, $0) }
        guard decoded != nil else {
            throw ZMQError(code: EINVAL, operation: "z85 decode \(length) characters")
        }
        return bytes
    }

    /// The text before the first NUL of a C string buffer.
    static func cString(_ buffer: [CChar]) -> String {
        let end = buffer.firstIndex(of: 0) ?? buffer.endIndex
        return String(decoding: buffer[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A CURVE key (public or secret): 32 bytes, readable as 40 characters of Z85.
///
/// Hashable so an allow-list of client public keys can be a `Set` (see
/// ``ZAPAuthenticator``). It is deliberately not `CustomStringConvertible`: log ``z85`` of
/// public keys only, never a secret one.
public struct CurveKey: Sendable, Hashable {
    /// The 32 raw key bytes.
    public let bytes: [UInt8]

    /// Wraps 32 raw key bytes.
    ///
    /// - Throws: ``ZMQError`` with `EINVAL` for any other length.
    public init(bytes: [UInt8]) throws(ZMQError) {
        guard bytes.count == 32 else {
            throw ZMQError(code: EINVAL, operation: "curve key of \(bytes.count) bytes")
        }
        self.bytes = bytes
    }

    /// Reads a key written as 40 characters of Z85.
    ///
    /// - Throws: ``ZMQError`` with `EINVAL` for another length or a character outside Z85.
    public init(z85: String) throws(ZMQError) {
        guard z85.utf8.count == 40 else {
            throw ZMQError(code: EINVAL, operation: "curve key of \(z85.utf8.count) Z85 characters")
        }
        self.bytes = try Z85.decode(z85)
    }

    /// The key as 40 characters of Z85.
    public var z85: String {
        // 32 bytes are a multiple of 4, so encoding cannot fail.
        guard let text = try? Z85.encode(bytes) else {
            preconditionFailure("Z85 encoding of a 32-byte key failed")
        }
        return text
    }
}

/// A CURVE key pair: the public key to give to peers and the secret key to keep.
public struct CurveKeyPair: Sendable, Hashable {
    /// The key peers use to reach or recognise this side.
    public let publicKey: CurveKey
    /// The key that proves this side's identity; keep it out of logs.
    public let secretKey: CurveKey

    /// Generates a fresh key pair with libsodium (`zmq_curve_keypair`).
    ///
    /// - Throws: ``ZMQError`` with `ENOTSUP` when libzmq was built without CURVE.
    public static func generate() throws(ZMQError) -> CurveKeyPair {
        var publicText = [CChar](repeating: 0, count: 41)
        var secretText = [CChar](repeating: 0, count: 41)
        _ = try zmqCall("zmq_curve_keypair") { zmq_curve_keypair(&publicText, &secretText) }
        return CurveKeyPair(
            publicKey: try CurveKey(z85: Z85.cString(publicText)),
            secretKey: try CurveKey(z85: Z85.cString(secretText))
        )
    }

    /// Rebuilds the pair from its secret key, deriving the public key (`zmq_curve_public`).
    ///
    /// Configuration then only needs the secret key file.
    ///
    /// - Throws: ``ZMQError`` with `ENOTSUP` when libzmq was built without CURVE.
    public init(secretKey: CurveKey) throws(ZMQError) {
        var publicText = [CChar](repeating: 0, count: 41)
        let secretText = secretKey.z85
        _ = try zmqCall("zmq_curve_public") { zmq_curve_public(&publicText, secretText) }
        self.init(publicKey: try CurveKey(z85: Z85.cString(publicText)), secretKey: secretKey)
    }

    /// Pairs two keys that belong together.
    private init(publicKey: CurveKey, secretKey: CurveKey) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }
}
