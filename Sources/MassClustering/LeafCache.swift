/// The forest's per-slot chain ends (`treeCount` `Int32` per window slot, a slot's entries
/// contiguous), in chunks of ``slotsPerChunk`` slots that are each copied on write on their own.
///
/// A re-clustering reads a copy of the forest while the owner keeps inserting. With one flat
/// array, the owner's first insert after the copy duplicated the whole cache (128 bytes per
/// slot: 6.4 MB at 50,000 points, 128 MB at a million) while ingestion waited. In chunks, an
/// insert copies only the chunk of its slot (and of the slot it expires) if the copy still
/// shares it: 64 KB at a time, and none once the re-clustering has let go.
///
/// Swapping in a regrown tree rewrites that tree's entry in every slot. Chunks the forest holds
/// alone get it at once; for a shared chunk the column is kept aside as *pending* and written
/// into the chunk when it is next copied for a write. Reads look through pending columns, so a
/// chunk's stale entries are never seen.
struct LeafCache: Sendable {
    /// Slots per chunk: 64 KB of chain ends at the default 32 trees.
    static let slotsPerChunk = 512

    let treeCount: Int
    /// Slots covered; a multiple of ``slotsPerChunk`` at least the window's capacity.
    private(set) var slotCapacity = 0
    private var chunks: [Chunk] = []
    /// Columns installed while some chunks were shared, oldest first; at most one per tree.
    private var pending: [PendingColumn] = []
    /// Columns installed so far; a chunk's `installs` says how many of them it holds.
    private var installs: UInt64 = 0

    /// A cache covering `slotCapacity` slots, every slot uncounted.
    init(treeCount: Int, slotCapacity: Int) {
        self.treeCount = treeCount
        grow(toSlots: slotCapacity)
    }

    /// Bytes of chain ends held, pending columns included.
    var byteCount: Int {
        (chunks.count * Self.slotsPerChunk * treeCount + pending.reduce(0) { $0 + $1.ends.count })
            * MemoryLayout<Int32>.stride
    }

    /// Extends the cache with uncounted slots to cover `slotCapacity`.
    mutating func grow(toSlots slotCapacity: Int) {
        while self.slotCapacity < slotCapacity {
            chunks.append(Chunk(entries: Self.slotsPerChunk * treeCount, installs: installs))
            self.slotCapacity += Self.slotsPerChunk
        }
    }

    /// The chain end of `slot` in `tree`; -1 in tree 0 marks an uncounted slot.
    func end(slot: Int, tree: Int) -> Int32 {
        let chunk = chunks[slot / Self.slotsPerChunk]
        // A slot beyond a pending column (past the window's capacity when it was installed, in
        // the last chunk) has not been written since: that would have brought the chunk up to date.
        if chunk.installs < installs,
            let column = pending.first(where: { $0.tree == tree && $0.sequence > chunk.installs }),
            slot < column.ends.count
        {
            return column.ends[slot]
        }
        return chunk.entries[(slot % Self.slotsPerChunk) &* treeCount &+ tree]
    }

    /// Calls `body` with the `treeCount` chain ends of `slot`, read-only.
    func withEnds<Result>(slot: Int, _ body: (UnsafePointer<Int32>) -> Result) -> Result {
        let chunk = chunks[slot / Self.slotsPerChunk]
        let first = chunk.entries + (slot % Self.slotsPerChunk) &* treeCount
        guard chunk.installs < installs else { return body(first) }
        return withUnsafeTemporaryAllocation(of: Int32.self, capacity: treeCount) { current in
            for tree in 0..<treeCount {
                current[tree] = end(slot: slot, tree: tree)
            }
            return body(current.baseAddress!)
        }
    }

    /// Calls `body` with the `treeCount` chain ends of `slot` to read and write; the slot's
    /// chunk is first copied if shared and brought up to date.
    mutating func withMutableEnds<Result>(slot: Int, _ body: (UnsafeMutablePointer<Int32>) -> Result) -> Result {
        let index = slot / Self.slotsPerChunk
        makeWritable(chunk: index)
        return body(chunks[index].entries + (slot % Self.slotsPerChunk) &* treeCount)
    }

    /// Puts `column` (one chain end per slot, -1 where uncounted) in place as tree `tree`'s
    /// entries: at once in the chunks held alone, as a pending column for the shared ones.
    mutating func install(column: [Int32], tree: Int) {
        precondition(column.count <= slotCapacity && tree >= 0 && tree < treeCount, "column out of range")
        installs += 1
        // An older pending column of the same tree is superseded: every chunk lacking it lacks
        // this one too and will take this one instead.
        pending.removeAll { $0.tree == tree }
        pending.append(PendingColumn(tree: tree, sequence: installs, ends: column))
        for index in chunks.indices where isKnownUniquelyReferenced(&chunks[index]) {
            bringUpToDate(chunk: index)
        }
        dropHeldColumns()
    }

    /// Copies a shared chunk, then writes into it the pending columns it lacks.
    private mutating func makeWritable(chunk index: Int) {
        if !isKnownUniquelyReferenced(&chunks[index]) {
            chunks[index] = Chunk(copying: chunks[index])
        }
        if chunks[index].installs < installs {
            bringUpToDate(chunk: index)
            dropHeldColumns()
        }
    }

    /// Writes into a chunk held alone the pending columns it lacks.
    private func bringUpToDate(chunk index: Int) {
        let chunk = chunks[index]
        for column in pending where column.sequence > chunk.installs {
            column.ends.withUnsafeBufferPointer { write($0, tree: column.tree, into: chunk, chunk: index) }
        }
        chunk.installs = installs
    }

    /// Forgets the pending columns every chunk holds.
    private mutating func dropHeldColumns() {
        guard !pending.isEmpty else { return }
        let oldest = chunks.reduce(installs) { min($0, $1.installs) }
        pending.removeAll { $0.sequence <= oldest }
    }

    /// Writes a tree's column into the slots of one chunk.
    private func write(_ column: UnsafeBufferPointer<Int32>, tree: Int, into chunk: Chunk, chunk index: Int) {
        let first = index * Self.slotsPerChunk
        let last = min(first + Self.slotsPerChunk, column.count)
        guard first < last else { return }
        for slot in first..<last {
            chunk.entries[(slot &- first) &* treeCount &+ tree] = column[slot]
        }
    }

    /// A tree's chain ends installed while some chunks were shared.
    private struct PendingColumn: Sendable {
        let tree: Int
        /// The install that produced it: chunks with `installs` below lack it.
        let sequence: UInt64
        let ends: [Int32]
    }

    /// ``LeafCache/slotsPerChunk`` slots of chain ends.
    ///
    /// `@unchecked Sendable` is safe because a chunk is copy-on-write by hand: ``LeafCache``
    /// writes `entries` and `installs` only after `isKnownUniquelyReferenced` has found its
    /// reference to be the only one (and copies the chunk otherwise), so a chunk two threads can
    /// reach is never written, only read: the discipline of Swift's own arrays.
    private final class Chunk: @unchecked Sendable {
        let entries: UnsafeMutablePointer<Int32>
        let count: Int
        /// How many of the cache's installed columns the entries include.
        var installs: UInt64

        init(entries count: Int, installs: UInt64) {
            self.count = count
            self.installs = installs
            entries = .allocate(capacity: count)
            entries.initialize(repeating: -1, count: count)
        }

        init(copying other: Chunk) {
            count = other.count
            installs = other.installs
            entries = .allocate(capacity: count)
            entries.initialize(from: other.entries, count: count)
        }

        deinit {
            entries.deallocate()
        }
    }
}
