/// One problem found in a configuration: the key, the offending value and what is allowed.
public struct ConfigurationIssue: Sendable, Hashable, CustomStringConvertible {
    /// The key path (`window.size`), or the file and position for a syntax error.
    public let key: String
    /// The offending value as written in TOML, when there is one.
    public let value: String?
    /// What is wrong, or what is allowed (`must be an integer in 1...100`).
    public let problem: String

    /// Creates an issue.
    public init(key: String, value: String?, problem: String) {
        self.key = key
        self.value = value
        self.problem = problem
    }

    /// `key = value: problem`, or `key: problem` without a value.
    public var description: String {
        if let value { "\(key) = \(value): \(problem)" } else { "\(key): \(problem)" }
    }
}
