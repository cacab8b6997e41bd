import Foundation
import MMCConfiguration
import MMCDaemon
import MMCDevTools
import MMCTestSupport
import MMCWire
import Testing

/// The configuration parser under `mmc fuzz --target config`'s mutations.
@Suite(.tags(.unit))
struct ConfigurationFuzzTests {
    @Test func everyKeyRendersAsADocumentThatParsesBackUnchanged() throws {
        var configuration = DaemonConfiguration()
        configuration.input.topics = ["a\"b", "é"]
        configuration.window.maxAgeSeconds = 0.1
        #expect(try DaemonConfiguration(toml: configuration.tomlDocument) == configuration)
    }

    @Test func aSeededRunParsesOrRefusesEveryInput() {
        let report = FuzzTarget.configuration.run(execs: 2_000, seed: 2024)
        #expect(report.failures.isEmpty, "\(report.failures.prefix(5))")
        #expect(report.accepted > 0)
        #expect(report.rejected["syntax", default: 0] > 0 && report.rejected["value", default: 0] > 0)
    }
}

/// Inputs `mmc fuzz --target config` found crashing the process (toml++, inside TOMLKit, asserts
/// on them), and variants of them: each must be refused as invalid TOML naming its line.
@Test(arguments: [
    ("[\u{FFFD}\u{FFFD}\u{FFFD}\u{7F}\0\0\0\u{FFFD}size = 5000 # comment\n", 1, "table header needs a key"),
    ("[=]", 1, "table header needs a key"), ("[", 1, "table header needs a key"), ("[ # x", 1, "table header needs a key"),
    ("[\u{7F}]", 1, "table header needs a key"), ("[é]", 1, "table header needs a key"),
    ("[[\u{01}]]", 1, "table header needs a key"), ("[window]\nsize = 5\n  [\t.]\n", 3, "table header needs a key"),
    ("[\r\n", 1, "table header needs a key"),
    ("[input]\nbind = [\"tcp://127.0.0.1:5556\"]\nconnect = [}\n", 3, "the array expects a value"),
    ("[input]\nbind = [\"a\", # c\n\n }", 4, "the array expects a value"),
    ("x = [[}]]", 1, "the array expects a value"), ("x = {a = [}]}", 1, "the array expects a value"),
    ("[forest]\ntrees = 1979-05-27T\"07:32:00Z32\n", 2, "needs a time"), ("x = [1979-05-27Tx7:3]", 1, "needs a time"),
    ("x = {a=1979-05-27T_07:32:00}", 1, "needs a time"), ("x = 1979-05-27T+0:00:00", 1, "needs a time"),
])
func aDocumentTOMLPlusPlusWouldAbortOnIsRefusedNotACrash(_ text: String, line: Int, problem: String) {
    #expect {
        try DaemonConfiguration(toml: text)
    } throws: { error in
        guard let issue = (error as? ConfigurationError)?.issues.first else { return false }
        return issue.key == "<config>:\(line)" && issue.problem.contains(problem)
    }
}

/// Valid TOML with brackets, braces, commas and quotes where the guard looks: it refuses none.
@Test func theGuardLeavesValidDocumentsToTheParser() throws {
    let text = """
        [input] # a comment with [ and }
        bind = [ "tcp://127.0.0.1:5556", # first
          'ipc:///run/a]b}', ]
        topics = ["[}", \"\"\"
        multi [ line } "\"\"\"]
        [ window ]
        size = 5000
        1979-05-27Tx = 1979-05-27T07:32:00Z
        """
    #expect {
        try DaemonConfiguration(toml: text)
    } throws: { error in
        // Only the unknown key: the guard let everything through to the parser.
        (error as? ConfigurationError)?.issues.map(\.key) == ["window.1979-05-27Tx"]
    }
    let configuration = try DaemonConfiguration(toml: text.replacingOccurrences(of: "1979-05-27Tx = 1979-05-27T07:32:00Z", with: ""))
    #expect(configuration.input.bind == ["tcp://127.0.0.1:5556", "ipc:///run/a]b}"])
    #expect(configuration.input.topics == ["[}", "multi [ line } \""])
}
