/// A configuration key as documented: its path, default, allowed values and reload behaviour.
public struct ConfigurationKeyInfo: Sendable, Hashable {
    /// The key path, `section.key`.
    public let path: String
    /// The default value as a TOML literal.
    public let defaultValue: String
    /// What values are allowed, in words (`an integer in 1...10000`).
    public let allowed: String
    /// Whether a change takes effect on `SIGHUP` (otherwise it needs a restart).
    public let reloadsLive: Bool
}
