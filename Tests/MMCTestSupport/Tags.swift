// Only test builds have Swift Testing: a release build with the static standard library (the
// Debian package's, scripts/package.sh) builds this target too and has no Testing module.
#if canImport(Testing)
public import Testing

extension Tag {
    /// Fast and self-contained: in process, no daemon or child process. The fast set
    /// (`swift test --skip EndToEnd`, `scripts/test.sh --fast`) is these suites.
    @Tag public static var unit: Self
    /// Runs `mmcd` or `mmc` as a real process, or the daemon in the test process, over real
    /// sockets with deadlines of seconds. `swift test` cannot select tags, so these suites also
    /// carry `EndToEnd` in their names.
    @Tag public static var endToEnd: Self
    /// Drives the live page in headless Chromium.
    @Tag public static var browser: Self
    /// Needs systemd's protocols (notification socket, journal, watchdog) or stands in for them.
    @Tag public static var systemd: Self
}
#endif
