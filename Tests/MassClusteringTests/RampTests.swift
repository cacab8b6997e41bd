#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
@testable import MassClustering
import MMCDevTools
import MMCTestSupport
import Testing

/// The extent step's contacts and the ramp rule that merges extents meeting without a valley
/// (docs/algorithm.md, section 2, item 7).
@Suite("Ramps between touching extents", .tags(.unit))
struct RampTests {
    /// Point sets whose seeds touch: three touching blobs, a path crowding toward one end, two
    /// tapered blobs facing each other across a gap.
    static func pointSets() throws -> [PointMatrix] {
        let blobs = (0..<6).map { seed in
            PipelineFixtures.blobs(
                centres: [[0.2, 0.2], [0.35, 0.3], [0.7, 0.5]], spreads: [0.05, 0.08, 0.06], sizes: [200, 200, 200],
                seed: UInt64(seed)).0
        }
        let paths = try #require(GradientCase.named("paths-6-u3")).generate(seed: 1).points
        let tapered = try #require(GradientCase.named("tapered-3")).generate(seed: 1).points
        return blobs + [paths, tapered]
    }

    /// Seeds (every leaf of the tree: many contacts, ramps and valleys alike; or the default
    /// selection's) and the extents grown from them, with every contact.
    static func extents(
        of points: PointMatrix, outlierFactor: Double, leaves: Bool = true
    ) -> (forest: SpanningForest, minClusterSize: Int, extents: [Int32], contacts: [ExtentContact]) {
        let forest = SpanningForest(points: points, minSamples: 15, graphNeighbours: 15)
        let minClusterSize = max(5, points.count / 100)
        let tree = ClusterHierarchy(forest: forest, minClusterSize: minClusterSize)
        let seeds = leaves
            ? tree.clusters.indices.filter { tree.clusters[$0].children.isEmpty }
            : tree.valleySeeds(
                gaps: tree.gapSplits(factor: 2), twoSided: tree.twoSidedSplits(
                    densityRatio: 2, dimensions: [Double](repeating: 2, count: tree.clusters.count)),
                allowSingleCluster: false)
        var labels = [Int32](repeating: -1, count: points.count)
        for (label, leaf) in seeds.enumerated() {
            for position in tree.clusters[leaf].members { labels[Int(tree.pointOrder[position])] = Int32(label) }
        }
        let contacts = maximizeMass(labels: &labels, forest: forest, outlierFactor: outlierFactor)
        return (forest, minClusterSize, labels, contacts)
    }

