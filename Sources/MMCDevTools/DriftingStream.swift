internal import MassClustering

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A labelled stream of Gaussian clusters that drift, appear and disappear, in uniform noise:
/// ground truth for testing stream clusterers.
///
/// Point `i` of the stream is a pure function of the seed, the parameters and `i`, so any
/// range can be generated on its own, in any order, with the same result (each point draws
/// from its own ``SeededGenerator``). The stream has ``DriftingStreamParameters/clusterCount``
/// slots; slot `k` repeats a cycle of a lifetime `L` and a gap `G` (drawn once per slot), with
/// a phase drawn so that the slots do not start together, and the point index `i` falls into
/// incarnation `n` of the slot. Each incarnation is a cluster with its own weight, spread and
/// path (a straight line, or a slow arc of at most half a turn), drawn from its own seed.
///
/// A point is noise with probability ``DriftingStreamParameters/noiseFraction`` (uniform in
/// the unit box, label 0), and otherwise comes from one of the clusters alive at `i`, chosen in
/// proportion to their weights, as `centre(i) + spread · N(0, I)`. Slot 0 has no gap, so some
/// cluster is always alive and the noise share is exactly the noise fraction. Labels of
/// clusters are `1 + k + clusterCount · n`: each cluster, from birth to death, has a label of
/// its own that no other cluster reuses. Paths are independent, so two clusters may pass
/// through each other for a while, as real ones do before a merge or after a split.
///
/// - Complexity: O(`clusterCount` + `dimension`) per point, independent of its index.
/// ```swift
/// let stream = DriftingStream(parameters: try DriftingStreamParameters(), seed: 7)
/// let batch = stream.points(in: 0..<1_000)      // the same on every run
/// let first = stream.point(at: 0)               // batch.values[0..<2], batch.labels[0]
/// ```
public struct DriftingStream: Sendable, Hashable {
    /// The shape of the stream.
    public let parameters: DriftingStreamParameters
    /// The seed every random choice derives from.
    public let seed: UInt64
    /// Each slot's cycle, drawn at init.
    private let slots: [Slot]

    /// Makes the stream for `seed`.
    public init(parameters: DriftingStreamParameters, seed: UInt64) {
        self.parameters = parameters
        self.seed = seed
        slots = (0..<parameters.clusterCount).map { slot in
            var generator = SeededGenerator(seed: Self.derivedSeed(seed, .slot, UInt64(slot)))
            let lifetime = generator.nextInt(in: parameters.lifetime)
            // Slot 0 never stays empty, so that some cluster is alive at every point.
            let cycle = lifetime + (slot == 0 ? 0 : generator.nextInt(in: parameters.gap))
            return Slot(lifetime: lifetime, cycle: cycle, phase: generator.nextInt(below: cycle))
        }
    }

    /// The clusters alive at point `index`, with the probability that the point comes from
    /// each and where each is centred; the remaining probability is noise.
    ///
    /// - Precondition: `index >= 0`.
    /// - Complexity: O(`clusterCount` × `dimension`).
    public func components(at index: Int) -> [DriftingComponent] {
        var cache = [Cluster?](repeating: nil, count: slots.count)
        var alive: [(slot: Int, age: Int)] = []
        let totalWeight = findAlive(at: index, cache: &cache, into: &alive)
        let clusterShare = 1 - parameters.noiseFraction
        return alive.map { slot, age in
            let cluster = cache[slot]!
            return DriftingComponent(
                label: cluster.label, probability: clusterShare * cluster.weight / totalWeight,
                centre: cluster.path.centre(atAge: age), spread: cluster.spread)
        }
    }

    /// The point with stream index `index`.
    ///
    /// - Precondition: `index >= 0`.
    public func point(at index: Int) -> (values: [Double], label: Int) {
        let batch = points(in: index..<(index + 1))
        return (batch.values, batch.labels[0])
    }

