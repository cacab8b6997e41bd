/// Reads what ``PayloadWriter`` wrote, checking every length against the bytes that remain.
struct PayloadReader {
    let bytes: [UInt8]
    let path: String
    var offset: Int

    mutating func scalar<Value: BitwiseCopyable>() throws(StateStoreError) -> Value {
        let size = MemoryLayout<Value>.size
        guard bytes.count - offset >= size else {
            throw StateStoreError(.malformed, path: path, "payload ends inside a field at byte \(offset)")
        }
        defer { offset += size }
        return bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: Value.self) }
    }

    mutating func int() throws(StateStoreError) -> Int {
        Int(try scalar() as Int64)
    }

    /// Reads an element count and checks that `count * elementSize` bytes remain.
    mutating func count(elementSize: Int) throws(StateStoreError) -> Int {
        let count: UInt64 = try scalar()
        let remaining = UInt64(bytes.count - offset)
        guard count <= remaining / UInt64(elementSize) else {
            throw StateStoreError(
                .malformed, path: path, "an array of \(count) elements at byte \(offset) exceeds the payload")
        }
        return Int(count)
    }

    mutating func array<Element: BitwiseCopyable>() throws(StateStoreError) -> [Element] {
        let size = MemoryLayout<Element>.stride
        let count = try count(elementSize: size)
        let start = offset
        offset += count * size
        return [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(
                    from: UnsafeRawBufferPointer(rebasing: source[start..<start + count * size]))
            }
            initialized = count
        }
    }

    mutating func string() throws(StateStoreError) -> String {
        let length = Int(try scalar() as UInt32)
        guard bytes.count - offset >= length else {
            throw StateStoreError(.malformed, path: path, "a string of \(length) bytes at byte \(offset) exceeds the payload")
        }
        defer { offset += length }
        guard let text = String(validating: bytes[offset..<offset + length], as: UTF8.self) else {
            throw StateStoreError(.malformed, path: path, "a topic at byte \(offset) is not UTF-8")
        }
        return text
    }
}
