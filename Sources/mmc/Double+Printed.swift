#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Double {
    /// The value with `decimals` digits after the point, as C's `printf("%.*f")` prints it:
    /// `2.5.printed(decimals: 3)` is `2.500`.
    func printed(decimals: Int) -> String {
        printed("%.*f", precision: decimals)
    }

    /// The value with `significantDigits` significant digits, as C's `printf("%.*g")` prints
    /// it: `0.000123456.printed(significantDigits: 3)` is `0.000123`.
    func printed(significantDigits: Int) -> String {
        printed("%.*g", precision: significantDigits)
    }

    /// The value as `vsnprintf` formats it with `format`, a conversion taking a precision.
    private func printed(_ format: String, precision: Int) -> String {
        let arguments: [any CVarArg] = [Int32(precision), self]
        let length = Int(withVaList(arguments) { vsnprintf(nil, 0, format, $0) })
        // One byte more for the terminating NUL vsnprintf writes.
        return String(unsafeUninitializedCapacity: length + 1) { buffer in
            buffer.withMemoryRebound(to: CChar.self) { characters in
                _ = withVaList(arguments) { vsnprintf(characters.baseAddress, characters.count, format, $0) }
            }
            return length
        }
    }
}
