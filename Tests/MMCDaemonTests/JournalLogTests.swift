import Foundation
import Glibc
import Logging
import MMCConfiguration
import MMCRuntime
import MMCTestSupport
import Prometheus
import Testing

@testable import MMCDaemon

/// Log lines written to the systemd journal carry sd-daemon(3) priority prefixes; elsewhere they
/// stay as they are.
@Suite(.tags(.unit, .systemd)) struct JournalLogTests {
    @Test func levelsMapToSyslogPriorities() {
        let expected: [(Logger.Level, Int)] = [
            (.critical, 2), (.error, 3), (.warning, 4), (.notice, 5), (.info, 6), (.debug, 7), (.trace, 7),
        ]
        for (level, priority) in expected {
            #expect(DaemonLogHandler.syslogPriority(level) == priority, "\(level)")
        }
    }

    @Test func journalLinesArePrefixedLineByLineAndOtherLinesAreNot() {
        #expect(DaemonLogHandler.terminated("warning mmcd: x", level: .warning, journal: true) == "<4>warning mmcd: x\n")
        #expect(
            DaemonLogHandler.terminated("mmcd: invalid configuration f:\nwindow.size = -3", level: .error, journal: true)
                == "<3>mmcd: invalid configuration f:\n<3>window.size = -3\n")
        #expect(DaemonLogHandler.terminated("a\nb", level: .error, journal: false) == "a\nb\n")
    }

    @Test func textLinesInTheJournalLeaveTheTimeToIt() {
        let text = DaemonLogHandler.render(
            format: .text, time: nil, level: .info, label: "mmcd", message: "ready", metadata: ["window.size": "0"])
        #expect(text == "info mmcd: ready window.size=0")
        let json = DaemonLogHandler.render(
            format: .json, time: nil, level: .info, label: "mmcd", message: "ready", metadata: [:])
        #expect(json == #"{"level":"info","label":"mmcd","message":"ready"}"#)
    }

    /// `$JOURNAL_STREAM` names the stream by device and inode: it must be the very file the
    /// descriptor is, not merely present.
    @Test func theJournalIsRecognizedByDeviceAndInode() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let stream = open(directory.appendingPathComponent("stream").path, O_CREAT | O_WRONLY, 0o600)
        let other = open(directory.appendingPathComponent("other").path, O_CREAT | O_WRONLY, 0o600)
        defer {
            close(stream)
            close(other)
        }
        #expect(stream >= 0 && other >= 0)
        var status = stat()
        #expect(fstat(stream, &status) == 0)
        let variable = ["JOURNAL_STREAM": "\(status.st_dev):\(status.st_ino)"]

        #expect(DaemonLogHandler.isJournalStream(fileDescriptor: stream, environment: variable))
        #expect(!DaemonLogHandler.isJournalStream(fileDescriptor: other, environment: variable))
        #expect(!DaemonLogHandler.isJournalStream(fileDescriptor: stream, environment: [:]))
        #expect(!DaemonLogHandler.isJournalStream(fileDescriptor: stream, environment: ["JOURNAL_STREAM": "garbage"]))
        #expect(!DaemonLogHandler.isJournalStream(fileDescriptor: -1, environment: variable))
    }
}

/// What the system refuses a dedicated thread costs log lines and counted metrics, never the work.
@Suite(.tags(.unit, .systemd)) struct DedicatedThreadReportTests {
    @Test func everyPriorityDenialIsCountedAndOnlyTheFirstLogged() {
        let registry = PrometheusCollectorRegistry()
        let lines = LineCollector()
        let reports = DedicatedThreadReports(registry: registry, logger: Logger(label: "test") { _ in lines })
        for _ in 0..<3 { reports.priorityDenied(thread: "mmcd.recluster", errno: EPERM) }
        let text = String(decoding: registry.emitToBuffer(), as: UTF8.self)
        #expect(text.contains("mmcd_thread_priority_denied_total 3"))
        #expect(text.contains("mmcd_thread_refused_total 0"))
        #expect(lines.count == 1)
    }

    @Test("a refused thread: the work runs on the pool, counted, logged once a minute")
    func refusedThreadsRunTheWorkAnyway() async {
        let registry = PrometheusCollectorRegistry()
        let lines = LineCollector()
        let reports = DedicatedThreadReports(registry: registry, logger: Logger(label: "test") { _ in lines })
        // A stack larger than the address space: pthread_create must refuse it.
        let impossible = 1 << 50
        for run in 0..<3 {
            let result = await runOnDedicatedThread(
                named: "mmcd.recluster", stackSize: impossible, refused: reports.refused
            ) { run * 10 }
            #expect(result == run * 10)
        }
        let text = String(decoding: registry.emitToBuffer(), as: UTF8.self)
        #expect(text.contains("mmcd_thread_refused_total 3"))
        #expect(lines.count == 1)
        // The same call with a stack the system grants starts a thread and reports nothing.
        #expect(await runOnDedicatedThread(named: "mmcd.recluster", refused: reports.refused) { 7 } == 7)
        #expect(String(decoding: registry.emitToBuffer(), as: UTF8.self).contains("mmcd_thread_refused_total 3"))
    }

    @Test func aRefusedThreadIsAnErrorNamingIt() {
        #expect(throws: ThreadRefused.self) {
            try startDedicatedThread(named: "mmcd.test", stackSize: 1 << 50) { Issue.record("the thread ran") }
        }
        do {
            try startDedicatedThread(named: "mmcd.test", stackSize: 1 << 50) {}
        } catch {
            #expect(error.thread == "mmcd.test")
            #expect(error.code != 0)
            #expect(error.description.hasPrefix("cannot start the thread mmcd.test: "))
        }
    }
}
