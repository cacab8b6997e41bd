internal import Glibc
internal import Hummingbird
internal import NIOCore

/// Answers only requests whose `Host` names this server: an IP literal, `localhost`, the
/// configured `http.address`, or a name in `http.allowed_hosts` (any port, any case). Any other
/// name gets 421 Misdirected Request.
///
/// This stops DNS rebinding: a web page on a name its owner controls points that name at
/// 127.0.0.1, and the browser then lets the page read this server's answers as its own. The
/// browser still sends the page's name as `Host`, which is not on the list. IP literals are
/// safe to answer: a page cannot make a browser send another origin's address as `Host`.
struct HostCheckMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Lowercased names answered, besides IP literals.
    let names: Set<String>

    init(address: String, allowedHosts: [String]) {
        names = Set((["localhost", address] + allowedHosts).map { $0.lowercased() })
    }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        if let authority = request.head.authority, !accepts(authority: authority) {
            return Response(
                status: .misdirectedRequest, headers: [.contentType: "text/plain; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: "unknown Host; see http.allowed_hosts\n")))
        }
        return try await next(request, context)
    }

    /// Whether `authority` (`host[:port]`, `[v6]:port`) names this server.
    func accepts(authority: String) -> Bool {
        var host = Substring(authority.lowercased())
        if host.hasPrefix("[") {
            guard let end = host.firstIndex(of: "]") else { return false }
            var address = in6_addr()
            return inet_pton(AF_INET6, String(host[host.index(after: host.startIndex)..<end]), &address) == 1
        }
        if let colon = host.lastIndex(of: ":") { host = host[..<colon] }
        if host.hasSuffix(".") { host = host.dropLast() }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        if octets.count == 4, octets.allSatisfy({ UInt8($0) != nil }) { return true }
        return names.contains(String(host))
    }
}
