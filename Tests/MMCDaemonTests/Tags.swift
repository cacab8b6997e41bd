import Testing

extension Tag {
    /// Runs `mmcd` or `mmc` as a real process over real sockets: the slow suites, which the
    /// README's fast command leaves out by name.
    @Tag static var endToEnd: Self
    /// Drives the live page in headless Chromium.
    @Tag static var browser: Self
}
