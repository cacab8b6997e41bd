import ArgumentParser

/// `mmc`: the command-line companion of the mmcd daemon.
@main
struct MMC: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mmc",
        abstract: "Mass-maximization clustering: cluster and plot files, feed and watch the mmcd daemon, benchmark, fuzz, generate test data.",
        subcommands: [
            ClusterCommand.self, PlotCommand.self, FeedCommand.self, WatchCommand.self, KeygenCommand.self,
            BenchCommand.self, FuzzCommand.self, GenerateCommand.self,
        ]
    )
}
