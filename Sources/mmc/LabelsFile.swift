import Foundation

/// The `--labels-out` file, written batch by batch as the points are sent.
final class LabelsFile {
    private let path: String
    private let handle: FileHandle

    /// Creates or truncates `path`.
    init(path: String) throws(FileError) {
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw FileError(path: path, action: "cannot create")
        }
        self.path = path
        self.handle = handle
    }

    /// Appends `id<TAB>label` lines.
    func append(ids: [UInt64], labels: [Int]) throws(FileError) {
        var text = ""
        text.reserveCapacity(ids.count * 16)
        for (id, label) in zip(ids, labels) {
            text += "\(id)\t\(label)\n"
        }
        do {
            try handle.write(contentsOf: Data(text.utf8))
        } catch {
            throw FileError(path: path, reason: "cannot write: \(error.localizedDescription)")
        }
    }

    /// Flushes and closes the file.
    func close() throws(FileError) {
        do {
            try handle.synchronize()
            try handle.close()
        } catch {
            throw FileError(path: path, reason: "cannot close: \(error.localizedDescription)")
        }
    }
}
