#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// `secondsSinceEpoch` as UTC calendar time in a `strftime(3)` `format`, such as
/// `"%Y-%m-%dT%H:%M:%S"`.
///
/// With Glibc rather than Foundation's date formatters, which would link ICU into every static
/// binary; the state file's move-aside names and the daemon's log lines both stamp time this way.
package func utcTimestamp(secondsSinceEpoch: Int, format: String) -> String {
    var seconds = time_t(secondsSinceEpoch)
    var parts = tm()
    gmtime_r(&seconds, &parts)
    return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer in
        let count = strftime(buffer.baseAddress!, buffer.count, format, &parts)
        return String(decoding: UnsafeRawBufferPointer(start: buffer.baseAddress, count: count), as: UTF8.self)
    }
}
