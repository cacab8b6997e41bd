/// The totals of a fuzz run.
public struct FuzzReport: Sendable, Hashable {
    /// The target's name.
    public let target: String
    /// The run's seed.
    public let seed: UInt64
    /// The index of the first input.
    public let start: Int
    /// Inputs run.
    public private(set) var execs = 0
    /// Inputs that decoded.
    public private(set) var accepted = 0
    /// Inputs refused, by error code.
    public private(set) var rejected: [String: Int] = [:]
    /// Broken properties (at most the first 100).
    public private(set) var failures: [FuzzFailure] = []
    /// The largest input tried, in bytes.
    public private(set) var largestInput = 0

    init(target: String, seed: UInt64, start: Int) {
        self.target = target
        self.seed = seed
        self.start = start
    }

    mutating func record(_ outcome: FuzzOutcome, index: Int, inputBytes: Int) {
        execs += 1
        largestInput = max(largestInput, inputBytes)
        switch outcome {
        case .accepted: accepted += 1
        case .rejected(let code): rejected[code, default: 0] += 1
        case .failed(let problem) where failures.count < 100: failures.append(FuzzFailure(index: index, problem: problem))
        case .failed: break
        }
    }
}
