internal import FoundationEssentials
internal import Glibc

/// Tells systemd what the service is doing: the `sd_notify(3)` protocol, without libsystemd.
///
/// systemd passes the address of a datagram socket in `$NOTIFY_SOCKET` (a path, or an abstract
/// name written with a leading `@`). Every notification is one datagram of newline-separated
/// `KEY=VALUE` assignments sent to it. When the variable is unset (the daemon runs outside
/// systemd, or the unit is not `Type=notify`) every method does nothing.
///
/// The watchdog: with `WatchdogSec=` set, systemd passes `$WATCHDOG_USEC` (and `$WATCHDOG_PID`,
/// which must be this process for the watchdog to apply to it); the main loop sends
/// ``watchdog()`` every ``watchdogPingInterval``, well within the timeout.
///
/// ```swift
/// let notifier = SystemdNotifier()
/// try notifier.ready(status: "window 0 points, waiting for data")
/// if let interval = notifier.watchdogPingInterval {
///     // every `interval`: try notifier.watchdog()
/// }
/// ```
public struct SystemdNotifier: Sendable {
    /// The notification socket from `$NOTIFY_SOCKET`, or `nil` when notifications are off.
    public let socketAddress: String?
    /// The watchdog timeout from `$WATCHDOG_USEC`, or `nil` when the watchdog is off or meant
    /// for another process (`$WATCHDOG_PID`).
    public let watchdogTimeout: Duration?

    /// Reads `$NOTIFY_SOCKET`, `$WATCHDOG_USEC` and `$WATCHDOG_PID` of this process.
    public init() {
        self.init(environment: ProcessInfo.processInfo.environment, processID: getpid())
    }

    /// Reads the notify variables from `environment`, checking `WATCHDOG_PID` against
    /// `processID`.
    public init(environment: [String: String], processID: Int32) {
        socketAddress = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        let watchdogFor = environment["WATCHDOG_PID"].map { Int32($0) }
        if let microseconds = environment["WATCHDOG_USEC"].flatMap({ UInt64($0) }), microseconds > 0,
            watchdogFor == nil || watchdogFor == processID
        {
            watchdogTimeout = .microseconds(microseconds)
        } else {
            watchdogTimeout = nil
        }
    }

    /// Whether notifications are sent (`$NOTIFY_SOCKET` is set).
    public var isEnabled: Bool { socketAddress != nil }

    /// How often to send ``watchdog()``: a third of the timeout, so one late ping is not fatal.
    public var watchdogPingInterval: Duration? { watchdogTimeout.map { $0 / 3 } }

    /// `READY=1`: configuration valid, sockets bound, service up (also after a reload).
    public func ready(status: String? = nil) throws(SystemdNotifierError) {
        try notify(["READY=1"] + statusLine(status))
    }

    /// `RELOADING=1` with `MONOTONIC_USEC=` (the `CLOCK_MONOTONIC` time, as systemd requires);
    /// follow with ``ready(status:)`` when the reload is done.
    public func reloading(status: String? = nil) throws(SystemdNotifierError) {
        try notify(["RELOADING=1", "MONOTONIC_USEC=\(Self.monotonicMicroseconds())"] + statusLine(status))
    }

    /// `STOPPING=1`: shutdown has begun.
    public func stopping(status: String? = nil) throws(SystemdNotifierError) {
        try notify(["STOPPING=1"] + statusLine(status))
    }

    /// `STATUS=`: a line people read in `systemctl status`. Newlines become spaces.
    public func status(_ text: String) throws(SystemdNotifierError) {
        try notify(statusLine(text))
    }

    /// `WATCHDOG=1`: the main loop is alive.
    public func watchdog() throws(SystemdNotifierError) {
        try notify(["WATCHDOG=1"])
    }

    /// `EXTEND_TIMEOUT_USEC=`: the current start, reload or stop step needs `usec` more
    /// microseconds (a slow snapshot restore or write).
    public func extendTimeout(usec: UInt64) throws(SystemdNotifierError) {
        try notify(["EXTEND_TIMEOUT_USEC=\(usec)"])
    }

    /// Sends `assignments` (`KEY=VALUE` each) as one datagram; does nothing when notifications
    /// are off.
    ///
    /// - Throws: ``SystemdNotifierError`` when `$NOTIFY_SOCKET` is not a usable address or the
    ///   datagram cannot be sent. Callers usually log it and carry on.
    public func notify(_ assignments: [String]) throws(SystemdNotifierError) {
        guard let socketAddress else { return }
        var address = try Self.unixAddress(socketAddress)
        let descriptor = socket(AF_UNIX, Self.datagramType, 0)
        guard descriptor >= 0 else {
            throw SystemdNotifierError(.socketFailed, errno: errno, "cannot create a datagram socket")
        }
        defer { close(descriptor) }
        let message = Array(assignments.joined(separator: "\n").utf8)
        var sent: Int
        repeat {
            sent = message.withUnsafeBytes { bytes in
                withUnsafePointer(to: &address.storage) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(descriptor, bytes.baseAddress, bytes.count, Self.noSignal, $0, address.length)
                    }
                }
            }
        } while sent < 0 && errno == EINTR
        guard sent == message.count else {
            throw SystemdNotifierError(.sendFailed, errno: sent < 0 ? errno : nil, "cannot notify \(socketAddress)")
        }
    }

    private func statusLine(_ status: String?) -> [String] {
        guard let status else { return [] }
        return ["STATUS=" + String(status.map { $0.isNewline ? " " : $0 })]
    }

    /// `CLOCK_MONOTONIC` in microseconds.
    static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
    }

    private static let datagramType = Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
    private static let noSignal = Int32(MSG_NOSIGNAL)

    /// A `sockaddr_un` and its length: a path, or an abstract name for a leading `@`.
    private static func unixAddress(_ text: String) throws(SystemdNotifierError) -> (storage: sockaddr_un, length: socklen_t) {
        var storage = sockaddr_un()
        storage.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(text.utf8)
        let capacity = MemoryLayout.size(ofValue: storage.sun_path)
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract {
            bytes[0] = 0
        } else {
            guard bytes.first == UInt8(ascii: "/") else {
                throw SystemdNotifierError(
                    .invalidAddress, errno: nil, "NOTIFY_SOCKET=\(text) is neither an absolute path nor an @name")
            }
            bytes.append(0)
        }
        guard bytes.count > 1, bytes.count <= capacity else {
            throw SystemdNotifierError(
                .invalidAddress, errno: nil, "NOTIFY_SOCKET=\(text) does not fit a Unix socket address")
        }
        withUnsafeMutableBytes(of: &storage.sun_path) { $0.copyBytes(from: bytes) }
        let offset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path) ?? 2
        return (storage, socklen_t(offset + bytes.count))
    }
}

/// A notification that could not be sent.
public struct SystemdNotifierError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What failed.
    public enum Code: Sendable, Hashable {
        /// `$NOTIFY_SOCKET` is not an absolute path or `@name` that fits `sockaddr_un`.
        case invalidAddress
        /// `socket(2)` failed.
        case socketFailed
        /// `sendto(2)` failed or sent part of the datagram (no listener, queue full).
        case sendFailed
    }

    /// What failed.
    public let code: Code
    /// The `errno` of the failed call, when there was one.
    public let errno: Int32?
    /// A readable sentence, including `strerror(errno)`.
    public let description: String

    init(_ code: Code, errno: Int32?, _ message: String) {
        self.code = code
        self.errno = errno
        self.description = errno.map { "\(message): \(String(cString: strerror($0)))" } ?? message
    }
}
