import MassClustering
@testable import MMCPlot
import MMCTestSupport
import Testing

/// Seeded blobs: `sizes[i]` points around `centres[i]` with cluster `ids[i]`, then `noise`
/// uniform points labelled noise.
private func blobs(
    centres: [[Double]], ids: [Int64], sizes: [Int], noise: Int, seed: UInt64
) -> (PointMatrix, [Int64]) {
    var generator = SeededGenerator(seed: seed)
    var values: [Double] = []
    var clusters: [Int64] = []
    for (blob, centre) in centres.enumerated() {
        for _ in 0..<sizes[blob] {
            for coordinate in centre { values.append(coordinate + generator.nextDouble() - 0.5) }
            clusters.append(ids[blob])
        }
    }
    let dimension = centres[0].count
    for _ in 0..<noise {
        for _ in 0..<dimension { values.append(generator.nextDouble() * 10) }
        clusters.append(PlotData.noise)
    }
    return (PointMatrix(count: clusters.count, dimension: dimension, values: values), clusters)
}

@Suite(.tags(.unit)) struct ScatterPlotTests {
    @Test func oneCirclePerPointAndTheLegendListsExactlyTheClusterIDs() throws {
        let (points, clusters) = blobs(
            centres: [[1, 1], [8, 2], [4, 8]], ids: [3, 7, 12], sizes: [120, 80, 50], noise: 30, seed: 1)
        let svg = try ScatterPlot.svg(try PlotData(points: points, clusters: clusters))
        let document = try SVGDocument(svg)

        let circles = document.elements("circle", inside: "points")
        #expect(circles.count == points.count)
        var perCluster: [String: Int] = [:]
        for circle in circles { perCluster[circle.cluster ?? "none", default: 0] += 1 }
        #expect(perCluster == ["3": 120, "7": 80, "12": 50, "none": 30])
        #expect(document.elements("circle", inside: "noise").count == 30)

        let legend = document.elements(ofClass: "legend-cluster").compactMap { $0.attributes["data-cluster"] }
        #expect(legend == ["3", "7", "12"])
        #expect(document.elements(ofClass: "legend-noise").count == 1)
        #expect(document.elements(ofClass: "legend-unassigned").isEmpty)
        let centroidLabels = document.elements(ofClass: "cluster-id").map(\.text)
        #expect(centroidLabels == ["3", "7", "12"])
        // Nothing was aggregated, so no note says so.
        #expect(document.elements(ofClass: "note").isEmpty)
        #expect(document.elements(ofClass: "x-title").first?.text == "x1")
        #expect(document.elements(ofClass: "y-title").first?.text == "x2")
    }

    @Test func pendingPointsHaveTheirOwnGroupAndLegendEntry() throws {
        let points = PointMatrix(rows: [[0, 0], [1, 1], [2, 2], [3, 3]])
        let data = try PlotData(points: points, clusters: [0, 0, PlotData.unassigned, PlotData.unassigned])
        let document = try SVGDocument(try ScatterPlot.svg(data))
        #expect(document.elements("circle", inside: "unassigned").count == 2)
        #expect(document.elements(ofClass: "legend-unassigned").count == 1)
        #expect(document.elements(ofClass: "legend-cluster").count == 1)
    }

    @Test func aboveThePointLimitEveryOccupiedCellIsOneRectInItsMajorityColour() throws {
        let (points, clusters) = blobs(
            centres: [[1, 1], [3, 1], [2, 4]], ids: [0, 1, 2], sizes: [2_000, 2_000, 1_500], noise: 500, seed: 2)
        let data = try PlotData(points: points, clusters: clusters)
        var options = PlotOptions()
        options.pointLimit = 1_000
        options.cellSize = 5
        let document = try SVGDocument(try ScatterPlot.svg(data, options: options))

        // The oracle bins the same pixel positions with a dictionary.
        let projection = try Projection(data, axes: .automatic)
        let categories = Categories(clusters)
        let layout = Layout(options: options, projection: projection, categories: categories, noteCount: 1)
        let pixels = layout.pixels(projection)
        var bins: [[Int]: [Int64: Int]] = [:]
        for point in 0..<points.count {
            let bin = [
                Int((pixels.x[point] - layout.plotLeft) / options.cellSize),
                Int((pixels.y[point] - layout.plotTop) / options.cellSize),
            ]
            bins[bin, default: [:]][clusters[point], default: 0] += 1
        }
        let rects = document.elements("rect", inside: "cells")
        #expect(rects.count == bins.count)
        #expect(document.elements("circle", inside: "points").isEmpty)
        var seen: Set<[Int]> = []
        for rect in rects {
            let x = try #require(rect.attributes["x"].flatMap(Double.init))
            let y = try #require(rect.attributes["y"].flatMap(Double.init))
            let bin = [Int(((x - layout.plotLeft) / options.cellSize).rounded()), Int(((y - layout.plotTop) / options.cellSize).rounded())]
            #expect(seen.insert(bin).inserted, "two rects for cell \(bin)")
            let counts = try #require(bins[bin], "a rect where no point is: \(bin)")
            let most = counts.values.max()!
            let winners = counts.filter { $0.value == most }.keys
            // Ties go to a cluster before noise, then to the smaller id.
            let expected = winners.filter { $0 >= 0 }.min() ?? PlotData.noise
            #expect(rect.cluster == (expected >= 0 ? "\(expected)" : nil), "cell \(bin): \(counts)")
        }
        let notes = document.elements(ofClass: "note").map(\.text)
        #expect(notes.contains { $0.contains("6000 points are more than 1000") && $0.contains("\(bins.count) cells") })
        #expect(document.elements(ofClass: "legend-cluster").compactMap { $0.attributes["data-cluster"] } == ["0", "1", "2"])
    }

    @Test func aClusterKeepsItsColourWhateverElseIsPlotted() throws {
        #expect(PlotPalette.colour(forCluster: 5) == PlotPalette.colour(forCluster: 5))
        #expect(PlotPalette.colour(forCluster: 5) == PlotPalette.colour(forCluster: 5 + 9))
        #expect(Set((0..<9).map { PlotPalette.colour(forCluster: Int64($0)) }).count == 9)
        #expect(!PlotPalette.clusterColours.contains(PlotPalette.noiseColour))

        func fill(ofCluster id: String, in svg: String) throws -> String? {
            try SVGDocument(svg).elements.first { $0.attributes["class"] == "cluster" && $0.attributes["data-cluster"] == id }?
                .attributes["fill"]
        }
        let points = PointMatrix(rows: [[0, 0], [1, 0], [0, 1], [1, 1]])
        let alone = try ScatterPlot.svg(try PlotData(points: points, clusters: [5, 5, 5, 5]))
        let withOthers = try ScatterPlot.svg(try PlotData(points: points, clusters: [0, 1, 5, 40]))
        #expect(try fill(ofCluster: "5", in: alone) == PlotPalette.colour(forCluster: 5))
        #expect(try fill(ofCluster: "5", in: withOthers) == PlotPalette.colour(forCluster: 5))
    }

    @Test func featureNamesAndTitlesAreEscaped() throws {
        let names = ["a<b & \"c\"", "it's </svg> \u{1}"]
        let points = PointMatrix(rows: [[0, 0], [1, 1]])
        var options = PlotOptions()
        options.title = "<script>alert(1)</script> & more"
        options.notes = ["labels from a&b.txt"]
        let svg = try ScatterPlot.svg(try PlotData(points: points, clusters: [0, 1], featureNames: names), options: options)
        #expect(!svg.contains("<script>"))
        let document = try SVGDocument(svg)
        #expect(document.elements(ofClass: "x-title").first?.text == names[0])
        #expect(document.elements(ofClass: "y-title").first?.text == "it's </svg> \u{FFFD}")
        #expect(document.elements(ofClass: "title").first?.text == options.title)
        #expect(document.elements(ofClass: "note").first?.text == "labels from a&b.txt")
    }

    @Test func chosenFeaturesAndPrincipalComponentsNameTheirAxes() throws {
        let (points, clusters) = blobs(
            centres: [[0, 0, 0, 0], [5, 5, 0, 1]], ids: [0, 1], sizes: [50, 50], noise: 0, seed: 3)
        let names = ["a", "b", "c", "d"]
        let data = try PlotData(points: points, clusters: clusters, featureNames: names)
        var options = PlotOptions()
        options.axes = .features(x: 3, y: 1)
        let chosen = try SVGDocument(try ScatterPlot.svg(data, options: options))
        #expect(chosen.elements(ofClass: "x-title").first?.text == "d")
        #expect(chosen.elements(ofClass: "y-title").first?.text == "b")

        let automatic = try SVGDocument(try ScatterPlot.svg(data))
        #expect(automatic.elements(ofClass: "x-title").first?.text.hasPrefix("PC1 (") == true)
        #expect(automatic.elements(ofClass: "y-title").first?.text.hasPrefix("PC2 (") == true)
        #expect(automatic.elements(ofClass: "note").contains { $0.text.contains("principal components") })
        #expect(automatic.elements("circle", inside: "points").count == 100)
    }

    @Test func badRequestsAreErrorsNotCrashes() throws {
        let points = PointMatrix(rows: [[0, 0], [1, 1]])
        let data = try PlotData(points: points, clusters: [0, 1])
        var options = PlotOptions()
        options.axes = .features(x: 0, y: 2)
        #expect(throws: PlotError("feature 3 does not exist: the points have 2 features")) {
            try ScatterPlot.svg(data, options: options)
        }
        options.axes = .principalComponents
        let line = try PlotData(points: PointMatrix(rows: [[0], [1]]), clusters: [0, 0])
        #expect(throws: PlotError.self) { try ScatterPlot.svg(line, options: options) }
        #expect(throws: PlotError("3 cluster labels for 2 points")) {
            try PlotData(points: points, clusters: [0, 1, 2])
        }
        #expect(throws: PlotError.self) { try PlotData(points: points, clusters: [0, -3]) }
        options = PlotOptions()
        options.width = 10
        #expect(throws: PlotError.self) { try ScatterPlot.svg(data, options: options) }
    }

    @Test func oneFeatureAndNoPointsStillDraw() throws {
        let line = try SVGDocument(
            try ScatterPlot.svg(try PlotData(points: PointMatrix(rows: [[0], [1], [5]]), clusters: [0, 0, 1])))
        #expect(line.elements("circle", inside: "points").count == 3)
        #expect(line.elements(ofClass: "y-title").first?.text == "point (in input order)")

        let empty = try SVGDocument(
            try ScatterPlot.svg(try PlotData(points: PointMatrix(count: 0, dimension: 2, values: []), clusters: [])))
        #expect(empty.elements("circle", inside: "points").isEmpty)
        #expect(empty.elements(ofClass: "note").map(\.text) == ["no points"])
    }

    @Test func ticksFallOnRoundNumbersAndNumbersAreCompact() {
        let unit = Layout.ticks(0...1)
        #expect(unit.values.map { SVGText.format($0, decimals: unit.decimals) } == ["0", "0.2", "0.4", "0.6", "0.8", "1"])
        let wide = Layout.ticks(-130...870)
        #expect(wide.values.map { SVGText.format($0, decimals: wide.decimals) } == ["0", "200", "400", "600", "800"])
        #expect(SVGText.format(12, decimals: 1) == "12")
        #expect(SVGText.format(-0.25, decimals: 2) == "-0.25")
        #expect(SVGText.format(0.05, decimals: 2) == "0.05")
        #expect(SVGText.format(-0.04, decimals: 1) == "0")
        #expect(SVGText.format(1e300, decimals: 1) == "1e+300")
    }
}
