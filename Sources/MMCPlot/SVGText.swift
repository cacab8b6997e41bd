/// Text that goes into an SVG document: escaped strings and compact numbers, appended to one
/// growing string so that writing a point allocates nothing.
struct SVGText {
    private(set) var text = ""

    init(capacity: Int) {
        text.reserveCapacity(capacity)
    }

    /// Appends markup as it is (element names, attribute names, constants).
    mutating func raw(_ markup: String) {
        text += markup
    }

    /// Appends `string` with the five XML special characters as entities; control characters
    /// that XML 1.0 forbids (everything below U+0020 except tab, newline and carriage return)
    /// become U+FFFD, so a feature name from any file cannot break the document.
    mutating func escaped(_ string: String) {
        for scalar in string.unicodeScalars {
            switch scalar {
            case "&": text += "&amp;"
            case "<": text += "&lt;"
            case ">": text += "&gt;"
            case "\"": text += "&quot;"
            case "'": text += "&apos;"
            case "\t", "\n", "\r": text.unicodeScalars.append(scalar)
            case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF:
                text += "\u{FFFD}"
            default: text.unicodeScalars.append(scalar)
            }
        }
    }

    /// Appends `value` with at most `decimals` decimals, trailing zeros dropped (`12`, `3.5`,
    /// `-0.25`).
    mutating func number(_ value: Double, decimals: Int = 1) {
        text += Self.format(value, decimals: decimals)
    }

    /// `value` with at most `decimals` decimals (0...9), trailing zeros dropped; values too large
    /// for fixed notation use the standard library's shortest form.
    static func format(_ value: Double, decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (value * scale).rounded()
        guard scaled.isFinite, abs(scaled) < 1e15 else { return "\(value)" }
        var units = Int64(scaled)
        var decimals = decimals
        while decimals > 0 && units % 10 == 0 {
            units /= 10
            decimals -= 1
        }
        let digits = String(units.magnitude)
        let sign = units < 0 ? "-" : ""
        guard decimals > 0 else { return sign + digits }
        let padded = String(repeating: "0", count: max(0, decimals + 1 - digits.count)) + digits
        let point = padded.index(padded.endIndex, offsetBy: -decimals)
        return sign + padded[..<point] + "." + padded[point...]
    }
}
