@testable import MassClustering
import MMCTestSupport
import Testing

/// The chunked, copy-on-write cache of chain ends, through its internal API: the forest's own
/// tests reach it only through inserts, which never write a slot past the window's capacity.
@Suite("LeafCache", .tags(.unit))
struct LeafCacheTests {
    @Test("a column installed while a copy shares the chunks is read through, and only where it reaches")
    func pendingColumnsAreReadThroughUpToTheirLength() {
        // 700 slots round up to two chunks of 512: slots 700..<1024 lie past any column of 700.
        var cache = LeafCache(treeCount: 2, slotCapacity: 700)
        #expect(cache.slotCapacity == 1_024)
        cache.withMutableEnds(slot: 100) { $0[0] = 1; $0[1] = 2 }
        cache.withMutableEnds(slot: 800) { $0[0] = 5; $0[1] = 6 }
        let copy = cache
        cache.install(column: [Int32](repeating: 9, count: 700), tree: 1)

        #expect(cache.end(slot: 100, tree: 1) == 9)
        #expect(cache.end(slot: 650, tree: 1) == 9)
        #expect(cache.end(slot: 100, tree: 0) == 1)
        // Past the column the chunk's own entry stands.
        #expect(cache.end(slot: 800, tree: 1) == 6)
        #expect(cache.withEnds(slot: 800) { [$0[0], $0[1]] } == [5, 6])
        #expect(cache.withEnds(slot: 650) { [$0[0], $0[1]] } == [-1, 9])  // -1: never counted
        // The copy keeps what it had.
        #expect(copy.end(slot: 100, tree: 1) == 2)
        #expect(copy.end(slot: 800, tree: 1) == 6)

        // Writing a slot brings its chunk up to date, and the column applies there too.
        cache.withMutableEnds(slot: 800) { $0[0] = 7 }
        #expect(cache.withEnds(slot: 800) { [$0[0], $0[1]] } == [7, 6])
        #expect(cache.end(slot: 600, tree: 1) == 9)
        #expect(copy.end(slot: 800, tree: 0) == 5)
    }
}
