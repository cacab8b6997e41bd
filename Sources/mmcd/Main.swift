import ArgumentParser

/// `mmcd`: the streaming clustering daemon.
@main
struct MMCD: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mmcd",
        abstract: "Streaming mass-maximization clustering daemon."
    )
}
