/// Runs `body` over the bytes of `bytes` as one contiguous buffer, copying only when the
/// collection has no contiguous storage of its own (arrays, slices, `UnsafeRawBufferPointer` and
/// Foundation's `Data` all have it).
func withContiguousBytes<Bytes: Collection<UInt8>, Result>(
    _ bytes: Bytes,
    _ body: (UnsafeBufferPointer<UInt8>) throws(WireError) -> Result
) throws(WireError) -> Result {
    let outcome = bytes.withContiguousStorageIfAvailable { buffer in
        Swift.Result { () throws(WireError) -> Result in try body(buffer) }
    }
    if let outcome { return try outcome.get() }
    return try Array(bytes).withUnsafeBufferPointer { buffer throws(WireError) -> Result in try body(buffer) }
}

extension UnsafeBufferPointer<UInt8> {
    /// The little-endian unsigned integer of type `T` that starts at `offset` (unaligned).
    func littleEndian<T: FixedWidthInteger>(at offset: Int, as type: T.Type) -> T {
        T(littleEndian: UnsafeRawBufferPointer(self).loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}

/// A short printable rendering of a byte for error messages: `'{'` or `0x8F`.
func describeByte(_ byte: UInt8) -> String {
    if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
    let hex = String(byte, radix: 16, uppercase: true)
    return byte < 0x10 ? "0x0\(hex)" : "0x\(hex)"
}
