public import ArgumentParser
import CLinuxSupport
import MMCRuntime
import MassClustering

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `mmc cluster FILE`: clusters the points of a data file once and prints a label per point.
struct ClusterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Cluster the points of a data file and print one label per point.",
        discussion: """
            FILE holds one point per line: numbers separated by commas (if the first line has \
            one) or by spaces and tabs. A first line without any number is a header of feature \
            names; blank lines and lines starting with # are skipped. Files are decompressed \
            when gzipped; - reads standard input (plain or gzipped).

            Every feature is scaled linearly before clustering, so features in different units \
            weigh alike. --scaling robust (the default) maps the body of each feature to [0, 1] \
            (the readings within 3 widths of its central 90%) and leaves readings far outside \
            it far away, so a few spikes cannot squeeze the rest; window maps the minimum to 0 \
            and the maximum to 1 (a constant feature to 0); none clusters the values as they \
            are; fixed maps the ranges of --scaling-ranges to [0, 1].

            The labels go to standard output, or with --output to a file that is replaced only \
            when everything succeeded: one integer per line in input order, -1 for noise, \
            clusters numbered 0, 1, ... by their first point. A summary (clusters with mass and \
            centroid in the input's units, noise, time taken) goes to standard error unless \
            --quiet. On any error nothing is written and the exit code is not 0.
            """
    )

    @Argument(help: "The data file, .gz or plain; - for standard input.")
    var file: String

    @Option(name: .shortAndLong, help: "Write the labels to this file instead of standard output.")
    var output: String?

    @Option(help: "How every feature is scaled before clustering: robust, window, none or fixed.")
    var scaling: FeatureScaling.Rule = .robust

    @Option(help: ArgumentHelp(
        "--scaling fixed: one [lower, upper] range per feature, e.g. '[[0, 100], [-40, 85]]'.",
        valueName: "ranges"))
    var scalingRanges: String?

    @Option(help: "mmc grows every cluster to its largest extent (total mass); dmc keeps each cluster's densest part (total density).")
    var method: ClusteringMethod = .mmc

    @Option(help: "Neighbours whose mean distance is a point's core distance (density estimate); 0 = single linkage.")
    var minSamples = ClusteringParameters.defaultMinSamples

    @Option(help: "The smallest cluster, at least 2. (default: max(5, n / 100) for n points)")
    var minClusterSize: Int?

    @Option(help: "Neighbours per point in the candidate graph, which uses max(min-samples, this); at least 1.")
    var graphNeighbours = SpanningForest.defaultGraphNeighbours

    @Flag(help: "Let the whole data set come back as one cluster.")
    var allowSingleCluster = false

    @Option(help: "mmc: a cluster takes in points up to this many times its own sparse-end spacing; farther ones are noise.")
    var outlierFactor = ClusteringParameters.defaultOutlierFactor

    @Option(help: ArgumentHelp(
        "No cluster holding a gap is a seed; at least 1, or 0 for no forced split and no ramp merged.",
        discussion: "A gap is a split where one side keeps half its points at this many times the split's level and holds together up to there. Two clusters that meet where one side's densest part lies at the link, below this many times its level, are one ramp."))
    var gapFactor = ClusteringParameters.defaultGapFactor

    @Option(help: ArgumentHelp(
        "A split separates clusters only if two sides rise this many times above its density; at least 1, or 0 for every split.",
        discussion: "Other splits, such as those along a density gradient, are undone unless they are gaps."))
    var valleyRatio = ClusteringParameters.defaultValleyRatio

    @Option(help: ArgumentHelp(
        "The neighbour table: exact, approximate (NN-descent) or automatic.",
        discussion: "automatic takes the approximate table only for large windows in many features (docs/algorithm.md, section 5); the labels are the same for any --threads with each."))
    var neighbours: NeighbourSearch = .automatic
    @Option(help: "The most threads the parsing and clustering use; the labels are the same for any. (default: every processor)")
    var threads: Int?

    @Flag(help: "Whether to print the summary to standard error.")
    var report: Report = .summary

    func validate() throws {
        _ = try parameters()
        _ = try featureScaling(dimension: nil)
        if let threads, threads < 1 {
            throw ValidationError("invalid --threads \(threads): allowed >= 1")
        }
    }

    func run() throws {
        // Large arrays come and go once each here; freed ones must not linger in glibc's heaps
        // (the peak RSS would exceed what is live by what the pool's threads freed).
        _ = mmc_map_large_blocks(1 << 20)
        let parameters = try parameters()
        let clock = ContinuousClock()
        let start = clock.now
        let threads = threads ?? ProcessInfo.processInfo.activeProcessorCount
        let data = try DataFile(path: file, threads: threads)
        let read = clock.now
        let points = data.points
        let scaled = try featureScaling(dimension: points.dimension).scaledMarkingFar(points, threads: threads)
        let clustering = cluster(
            scaled.points, parameters: parameters, far: scaled.far,
            threads: threads)
        let clustered = clock.now

        var text = ""
        text.reserveCapacity(clustering.labels.count * 3)
        for label in clustering.labels {
            text += "\(label)\n"
        }
        if let output {
            try Output.replaceFile(output, with: Array(text.utf8))
        } else {
            try Output.writeStandardOutput(Array(text.utf8))
        }
        if report == .summary {
            let timing = (read: read - start, cluster: clustered - read, total: clock.now - start)
            Output.writeStandardError(
                summary(of: clustering.summarised(over: points), data: data, parameters: parameters, timing: timing))
        }
    }

    /// The clustering parameters from the flags.
    ///
    /// - Throws: `ValidationError` naming the flag and its allowed range.
    private func parameters() throws -> ClusteringParameters {
        do {
            return try ClusteringParameters(
                method: method, minSamples: minSamples, minClusterSize: minClusterSize,
                graphNeighbours: graphNeighbours, allowSingleCluster: allowSingleCluster,
                outlierFactor: outlierFactor, gapFactor: gapFactor == 0 ? nil : gapFactor,
                valleyRatio: valleyRatio == 0 ? nil : valleyRatio, neighbourSearch: neighbours)
        } catch {
            throw ValidationError("invalid --\(flagName(error.key)) \(error.value): allowed \(error.allowed)")
        }
    }

    /// The scaling from `--scaling` and `--scaling-ranges`, checked against `dimension`
    /// features when given.
    ///
    /// - Throws: `ValidationError` naming the flag, its value and what is allowed.
    private func featureScaling(dimension: Int?) throws -> FeatureScaling {
        var ranges: [[Double]] = []
        if let scalingRanges {
            let parts = scalingRanges.split { "[], \t".contains($0) }
            let numbers = parts.compactMap { Double($0) }
            guard numbers.count == parts.count, numbers.count.isMultiple(of: 2) else {
                throw ValidationError(
                    "invalid --scaling-ranges \(scalingRanges): allowed a list of [lower, upper] number pairs")
            }
            ranges = stride(from: 0, to: numbers.count, by: 2).map { [numbers[$0], numbers[$0 + 1]] }
        }
        if let dimension, scaling == .fixed, ranges.count != dimension {
            throw ValidationError(
                "invalid --scaling-ranges \(scalingRanges ?? ""): \(ranges.count) ranges for \(dimension) features")
        }
        do {
            return try FeatureScaling(rule: scaling, ranges: ranges)
        } catch {
            throw ValidationError("invalid --\(flagName(error.key)) \(error.value): allowed \(error.allowed)")
        }
    }

    /// The readable account printed to standard error; `clustering` is summarised in the
    /// input's units.
    private func summary(
        of clustering: Clustering, data: DataFile, parameters: ClusteringParameters,
        timing: (read: Duration, cluster: Duration, total: Duration)
    ) -> String {
        let table = data.table
        let names = data.featureNames
        let shownFeatures = min(names.count, 8)
        let hidden = names.count > shownFeatures ? ", +\(names.count - shownFeatures) more" : ""
        var lines = [
            "read \(table.rowCount) points x \(table.columnCount) features from \(GzipReader.displayName(file)) "
                + "in \(milliseconds(timing.read))",
            "clustered with \(method.rawValue) (min samples \(parameters.minSamples), "
                + "min cluster size \(clustering.minClusterSize), graph neighbours \(parameters.graphNeighbours)"
                + ", scaling \(scaling.rawValue)): "
                + "\(clustering.clusters.count) clusters in \(milliseconds(timing.cluster))",
        ]
        for (label, summary) in clustering.clusters.enumerated() {
            let centroid = (0..<shownFeatures).map { "\(names[$0])=\(summary.centroid[$0].printed(significantDigits: 5))" }
            lines.append(
                "  cluster \(label): mass \(summary.mass) (\(percent(summary.mass, of: table.rowCount))), "
                    + "centroid \(centroid.joined(separator: " "))\(hidden)")
        }
        lines.append("  noise: \(clustering.noiseCount) (\(percent(clustering.noiseCount, of: table.rowCount)))")
        lines.append("total \(milliseconds(timing.total))")
        return lines.joined(separator: "\n") + "\n"
    }
}

