import Foundation
import MMCTestSupport
import MMCWire
import Testing

/// The live page in a real browser (Debian's headless chromium) against a running `mmcd` fed by
/// `mmc feed`: the plot's points and the cluster table appear, and both change after the next
/// re-clustering without reloading the page. A screenshot is kept as a test artifact.
@Suite(.serialized, .tags(.endToEnd, .browser)) struct LivePageBrowserEndToEndTests {
    /// What the page shows, read from its DOM.
    private struct PageState: Decodable, Equatable {
        /// Points (`circle`) and cells (`rect`) in the plot's point groups.
        let marks: Int
        /// The `data-cluster` of every cluster-table row, and the table's text.
        let rows: [String]
        let table: String
        /// The model version the plot shows, and the one the counters show.
        let plotVersion: String
        let counterVersion: String
        /// Re-clustering events the page has received since it loaded.
        let seen: Int
        let plotTitle: String
    }

    private static let readState = """
        JSON.stringify({
          marks: document.querySelectorAll("#plot svg .points circle, #plot svg .cells rect").length,
          rows: Array.from(document.querySelectorAll("#clusters tbody tr")).map((row) => row.dataset.cluster),
          table: document.querySelector("#clusters tbody").textContent,
          plotVersion: document.getElementById("plot").dataset.modelVersion,
          counterVersion: document.getElementById("model-version").textContent,
          seen: Number(document.getElementById("events-received").textContent),
          plotTitle: (document.querySelector("#plot svg title") || {}).textContent || ""
        })
        """

    /// The page's state; `nil` while the page is still loading (the expression throws then).
    private static func state(_ browser: HeadlessBrowser, _ session: String) throws -> PageState? {
        guard let json = try browser.evaluate(readState, session: session) as? String else { return nil }
        return try JSONDecoder().decode(PageState.self, from: Data(json.utf8))
    }

    private static func feed(_ workspace: EndToEndWorkspace, count: Int, seed: Int, firstID: Int) -> [String] {
        [
            "feed", "--generate", "drift", "--seed", "\(seed)", "--socket", "push", "--endpoint",
            workspace.inputEndpoint, "--count", "\(count)", "--rate", "4000", "--first-id", "\(firstID)",
        ]
    }

    @Test func theLivePageShowsPointsAndClustersAndFollowsReclusterings() async throws {
        let workspace = try EndToEndWorkspace()
        let httpPort = try LoopbackPorts.free(1)[0]
        try workspace.writeConfiguration(EndToEndSettings(keepsState: false, httpPort: httpPort))
        let daemon = try workspace.startDaemon()
        _ = try await workspace.stats()
        let first = try await workspace.run("mmc", Self.feed(workspace, count: 3_000, seed: 21, firstID: 0))
        #expect(first.exit == .exited(0), "\(first.error)")
        #expect(try await eventually(polling: .milliseconds(50)) {
            try await workspace.snapshot()?.assignments?.ids.contains(2_999) == true
        }, "no re-clustering saw the first feed")

        let browser = try HeadlessBrowser(
            profile: workspace.directory + "/chromium-profile", log: workspace.directory + "/chromium.log")
        let session = try browser.open("http://127.0.0.1:\(httpPort)/")
        var before: PageState?
        let loaded = try await eventually(polling: .milliseconds(50)) {
            guard let state = try Self.state(browser, session) else { return false }
            before = state
            return state.marks > 0 && !state.rows.isEmpty && state.plotVersion == state.counterVersion
        }
        let shown = try #require(before)
        #expect(loaded, "the page never showed points and clusters: \(shown); daemon log:\n\(daemon.standardError.suffix(2_000))")
        #expect(shown.marks == 3_000, "one circle per window point")
        #expect(shown.plotTitle.contains("model version \(shown.plotVersion)"))

        // More points: the daemon re-clusters and the open page follows without a reload.
        let second = try await workspace.run("mmc", Self.feed(workspace, count: 2_000, seed: 22, firstID: 3_000))
        #expect(second.exit == .exited(0), "\(second.error)")
        var after: PageState?
        let followed = try await eventually(polling: .milliseconds(50)) {
            guard let state = try Self.state(browser, session) else { return false }
            after = state
            return state.seen > 0 && state.plotVersion != shown.plotVersion && state.plotVersion == state.counterVersion
                && state.marks > 0 && !state.rows.isEmpty
        }
        let updated = try #require(after)
        #expect(followed, "the page did not follow a re-clustering: before \(shown), after \(updated)")
        #expect(updated.plotTitle != shown.plotTitle)
        #expect(updated.table != shown.table, "the cluster table did not change: \(updated.table)")
        #expect(updated.marks == 3_000)

        let png = try browser.screenshot(session: session)
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "not a PNG")
        let artifacts = BuiltExecutables.directory + "/test-artifacts"
        try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
        let screenshot = artifacts + "/live-page.png"
        try png.write(to: URL(fileURLWithPath: screenshot))
        print("live page screenshot: \(screenshot)")

        #expect(try await daemon.terminate() == .exited(0), "\(daemon.standardError.suffix(2_000))")
    }
}
