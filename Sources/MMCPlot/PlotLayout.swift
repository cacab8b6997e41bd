/// Where everything goes: the frame, the data-to-pixel mapping, the legend columns and the
/// notes; and the drawing of the parts that are not points.
struct Layout {
    static let rowHeight = 18.0
    static let noteHeight = 16.0
    /// Pixels between the frame and the outermost points.
    static let inset = 8.0
    /// Approximate width of a character at the 12 px font size, to size the legend.
    static let characterWidth = 7.0
    static let legendTitle = "cluster (points)"

    let width: Double
    let height: Double
    let totalWidth: Double
    let totalHeight: Double
    let plotLeft: Double
    let plotRight: Double
    let plotTop: Double
    let plotBottom: Double
    let domainX: ClosedRange<Double>
    let domainY: ClosedRange<Double>
    let legendRows: Int
    let legendColumnWidth: Double

    init(options: PlotOptions, projection: Projection, categories: Categories, noteCount: Int) {
        width = Double(options.width)
        height = Double(options.height)
        plotLeft = 72
        plotRight = width - 12
        plotTop = options.title.isEmpty ? 16 : 40
        plotBottom = height - 50
        domainX = Self.domain(projection.x)
        domainY = Self.domain(projection.y)
        let entries = (0..<categories.count).filter { categories.counts[$0] > 0 || $0 >= Categories.firstCluster }
        let longest = max(Self.legendTitle.count - 2, entries.map { categories.legendText($0).count }.max() ?? 0)
        legendRows = max(1, Int((plotBottom - plotTop - Self.rowHeight) / Self.rowHeight))
        legendColumnWidth = 28 + Self.characterWidth * Double(longest)
        let columns = (entries.count + legendRows - 1) / legendRows
        totalWidth = width + (columns == 0 ? 0 : 12 + Double(columns) * legendColumnWidth)
        totalHeight = height + Double(noteCount) * Self.noteHeight + (noteCount > 0 ? 6 : 0)
    }

    /// The smallest and largest value, widened around a single value; [0, 1] when empty.
    private static func domain(_ values: [Double]) -> ClosedRange<Double> {
        guard var low = values.first else { return 0...1 }
        var high = low
        for value in values {
            low = min(low, value)
            high = max(high, value)
        }
        if high > low { return low...high }
        let pad = max(0.5, abs(low) * 0.05)
        return (low - pad)...(high + pad)
    }

    private func pixelX(_ value: Double) -> Double {
        let span = plotRight - plotLeft - 2 * Self.inset
        return plotLeft + Self.inset + (value - domainX.lowerBound) / (domainX.upperBound - domainX.lowerBound) * span
    }

    private func pixelY(_ value: Double) -> Double {
        let span = plotBottom - plotTop - 2 * Self.inset
        return plotBottom - Self.inset - (value - domainY.lowerBound) / (domainY.upperBound - domainY.lowerBound) * span
    }

    /// The pixel position of every projected point.
    func pixels(_ projection: Projection) -> Pixels {
        Pixels(x: projection.x.map(pixelX), y: projection.y.map(pixelY))
    }

    /// The root element, the accessible title, the background and the heading.
    func open(_ svg: inout SVGText, title: String) {
        let w = SVGText.format(totalWidth, decimals: 0)
        let h = SVGText.format(totalHeight, decimals: 0)
        svg.raw(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(w)\" height=\"\(h)\" viewBox=\"0 0 \(w) \(h)\" "
                + "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n<title>")
        svg.escaped(title.isEmpty ? "cluster scatter plot" : title)
        svg.raw("</title>\n<rect width=\"100%\" height=\"100%\" fill=\"#FFFFFF\"/>\n")
        guard !title.isEmpty else { return }
        svg.raw("<text class=\"title\" x=\"\(SVGText.format(plotLeft, decimals: 0))\" y=\"26\" font-size=\"15\" font-weight=\"bold\">")
        svg.escaped(title)
        svg.raw("</text>\n")
    }

    /// The frame, grid lines, ticks with their labels and the axis titles.
    func drawAxes(_ svg: inout SVGText, projection: Projection) {
        let xTicks = Self.ticks(domainX)
        let yTicks = Self.ticks(domainY)
        svg.raw("<g class=\"axes\" stroke=\"#EEEEEE\">\n")
        for value in xTicks.values {
            let x = pixelX(value)
            line(&svg, x, plotTop, x, plotBottom)
        }
        for value in yTicks.values {
            let y = pixelY(value)
            line(&svg, plotLeft, y, plotRight, y)
        }
        svg.raw("<g stroke=\"#444444\">\n")
        for value in xTicks.values {
            let x = pixelX(value)
            line(&svg, x, plotBottom, x, plotBottom + 5)
        }
        for value in yTicks.values {
            let y = pixelY(value)
            line(&svg, plotLeft - 5, y, plotLeft, y)
        }
        svg.raw("<rect x=\"")
        svg.number(plotLeft)
        svg.raw("\" y=\"")
        svg.number(plotTop)
        svg.raw("\" width=\"")
        svg.number(plotRight - plotLeft)
        svg.raw("\" height=\"")
        svg.number(plotBottom - plotTop)
        svg.raw("\" fill=\"none\"/>\n</g>\n</g>\n<g class=\"tick-labels\" fill=\"#444444\">\n")
        for value in xTicks.values {
            text(&svg, pixelX(value), plotBottom + 18, SVGText.format(value, decimals: xTicks.decimals), anchor: "middle")
        }
        for value in yTicks.values {
            text(&svg, plotLeft - 8, pixelY(value) + 4, SVGText.format(value, decimals: yTicks.decimals), anchor: "end")
        }
        svg.raw("</g>\n<g class=\"axis-titles\" font-size=\"13\">\n")
        text(&svg, (plotLeft + plotRight) / 2, height - 12, projection.xTitle, anchor: "middle", className: "x-title")
        let middle = SVGText.format((plotTop + plotBottom) / 2, decimals: 1)
        svg.raw("<g transform=\"rotate(-90 16 \(middle))\">")
        text(&svg, 16, (plotTop + plotBottom) / 2, projection.yTitle, anchor: "middle", className: "y-title")
        svg.raw("</g>\n</g>\n")
    }

