/// A change in the set of clusters between two consecutive updates.
public enum ClusterEvent: Sendable, Hashable {
    /// A new cluster appeared.
    case birth(Int64)
    /// A cluster vanished (its points became noise or left the window).
    case death(Int64)
    /// Two or more clusters became one (`into` is usually one of `from`).
    case merge(from: [Int64], into: Int64)
    /// One cluster became two or more (`into` may contain `from`).
    case split(from: Int64, into: [Int64])

    /// Checks ids (>= 0) and list lengths (>= 2); `index` names the event in messages.
    func validate(index: Int) throws(WireError) {
        let ids: [Int64]
        switch self {
        case .birth(let id), .death(let id):
            ids = [id]
        case .merge(let from, let into):
            guard from.count >= 2 else { throw WireError(.invalidValue, "event \(index) (merge): \"from\" needs at least 2 ids, got \(from.count)") }
            ids = from + [into]
        case .split(let from, let into):
            guard into.count >= 2 else { throw WireError(.invalidValue, "event \(index) (split): \"into\" needs at least 2 ids, got \(into.count)") }
            ids = [from] + into
        }
        if let negative = ids.first(where: { $0 < 0 }) {
            throw WireError(.outOfRange, "event \(index): cluster id \(negative) is below 0")
        }
    }
}
