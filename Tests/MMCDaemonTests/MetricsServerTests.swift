import Foundation
import Glibc
import Logging
import MMCDaemon
import MMCTestSupport
import Prometheus
import ServiceLifecycle
import Testing

/// One HTTP/1.1 exchange over a plain TCP socket.
struct RawHTTPResponse: Sendable {
    let status: Int
    let headers: [String: String]
    let body: String
}

/// Sends `GET path` to 127.0.0.1:`port` on a dedicated thread (the socket calls block) and
/// reads the response until the server closes the connection.
func httpGet(port: Int, path: String, host: String = "127.0.0.1") async throws -> RawHTTPResponse {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try blockingGet(port: port, path: path, host: host) }) }.start()
    }
}

struct HTTPTestError: Error, CustomStringConvertible {
    let description: String
}

/// A TCP connection to 127.0.0.1:`port` whose connect, sends and receives time out after
/// `timeout`; the caller closes it.
func loopbackConnection(port: Int, timeout: timeval) throws -> Int32 {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw HTTPTestError(description: "socket: errno \(errno)") }
    var timeout = timeout
    setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else {
        let error = HTTPTestError(description: "connect to port \(port): errno \(errno)")
        close(descriptor)
        throw error
    }
    return descriptor
}

private func blockingGet(port: Int, path: String, host: String) throws -> RawHTTPResponse {
    let descriptor = try loopbackConnection(port: port, timeout: timeval(tv_sec: 10, tv_usec: 0))
    defer { close(descriptor) }
    let request = Array("GET \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n".utf8)
    let sent = request.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    guard sent == request.count else { throw HTTPTestError(description: "send: errno \(errno)") }
    var response: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        guard count >= 0 else { throw HTTPTestError(description: "recv: errno \(errno)") }
        if count == 0 { break }
        response += buffer[..<count]
    }
    let text = String(decoding: response, as: UTF8.self)
    guard let split = text.range(of: "\r\n\r\n") else { throw HTTPTestError(description: "no header end: \(text)") }
    let head = text[..<split.lowerBound].components(separatedBy: "\r\n")
    let statusParts = head[0].split(separator: " ")
    guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
        throw HTTPTestError(description: "bad status line: \(head[0])")
    }
    var headers: [String: String] = [:]
    for line in head.dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    return RawHTTPResponse(status: status, headers: headers, body: String(text[split.upperBound...]))
}

