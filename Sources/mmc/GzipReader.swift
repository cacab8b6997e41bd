import CZlib

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a whole file, or standard input, through zlib's streaming `gzread`.
///
/// zlib decompresses gzip data (also several concatenated gzip members) and passes anything
/// else through unchanged, so plain text and `.gz` files take the same path, and `-` (standard
/// input) may be either. A gzip stream that ends early is an error, not a short read.
enum GzipReader {
    /// The bytes of `path` after decompression; `path` `-` reads standard input.
    ///
    /// - Throws: ``FileError`` naming the path and zlib's or the system's reason.
    /// - Complexity: O(n) for n decompressed bytes, read in 1 MiB chunks.
    static func readAll(path: String) throws(FileError) -> [UInt8] {
        let name = displayName(path)
        let descriptor = path == "-" ? dup(STDIN_FILENO) : -1
        let opened: gzFile? = path == "-" ? gzdopen(descriptor, "rb") : gzopen(path, "rb")
        guard let file = opened else {
            throw FileError(path: name, action: "cannot open")
        }
        // zlib starts its messages with the path it was given.
        let zlibPath = path == "-" ? "<fd:\(descriptor)>" : path
        gzbuffer(file, 1 << 17)
        var bytes: [UInt8] = []
        // A file's size is what plain text needs (and a start for gzip data): no regrowth.
        var info = stat()
        if path != "-" && stat(path, &info) == 0 && info.st_size > 0 { bytes.reserveCapacity(Int(info.st_size)) }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = chunk.withUnsafeMutableBytes { buffer in
                gzread(file, buffer.baseAddress, UInt32(buffer.count))
            }
            if count < 0 {
                let reason = zlibError(file, path: zlibPath)
                gzclose(file)
                throw FileError(path: name, reason: "cannot read: \(reason)")
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<Int(count)])
        }
        let truncated = gzclose(file) == Z_BUF_ERROR
        if truncated {
            throw FileError(path: name, reason: "cannot read: the gzip data ends early (truncated file?)")
        }
        return bytes
    }

    /// How errors name `path`: `standard input` for `-`, else the path itself.
    static func displayName(_ path: String) -> String {
        path == "-" ? "standard input" : path
    }

    /// zlib's message for the last error on `file` without the leading `path: `, or the
    /// system's message when zlib reports errno.
    private static func zlibError(_ file: gzFile, path: String) -> String {
        var code: Int32 = Z_OK
        let raw = gzerror(file, &code)
        if code == Z_ERRNO { return String(cString: strerror(errno)) }
        let message = raw.map { String(cString: $0) } ?? "zlib error \(code)"
        let prefix = path + ": "
        return message.hasPrefix(prefix) ? String(message.dropFirst(prefix.count)) : message
    }
}
