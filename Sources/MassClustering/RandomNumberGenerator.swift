/// A seeded, reproducible pseudo-random number generator: xoshiro256** (Blackman and Vigna,
/// "Scrambled linear pseudorandom number generators", ACM TOMS 2021) with its state filled from
/// the seed by SplitMix64.
///
/// Every random choice in the core (subsamples, split dimensions, split values) is drawn from
/// one of these, so a model is a pure function of its seed and its input. `nextInt(below:)` and
/// `nextDouble()` are defined here rather than taken from the standard library's
/// `random(in:using:)` so that the sequence of draws cannot change with the toolchain.
///
/// ```swift
/// var generator = SeededGenerator(seed: 42)
/// let dimension = generator.nextInt(below: 3)   // 0, 1 or 2, the same on every run
/// let split = generator.nextDouble()            // in [0, 1)
/// ```
public struct SeededGenerator: RandomNumberGenerator, Sendable, Hashable {
    @usableFromInline var s0, s1, s2, s3: UInt64

    /// Creates a generator whose output depends only on `seed`.
    public init(seed: UInt64) {
        var mixer = seed
        func splitMix() -> UInt64 {
            mixer &+= 0x9E37_79B9_7F4A_7C15
            var z = mixer
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        // SplitMix64 never yields four zero words in a row, so the state is never all zero.
        (s0, s1, s2, s3) = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    /// The next 64 random bits.
    /// - Complexity: O(1).
    @inlinable
    public mutating func next() -> UInt64 {
        let result = Self.rotate(s1 &* 5, by: 7) &* 9
        let shifted = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= shifted
        s3 = Self.rotate(s3, by: 45)
        return result
    }

    /// A uniform integer in `0..<bound`, without modulo bias (Lemire, "Fast random integer
    /// generation in an interval", ACM TOMS 2019).
    /// - Precondition: `bound > 0`.
    /// - Complexity: O(1) expected.
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        let range = UInt64(bound)
        var product = next().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range
            while product.low < threshold {
                product = next().multipliedFullWidth(by: range)
            }
        }
        return Int(product.high)
    }

    /// A uniform `Double` in `[0, 1)` with 53 random bits.
    /// - Complexity: O(1).
    public mutating func nextDouble() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    @usableFromInline
    static func rotate(_ value: UInt64, by amount: UInt64) -> UInt64 {
        (value << amount) | (value >> (64 &- amount))
    }
}
