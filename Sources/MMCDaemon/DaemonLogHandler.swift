internal import FoundationEssentials
internal import Glibc
public import Logging
public import MMCConfiguration
internal import MMCRuntime
internal import Synchronization

/// The log level every ``DaemonLogHandler`` of a process follows, changeable while it runs
/// (`log.level` is reloaded on `SIGHUP`).
public final class DaemonLogLevel: Sendable {
    private let level: Mutex<Logger.Level>

    /// Starts at `level`.
    public init(_ level: Logger.Level) {
        self.level = Mutex(level)
    }

    /// The level in force.
    public var current: Logger.Level {
        level.withLock { $0 }
    }

    /// Changes the level of every handler that follows this object.
    public func set(_ newLevel: Logger.Level) {
        level.withLock { $0 = newLevel }
    }
}

/// A swift-log handler that writes one line per message to standard error, as text or as a
/// JSON object, with structured metadata.
///
/// Text: `2026-11-26T19:40:00.123Z info mmcd: re-clustered window.size=5000 clusters=3`.
/// JSON: `{"time":"2026-11-26T19:40:00.123Z","level":"info","label":"mmcd","message":"re-clustered","window.size":"5000","clusters":"3"}`.
///
/// When standard error is the systemd journal (``standardErrorIsJournal()``), every
/// line starts with its syslog priority as sd-daemon(3) describes (`<4>` for a warning), so that
/// `journalctl -p warning` selects by level, and text lines leave out the time, which the journal
/// records itself: `<4>warning mmcd: re-clustered ...`.
///
/// Bootstrap it once, in the executable:
///
/// ```swift
/// let level = DaemonLogLevel(configuration.log.level)
/// let journal = DaemonLogHandler.standardErrorIsJournal()
/// LoggingSystem.bootstrap { label in
///     DaemonLogHandler(label: label, format: .text, level: level, journal: journal)
/// }
/// ```
public struct DaemonLogHandler: LogHandler {
    /// The logger's label, printed on every line.
    public let label: String
    /// Text or JSON lines.
    public let format: DaemonConfiguration.LogFormat
    /// Whether lines go to the journal: with priority prefixes, text without the time.
    public let journal: Bool
    /// Metadata attached to every message of this handler.
    public var metadata: Logger.Metadata = [:]
    private let sharedLevel: DaemonLogLevel
    /// A level set on this handler alone (through `Logger.logLevel`), overriding the shared one.
    private var ownLevel: Logger.Level?

    /// A handler for `label` following the shared `level`; `journal` as
    /// ``standardErrorIsJournal()`` tells.
    public init(label: String, format: DaemonConfiguration.LogFormat, level: DaemonLogLevel, journal: Bool = false) {
        self.label = label
        self.format = format
        self.sharedLevel = level
        self.journal = journal
    }

