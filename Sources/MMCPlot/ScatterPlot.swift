internal import MassClustering

/// Renders a clustering as a self-contained SVG scatter plot.
///
/// One colour per cluster id from ``PlotPalette`` (stable for an id), noise in pale grey under
/// the clusters, points that have no label yet as hollow grey circles, each cluster's id at its
/// centroid, a framed plot with tick labels and axis titles (the feature names, or the
/// principal components with their share of the variance), a legend of the clusters with their
/// point counts, the title and notes. The document has no scripts, styles or external
/// references, so it can be opened as a file or inlined into a page.
///
/// Up to ``PlotOptions/pointLimit`` points are drawn as one `<circle>` each. Above that every
/// occupied grid cell of ``PlotOptions/cellSize`` pixels becomes one `<rect>` in the colour of
/// its most common cluster (ties go to a cluster before noise, then to the smaller id), more
/// opaque where it holds more points, and a note under the plot says so: the document's size is
/// then bounded by the plot's area, not by the number of points.
///
/// Structure, for tools and tests: points are in `<g class="points">` (cells in
/// `<g class="cells">`), one child group per category (`class="noise"`, `class="unassigned"`,
/// or `class="cluster"` with `data-cluster="ID"`); the legend has one
/// `<g class="legend-cluster" data-cluster="ID">` per cluster.
///
/// ```swift
/// let points = PointMatrix(rows: [[0, 0], [0.1, 0], [5, 5], [5.1, 5], [9, 0]])
/// let data = try PlotData(points: points, clusters: [0, 0, 1, 1, PlotData.noise])
/// var options = PlotOptions()
/// options.title = "two clusters"
/// let svg = try ScatterPlot.svg(data, options: options)
/// ```
///
/// - Complexity: O(n) for points, O(n log n) when aggregating, plus the principal components'
///   O(m d^2) when they are drawn.
public enum ScatterPlot {
    /// The SVG document of `data`.
    ///
    /// - Throws: ``PlotError`` for a feature index out of range, principal components of a
    ///   single feature, or an option out of its range.
    public static func svg(_ data: PlotData, options: PlotOptions = PlotOptions()) throws(PlotError) -> String {
        try validate(options)
        let projection = try Projection(data, axes: options.axes)
        let categories = Categories(data.clusters)
        let aggregated = data.points.count > options.pointLimit
        let empty = data.points.count == 0
        let noteCount = projection.notes.count + (aggregated ? 1 : 0) + options.notes.count + (empty ? 1 : 0)
        let layout = Layout(options: options, projection: projection, categories: categories, noteCount: noteCount)
        let pixels = layout.pixels(projection)
        var notes = projection.notes
        let cells = aggregated
            ? Cells(pixels: pixels, categories: categories, layout: layout, cellSize: options.cellSize) : nil
        if let cells {
            notes.append(
                "\(data.points.count) points are more than \(options.pointLimit): drawn as \(cells.count) cells of "
                    + "\(SVGText.format(options.cellSize, decimals: 1)) px, each in the colour of its most common "
                    + "cluster, darker where it holds more points")
        }
        notes += options.notes
        if empty { notes.append("no points") }

        var svg = SVGText(capacity: 4_096 + 40 * (cells?.count ?? data.points.count))
        layout.open(&svg, title: options.title)
        layout.drawAxes(&svg, projection: projection)
        if let cells {
            cells.draw(&svg, categories: categories)
        } else {
            drawPoints(&svg, pixels: pixels, categories: categories)
        }
        drawCentroidLabels(&svg, pixels: pixels, categories: categories)
        layout.drawLegend(&svg, categories: categories)
        layout.drawNotes(&svg, notes)
        svg.raw("</svg>\n")
        return svg.text
    }

    private static func validate(_ options: PlotOptions) throws(PlotError) {
        guard (200...10_000).contains(options.width), (200...10_000).contains(options.height) else {
            throw PlotError("width \(options.width) and height \(options.height) must be in 200...10000 pixels")
        }
        guard options.pointLimit >= 0 else { throw PlotError("point limit \(options.pointLimit) is negative") }
        guard options.cellSize >= 1, options.cellSize <= 100 else {
            throw PlotError("cell size \(options.cellSize) must be in 1...100 pixels")
        }
    }

