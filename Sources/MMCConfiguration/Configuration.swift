public import Logging
public import MassClustering

/// Everything `mmcd` reads from `/etc/mmcd/mmcd.toml`, as one validated value.
///
/// Each TOML section is a nested struct (`[window]` is ``Window``), each key a property whose
/// initial value is the documented default, so `DaemonConfiguration()` is the configuration of
/// an empty file. The shipped `config/mmcd.toml` lists every key with that default and a comment.
///
/// Values come from three places, later ones winning: the defaults, the file
/// (``init(contentsOfFile:overrides:)``) and command-line overrides such as
/// `--set window.size=5000` (``applying(overrides:)``). Every path ends in ``validate()``, which
/// reports *all* problems at once, each naming the key, the value and what is allowed:
///
/// ```swift
/// var configuration = DaemonConfiguration()
/// configuration.window.size = -3
/// try configuration.validate()
/// // ConfigurationError: window.size = -3: must be an integer in 0...10000000
/// ```
///
/// On `SIGHUP` the daemon reads the file again and asks
/// ``reloadPlan(from:to:)`` which changed keys it can apply without losing the window (the
/// schedule, the output's assignment options, the log level) and which need a restart.
public struct DaemonConfiguration: Sendable, Hashable {
    /// `[input]`: where points come from and how much of them is accepted.
    public var input = Input()
    /// `[window]`: which points the model keeps.
    public var window = Window()
    /// `[forest]`: the mass-estimation forest over the window.
    public var forest = Forest()
    /// `[clustering]`: the re-clustering algorithm and its parameters.
    public var clustering = Clustering()
    /// `[schedule]`: when the window is re-clustered.
    public var schedule = Schedule()
    /// `[output]`: where and how cluster updates are published.
    public var output = Output()
    /// `[control]`: the request/reply endpoint (snapshot, stats, classify).
    public var control = Control()
    /// `[state]`: snapshots that survive a restart.
    public var state = State()
    /// `[http]`: Prometheus metrics, the health endpoint and the live page.
    public var http = HTTP()
    /// `[log]`: logging.
    public var log = Log()
    /// `[security]`: ZeroMQ CURVE key files.
    public var security = Security()

    /// The default configuration: what an empty configuration file means. It is valid.
    public init() {}
}

extension DaemonConfiguration {
    /// The kind of ZeroMQ socket that receives points.
    public enum SocketKind: String, Sendable, Hashable, CaseIterable {
        /// `SUB`: many producers, messages beyond the high-water mark are dropped (and counted).
        case sub
        /// `PULL`: producers block when the daemon falls behind, nothing is lost.
        case pull
    }

    /// `[input]`: the sockets points arrive on and the limits every message is checked against.
    public struct Input: Sendable, Hashable {
        /// `input.bind`: endpoints the input socket binds (`tcp://host:port`, `ipc://path`,
        /// `inproc://name`). Default `["tcp://127.0.0.1:5556"]`.
        public var bind = ["tcp://127.0.0.1:5556"]
        /// `input.connect`: endpoints the input socket connects to. Default `[]`. At least one
        /// endpoint must be given in `bind` or `connect`.
        public var connect: [String] = []
        /// `input.socket`: `sub` or `pull`. Default `sub`.
        public var socket = SocketKind.sub
        /// `input.topics`: topic prefixes; a `sub` socket subscribes to them, a `pull` socket
        /// accepts only messages whose topic starts with one. `""` matches every topic.
        /// Default `[""]`.
        public var topics = [""]
        /// `input.receive_hwm`: receive high-water mark in messages (`ZMQ_RCVHWM`); 0 means no
        /// limit. Default 1,000 (with `queue_capacity`, the bound on the backlog held in memory).
        public var receiveHighWaterMark = 1_000
        /// `input.max_message_bytes`: largest accepted message; larger ones are rejected.
        /// Default 16 MiB.
        public var maxMessageBytes = 16 << 20
        /// `input.max_batch_points`: most points accepted in one message. Default 100,000.
        public var maxBatchPoints = 100_000
        /// `input.dimension`: values per point; messages of another dimension are rejected.
        /// Default 2.
        public var dimension = 2
        /// `input.queue_capacity`: decoded batches buffered between the receive thread and the
        /// model; batches beyond it are dropped and counted. Default 1,024.
        public var queueCapacity = 1_024
        /// `input.max_future_seconds`: points stamped more than this many seconds after the
        /// daemon's clock are rejected (counted, the rest of their message is taken), and no
        /// point moves a time window's clock past the daemon's clock; 0 means neither: the
        /// timestamps are not wall-clock times. Default 300.
        public var maxFutureSeconds = 300.0

