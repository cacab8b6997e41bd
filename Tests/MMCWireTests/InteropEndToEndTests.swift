import Foundation
import MMCDevTools
import MMCTestSupport
import MMCWire
import Testing

/// The repository root, found from this file's path (Tests/MMCWireTests/InteropEndToEndTests.swift).
private let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Whether `python3` is on the PATH (the test is skipped only when it is not).
private let pythonAvailable = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").contains {
    FileManager.default.isExecutableFile(atPath: "\($0)/python3")
}

/// Swift encodes, the Python client's codec (clients/python/src/mmcd_client/wire.py, loaded by
/// clients/python/tools/interop.py with plain python3 and numpy, without pyzmq or installing the
/// package) decodes and encodes again in every form, and Swift decodes that; Python also decodes
/// the malformed corpus and must report the same error codes.
@Suite("Interoperability with the Python client", .enabled(if: pythonAvailable, "python3 is not on the PATH"), .tags(.endToEnd))
struct InteropEndToEndTests {
    @Test("Swift and Python decode each other's messages")
    func roundTripThroughPython() throws {
        let files = FileManager.default
        let directory = files.temporaryDirectory.appendingPathComponent("mmcwire-interop-\(UUID().uuidString)")
        let input = directory.appendingPathComponent("in")
        let output = directory.appendingPathComponent("out")
        try files.createDirectory(at: input, withIntermediateDirectories: true)
        defer { try? files.removeItem(at: directory) }

        var random = TestRandom(seed: 2_024)
        var batches: [String: PointBatch] = [:]
        var updates: [String: UpdateMessage] = [:]
        var requests: [String: Request] = [:]
        var replies: [String: Reply] = [:]
        func write(_ name: String, _ bytes: [UInt8]) throws {
            try Data(bytes).write(to: input.appendingPathComponent(name))
        }
        for index in 0..<40 {
            let stem = "m\(index)"
            let batch = random.batch(count: index % 4 == 0 ? 1 : random.int(1...200), dimension: random.int(1...64))
            batches[stem] = batch
            switch index % 3 {
            case 0: try write("\(stem).points.bin", batch.encodedBinary())
            case 1: try write("\(stem).points.json", batch.encodedJSON(layout: .rows))
            default: try write("\(stem).points.json", batch.encodedJSON(layout: .columns))
            }
            updates[stem] = index.isMultiple(of: 2) ? .clusters(random.update()) : .provisional(random.provisional())
            try write("\(stem).update.json", updates[stem]!.encoded())
            requests[stem] = random.request()
            try write("\(stem).request.json", requests[stem]!.encoded())
            replies[stem] = random.reply()
            try write("\(stem).reply.json", replies[stem]!.encoded())
        }

        // The malformed corpus: the Python decoder must refuse each case with the same code
        // (cases with non-default limits stay Swift-only).
        let malformed = malformedCorpus.enumerated().compactMap { index, testCase -> (String, MalformedCase)? in
            guard testCase.limits == .default else { return nil }
            switch testCase.decoder {
            case .points(let expected): return ("b\(index).\(expected == nil ? "points" : "points2")", testCase)
            case .update: return ("b\(index).update", testCase)
            case .request: return ("b\(index).request", testCase)
            case .reply: return ("b\(index).reply", testCase)
            case .topic, .sequence: return nil
            }
        }
        for (stem, testCase) in malformed { try write("\(stem).bad", testCase.payload) }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", repositoryRoot.appendingPathComponent("clients/python/tools/interop.py").path,
                             input.path, output.path, "--bench", "500", "3", "42"]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "python: \(stderr)")

        func read(_ name: String) throws -> [UInt8] {
            [UInt8](try Data(contentsOf: output.appendingPathComponent(name)))
        }
        for (stem, batch) in batches {
            var suffixes = ["bin", "rows.json", "columns.json"]
            if batch.count == 1 { suffixes.append("single.json") }
            for suffix in suffixes {
                let decoded = try PointBatch.decode(try read("\(stem).points.\(suffix)"))
                #expect(decoded == batch, "\(stem) \(suffix)")
                #expect(decoded.values.map(\.bitPattern) == batch.values.map(\.bitPattern), "\(stem) \(suffix)")
            }
            #expect(try UpdateMessage.decode(try read("\(stem).update.json")) == updates[stem], "\(stem)")
            #expect(try Request.decode(try read("\(stem).request.json")) == requests[stem], "\(stem)")
            #expect(try Reply.decode(try read("\(stem).reply.json")) == replies[stem], "\(stem)")
        }
        var disagreements: [String] = []
        for (stem, testCase) in malformed {
            let code = String(decoding: try read("\(stem).code"), as: UTF8.self)
            if code != testCase.code.rawValue {
                disagreements.append("\(testCase.name): Swift \(testCase.code.rawValue), Python \(code)")
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.joined(separator: "\n"))")
        // Python's generator reproduces the benchmark batch byte for byte.
        #expect(try read("bench.bin") == WireBenchmark.pointBatch(count: 500, dimension: 3, seed: 42).encodedBinary())
    }
}