    @Test("contacts are the first edges between differently labelled extents, by a direct count")
    func contactsMatchDirectCount() throws {
        for points in try Self.pointSets() {
            // Without an outlier bound every edge between two extents was refused for joining them.
            let (forest, _, extents, contacts) = Self.extents(of: points, outlierFactor: .infinity)
            var expected = [ExtentContact](), seen = Set<[Int32]>()
            for (index, edge) in forest.edges.enumerated() {
                let a = extents[Int(edge.a)], b = extents[Int(edge.b)]
                guard a >= 0 && b >= 0 && a != b else { continue }
                if seen.insert([min(a, b), max(a, b)]).inserted {
                    expected.append(ExtentContact(first: min(a, b), second: max(a, b), edge: index))
                }
            }
            #expect(contacts == expected)
            #expect(!contacts.isEmpty)
            // With the default bound, every contact still joins its two extents.
            let bounded = Self.extents(of: points, outlierFactor: 3)
            for contact in bounded.contacts {
                let edge = bounded.forest.edges[contact.edge]
                #expect(
                    Set([bounded.extents[Int(edge.a)], bounded.extents[Int(edge.b)]]) == [contact.first, contact.second])
            }
        }
    }

    /// One side's verdict computed directly from its statement: 2 a ramp down from the link
    /// (densest part at the link), 1 a ramp if the path goes on through the link (wherever its
    /// densest part is), 0 neither.
    static func sideVerdictDirectly(
        side label: Int32, contact: ExtentContact, points: PointMatrix, forest: SpanningForest, extents: [Int32],
        minClusterSize: Int, riseBound: Double, climbBound: Double, pathClimbBound: Double, pathRiseBound: Double
    ) -> Int {
        let core = forest.coreDistances
        let side = extents.indices.filter { extents[$0] == label }
        let top = min(minClusterSize, side.count / 4)
        guard top >= 1 else { return 0 }
        let edge = forest.edges[contact.edge]
        let distance = { (point: Int) in Self.linkDistance(point, edge: edge, points: points) }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        let densest = side.sorted { (core[$0], $0) < (core[$1], $1) }.prefix(top)
        let nearest = side.sorted { (distance($0), $0) < (distance($1), $1) }.prefix(top)
        let densestLevel = median(densest.map { core[$0] }), nearestLevel = median(nearest.map { core[$0] })
        if 3 * median(densest.map(distance)) < median(side.map(distance))
            && edge.weight <= riseBound * densestLevel && nearestLevel <= climbBound * densestLevel {
            return 2
        }
        return edge.weight <= pathRiseBound * nearestLevel && nearestLevel <= pathClimbBound * densestLevel ? 1 : 0
    }

    /// The straight distance from a contact's link (its edge's midpoint) to a point.
    static func linkDistance(_ point: Int, edge: ForestEdge, points: PointMatrix) -> Double {
        (0..<points.dimension).reduce(0.0) { sum, column in
            let link = (points[Int(edge.a), column] + points[Int(edge.b), column]) / 2
            return sum + (points[point, column] - link) * (points[point, column] - link)
        }.squareRoot()
    }

    /// Whether a side leaves the link as a path, from the statement: volumes `core^2` in 2-D, `R`
    /// holding half the side's volume, the weighted mean of `log(R / r)` above 3/4, with `r` the
    /// straight distance or the distance along the side.
    static func leavesAsPathDirectly(
        side label: Int32, contact: ExtentContact, points: PointMatrix, forest: SpanningForest, extents: [Int32]
    ) -> Bool {
        let core = forest.coreDistances
        let side = extents.indices.filter { extents[$0] == label }
        let edge = forest.edges[contact.edge]
        let start = extents[Int(edge.a)] == label ? Int(edge.a) : Int(edge.b)
        let link = (0..<points.dimension).map { (points[Int(edge.a), $0] + points[Int(edge.b), $0]) / 2 }
        let along = geodesicDistances(
            graph: SideGraph(side: side, points: points, forest: forest, neighbours: 15), start: start, link: link,
            points: points)
        return [side.map { Self.linkDistance($0, edge: edge, points: points) }, along].contains { distances in
            let volume = side.map { core[$0] * core[$0] }, total = volume.reduce(0, +)
            let order = side.indices.sorted { (distances[$0], side[$0]) < (distances[$1], side[$1]) }
            var held = 0.0, radius = 0.0
            for index in order where 2 * held < total {
                held += volume[index]
                radius = distances[index]
            }
            let inner = side.indices.filter { distances[$0] > 0 && distances[$0] < radius }
            let innerVolume = inner.reduce(0.0) { $0 + volume[$1] }
            return innerVolume > 0
                && inner.reduce(0.0) { $0 + volume[$1] * log(radius / distances[$1]) } / innerVolume > 0.75
        }
    }

    @Test("one contact at a time, extents merge exactly when a side is a ramp by the direct test")
    func rampsMatchDirectTest() throws {
        var merged = 0, apart = 0, alongPaths = 0
        for points in try Self.pointSets() {
            let (forest, minClusterSize, extents, contacts) = Self.extents(of: points, outlierFactor: 3)
            for contact in contacts {
                let verdicts = [contact.first, contact.second].map { label in
                    // The valley's factor with the side's local dimension, 1 / mean of its
                    // points' statistics, within [1, 2].
                    let statistics = extents.indices.filter { extents[$0] == label }
                        .map { forest.inverseLocalDimensions[$0] }.filter(\.isFinite)
                    let local = min(2, max(1, Double(statistics.count) / statistics.reduce(0, +)))
                    return Self.sideVerdictDirectly(
                        side: label, contact: contact, points: points, forest: forest, extents: extents,
                        minClusterSize: minClusterSize, riseBound: 2, climbBound: rampClimbBound(dimension: 2),
                        pathClimbBound: max(1 + 0.64 / local, pow(2, 1 / local) * (1 + 0.32 / local)),
                        pathRiseBound: max(2, pow(2, 2 / local)))
                }
                var ramp = verdicts.contains(2)
                if !ramp && verdicts.contains(1) {
                    ramp = [contact.first, contact.second].allSatisfy { label in
                        Self.leavesAsPathDirectly(
                            side: label, contact: contact, points: points, forest: forest, extents: extents)
                    }
                    if ramp { alongPaths += 1 }
                    // Or the two are one loop: each a stretch of a loop through the other
                    // (``isLoopStretch``, tested on its own below).
                    let members = [contact.first, contact.second].map { label in extents.indices.filter { extents[$0] == label } }
                    ramp = ramp || (0..<2).allSatisfy { index in
                        isLoopStretch(
                            graph: SideGraph(side: members[index], points: points, forest: forest, neighbours: 15),
                            other: members[1 - index], points: points, neighbours: 15)
                    }
                }
                let groups = rampMerges(
                    extents: extents, contacts: [contact], points: points, forest: forest,
                    minClusterSize: minClusterSize, riseBound: 2, climbBound: rampClimbBound(dimension: 2),
                    valleyRatio: 2, neighbours: 15)
                #expect((groups[Int(contact.second)] == groups[Int(contact.first)]) == ramp)
                #expect(groups[Int(contact.first)] == contact.first)
                if ramp { merged += 1 } else { apart += 1 }
            }
        }
        // Both outcomes occur, and some merges are along paths, so the comparison tests something.
        #expect(merged > 0 && apart > 0 && alongPaths > 0)
    }

    /// The extents grown again with one label growing: it takes only points that were noise,
    /// reaching as far as its own extent's spacing allows; every other label keeps its points
    /// exactly and takes none.
    @Test("growing one label again from its extent leaves the others as they are")
    func growingFromExtents() throws {
        let points = try #require(GradientCase.named("paths-6-u3")).generate(seed: 1).points
        let (forest, _, extents, _) = Self.extents(of: points, outlierFactor: 3, leaves: false)
        let labelCount = Int(extents.max() ?? -1) + 1
        #expect(labelCount >= 2 && extents.contains(-1))
        for grower in 0..<labelCount {
            var grown = extents
            maximizeMass(
                labels: &grown, forest: forest, outlierFactor: 3, growing: (0..<labelCount).map { $0 == grower })
            for point in extents.indices where extents[point] >= 0 { #expect(grown[point] == extents[point]) }
            for point in extents.indices where grown[point] != extents[point] { #expect(grown[point] == Int32(grower)) }
        }
        // Growing every label from its extent reaches farther than from its seed.
        var all = extents
        maximizeMass(labels: &all, forest: forest, outlierFactor: 3)
        #expect(all.filter { $0 < 0 }.count < extents.filter { $0 < 0 }.count)
    }

    @Test("merges chain into groups numbered by their smallest label")
    func groupsAreClosedAndNumbered() throws {
        let points = try #require(GradientCase.named("paths-6-u3")).generate(seed: 1).points
        let (forest, minClusterSize, extents, contacts) = Self.extents(of: points, outlierFactor: 3, leaves: false)
        let groups = rampMerges(
            extents: extents, contacts: contacts, points: points, forest: forest,
            minClusterSize: minClusterSize, riseBound: 2, climbBound: rampClimbBound(dimension: 2),
            valleyRatio: 2, neighbours: 15)
        #expect(groups.enumerated().allSatisfy { label, group in group <= Int32(label) && groups[Int(group)] == group })
        // Six crowded paths, cut at their tips and along them: most pieces meet on a ramp.
        #expect(groups.count >= 12)
        #expect(Set(groups).count <= 8)
    }

    /// Distances from a link to points spread evenly along a segment leaving it (volume growing
    /// as `r`: statistic 1) and over a half-disk with the link at the middle of its edge (`r^2`:
    /// 1/2), then the same shapes with a density that changes along them.
    @Test("a side leaves the link as a path when its volume grows as along a line, not a surface")
    func pathShape() {
        let line = (1...400).map { Double($0) / 400 }
        var generator = SeededGenerator(seed: 7)
        let disk = (0..<2_000).map { _ in Double.random(in: 0..<1, using: &generator).squareRoot() }
        let even = { (values: [Double]) in [Double](repeating: 0, count: values.count) }
        #expect(leavesAsPath(line, logVolumes: even(line)))
        #expect(!leavesAsPath(disk, logVolumes: even(disk)))
        // Along the line, density rising linearly away from the link puts its mass at r^2, as a
        // surface's; each point's volume (1 / density) restores the line. Over the disk, density
        // falling away from the link puts its mass near it, as a path's; its volumes restore the disk.
        let rising = line.map { $0.squareRoot() }, falling = disk.map { $0 * $0 }
        #expect(!leavesAsPath(rising, logVolumes: even(rising)))
        #expect(leavesAsPath(rising, logVolumes: rising.map { -log($0) }))
        #expect(leavesAsPath(falling, logVolumes: even(falling)))
        #expect(!leavesAsPath(falling, logVolumes: falling.map { log($0) }))
        #expect(!leavesAsPath([], logVolumes: []))
        // Repeated readings at one position carry no volume: no shape to read.
        #expect(!leavesAsPath([1, 2], logVolumes: [-.infinity, -.infinity]))
    }

    /// An arm curling around the link (evenly spread along it) lies at every straight distance
    /// from the link, as a surface does; along the arm it is a path. Over a disk the distances
    /// along the neighbour graph stay close to the straight ones, and it stays a surface.
    @Test("distances along a side read a curled arm as a path and leave a disk a surface")
    func alongTheSide() throws {
        var generator = SeededGenerator(seed: 11)
        var arm = [Double](), disk = [Double]()
        for index in 0..<1_500 {
            // r = 0.02 + 0.03 theta over two turns, points evenly spaced in arc length.
            let theta = 4 * Double.pi * (Double(index) / 1_500).squareRoot()
            let radius = 0.02 + 0.03 * theta
            arm += [radius * cos(theta) + 0.002 * Double.random(in: -1...1, using: &generator),
                    radius * sin(theta) + 0.002 * Double.random(in: -1...1, using: &generator)]
            let r = Double.random(in: 0..<1, using: &generator).squareRoot(), angle = Double.random(in: 0..<Double.pi, using: &generator)
            disk += [r * cos(angle), r * sin(angle)]
        }
        for (values, isArm) in [(arm, true), (disk, false)] {
            let points = PointMatrix(count: values.count / 2, dimension: 2, values: values)
            let forest = SpanningForest(points: points, minSamples: 15, graphNeighbours: 15)
            let side = Array(0..<points.count)
            let straight = side.map { (points[$0, 0] * points[$0, 0] + points[$0, 1] * points[$0, 1]).squareRoot() }
            let start = try #require(side.min { straight[$0] < straight[$1] })
            let along = geodesicDistances(
                graph: SideGraph(side: side, points: points, forest: forest, neighbours: 15), start: start,
                link: [0, 0], points: points)
            let even = [Double](repeating: 0, count: side.count)
            #expect(along.allSatisfy { $0.isFinite })
            // A path is never shorter than the straight line (up to the start's own offset).
            #expect(side.allSatisfy { along[$0] >= straight[$0] - straight[start] - 1e-12 })
            #expect(!leavesAsPath(straight, logVolumes: even))
            #expect(leavesAsPath(along, logVolumes: even) == isArm)
            if !isArm {
                let far = side.filter { straight[$0] > 0.5 }
                #expect(far.allSatisfy { along[$0] < 1.1 * straight[$0] })
            }
        }
    }

    /// A stretch of a ring (a band 0.06 wide around a unit circle) meets the rest at both of its
    /// ends, and the rest meets it at both of its: one loop. A curve that is not closed, cut in
    /// two, and two touching blobs meet in one contact region each.
    @Test("a stretch of a ring meets the rest at both ends; a cut arc and touching blobs meet once")
    func loopStretches() {
        var generator = SeededGenerator(seed: 5)
        func pieces(_ count: Int, _ place: (inout SeededGenerator) -> (x: Double, y: Double, first: Bool))
            -> (PointMatrix, first: [Int], second: [Int])
        {
            var values = [Double](), first = [Int](), second = [Int]()
            for index in 0..<count {
                let (x, y, isFirst) = place(&generator)
                values += [x, y]
                if isFirst { first.append(index) } else { second.append(index) }
            }
            return (PointMatrix(count: count, dimension: 2, values: values), first, second)
        }
        let ring = pieces(1_500) { generator in
            let angle = Double.random(in: 0..<(2 * Double.pi), using: &generator)
            let radius = 1 + Double.random(in: -0.03...0.03, using: &generator)
            return (radius * cos(angle), radius * sin(angle), angle < 1.2)
        }
        let arc = pieces(1_500) { generator in
            let angle = Double.random(in: 0..<(1.5 * Double.pi), using: &generator)
            let radius = 1 + Double.random(in: -0.03...0.03, using: &generator)
            return (radius * cos(angle), radius * sin(angle), angle < 1.2)
        }
        let blobs = pieces(1_000) { generator in
            // Box-Muller: two standard normal values.
            let radius = (-2 * log(1 - Double.random(in: 0..<1, using: &generator))).squareRoot()
            let angle = Double.random(in: 0..<(2 * Double.pi), using: &generator)
            let left = Bool.random(using: &generator)
            let x = (left ? 0 : 0.35) + 0.1 * radius * cos(angle)
            return (x, 0.1 * radius * sin(angle), x < 0.175)
        }
        for (data, isLoop) in [(ring, true), (arc, false), (blobs, false)] {
            let (points, first, second) = data
            let forest = SpanningForest(points: points, minSamples: 15, graphNeighbours: 15)
            for (side, other) in [(first, second), (second, first)] {
                #expect(
                    isLoopStretch(
                        graph: SideGraph(side: side, points: points, forest: forest, neighbours: 15), other: other,
                        points: points, neighbours: 15) == isLoop)
            }
        }
    }

    @Test("the climb bound is two spreads of a point's level: 1.32 in 2-D, 1.21 in 3-D")
    func climbBound() {
        #expect(abs(rampClimbBound(dimension: 2) - 1.32) < 1e-12)
        #expect(abs(rampClimbBound(dimension: 3) - (1 + 0.64 / 3)) < 1e-12)
        #expect(rampClimbBound(dimension: 0) == rampClimbBound(dimension: 1))
    }

    @Test("a path climbs by a valley's factor and one spread before its link is a valley: 1.64 in 2-D")
    func pathClimbBound() {
        #expect(abs(rampPathClimbBound(valleyRatio: 2, dimension: 2) - 2.0.squareRoot() * 1.16) < 1e-12)
        #expect(abs(rampPathClimbBound(valleyRatio: 2, dimension: 3) - pow(2, 1.0 / 3) * (1 + 0.32 / 3)) < 1e-12)
        // Every split kept (no valley ratio): the noise bound alone.
        #expect(rampPathClimbBound(valleyRatio: 1, dimension: 2) == rampClimbBound(dimension: 2))
        // On a side of 1.8 local dimensions (a path as wide as its neighbourhoods) the valley's
        // level factor is larger, as in the valley test: 2^(1/1.8) (1 + 0.32 / 1.8).
        #expect(abs(rampPathClimbBound(valleyRatio: 2, dimension: 1.8) - pow(2, 1 / 1.8) * (1 + 0.32 / 1.8)) < 1e-12)
        #expect(rampPathClimbBound(valleyRatio: 2, dimension: 0.5) == rampPathClimbBound(valleyRatio: 2, dimension: 1))
    }

    @Test("a path's side faces a gap at the square of a valley's density step: 2 in 2-D, 2.6 at 1.45")
    func pathRiseBound() {
        #expect(rampPathRiseBound(gapFactor: 2, valleyRatio: 2, dimension: 2) == 2)
        #expect(abs(rampPathRiseBound(gapFactor: 2, valleyRatio: 2, dimension: 1.45) - pow(4, 1 / 1.45)) < 1e-12)
        #expect(rampPathRiseBound(gapFactor: 2, valleyRatio: 2, dimension: 0.5) == 4)
        // Never below the gap factor: in three dimensions 4^(1/3) = 1.59 would be stricter.
        #expect(rampPathRiseBound(gapFactor: 2, valleyRatio: 2, dimension: 3) == 2)
        #expect(rampPathRiseBound(gapFactor: 3, valleyRatio: 2, dimension: 1.45) == 3)
    }
}