        /// The defaults.
        public init() {}
    }

    /// `[window]`: a count window (the last `size` points), a time window (points younger than
    /// `max_age_seconds`, at most `max_points` of them) or both.
    public struct Window: Sendable, Hashable {
        /// `window.size`: keep the last `size` points; 0 makes a time-only window. Default 10,000.
        public var size = 10_000
        /// `window.max_age_seconds`: drop points older than this; 0 means no age limit.
        /// Default 0.
        public var maxAgeSeconds = 0.0
        /// `window.max_points`: the cap of a time-only window (`size = 0`), where it is
        /// required; must stay 0 when `size` is set, because the size is then the cap. Default 0.
        public var maxPoints = 0

        /// The defaults.
        public init() {}

        /// The most points the window can hold: `size`, or `max_points` for a time-only window.
        public var capacity: Int { size > 0 ? size : maxPoints }
    }

    /// `[forest]`: the mass-estimation forest (Ting et al., "Mass estimation", MLJ 2013).
    public struct Forest: Sendable, Hashable {
        /// `forest.trees`: number of trees, 1...1024 (the core's `MassForest.Parameters`
        /// range). Default 32, the core's default.
        public var trees = 32
        /// `forest.height`: height of every tree (a tree has `2^(height+1) - 1` nodes).
        /// Default 10, the core's default.
        public var height = 10
        /// `forest.sample_size`: window points each tree is built from (psi). Default 256.
        public var sampleSize = 256
        /// `forest.refresh_per_recluster`: trees rebuilt from a fresh sample at every
        /// re-clustering so the partition follows drift; at most `trees`. Default 4.
        public var refreshPerRecluster = 4
        /// `forest.seed`: seed of the forest's random generator. Default 42.
        public var seed: UInt64 = 42

        /// The defaults.
        public init() {}
    }

    /// `[clustering]`: how the window is clustered.
    public struct Clustering: Sendable, Hashable {
        /// `clustering.method`: `mmc` or `dmc`. Default `mmc`.
        public var method = ClusteringMethod.mmc
        /// `clustering.min_samples`: neighbours whose mean distance is a point's core distance
        /// (its local density scale); 0 = plain single linkage. Default 15.
        public var minSamples = 15
        /// `clustering.min_cluster_size`: smallest cluster; smaller groups become noise. 0 derives
        /// it from the window size. Default 0.
        public var minClusterSize = 0
        /// `clustering.graph_neighbours`: k of the k-nearest-neighbour candidate graph.
        /// Default 15.
        public var graphNeighbours = 15
        /// `clustering.outlier_factor`: MMC only; a cluster takes in points up to this many times
        /// its own sparse-end spacing, farther ones are noise. Default 3.
        public var outlierFactor = 3.0
        /// `clustering.gap_factor`: a cluster holding a split where one side keeps half its
        /// points at this many times the split's level, and holds together up to there, is
        /// never a seed, and two clusters that meet on a ramp below this many times the link's
        /// level are one; 0 = off (no split is forced, no ramp merged). Default 2.
        public var gapFactor = 2.0
        /// `clustering.valley_ratio`: a split separates clusters only if two sides each keep a
        /// cluster's worth of points at this many times its density; other splits are undone
        /// unless they are gaps. 0 = off (every split competes, as in HDBSCAN). Default 2.
        public var valleyRatio = 2.0
        /// `clustering.scaling`: how each feature is put on one scale before the neighbour
        /// search: `robust` (the body of the window to [0, 1], far readings kept far away),
        /// `window` (the window's bounding box to [0, 1]), `none`, or `fixed` (the ranges of
        /// `scaling_ranges`). Default `robust`.
        public var scaling = FeatureScaling.Rule.robust
        /// `clustering.scaling_ranges`: with `scaling = "fixed"`, one `[lower, upper]` per
        /// feature, `input.dimension` of them; otherwise empty. Default `[]`.
        public var scalingRanges: [[Double]] = []
        /// `clustering.threads`: the most threads a re-clustering uses; the clustering is the same
        /// for any. 0 = every processor but one (at least 1), so ingestion keeps a core. Default 0.
        public var threads = 0

