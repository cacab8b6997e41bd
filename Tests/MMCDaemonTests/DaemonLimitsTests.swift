import Foundation
import MMCConfiguration
import MMCDaemon
import MMCTestSupport
import MMCWire
import Testing
import ZeroMQ

/// The input policy: message size, batch size, timestamps (see `DaemonAdmission`). In the
/// runtime suite, so that its in-process daemons run one at a time with the others.
extension DaemonRuntimeEndToEndTests {
    @Test func aFutureTimestampRejectsItsPointAloneAndOutOfOrderPointsAreTakenAndCounted() async throws {
        let running = try RunningDaemon(overrides: ["input.max_future_seconds=60"])
        let peers = try Peers()
        let pusher = try peers.pusher(to: running.daemon.endpoints.input[0])
        let requester = try peers.requester(to: try #require(running.daemon.endpoints.control))
        let now = Date().timeIntervalSince1970
        let batch = try PointBatch(
            dimension: 2, ids: [1, 2, 3, 4], timestamps: [now, now + 10_000, now - 5, now + 1],
            values: [0, 0, 1, 1, 2, 2, 3, 3])
        try #require(try pusher.send(pointsMessage(batch)))
        #expect(try await eventually(polling: .milliseconds(20)) { try await stats(requester).windowSize == 3 })
        let figures = try await stats(requester)
        #expect(figures.pointsReceived == 3 && figures.pointsRejected == 1)
        #expect(running.metric("mmcd_points_future_timestamp_total") == 1)
        #expect(running.metric("mmcd_points_out_of_order_total") == 1)
        try await running.stop()
    }

    @Test func oversizedMessagesAndBatchesAreRejectedByReasonAndTheNextGoodOneApplies() async throws {
        let running = try RunningDaemon(overrides: ["input.max_message_bytes=1024", "input.max_batch_points=20"])
        let peers = try Peers()
        let pusher = try peers.pusher(to: running.daemon.endpoints.input[0])
        let requester = try peers.requester(to: try #require(running.daemon.endpoints.control))
        // 16 + 40 * 32 = 1296 bytes: above the limit, below twice the limit (libzmq's).
        try #require(try pusher.send(pointsMessage(try blobs(count: 40, firstID: 0, seed: 1))))
        // 21 points in 688 bytes: within the size limit, above the batch limit.
        try #require(try pusher.send(pointsMessage(try blobs(count: 21, firstID: 100, seed: 2))))
        try #require(try pusher.send(pointsMessage(try blobs(count: 20, firstID: 200, seed: 3))))
        #expect(try await eventually(polling: .milliseconds(20)) { try await stats(requester).windowSize == 20 })
        #expect(running.metric("mmcd_messages_rejected_total{reason=\"message_too_large\"}") == 1)
        #expect(running.metric("mmcd_messages_rejected_total{reason=\"limit_exceeded\"}") == 1)
        #expect(try await stats(requester).pointsReceived == 20)
        try await running.stop()
    }

    @Test func noWarningForLoopbackAndLocalEndpointsAWarningForEveryOtherOneWithoutCurve() throws {
        var configuration = DaemonConfiguration()
        configuration.input.bind = ["tcp://127.0.0.1:5556", "ipc:///run/mmcd/in", "tcp://[::1]:5559", "tcp://localhost:1"]
        configuration.input.connect = ["inproc://feed", "tcp://127.3.4.5:9000"]
        #expect(configuration.warnings.isEmpty)
        configuration.input.connect = ["tcp://192.168.1.20:5556", "tcp://127.0.0.1;10.0.0.1:7"]
        configuration.output.endpoint = "tcp://*:5557"
        configuration.control.endpoint = "tcp://0.0.0.0:5558"
        #expect(configuration.warnings.map(\.key) == ["input.connect", "input.connect", "output.endpoint", "control.endpoint"])
        #expect(configuration.warnings[0].description.contains("tcp://192.168.1.20:5556"))
        configuration.security.curveSecretKeyFile = "/etc/mmcd/server.key"
        #expect(configuration.warnings.isEmpty)
    }

    /// The HTTP server has no authentication, so CURVE does not silence its warning; a loopback
    /// address or a server turned off (port 0) has none.
    @Test func aWarningForAnHTTPServerReachableFromOtherHostsWithOrWithoutCurve() throws {
        var configuration = DaemonConfiguration()
        for local in ["127.0.0.1", "::1", "localhost"] {
            configuration.http.address = local
            #expect(configuration.warnings.isEmpty, "\(local)")
        }
        configuration.http.address = "0.0.0.0"
        // The live page is then off unless explicitly allowed, and that is said too.
        #expect(configuration.warnings.map(\.key) == ["http.address", "http.live_page"])
        #expect(configuration.warnings[0].description.contains("\"0.0.0.0\""))
        configuration.http.remoteLivePage = true
        #expect(configuration.warnings.map(\.key) == ["http.address"])
        configuration.security.curveSecretKeyFile = "/etc/mmcd/server.key"
        #expect(configuration.warnings.map(\.key) == ["http.address"])
        configuration.http.port = 0
        #expect(configuration.warnings.isEmpty)
    }
}
