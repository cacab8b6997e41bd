import Foundation
import MMCTestSupport
import MMCWire
import Testing

/// Every example marked `<!-- example: KIND -->` in docs/protocol.md decodes.
@Suite("docs/protocol.md examples", .tags(.unit))
struct DocumentationExamplesTests {
    struct Example: CustomTestStringConvertible, Sendable {
        let kind: String
        let payload: [UInt8]
        let line: Int
        var testDescription: String { "\(kind) example at line \(line)" }
    }

    static let examples: [Example] = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        guard let text = try? String(contentsOf: root.appendingPathComponent("docs/protocol.md"), encoding: .utf8) else { return [] }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var examples: [Example] = []
        var index = 0
        while index < lines.count {
            let line = lines[index].trimmingCharacters(in: .whitespaces)
            guard line.hasPrefix("<!-- example: "), line.hasSuffix(" -->"), index + 1 < lines.count else {
                index += 1
                continue
            }
            let kind = String(line.dropFirst("<!-- example: ".count).dropLast(" -->".count))
            let fence = lines[index + 1]
            var body: [Substring] = []
            var cursor = index + 2
            while cursor < lines.count, lines[cursor] != "```" {
                body.append(lines[cursor])
                cursor += 1
            }
            let payload: [UInt8]
            if fence == "```hex" {
                payload = body.flatMap { row in
                    row.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
                        .split(separator: " ").map { UInt8($0, radix: 16)! }
                }
            } else {
                payload = Array(body.joined(separator: "\n").utf8)
            }
            examples.append(Example(kind: kind, payload: payload, line: index + 1))
            index = cursor
        }
        return examples
    }()

    @Test("the document has examples of every kind")
    func present() {
        #expect(Set(Self.examples.map(\.kind)) == ["points", "update", "sequence", "request", "reply"])
        #expect(Self.examples.count >= 12)
    }

    @Test("each example decodes", arguments: examples)
    func decodes(_ example: Example) throws {
        switch example.kind {
        case "points": #expect(try PointBatch.decode(example.payload, expectedDimension: 2).ids.first == 17)
        case "update": _ = try UpdateMessage.decode(example.payload)
        case "sequence": #expect(try Frames.decodeSequence(example.payload) == 42)
        case "request": _ = try Request.decode(example.payload, expectedDimension: 2)
        case "reply": _ = try Reply.decode(example.payload)
        default: Issue.record("unknown example kind \(example.kind)")
        }
    }

    @Test("the binary example is what the encoder writes")
    func binaryExample() throws {
        let batch = try PointBatch(dimension: 2, ids: [17, 18], timestamps: [1732600000.25, 1732600000.5], values: [0.1, 2.5, 0.2, 2.4])
        let decoded = try Self.examples.filter { $0.kind == "points" }.map { try PointBatch.decode($0.payload) }
        // Binary, rows and columns show the same two points; the single-point form shows one.
        #expect(Self.examples.first { $0.kind == "points" }?.payload == batch.encodedBinary())
        #expect(decoded.filter { $0 == batch }.count == 3)
    }
}