        /// The defaults.
        public init() {}

        /// The threads a re-clustering uses on a machine with `processors` processors.
        public func resolvedThreads(processors: Int) -> Int {
            threads > 0 ? threads : max(1, processors - 1)
        }
    }

    /// `[schedule]`: a re-clustering starts every `interval_seconds` or after `every_points` new
    /// points, whichever comes first, and never while another one runs.
    public struct Schedule: Sendable, Hashable {
        /// `schedule.interval_seconds`: seconds between re-clusterings; 0 turns the timer off.
        /// Default 10.
        public var intervalSeconds = 10.0
        /// `schedule.every_points`: new points that trigger a re-clustering; 0 turns the count
        /// trigger off. Default 5,000.
        public var everyPoints = 5_000
        /// `schedule.time_budget_seconds`: a re-clustering running longer is abandoned (and
        /// counted); 0 means no budget. Default 0.
        public var timeBudgetSeconds = 0.0

        /// The defaults.
        public init() {}
    }

    /// How cluster assignments are published.
    public enum AssignmentMode: String, Sendable, Hashable, CaseIterable {
        /// Every update carries the cluster id of every window point.
        case full
        /// Updates carry only the points whose cluster changed, with a full list every
        /// ``Output/fullEvery`` updates.
        case diff
    }

    /// `[output]`: the publishing socket (`XPUB`, bound) and what updates contain.
    public struct Output: Sendable, Hashable {
        /// `output.endpoint`: endpoint the publisher binds. Default `tcp://127.0.0.1:5557`.
        public var endpoint = "tcp://127.0.0.1:5557"
        /// `output.topic`: the shard key of published messages (1...246 bytes): cluster updates go
        /// out on `clusters.<topic>`, provisional assignments on `assign.<topic>`. Default `mmcd`.
        public var topic = "mmcd"
        /// `output.send_hwm`: send high-water mark per subscriber in messages (`ZMQ_SNDHWM`);
        /// 0 means no limit. Default 10,000.
        public var sendHighWaterMark = 10_000
        /// `output.provisional`: publish provisional assignments of new points between
        /// re-clusterings. Default `true`.
        public var provisional = true
        /// `output.assignments`: `full` or `diff`. Default `diff`.
        public var assignments = AssignmentMode.diff
        /// `output.full_every`: with `diff`, every n-th update carries the full assignment list.
        /// Default 10.
        public var fullEvery = 10

        /// The defaults.
        public init() {}
    }

    /// `[control]`: the request/reply endpoint.
    public struct Control: Sendable, Hashable {
        /// `control.endpoint`: endpoint the `REP`/`ROUTER` socket binds; `""` turns it off.
        /// Default `tcp://127.0.0.1:5558`.
        public var endpoint = "tcp://127.0.0.1:5558"
        /// `control.send_hwm`: replies queued for one client; a reply beyond it (a client that
        /// does not read) is dropped and counted, so such a client pins at most this many
        /// replies (a `snapshot` reply is about 16 bytes per window point). Default 8.
        public var sendHighWaterMark = 8

        /// The defaults.
        public init() {}
    }

    /// `[state]`: where snapshots of the window, forest and id mapping are kept.
    public struct State: Sendable, Hashable {
        /// `state.directory`: absolute path of the state directory; `""` disables snapshots.
        /// Default `/var/lib/mmcd` (systemd's `StateDirectory=mmcd`).
        public var directory = "/var/lib/mmcd"
        /// `state.snapshot_interval_seconds`: seconds between periodic snapshots; 0 writes one
        /// only at shutdown. Default 300.
        public var snapshotIntervalSeconds = 300.0

        /// The defaults.
        public init() {}
    }

