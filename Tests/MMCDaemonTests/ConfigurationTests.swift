import Foundation
import Logging
import MassClustering
@testable import MMCConfiguration
@testable import MMCDaemon
import MMCTestSupport
import Testing

@Suite(.tags(.unit)) struct ConfigurationTests {
    /// The issues of a configuration that must fail, as `description` lines.
    func problems(_ toml: String, overrides: [String] = []) -> [String] {
        do {
            _ = try DaemonConfiguration(toml: toml, source: "test.toml", overrides: overrides)
            Issue.record("expected a ConfigurationError")
            return []
        } catch {
            return error.issues.map(\.description)
        }
    }

    static let shippedConfigPath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("config/mmcd.toml").path

    @Test func defaultsAreValidAndAnEmptyFileMeansDefaults() throws {
        try DaemonConfiguration().validate()
        #expect(try DaemonConfiguration(toml: "") == DaemonConfiguration())
        let paths = DaemonConfiguration.documentedKeys.map(\.path)
        #expect(Set(paths).count == paths.count)
        #expect(paths.count == 56)
    }

    @Test func theDescriptorBudgetCountsHTTPAndEveryBindingZeroMQSocket() throws {
        // 65 (HTTP) + 3 x 256 (input, output, control) + 128 (reserve) = 961.
        #expect(FileDescriptorBudget.problem(DaemonConfiguration(), limit: 1_024) == nil)
        #expect(FileDescriptorBudget.problem(DaemonConfiguration(), limit: 960) != nil)
        var configuration = DaemonConfiguration()
        configuration.security.maxPeers = 300
        let problem = try #require(FileDescriptorBudget.problem(configuration, limit: 1_024))
        #expect(problem.contains("security.max_peers = 300") && problem.contains("http.max_connections = 64"))
        // Without a control socket and an HTTP server, only the input and output sockets count.
        configuration.control.endpoint = ""
        configuration.http.port = 0
        #expect(FileDescriptorBudget.problem(configuration, limit: 728) == nil)
        #expect(FileDescriptorBudget.problem(configuration, limit: 727) != nil)
    }

    @Test func clusteringThreadsDefaultToEveryProcessorButOne() throws {
        var clustering = DaemonConfiguration.Clustering()
        #expect(clustering.resolvedThreads(processors: 8) == 7)
        #expect(clustering.resolvedThreads(processors: 1) == 1)
        clustering.threads = 3
        #expect(clustering.resolvedThreads(processors: 8) == 3)
        #expect(try DaemonConfiguration(toml: "[clustering]\nthreads = 5").clustering.threads == 5)
        #expect(
            problems("[clustering]\nthreads = 2000")
                == ["clustering.threads = 2000: must be an integer in 0...1024 (0 = every processor but one)"])
    }

    /// The keys `config/mmcd.toml` sets, `section.key` in file order, with their values and
    /// whether a comment line precedes each.
    static func shippedConfigKeys() throws -> [(key: String, value: String, commented: Bool)] {
        let lines = try String(contentsOfFile: shippedConfigPath, encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var section = ""
        var keys: [(key: String, value: String, commented: Bool)] = []
        for (index, line) in lines.enumerated() {
            if line.hasPrefix("[") {
                section = String(line.dropFirst().dropLast())
            } else if !line.hasPrefix("#"), let equals = line.firstIndex(of: "=") {
                keys.append(
                    (
                        section + "." + line[..<equals].trimmingCharacters(in: .whitespaces),
                        line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces),
                        index > 0 && lines[index - 1].hasPrefix("#")
                    ))
            }
        }
        return keys
    }

    @Test func shippedConfigIsTheDefaultsAndDocumentsEveryKey() throws {
        let configuration = try DaemonConfiguration(contentsOfFile: Self.shippedConfigPath)
        #expect(configuration == DaemonConfiguration())

        let shipped = try Self.shippedConfigKeys()
        for key in shipped {
            #expect(key.commented, "\(key.key) has no comment")
        }
        // Same keys, same defaults, same order: `--check-config` prints them as the file lists them.
        #expect(shipped.map(\.key) == DaemonConfiguration.documentedKeys.map(\.path))
        #expect(shipped.map(\.key) == DaemonConfiguration().settings.map(\.key))
        let found = Dictionary(uniqueKeysWithValues: shipped.map { ($0.key, $0.value) })
        for key in DaemonConfiguration.documentedKeys {
            #expect(found[key.path] == key.defaultValue, "\(key.path)")
        }
    }

    @Test func readsEverySection() throws {
        let configuration = try DaemonConfiguration(
            toml: """
                [input]
                bind = []
                connect = ["tcp://10.0.0.5:6000", "ipc:///run/mmcd/in.sock"]
                socket = "pull"
                topics = ["site-a/", "site-b/"]
                dimension = 3
                [window]
                size = 0
                max_age_seconds = 600
                max_points = 50000
                [forest]
                trees = 200
                seed = 7
                [clustering]
                method = "dmc"
                min_cluster_size = 40
                [schedule]
                interval_seconds = 2.5
                every_points = 0
                [output]
                provisional = false
                assignments = "full"
                [control]
                endpoint = ""
                [state]
                directory = ""
                [http]
                port = 0
                live_page = false
                [log]
                level = "debug"
                format = "json"
                [security]
                curve_secret_key_file = "/etc/mmcd/server.key"
                allow_any_client = true
                """)
        #expect(configuration.input.bind.isEmpty)
        #expect(configuration.input.connect == ["tcp://10.0.0.5:6000", "ipc:///run/mmcd/in.sock"])
        #expect(configuration.input.socket == .pull)
        #expect(configuration.input.topics == ["site-a/", "site-b/"])
        #expect(configuration.input.dimension == 3)
        #expect(configuration.window.size == 0)
        #expect(configuration.window.maxAgeSeconds == 600)
        #expect(configuration.window.capacity == 50_000)
        #expect(configuration.forest.trees == 200)
        #expect(configuration.forest.seed == 7)
        #expect(configuration.clustering.method == .dmc)
        #expect(configuration.clustering.minClusterSize == 40)
        #expect(configuration.schedule.intervalSeconds == 2.5)
        #expect(configuration.schedule.everyPoints == 0)
        #expect(configuration.output.provisional == false)
        #expect(configuration.output.assignments == .full)
        #expect(configuration.control.endpoint == "")
        #expect(configuration.state.directory == "")
        #expect(configuration.http.port == 0)
        #expect(configuration.http.livePage == false)
        #expect(configuration.log.level == .debug)
        #expect(configuration.log.format == .json)
        #expect(configuration.security.curveSecretKeyFile == "/etc/mmcd/server.key")
        #expect(configuration.security.allowAnyClient)
    }

    @Test func rangeErrorsNameKeyValueAndAllowedRange() throws {
        #expect(
            problems("[window]\nsize = -3")
                == ["window.size = -3: must be an integer in 0...10000000 (0 = time-only window)"])
        #expect(
            problems("[schedule]\ninterval_seconds = 0.01")
                == ["schedule.interval_seconds = 0.01: must be 0 or a number of seconds in 0.1...86400 (0 = off)"])
        #expect(
            problems("[forest]\nseed = -1") == ["forest.seed = -1: must be an integer in 0...9223372036854775807"])
        #expect(
            problems("[clustering]\nmin_cluster_size = 1")
                == [
                    "clustering.min_cluster_size = 1: must be 0 or an integer in 2...10000000 (0 = derived from the window size)"
                ])
        #expect(problems("[http]\nport = 70000") == ["http.port = 70000: must be an integer in 0...65535 (0 = off)"])
        #expect(
            problems("[security]\nmax_peers_per_address = -1")
                == [
                    "security.max_peers_per_address = -1: must be an integer in 0...100000 "
                        + "(0 = only security.max_peers applies)"
                ])
        #expect(try DaemonConfiguration(toml: "[security]\nmax_peers_per_address = 0").security.maxPeersPerAddress == 0)
        #expect(
            problems("[output]\ntopic = \"\"") == [#"output.topic = "": must be a topic of 1...246 bytes"#])
        #expect(
            problems("[state]\ndirectory = \"var/lib\"")
                == [#"state.directory = "var/lib": must be "" (off) or an absolute path"#])
    }

    @Test func collectsEveryErrorNotJustTheFirst() {
        let found = problems(
            """
            [window]
            size = -3
            [forest]
            trees = 0
            height = 99
            [log]
            level = "loud"
            """)
        #expect(
            found == [
                #"log.level = "loud": must be one of "trace", "debug", "info", "notice", "warning", "error", "critical""#,
                "window.size = -3: must be an integer in 0...10000000 (0 = time-only window)",
                "forest.trees = 0: must be an integer in 1...1024",
                "forest.height = 99: must be an integer in 1...20",
            ])
    }

    @Test func wrongTypesAreNamedAndDoNotTriggerRulesAboutDefaults() {
        #expect(
            problems("[window]\nsize = \"big\"\nmax_points = 5")
                == [#"window.size = "big": must be an integer in 0...10000000 (0 = time-only window)"#])
        #expect(problems("[output]\nprovisional = 1") == ["output.provisional = 1: must be true or false"])
        #expect(
            problems("[input]\ntopics = [1, 2]")
                == [
                    #"input.topics = [1, 2]: must be a list of 1...1024 strings, each a topic prefix of at most 255 bytes ("" matches every topic)"#
                ])
        #expect(problems("window = 3") == ["window = 3: must be a table ([window])"])
    }

    @Test func unknownKeysAreErrorsWithASuggestion() {
        #expect(problems("[window]\nsise = 5") == ["window.sise: unknown key; did you mean window.size?"])
        #expect(problems("[window]\ntrees = 5") == ["window.trees: unknown key; did you mean forest.trees?"])
        #expect(problems("[windw]\nsize = 5") == ["windw: unknown section; did you mean [window]?"])
        #expect(problems("[input]\nzzzzzzzz = 1") == ["input.zzzzzzzz: unknown key"])
        #expect(problems("[window.inner]\nsize = 1") == ["window.inner: unknown key"])
    }

    @Test func syntaxErrorsNameFileAndPosition() {
        let found = problems("[window]\nsize = = 3")
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("test.toml:2:") == true)
        #expect(found.first?.contains("invalid TOML") == true)
    }

    @Test func rulesRelatingKeys() {
        #expect(
            problems("[window]\nsize = 0\nmax_age_seconds = 60")
                == ["window.max_points = 0: required in 1...10000000 when window.size = 0"])
        #expect(
            problems("[window]\nsize = 0\nmax_points = 1000")
                == ["window.size = 0: a time-only window (size = 0) needs window.max_age_seconds > 0"])
        #expect(
            problems("[window]\nmax_points = 100")
                == ["window.max_points = 100: must be 0 when window.size is set (window.size = 10000 is the cap)"])
        #expect(
            problems("[window]\nsize = 100")
                == ["forest.sample_size = 256: must not exceed the window capacity (100)"])
        #expect(
            problems("[forest]\ntrees = 3\nrefresh_per_recluster = 4")
                == ["forest.refresh_per_recluster = 4: must not exceed forest.trees = 3"])
        #expect(
            problems("[schedule]\ninterval_seconds = 0\nevery_points = 0")
                == [
                    "schedule.interval_seconds = 0: schedule.interval_seconds and schedule.every_points cannot both be 0 (nothing would trigger a re-clustering)"
                ])
        #expect(
            problems("[input]\nbind = []")
                == ["input.bind = []: at least one endpoint is required in input.bind or input.connect"])
        #expect(
            problems("[control]\nendpoint = \"tcp://127.0.0.1:5557\"")
                == [#"control.endpoint = "tcp://127.0.0.1:5557": already bound by output.endpoint"#])
        #expect(
            problems("[security]\ncurve_authorized_keys_file = \"/etc/mmcd/clients\"")
                == [
                    #"security.curve_authorized_keys_file = "/etc/mmcd/clients": requires security.curve_secret_key_file"#
                ])
        let anyClient = problems(#"[input]\#nbind = ["tcp://0.0.0.0:5556"]\#n[security]\#ncurve_secret_key_file = "/k/s.key""#)
        #expect(anyClient.count == 1 && anyClient[0].contains("security.allow_any_client = true"), "\(anyClient)")
        #expect(
            problems("[security]\ncurve_secret_key_file = \"/k/server.pub\"")
                == [
                    #"security.curve_secret_key_file = "/k/server.pub": is a public key file; the server needs its secret key (mmc keygen --out PREFIX writes PREFIX.key)"#
                ])
    }

    @Test func endpointsAreCheckedOneByOne() {
        #expect(
            problems(#"[input]\#nbind = ["tcp://*:5556", "tcp//nohost", "tcp://host:0", "ipc://"]"#) == [
                #"input.bind[1] = "tcp//nohost": must be a ZeroMQ endpoint (tcp://host:port, ipc://path or inproc://name)"#,
                #"input.bind[2] = "tcp://host:0": must be a ZeroMQ endpoint (tcp://host:port, ipc://path or inproc://name)"#,
                #"input.bind[3] = "ipc://": must be a ZeroMQ endpoint (tcp://host:port, ipc://path or inproc://name)"#,
            ])
        for good in ["tcp://[::1]:5556", "tcp://eth0:7000", "inproc://mmcd-test", "ipc:///run/mmcd/x.sock"] {
            #expect(StringRule.isEndpoint(good), "\(good)")
        }
    }

    @Test func overridesWinOverTheFileAndAreValidatedTheSameWay() throws {
        let configuration = try DaemonConfiguration(
            toml: "[window]\nsize = 2000\n[log]\nlevel = \"error\"",
            overrides: [
                "window.size=5000", "output.provisional = false", "output.topic=sensors",
                "input.connect=tcp://a:1, tcp://b:2", "input.topics=[\"x/\", \"y/\"]", "log.level=debug",
                "schedule.interval_seconds=2.5", "forest.seed=9", "state.directory=/var/lib/mmcd/a",
            ])
        #expect(configuration.window.size == 5_000)
        #expect(configuration.output.provisional == false)
        #expect(configuration.output.topic == "sensors")
        #expect(configuration.input.connect == ["tcp://a:1", "tcp://b:2"])
        #expect(configuration.input.topics == ["x/", "y/"])
        #expect(configuration.log.level == .debug)
        #expect(configuration.schedule.intervalSeconds == 2.5)
        #expect(configuration.forest.seed == 9)
        #expect(configuration.state.directory == "/var/lib/mmcd/a")

        #expect(
            problems("", overrides: ["window.size=abc", "windowsize", "window.sise=3", "window.size=-3"]) == [
                #"window.size = "abc": must be an integer in 0...10000000 (0 = time-only window)"#,
                "windowsize: an override must be key=value, e.g. window.size=5000",
                "window.sise: unknown key; did you mean window.size?",
                "window.size = -3: must be an integer in 0...10000000 (0 = time-only window)",
            ])
        #expect(
            try DaemonConfiguration().applying(overrides: ["input.connect="]).input.connect == [])
    }

    @Test func validateCatchesHandBuiltValues() {
        var configuration = DaemonConfiguration()
        configuration.window.size = -3
        configuration.schedule.intervalSeconds = .nan
        #expect(throws: ConfigurationError.self) { try configuration.validate() }
        do {
            try configuration.validate()
        } catch {
            #expect(
                error.description == """
                    window.size = -3: must be an integer in 0...10000000 (0 = time-only window)
                    schedule.interval_seconds = nan: must be 0 or a number of seconds in 0.1...86400 (0 = off)
                    """)
        }
    }

    @Test func missingFileIsReported() {
        #expect {
            try DaemonConfiguration(contentsOfFile: "/nonexistent/mmcd.toml")
        } throws: { error in
            (error as? ConfigurationError)?.description == "/nonexistent/mmcd.toml: does not exist"
        }
    }

    @Test func reloadPlanSplitsLiveAndRestartKeys() throws {
        let old = DaemonConfiguration()
        let new = try old.applying(overrides: [
            "schedule.interval_seconds=30", "log.level=debug", "output.assignments=full", "window.size=20000",
            "input.bind=tcp://127.0.0.1:6000", "http.port=9500",
        ])
        let plan = DaemonConfiguration.reloadPlan(from: old, to: new)
        #expect(plan.applied == ["schedule.interval_seconds", "output.assignments", "log.level"])
        #expect(plan.requiresRestart == ["input.bind", "window.size", "http.port"])
        #expect(DaemonConfiguration.reloadPlan(from: old, to: old) == ([], []))

        let running = old.applyingLiveChanges(from: new)
        #expect(running.schedule.intervalSeconds == 30)
        #expect(running.log.level == .debug)
        #expect(running.output.assignments == .full)
        #expect(running.window.size == 10_000)
        #expect(running.input.bind == old.input.bind)
        #expect(running.http.port == old.http.port)

        let live = Set(DaemonConfiguration.documentedKeys.filter(\.reloadsLive).map(\.path))
        #expect(
            live == [
                "schedule.interval_seconds", "schedule.every_points", "schedule.time_budget_seconds",
                "output.provisional", "output.assignments", "output.full_every", "log.level",
            ])
    }

    @Test func settingsListEveryKeyAsTOML() {
        let settings = DaemonConfiguration().settings
        #expect(settings.count == DaemonConfiguration.documentedKeys.count)
        #expect(settings.first! == ("input.bind", #"["tcp://127.0.0.1:5556"]"#))
        #expect(settings.contains { $0 == ("log.level", #""info""#) })
        #expect(TOMLLiteral.string("a\"b\\c\nd\u{1}") == #""a\"b\\c\nd\u0001""#)
    }

    @Test func editDistance() {
        #expect(Suggestion.editDistance("", "abc") == 3)
        #expect(Suggestion.editDistance("kitten", "sitting") == 3)
        #expect(Suggestion.editDistance("size", "size") == 0)
    }
}
