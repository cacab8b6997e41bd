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
