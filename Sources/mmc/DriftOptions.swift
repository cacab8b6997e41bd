import ArgumentParser
import MMCDevTools
import MassClustering

/// The options of `--generate drift`; left out, each takes ``DriftingStreamParameters``'
/// default.
struct DriftOptions: ParsableArguments {
    /// The generator's defaults, named in the help.
    static let defaults: DriftingStreamParameters = {
        do {
            return try DriftingStreamParameters()
        } catch {
            preconditionFailure("the default drifting-stream parameters are valid: \(error)")
        }
    }()

    @Option(help: "Coordinates per point. (default: \(DriftOptions.defaults.dimension))")
    var dimension: Int?

    @Option(help: "Cluster slots; each holds one cluster at a time. (default: \(DriftOptions.defaults.clusterCount))")
    var clusters: Int?

    @Option(help: "Share of uniform noise points, 0...1. (default: \(DriftOptions.defaults.noiseFraction))")
    var noise: Double?

    @Option(help: "The generator's seed; the same seed gives the same stream. (default: 1)")
    var seed: UInt64?

    @Option(help: ArgumentHelp(
        "Multiplies the speeds; 0 freezes the clusters. (default: 1)",
        discussion: "Speeds are drawn per cluster from \(DriftOptions.defaults.speed) box widths per 10,000 points."))
    var speedScale: Double?

    @Option(help: ArgumentHelp(
        "Multiplies lifetimes and gaps; above 1, clusters come and go more slowly. (default: 1)",
        discussion: "Clusters live \(DriftOptions.defaults.lifetime) points; a slot stays empty \(DriftOptions.defaults.gap) points between two."))
    var lifetimeScale: Double?

    /// Whether any of these options was given.
    var isSet: Bool {
        dimension != nil || clusters != nil || noise != nil || seed != nil || speedScale != nil || lifetimeScale != nil
    }

    /// The stream the options describe.
    ///
    /// - Throws: `ValidationError` naming the option out of range.
    func stream() throws -> DriftingStream {
        let defaults = Self.defaults
        let speedScale = speedScale ?? 1
        let lifetimeScale = lifetimeScale ?? 1
        guard lifetimeScale > 0, lifetimeScale.isFinite else {
            throw ValidationError("--lifetime-scale must be a positive number, got \(lifetimeScale)")
        }
        func scaled(_ range: ClosedRange<Int>) -> ClosedRange<Int> {
            let bound = { (value: Int) in Int(min(Double(DriftingStreamParameters.longest), (Double(value) * lifetimeScale).rounded())) }
            return bound(range.lowerBound)...bound(range.upperBound)
        }
        do {
            let parameters = try DriftingStreamParameters(
                dimension: dimension ?? defaults.dimension,
                clusterCount: clusters ?? defaults.clusterCount,
                noiseFraction: noise ?? defaults.noiseFraction,
                lifetime: scaled(defaults.lifetime),
                gap: scaled(defaults.gap),
                speed: (defaults.speed.lowerBound * speedScale)...(defaults.speed.upperBound * speedScale),
                spread: defaults.spread, weight: defaults.weight, circularFraction: defaults.circularFraction)
            return DriftingStream(parameters: parameters, seed: seed ?? 1)
        } catch {
            let flag = switch error.key {
            case "clusterCount": "--clusters"
            case "noiseFraction": "--noise"
            case "speed": "--speed-scale"
            case "lifetime", "gap": "--lifetime-scale"
            default: "--\(error.key)"
            }
            throw ValidationError("invalid \(flag): \(error.key) = \(error.value), allowed \(error.allowed)")
        }
    }
}