    /// `[http]`: the metrics and health endpoint, and the live page.
    public struct HTTP: Sendable, Hashable {
        /// `http.address`: address the HTTP server listens on. Default `127.0.0.1`.
        public var address = "127.0.0.1"
        /// `http.port`: TCP port; 0 turns the HTTP server off. Default 9477.
        public var port = 9_477
        /// `http.live_page`: serve the live page (`/`: the window's scatter plot, the cluster
        /// table and the counters, updated after every re-clustering). Default `true`.
        public var livePage = true
        /// `http.remote_live_page`: serve the live page although `http.address` is not a
        /// loopback address; without it the page is off there (it plots every point of the
        /// window and has no authentication). Default `false`.
        public var remoteLivePage = false
        /// `http.max_connections`: connections open at once; one more closes the connection
        /// that has waited longest for a request. Default 64.
        public var maxConnections = 64
        /// `http.idle_timeout_seconds`: a connection without a complete request head this long
        /// after it opened or after its last response is closed (the idle and the header
        /// timeout). Default 10.
        public var idleTimeoutSeconds = 10.0
        /// `http.allowed_hosts`: host names the server answers besides IP literals, `localhost`
        /// and `http.address` (any other `Host:` gets 421: DNS rebinding). Default `[]`.
        public var allowedHosts: [String] = []

        /// Whether the live page is served: on, and on a loopback address or explicitly allowed
        /// elsewhere.
        public var servesLivePage: Bool {
            livePage && (remoteLivePage || DaemonConfiguration.isLoopback(host: address))
        }

        /// The defaults.
        public init() {}
    }

    /// Log line format.
    public enum LogFormat: String, Sendable, Hashable, CaseIterable {
        /// `timestamp level label: message key=value ...`
        case text
        /// One JSON object per line.
        case json
    }

    /// `[log]`: logging.
    public struct Log: Sendable, Hashable {
        /// `log.level`: `trace`, `debug`, `info`, `notice`, `warning`, `error` or `critical`.
        /// Default `info`.
        public var level = Logger.Level.info
        /// `log.format`: `text` or `json`. Default `text`.
        public var format = LogFormat.text

        /// The defaults.
        public init() {}
    }

    /// `[security]`: ZeroMQ CURVE. Both files are optional; `""` means not configured.
    public struct Security: Sendable, Hashable {
        /// `security.curve_secret_key_file`: absolute path of the server's Z85 secret key; when
        /// set, the daemon's sockets are CURVE servers. Default `""`.
        public var curveSecretKeyFile = ""
        /// `security.curve_authorized_keys_file`: absolute path of a file of client public keys
        /// (Z85, one a line) allowed to connect; requires `curve_secret_key_file`. Default `""`.
        public var curveAuthorizedKeysFile = ""
        /// `security.allow_any_client`: CURVE without an allow-list on an endpoint other hosts
        /// reach admits any client with any key pair, so it is refused unless this says so.
        /// Default `false`.
        public var allowAnyClient = false

        /// The defaults.
        public init() {}
    }
}

extension DaemonConfiguration {
    /// Checks every key against its allowed range and the rules that relate keys.
    ///
    /// - Throws: ``ConfigurationError`` listing every problem, in key order.
    public func validate() throws(ConfigurationError) {
        let issues = validationIssues(excluding: [])
        if !issues.isEmpty { throw ConfigurationError(issues: issues) }
    }

    /// Which keys differ between two configurations, split into those the running daemon
    /// applies on `SIGHUP` and those that take effect only after a restart.
    ///
    /// Live keys: everything in `[schedule]`, `output.provisional`, `output.assignments`,
    /// `output.full_every` and `log.level`. Every other key shapes the window, the forest, a
    /// socket, the state directory or the HTTP listener, which cannot change without losing
    /// them.
    ///
    /// - Returns: key paths in documentation order.
    public static func reloadPlan(
        from old: DaemonConfiguration, to new: DaemonConfiguration
    ) -> (applied: [String], requiresRestart: [String]) {
        var applied: [String] = []
        var requiresRestart: [String] = []
        for key in ConfigurationKey.all where key.render(old) != key.render(new) {
            if key.reloadsLive { applied.append(key.path) } else { requiresRestart.append(key.path) }
        }
        return (applied, requiresRestart)
    }

    /// This configuration with the live-reloadable keys taken from `new`: what the daemon runs
    /// with after a `SIGHUP` (keys that need a restart keep their current values).
    public func applyingLiveChanges(from new: DaemonConfiguration) -> DaemonConfiguration {
        var result = self
        for key in ConfigurationKey.all where key.reloadsLive { key.copy(&result, new) }
        return result
    }

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
