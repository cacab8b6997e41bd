import Dispatch
import Synchronization

/// Room in a back-pressure ``ZMQReceiveLoop``'s buffer, counted in messages.
///
/// The loop thread takes a credit before it receives a message and the consumer gives one back
/// for every message it takes from the buffer, so the buffer never holds more messages than
/// the credits the loop started with. A loop thread without credit sleeps in
/// ``waitForCredit(timeout:)`` until a credit comes back, ``wake()`` is called (a stop request
/// or a message to send) or the timeout passes.
final class ReceiveCredits: Sendable {
    private struct State {
        /// Credits the loop thread can take.
        var available: Int
        /// Whether the loop thread sleeps, or is about to, on the doorbell.
        var waiting = false
        /// Whether ``wake()`` was called since the loop thread last looked; it then does not
        /// sleep, so a wake-up that comes just before the thread sleeps is not lost.
        var woken = false
    }

    private let state: Mutex<State>
    /// Rung at most once per sleep, only while the loop thread sleeps or is about to.
    private let doorbell = DispatchSemaphore(value: 0)

    /// Starts with `count` credits: the buffer is empty and holds `count` messages.
    init(_ count: Int) {
        state = Mutex(State(available: count))
    }

    /// Takes one credit, if there is one.
    func take() -> Bool {
        state.withLock { state in
            guard state.available > 0 else {
                return false
            }
            state.available -= 1
            return true
        }
    }

    /// Gives one credit back: the consumer took a message, or the loop thread took a credit
    /// and found no message.
    func give() {
        ring { $0.available += 1 }
    }

    /// Makes the loop thread look at once at its stop request and its outbox.
    func wake() {
        ring { $0.woken = true }
    }

    /// Waits until there is a credit, ``wake()`` is called or `timeout` passes; returns at once
    /// when there is a credit or a wake-up is pending.
    ///
    /// - Returns: Whether there is a credit now.
    func waitForCredit(timeout: DispatchTimeInterval) -> Bool {
        let mustSleep = state.withLock { state in
            if state.available > 0 || state.woken {
                state.woken = false
                return false
            }
            state.waiting = true
            return true
        }
        if mustSleep {
            _ = doorbell.wait(timeout: .now() + timeout)
        }
        return state.withLock { state in
            state.waiting = false
            state.woken = false
            return state.available > 0
        }
    }

    /// Applies `change` and rings the doorbell if the loop thread sleeps on it. A ring that
    /// comes after a sleep timed out leaves the semaphore at 1, which costs the next sleep one
    /// early return and nothing else.
    private func ring(_ change: (inout State) -> Void) {
        let sleeping = state.withLock { state in
            change(&state)
            defer { state.waiting = false }
            return state.waiting
        }
        if sleeping {
            doorbell.signal()
        }
    }
}
