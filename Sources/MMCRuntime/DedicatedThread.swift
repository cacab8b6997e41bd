internal import CLinuxSupport
internal import Foundation

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Runs blocking or long work on a thread of its own and resumes the caller with its result.
///
/// The work never holds a thread of Swift's cooperative pool, which async tasks share: a
/// re-clustering, an `fsync`, a PUSH socket waiting for a peer. The thread gets `name` (as
/// `top -H` and `perf` show it) and the stack of a main thread, since the clusterer's k-d tree
/// and hierarchy recurse.
///
/// - Parameters:
///   - niceness: the thread's nice value, 0 to run like every other thread; above 0 the work
///     yields to the others.
///   - priorityDenied: called with the thread's name and `errno` when the system refuses the
///     niceness (a seccomp filter may); the work then runs at normal priority.
package func runOnDedicatedThread<Result: Sendable, Failure: Error>(
    named name: String, niceness: Int32 = 0,
    priorityDenied: (@Sendable (_ thread: String, _ errno: Int32) -> Void)? = nil,
    _ body: @escaping @Sendable () throws(Failure) -> Result
) async throws(Failure) -> Result {
    let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<Swift.Result<Result, Failure>, Never>) in
        let thread = Thread {
            mmc_name_current_thread(name)
            if niceness != 0, mmc_set_current_thread_niceness(niceness) != 0 {
                priorityDenied?(name, errno)
            }
            continuation.resume(returning: Swift.Result { () throws(Failure) in try body() })
        }
        // 8 MiB, a main thread's default.
        thread.stackSize = 8 << 20
        thread.start()
    }
    return try outcome.get()
}
