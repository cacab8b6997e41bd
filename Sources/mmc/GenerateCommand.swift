import ArgumentParser
import MMCDevTools
import MassClustering

/// `mmc generate`: writes a seeded labelled data set, for benchmarks and tests that must not
/// depend on stored data files.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write a seeded labelled data set (the gradient suite) as CSV plus labels.",
        subcommands: [Gradient.self]
    )

    /// `mmc generate gradient CASE`: one case of the gradient suite (docs/benchmarks.md).
    struct Gradient: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One case of the gradient suite: clusters whose density changes along them.",
            discussion: """
                Writes the points as CSV (header x,y; features in [0, 1]) to --output and one \
                label per row (1, 2, ...: the generating structure; no noise) to --labels-out, \
                by default the output path with its extension replaced by .labels. The same \
                case and seed always give the same file. --list prints the cases.
                """
        )

        @Argument(help: "The case, as --list prints it.")
        var name: String?

        @Option(help: "The generator's seed.")
        var seed: UInt64 = 1

        @Option(name: .shortAndLong, help: "The CSV file to write.")
        var output: String?

        @Option(help: "The labels file to write (default: the output path with extension .labels).")
        var labelsOut: String?

        @Flag(help: "Print the names of the cases and exit.")
        var list = false

        func validate() throws {
            guard !list else { return }
            guard let name else { throw ValidationError("name a case (--list prints them)") }
            guard GradientCase.named(name) != nil else {
                throw ValidationError("no case '\(name)'; --list prints the cases")
            }
            guard output != nil else { throw ValidationError("--output is required") }
        }

        func run() throws {
            if list {
                let lines = GradientCase.all.map {
                    "\($0.name)\t\($0.family.rawValue): \($0.pointCount) points, \($0.structureCount) clusters\n"
                }
                try Output.writeStandardOutput(Array(lines.joined().utf8))
                return
            }
            guard let name, let output, let gradientCase = GradientCase.named(name) else { return }
            let data = gradientCase.generate(seed: seed)
            var rows = "x,y\n"
            let values = data.points.values
            for row in 0..<data.points.count {
                rows += "\(values[2 * row]),\(values[2 * row + 1])\n"
            }
            try Output.replaceFile(output, with: Array(rows.utf8))
            let labels = data.labels.map { "\($0)\n" }.joined()
            try Output.replaceFile(labelsOut ?? Self.labelsPath(for: output), with: Array(labels.utf8))
        }

        /// `output` with its extension (if its last component has one) replaced by `.labels`.
        static func labelsPath(for output: String) -> String {
            let name = output.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
            guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return output + ".labels" }
            return String(output[..<dot]) + ".labels"
        }
    }
}
