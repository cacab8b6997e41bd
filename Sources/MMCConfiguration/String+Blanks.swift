extension StringProtocol {
    /// The text without leading and trailing blanks: tabs, spaces and the other Unicode spaces,
    /// the characters Foundation's `trimmingCharacters(in: .whitespaces)` removes.
    ///
    /// ```swift
    /// " window.size = 5000\t".trimmingBlanks()  // "window.size = 5000"
    /// ```
    package func trimmingBlanks() -> String {
        guard let first = unicodeScalars.firstIndex(where: { !$0.isBlank }),
            let last = unicodeScalars.lastIndex(where: { !$0.isBlank })
        else { return "" }
        return String(String.UnicodeScalarView(unicodeScalars[first...last]))
    }
}

extension Unicode.Scalar {
    /// Whether Foundation counts the scalar as whitespace (`CharacterSet.whitespaces`): a tab,
    /// a space separator of Unicode (general category Zs), or the zero width space U+200B.
    fileprivate var isBlank: Bool {
        switch value {
        case 0x09, 0x20, 0xA0, 0x1680, 0x2000...0x200B, 0x202F, 0x205F, 0x3000: true
        default: false
        }
    }
}
