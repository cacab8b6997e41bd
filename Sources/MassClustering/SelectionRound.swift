/// One round of quickselect over the positions `range`: a three-way partition (Dutch national
/// flag) around the median of the keys `a`, `b`, `c`, so a run of equal keys ends the search in
/// one pass. Afterwards keys below the pivot come first, then the pivot's run, then larger ones.
///
/// - Returns: the part of `range` that holds the position `rank`, or `nil` when the pivot's run
///   holds it (the selection is done).
@inline(__always)
func selectionRound(
    _ range: Range<Int>, toward rank: Int, pivotOf a: Double, _ b: Double, _ c: Double,
    key: (Int) -> Double, swap: (Int, Int) -> Void
) -> Range<Int>? {
    let pivot = max(min(a, b), min(max(a, b), c))
    // [lowerBound, less) < pivot, [less, index) == pivot, [greater, upperBound) > pivot.
    var less = range.lowerBound, index = range.lowerBound, greater = range.upperBound
    while index < greater {
        let value = key(index)
        if value < pivot {
            swap(less, index)
            less += 1
            index += 1
        } else if value > pivot {
            greater -= 1
            swap(index, greater)
        } else {
            index += 1
        }
    }
    if rank < less { return range.lowerBound..<less }
    if rank >= greater { return greater..<range.upperBound }
    return nil
}

/// Reorders `values[range]` so that the value of rank `rank` (0-based, over the whole
/// array) is at index `rank`, none after it smaller and none before it larger: quickselect
/// with a median-of-three pivot and a three-way partition (many equal readings end it at
/// once), which sorts what is left after `2 log2 n` rounds, so it is never quadratic.
func selectRank(_ values: inout [Double], rank: Int, in range: Range<Int>) {
    var part = range
    var rounds = 2 * (Int.bitWidth - range.count.leadingZeroBitCount)
    values.withUnsafeMutableBufferPointer { values in
        while part.count > 16 && rounds > 0 {
            rounds -= 1
            guard let next = selectionRound(
                part, toward: rank, pivotOf: values[part.lowerBound], values[(part.lowerBound + part.upperBound) / 2],
                values[part.upperBound - 1], key: { values[$0] }, swap: { values.swapAt($0, $1) })
            else { return }
            part = next
        }
        var rest = UnsafeMutableBufferPointer(rebasing: values[part])
        rest.sort()
    }
}
