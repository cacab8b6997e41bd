import ArgumentParser
import MMCConfiguration
import MMCPlot
import MMCState
import MassClustering

/// `mmc plot FILE`: draws a clustering as an SVG scatter plot.
struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Draw a clustering as an SVG scatter plot.",
        discussion: """
            FILE is a data file (as for mmc cluster: comma- or whitespace-separated numbers, an \
            optional header of feature names, .gz or plain, - for standard input) or a state \
            file the daemon saved (state.bin in its state directory, recognised by its content).

            The labels of a data file come from --labels FILE (one integer per line, in the \
            order of the points; --noise-label says which value is noise, -1 by default as mmc \
            cluster writes them, 0 for the benchmark sets' .labels0 files; every other value is \
            a cluster id >= 0) or from clustering it now with --cluster mmc|dmc and default \
            parameters (features on the robust scale, as mmc cluster and the daemon do).

            A state file is drawn with the daemon's own cluster ids from its last \
            re-clustering; points that arrived after it are drawn hollow as "not clustered \
            yet". A state file saved before any re-clustering, or --cluster, clusters the \
            window now, with the [clustering] settings of --config FILE or the defaults.

            Two features are drawn as they are; more are drawn on their first two principal \
            components unless --x and --y choose two features (by 1-based index or header \
            name). A single feature is drawn against the point's position. Above \
            --max-points points, points are aggregated into grid cells coloured by their most \
            common cluster, and a note in the plot says so.

            The SVG goes to standard output, or with --output to a file that is replaced only \
            when everything succeeded.
            """
    )

    @Argument(help: "The data file or daemon state file, .gz or plain; - for standard input.")
    var file: String

    @Option(name: .shortAndLong, help: "Write the SVG to this file instead of standard output.")
    var output: String?

    @Option(help: "A file of one integer label per point (.gz or plain).")
    var labels: String?

    @Option(help: "The label that means noise in --labels.")
    var noiseLabel: Int64 = -1

    @Option(help: "Cluster the points now with this method instead of reading labels.")
    var cluster: ClusteringMethod?

    @Option(help: "A state file's clustering settings: the daemon's configuration file ([clustering]).")
    var config: String?

    @Option(help: "The feature on the horizontal axis: 1-based index or header name.")
    var x: String?

    @Option(help: "The feature on the vertical axis: 1-based index or header name.")
    var y: String?

    @Flag(help: "Draw the first two principal components even for two features.")
    var pca = false

    @Option(help: "The title; by default the file name and what the labels are.")
    var title: String?

    @Option(help: "Width of the plot area with its axes, in pixels (200...10000).")
    var width = 720

    @Option(help: "Height of the plot area with its axes, in pixels (200...10000).")
    var height = 540

    @Option(help: "Above this many points, aggregate them into grid cells.")
    var maxPoints = 20_000

    func validate() throws {
        if labels != nil && cluster != nil { throw ValidationError("give --labels or --cluster, not both") }
        if (x == nil) != (y == nil) { throw ValidationError("give both --x and --y, or neither") }
        if pca && x != nil { throw ValidationError("--pca draws principal components; it cannot go with --x and --y") }
        if maxPoints < 0 { throw ValidationError("--max-points \(maxPoints) must be at least 0") }
        if !(200...10_000).contains(width) || !(200...10_000).contains(height) {
            throw ValidationError("--width and --height must be in 200...10000 pixels")
        }
    }

    func run() throws {
        let bytes = try GzipReader.readAll(path: file)
        let (data, notes) =
            bytes.starts(with: StateStore.magic) ? try fromStateFile(bytes) : try fromDataFile(bytes)
        var options = PlotOptions()
        // The default title says where the labels came from; a title of one's own keeps that as a note.
        options.title = title ?? "\(GzipReader.displayName(file)): \(notes[0])"
        options.notes = title == nil ? Array(notes.dropFirst()) : notes
        options.width = width
        options.height = height
        options.pointLimit = maxPoints
        options.axes = try axes(featureNames: data.featureNames)
        let svg: String
        do {
            svg = try ScatterPlot.svg(data, options: options)
        } catch {
            throw FileError(path: GzipReader.displayName(file), reason: error.description)
        }
        if let output {
            try Output.replaceFile(output, with: Array(svg.utf8))
            let clusters = Set(data.clusters.filter { $0 >= 0 }).count
            let noise = data.clusters.count { $0 == PlotData.noise }
            Output.writeStandardError(
                "wrote \(output): \(data.points.count) points, \(clusters) clusters, \(noise) noise\n")
        } else {
            try Output.writeStandardOutput(Array(svg.utf8))
        }
    }

    /// The points of a data file with labels from `--labels` or from clustering them now, and
    /// a note saying which.
    private func fromDataFile(_ bytes: [UInt8]) throws -> (PlotData, [String]) {
        if config != nil { throw ValidationError("--config applies to daemon state files only") }
        let dataFile = try DataFile(path: file, bytes: bytes)
        let points = dataFile.points
        let clusters: [Int64]
        let note: String
        if let labels {
            clusters = try readLabels(labels, count: points.count)
            note = "labels from \(GzipReader.displayName(labels))"
        } else if let cluster {
            let parameters = try ClusteringParameters(method: cluster)
            clusters = Self.clusterNow(points, parameters: parameters, scaling: .robust)
            note = "clustered now with \(cluster.rawValue), default parameters"
        } else {
            throw ValidationError("a data file needs labels: give --labels FILE or --cluster mmc|dmc")
        }
        return (try plotData(points, clusters, names: dataFile.featureNames), [note])
    }

    /// The window of a state file with the daemon's cluster ids, or clustered now, and notes
    /// saying which.
    private func fromStateFile(_ bytes: [UInt8]) throws -> (PlotData, [String]) {
        if labels != nil { throw ValidationError("--labels applies to data files; a state file has its own labels") }
        let name = GzipReader.displayName(file)
        let state: DaemonStateSnapshot
        do {
            state = try StateStore.decode(bytes, path: name)
        } catch {
            throw FileError(path: name, reason: error.message)
        }
        guard state.windowValues.allSatisfy(\.isFinite) else {
            throw FileError(path: name, reason: "the window holds a value that is not a finite number")
        }
        let points = PointMatrix(count: state.windowIDs.count, dimension: state.dimension, values: state.windowValues)
        let window = "window of \(points.count) points, model version \(state.modelVersion)"
        if cluster != nil || state.trackedPointIDs.isEmpty {
            var settings = DaemonConfiguration.Clustering()
            if let config { settings = try DaemonConfiguration(contentsOfFile: config).clustering }
            if let cluster { settings.method = cluster }
            let parameters = try settings.parameters()
            let scaling = try settings.featureScaling()
            let why = cluster != nil ? "as asked" : "because the daemon had not re-clustered it when it saved it"
            let source = config.map { "the [clustering] settings of \($0)" } ?? "default parameters"
            let note = "\(window); clustered now with \(settings.method.rawValue) and \(source), \(why)"
            Output.writeStandardError("\(name): \(note)\n")
            return (try plotData(points, Self.clusterNow(points, parameters: parameters, scaling: scaling), names: nil), [note])
        }
        var tracked = [UInt64: Int64](minimumCapacity: state.trackedPointIDs.count)
        for (id, cluster) in zip(state.trackedPointIDs, state.trackedClusterIDs) {
            tracked[id] = cluster == DaemonStateSnapshot.noCluster ? PlotData.noise : Int64(truncatingIfNeeded: cluster)
        }
        let clusters = state.windowIDs.map { tracked[$0] ?? PlotData.unassigned }
        var notes = ["\(window); the daemon's cluster ids from its last re-clustering"]
        let pending = clusters.count { $0 == PlotData.unassigned }
        if pending > 0 { notes.append("\(pending) points arrived after that re-clustering: drawn hollow") }
        return (try plotData(points, clusters, names: nil), notes)
    }

    private func plotData(_ points: PointMatrix, _ clusters: [Int64], names: [String]?) throws -> PlotData {
        do {
            return try PlotData(points: points, clusters: clusters, featureNames: names)
        } catch {
            throw FileError(path: GzipReader.displayName(file), reason: error.description)
        }
    }

    /// Labels of `points` clustered with `parameters` on features put on one scale by `scaling`.
    private static func clusterNow(
        _ points: PointMatrix, parameters: ClusteringParameters, scaling: FeatureScaling
    ) -> [Int64] {
        let scaled = scaling.scaledMarkingFar(points)
        return MassClustering.cluster(scaled.points, parameters: parameters, far: scaled.far).labels.map { $0 < 0 ? PlotData.noise : Int64($0) }
    }

    /// The labels of `--labels` as cluster ids, `--noise-label` mapped to noise.
    ///
    /// - Throws: ``FileError`` naming the file and row of a label that is neither a cluster id
    ///   nor the noise label, or a count that differs from the points'.
    private func readLabels(_ path: String, count: Int) throws -> [Int64] {
        try DataFile.readLabels(path, rows: count).enumerated().map { row, label throws(FileError) in
            if Int64(label) == noiseLabel { return PlotData.noise }
            guard label >= 0 else {
                throw FileError(
                    path: GzipReader.displayName(path),
                    reason: "row \(row + 1): \(label) is neither a cluster id (>= 0) nor the noise label "
                        + "\(noiseLabel) (see --noise-label)")
            }
            return Int64(label)
        }
    }

    /// The axes from `--x`/`--y` and `--pca`.
    private func axes(featureNames: [String]) throws -> PlotAxes {
        if pca { return .principalComponents }
        guard let x, let y else { return .automatic }
        return .features(x: try feature(x, "--x", featureNames), y: try feature(y, "--y", featureNames))
    }

    /// A 1-based feature index or a header name, as a 0-based index.
    private func feature(_ text: String, _ flag: String, _ names: [String]) throws -> Int {
        if let index = Int(text) {
            guard (1...names.count).contains(index) else {
                throw ValidationError("\(flag) \(index): the points have features 1...\(names.count)")
            }
            return index - 1
        }
        guard let index = names.firstIndex(of: text) else {
            throw ValidationError("\(flag) \(text): no such feature; the features are \(names.joined(separator: ", "))")
        }
        return index
    }
}
