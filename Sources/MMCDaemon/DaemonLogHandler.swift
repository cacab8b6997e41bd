internal import Foundation
public import Logging
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
/// Bootstrap it once, in the executable:
///
/// ```swift
/// let level = DaemonLogLevel(configuration.log.level)
/// LoggingSystem.bootstrap { label in DaemonLogHandler(label: label, format: .text, level: level) }
/// ```
public struct DaemonLogHandler: LogHandler {
    /// The logger's label, printed on every line.
    public let label: String
    /// Text or JSON lines.
    public let format: DaemonConfiguration.LogFormat
    /// Metadata attached to every message of this handler.
    public var metadata: Logger.Metadata = [:]
    private let sharedLevel: DaemonLogLevel
    /// A level set on this handler alone (through `Logger.logLevel`), overriding the shared one.
    private var ownLevel: Logger.Level?

    /// A handler for `label` following the shared `level`.
    public init(label: String, format: DaemonConfiguration.LogFormat, level: DaemonLogLevel) {
        self.label = label
        self.format = format
        self.sharedLevel = level
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
            format: format, time: Date(), level: event.level, label: label, message: "\(event.message)",
            metadata: merged)
        // One write per line, so lines of concurrent loggers never interleave.
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// One log line without its newline; metadata keys sorted so lines are stable.
    static func render(
        format: DaemonConfiguration.LogFormat, time: Date, level: Logger.Level, label: String, message: String,
        metadata: Logger.Metadata
    ) -> String {
        let stamp = timestampFormatter.withLock { $0.string(from: time) }
        let keys = metadata.keys.sorted()
        switch format {
        case .text:
            var line = "\(stamp) \(level.rawValue) \(label): \(message)"
            for key in keys {
                line += " \(key)=\(quotedIfNeeded(describe(metadata[key]!)))"
            }
            return line
        case .json:
            var line = "{\"time\":\(jsonString(stamp)),\"level\":\(jsonString(level.rawValue)),"
            line += "\"label\":\(jsonString(label)),\"message\":\(jsonString(message))"
            for key in keys where !["time", "level", "label", "message"].contains(key) {
                line += ",\(jsonString(key)):\(jsonString(describe(metadata[key]!)))"
            }
            return line + "}"
        }
    }

    private static let timestampFormatter: Mutex<ISO8601DateFormatter> = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return Mutex(formatter)
    }()

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
