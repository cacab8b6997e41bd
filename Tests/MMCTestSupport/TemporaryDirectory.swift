import Foundation

/// A fresh directory under the system's temporary directory, removed with everything in it
/// when the object is released.
public final class TemporaryDirectory: Sendable {
    /// The directory's path, without a trailing slash.
    public let path: String

    /// Creates `<tmp>/<prefix>-<random>`.
    public init(prefix: String = "mmcd-test") throws {
        path = NSTemporaryDirectory() + prefix + "-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// The path of `name` inside the directory.
    public func file(_ name: String) -> String {
        path + "/" + name
    }
}
