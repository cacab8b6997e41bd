extension DaemonConfiguration {
    /// Settings that are valid but unsafe: every TCP endpoint reachable from another host while
    /// CURVE is off (`security.curve_secret_key_file = ""`), and an HTTP server reachable from
    /// another host (it has no authentication, with or without CURVE).
    ///
    /// Without CURVE anyone who can reach such an endpoint can feed points, read the cluster
    /// updates or query the daemon, in clear text; anyone who reaches the HTTP server reads the
    /// metrics and the live page, which plots the window's points. Loopback addresses
    /// (`127.0.0.0/8`, `::1`, `localhost`, the `lo` interface), `ipc://` and `inproc://` are
    /// local and never warned about. `mmcd --check-config` prints these warnings and the daemon
    /// logs them at start.
    ///
    /// ```swift
    /// var configuration = DaemonConfiguration()
    /// configuration.input.bind = ["tcp://0.0.0.0:5556"]
    /// configuration.warnings.map(\.description)
    /// // ["input.bind = \"tcp://0.0.0.0:5556\": reachable from other hosts without CURVE; ..."]
    /// ```
    public var warnings: [ConfigurationIssue] {
        var warnings: [ConfigurationIssue] = []
        if security.curveSecretKeyFile.isEmpty {
            warnings += reachableEndpoints.map { key, endpoint in
                ConfigurationIssue(
                    key: key, value: TOMLLiteral.string(endpoint),
                    problem:
                        "reachable from other hosts without CURVE; anyone who reaches it can use it in clear text "
                        + "(set security.curve_secret_key_file and security.curve_authorized_keys_file, or bind 127.0.0.1)")
            }
        }
        if http.port != 0 && !Self.isLoopback(host: http.address) {
            warnings.append(
                ConfigurationIssue(
                    key: "http.address", value: TOMLLiteral.string(http.address),
                    problem:
                        "the metrics, health and live page server is reachable from other hosts and has no "
                        + "authentication; the live page plots the window's points (bind 127.0.0.1, or put an "
                        + "authenticating proxy in front)"))
        }
        if http.port != 0 && http.livePage && !http.servesLivePage {
            warnings.append(
                ConfigurationIssue(
                    key: "http.live_page", value: "true",
                    problem:
                        "not served: http.address is not a loopback address and the page plots every point of the "
                        + "window; set http.remote_live_page = true to serve it there anyway"))
        }
        return warnings
    }

    /// Whether `endpoint` only reaches this host: `ipc://`, `inproc://`, or TCP on a loopback
    /// address. A TCP connect endpoint with a source (`tcp://source;host:port`) is judged by its
    /// destination.
    static func isLocal(endpoint: String) -> Bool {
        guard let separator = endpoint.firstRange(of: "://") else { return false }
        let address = endpoint[separator.upperBound...]
        switch endpoint[..<separator.lowerBound] {
        case "ipc", "inproc":
            return true
        case "tcp":
            let destination = address.split(separator: ";").last ?? address
            guard let colon = destination.lastIndex(of: ":") else { return false }
            var host = destination[..<colon]
            if host.hasPrefix("[") && host.hasSuffix("]") { host = host.dropFirst().dropLast() }
            return isLoopback(host: String(host))
        default:
            return false
        }
    }

    /// `localhost`, the `lo` interface, `::1` or an IPv4 address in `127.0.0.0/8`.
    static func isLoopback(host: String) -> Bool {
        if ["localhost", "lo", "::1", "0:0:0:0:0:0:0:1"].contains(host.lowercased()) { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false).map { UInt8($0) }
        return octets.count == 4 && octets.allSatisfy { $0 != nil } && octets[0] == 127
    }
}
