/// Decimal to binary conversion of a number whose digits a parser has already collected:
/// `mantissa × 10^exponent` as the nearest `Double`, without allocation, for the common
/// shapes of numbers. Both the delimited-text parser and the JSON reader scan their own grammar
/// and share this conversion.
///
/// With a mantissa of at most 53 bits and an exponent within ±22, both operands are exact
/// `Double`s and one multiplication or division rounds correctly (Clinger, "How to read
/// floating point numbers accurately", PLDI 1990). With any 64-bit mantissa and an exponent
/// within ±19, exact 128-bit integer arithmetic leaves a single rounding. Anything else is left
/// to the standard library's correctly rounded `Double(String)`.
///
/// ```swift
/// ExactDecimal.double(mantissa: 45, exponent: -1) // 4.5
/// ExactDecimal.double(mantissa: 1, exponent: 300) // nil: parse the text instead
/// ```
package enum ExactDecimal {
    /// `mantissa × 10^exponent` correctly rounded, or `nil` when neither fast path applies.
    ///
    /// - Parameters:
    ///   - mantissa: the significant digits, exactly (at most 19 of them fit).
    ///   - exponent: the decimal exponent the digits are scaled by.
    /// - Complexity: O(1).
    @inlinable @inline(__always)
    package static func double(mantissa: UInt64, exponent: Int) -> Double? {
        if mantissa == 0 { return 0 }
        if mantissa <= 1 << 53, exponent >= -22, exponent <= 22 {
            // Clinger: both operands are exact, so one rounding gives the correct result.
            let value = Double(mantissa)
            return exponent < 0 ? value / powersOfTen[-exponent] : value * powersOfTen[exponent]
        }
        if exponent >= -19, exponent <= 19 {
            return exactDecimal(mantissa, exponent: exponent)
        }
        return nil
    }

    /// `mantissa × 10^exponent` correctly rounded, for -19 ≤ exponent ≤ 19, computed with exact
    /// 128-bit integer arithmetic: a product, or a quotient scaled to at least 64 significant bits
    /// whose remainder becomes a sticky bit, so that the single conversion to float64 rounds right.
    @usableFromInline
    static func exactDecimal(_ mantissa: UInt64, exponent: Int) -> Double {
        let power = integerPowersOfTen[abs(exponent)]
        if exponent >= 0 {
            return roundedDouble(UInt128(mantissa) * UInt128(power), sticky: false, binaryExponent: 0)
        }
        let shift = mantissa.leadingZeroBitCount + 64
        let numerator = UInt128(mantissa) << shift
        let (quotient, remainder) = numerator.quotientAndRemainder(dividingBy: UInt128(power))
        return roundedDouble(quotient, sticky: remainder != 0, binaryExponent: -shift)
    }

    /// `value × 2^binaryExponent` rounded to nearest-even, where `sticky` says that the true
    /// value is slightly above `value` (`value` must have more than 54 significant bits then).
    private static func roundedDouble(_ value: UInt128, sticky: Bool, binaryExponent: Int) -> Double {
        let excess = max(0, 64 - value.leadingZeroBitCount)
        var top = UInt64(truncatingIfNeeded: value >> excess)
        if sticky || (excess > 0 && value & ((1 << excess) - 1) != 0) { top |= 1 }
        return Double(sign: .plus, exponent: excess + binaryExponent, significand: Double(top))
    }

    /// 10^0 through 10^22, every one exactly representable as a `Double`.
    @usableFromInline
    static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// 10^0 ... 10^19, the powers of ten that fit in 64 bits.
    private static let integerPowersOfTen: [UInt64] = (0...19).map { power in
        (0..<power).reduce(UInt64(1)) { value, _ in value * 10 }
    }
}
