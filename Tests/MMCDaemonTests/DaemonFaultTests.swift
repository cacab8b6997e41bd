import Foundation
import MMCDaemon
import MMCTestSupport
import MMCWire
import Testing
import ZeroMQ

/// Faults inside the daemon that leave it serving (in the runtime suite: one daemon at a time).
extension DaemonRuntimeEndToEndTests {
    @Test func aReclusteringOverItsBudgetIsAbandonedAndThePreviousClusteringStaysPublished() async throws {
        let running = try RunningDaemon()
        let peers = try Peers()
        let pusher = try peers.pusher(to: running.daemon.endpoints.input[0])
        let requester = try peers.requester(to: try #require(running.daemon.endpoints.control))
        try #require(try pusher.send(pointsMessage(try blobs(count: 400, firstID: 0, seed: 21))))
        // Metrics, read in this process, rather than control requests while the machine is busiest.
        #expect(try await eventually(within: .seconds(60), polling: .milliseconds(20)) {
            running.metric("mmcd_updates_published_total{kind=\"full\"}") == 1
        })

        // A budget no re-clustering can meet, applied by a reload.
        try "[schedule]\nevery_points = 400\ntime_budget_seconds = 0.000001\n".write(
            toFile: running.configurationPath, atomically: true, encoding: .utf8)
        #expect(await running.daemon.reload().applied == ["schedule.time_budget_seconds"])
        try #require(try pusher.send(pointsMessage(try blobs(count: 400, firstID: 1_000, seed: 22))))
        #expect(try await eventually(within: .seconds(60), polling: .milliseconds(20)) { running.metric("mmcd_recluster_abandoned_total") == 1 })
        #expect(running.metric("mmcd_window_points") == 800)
        guard case .snapshot(let update) = try await ask(requester, .snapshot) else {
            throw TestFailure("no snapshot reply")
        }
        // The published clustering is still the one of the first 400 points.
        #expect(update.modelVersion == 1 && update.windowSize == 400)
        #expect(running.metric("mmcd_updates_published_total{kind=\"full\"}") == 1)
        let late = try await peers.subscriber(to: running.daemon.endpoints.output)
        let resent = try await nextUpdate(late)
        #expect(resent.update.modelVersion == 1)
        try await running.stop()
    }
}