@Suite(.serialized, .tags(.unit)) struct MetricsServerTests {
    let logger = Logger(label: "mmcd.test.metrics") { _ in SwiftLogNoOpLogHandler() }

    /// Runs `server` in a service group for the duration of `body`, then shuts it down gracefully.
    func withServer(
        _ server: MetricsServer, _ body: (Int) async throws -> Void
    ) async throws {
        let group = ServiceGroup(configuration: .init(services: [server], logger: logger))
        let running = Task { try await group.run() }
        do {
            let port = try await server.boundPort()
            try await body(port)
        } catch {
            await group.triggerGracefulShutdown()
            try? await running.value
            throw error
        }
        await group.triggerGracefulShutdown()
        try await running.value
    }

    @Test func servesMetricsInPrometheusTextFormat() async throws {
        let metrics = DaemonMetrics(registry: PrometheusCollectorRegistry())
        metrics.pointsReceived.increment(by: Int64(3))
        metrics.pointsDecoded.increment(by: Int64(2))
        metrics.messagesRejected(reason: "bad_magic").increment()
        metrics.pointsDropped(reason: "queue_full").increment(by: Int64(500))
        metrics.windowPoints.set(to: 2)
        metrics.clusters.set(to: 4)
        metrics.noiseFraction.set(to: 0.25)
        metrics.reclusterDuration.record(.milliseconds(40))
        metrics.reclusterAbandoned.increment()
        metrics.updatesPublished(kind: "full").increment()
        metrics.snapshotWrites(result: .ok).increment()

        let server = MetricsServer(
            host: "127.0.0.1", port: 0, registry: metrics.registry, health: HealthMonitor(), logger: logger)
        try await withServer(server) { port in
            #expect(port > 0)
            let response = try await httpGet(port: port, path: "/metrics")
            #expect(response.status == 200)
            #expect(response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
            let lines = Set(response.body.split(separator: "\n").map(String.init))
            for expected in [
                "# TYPE mmcd_points_received_total counter",
                "# HELP mmcd_points_received_total Points in received messages.",
                "mmcd_points_received_total 3",
                "mmcd_points_decoded_total 2",
                #"mmcd_messages_rejected_total{reason="bad_magic"} 1"#,
                #"mmcd_points_dropped_total{reason="queue_full"} 500"#,
                "mmcd_window_points 2.0",
                "mmcd_clusters 4.0",
                "mmcd_noise_fraction 0.25",
                "# TYPE mmcd_recluster_duration_seconds histogram",
                #"mmcd_recluster_duration_seconds_bucket{le="0.025"} 0"#,
                #"mmcd_recluster_duration_seconds_bucket{le="0.05"} 1"#,
                "mmcd_recluster_duration_seconds_count 1",
                "mmcd_recluster_abandoned_total 1",
                #"mmcd_updates_published_total{kind="full"} 1"#,
                #"mmcd_snapshot_writes_total{result="ok"} 1"#,
                #"mmcd_snapshot_writes_total{result="error"} 0"#,
            ] {
                #expect(lines.contains(expected), "missing: \(expected)")
            }
            let missing = try await httpGet(port: port, path: "/nothing")
            #expect(missing.status == 404)
        }
    }

    @Test func lossAndRefusalCountersAreExportedAtZeroBeforeTheFirstOne() {
        let metrics = DaemonMetrics(registry: PrometheusCollectorRegistry())
        var bytes: [UInt8] = []
        metrics.registry.emit(into: &bytes)
        let lines = Set(String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init))
        let missing = [
            #"mmcd_points_dropped_total{reason="queue_full"} 0"#,
            #"mmcd_points_dropped_total{reason="too_old"} 0"#,
            #"mmcd_messages_dropped_total{reason="queue_full"} 0"#,
            "mmcd_points_future_timestamp_total 0",
            "mmcd_points_out_of_order_total 0",
            "mmcd_control_replies_dropped_total 0",
            "mmcd_auth_accepted_total 0",
        ].filter { !lines.contains($0) }
        #expect(missing.isEmpty, "not exported at start: \(missing)")
    }

    @Test func healthReportsStatusAndReclusterAge() async throws {
        let clock = ManualClock()
        let health = HealthMonitor(staleAfter: nil, clock: clock)
        let server = MetricsServer(
            host: "127.0.0.1", port: 0, registry: PrometheusCollectorRegistry(), health: health, logger: logger)
        try await withServer(server) { port in
            let starting = try await httpGet(port: port, path: "/healthz")
            #expect(starting.status == 503)
            #expect(starting.headers["content-type"] == "application/json")
            #expect(starting.body == #"{"status":"starting","last_recluster_age_seconds":null}"#)

            health.markReady()
            health.recordRecluster()
            clock.advance(by: .milliseconds(1_500))
            let ready = try await httpGet(port: port, path: "/healthz")
            #expect(ready.status == 200)
            #expect(ready.body == #"{"status":"ok","last_recluster_age_seconds":1.5}"#)

            health.markStopping()
            #expect(try await httpGet(port: port, path: "/healthz").status == 503)
        }
        await #expect(throws: MetricsServerError.self) { try await server.boundPort() }
    }

    @Test func aTakenPortFailsTheServiceAndThePortQuery() async throws {
        let first = MetricsServer(
            host: "127.0.0.1", port: 0, registry: PrometheusCollectorRegistry(), health: HealthMonitor(),
            logger: logger)
        try await withServer(first) { port in
            let second = MetricsServer(
                host: "127.0.0.1", port: port, registry: PrometheusCollectorRegistry(), health: HealthMonitor(),
                logger: logger)
            let group = ServiceGroup(configuration: .init(services: [second], logger: logger))
            await #expect(throws: (any Error).self) { try await group.run() }
            await #expect(throws: MetricsServerError.self) { try await second.boundPort() }
        }
    }

    @Test func staleWhenReclusteringStops() {
        let clock = ManualClock()
        let health = HealthMonitor(staleAfter: .milliseconds(300), clock: clock)
        #expect(health.report().status == .starting)
        #expect(health.report().lastReclusterAge == nil)
        health.markReady()
        #expect(health.report().status == .ok)
        clock.advance(by: .milliseconds(300))
        #expect(health.report().status == .ok)
        clock.advance(by: .milliseconds(1))
        #expect(health.report().status == .stale)
        #expect(!health.report().isHealthy)
        health.recordRecluster()
        #expect(health.report().status == .ok)
        #expect(health.report().lastReclusterAge == .zero)
        clock.advance(by: .milliseconds(400))
        #expect(health.report().status == .stale)
        health.setStaleAfter(nil)
        #expect(health.report().status == .ok)
        #expect(health.report().lastReclusterAge == .milliseconds(400))
    }
}
