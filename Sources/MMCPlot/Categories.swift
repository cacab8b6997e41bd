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
