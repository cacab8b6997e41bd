// `stat` comes from Glibc or, depending on which module the compiler loads first, from
// CDispatch (through Foundation); MemberImportVisibility needs the one it picked imported.
import CDispatch
import Foundation
@testable import MMCDaemon
import MMCState
import MMCTestSupport
import Testing

/// `mmc plot` as a process: data files with labels or clustered on the spot, daemon state files,
/// and the errors a user meets, each naming the file, the row or line and what is wrong.
@Suite(.tags(.endToEnd)) struct PlotCommandEndToEndTests {
    private static let examples = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("examples/data").path

    private static func count(_ element: String, in svg: String) -> Int {
        svg.components(separatedBy: "<\(element) ").count - 1
    }

    @Test func aDataFileWithLabelsOrClusteredNowBecomesAnSVGWithOneCirclePerPoint() async throws {
        let workspace = try EndToEndWorkspace()
        let data = Self.examples + "/varied-density.csv"
        let truth = try await workspace.run(
            "mmc", ["plot", data, "--labels", Self.examples + "/varied-density.labels", "--noise-label", "0"])
        #expect(truth.exit == .exited(0), "\(truth.error)")
        #expect(truth.output.hasPrefix("<svg "))
        #expect(Self.count("circle", in: truth.output) == 1_500)
        #expect(truth.output.components(separatedBy: "class=\"legend-cluster\"").count - 1 == 3)
        #expect(truth.output.contains("<g class=\"legend-noise\">"))

        let output = workspace.directory + "/plot.svg"
        let now = try await workspace.run("mmc", ["plot", data, "--cluster", "dmc", "-o", output, "--title", "DMC"])
        #expect(now.exit == .exited(0), "\(now.error)")
        #expect(now.error.contains("wrote \(output): 1500 points, 3 clusters"))
        let svg = try String(contentsOfFile: output, encoding: .utf8)
        #expect(Self.count("circle", in: svg) == 1_500)
        #expect(svg.contains(">DMC</text>"))
        #expect(svg.contains("clustered now with dmc, default parameters"))

        // Writing to a device writes through it instead of replacing it.
        let devNull = try await workspace.run("mmc", ["plot", data, "--cluster", "mmc", "-o", "/dev/null"])
        #expect(devNull.exit == .exited(0), "\(devNull.error)")
        var status = stat()
        #expect(stat("/dev/null", &status) == 0 && (status.st_mode & S_IFMT) == S_IFCHR)
    }

    @Test func aStateFileIsDrawnWithTheDaemonsIDsOrClusteredWhenItHasNone() async throws {
        let workspace = try EndToEndWorkspace()
        let stored = workspace.directory + "/stored"
        try StateStore(directory: stored).save(StateStoreTests.snapshot(points: 40))
        let plot = try await workspace.run("mmc", ["plot", stored + "/state.bin"])
        #expect(plot.exit == .exited(0), "\(plot.error)")
        // Five tracked points: clusters 0, 3, 3, 11 and one noise; the other 35 came later.
        for id in ["0", "3", "11"] {
            #expect(plot.output.contains("<g class=\"legend-cluster\" data-cluster=\"\(id)\">"), "cluster \(id)")
        }
        #expect(Self.count("circle", in: plot.output) == 40)
        #expect(plot.output.contains("not clustered yet (35)"))
        #expect(plot.output.contains("35 points arrived after that re-clustering"))
        #expect(plot.output.contains("PC1 ("))

        var unclustered = StateStoreTests.snapshot(points: 200, dimension: 2)
        unclustered.trackedPointIDs = []
        unclustered.trackedClusterIDs = []
        let fresh = workspace.directory + "/fresh"
        try StateStore(directory: fresh).save(unclustered)
        let clustered = try await workspace.run("mmc", ["plot", fresh + "/state.bin"])
        #expect(clustered.exit == .exited(0), "\(clustered.error)")
        #expect(clustered.error.contains("clustered now with mmc and default parameters, because the daemon had not re-clustered it"))
        #expect(!clustered.output.contains("not clustered yet"))
    }

    /// A wrong invocation: the arguments (file names become paths in the workspace), the files
    /// to write first, and what the error must say.
    struct Mistake: Sendable, CustomTestStringConvertible {
        let arguments: [String]
        var files: [String: String] = [:]
        let message: String

        var testDescription: String { arguments.joined(separator: " ") }
    }

    static let mistakes = [
        Mistake(
            arguments: ["data.csv"], files: ["data.csv": "1,2\n3,4\n"],
            message: "a data file needs labels: give --labels FILE or --cluster mmc|dmc"),
        Mistake(arguments: ["missing.csv", "--cluster", "mmc"], message: "missing.csv: cannot open: No such file or directory"),
        Mistake(
            arguments: ["data.csv", "--cluster", "mmc"], files: ["data.csv": "1,2\n3,4\n5,x\n"],
            message: "data.csv: line 3, column 2: \"x\" is not a number"),
        Mistake(
            arguments: ["data.csv", "--labels", "labels.txt"], files: ["data.csv": "1,2\n3,4\n5,6\n", "labels.txt": "0\n1\n"],
            message: "labels.txt: expected 3 rows of one label each, got 2 rows of 1 columns"),
        Mistake(
            arguments: ["data.csv", "--labels", "labels.txt"],
            files: ["data.csv": "1,2\n3,4\n5,6\n", "labels.txt": "0\n-5\n1\n"],
            message: "labels.txt: row 2: -5 is neither a cluster id (>= 0) nor the noise label -1 (see --noise-label)"),
        Mistake(
            arguments: ["data.csv", "--labels", "labels.txt"], files: ["data.csv": "1,2\n3,4\n", "labels.txt": "0\n1.5\n"],
            message: "labels.txt: row 2: label 1.5 is not an integer"),
        Mistake(
            arguments: ["data.csv", "--cluster", "mmc", "--x", "3", "--y", "1"], files: ["data.csv": "1,2\n3,4\n"],
            message: "--x 3: the points have features 1...2"),
        Mistake(
            arguments: ["data.csv", "--cluster", "mmc", "--x", "b", "--y", "z"], files: ["data.csv": "a,b\n1,2\n3,4\n"],
            message: "--y z: no such feature; the features are a, b"),
        Mistake(arguments: ["data.csv", "--cluster", "mmc", "--x", "1"], message: "give both --x and --y, or neither"),
        Mistake(arguments: ["data.csv", "--labels", "l.txt", "--cluster", "mmc"], message: "give --labels or --cluster, not both"),
        Mistake(
            arguments: ["state.bin"], files: ["state.bin": "MMCDSTAT\u{1}\0\0\0 \0\0\0"],
            message: "state.bin: 16 bytes is shorter than the header"),
        Mistake(
            arguments: ["state.bin", "--labels", "labels.txt"], files: ["state.bin": "MMCDSTAT", "labels.txt": "0\n"],
            message: "--labels applies to data files; a state file has its own labels"),
    ]

    @Test(arguments: mistakes)
    func aMistakeIsReportedWithTheFileAndWhatIsWrong(_ mistake: Mistake) async throws {
        let workspace = try EndToEndWorkspace()
        for (name, content) in mistake.files { try workspace.write(content, to: workspace.directory + "/" + name) }
        let arguments = mistake.arguments.map {
            mistake.files[$0] != nil || $0.hasSuffix(".csv") ? workspace.directory + "/" + $0 : $0
        }
        let result = try await workspace.run("mmc", ["plot"] + arguments)
        #expect(result.exit != .exited(0))
        #expect(result.output.isEmpty, "an SVG was written despite the error")
        #expect(result.error.contains(mistake.message), "\(result.error)")
    }
}