    /// The points with stream indices in `range`, in order.
    ///
    /// - Precondition: `range.lowerBound >= 0`.
    /// - Complexity: O(`range.count` × (`clusterCount` + `dimension`)).
    public func points(in range: Range<Int>) -> DriftingBatch {
        precondition(range.lowerBound >= 0, "stream indices start at 0")
        let dimension = parameters.dimension
        var values = [Double]()
        values.reserveCapacity(range.count * dimension)
        var labels = [Int]()
        labels.reserveCapacity(range.count)
        var cache = [Cluster?](repeating: nil, count: slots.count)
        var alive: [(slot: Int, age: Int)] = []
        for index in range {
            let totalWeight = findAlive(at: index, cache: &cache, into: &alive)
            var generator = SeededGenerator(seed: Self.derivedSeed(seed, .point, UInt64(index)))
            // Noise takes [0, noiseFraction) of the draw; the clusters share the rest by weight.
            let draw = generator.nextDouble()
            let noise = parameters.noiseFraction
            var choice = (draw - noise) / (1 - noise) * totalWeight
            let chosen = draw < noise ? nil : alive.first { slot, _ in
                choice -= cache[slot]!.weight
                return choice < 0
            }
            guard let (slot, age) = chosen else {
                for _ in 0..<dimension { values.append(generator.nextDouble()) }
                labels.append(0)
                continue
            }
            let cluster = cache[slot]!
            let centre = cluster.path.centre(atAge: age)
            var coordinate = 0
            while coordinate < dimension {
                let (first, second) = generator.nextNormalPair()
                values.append(centre[coordinate] + cluster.spread * first)
                if coordinate + 1 < dimension {
                    values.append(centre[coordinate + 1] + cluster.spread * second)
                }
                coordinate += 2
            }
            labels.append(cluster.label)
        }
        return DriftingBatch(dimension: dimension, values: values, labels: labels)
    }

    /// Lists in `alive` the slots whose cluster lives at point `index` with the cluster's age,
    /// drawing each cluster into `cache` (one entry per slot) unless it is there already.
    ///
    /// - Returns: The sum of the alive clusters' weights.
    private func findAlive(at index: Int, cache: inout [Cluster?], into alive: inout [(slot: Int, age: Int)]) -> Double {
        precondition(index >= 0, "stream indices start at 0")
        alive.removeAll(keepingCapacity: true)
        var totalWeight = 0.0
        for (slotIndex, slot) in slots.enumerated() {
            let (incarnation, age) = (index + slot.phase).quotientAndRemainder(dividingBy: slot.cycle)
            guard age < slot.lifetime else { continue }
            let label = 1 + slotIndex + parameters.clusterCount * incarnation
            if cache[slotIndex]?.label != label {
                cache[slotIndex] = cluster(slot: slotIndex, incarnation: incarnation, lifetime: slot.lifetime)
            }
            alive.append((slotIndex, age))
            totalWeight += cache[slotIndex]!.weight
        }
        return totalWeight
    }

    /// Incarnation `incarnation` of slot `slot`, drawn from its own seed.
    private func cluster(slot: Int, incarnation: Int, lifetime: Int) -> Cluster {
        var generator = SeededGenerator(seed: Self.derivedSeed(seed, .cluster, UInt64(slot), UInt64(incarnation)))
        let weight = generator.nextDouble(in: parameters.weight)
        let spread = generator.nextDouble(in: parameters.spread)
        let distance = generator.nextDouble(in: parameters.speed) * Double(lifetime) / 10_000
        let circular = parameters.dimension >= 2 && generator.nextDouble() < parameters.circularFraction
        let path = circular
            ? Path.arc(distance: distance, lifetime: lifetime, dimension: parameters.dimension, generator: &generator)
            : Path.line(distance: distance, lifetime: lifetime, dimension: parameters.dimension, generator: &generator)
        return Cluster(label: 1 + slot + parameters.clusterCount * incarnation, weight: weight, spread: spread, path: path)
    }

    /// The independent random streams a seed is split into.
    private enum Purpose: UInt64 {
        case slot = 1, cluster, point
    }

    /// A seed for one purpose and index, well mixed so that neighbouring indices give unrelated
    /// generators (SplitMix64's finalizer, applied per word).
    private static func derivedSeed(_ seed: UInt64, _ purpose: Purpose, _ first: UInt64, _ second: UInt64 = 0) -> UInt64 {
        let absorb = { (hash: UInt64, word: UInt64) in mix(hash ^ mix(word &+ 0x9E37_79B9_7F4A_7C15)) }
        return absorb(absorb(absorb(seed, purpose.rawValue), first), second)
    }

