import CLinuxSupport
import Foundation

/// Runs `body` on a new thread (never a Swift concurrency pool thread, so it may block) and
/// returns its result.
func runOnDedicatedThread<Result: Sendable>(
    named name: String, _ body: @escaping @Sendable () throws -> Result
) async throws -> Result {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            mmc_name_current_thread(name)
            continuation.resume(with: Swift.Result { try body() })
        }
        thread.start()
    }
}