    /// One entry per cluster (swatch, id and point count), then noise and pending points if any,
    /// in columns to the right of the plot.
    func drawLegend(_ svg: inout SVGText, categories: Categories) {
        let entries =
            (Categories.firstCluster..<categories.count).map { $0 }
            + [Categories.noise, Categories.unassigned].filter { categories.counts[$0] > 0 }
        guard !entries.isEmpty else { return }
        svg.raw("<g class=\"legend\">\n")
        text(&svg, width + 12, plotTop + 4, Self.legendTitle, anchor: "start", className: "legend-title")
        for (position, category) in entries.enumerated() {
            let x = width + 12 + Double(position / legendRows) * legendColumnWidth
            let y = plotTop + Self.rowHeight * Double(position % legendRows + 1) + 4
            switch category {
            case Categories.noise:
                svg.raw("<g class=\"legend-noise\">")
                swatch(&svg, x, y, paint: "fill=\"\(PlotPalette.noiseColour)\"")
            case Categories.unassigned:
                svg.raw("<g class=\"legend-unassigned\">")
                swatch(&svg, x, y, paint: "fill=\"none\" stroke=\"\(PlotPalette.unassignedColour)\"")
            default:
                let id = categories.id(of: category)
                svg.raw("<g class=\"legend-cluster\" data-cluster=\"\(id)\">")
                swatch(&svg, x, y, paint: "fill=\"\(PlotPalette.colour(forCluster: id))\"")
            }
            text(&svg, x + 16, y, categories.legendText(category), anchor: "start")
            svg.raw("</g>\n")
        }
        svg.raw("</g>\n")
    }

    /// One line of small grey text per note, under the plot.
    func drawNotes(_ svg: inout SVGText, _ notes: [String]) {
        guard !notes.isEmpty else { return }
        svg.raw("<g class=\"notes\" font-size=\"11\" fill=\"#555555\">\n")
        for (index, note) in notes.enumerated() {
            text(&svg, plotLeft, height + 4 + Self.noteHeight * Double(index + 1) - 4, note, anchor: "start", className: "note")
        }
        svg.raw("</g>\n")
    }

    private func line(_ svg: inout SVGText, _ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double) {
        svg.raw("<line x1=\"")
        svg.number(x1)
        svg.raw("\" y1=\"")
        svg.number(y1)
        svg.raw("\" x2=\"")
        svg.number(x2)
        svg.raw("\" y2=\"")
        svg.number(y2)
        svg.raw("\"/>\n")
    }

    private func swatch(_ svg: inout SVGText, _ x: Double, _ y: Double, paint: String) {
        svg.raw("<rect x=\"")
        svg.number(x)
        svg.raw("\" y=\"")
        svg.number(y - 9)
        svg.raw("\" width=\"10\" height=\"10\" \(paint)/>")
    }

    private func text(
        _ svg: inout SVGText, _ x: Double, _ y: Double, _ content: String, anchor: String, className: String? = nil
    ) {
        svg.raw("<text")
        if let className { svg.raw(" class=\"\(className)\"") }
        svg.raw(" x=\"")
        svg.number(x)
        svg.raw("\" y=\"")
        svg.number(y)
        svg.raw("\" text-anchor=\"\(anchor)\">")
        svg.escaped(content)
        svg.raw("</text>\n")
    }

    /// Tick values at a round step (1, 2 or 5 times a power of ten) giving about six ticks, and
    /// the decimals that step needs.
    static func ticks(_ domain: ClosedRange<Double>) -> (values: [Double], decimals: Int) {
        let raw = (domain.upperBound - domain.lowerBound) / 6
        var magnitude = 1.0
        var exponent = 0
        while magnitude * 10 <= raw {
            magnitude *= 10
            exponent += 1
        }
        while magnitude > raw {
            magnitude /= 10
            exponent -= 1
        }
        let fraction = raw / magnitude
        let multiple: Double = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10
        if multiple == 10 { exponent += 1 }
        let step = multiple * magnitude
        var values: [Double] = []
        var index = (domain.lowerBound / step).rounded(.up)
        while index * step <= domain.upperBound + step * 1e-9 {
            values.append(index * step)
            index += 1
        }
        return (values, max(0, -exponent))
    }
}