    /// One `<circle>` per point, grouped by category: noise first, so clusters are drawn over it.
    private static func drawPoints(_ svg: inout SVGText, pixels: Pixels, categories: Categories) {
        let count = pixels.x.count
        let radius = count <= 2_000 ? "2.5" : count <= 8_000 ? "2" : "1.5"
        let (order, starts) = groupedOrder(categories.ofPoint, categoryCount: categories.count)
        svg.raw("<g class=\"points\" fill-opacity=\"0.85\">\n")
        for category in 0..<categories.count where starts[category] < starts[category + 1] {
            categories.openGroup(&svg, category)
            for position in starts[category]..<starts[category + 1] {
                let point = Int(order[position])
                svg.raw("<circle cx=\"")
                svg.number(pixels.x[point])
                svg.raw("\" cy=\"")
                svg.number(pixels.y[point])
                svg.raw("\" r=\"\(radius)\"/>")
            }
            svg.raw("\n</g>\n")
        }
        svg.raw("</g>\n")
    }

    /// Every cluster's id at the mean position of its points.
    private static func drawCentroidLabels(_ svg: inout SVGText, pixels: Pixels, categories: Categories) {
        guard categories.clusterIDs.count > 0 else { return }
        var sums = [Double](repeating: 0, count: 2 * categories.count)
        for (point, category) in categories.ofPoint.enumerated() {
            sums[2 * Int(category)] += pixels.x[point]
            sums[2 * Int(category) + 1] += pixels.y[point]
        }
        svg.raw(
            "<g class=\"centroids\" font-weight=\"bold\" font-size=\"13\" text-anchor=\"middle\" "
                + "dominant-baseline=\"central\" fill=\"#222222\" stroke=\"#FFFFFF\" stroke-width=\"3\" "
                + "paint-order=\"stroke\">\n")
        for (offset, id) in categories.clusterIDs.enumerated() {
            let category = Categories.firstCluster + offset
            let mass = Double(categories.counts[category])
            svg.raw("<text class=\"cluster-id\" data-cluster=\"\(id)\" x=\"")
            svg.number(sums[2 * category] / mass)
            svg.raw("\" y=\"")
            svg.number(sums[2 * category + 1] / mass)
            svg.raw("\">\(id)</text>\n")
        }
        svg.raw("</g>\n")
    }
}

/// The order that lists items category by category (a counting sort, stable), and where each
/// category starts in it: category `c` is `order[starts[c]..<starts[c + 1]]`.
func groupedOrder(_ categoryOf: [Int32], categoryCount: Int) -> (order: [Int32], starts: [Int]) {
    var starts = [Int](repeating: 0, count: categoryCount + 1)
    for category in categoryOf { starts[Int(category) + 1] += 1 }
    for category in 0..<categoryCount { starts[category + 1] += starts[category] }
    var next = starts
    var order = [Int32](repeating: 0, count: categoryOf.count)
    for (item, category) in categoryOf.enumerated() {
        order[next[Int(category)]] = Int32(item)
        next[Int(category)] += 1
    }
    return (order, starts)
}

/// The two coordinates drawn for every point, with their axis titles.
struct Projection {
    let x: [Double]
    let y: [Double]
    let xTitle: String
    let yTitle: String
    /// What the reader should know about the coordinates.
    let notes: [String]

