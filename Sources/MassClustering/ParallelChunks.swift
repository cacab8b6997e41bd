internal import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs `body` over `0..<count` cut into consecutive chunks of `chunkSize` indices, on at most
/// `threads` threads (the calling thread among them), each thread taking the next chunk not yet
/// taken until none is left.
///
/// The caller's `body` must write only to outputs owned by the indices of its chunk (through a
/// ``ChunkOutput``): chunks are disjoint, so such writes never race, and the result is the same
/// for every `threads` and every order in which the chunks happen to run. With `threads <= 1`,
/// or a single chunk, the chunks run in order on the calling thread and no other thread is
/// involved.
///
/// Chunks are claimed one at a time from a shared counter rather than dealt out in advance, so a
/// thread that the machine's other work slows down takes fewer of them.
///
/// - Parameters:
///   - count: the number of indices.
///   - chunkSize: indices per chunk (the last one may be shorter); at least 1.
///   - threads: the most threads to use.
///   - body: the work for one chunk of indices.
func forEachChunk(count: Int, chunkSize: Int, threads: Int, _ body: @escaping @Sendable (Range<Int>) -> Void) {
    precondition(chunkSize >= 1, "forEachChunk: chunkSize must be at least 1")
    let chunks = (count + chunkSize - 1) / chunkSize
    let workers = min(threads, chunks)
    guard workers > 1 else {
        for index in 0..<chunks { body(index * chunkSize..<min(count, (index + 1) * chunkSize)) }
        return
    }
    let queue = ChunkQueue(count: count, chunkSize: chunkSize, chunks: chunks, body: body)
    // POSIX threads rather than Dispatch: the pool is this function's and ends with it.
    var helpers: [pthread_t] = []
    for _ in 1..<workers {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(queue).toOpaque()
        if pthread_create(&thread, nil, { context in
            let queue = Unmanaged<ChunkQueue>.fromOpaque(context!).takeRetainedValue()
            queue.drain()
            return nil
        }, context) == 0 {
            helpers.append(thread)
        } else {
            // No thread: the chunks are drained by the threads that exist.
            Unmanaged<ChunkQueue>.fromOpaque(context).release()
        }
    }
    queue.drain()
    for thread in helpers { pthread_join(thread, nil) }
}

/// The chunks of one ``forEachChunk(count:chunkSize:threads:_:)`` call, handed out one at a time.
private final class ChunkQueue: Sendable {
    let count: Int
    let chunkSize: Int
    let chunks: Int
    let body: @Sendable (Range<Int>) -> Void
    /// The next chunk not yet taken.
    let next = Atomic<Int>(0)

    init(count: Int, chunkSize: Int, chunks: Int, body: @escaping @Sendable (Range<Int>) -> Void) {
        self.count = count
        self.chunkSize = chunkSize
        self.chunks = chunks
        self.body = body
    }

    /// Runs chunks until none is left.
    func drain() {
        while true {
            let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
            guard index < chunks else { return }
            body(index * chunkSize..<min(count, (index + 1) * chunkSize))
        }
    }
}

/// Memory that the chunks of one ``forEachChunk(count:chunkSize:threads:_:)`` call write at once.
///
/// `@unchecked Sendable`, safe under the rule every user follows: a chunk writes only the
/// elements that belong to its own indices and reads none that another chunk writes, chunks are
/// disjoint, and `forEachChunk` returns only after every chunk has finished (`pthread_join` orders
/// every write before the caller's next read). The buffer comes
/// from a `withUnsafeMutableBufferPointer` scope that encloses the whole call, so it outlives
/// every chunk.
struct ChunkOutput<Element>: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<Element>
}

/// Read-only memory that the chunks of one ``forEachChunk(count:chunkSize:threads:_:)`` call share.
///
/// `@unchecked Sendable`, safe because no chunk writes it: it comes from a
/// `withUnsafeBufferPointer` scope that encloses the whole call, and `forEachChunk` returns only
/// after every chunk has finished.
struct ChunkInput<Element>: @unchecked Sendable {
    let buffer: UnsafeBufferPointer<Element>
}
