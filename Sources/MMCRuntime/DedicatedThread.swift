internal import CLinuxSupport

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
        // 8 MiB, a main thread's default.
        startDedicatedThread(named: name, stackSize: 8 << 20) {
            if niceness != 0, mmc_set_current_thread_niceness(niceness) != 0 {
                priorityDenied?(name, errno)
            }
            continuation.resume(returning: Swift.Result { () throws(Failure) in try body() })
        }
    }
    return try outcome.get()
}

/// Starts `body` on a new detached thread named `name`, never a thread of Swift's cooperative
/// pool, so that it may block: in libzmq, on a semaphore, in a long measured loop.
///
/// - Parameter stackSize: the thread's stack in bytes; `nil` for the system's default (the
///   stack limit, `ulimit -s`).
/// - Precondition: the system can start a thread (`pthread_create` fails only when threads or
///   memory run out).
package func startDedicatedThread(named name: String, stackSize: Int? = nil, _ body: @escaping @Sendable () -> Void) {
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
    if let stackSize {
        pthread_attr_setstacksize(&attributes, stackSize)
    }
    let start = Unmanaged.passRetained(ThreadStart(name: name, body: body))
    var thread = pthread_t()
    let failure = pthread_create(&thread, &attributes, { context in
        let start = Unmanaged<ThreadStart>.fromOpaque(context!).takeRetainedValue()
        mmc_name_current_thread(start.name)
        start.body()
        return nil
    }, start.toOpaque())
    if failure != 0 {
        start.release()
        preconditionFailure("cannot start the thread \(name): \(String(cString: strerror(failure)))")
    }
}

/// What a new thread runs, handed to it through `pthread_create`'s argument; immutable, so
/// the creating thread and the new one may both hold it.
private final class ThreadStart: Sendable {
    let name: String
    let body: @Sendable () -> Void

    init(name: String, body: @escaping @Sendable () -> Void) {
        self.name = name
        self.body = body
    }
}

/// Blocks the calling thread for `seconds` (not at all for 0 or less), sleeping on after a
/// signal interrupts it.
package func sleepCurrentThread(seconds: Double) {
    guard seconds > 0 else { return }
    let whole = seconds.rounded(.towardZero)
    var request = timespec(tv_sec: Int(whole), tv_nsec: Int((seconds - whole) * 1e9))
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 && errno == EINTR {
        request = remaining
    }
}
