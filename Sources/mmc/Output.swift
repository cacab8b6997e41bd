#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writing results: output files all at once or not at all, and the standard streams.
enum Output {
    /// Replaces `path` with `bytes`: writes a temporary file in the same directory, flushes it
    /// to disk and renames it over `path`, so readers see the old file or the complete new one,
    /// never a partial write. On failure the temporary file is removed and `path` is untouched.
    ///
    /// The new file gets mode 0666 less the umask, like a file created by the shell. A `path`
    /// that exists and is not a regular file (`/dev/null`, a pipe, a terminal) is written in
    /// place instead: renaming over it would replace the device with a file.
    /// - Throws: ``FileError`` naming `path` and the system's reason.
    static func replaceFile(_ path: String, with bytes: [UInt8]) throws(FileError) {
        var status = stat()
        if stat(path, &status) == 0 && (status.st_mode & S_IFMT) != S_IFREG {
            let descriptor = open(path, O_WRONLY)
            guard descriptor >= 0 else { throw FileError(path: path, action: "cannot open") }
            defer { close(descriptor) }
            try writeAll(bytes, to: descriptor, path: path)
            return
        }
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        var template = Array("\(directory).\(name).XXXXXX".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else {
            throw FileError(path: path, action: "cannot create a temporary file beside it")
        }
        let temporary = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let mask = umask(0)
        umask(mask)
        var closed = false
        do throws(FileError) {
            guard fchmod(descriptor, 0o666 & ~mask) == 0 else {
                throw FileError(path: path, action: "cannot set the mode")
            }
            try writeAll(bytes, to: descriptor, path: path)
            guard fsync(descriptor) == 0 else {
                throw FileError(path: path, action: "cannot flush")
            }
            closed = true
            guard close(descriptor) == 0 else {
                throw FileError(path: path, action: "cannot close")
            }
            guard rename(temporary, path) == 0 else {
                throw FileError(path: path, action: "cannot rename the temporary file into place")
            }
        } catch {
            if !closed { close(descriptor) }
            unlink(temporary)
            throw error
        }
    }

    /// Writes `bytes` to standard output.
    ///
    /// - Throws: ``FileError`` with the system's reason (a closed pipe, a full disk).
    static func writeStandardOutput(_ bytes: [UInt8]) throws(FileError) {
        try writeAll(bytes, to: STDOUT_FILENO, path: "standard output")
    }

    /// Writes `text` to standard error, ignoring failures (there is nowhere left to report them).
    static func writeStandardError(_ text: String) {
        try? writeAll(Array(text.utf8), to: STDERR_FILENO, path: "standard error")
    }

    /// Writes all of `bytes` to an open descriptor, retrying short writes and interruptions.
    static func writeAll(_ bytes: [UInt8], to descriptor: Int32, path: String) throws(FileError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw FileError(path: path, action: "cannot write")
            }
            offset += written
        }
    }
}
