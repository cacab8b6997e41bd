/// A step of a test that did not happen: a missing executable, a reply that never came, a line
/// that does not parse.
public struct TestFailure: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
