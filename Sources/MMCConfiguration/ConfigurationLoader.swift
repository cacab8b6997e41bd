internal import Foundation
internal import TOMLKit

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

/// Collects values and problems from a document and overrides, then validates once.
private struct ConfigurationReader {
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
            let path = override[..<equals].trimmingCharacters(in: .whitespaces)
            let raw = override[override.index(after: equals)...].trimmingCharacters(in: .whitespaces)
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

/// "Did you mean": the nearest known name by edit distance, else the same key name in another
/// section (`window.trees` -> `forest.trees`).
enum Suggestion {
    static func closest(to name: String, among candidates: [String]) -> String? {
        let scored = candidates.map { (candidate: $0, distance: editDistance(name, $0)) }
        if let best = scored.min(by: { $0.distance < $1.distance }), best.distance <= max(2, name.count / 4) {
            return best.candidate
        }
        guard let dot = name.lastIndex(of: ".") else { return nil }
        let leaf = name[dot...]
        return candidates.first { $0.hasSuffix(leaf) }
    }

    /// Levenshtein distance over characters.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        var previous = Array(0...b.count)
        var current = previous
        for i in a.indices {
            current[0] = i + 1
            for j in b.indices {
                let substitution = previous[j] + (a[i] == b[j] ? 0 : 1)
                current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}

/// A value from TOML or an override, before it is checked against its key.
enum ConfigurationValue: Equatable {
    case integer(Int)
    case number(Double)
    case boolean(Bool)
    case string(String)
    case list([ConfigurationValue])
    /// A table, or a date or time: never a valid value of any key. Holds its TOML text.
    case other(String)

    init(_ node: any TOMLValueConvertible) {
        switch node.type {
        case .int: self = node.int.map(Self.integer) ?? .other(node.debugDescription)
        case .double: self = node.double.map(Self.number) ?? .other(node.debugDescription)
        case .bool: self = node.bool.map(Self.boolean) ?? .other(node.debugDescription)
        case .string: self = node.string.map(Self.string) ?? .other(node.debugDescription)
        case .array: self = node.array.map { .list($0.map(ConfigurationValue.init)) } ?? .other(node.debugDescription)
        case .table, .date, .time, .dateTime: self = .other(node.debugDescription)
        }
    }

    /// Reads a command-line value the way its key's kind expects it.
    init(override raw: String, kind: ConfigurationKey.Kind) {
        switch kind {
        case .string where !(raw.hasPrefix("\"") || raw.hasPrefix("'")):
            self = .string(raw)
        case .stringList where !raw.hasPrefix("["):
            self = .list(
                raw.split(separator: ",").map { .string($0.trimmingCharacters(in: .whitespaces)) }
                    .filter { $0 != .string("") })
        default:
            let document = try? TOMLTable(string: "v = \(raw)")
            defer { document?.clear() }  // TOMLKit never frees a document; see read(toml:source:)
            if let document, document.count == 1, let node = document["v"] {
                self = ConfigurationValue(node)
            } else {
                self = .string(raw)
            }
        }
    }

    /// The value as TOML, for messages.
    var literal: String {
        switch self {
        case .integer(let value): "\(value)"
        case .number(let value): "\(value)"
        case .boolean(let value): "\(value)"
        case .string(let value): TOMLLiteral.string(value)
        case .list(let items): "[" + items.map(\.literal).joined(separator: ", ") + "]"
        case .other(let text): text
        }
    }
}

/// TOML literals of configuration values (the daemon's log handler writes JSON strings with it).
package enum TOMLLiteral {
    /// A basic string with `"`, `\` and control characters escaped.
    package static func string(_ value: String) -> String {
        var result = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16, uppercase: true)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    /// `["a", "b"]`.
    static func list(_ values: [String]) -> String {
        "[" + values.map(string).joined(separator: ", ") + "]"
    }

    /// A number for a range in a message: integral values without `.0`.
    static func bound(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? "\(Int(value))" : "\(value)"
    }
}

/// A rule for string values, with its wording for messages.
struct StringRule: Sendable {
    let allowed: String
    let accepts: @Sendable (String) -> Bool

    static let endpoint = StringRule(
        allowed: "a ZeroMQ endpoint (tcp://host:port, ipc://path or inproc://name)", accepts: isEndpoint)
    static let optionalEndpoint = StringRule(
        allowed: "\"\" (off) or a ZeroMQ endpoint (tcp://host:port, ipc://path or inproc://name)",
        accepts: { $0.isEmpty || isEndpoint($0) })
    static let optionalAbsolutePath = StringRule(
        allowed: "\"\" (off) or an absolute path", accepts: { $0.isEmpty || ($0.hasPrefix("/") && !$0.contains("\0")) })
    static let topicPrefix = StringRule(
        allowed: "a topic prefix of at most 255 bytes (\"\" matches every topic)", accepts: { $0.utf8.count <= 255 })
    /// Published topics are `clusters.<topic>` and `assign.<topic>`, which must stay within the
    /// protocol's 255 bytes.
    static let topic = StringRule(
        allowed: "a topic of 1...246 bytes", accepts: { (1...246).contains($0.utf8.count) })
    static let host = StringRule(
        allowed: "an IP address or host name",
        accepts: { !$0.isEmpty && $0.utf8.count <= 253 && !$0.contains { $0.isWhitespace || $0 == "/" } })

    /// `tcp://host:port` (port `*` or 1...65535), `ipc://path` or `inproc://name`.
    static func isEndpoint(_ endpoint: String) -> Bool {
        guard let separator = endpoint.firstRange(of: "://"), !endpoint.contains(where: \.isWhitespace) else {
            return false
        }
        let address = endpoint[separator.upperBound...]
        switch endpoint[..<separator.lowerBound] {
        case "tcp":
            guard let colon = address.lastIndex(of: ":") else { return false }
            let host = address[..<colon]
            let port = address[address.index(after: colon)...]
            return !host.isEmpty && (port == "*" || Int(port).map { (1...65_535).contains($0) } == true)
        case "ipc", "inproc":
            return !address.isEmpty
        default:
            return false
        }
    }
}

/// One configuration key: how to read, check, print and copy it. ``all`` is the single table of
/// keys, in documentation order; the defaults are the initial values in ``DaemonConfiguration``.
struct ConfigurationKey {
    /// The TOML shape a key takes, which decides how a command-line value is read.
    enum Kind { case integer, number, boolean, string, stringList, rangeList }

    let path: String
    let kind: Kind
    let reloadsLive: Bool
    /// What is allowed, phrased to follow "must be".
    let allowed: String
    /// Stores a value of the right type, or returns `false`.
    let assign: (inout DaemonConfiguration, ConfigurationValue) -> Bool
    /// Range problems of the stored value.
    let check: (DaemonConfiguration) -> [ConfigurationIssue]
    /// The stored value as a TOML literal.
    let render: (DaemonConfiguration) -> String
    /// Copies this key's value from the second configuration into the first.
    let copy: (inout DaemonConfiguration, DaemonConfiguration) -> Void

    var section: String { String(path.prefix { $0 != "." }) }

    /// Largest window, in points.
    static let maxWindowPoints = 10_000_000

    static var all: [ConfigurationKey] {
        [
            stringList("input.bind", \.input.bind, element: .endpoint, count: 0...64),
            stringList("input.connect", \.input.connect, element: .endpoint, count: 0...64),
            choice("input.socket", \.input.socket),
            stringList("input.topics", \.input.topics, element: .topicPrefix, count: 1...1_024),
            integer("input.receive_hwm", \.input.receiveHighWaterMark, in: [0...10_000_000], meaning: "0 = no limit"),
            integer("input.max_message_bytes", \.input.maxMessageBytes, in: [1_024...(1 << 30)]),
            integer("input.max_batch_points", \.input.maxBatchPoints, in: [1...1_000_000]),
            integer("input.dimension", \.input.dimension, in: [1...1_024]),
            integer("input.queue_capacity", \.input.queueCapacity, in: [1...1_000_000]),
            number(
                "input.max_future_seconds", \.input.maxFutureSeconds, in: [0...31_536_000], meaning: "0 = no check"),
            integer("window.size", \.window.size, in: [0...maxWindowPoints], meaning: "0 = time-only window"),
            number(
                "window.max_age_seconds", \.window.maxAgeSeconds, in: [0...31_536_000], meaning: "0 = no age limit"),
            integer(
                "window.max_points", \.window.maxPoints, in: [0...maxWindowPoints],
                meaning: "required when window.size = 0, else 0"),
            integer("forest.trees", \.forest.trees, in: [1...1_024]),
            integer("forest.height", \.forest.height, in: [1...20]),
            integer("forest.sample_size", \.forest.sampleSize, in: [2...65_536]),
            integer("forest.refresh_per_recluster", \.forest.refreshPerRecluster, in: [0...10_000]),
            integer("forest.seed", \.forest.seed, in: [0...UInt64(Int64.max)]),
            choice("clustering.method", \.clustering.method),
            integer("clustering.min_samples", \.clustering.minSamples, in: [0...1_000], meaning: "0 = single linkage"),
            integer(
                "clustering.min_cluster_size", \.clustering.minClusterSize, in: [0...0, 2...maxWindowPoints],
                meaning: "0 = derived from the window size"),
            integer("clustering.graph_neighbours", \.clustering.graphNeighbours, in: [1...1_000]),
            number("clustering.outlier_factor", \.clustering.outlierFactor, in: [0.01...1_000], unit: "a number"),
            number(
                "clustering.gap_factor", \.clustering.gapFactor, in: [0...0, 1...1_000], unit: "a number",
                meaning: "0 = off"),
            choice("clustering.scaling", \.clustering.scaling),
            ranges("clustering.scaling_ranges", \.clustering.scalingRanges, count: 0...1_024),
            number(
                "clustering.valley_ratio", \.clustering.valleyRatio, in: [0...0, 1...1_000], unit: "a number",
                meaning: "0 = off"),
            integer(
                "clustering.threads", \.clustering.threads, in: [0...1_024],
                meaning: "0 = every processor but one"),
            number(
                "schedule.interval_seconds", \.schedule.intervalSeconds, in: [0...0, 0.1...86_400],
                meaning: "0 = off", live: true),
            integer(
                "schedule.every_points", \.schedule.everyPoints, in: [0...100_000_000], meaning: "0 = off",
                live: true),
            number(
                "schedule.time_budget_seconds", \.schedule.timeBudgetSeconds, in: [0...3_600],
                meaning: "0 = no budget", live: true),
            string("output.endpoint", \.output.endpoint, .endpoint),
            string("output.topic", \.output.topic, .topic),
            integer("output.send_hwm", \.output.sendHighWaterMark, in: [0...10_000_000], meaning: "0 = no limit"),
            boolean("output.provisional", \.output.provisional, live: true),
            choice("output.assignments", \.output.assignments, live: true),
            integer("output.full_every", \.output.fullEvery, in: [1...1_000_000], live: true),
            string("control.endpoint", \.control.endpoint, .optionalEndpoint),
            integer("control.send_hwm", \.control.sendHighWaterMark, in: [1...10_000]),
            string("state.directory", \.state.directory, .optionalAbsolutePath),
            number(
                "state.snapshot_interval_seconds", \.state.snapshotIntervalSeconds, in: [0...0, 1...86_400],
                meaning: "0 = only at shutdown"),
            string("http.address", \.http.address, .host),
            integer("http.port", \.http.port, in: [0...65_535], meaning: "0 = off"),
            boolean("http.live_page", \.http.livePage, live: false),
            boolean("http.remote_live_page", \.http.remoteLivePage, live: false),
            integer("http.max_connections", \.http.maxConnections, in: [1...100_000]),
            number("http.idle_timeout_seconds", \.http.idleTimeoutSeconds, in: [0.1...3_600]),
            stringList("http.allowed_hosts", \.http.allowedHosts, element: .host, count: 0...256),
            choice("log.level", \.log.level, live: true),
            choice("log.format", \.log.format),
            string("security.curve_secret_key_file", \.security.curveSecretKeyFile, .optionalAbsolutePath),
            string("security.curve_authorized_keys_file", \.security.curveAuthorizedKeysFile, .optionalAbsolutePath),
            boolean("security.allow_any_client", \.security.allowAnyClient, live: false),
        ]
    }

    /// A key stored at `keyPath`: `parse` reads a value of the right type (or returns `nil`),
    /// `accepts` is the range check, `partIssues` reports bad parts of an accepted value (list
    /// elements) and `literal` prints a stored value as TOML.
    private static func key<Value>(
        _ path: String, _ keyPath: WritableKeyPath<DaemonConfiguration, Value>, kind: Kind, live: Bool,
        allowed: String, parse: @escaping (ConfigurationValue) -> Value?,
        accepts: @escaping (Value) -> Bool = { _ in true },
        partIssues: @escaping (Value) -> [ConfigurationIssue] = { _ in [] }, literal: @escaping (Value) -> String
    ) -> ConfigurationKey {
        ConfigurationKey(
            path: path, kind: kind, reloadsLive: live, allowed: allowed,
            assign: { configuration, value in
                guard let parsed = parse(value) else { return false }
                configuration[keyPath: keyPath] = parsed
                return true
            },
            check: { configuration in
                let value = configuration[keyPath: keyPath]
                let whole = ConfigurationIssue(key: path, value: literal(value), problem: "must be \(allowed)")
                return (accepts(value) ? [] : [whole]) + partIssues(value)
            },
            render: { literal($0[keyPath: keyPath]) },
            copy: { $0[keyPath: keyPath] = $1[keyPath: keyPath] })
    }

    private static func integer<Value: FixedWidthInteger>(
        _ path: String, _ keyPath: WritableKeyPath<DaemonConfiguration, Value>, in ranges: [ClosedRange<Value>],
        meaning: String? = nil, live: Bool = false
    ) -> ConfigurationKey {
        let alternatives = ranges.map {
            $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "an integer in \($0.lowerBound)...\($0.upperBound)"
        }
        return key(
            path, keyPath, kind: .integer, live: live,
            allowed: alternatives.joined(separator: " or ") + (meaning.map { " (\($0))" } ?? ""),
            parse: {
                guard case .integer(let integer) = $0 else { return nil }
                return Value(exactly: integer)
            },
            accepts: { value in ranges.contains { $0.contains(value) } }, literal: { "\($0)" })
    }

    private static func number(
        _ path: String, _ keyPath: WritableKeyPath<DaemonConfiguration, Double>, in ranges: [ClosedRange<Double>],
        unit: String = "a number of seconds", meaning: String? = nil, live: Bool = false
    ) -> ConfigurationKey {
        let alternatives = ranges.map {
            $0.lowerBound == $0.upperBound
                ? TOMLLiteral.bound($0.lowerBound)
                : "\(unit) in \(TOMLLiteral.bound($0.lowerBound))...\(TOMLLiteral.bound($0.upperBound))"
        }
        return key(
            path, keyPath, kind: .number, live: live,
            allowed: alternatives.joined(separator: " or ") + (meaning.map { " (\($0))" } ?? ""),
            parse: {
                switch $0 {
                case .integer(let integer): Double(integer)
                case .number(let number): number
                default: nil
                }
            },
            accepts: { value in value.isFinite && ranges.contains { $0.contains(value) } }, literal: { "\($0)" })
    }

    private static func boolean(
        _ path: String, _ keyPath: WritableKeyPath<DaemonConfiguration, Bool>, live: Bool
    ) -> ConfigurationKey {
        key(
            path, keyPath, kind: .boolean, live: live, allowed: "true or false",
            parse: {
                guard case .boolean(let flag) = $0 else { return nil }
                return flag
            },
            literal: { "\($0)" })
    }

    private static func choice<Value: RawRepresentable & CaseIterable>(
        _ path: String, _ keyPath: WritableKeyPath<DaemonConfiguration, Value>, live: Bool = false
    ) -> ConfigurationKey where Value.RawValue == String {
        key(
            path, keyPath, kind: .string, live: live,
            allowed: "one of " + Value.allCases.map { TOMLLiteral.string($0.rawValue) }.joined(separator: ", "),
            parse: {
                guard case .string(let text) = $0 else { return nil }
                return Value(rawValue: text)
            },
            literal: { TOMLLiteral.string($0.rawValue) })
    }

    private static func string(
        _ path: String, _ keyPath: WritableKeyPath<DaemonConfiguration, String>, _ rule: StringRule
    ) -> ConfigurationKey {
        key(
            path, keyPath, kind: .string, live: false, allowed: rule.allowed,
            parse: {
                guard case .string(let text) = $0 else { return nil }
                return text
            },
            accepts: rule.accepts, literal: TOMLLiteral.string)
    }

    /// A list key; besides the count check, every element is checked and reported by index
    /// (`input.bind[1]`).
    private static func stringList(
        _ path: String, _ keyPath: WritableKeyPath<DaemonConfiguration, [String]>, element: StringRule,
        count: ClosedRange<Int>
    ) -> ConfigurationKey {
        let size = count.lowerBound == 0 ? "at most \(count.upperBound)" : "\(count.lowerBound)...\(count.upperBound)"
        return key(
            path, keyPath, kind: .stringList, live: false,
            allowed: "a list of \(size) strings, each \(element.allowed)",
            parse: {
                guard case .list(let items) = $0 else { return nil }
                var strings: [String] = []
                for item in items {
                    guard case .string(let text) = item else { return nil }
                    strings.append(text)
                }
                return strings
            },
            accepts: { count.contains($0.count) },
            partIssues: { values in
                values.enumerated().filter { !element.accepts($0.element) }.map {
                    ConfigurationIssue(
                        key: "\(path)[\($0.offset)]", value: TOMLLiteral.string($0.element),
                        problem: "must be \(element.allowed)")
                }
            },
            literal: TOMLLiteral.list)
    }

    /// A list of `[lower, upper]` number pairs; besides the count check, every pair is checked
    /// and reported by index (`clustering.scaling_ranges[1]`).
    private static func ranges(
        _ path: String, _ keyPath: WritableKeyPath<DaemonConfiguration, [[Double]]>, count: ClosedRange<Int>
    ) -> ConfigurationKey {
        key(
            path, keyPath, kind: .rangeList, live: false,
            allowed: "a list of at most \(count.upperBound) [lower, upper] pairs of numbers",
            parse: {
                guard case .list(let items) = $0 else { return nil }
                var pairs: [[Double]] = []
                for item in items {
                    guard case .list(let bounds) = item else { return nil }
                    var pair: [Double] = []
                    for bound in bounds {
                        switch bound {
                        case .integer(let integer): pair.append(Double(integer))
                        case .number(let number): pair.append(number)
                        default: return nil
                        }
                    }
                    pairs.append(pair)
                }
                return pairs
            },
            accepts: { count.contains($0.count) },
            partIssues: { pairs in
                pairs.enumerated().filter { !($0.element.count == 2 && $0.element.allSatisfy(\.isFinite) && $0.element[0] < $0.element[1]) }.map {
                    ConfigurationIssue(
                        key: "\(path)[\($0.offset)]", value: rangesLiteral([$0.element]).dropFirst().dropLast().description,
                        problem: "must be [lower, upper] with finite lower < upper")
                }
            },
            literal: rangesLiteral)
    }

    /// `[[0, 100], [-40, 85.5]]`.
    static func rangesLiteral(_ ranges: [[Double]]) -> String {
        "[" + ranges.map { "[" + $0.map(TOMLLiteral.bound).joined(separator: ", ") + "]" }.joined(separator: ", ") + "]"
    }
}
