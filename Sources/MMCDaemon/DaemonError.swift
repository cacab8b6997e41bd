/// Why the daemon cannot start or a part of it failed: a readable sentence.
public struct DaemonError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, naming the key, file or endpoint concerned.
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
