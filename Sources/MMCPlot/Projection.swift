internal import MassClustering

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
