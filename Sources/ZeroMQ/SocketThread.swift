internal import MMCRuntime
import Synchronization

/// The state a socket-owning thread shares with the object that started it: a stop request
/// going in, and the error that ended the thread coming out.
final class SocketThreadState: Sendable {
    private let stopFlag = Atomic<Bool>(false)
    private let endError = Mutex<ZMQError?>(nil)

    /// Whether the thread was asked to stop.
    var stopRequested: Bool {
        stopFlag.load(ordering: .acquiring)
    }

    /// Asks the thread to stop at its next check.
    func requestStop() {
        stopFlag.store(true, ordering: .releasing)
    }

    /// Records why the thread ended; a context shutdown (`ETERM`) is a normal end and leaves
    /// no failure.
    func end(with error: ZMQError) {
        if !error.isTerminated {
            endError.withLock { $0 = error }
        }
    }

    /// The error that ended the thread, if one did.
    var failure: ZMQError? {
        endError.withLock { $0 }
    }
}

/// Carries values into a new thread's closure.
///
/// `@unchecked Sendable` is safe because ``startSocketThread(named:handing:body:)`` takes the
/// value as `sending`: the caller's region gives it up, the closure is the only place it is
/// reachable afterwards, and only the new thread runs that closure. Starting a thread orders
/// everything done to the value before it with everything the thread does.
private struct ThreadHandoff<Value>: @unchecked Sendable {
    let value: Value
}

/// Starts a dedicated thread (never a Swift concurrency pool thread, so blocking libzmq calls
/// cannot starve async tasks) and makes it the sole owner of `value`, usually sockets.
///
/// - Throws: ``ZMQError`` with `pthread_create`'s error number when the system refuses the
///   thread; `value` is then released (its sockets closed) here.
func startSocketThread<Value>(
    named name: String, handing value: sending Value, body: @escaping @Sendable (Value) -> Void
) throws(ZMQError) {
    let handoff = ThreadHandoff(value: value)
    do throws(ThreadRefused) {
        try startDedicatedThread(named: name) {
            body(handoff.value)
        }
    } catch {
        throw ZMQError(code: error.code, operation: "start the thread \(name)")
    }
}
