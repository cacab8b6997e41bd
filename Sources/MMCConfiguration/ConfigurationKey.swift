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
            number(
                "clustering.valley_ratio", \.clustering.valleyRatio, in: [0...0, 1...1_000], unit: "a number",
                meaning: "0 = off"),
            boolean("clustering.allow_single_cluster", \.clustering.allowSingleCluster, live: false),
            choice("clustering.scaling", \.clustering.scaling),
            ranges("clustering.scaling_ranges", \.clustering.scalingRanges, count: 0...1_024),
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
            integer("security.max_peers", \.security.maxPeers, in: [1...100_000]),
            integer(
                "security.max_peers_per_address", \.security.maxPeersPerAddress, in: [0...100_000],
                meaning: "0 = only security.max_peers applies"),
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