/// The `--method` values of `mmc cluster` and `mmc plot --cluster`: the core's methods by name.
extension ClusteringMethod: ExpressibleByArgument {}

/// The `--scaling` values of `mmc cluster`: the core's scaling rules by name.
extension FeatureScaling.Rule: ExpressibleByArgument {}

/// The `--neighbours` values of `mmc cluster`: the core's searches by name.
extension NeighbourSearch: ExpressibleByArgument {}

extension ClusterCommand {
    /// `--summary` (the default) or `--quiet`.
    enum Report: EnumerableFlag {
        case summary
        case quiet

        static func help(for value: Report) -> ArgumentHelp? {
            switch value {
            case .summary: "Print the clusters, noise and time taken to standard error."
            case .quiet: "Print nothing but the labels."
            }
        }
    }
}

/// The command-line spelling of a `ClusteringParameters` key: `minSamples` -> `min-samples`.
private func flagName(_ key: String) -> String {
    key.reduce(into: "") { name, character in
        if character.isUppercase { name += "-" + character.lowercased() } else { name.append(character) }
    }
}

/// `duration` in milliseconds with one decimal.
private func milliseconds(_ duration: Duration) -> String {
    "\((duration.seconds * 10_000).rounded() / 10) ms"
}

/// `part` as a percentage of `whole`, three significant digits.
private func percent(_ part: Int, of whole: Int) -> String {
    (whole == 0 ? 0 : 100 * Double(part) / Double(whole)).printed(significantDigits: 3) + "%"
}
