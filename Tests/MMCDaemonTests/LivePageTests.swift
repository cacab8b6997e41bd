import Foundation
import Glibc
import MMCTestSupport
import MMCWire
@testable import MMCDaemon
import Prometheus
import Synchronization
import Testing

/// A `GET /live/events` connection read as it streams (the response never ends by itself).
final class EventStreamConnection {
    private let descriptor: Int32
    /// Everything received so far, chunk framing included.
    private(set) var received = ""

    init(port: Int) throws {
        descriptor = try loopbackConnection(port: port, timeout: timeval(tv_sec: 0, tv_usec: 100_000))
        let request = Array("GET /live/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    deinit { close(descriptor) }

    /// Reads until `text` has arrived after offset `from`, or the server closed the stream, or
    /// `limit` passed; whether it arrived.
    func read(until text: String, after from: String.Index? = nil, within limit: Duration = .seconds(20)) async throws -> Bool {
        let arrived: Bool? = try await firstResult(within: limit, polling: .milliseconds(10)) {
            if received[(from ?? received.startIndex)...].contains(text) { return true }
            switch receiveChunk() {
            case 0: return false
            case let count where count > 0: return received[(from ?? received.startIndex)...].contains(text) ? true : nil
            default: return nil
            }
        }
        return arrived ?? false
    }

    /// Whether the server has closed the connection, waiting up to `limit`.
    func closedByServer(within limit: Duration) async throws -> Bool {
        try await eventually(within: limit, polling: .milliseconds(10)) { receiveChunk() == 0 }
    }

    /// Reads what has arrived (waiting at most the socket's 100 ms timeout): the byte count, 0
    /// once the server has closed the connection, negative when nothing came.
    private func receiveChunk() -> Int {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        if count > 0 { received += String(decoding: buffer[..<count], as: UTF8.self) }
        return count
    }
}

extension MetricsServerTests {
    /// A live page over a feed the test drives, with a fixed plot and a fast keep-alive.
    private func liveServer(_ metrics: DaemonMetrics, counters: DaemonCounters) -> (MetricsServer, LiveFeed) {
        let feed = LiveFeed(counters: counters, clients: metrics.liveClients)
        var view = LiveView(feed: feed, plot: { #"<svg xmlns="http://www.w3.org/2000/svg"><circle r="1"/></svg>"# })
        view.keepAliveInterval = .milliseconds(100)
        let server = MetricsServer(
            host: "127.0.0.1", port: 0, registry: metrics.registry, health: HealthMonitor(), logger: logger, live: view,
            limits: HTTPLimits())
        return (server, feed)
    }

    private static func update(version: UInt64, clusters: [(id: Int64, mass: Int)], events: [ClusterEvent]) throws -> ClusterUpdate {
        try ClusterUpdate(
            modelVersion: version, time: 1_000 + Double(version), dimension: 2,
            windowSize: clusters.reduce(0) { $0 + $1.mass } + 5, noiseCount: 5,
            clusters: clusters.map { try PublishedCluster(id: $0.id, mass: $0.mass, centroid: [1, 2], minimum: [0, 0], maximum: [2, 4]) },
            events: events, assignments: nil)
    }

    private func liveClients(port: Int) async throws -> String? {
        try await httpGet(port: port, path: "/metrics").body.split(separator: "\n")
            .first { $0.hasPrefix("mmcd_live_clients ") }.map(String.init)
    }

    @Test func thePageIsSelfContainedAndItsEndpointsAnswer() async throws {
        let metrics = DaemonMetrics(registry: PrometheusCollectorRegistry())
        let (server, _) = liveServer(metrics, counters: DaemonCounters())
        try await withServer(server) { port in
            for path in ["/", "/live"] {
                let page = try await httpGet(port: port, path: path)
                #expect(page.status == 200)
                #expect(page.headers["content-type"] == "text/html; charset=utf-8")
                #expect(page.body.contains("new EventSource(\"live/events\")"))
                // Works offline: nothing is loaded from another host.
                #expect(!page.body.contains("http://") && !page.body.contains("https://") && !page.body.contains("src="))
            }
            let plot = try await httpGet(port: port, path: "/live/plot.svg")
            #expect(plot.status == 200 && plot.headers["content-type"] == "image/svg+xml")
            #expect(plot.body.hasPrefix("<svg"))
            let summary = try await httpGet(port: port, path: "/live/summary.json")
            let object = try #require(JSONSerialization.jsonObject(with: Data(summary.body.utf8)) as? [String: Any])
            #expect(object["reclusterings"] as? Int == 0)
            #expect(object["window_size"] is NSNull)
        }
    }

    @Test func eachReclusteringIsAnEventAndAClosedPageLeavesNoSubscriber() async throws {
        let metrics = DaemonMetrics(registry: PrometheusCollectorRegistry())
        let counters = DaemonCounters()
        let (server, feed) = liveServer(metrics, counters: counters)
        try await withServer(server) { port in
            let connection = try EventStreamConnection(port: port)
            #expect(try await connection.read(until: "event: summary\ndata: {\"reclusterings\":0"))
            #expect(try await connection.read(until: "text/event-stream"))
            #expect(try await liveClients(port: port) == "mmcd_live_clients 1.0")

            counters.pointsAccepted.add(500, ordering: .relaxed)
            feed.reclustered(try Self.update(version: 1, clusters: [(0, 300), (1, 200)], events: [.birth(0), .birth(1)]), duration: .milliseconds(20))
            let mark = connection.received.endIndex
            #expect(try await connection.read(until: "event: recluster", after: mark))
            #expect(try await connection.read(until: "\"last_event\":\"birth\"", after: mark))
            #expect(try await connection.read(until: "\"model_version\":1,", after: mark))
            #expect(connection.received[mark...].contains("\"points_accepted\":500"))

            feed.reclustered(
                try Self.update(version: 2, clusters: [(1, 500)], events: [.merge(from: [0, 1], into: 1), .death(0)]),
                duration: .milliseconds(20))
            #expect(try await connection.read(until: "\"model_version\":2,", after: mark))
            #expect(try await connection.read(until: "\"last_event\":\"merged from 0, 1\",\"last_event_version\":2", after: mark))
            // Keep-alive comments flow while nothing happens.
            #expect(try await connection.read(until: ": keep-alive", after: mark))

            // The page goes away: the next keep-alive write fails and the subscription ends.
            _ = consume connection
            #expect(try await eventually(within: .seconds(10), polling: .milliseconds(50)) {
                try await liveClients(port: port) == "mmcd_live_clients 0.0"
            })
        }
    }

    @Test func shutdownEndsOpenEventStreams() async throws {
        let metrics = DaemonMetrics(registry: PrometheusCollectorRegistry())
        let (server, _) = liveServer(metrics, counters: DaemonCounters())
        var connection: EventStreamConnection?
        try await withServer(server) { port in
            connection = try EventStreamConnection(port: port)
            #expect(try await connection?.read(until: "event: summary") == true)
        }
        // withServer returned: the graceful shutdown finished although a page was connected.
        #expect(try await connection?.closedByServer(within: .seconds(20)) == true)
    }
}
