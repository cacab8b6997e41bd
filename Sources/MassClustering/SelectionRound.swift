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
