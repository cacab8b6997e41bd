import Foundation
// `stat` and `timespec` come from Glibc or, depending on which module the compiler loads first,
// from CDispatch (through Foundation); MemberImportVisibility needs the one it picked imported.
import CDispatch
import Glibc
import MMCDaemon
import MMCTestSupport
import Testing

/// A datagram socket standing in for systemd's notification socket.
final class NotifySocket {
    let address: String
    let descriptor: Int32
    private let directory: TemporaryDirectory?

    /// Binds a socket file in a fresh temporary directory, or an abstract name (`@...`).
    init(abstract: Bool) throws {
        let unique = UUID().uuidString.prefix(12)
        if abstract {
            directory = nil
            address = "@mmcd-test-\(unique)"
        } else {
            let directory = try TemporaryDirectory(prefix: "mmcd-notify")
            self.directory = directory
            address = directory.file("notify.sock")
        }
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var storage = sockaddr_un()
        storage.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(address.utf8)
        if abstract { bytes[0] = 0 }
        withUnsafeMutableBytes(of: &storage.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)! + bytes.count)
        let result = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        #expect(result == 0, "bind \(address): errno \(errno)")
    }

    deinit {
        close(descriptor)
    }

    /// The next datagram as text, or `nil` after the 5 s timeout.
    func receive() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        return count < 0 ? nil : String(decoding: buffer[..<count], as: UTF8.self)
    }

    var notifier: SystemdNotifier {
        SystemdNotifier(environment: ["NOTIFY_SOCKET": address], processID: getpid())
    }
}

@Suite(.tags(.unit, .systemd)) struct SystemdNotifierTests {
    @Test(arguments: [false, true])
    func sendsTheExactMessages(abstract: Bool) throws {
        let listener = try NotifySocket(abstract: abstract)
        let notifier = listener.notifier
        #expect(notifier.isEnabled)

        try notifier.ready()
        #expect(listener.receive() == "READY=1")
        try notifier.ready(status: "window 0 points\nwaiting")
        #expect(listener.receive() == "READY=1\nSTATUS=window 0 points waiting")
        try notifier.status("window 5000 points, 3 clusters")
        #expect(listener.receive() == "STATUS=window 5000 points, 3 clusters")
        try notifier.watchdog()
        #expect(listener.receive() == "WATCHDOG=1")
        try notifier.extendTimeout(usec: 5_000_000)
        #expect(listener.receive() == "EXTEND_TIMEOUT_USEC=5000000")
        try notifier.stopping()
        #expect(listener.receive() == "STOPPING=1")
        try notifier.notify(["STATUS=a", "ERRNO=5"])
        #expect(listener.receive() == "STATUS=a\nERRNO=5")
    }

    @Test func reloadingCarriesTheMonotonicClock() throws {
        let listener = try NotifySocket(abstract: false)
        var before = timespec()
        clock_gettime(CLOCK_MONOTONIC, &before)
        try listener.notifier.reloading(status: "reloading /etc/mmcd/mmcd.toml")
        var after = timespec()
        clock_gettime(CLOCK_MONOTONIC, &after)

        let lines = try #require(listener.receive()).split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines[0] == "RELOADING=1")
        #expect(lines[2] == "STATUS=reloading /etc/mmcd/mmcd.toml")
        let value = try #require(lines[1].split(separator: "=").last.flatMap { UInt64($0) })
        #expect(lines[1].hasPrefix("MONOTONIC_USEC="))
        let microseconds = { (time: timespec) in UInt64(time.tv_sec) * 1_000_000 + UInt64(time.tv_nsec) / 1_000 }
        #expect(microseconds(before) <= value && value <= microseconds(after))
    }

    @Test func doesNothingWithoutNotifySocket() throws {
        let notifier = SystemdNotifier(environment: [:], processID: getpid())
        #expect(!notifier.isEnabled)
        #expect(notifier.watchdogTimeout == nil)
        try notifier.ready()
        try notifier.watchdog()
        try notifier.stopping()
        #expect(!SystemdNotifier(environment: ["NOTIFY_SOCKET": ""], processID: 1).isEnabled)
    }

    @Test func watchdogIntervalFromTheEnvironment() {
        let pid = getpid()
        let enabled = SystemdNotifier(environment: ["WATCHDOG_USEC": "30000000"], processID: pid)
        #expect(enabled.watchdogTimeout == .seconds(30))
        #expect(enabled.watchdogPingInterval == .seconds(10))
        let ours = SystemdNotifier(environment: ["WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "\(pid)"], processID: pid)
        #expect(ours.watchdogTimeout == .seconds(3))
        let theirs = SystemdNotifier(
            environment: ["WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "\(pid + 1)"], processID: pid)
        #expect(theirs.watchdogTimeout == nil)
        #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": "0"], processID: pid).watchdogTimeout == nil)
        #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": "soon"], processID: pid).watchdogTimeout == nil)
        #expect(
            SystemdNotifier(environment: ["WATCHDOG_USEC": "1", "WATCHDOG_PID": "x"], processID: pid).watchdogTimeout
                == nil)
    }

    @Test func badAddressesAndMissingListenersThrow() {
        let relative = SystemdNotifier(environment: ["NOTIFY_SOCKET": "run/notify"], processID: getpid())
        #expect(throws: SystemdNotifierError.self) { try relative.ready() }
        do {
            try relative.ready()
        } catch {
            #expect(error.code == .invalidAddress)
        }
        let long = SystemdNotifier(
            environment: ["NOTIFY_SOCKET": "/" + String(repeating: "x", count: 200)], processID: getpid())
        do {
            try long.ready()
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .invalidAddress)
        }
        let absent = SystemdNotifier(
            environment: ["NOTIFY_SOCKET": "/nonexistent-\(UUID().uuidString)/notify"], processID: getpid())
        do {
            try absent.watchdog()
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .sendFailed)
            #expect(error.errno == ENOENT)
        }
    }
}
