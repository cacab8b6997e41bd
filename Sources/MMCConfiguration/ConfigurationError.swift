/// A configuration that cannot be used, with every problem found (never just the first).
public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// All problems, in key order.
    public let issues: [ConfigurationIssue]

    /// Creates an error from at least one issue.
    public init(issues: [ConfigurationIssue]) {
        precondition(!issues.isEmpty, "a ConfigurationError needs at least one issue")
        self.issues = issues
    }

    /// One issue per line.
    public var description: String { issues.map(\.description).joined(separator: "\n") }
}
