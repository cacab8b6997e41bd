public import MMCConfiguration

extension DaemonConfiguration {
    /// The configuration as a TOML document: every key, section by section, as
    /// ``settings`` renders it. Parsing it gives this configuration back.
    public var tomlDocument: String {
        var text = ""
        var section = ""
        for (key, value) in settings {
            let parts = key.split(separator: ".", maxSplits: 1)
            if parts[0] != section {
                section = String(parts[0])
                text += "\n[\(section)]\n"
            }
            text += "\(parts[1]) = \(value)\n"
        }
        return text
    }
}

extension FuzzTarget {
    /// `DaemonConfiguration(toml:)`, the configuration parser (TOMLKit, then every key's
    /// check): each input parses to a valid configuration or fails with a
    /// ``ConfigurationError``; an accepted one must survive ``DaemonConfiguration/tomlDocument``
    /// and a second parse unchanged. Rejections are counted as `syntax` (the TOML does not
    /// parse) or `value` (a key, type or range problem).
    public static let configuration: FuzzTarget = {
        var edited = DaemonConfiguration()
        edited.input.bind = ["tcp://127.0.0.1:*", "ipc:///run/mmcd/in"]
        edited.input.topics = ["sensors.", "é🚀"]
        edited.window.size = 0
        edited.window.maxAgeSeconds = 60.5
        edited.window.maxPoints = 5_000
        edited.schedule.intervalSeconds = 0
        edited.security.curveSecretKeyFile = "/etc/mmcd/server.key"
        let corpus = [DaemonConfiguration().tomlDocument, edited.tomlDocument, "", "[window]\nsize = 5000 # comment\n"]
        let tokens = [
            "[", "]", "[[", "]]", "=", "\"", "'", "\"\"\"", "'''", "\\", "\\u", "\\U0010FFFF", "#", "\n", ".", ",", "{", "}",
            "-", "+", "0x", "0o", "0b", "1e400", "inf", "nan", "-0", "9223372036854775807", "9223372036854775808",
            "1979-05-27T07:32:00Z", "true", "false", "[input]", "[window]", "window.size", "size", "bind",
        ].map { Array($0.utf8) } + [[0xFF], [0xC3], [0x00], [0xED, 0xA0, 0x80]]
        return FuzzTarget(name: "config", corpus: corpus.map { Array($0.utf8) }, tokens: tokens) { input in
            let text = String(decoding: input, as: UTF8.self)
            let parsed: DaemonConfiguration
            do throws(ConfigurationError) {
                parsed = try DaemonConfiguration(toml: text)
            } catch {
                let syntax = error.issues.contains { $0.key.hasPrefix("<config>") }
                return .rejected(syntax ? "syntax" : "value")
            }
            guard (try? DaemonConfiguration(toml: parsed.tomlDocument)) == parsed else {
                return .failed("an accepted configuration does not survive a second parse of its settings")
            }
            return .accepted
        }
    }()
}
