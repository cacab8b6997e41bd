import ArgumentParser
import FoundationEssentials
import Glibc
import MMCDevTools
import MMCRuntime
import MMCWire

/// `mmc fuzz`: seeded mutation fuzzing of the wire decoders and the configuration parser.
struct FuzzCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuzz",
        abstract: "Fuzz a decoder: every mutated input must decode or be refused, never crash.",
        discussion: """
            Input i of a run depends only on --seed and i, so a run can be resumed with --start, and \
            the input a crash happened on can be rebuilt: a crash ends the process after the last \
            progress line, which names the inputs already done; rerun that stretch with \
            --save-input FILE (each input is written there before it runs, so FILE holds the one \
            that crashed). Prints one JSON object per target: execs, seconds, accepted, rejected by \
            code, failures, peak resident memory. Exits 1 if a property broke.
            """)

    static let targets = FuzzTarget.wireTargets + [FuzzTarget.configuration]

    @Option(help: ArgumentHelp(
        "Target: \(targets.map(\.name).joined(separator: ", ")) or all.", valueName: "name"))
    var target = "all"

    @Option(help: "Inputs per target.")
    var execs = 100_000

    @Option(help: "Seed of the mutations.")
    var seed: UInt64 = 1

    @Option(help: "Index of the first input (to resume a run or replay a stretch).")
    var start = 0

    @Option(help: "Write each input to this file before running it (slow; for finding a crashing input).")
    var saveInput: String?

    @Option(help: "Print a progress line to standard error every this many inputs (0 = never).")
    var progressEvery = 100_000

    func validate() throws {
        guard target == "all" || Self.targets.contains(where: { $0.name == target }) else {
            throw ValidationError("--target must be all or one of \(Self.targets.map(\.name).joined(separator: ", ")), got \(target)")
        }
        guard execs >= 1 else { throw ValidationError("--execs must be at least 1, got \(execs)") }
        guard start >= 0 else { throw ValidationError("--start must not be negative, got \(start)") }
        guard progressEvery >= 0 else { throw ValidationError("--progress-every must not be negative, got \(progressEvery)") }
    }

    func run() throws {
        var broken = false
        for fuzzTarget in Self.targets where target == "all" || fuzzTarget.name == target {
            let checked = saveInput.map { path in saving(fuzzTarget, to: path) } ?? fuzzTarget
            let clock = ContinuousClock()
            let began = clock.now
            let report = checked.run(execs: execs, seed: seed, start: start, progressEvery: progressEvery) { report in
                Output.writeStandardError(
                    "mmc fuzz: \(report.target): inputs \(report.start)..<\(report.start + report.execs) of seed \(report.seed) done\n")
            }
            let seconds = (clock.now - began).seconds
            broken = broken || !report.failures.isEmpty
            try Output.writeStandardOutput(Array((json(report, seconds: seconds) + "\n").utf8))
        }
        if broken { throw ExitCode.failure }
    }

    /// `target`, writing each input to `path` before running it.
    private func saving(_ target: FuzzTarget, to path: String) -> FuzzTarget {
        FuzzTarget(name: target.name, corpus: target.corpus, tokens: target.tokens) { input in
            _ = FileManager.default.createFile(atPath: path, contents: Data(input))
            return target.check(input)
        }
    }

    /// The report as one JSON object.
    private func json(_ report: FuzzReport, seconds: Double) -> String {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let rejected = report.rejected.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }
        let failures = report.failures.map { "{\"index\":\($0.index),\"problem\":\"\($0.problem)\"}" }
        return "{\"target\":\"\(report.target)\",\"seed\":\(report.seed),\"start\":\(report.start),"
            + "\"execs\":\(report.execs),\"seconds\":\(seconds.printed(decimals: 3)),"
            + "\"accepted\":\(report.accepted),\"rejected\":{\(rejected.joined(separator: ","))},"
            + "\"failures\":[\(failures.joined(separator: ","))],\"largest_input_bytes\":\(report.largestInput),"
            + "\"peak_rss_kib\":\(usage.ru_maxrss)}"
    }
}
