/// A message on an updates topic: a cluster update or provisional assignments.
public enum UpdateMessage: Sendable, Hashable {
    /// `"kind":"clusters"`
    case clusters(ClusterUpdate)
    /// `"kind":"provisional"`
    case provisional(ProvisionalAssignments)
}
