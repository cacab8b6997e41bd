/// Appends little-endian scalars and length-prefixed arrays.
struct PayloadWriter {
    var bytes: [UInt8] = []

    mutating func append<Value: BitwiseCopyable>(_ value: Value) {
        withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) }
    }

    mutating func append<Element: BitwiseCopyable>(array: [Element]) {
        append(UInt64(array.count))
        array.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }
}
