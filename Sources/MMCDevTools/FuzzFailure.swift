/// An input that broke a property: rebuild it with ``FuzzTarget/input(at:seed:)``.
public struct FuzzFailure: Sendable, Hashable {
    /// The input's index in its run.
    public let index: Int
    /// What broke.
    public let problem: String
}
