internal import FoundationEssentials

extension DaemonConfiguration {
    /// Reads a TOML configuration file, applies `key=value` overrides and validates the result.
    ///
    /// - Parameters:
    ///   - path: the file, usually `/etc/mmcd/mmcd.toml`.
    ///   - overrides: `section.key=value` strings from the command line (`--set`), applied
    ///     after the file.
    /// - Throws: ``ConfigurationError`` with every problem: an unreadable file, a TOML syntax
    ///   error, unknown keys (with a "did you mean"), values of the wrong type or out of range.
    public init(contentsOfFile path: String, overrides: [String] = []) throws(ConfigurationError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            let problem = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist"
            throw ConfigurationError(issues: [ConfigurationIssue(key: path, value: nil, problem: problem)])
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw ConfigurationError(issues: [ConfigurationIssue(key: path, value: nil, problem: "is not valid UTF-8")])
        }
        try self.init(toml: text, source: path, overrides: overrides)
    }

    /// Parses a TOML document, applies `key=value` overrides and validates the result.
    ///
    /// Keys not given keep their defaults. Unknown sections and keys are errors.
    ///
    /// - Parameters:
    ///   - toml: the document.
    ///   - source: names the document in syntax errors (a file path).
    ///   - overrides: `section.key=value` strings applied after the document.
    /// - Throws: ``ConfigurationError`` with every problem found.
    public init(toml: String, source: String = "<config>", overrides: [String] = []) throws(ConfigurationError) {
        var reader = ConfigurationReader(base: DaemonConfiguration())
        reader.read(toml: toml, source: source)
        reader.apply(overrides: overrides)
        self = try reader.validated()
    }

    /// This configuration with `key=value` overrides applied, validated.
    ///
    /// A value is read as TOML (`window.size=5000`, `output.provisional=false`); string keys also
    /// take it bare (`output.topic=sensors`), list keys as comma-separated items
    /// (`input.connect=tcp://a:1,tcp://b:2`) or a TOML array.
    ///
    /// - Throws: ``ConfigurationError`` naming every bad override and every invalid key.
    public func applying(overrides: [String]) throws(ConfigurationError) -> DaemonConfiguration {
        var reader = ConfigurationReader(base: self)
        reader.apply(overrides: overrides)
        return try reader.validated()
    }
}
