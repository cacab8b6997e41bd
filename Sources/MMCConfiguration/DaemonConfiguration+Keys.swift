extension DaemonConfiguration {
    /// Every key with its value in this configuration, as TOML literals, in documentation
    /// order: what `mmcd --check-config` prints and the daemon logs at start.
    public var settings: [(key: String, value: String)] {
        ConfigurationKey.all.map { ($0.path, $0.render(self)) }
    }

    /// Every key the configuration file accepts, with its default and allowed values.
    public static var documentedKeys: [ConfigurationKeyInfo] {
        let defaults = DaemonConfiguration()
        return ConfigurationKey.all.map {
            ConfigurationKeyInfo(
                path: $0.path, defaultValue: $0.render(defaults), allowed: $0.allowed,
                reloadsLive: $0.reloadsLive)
        }
    }
}
