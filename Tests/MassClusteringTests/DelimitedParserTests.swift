import MassClustering
import MMCTestSupport
import Testing

private func parse(_ text: String) throws(DelimitedParseError) -> DelimitedTable {
    try DelimitedParser.parse(Array(text.utf8))
}

/// The error that parsing `text` throws, or `nil` if it parses.
private func failure(_ text: String) -> DelimitedParseError? {
    do {
        _ = try parse(text)
        return nil
    } catch {
        return error
    }
}

@Suite("DelimitedParser", .tags(.unit))
struct DelimitedParserTests {
    @Test("whitespace-separated columns, tabs and runs of spaces alike")
    func whitespaceSeparated() throws {
        let table = try parse("1 2 3\n  4\t5   6  \n-7.5e+000\t8e-1 +9\n")
        #expect(table.separator == .whitespace)
        #expect(table.rowCount == 3)
        #expect(table.columnCount == 3)
        #expect(table.values == [1, 2, 3, 4, 5, 6, -7.5, 0.8, 9])
        #expect(table.columnNames == nil)
    }

    @Test("comma-separated columns with blanks around the commas")
    func commaSeparated() throws {
        let table = try parse("1,2\n 3 , 4\n5,\t6")
        #expect(table.separator == .comma)
        #expect(table.values == [1, 2, 3, 4, 5, 6])
        #expect(table.rowCount == 3)
    }

    @Test("a header line gives the column names; quotes and blanks are stripped")
    func header() throws {
        let table = try parse("sepal length, \"sepal width\",class\n5.1,3.5,0\n4.9,3.0,1\n")
        #expect(table.columnNames == ["sepal length", "sepal width", "class"])
        #expect(table.values == [5.1, 3.5, 0, 4.9, 3.0, 1])

        let spaced = try parse("x y\n1 2\n")
        #expect(spaced.columnNames == ["x", "y"])
        #expect(spaced.values == [1, 2])
    }

    @Test("the separator is taken from the first line, header or data")
    func separatorFromFirstLine() throws {
        #expect(try parse("# comment, with a comma\nx y\n1 2\n").separator == .whitespace)
        #expect(try parse("x,y\n1,2\n").separator == .comma)
    }

    @Test("comment lines, blank lines and a byte order mark are skipped")
    func commentsAndBlanks() throws {
        let table = try parse("\u{FEFF}# generated\n\n   \n1 2\n  # indented comment\n\n3 4\n")
        #expect(table.values == [1, 2, 3, 4])
        #expect(table.rowCount == 2)
    }

    @Test("CRLF line ends are tolerated, also on the last line and the header")
    func crlf() throws {
        let table = try parse("a,b\r\n1,2\r\n\r\n3,4\r\n")
        #expect(table.columnNames == ["a", "b"])
        #expect(table.values == [1, 2, 3, 4])
        #expect(try parse("1 2\r\n3 4\r").values == [1, 2, 3, 4])
    }

    @Test("number spellings: signs, leading and trailing points, exponents, negative zero")
    func numberSpellings() throws {
        let table = try parse("+1 -2 .5 7. 1E3 2e-3 -0 0.000123 -4.822490e+000 007\n")
        #expect(table.values == [1, -2, 0.5, 7, 1000, 0.002, 0, 0.000123, -4.82249, 7])
        #expect(table.values[6].sign == .minus)
    }

    @Test("long mantissas and large exponents round like the standard library")
    func slowPath() throws {
        let texts = [
            "3.14159265358979323846264338327950288", "123456789012345678901234567890",
            "1e300", "-2.5e-310", "9007199254740993", "0.1e23", "4.9e-324", "1e-400",
        ]
        let table = try parse(texts.joined(separator: " "))
        #expect(table.values == texts.map { Double($0)! })
    }

    @Test("mantissas beyond 53 bits with small exponents round like the standard library")
    func wideMantissas() throws {
        var generator = SeededGenerator(seed: 7)
        let texts = (0..<3000).map { _ -> String in
            let mantissa = UInt64.random(in: (1 << 53)...9_999_999_999_999_999_999, using: &generator)
            return "\(mantissa)e\(Int.random(in: -19...19, using: &generator))"
        }
        let table = try parse(texts.joined(separator: "\n"))
        #expect(table.values == texts.map { Double($0)! })
    }

    @Test("random values round-trip exactly", arguments: [UInt64(1), 2, 3])
    func randomRoundTrip(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        let values = (0..<3000).map { index -> Double in
            switch index % 3 {
            case 0: Double.random(in: -1...1, using: &generator)
            case 1: Double.random(in: -1e6...1e6, using: &generator).rounded() / 1000
            default: Double(bitPattern: generator.next() & 0x7FEF_FFFF_FFFF_FFFF)
            }
        }
        let text = stride(from: 0, to: values.count, by: 3).map { row in
            values[row..<row + 3].map { "\($0)" }.joined(separator: ",")
        }.joined(separator: "\n")
        let table = try parse(text)
        #expect(table.rowCount == 1000)
        #expect(table.values == values)
    }

    @Test("a ragged row names its line and both counts")
    func raggedRow() {
        let shorter = failure("x,y,z\n1,2,3\n\n# c\n4,5\n")
        #expect(shorter == DelimitedParseError(code: .raggedRow(expected: 3, found: 2), line: 5))
        #expect(shorter?.description == "line 5: expected 3 fields, found 2")
        let longer = failure("1 2\n3 4 5\n")
        #expect(longer?.description == "line 2: expected 2 fields, found 3")
        #expect(failure("1,2\n3 4\n")?.description == "line 2: expected 2 fields, found 1")
    }

