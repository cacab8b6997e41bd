/// Appends compact JSON to a byte array: no whitespace, integers formatted by hand, float64
/// values in the standard library's shortest round-trip form (`0.1`, `1e-05`, `1732600000.25`).
struct JSONWriter: TextOutputStream {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    mutating func raw(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// `TextOutputStream` conformance, used by `Double.write(to:)`; short texts are small strings.
    mutating func write(_ string: String) {
        var string = string
        string.withUTF8 { bytes.append(contentsOf: $0) }
    }

    mutating func uint(_ value: UInt64) {
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        let end = bytes.count + digits
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: digits))
        var remaining = value
        var index = end - 1
        while remaining > 0 {
            bytes[index] = UInt8(ascii: "0") + UInt8(remaining % 10)
            remaining /= 10
            index -= 1
        }
    }

    mutating func int(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        uint(value.magnitude)
    }

    /// A finite float64 (callers only hold validated values).
    mutating func double(_ value: Double) {
        value.write(to: &self)
    }

    /// A string with the escapes JSON requires.
    mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case UInt8(ascii: "\n"): raw("\\n")
            case UInt8(ascii: "\r"): raw("\\r")
            case UInt8(ascii: "\t"): raw("\\t")
            case 0..<0x20:
                raw("\\u00")
                bytes.append(Self.hexDigit(byte >> 4))
                bytes.append(Self.hexDigit(byte & 0xF))
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }

    /// `"name":` (names are plain ASCII identifiers).
    mutating func key(_ name: StaticString) {
        bytes.append(UInt8(ascii: "\""))
        raw(name)
        raw("\":")
    }

    /// `,"name":`
    mutating func nextKey(_ name: StaticString) {
        bytes.append(UInt8(ascii: ","))
        key(name)
    }

    /// A JSON array of the elements, each written by `element`.
    mutating func array<Elements: Collection>(_ elements: Elements, _ element: (inout JSONWriter, Elements.Element) -> Void) {
        bytes.append(UInt8(ascii: "["))
        var first = true
        for value in elements {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            element(&self, value)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    mutating func doubles(_ values: some Collection<Double>) { array(values) { $0.double($1) } }
    mutating func uints(_ values: some Collection<UInt64>) { array(values) { $0.uint($1) } }
    mutating func ints(_ values: some Collection<Int64>) { array(values) { $0.int($1) } }

    /// `,"clusters":[…],"confidence":[…]` of provisional assignments and classifications.
    mutating func clustersAndConfidence(_ clusters: [Int64], _ confidence: [Double]) {
        nextKey("clusters")
        ints(clusters)
        nextKey("confidence")
        doubles(confidence)
    }
}
