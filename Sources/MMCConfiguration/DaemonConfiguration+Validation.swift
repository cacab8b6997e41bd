internal import MassClustering

extension DaemonConfiguration {
    /// Checks every key against its allowed range and the rules that relate keys.
    ///
    /// - Throws: ``ConfigurationError`` listing every problem, in key order.
    public func validate() throws(ConfigurationError) {
        let issues = validationIssues(excluding: [])
        if !issues.isEmpty { throw ConfigurationError(issues: issues) }
    }

    /// Range checks of every key, then the rules relating keys. A rule is skipped when it
    /// involves a key in `unreadable` (its value could not be read, so it holds the default) or
    /// a key that failed its range check, so one mistake is reported once.
    func validationIssues(excluding unreadable: Set<String>) -> [ConfigurationIssue] {
        var issues: [ConfigurationIssue] = []
        var excluded = unreadable
        for key in ConfigurationKey.all {
            let problems = key.check(self)
            if !problems.isEmpty { excluded.insert(key.path) }
            issues += problems
        }
        for rule in crossKeyRules() where excluded.isDisjoint(with: rule.keys) {
            issues.append(rule.issue)
        }
        return issues
    }

    /// The `[security]` rules: a secret key file that is a public one by its name, and CURVE
    /// that admits any client on an endpoint other hosts reach without `allow_any_client`.
    private func securityRules() -> [BrokenRule] {
        var broken: [BrokenRule] = []
        func fail(_ keys: [String], _ value: String, _ problem: String) {
            broken.append(BrokenRule(keys: keys, issue: ConfigurationIssue(key: keys[0], value: value, problem: problem)))
        }
        if security.curveSecretKeyFile.hasSuffix(".pub") {
            fail(
                ["security.curve_secret_key_file"], TOMLLiteral.string(security.curveSecretKeyFile),
                "is a public key file; the server needs its secret key (mmc keygen --out PREFIX writes PREFIX.key)")
        }
        if security.allowAnyClient && security.curveSecretKeyFile.isEmpty {
            fail(["security.allow_any_client", "security.curve_secret_key_file"], "true", "requires security.curve_secret_key_file")
        }
        if security.allowAnyClient && !security.curveAuthorizedKeysFile.isEmpty {
            fail(
                ["security.allow_any_client", "security.curve_authorized_keys_file"], "true",
                "contradicts security.curve_authorized_keys_file, which admits only the clients it lists")
        }
        if !security.curveSecretKeyFile.isEmpty && security.curveAuthorizedKeysFile.isEmpty && !security.allowAnyClient,
            let (key, endpoint) = reachableEndpoints.first
        {
            fail(
                ["security.curve_authorized_keys_file", "security.allow_any_client"], "\"\"",
                "CURVE without an allow-list admits any client with any key pair, and \(key) = "
                    + "\(TOMLLiteral.string(endpoint)) is reachable from other hosts: list the clients' public keys "
                    + "in security.curve_authorized_keys_file, or set security.allow_any_client = true")
        }
        return broken
    }

    /// The ZeroMQ endpoints (key, endpoint) that other hosts can reach.
    var reachableEndpoints: [(String, String)] {
        let endpoints =
            input.bind.map { ("input.bind", $0) } + input.connect.map { ("input.connect", $0) }
            + [("output.endpoint", output.endpoint), ("control.endpoint", control.endpoint)]
        return endpoints.filter { !$0.1.isEmpty && !Self.isLocal(endpoint: $0.1) }
    }

    /// A broken rule that relates several keys, reported on the first of them.
    private struct BrokenRule {
        let keys: [String]
        let issue: ConfigurationIssue
    }

    /// The rules that relate keys, evaluated on values that passed their range checks.
    private func crossKeyRules() -> [BrokenRule] {
        var broken: [BrokenRule] = []
        func fail(_ keys: [String], _ value: String, _ problem: String) {
            broken.append(BrokenRule(keys: keys, issue: ConfigurationIssue(key: keys[0], value: value, problem: problem)))
        }
        if input.bind.isEmpty && input.connect.isEmpty {
            fail(["input.bind", "input.connect"], "[]", "at least one endpoint is required in input.bind or input.connect")
        }
        if window.size == 0 && window.maxAgeSeconds == 0 {
            fail(
                ["window.size", "window.max_age_seconds"], "0",
                "a time-only window (size = 0) needs window.max_age_seconds > 0")
        }
        if window.size == 0 && window.maxPoints == 0 {
            fail(
                ["window.max_points", "window.size"], "0",
                "required in 1...\(ConfigurationKey.maxWindowPoints) when window.size = 0")
        }
        if window.size > 0 && window.maxPoints > 0 {
            fail(
                ["window.max_points", "window.size"], "\(window.maxPoints)",
                "must be 0 when window.size is set (window.size = \(window.size) is the cap)")
        }
        if window.capacity > 0 && forest.sampleSize > window.capacity {
            fail(
                ["forest.sample_size", "window.size", "window.max_points"], "\(forest.sampleSize)",
                "must not exceed the window capacity (\(window.capacity))")
        }
        if clustering.scaling == .fixed && clustering.scalingRanges.count != input.dimension {
            fail(
                ["clustering.scaling_ranges", "clustering.scaling", "input.dimension"],
                ConfigurationKey.rangesLiteral(clustering.scalingRanges),
                "must hold input.dimension = \(input.dimension) ranges when clustering.scaling = \"fixed\"")
        }
        if clustering.scaling != .fixed && !clustering.scalingRanges.isEmpty {
            fail(
                ["clustering.scaling_ranges", "clustering.scaling"],
                ConfigurationKey.rangesLiteral(clustering.scalingRanges),
                "must be [] unless clustering.scaling = \"fixed\" (it is \"\(clustering.scaling.rawValue)\")")
        }
        if forest.refreshPerRecluster > forest.trees {
            fail(
                ["forest.refresh_per_recluster", "forest.trees"], "\(forest.refreshPerRecluster)",
                "must not exceed forest.trees = \(forest.trees)")
        }
        if schedule.intervalSeconds == 0 && schedule.everyPoints == 0 {
            fail(
                ["schedule.interval_seconds", "schedule.every_points"], "0",
                "schedule.interval_seconds and schedule.every_points cannot both be 0 (nothing would trigger a re-clustering)")
        }
        if !security.curveAuthorizedKeysFile.isEmpty && security.curveSecretKeyFile.isEmpty {
            fail(
                ["security.curve_authorized_keys_file", "security.curve_secret_key_file"],
                TOMLLiteral.string(security.curveAuthorizedKeysFile),
                "requires security.curve_secret_key_file")
        }
        broken += securityRules()
        var boundBy: [String: String] = [:]
        let bound = input.bind.map { ("input.bind", $0) }
            + [("output.endpoint", output.endpoint), ("control.endpoint", control.endpoint)]
        // A wildcard port (`tcp://127.0.0.1:*`) binds a fresh ephemeral port each time, so two of
        // them never collide.
        for (key, endpoint) in bound where !endpoint.isEmpty && !endpoint.hasSuffix(":*") {
            if let first = boundBy[endpoint] {
                fail([key, first], TOMLLiteral.string(endpoint), "already bound by \(first)")
            } else {
                boundBy[endpoint] = key
            }
        }
        return broken
    }
}
