/// Occupied grid cells, each with its most common category and point count.
struct Cells {
    private let columns: Int
    private let cellSize: Double
    private let originX: Double
    private let originY: Double
    /// Row-major index of every occupied cell, increasing.
    private var cellIndex: [Int32] = []
    private var category: [Int32] = []
    private var points: [Int32] = []

    var count: Int { cellIndex.count }

    init(pixels: Pixels, categories: Categories, layout: Layout, cellSize: Double) {
        self.cellSize = cellSize
        originX = layout.plotLeft
        originY = layout.plotTop
        columns = max(1, Int(((layout.plotRight - layout.plotLeft) / cellSize).rounded(.up)))
        let rows = max(1, Int(((layout.plotBottom - layout.plotTop) / cellSize).rounded(.up)))
        // One key per point, cell in the high bits and category in the low ones: sorted, the
        // keys of a cell form one run and each category a sub-run, with no per-cell storage.
        var keys = [UInt64](repeating: 0, count: pixels.x.count)
        for point in 0..<keys.count {
            let column = min(columns - 1, max(0, Int((pixels.x[point] - originX) / cellSize)))
            let row = min(rows - 1, max(0, Int((pixels.y[point] - originY) / cellSize)))
            keys[point] = UInt64(row * columns + column) << 32 | UInt64(categories.ofPoint[point])
        }
        keys.sort()
        var start = 0
        while start < keys.count {
            let cell = keys[start] >> 32
            var best: (category: Int32, count: Int)?
            var total = 0
            var run = start
            while run < keys.count && keys[run] >> 32 == cell {
                let current = keys[run] & 0xFFFF_FFFF
                var end = run
                while end < keys.count && keys[end] == keys[run] { end += 1 }
                let candidate = (category: Int32(current), count: end - run)
                if best.map({ Self.beats(candidate, $0) }) ?? true { best = candidate }
                total += end - run
                run = end
            }
            cellIndex.append(Int32(cell))
            category.append(best!.category)
            points.append(Int32(total))
            start = run
        }
    }

    /// Whether `a` colours a cell rather than `b`: more points; on a tie a cluster before noise
    /// or pending points, then the smaller id (categories are in id order).
    private static func beats(_ a: (category: Int32, count: Int), _ b: (category: Int32, count: Int)) -> Bool {
        if a.count != b.count { return a.count > b.count }
        let aIsCluster = a.category >= Categories.firstCluster
        let bIsCluster = b.category >= Categories.firstCluster
        if aIsCluster != bIsCluster { return aIsCluster }
        return a.category < b.category
    }

    /// One `<rect>` per cell, grouped by category; opacity grows with the square root of the
    /// cell's share of the fullest cell.
    func draw(_ svg: inout SVGText, categories: Categories) {
        let fullest = Double(points.max() ?? 1)
        let (order, starts) = groupedOrder(category, categoryCount: categories.count)
        let side = SVGText.format(cellSize, decimals: 2)
        svg.raw("<g class=\"cells\">\n")
        for group in 0..<categories.count where starts[group] < starts[group + 1] {
            categories.openGroup(&svg, group)
            for position in starts[group]..<starts[group + 1] {
                let cell = Int(order[position])
                let index = Int(cellIndex[cell])
                svg.raw("<rect x=\"")
                svg.number(originX + Double(index % columns) * cellSize, decimals: 2)
                svg.raw("\" y=\"")
                svg.number(originY + Double(index / columns) * cellSize, decimals: 2)
                svg.raw("\" width=\"\(side)\" height=\"\(side)\" fill-opacity=\"")
                svg.number(0.3 + 0.7 * (Double(points[cell]) / fullest).squareRoot(), decimals: 2)
                svg.raw("\"/>")
            }
            svg.raw("\n</g>\n")
        }
        svg.raw("</g>\n")
    }
}
