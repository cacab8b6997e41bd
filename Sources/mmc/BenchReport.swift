import FoundationEssentials

/// Everything one `mmc bench` run measured; a section that did not run is absent.
struct BenchReport: Encodable {
    let machine: MachineInfo
    /// The command line, as typed.
    let command: String
    var forest: [ForestBench.Result]?
    var recluster: [ReclusterBench.Result]?
    var neighbours: [NeighbourBench.Result]?
    var memory: MemoryBench.Result?
    var wire: WireBench.Section?
    var pubsub: PubSubBench.Section?

    init(machine: MachineInfo, command: String) {
        self.machine = machine
        self.command = command
    }

    /// One JSON object with snake_case keys, and a newline.
    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
    }

    /// The readable report.
    func text() -> String {
        var lines = [
            "mmc bench on \(machine.processors) x \(machine.cpuModel), load average "
                + machine.loadAverage.map { $0.printed(decimals: 2) }.joined(separator: " ") + " at start",
            "command: \(command)",
        ]
        if let forest {
            lines.append("")
            lines.append("forest insert + expire (steady state, window full), points/s: median (min-max)")
            for result in forest {
                lines.append(
                    "  window \(BenchFormat.grouped(result.windowSize)), \(result.dimension)-D, "
                        + "t=\(result.treeCount) h=\(result.height) psi=\(result.sampleSize), "
                        + "\(result.repetitions) x \(BenchFormat.grouped(result.insertsPerRepetition)) inserts")
                lines.append("    CPU time:  \(BenchFormat.rates(result.cpuPointsPerSecond))")
                lines.append("    wall time: \(BenchFormat.rates(result.wallPointsPerSecond))")
            }
        }
        if let recluster {
            lines.append("")
            lines.append("re-clustering, per run: median (min-max)")
            for result in recluster {
                lines.append(
                    "  \(result.method) on \(BenchFormat.grouped(result.points)) points (\(result.source)), "
                        + "min samples \(result.minSamples), min cluster size \(result.minClusterSize), \(result.runs) runs: "
                        + "\(result.clusters) clusters, \(BenchFormat.grouped(result.noise)) noise")
                lines.append("    CPU time:  \(BenchFormat.milliseconds(result.cpuSeconds))")
                lines.append("    wall time: \(BenchFormat.milliseconds(result.wallSeconds))")
            }
        }
        if let neighbours {
            lines.append("")
            lines.append("neighbour tables (exact k-d tree, approximate NN-descent), per run: median (min-max)")
            for result in neighbours {
                lines.append(
                    "  \(BenchFormat.grouped(result.points)) x \(result.dimension) (\(result.source)), k \(result.k), "
                        + "\(result.runs) runs, \(result.threads) threads: recall \(result.recall.printed(decimals: 4)), "
                        + "automatic takes \(result.automaticIsApproximate ? "approximate" : "exact")")
                lines.append("    exact CPU time:        \(BenchFormat.milliseconds(result.exactCPUSeconds))")
                lines.append("    approximate CPU time:  \(BenchFormat.milliseconds(result.approximateCPUSeconds))")
                lines.append("    exact wall time:       \(BenchFormat.milliseconds(result.exactWallSeconds))")
                lines.append("    approximate wall time: \(BenchFormat.milliseconds(result.approximateWallSeconds))")
            }
        }
        if let memory {
            lines.append("")
            lines.append(
                "memory, \(memory.dimension)-D, t=\(memory.treeCount) h=\(memory.height), window \(BenchFormat.grouped(memory.windowSize))")
            lines.append(
                "  \(memory.bytesPerWindowPoint.printed(decimals: 0)) bytes per window point (window "
                    + "\(memory.windowBytesPerWindowPoint) + forest cache \(memory.forestBytesPerWindowPoint.printed(decimals: 0))), "
                    + "\(memory.bytesPerForestNode.printed(decimals: 0)) bytes per forest node x "
                    + "\(BenchFormat.grouped(memory.forestNodes)) nodes")
            lines.append("  model: \(BenchFormat.mebibytes(memory.modelBytes))")
            lines.append(
                "  resident set over \(BenchFormat.grouped(memory.inserts)) inserts: after fill "
                    + "\(BenchFormat.mebibytes(memory.residentBytesAfterFill)), first \(BenchFormat.mebibytes(memory.residentBytesFirst)), "
                    + "last \(BenchFormat.mebibytes(memory.residentBytesLast)), max \(BenchFormat.mebibytes(memory.residentBytesMax))")
            lines.append(
                "  samples: " + memory.samples.map { "\(BenchFormat.grouped($0.inserts)): \(BenchFormat.mebibytes($0.residentBytes))" }
                    .joined(separator: ", "))
            lines.append(
                "  rate over the run: \(BenchFormat.rate(memory.cpuPointsPerSecond)) points/s CPU, "
                    + "\(BenchFormat.rate(memory.wallPointsPerSecond)) wall")
        }
        if let wire {
            lines.append("")
            lines.append("wire, \(BenchFormat.grouped(wire.points)) points of dimension \(wire.dimension), seed \(wire.seed)")
            for result in wire.results {
                let padded = result.name.prefix(28) + String(repeating: " ", count: max(0, 28 - result.name.count))
                let values = result.values > 0 ? "\(BenchFormat.rate(result.valuesPerSecond)) values/s, " : ""
                lines.append(
                    "  \(padded) \(BenchFormat.grouped(result.payloadBytes)) bytes: \(BenchFormat.rate(result.pointsPerSecond)) points/s, "
                        + "\(values)\(BenchFormat.rate(result.megabytesPerSecond)) MB/s")
            }
        }
        if let pubsub {
            lines.append("")
            lines.append(
                "PUB -> SUB over tcp://127.0.0.1, \(BenchFormat.grouped(pubsub.batchSize))-point binary batches "
                    + "(\(BenchFormat.grouped(pubsub.payloadBytes)) bytes), HWM "
                    + (pubsub.highWaterMark.map(BenchFormat.grouped) ?? "libzmq default (1,000)")
                    + ", \(pubsub.secondsPerRun) s per run")
            for run in pubsub.runs + [pubsub.slowSubscriber] {
                let pace = run.targetPointsPerSecond.map { "paced at \(BenchFormat.rate($0))" } ?? "unpaced"
                let slow = run.subscriberSleepMilliseconds > 0
                    ? ", subscriber sleeps \(run.subscriberSleepMilliseconds) ms per batch" : ""
                lines.append(
                    "  \(pace)\(slow): sent \(BenchFormat.grouped(run.batchesSent)), received \(BenchFormat.grouped(run.batchesReceived)), "
                        + "lost \(BenchFormat.grouped(run.batchesLost)) batches (\(BenchFormat.grouped(run.batchesLostInGaps)) in gaps); "
                        + "sent \(BenchFormat.rate(run.sentPointsPerSecond)), delivered \(BenchFormat.rate(run.deliveredPointsPerSecond)) points/s")
            }
            lines.append(
                "  zero loss at " + (pubsub.zeroLossPointsPerSecond.map { "\(BenchFormat.rate($0)) points/s" } ?? "no measured rate"))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
