public import Logging
public import MassClustering

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
        /// `clustering.allow_single_cluster`: the whole window competes with its clusters and
        /// comes back as one when no split is kept or its excess of mass outweighs theirs; off,
        /// a single unimodal cluster is cut into a few. For a stream with one operating mode.
        /// Default false.
        public var allowSingleCluster = false
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
        /// `security.max_peers`: TCP and IPC connections each ZeroMQ socket (input, output,
        /// control) holds at once; one more is closed as soon as it is accepted, so connecting
        /// in a loop cannot take the daemon's file descriptors. Default 256: three sockets'
        /// worth, the HTTP server and the reserve fit a limit of 1,024 descriptors.
        public var maxPeers = 256
        /// `security.max_peers_per_address`: TCP connections one remote IP address holds at
        /// once on each ZeroMQ socket; one more is closed as soon as it is accepted, so a client
        /// that leaks connections cannot take every `max_peers` place and lock the other hosts
        /// out. 0, or `max_peers` or more: only `max_peers` applies. IPC connections have no
        /// address and count only against `max_peers`. Default 64: a quarter of `max_peers`,
        /// room for dozens of producers behind one host or NAT address.
        public var maxPeersPerAddress = 64

        /// The defaults.
        public init() {}
    }
}
