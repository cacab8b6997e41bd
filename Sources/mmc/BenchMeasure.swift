import MMCConfiguration

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The two clocks every `mmc bench` figure is read from: the calling thread's CPU time, which
/// other processes on a shared machine barely disturb, and the monotonic wall clock.
enum BenchClock {
    /// CPU seconds the calling thread has run (`CLOCK_THREAD_CPUTIME_ID`).
    static func threadCPUSeconds() -> Double { seconds(of: CLOCK_THREAD_CPUTIME_ID) }

    /// CPU seconds every thread of the process has run (`CLOCK_PROCESS_CPUTIME_ID`).
    static func processCPUSeconds() -> Double { seconds(of: CLOCK_PROCESS_CPUTIME_ID) }

    /// Seconds on the monotonic clock, comparable between threads (`CLOCK_MONOTONIC`).
    static func wallSeconds() -> Double { seconds(of: CLOCK_MONOTONIC) }

    private static func seconds(of clock: clockid_t) -> Double {
        var time = timespec()
        // clock_gettime fails only for an unknown clock, and both clocks exist on Linux.
        _ = clock_gettime(clock, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
    }

    /// The thread CPU time and wall time `body` takes on the calling thread.
    static func measure(_ body: () throws -> Void) rethrows -> Duration {
        let (cpu, wall) = (threadCPUSeconds(), wallSeconds())
        try body()
        return Duration(cpu: threadCPUSeconds() - cpu, wall: wallSeconds() - wall)
    }

    /// The process's CPU time (every thread's) and wall time `body` takes: the measure of work
    /// that runs on several threads.
    static func measureProcess(_ body: () throws -> Void) rethrows -> Duration {
        let (cpu, wall) = (processCPUSeconds(), wallSeconds())
        try body()
        return Duration(cpu: processCPUSeconds() - cpu, wall: wallSeconds() - wall)
    }

    /// Thread CPU seconds and wall seconds of one measured run.
    struct Duration {
        let cpu: Double
        let wall: Double
    }
}

/// The median, minimum and maximum of repeated measurements of one quantity.
struct Spread: Encodable {
    let median: Double
    let min: Double
    let max: Double

    /// The spread of `samples`; the median of an even count is the mean of the middle two.
    /// - Precondition: `samples` is not empty.
    init(_ samples: [Double]) {
        precondition(!samples.isEmpty, "a spread needs at least one sample")
        let sorted = samples.sorted()
        let middle = sorted.count / 2
        median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        min = sorted[0]
        max = sorted[sorted.count - 1]
    }
}

/// What the figures were measured on: a shared machine's load matters, so it is recorded.
struct MachineInfo: Encodable {
    /// Online processors.
    let processors: Int
    /// The first `model name` of /proc/cpuinfo, or `unknown`.
    let cpuModel: String
    /// The 1-, 5- and 15-minute load averages when the benchmark started.
    let loadAverage: [Double]

    /// The machine as it is now.
    static func current() -> MachineInfo {
        let cpuInfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuInfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .flatMap { $0.split(separator: ":", maxSplits: 1).last }
            .map { $0.trimmingBlanks() } ?? "unknown"
        var loads = [Double](repeating: 0, count: 3)
        let found = getloadavg(&loads, 3)
        return MachineInfo(
            processors: sysconf(Int32(_SC_NPROCESSORS_ONLN)), cpuModel: model,
            loadAverage: Array(loads.prefix(max(0, Int(found)))))
    }
}

/// The resident set size of this process in bytes, from the second field of /proc/self/statm
/// (resident pages), or `nil` where that file cannot be read.
func residentSetBytes() -> Int? {
    guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
    let fields = statm.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
    return pages * sysconf(Int32(_SC_PAGESIZE))
}

/// Text formatting of the readable report.
enum BenchFormat {
    /// An integer with thousands separators: `1,234,567`.
    static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var result = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { result += "," }
            result.append(digit)
        }
        return value < 0 ? "-" + result : result
    }

    /// A rate rounded to an integer with thousands separators.
    static func rate(_ value: Double) -> String { grouped(Int(value.rounded())) }

    /// A spread of rates: `median (min-max)`.
    static func rates(_ spread: Spread) -> String {
        "\(rate(spread.median)) (\(rate(spread.min))-\(rate(spread.max)))"
    }

    /// A spread of seconds in milliseconds with one decimal: `median (min-max) ms`.
    static func milliseconds(_ spread: Spread) -> String {
        let (median, min, max) = (spread.median * 1e3, spread.min * 1e3, spread.max * 1e3)
        return "\(median.printed(decimals: 1)) (\(min.printed(decimals: 1))-\(max.printed(decimals: 1))) ms"
    }

    /// Bytes in MiB with one decimal.
    static func mebibytes(_ bytes: Int) -> String { (Double(bytes) / 1_048_576).printed(decimals: 1) + " MiB" }
}
