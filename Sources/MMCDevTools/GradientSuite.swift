public import MassClustering

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Labelled points made by a generator: row-major values and one label per row (1, 2, ...;
/// these generators make no noise points, so no label is 0).
public struct LabelledPoints: Sendable, Equatable {
    /// The points, features in [0, 1].
    public let points: PointMatrix
    /// The generating structure of each point, counted from 1.
    public let labels: [Int32]
}

/// The gradient suite: clusters whose density changes along them, which a clustering that
/// maximizes mass must keep whole (docs/algorithm.md, section 2; issue: a trajectory where the
/// object slows down, a ring whose readings bunch on one side).
///
/// Every case is a seeded generator, so the suite is a function of (case, seed) and no data
/// file is stored. Features come out in the unit box (each structure is placed inside it;
/// clustering rescales anyway).
///
/// ```swift
/// let data = GradientCase.named("paths-3-u2")!.generate(seed: 1)
/// data.points.count // 6,000: three paths of 2,000 points
/// ```
public struct GradientCase: Sendable, Hashable {
    /// The shapes the suite draws.
    public enum Family: String, Sendable, Hashable, CaseIterable {
        /// Sinusoidal paths side by side, points crowding toward one end (`t = U^power`).
        case paths
        /// A ring whose angles are von Mises distributed (bunched on one side) around a
        /// Gaussian blob at its centre.
        case ring
        /// Blobs whose density falls exponentially along one axis.
        case tapered
        /// Interleaved spiral arms whose density falls along the arm.
        case spiral
    }

    /// The name `mmc generate gradient` and the benchmark table use.
    public let name: String
    /// Which shape.
    public let family: Family
    /// Paths, arms or blobs (a ring case is always the ring and its blob).
    public let count: Int
    /// Points per structure.
    public let pointsPerStructure: Int
    /// The crowding power: a position along the structure is `U^power` for uniform `U`.
    public let power: Double
    /// The standard deviation of the Gaussian noise added to every coordinate (radial for the
    /// ring), in units of the box.
    public let noise: Double

    /// Every case of the suite, in the order the benchmark table lists them.
    public static let all: [GradientCase] = [
        GradientCase(name: "paths-3-u2", family: .paths, count: 3, pointsPerStructure: 2_000, power: 2, noise: 0.005),
        GradientCase(name: "paths-4-u2", family: .paths, count: 4, pointsPerStructure: 2_000, power: 2, noise: 0.005),
        GradientCase(name: "paths-4-u2-wide", family: .paths, count: 4, pointsPerStructure: 2_000, power: 2, noise: 0.01),
        GradientCase(name: "paths-6-u3", family: .paths, count: 6, pointsPerStructure: 2_000, power: 3, noise: 0.004),
        GradientCase(name: "ring-vonmises", family: .ring, count: 2, pointsPerStructure: 2_000, power: 1, noise: 0.03),
        GradientCase(name: "tapered-3", family: .tapered, count: 3, pointsPerStructure: 1_500, power: 1, noise: 0.03),
        GradientCase(name: "spiral-2-u2", family: .spiral, count: 2, pointsPerStructure: 1_500, power: 2, noise: 0.008),
        GradientCase(name: "spiral-3-u2", family: .spiral, count: 3, pointsPerStructure: 1_500, power: 2, noise: 0.006),
    ]

    /// The number of generating structures (labels): the ring case has the ring and its blob.
    public var structureCount: Int { family == .ring ? 2 : count }

    /// The number of points `generate(seed:)` makes.
    public var pointCount: Int {
        family == .ring ? pointsPerStructure + pointsPerStructure / 4 : count * pointsPerStructure
    }

    /// The case called `name`, if the suite has one.
    public static func named(_ name: String) -> GradientCase? {
        all.first { $0.name == name }
    }

    /// The points and labels of this case for `seed`.
    ///
    /// - Complexity: O(number of points).
    public func generate(seed: UInt64) -> LabelledPoints {
        var generator = SeededGenerator(seed: seed)
        var values = [Double]()
        var labels = [Int32]()
        values.reserveCapacity(2 * count * pointsPerStructure)
        labels.reserveCapacity(count * pointsPerStructure)
        func add(_ x: Double, _ y: Double, label: Int) {
            values.append(x)
            values.append(y)
            labels.append(Int32(label + 1))
        }
        switch family {
        case .paths:
            // Paths stacked in y, each a sine of 1.5 periods across x; neighbouring paths are
            // apart by a third of their spacing at the closest. Odd paths crowd toward x = 1.
            let spacing = 1 / Double(count)
            let amplitude = spacing / 3
            for path in 0..<count {
                let phase = 2 * Double.pi * generator.nextDouble()
                let base = spacing * (Double(path) + 0.5)
                for _ in 0..<pointsPerStructure {
                    let crowded = pow(generator.nextDouble(), power)
                    let t = path % 2 == 0 ? crowded : 1 - crowded
                    let x = 0.05 + 0.9 * t
                    let y = base + amplitude * sin(3 * Double.pi * t + phase)
                    let (dx, dy) = generator.nextNormalPair()
                    add(x + noise * dx, y + noise * dy, label: path)
                }
            }
        case .ring:
            // Radius 0.35 around the centre; the blob's standard deviation is 0.06, so the gap
            // between the blob's 3-sigma edge and the ring's inner 3-sigma edge is 0.08.
            let bunch = 2 * Double.pi * generator.nextDouble()
            for _ in 0..<pointsPerStructure {
                let angle = bunch + generator.nextVonMises(concentration: 1.5)
                let radius = 0.35 + noise * generator.nextNormalPair().0
                add(0.5 + radius * cos(angle), 0.5 + radius * sin(angle), label: 0)
            }
            for _ in 0..<pointsPerStructure / 4 {
                let (dx, dy) = generator.nextNormalPair()
                add(0.5 + 0.06 * dx, 0.5 + 0.06 * dy, label: 1)
            }
        case .tapered:
            // Side by side in x, each 0.25 wide: dense at its left edge, its density falling by
            // e every 0.06 to the right (cut at 0.25), Gaussian across.
            let gap = (1 - 0.25 * Double(count)) / Double(count + 1)
            for blob in 0..<count {
                let left = gap + Double(blob) * (0.25 + gap)
                let centre = 0.3 + 0.4 * generator.nextDouble()
                for _ in 0..<pointsPerStructure {
                    var offset: Double
                    repeat { offset = -0.06 * log(1 - generator.nextDouble()) } while offset > 0.25
                    add(left + offset, centre + noise * generator.nextNormalPair().0, label: blob)
                }
            }
        case .spiral:
            // Archimedean arms r = 0.05 + b * theta over 1.25 turns, rotated evenly; b puts
            // the outer end at radius 0.45. Points crowd toward the centre, and the arm's own
            // length grows with the radius, so the density falls steeply along it.
            let turns = 1.25 * 2 * Double.pi
            let pitch = 0.4 / turns
            for arm in 0..<count {
                let rotation = 2 * Double.pi * Double(arm) / Double(count)
                for _ in 0..<pointsPerStructure {
                    let theta = turns * pow(generator.nextDouble(), power)
                    let radius = 0.05 + pitch * theta
                    let (dx, dy) = generator.nextNormalPair()
                    add(
                        0.5 + radius * cos(theta + rotation) + noise * dx,
                        0.5 + radius * sin(theta + rotation) + noise * dy, label: arm)
                }
            }
        }
        return LabelledPoints(
            points: PointMatrix(count: labels.count, dimension: 2, values: values), labels: labels)
    }
}

extension SeededGenerator {
    /// Two independent standard normal values (Box–Muller).
    mutating func nextNormalPair() -> (Double, Double) {
        let radius = (-2 * log(1 - nextDouble())).squareRoot()
        let angle = 2 * Double.pi * nextDouble()
        return (radius * cos(angle), radius * sin(angle))
    }

    /// An angle in (-pi, pi] from the von Mises distribution with mean 0 (Best & Fisher,
    /// "Efficient simulation of the von Mises distribution", Applied Statistics 1979).
    mutating func nextVonMises(concentration kappa: Double) -> Double {
        let tau = 1 + (1 + 4 * kappa * kappa).squareRoot()
        let rho = (tau - (2 * tau).squareRoot()) / (2 * kappa)
        let r = (1 + rho * rho) / (2 * rho)
        while true {
            let z = cos(Double.pi * nextDouble())
            let f = (1 + r * z) / (r + z)
            let c = kappa * (r - f)
            let u = nextDouble()
            if c * (2 - c) - u > 0 || log(c / u) + 1 - c >= 0 {
                let angle = acos(min(1, max(-1, f)))
                return nextDouble() < 0.5 ? -angle : angle
            }
        }
    }
}
