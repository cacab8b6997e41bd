internal import Foundation

/// Runs blocking or long work on a thread of its own and resumes the caller with its result.
///
/// Re-clusterings (hundreds of milliseconds of CPU) and state writes (`fsync`) would otherwise
/// hold one of the few threads of Swift's cooperative pool, which ingestion, publishing and
/// the control endpoint share.
func runOnDedicatedThread<Result: Sendable>(
    named name: String, _ body: @escaping @Sendable () -> Result
) async -> Result {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: body()) }
        thread.name = name
        // The clusterer's k-d tree and hierarchy recurse; 8 MiB is the main thread's default.
        thread.stackSize = 8 << 20
        thread.start()
    }
}
