/// What one fuzz input did.
public enum FuzzOutcome: Sendable, Hashable {
    /// It decoded, and the value survived a round trip.
    case accepted
    /// It was refused with this error code.
    case rejected(String)
    /// A property broke: a wrong error type, a round trip that changed the value.
    case failed(String)
}