    init(_ data: PlotData, axes: PlotAxes) throws(PlotError) {
        let points = data.points
        let dimension = points.dimension
        guard dimension >= 1 else { throw PlotError("the points have no features") }
        switch axes {
        case .automatic where dimension == 1:
            // One feature: plotted against the point's position in the input.
            x = Self.column(points, 0)
            y = (0..<points.count).map(Double.init)
            xTitle = data.featureNames[0]
            yTitle = "point (in input order)"
            notes = []
        case .automatic where dimension == 2:
            self = try Projection(data, axes: .features(x: 0, y: 1))
        case .features(let xFeature, let yFeature):
            for feature in [xFeature, yFeature] where !(0..<dimension).contains(feature) {
                throw PlotError("feature \(feature + 1) does not exist: the points have \(dimension) features")
            }
            x = Self.column(points, xFeature)
            y = Self.column(points, yFeature)
            xTitle = data.featureNames[xFeature]
            yTitle = data.featureNames[yFeature]
            notes = []
        case .automatic, .principalComponents:
            guard dimension >= 2 else {
                throw PlotError("principal components need at least 2 features; the points have \(dimension)")
            }
            let scaled = points.minMaxScaled()
            let components = PrincipalComponents(scaled)
            (x, y) = components.project(scaled)
            let ratio = components.explainedVarianceRatio
            xTitle = "PC1 (\(Self.percent(ratio.0)) of variance)"
            yTitle = "PC2 (\(Self.percent(ratio.1)) of variance)"
            notes = ["axes: the first two principal components of the \(dimension) features scaled to [0, 1]"]
        }
    }

    private static func column(_ points: PointMatrix, _ feature: Int) -> [Double] {
        (0..<points.count).map { points.values[$0 * points.dimension + feature] }
    }

    private static func percent(_ share: Double) -> String {
        SVGText.format(share * 100, decimals: share >= 0.1 ? 0 : 1) + "%"
    }
}

/// The pixel position of every point, as two flat arrays.
struct Pixels {
    let x: [Double]
    let y: [Double]
}

/// The categories drawn: noise, not yet clustered, then every cluster id in increasing order.
struct Categories {
    static let noise = 0
    static let unassigned = 1
    static let firstCluster = 2

    /// The cluster ids present, increasing; category `firstCluster + i` is `clusterIDs[i]`.
    let clusterIDs: [Int64]
    /// The category of every point.
    let ofPoint: [Int32]
    /// Points per category.
    let counts: [Int]

    var count: Int { Self.firstCluster + clusterIDs.count }

    init(_ clusters: [Int64]) {
        var present: [Int64: Int32] = [:]
        for id in clusters where id >= 0 { present[id] = 0 }
        clusterIDs = present.keys.sorted()
        for (offset, id) in clusterIDs.enumerated() { present[id] = Int32(Self.firstCluster + offset) }
        var counts = [Int](repeating: 0, count: Self.firstCluster + clusterIDs.count)
        var ofPoint = [Int32](repeating: 0, count: clusters.count)
        for (point, id) in clusters.enumerated() {
            let category: Int32 =
                switch id {
                case PlotData.noise: Int32(Self.noise)
                case PlotData.unassigned: Int32(Self.unassigned)
                default: present[id]!
                }
            ofPoint[point] = category
            counts[Int(category)] += 1
        }
        self.ofPoint = ofPoint
        self.counts = counts
    }

    /// The cluster id of a cluster category.
    func id(of category: Int) -> Int64 {
        clusterIDs[category - Self.firstCluster]
    }

    /// Opens the `<g>` that holds a category's shapes, with its paint.
    func openGroup(_ svg: inout SVGText, _ category: Int) {
        switch category {
        case Self.noise:
            svg.raw("<g class=\"noise\" fill=\"\(PlotPalette.noiseColour)\">\n")
        case Self.unassigned:
            svg.raw(
                "<g class=\"unassigned\" fill=\"none\" stroke=\"\(PlotPalette.unassignedColour)\" stroke-width=\"0.8\">\n")
        default:
            let id = id(of: category)
            svg.raw("<g class=\"cluster\" data-cluster=\"\(id)\" fill=\"\(PlotPalette.colour(forCluster: id))\">\n")
        }
    }

    /// The legend's text for a category.
    func legendText(_ category: Int) -> String {
        switch category {
        case Self.noise: "noise (\(counts[category]))"
        case Self.unassigned: "not clustered yet (\(counts[category]))"
        default: "\(id(of: category)) (\(counts[category]))"
        }
    }
}

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
