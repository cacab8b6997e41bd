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
/// `top -H` and `perf` show it) and by default the stack of a main thread (8 MiB), so the
/// work has the room it would have there; the clusterer itself recurses only as deep as a
/// mass tree is high (at most 20), its k-d tree and hierarchy keep explicit stacks. When the
/// system refuses a thread (threads or memory ran out), the work runs on a thread of the
/// cooperative pool instead, never on the caller's actor: it holds that thread for a while,
/// but a re-clustering or a state snapshot is late rather than lost.
///
/// - Parameters:
///   - niceness: the thread's nice value, 0 to run like every other thread; above 0 the work
///     yields to the others.
///   - stackSize: the thread's stack in bytes.
///   - priorityDenied: called with the thread's name and `errno` when the system refuses the
///     niceness (a seccomp filter may); the work then runs at normal priority.
///   - refused: called when the system refuses the thread, before the work runs on the
///     cooperative pool.
@concurrent  // Off the caller's actor: refused a thread, the work must not hold that actor.
package func runOnDedicatedThread<Result: Sendable, Failure: Error>(
    named name: String, niceness: Int32 = 0, stackSize: Int = 8 << 20,
    priorityDenied: (@Sendable (_ thread: String, _ errno: Int32) -> Void)? = nil,
    refused: (@Sendable (ThreadRefused) -> Void)? = nil,
    _ body: @escaping @Sendable () throws(Failure) -> Result
) async throws(Failure) -> Result {
    let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<Swift.Result<Result, Failure>, Never>) in
        do throws(ThreadRefused) {
            try startDedicatedThread(named: name, stackSize: stackSize) {
                if niceness != 0, mmc_set_current_thread_niceness(niceness) != 0 {
                    priorityDenied?(name, errno)
                }
                continuation.resume(returning: Swift.Result { () throws(Failure) in try body() })
            }
        } catch {
            refused?(error)
            continuation.resume(returning: Swift.Result { () throws(Failure) in try body() })
        }
    }
    return try outcome.get()
}

/// The system refused to start a thread: `pthread_create` failed, which it does only when
/// threads or memory run out (a cgroup's `pids.max`, `RLIMIT_NPROC`, the address space).
package struct ThreadRefused: Error, Sendable, CustomStringConvertible {
    /// The name the thread was to have.
    package let thread: String
    /// `pthread_create`'s error number (`EAGAIN` mostly).
    package let code: Int32

    /// `cannot start the thread NAME: REASON (errno N)`.
    package var description: String {
        "cannot start the thread \(thread): \(String(cString: strerror(code))) (errno \(code))"
    }
}

/// Starts `body` on a new detached thread named `name`, never a thread of Swift's cooperative
/// pool, so that it may block: in libzmq, on a semaphore, in a long measured loop.
///
/// - Parameter stackSize: the thread's stack in bytes; `nil` for the system's default (the
///   stack limit, `ulimit -s`).
/// - Throws: ``ThreadRefused`` when the system cannot start the thread; `body` is not run.
package func startDedicatedThread(
    named name: String, stackSize: Int? = nil, _ body: @escaping @Sendable () -> Void
) throws(ThreadRefused) {
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
        throw ThreadRefused(thread: name, code: failure)
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
