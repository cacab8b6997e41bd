public import MMCConfiguration

/// What a configuration reload did.
public struct DaemonReloadReport: Sendable, Hashable {
    /// Changed keys that took effect.
    public let applied: [String]
    /// Changed keys that take effect only after a restart (logged as warnings).
    public let requiresRestart: [String]
    /// The problems of a configuration that could not be used; nothing changed then.
    public let issues: [ConfigurationIssue]
}
