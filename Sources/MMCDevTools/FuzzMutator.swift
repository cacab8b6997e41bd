/// Edits a valid input into a probably invalid one; deterministic for a seed.
public struct FuzzMutator: Sendable {
    private var random: WireBenchmark.SplitMix64
    private let corpus: [[UInt8]]
    private let tokens: [[UInt8]]

    /// Values that sit on the edges of integer fields.
    static let boundaries: [UInt64] = [
        0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, UInt64(Int64.max),
        UInt64.max,
    ]

    /// A mutator drawing from a generator seeded with `generator`, splicing from `corpus`.
    public init(generator seed: UInt64, corpus: [[UInt8]], tokens: [[UInt8]]) {
        random = WireBenchmark.SplitMix64(seed: seed)
        self.corpus = corpus
        self.tokens = tokens.isEmpty ? [[0]] : tokens
    }

    private mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(random.next() % UInt64(range.count))
    }

    /// `input` with one to four random edits.
    public mutating func mutate(_ input: [UInt8]) -> [UInt8] {
        var bytes = input
        for _ in 0..<int(1...4) {
            let index = bytes.isEmpty ? 0 : int(0...bytes.count - 1)
            switch int(0...9) {
            case 0 where !bytes.isEmpty:
                bytes[index] ^= UInt8(1 << int(0...7))
            case 1 where !bytes.isEmpty:
                bytes.removeSubrange(index..<min(bytes.count, index + int(1...8)))
            case 2:
                bytes.insert(contentsOf: tokens[int(0...tokens.count - 1)], at: index)
            case 3:
                bytes = Array(bytes.prefix(index))
            case 4 where !bytes.isEmpty:
                let end = min(bytes.count, index + int(1...16))
                bytes.insert(contentsOf: bytes[index..<end], at: int(0...bytes.count))
            case 5 where !bytes.isEmpty:
                bytes[index] = UInt8(truncatingIfNeeded: random.next())
            case 6:
                // Splice: this input's head with another corpus entry's tail.
                let other = corpus[int(0...corpus.count - 1)]
                bytes = Array(bytes.prefix(index)) + other.suffix(other.isEmpty ? 0 : int(0...other.count))
            case 7...8 where !bytes.isEmpty:
                // A boundary integer over 1, 2, 4 or 8 little-endian bytes.
                let width = [1, 2, 4, 8][int(0...3)]
                var value = Self.boundaries[int(0...Self.boundaries.count - 1)]
                if random.next() & 1 == 1 { value = value &- 1 }
                for offset in 0..<width where index + offset < bytes.count {
                    bytes[index + offset] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(offset)))
                }
            default:
                bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: index)
            }
        }
        return bytes
    }
}