    /// The shared level, unless this handler was given its own.
    public var logLevel: Logger.Level {
        get { ownLevel ?? sharedLevel.current }
        set { ownLevel = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata {
            merged.merge(extra) { _, new in new }
        }
        let line = Self.render(
            format: format, time: journal && format == .text ? nil : Date(), level: event.level, label: label,
            message: "\(event.message)", metadata: merged)
        // One write per line, so lines of concurrent loggers never interleave.
        Self.writeToStandardError(Self.terminated(line, level: event.level, journal: journal))
    }

    /// `text` ready to write: with a newline, and in the journal with the priority of `level`
    /// before each of its lines (the journal splits a stream at newlines).
    static func terminated(_ text: String, level: Logger.Level, journal: Bool) -> String {
        guard journal else { return text + "\n" }
        let prefix = "<\(syslogPriority(level))>"
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { prefix + $0 + "\n" }.joined()
    }

    /// Writes `text` (one or more lines) to standard error, with the priority of `level` when
    /// standard error is the journal: for the messages an executable prints before or without a
    /// logger, such as an invalid configuration.
    public static func writeToStandardError(_ text: String, level: Logger.Level) {
        writeToStandardError(terminated(text, level: level, journal: standardErrorIsJournal()))
    }

    /// Writes `text` to standard error as it is, in one `write` unless the stream takes part of
    /// it, ignoring failures (there is nowhere left to report them).
    public static func writeToStandardError(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }
            offset += written
        }
    }

    /// The syslog priority sd-daemon(3) prefixes stand for: 2 (critical) to 7 (debug; trace too).
    static func syslogPriority(_ level: Logger.Level) -> Int {
        switch level {
        case .critical: 2
        case .error: 3
        case .warning: 4
        case .notice: 5
        case .info: 6
        case .debug, .trace: 7
        }
    }

    /// Whether standard error is connected to the systemd journal.
    ///
    /// systemd sets `$JOURNAL_STREAM` to `DEVICE:INODE` of the stream it connects a service's
    /// output to; comparing it with what standard error is tells a journal stream from a
    /// terminal, a file, or a child that inherited the variable but not the stream.
    public static func standardErrorIsJournal() -> Bool {
        isJournalStream(fileDescriptor: STDERR_FILENO, environment: ProcessInfo.processInfo.environment)
    }

    /// Whether `fileDescriptor` is the stream `$JOURNAL_STREAM` in `environment` names.
    static func isJournalStream(fileDescriptor: Int32, environment: [String: String]) -> Bool {
        guard let value = environment["JOURNAL_STREAM"], let colon = value.firstIndex(of: ":"),
            let device = UInt64(value[..<colon]), let inode = UInt64(value[value.index(after: colon)...])
        else { return false }
        var status = stat()
        guard fstat(fileDescriptor, &status) == 0 else { return false }
        return UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode
    }

    /// One log line without its newline; metadata keys sorted so lines are stable. Without a
    /// `time` (text in the journal) the line starts with the level.
    static func render(
        format: DaemonConfiguration.LogFormat, time: Date?, level: Logger.Level, label: String, message: String,
        metadata: Logger.Metadata
    ) -> String {
        let stamp = time.map(timestamp)
        let keys = metadata.keys.sorted()
        switch format {
        case .text:
            var line = (stamp.map { $0 + " " } ?? "") + "\(level.rawValue) \(label): \(message)"
            for key in keys {
                line += " \(key)=\(quotedIfNeeded(describe(metadata[key]!)))"
            }
            return line
        case .json:
            var line = "{" + (stamp.map { "\"time\":\(jsonString($0))," } ?? "")
            line += "\"level\":\(jsonString(level.rawValue)),"
            line += "\"label\":\(jsonString(label)),\"message\":\(jsonString(message))"
            for key in keys where !["time", "level", "label", "message"].contains(key) {
                line += ",\(jsonString(key)):\(jsonString(describe(metadata[key]!)))"
            }
            return line + "}"
        }
    }

    /// `time` in UTC with milliseconds, `2026-11-26T19:40:00.123Z` (RFC 3339), rounded to the
    /// nearest millisecond as Foundation's `ISO8601DateFormatter` rounds it.
    private static func timestamp(_ time: Date) -> String {
        // The sum and rounding ISO8601DateFormatter does: seconds since 2001 to milliseconds
        // since 1970.
        let milliseconds = Int(((time.timeIntervalSinceReferenceDate + 978_307_200) * 1000 + 0.5).rounded(.down))
        let millisecond = (milliseconds % 1000 + 1000) % 1000
        let dateTime = utcTimestamp(secondsSinceEpoch: (milliseconds - millisecond) / 1000, format: "%Y-%m-%dT%H:%M:%S")
        let fraction = String(millisecond)
        return dateTime + "." + String(repeating: "0", count: 3 - fraction.count) + fraction + "Z"
    }

    private static func describe(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let text): text
        case .stringConvertible(let convertible): convertible.description
        case .array(let items): "[" + items.map(describe).joined(separator: ",") + "]"
        case .dictionary(let entries):
            "{" + entries.keys.sorted().map { "\($0):\(describe(entries[$0]!))" }.joined(separator: ",") + "}"
        }
    }

    /// A text value with spaces, quotes or `=` is quoted, so `key=value` pairs stay parseable.
    private static func quotedIfNeeded(_ text: String) -> String {
        guard text.isEmpty || text.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }) else {
            return text
        }
        return jsonString(text)
    }

    /// A JSON string literal: a TOML basic string escapes `"`, `\` and every control character
    /// with escapes that JSON shares, so it is one.
    static func jsonString(_ text: String) -> String {
        TOMLLiteral.string(text)
    }
}
