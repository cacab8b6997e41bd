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
