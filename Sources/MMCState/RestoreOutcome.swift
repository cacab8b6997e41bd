/// What ``StateStore/restore(accepting:)`` found.
public enum RestoreOutcome: Sendable {
    /// No state file: a first start.
    case empty
    /// The snapshot was read and accepted.
    case restored(DaemonStateSnapshot)
    /// The file was corrupt, of another version or rejected; it was moved to `movedTo` (or could
    /// not be moved: `moveError`). The daemon starts empty.
    case discarded(StateStoreError, movedTo: String?, moveError: StateStoreError?)
    /// The file could not be read (permissions, I/O error); it was left in place. The daemon
    /// starts empty.
    case unreadable(StateStoreError)
}
