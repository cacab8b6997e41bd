import MassClustering
import MMCDevTools
import MMCTestSupport
import Testing

/// Points of one label: stream index and coordinates.
private typealias Trace = [(index: Int, values: ArraySlice<Double>)]

/// The points of every label in `batch`, which starts at stream index `start`.
private func traces(of batch: DriftingBatch, start: Int) -> [Int: Trace] {
    var traces: [Int: Trace] = [:]
    for (offset, label) in batch.labels.enumerated() {
        let values = batch.values[(offset * batch.dimension)..<((offset + 1) * batch.dimension)]
        traces[label, default: []].append((start + offset, values))
    }
    return traces
}

/// The mean of `points`.
private func mean(_ points: Trace.SubSequence, dimension: Int) -> [Double] {
    var sum = [Double](repeating: 0, count: dimension)
    for point in points {
        for (coordinate, value) in point.values.enumerated() { sum[coordinate] += value }
    }
    return sum.map { $0 / Double(points.count) }
}

private func distance(_ a: [Double], _ b: [Double]) -> Double {
    zip(a, b).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
}

@Suite("DriftingStream", .tags(.unit))
struct DriftingStreamTests {
    @Test("the same seed gives the same stream, another seed another one")
    func determinism() throws {
        let parameters = try DriftingStreamParameters(dimension: 3)
        let stream = DriftingStream(parameters: parameters, seed: 11)
        let batch = stream.points(in: 0..<5_000)
        #expect(DriftingStream(parameters: parameters, seed: 11).points(in: 0..<5_000) == batch)
        #expect(DriftingStream(parameters: parameters, seed: 12).points(in: 0..<5_000) != batch)
        #expect(batch.values.count == 5_000 * 3)
        #expect(batch.values.allSatisfy { $0.isFinite })
    }

    @Test("a point does not depend on the range it is generated in")
    func randomAccess() throws {
        let stream = DriftingStream(parameters: try DriftingStreamParameters(dimension: 5), seed: 3)
        let whole = stream.points(in: 100..<400)
        let first = stream.points(in: 100..<250)
        let second = stream.points(in: 250..<400)
        #expect(whole.values == first.values + second.values)
        #expect(whole.labels == first.labels + second.labels)
        let single = stream.point(at: 321)
        #expect(single.label == whole.labels[221])
        #expect(single.values[...] == whole.values[(221 * 5)..<(222 * 5)])
    }

    @Test("labels occur in the proportions the mixture gives", arguments: [1, 2, 3] as [UInt64])
    func proportions(seed: UInt64) throws {
        let stream = DriftingStream(parameters: try DriftingStreamParameters(), seed: seed)
        let count = 60_000
        let batch = stream.points(in: 0..<count)
        var expected: [Int: Double] = [:]
        var empty = 0
        for index in 0..<count {
            let components = stream.components(at: index)
            if components.isEmpty { empty += 1 }
            for component in components {
                expected[component.label, default: 0] += component.probability
            }
        }
        expected[0] = Double(count) - expected.values.reduce(0, +)
        var observed: [Int: Int] = [:]
        for label in batch.labels { observed[label, default: 0] += 1 }

        #expect(Set(observed.keys).isSubset(of: Set(expected.keys)))
        for (label, mean) in expected where mean >= 100 {
            // Counts are sums of independent Bernoulli draws: allow five standard deviations.
            let tolerance = 5 * mean.squareRoot()
            #expect(abs(Double(observed[label, default: 0]) - mean) < tolerance, "label \(label)")
        }
        // Slot 0 is never empty, so noise is 5 % (a standard deviation is 0.09 %).
        let noise = Double(observed[0, default: 0]) / Double(count)
        #expect(abs(noise - 0.05) < 0.005)
        #expect(empty == 0)
        // Several clusters live and die within 60,000 points.
        #expect(observed.keys.count(where: { $0 > 0 }) >= 5)
    }

    @Test("every cluster's points move from its early to its late part", arguments: [1, 2, 3, 4] as [UInt64])
    func clustersMove(seed: UInt64) throws {
        let stream = DriftingStream(parameters: try DriftingStreamParameters(), seed: seed)
        let count = 120_000
        let batch = stream.points(in: 0..<count)
        var checked = 0
        for (label, trace) in traces(of: batch, start: 0) where label > 0 {
            // Long enough observed lives only: at 0.05 widths per 10,000 points or more, the
            // centre moves at least 0.1 over 20,000 points (0.064 along a half-turn arc).
            guard let first = trace.first, let last = trace.last, last.index - first.index >= 20_000 else { continue }
            let quarter = trace.count / 4
            let early = mean(trace.prefix(quarter), dimension: batch.dimension)
            let late = mean(trace.suffix(quarter), dimension: batch.dimension)
            #expect(distance(early, late) > 0.03, "label \(label) from \(early) to \(late)")
            checked += 1
        }
        #expect(checked >= 2)
    }

    @Test("centres stay in the box, spreads in their range, probabilities below 1 - noise")
    func geometry() throws {
        let stream = DriftingStream(parameters: try DriftingStreamParameters(dimension: 3, clusterCount: 6), seed: 5)
        for index in stride(from: 0, to: 200_000, by: 997) {
            let components = stream.components(at: index)
            #expect(components.reduce(0) { $0 + $1.probability } <= 0.95 + 1e-12)
            for component in components {
                #expect(component.centre.allSatisfy { $0 >= 0.1 - 1e-9 && $0 <= 0.9 + 1e-9 })
                #expect(component.spread >= 0.01 && component.spread <= 0.05)
            }
        }
    }

    @Test("frozen clusters: speed 0 keeps every centre in place")
    func frozen() throws {
        let stream = DriftingStream(parameters: try DriftingStreamParameters(speed: 0...0), seed: 9)
        let early = stream.components(at: 30_000)
        let late = stream.components(at: 30_500)
        for component in early {
            if let same = late.first(where: { $0.label == component.label }) {
                #expect(same.centre == component.centre)
            }
        }
    }

    @Test("pure noise, and a single dimension")
    func edgeCases() throws {
        let noise = DriftingStream(parameters: try DriftingStreamParameters(noiseFraction: 1), seed: 1)
        let batch = noise.points(in: 0..<1_000)
        #expect(batch.labels.allSatisfy { $0 == 0 })
        #expect(batch.values.allSatisfy { $0 >= 0 && $0 < 1 })

        let line = DriftingStream(parameters: try DriftingStreamParameters(dimension: 1, circularFraction: 1), seed: 1)
        #expect(line.points(in: 0..<1_000).values.count == 1_000)
    }

    @Test("parameters out of range are refused, naming the key")
    func validation() {
        #expect(throws: ParameterError(key: "dimension", value: "0", allowed: ">= 1")) {
            try DriftingStreamParameters(dimension: 0)
        }
        #expect(throws: ParameterError(key: "noiseFraction", value: "1.5", allowed: "0...1")) {
            try DriftingStreamParameters(noiseFraction: 1.5)
        }
        #expect(throws: ParameterError.self) { try DriftingStreamParameters(lifetime: 0...10) }
        #expect(throws: ParameterError.self) { try DriftingStreamParameters(spread: 0...0.1) }
        #expect(throws: ParameterError.self) { try DriftingStreamParameters(weight: 0...1) }
        #expect(throws: ParameterError.self) { try DriftingStreamParameters(speed: -1...1) }
        #expect(throws: ParameterError.self) { try DriftingStreamParameters(circularFraction: 2) }
    }
}