    @Test("a field that is not a number names line, column and text")
    func notANumber() {
        let error = failure("a b\n1 2\n3 4\n5 abc\n")
        #expect(error == DelimitedParseError(code: .notANumber("abc"), line: 4, column: 2))
        #expect(error?.description == "line 4, column 2: \"abc\" is not a number")
        for bad in ["1e", "1.2.3", "--1", ".", "+", "0x10", "1_000", "e5"] {
            let text = "7 \(bad)\n"
            #expect(failure(text) == DelimitedParseError(code: .notANumber(bad), line: 1, column: 2), "\(bad)")
        }
    }

    @Test("a mixed first line is data, not a header")
    func mixedFirstLine() {
        #expect(failure("1,abc\n2,3\n")?.description == "line 1, column 2: \"abc\" is not a number")
    }

    @Test("long bad fields are shortened in the message")
    func longFieldShortened() {
        let long = String(repeating: "x", count: 100)
        #expect(failure("1\n\(long)\n")?.code == .notANumber(String(repeating: "x", count: 40) + "..."))
    }

    @Test("non-finite values are rejected with their spelling")
    func nonFinite() {
        let error = failure("x\n1\n2\n3\n4\n5\n6\n7\nnan\n")
        #expect(error == DelimitedParseError(code: .nonFiniteValue("nan"), line: 9, column: 1))
        #expect(error?.description == "line 9, column 1: non-finite value \"nan\"")
        for spelling in ["NaN", "-inf", "+Infinity", "INF", "1e999", "-1e400000000"] {
            #expect(failure("0 \(spelling)\n") == DelimitedParseError(code: .nonFiniteValue(spelling), line: 1, column: 2))
        }
        #expect(failure("nan,1\n")?.description == "line 1, column 1: non-finite value \"nan\"")
    }

    @Test("an empty field between commas or at the end is named")
    func emptyField() {
        let error = failure("1,2,3\n4,,6\n")
        #expect(error == DelimitedParseError(code: .emptyField, line: 2, column: 2))
        #expect(error?.description == "line 2, column 2: empty field")
        #expect(failure("1,2,\n")?.description == "line 1, column 3: empty field")
    }

    @Test("empty inputs and inputs without data rows are rejected")
    func noData() {
        for text in ["", "\n\n", "# only a comment\n   \n", "\u{FEFF}"] {
            let error = failure(text)
            #expect(error == DelimitedParseError(code: .emptyInput))
            #expect(error?.description == "no data: the input is empty or holds only blank and comment lines")
        }
        let headerOnly = failure("# c\nx,y\n# more\n")
        #expect(headerOnly == DelimitedParseError(code: .noDataRows, line: 2))
        #expect(headerOnly?.description == "line 2: header without data rows")
    }

    @Test("the example in the documentation holds")
    func documentationExample() throws {
        let table = try DelimitedParser.parse(Array("x,y\n1,2\n# note\n3,4.5\n".utf8))
        #expect(table.columnNames == ["x", "y"])
        #expect(table.rowCount == 2)
        #expect(table.values == [1, 2, 3, 4.5])
    }

    /// About 3 pieces of lines of mixed kinds: a header, comments, blank and CRLF lines, and
    /// one line longer than a piece, so cuts fall inside and between every kind.
    private func manyPieces(lineEnding: String = "\n") -> String {
        var text = "# sensor log\r\nx, \"y\"\n"
        var row = 0
        while text.utf8.count < 3 * DelimitedParser.pieceBytes {
            switch row % 97 {
            case 0: text += "# comment \(row)\n"
            case 1: text += "   \n"
            case 2: text += "\(row).5 , -\(row)e-3\r\n"
            default: text += "\(row),\(Double(row) / 7)" + lineEnding
            }
            if row == 40_000 { text += String(repeating: " ", count: DelimitedParser.pieceBytes + 10) + "1,2\n" }
            row += 1
        }
        return text + "4,5"
    }

    @Test("a large input parsed in pieces on several threads gives the one-thread table")
    func piecesMatchOneThread() throws {
        for ending in ["\n", "\r\n"] {
            let bytes = Array(manyPieces(lineEnding: ending).utf8)
            let single = try DelimitedParser.parse(bytes, threads: 1)
            #expect(single.rowCount > 50_000)
            #expect(single.columnNames == ["x", "y"])
            for threads in [2, 3, 8] {
                #expect(try DelimitedParser.parse(bytes, threads: threads) == single)
            }
        }
    }

    @Test("in pieces, the first problem of the input is reported, with its line counted from the start")
    func piecesReportTheFirstProblem() throws {
        // Split by bytes: "\r\n" is one Character, and the parser counts the LFs.
        var lines = Array(manyPieces().utf8).split(separator: 10, omittingEmptySubsequences: false).map(Array.init)
        lines[lines.count / 2] = Array("1,2,3".utf8)
        lines[lines.count - 20] = Array("1,oops".utf8)
        let bytes = Array(lines.joined(separator: [10]))
        func error(threads: Int) -> DelimitedParseError? {
            do {
                _ = try DelimitedParser.parse(bytes, threads: threads)
                return nil
            } catch {
                return error
            }
        }
        let expected = DelimitedParseError(code: .raggedRow(expected: 2, found: 3), line: lines.count / 2 + 1)
        #expect(error(threads: 1) == expected)
        #expect(error(threads: 4) == expected)
    }
}
