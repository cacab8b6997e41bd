internal import Glibc

/// Why a state file could not be written or read.
public struct StateStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of problem it was.
    public enum Code: Sendable, Hashable {
        /// The file ends before its header or payload does.
        case truncated
        /// The file does not start with the state file magic.
        case badMagic
        /// A format version this build cannot read.
        case unsupportedVersion
        /// The header or payload checksum does not match (a flipped bit, a torn write).
        case checksumMismatch
        /// The checksum matched but the content is not a valid snapshot (bad lengths, trailing
        /// bytes, arrays that disagree).
        case malformed
        /// A valid snapshot the caller cannot use (another dimension or forest shape).
        case incompatible
        /// A system call failed (no space, read-only file system, permissions).
        case io
    }

    /// What kind of problem it was.
    public let code: Code
    /// The file or directory concerned.
    public let path: String
    /// The `errno` of a failed system call (``Code/io`` only).
    public let errno: Int32?
    /// A readable sentence naming the problem.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, path: String, errno: Int32? = nil, _ message: String) {
        self.code = code
        self.path = path
        self.errno = errno
        self.message = message
    }

    /// Whether the file's content is the problem (so it should be moved aside), rather than
    /// the system call that tried to read it.
    public var concernsFileContent: Bool { code != .io }

    /// `path: message`, with `strerror` for system call failures.
    public var description: String {
        let reason = errno.map { ": " + String(cString: strerror($0)) } ?? ""
        return "\(path): \(message)\(reason)"
    }
}
