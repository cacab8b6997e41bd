internal import Synchronization

extension MetricsServer {
    /// The bound port, handed from the server's start callback to whoever waits for it.
    final class Binding: Sendable {
        private enum State {
            case waiting([CheckedContinuation<Int, any Error>])
            case bound(Int)
            case finished(MetricsServerError)
        }

        private let state = Mutex(State.waiting([]))

        func bound(_ port: Int) {
            state.withLock { state in
                if case .waiting(let waiters) = state {
                    for waiter in waiters { waiter.resume(returning: port) }
                }
                state = .bound(port)
            }
        }

        func finish(_ error: MetricsServerError) {
            state.withLock { state in
                if case .waiting(let waiters) = state {
                    for waiter in waiters { waiter.resume(throwing: error) }
                }
                state = .finished(error)
            }
        }

        func wait() async throws -> Int {
            try await withCheckedThrowingContinuation { continuation in
                state.withLock { state in
                    switch state {
                    case .waiting(let waiters): state = .waiting(waiters + [continuation])
                    case .bound(let port): continuation.resume(returning: port)
                    case .finished(let error): continuation.resume(throwing: error)
                    }
                }
            }
        }
    }
}
