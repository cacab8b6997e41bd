public import Prometheus

extension DaemonMetrics {
    /// `mmcd_auth_refused_total{reason}`: CURVE handshakes the allow-list refused, by reason
    /// (`unknown_key`, `mechanism`, `malformed`; see `ZAPDecision`).
    ///
    /// A client with a wrong server key or without CURVE fails inside libzmq before the
    /// allow-list is asked, so it is not counted here; it never gets a message through either.
    public func authRefused(reason: String) -> Counter {
        counter("auth_refused", "CURVE clients refused by the allow-list, by reason.", labels: [("reason", reason)])
    }

    /// `mmcd_auth_accepted_total`: CURVE handshakes the allow-list admitted.
    public var authAccepted: Counter {
        counter("auth_accepted", "CURVE clients admitted by the allow-list.")
    }

    /// `mmcd_points_future_timestamp_total`: points refused (one by one, the rest of their
    /// message taken) for a timestamp more than `input.max_future_seconds` ahead; they count in
    /// `mmcd_points_rejected_total` too.
    public var pointsFutureTimestamp: Counter {
        counter(
            "points_future_timestamp", "Points refused for a timestamp more than input.max_future_seconds ahead.")
    }

    /// `mmcd_points_out_of_order_total`: accepted points whose timestamp is older than the newest
    /// one received before them.
    public var pointsOutOfOrder: Counter {
        counter("points_out_of_order", "Accepted points older than the newest timestamp received before them.")
    }

    /// `mmcd_control_replies_dropped_total`: control replies not sent: the client's queue was at
    /// `control.send_hwm` (it does not read), or the client was gone.
    public var controlRepliesDropped: Counter {
        counter("control_replies_dropped", "Control replies dropped: the client did not read, or was gone.")
    }

    /// The counter `mmcd_<name>_total` with `labels` (the registry hands out the same one for
    /// the same name and labels).
    private func counter(_ name: String, _ help: String, labels: [(String, String)] = []) -> Counter {
        registry.makeCounter(
            descriptor: MetricNameDescriptor(namespace: "mmcd", metricName: name, unitName: "total", helpText: help),
            labels: labels)
    }
}
