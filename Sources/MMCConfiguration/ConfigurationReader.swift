internal import TOMLKit

/// Collects values and problems from a document and overrides, then validates once.
struct ConfigurationReader {
    var configuration: DaemonConfiguration
    var issues: [ConfigurationIssue] = []
    /// Keys whose given value could not be used; rules relating them to others are skipped.
    var unreadable: Set<String> = []
    let keys: [String: ConfigurationKey]

    init(base: DaemonConfiguration) {
        configuration = base
        keys = Dictionary(uniqueKeysWithValues: ConfigurationKey.all.map { ($0.path, $0) })
    }

    mutating func read(toml: String, source: String) {
        if let (line, problem) = TOMLGuard.firstAssertion(in: toml) {
            issues.append(ConfigurationIssue(key: "\(source):\(line)", value: nil, problem: "invalid TOML: \(problem)"))
            return
        }
        let document: TOMLTable
        do {
            document = try TOMLTable(string: toml)
        } catch let error as TOMLParseError {
            let position = "\(source):\(error.source.begin.line):\(error.source.begin.column)"
            issues.append(ConfigurationIssue(key: position, value: nil, problem: "invalid TOML: \(error.description)"))
            return
        } catch {
            issues.append(ConfigurationIssue(key: source, value: nil, problem: "invalid TOML: \(error)"))
            return
        }
        // TOMLKit never frees a parsed document (TOMLTable has no deinit), so every reload kept
        // it, about 16 KB for our configuration file; clearing it once its values are copied out
        // frees all but the empty table.
        defer { document.clear() }
        let sections = Set(ConfigurationKey.all.map(\.section))
        for name in document.keys {
            guard let node = document[name] else { continue }
            guard sections.contains(name) else {
                issues.append(unknown(name, candidates: sections.sorted(), kind: "section"))
                continue
            }
            guard let table = node.table else {
                issues.append(
                    ConfigurationIssue(
                        key: name, value: ConfigurationValue(node).literal, problem: "must be a table ([\(name)])"))
                continue
            }
            for keyName in table.keys {
                let path = "\(name).\(keyName)"
                guard let key = keys[path] else {
                    issues.append(unknown(path, candidates: keys.keys.sorted(), kind: "key"))
                    continue
                }
                guard let value = table[keyName] else { continue }
                assign(ConfigurationValue(value), to: key)
            }
        }
    }

    mutating func apply(overrides: [String]) {
        for override in overrides {
            guard let equals = override.firstIndex(of: "=") else {
                issues.append(
                    ConfigurationIssue(
                        key: override, value: nil, problem: "an override must be key=value, e.g. window.size=5000"))
                continue
            }
            let path = override[..<equals].trimmingBlanks()
            let raw = override[override.index(after: equals)...].trimmingBlanks()
            guard let key = keys[path] else {
                issues.append(unknown(path, candidates: keys.keys.sorted(), kind: "key"))
                continue
            }
            assign(ConfigurationValue(override: raw, kind: key.kind), to: key)
        }
    }

    mutating func assign(_ value: ConfigurationValue, to key: ConfigurationKey) {
        if !key.assign(&configuration, value) {
            issues.append(ConfigurationIssue(key: key.path, value: value.literal, problem: "must be \(key.allowed)"))
            unreadable.insert(key.path)
        }
    }

    func validated() throws(ConfigurationError) -> DaemonConfiguration {
        let all = issues + configuration.validationIssues(excluding: unreadable)
        if !all.isEmpty { throw ConfigurationError(issues: all) }
        return configuration
    }

    /// An "unknown key" issue with the closest known name, if one is close.
    func unknown(_ name: String, candidates: [String], kind: String) -> ConfigurationIssue {
        let problem =
            if let match = Suggestion.closest(to: name, among: candidates) {
                "unknown \(kind); did you mean \(kind == "section" ? "[\(match)]" : match)?"
            } else {
                "unknown \(kind)"
            }
        return ConfigurationIssue(key: name, value: nil, problem: problem)
    }
}