    /// SplitMix64's output function: a bijection of 64-bit words with full avalanche.
    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// One slot's repeating schedule: alive for `lifetime` points of every `cycle`, shifted by `phase`.
private struct Slot: Sendable, Hashable {
    let lifetime: Int
    let cycle: Int
    let phase: Int
}

/// One incarnation of a slot.
private struct Cluster: Sendable, Hashable {
    let label: Int
    let weight: Double
    let spread: Double
    let path: Path
}

/// Where a cluster's centre is at each age (points since its birth).
private enum Path: Sendable, Hashable {
    /// From `start`, `velocity` per point.
    case line(start: [Double], velocity: [Double])
    /// On a circle in the plane of coordinates 0 and 1 around `centre` (the other coordinates
    /// stay at `centre`), starting at angle `angle` and turning `angularSpeed` radians per point.
    case circle(centre: [Double], radius: Double, angle: Double, angularSpeed: Double)

    /// The lowest and highest coordinate of a centre.
    static let box = 0.1...0.9

    /// A straight path of length `distance` (at most the box's width, 0.8), in a uniformly
    /// random direction, placed so that it stays in the box for its whole lifetime.
    static func line(distance: Double, lifetime: Int, dimension: Int, generator: inout SeededGenerator) -> Path {
        let length = min(distance, box.upperBound - box.lowerBound)
        var direction = (0..<dimension).map { _ in generator.nextNormalPair().0 }
        let norm = direction.reduce(0) { $0 + $1 * $1 }.squareRoot()
        direction = norm > 0 ? direction.map { $0 / norm } : [1] + [Double](repeating: 0, count: dimension - 1)
        let start = direction.map { component in
            // The start must lie in the box, and so must the end, start + length · component.
            let shift = length * component
            let low = max(box.lowerBound, box.lowerBound - shift)
            let high = min(box.upperBound, box.upperBound - shift)
            return generator.nextDouble(in: low...max(low, high))
        }
        return .line(start: start, velocity: direction.map { $0 * length / Double(lifetime) })
    }

    /// An arc of length `distance` covering at most half a turn: the radius is at least
    /// `distance / π`, and the arc is shortened when even the largest circle that fits the box
    /// (radius 0.4) cannot hold it in half a turn.
    static func arc(distance: Double, lifetime: Int, dimension: Int, generator: inout SeededGenerator) -> Path {
        let largest = (box.upperBound - box.lowerBound) / 2
        let radius = min(largest, max(generator.nextDouble(in: 0.1...0.25), distance / Double.pi))
        let length = min(distance, Double.pi * radius)
        var centre = (0..<dimension).map { _ in generator.nextDouble(in: box) }
        for coordinate in 0..<2 {
            centre[coordinate] = generator.nextDouble(in: (box.lowerBound + radius)...(box.upperBound - radius))
        }
        let angle = 2 * Double.pi * generator.nextDouble()
        let turn = generator.nextDouble() < 0.5 ? -1.0 : 1.0
        return .circle(centre: centre, radius: radius, angle: angle, angularSpeed: turn * length / radius / Double(lifetime))
    }

    /// The centre `age` points after birth.
    func centre(atAge age: Int) -> [Double] {
        switch self {
        case .line(let start, let velocity):
            return zip(start, velocity).map { $0 + $1 * Double(age) }
        case .circle(let centre, let radius, let angle, let angularSpeed):
            let theta = angle + angularSpeed * Double(age)
            var position = centre
            position[0] += radius * cos(theta)
            position[1] += radius * sin(theta)
            return position
        }
    }
}

extension SeededGenerator {
    /// A uniform integer in `range`.
    fileprivate mutating func nextInt(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + nextInt(below: range.upperBound - range.lowerBound + 1)
    }

    /// A uniform `Double` in `range` (its lower bound when the range is a single value).
    fileprivate mutating func nextDouble(in range: ClosedRange<Double>) -> Double {
        range.lowerBound + (range.upperBound - range.lowerBound) * nextDouble()
    }
}
