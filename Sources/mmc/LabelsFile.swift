#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `--labels-out` file, written batch by batch as the points are sent.
final class LabelsFile {
    private let path: String
    /// The open file, -1 once closed.
    private var descriptor: Int32

    /// Creates or truncates `path` (a new file gets mode 0666 less the umask).
    init(path: String) throws(FileError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o666)
        guard descriptor >= 0 else {
            throw FileError(path: path, action: "cannot create")
        }
        self.path = path
        self.descriptor = descriptor
    }

    /// Appends `id<TAB>label` lines.
    func append(ids: [UInt64], labels: [Int]) throws(FileError) {
        var text = ""
        text.reserveCapacity(ids.count * 16)
        for (id, label) in zip(ids, labels) {
            text += "\(id)\t\(label)\n"
        }
        try Output.writeAll(Array(text.utf8), to: descriptor, path: path)
    }

    deinit {
        if descriptor >= 0 { closeDescriptor(descriptor) }
    }

    /// Flushes and closes the file.
    func close() throws(FileError) {
        let flushed = fsync(descriptor) == 0 ? 0 : errno
        let closed = closeDescriptor(descriptor) == 0 ? 0 : errno
        descriptor = -1
        guard flushed == 0, closed == 0 else {
            throw FileError(path: path, action: "cannot close", code: flushed == 0 ? closed : flushed)
        }
    }
}

/// `close(2)`, which the method of the same name hides inside ``LabelsFile``.
@discardableResult
private func closeDescriptor(_ descriptor: Int32) -> Int32 {
    close(descriptor)
}
