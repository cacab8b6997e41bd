internal import Foundation
internal import Hummingbird
internal import HummingbirdCore
internal import MMCConfiguration
internal import NIOCore
internal import NIOHTTPTypes
internal import Synchronization

/// What the HTTP server accepts beyond its routes, from `[http]`: how many connections, how
/// long a connection may wait for its next request head, and which `Host` names it answers.
public struct HTTPLimits: Sendable, Hashable {
    /// The most connections open at once (`http.max_connections`).
    public var maxConnections: Int
    /// How long a connection may go without a complete request head, from its opening or its
    /// last response, before it is closed (`http.idle_timeout_seconds`).
    public var idleTimeout: Duration
    /// Host names answered besides IP literals and `localhost` (`http.allowed_hosts`).
    public var allowedHosts: [String]

    /// Limits; the defaults are those of the configuration.
    public init(maxConnections: Int = 64, idleTimeout: Duration = .seconds(10), allowedHosts: [String] = []) {
        self.maxConnections = maxConnections
        self.idleTimeout = idleTimeout
        self.allowedHosts = allowedHosts
    }
}

/// The open HTTP connections, so that one more than `limit` closes the connection that has
/// waited longest for a request (an idle one): file descriptors stay bounded, and a health
/// check gets in however many idle connections a client holds open. A connection answering a
/// request (an event stream included) is never closed for this; when every one is, the new
/// connection is closed instead. Thread-safe: each connection's handler calls it from its event
/// loop.
final class HTTPConnections: Sendable {
    private struct Entry {
        let channel: any Channel
        /// Whether a request is being answered.
        var busy: Bool
        /// When the connection last became idle (opened, or finished a response).
        var idleSince: ContinuousClock.Instant
    }

    private let limit: Int
    private let entries = Mutex<[ObjectIdentifier: Entry]>([:])

    init(limit: Int) {
        self.limit = limit
    }

    /// Registers a new connection; closes one if there are more than `limit`.
    func opened(_ channel: any Channel) {
        let key = ObjectIdentifier(channel)
        let victim: (any Channel)? = entries.withLock { entries in
            entries[key] = Entry(channel: channel, busy: false, idleSince: .now)
            guard entries.count > limit else { return nil }
            let idle = entries.filter { !$0.value.busy && $0.key != key }
            let oldest = idle.min { $0.value.idleSince < $1.value.idleSince }?.key ?? key
            return entries.removeValue(forKey: oldest)?.channel
        }
        victim?.close(promise: nil)
    }

    /// Forgets a closed connection.
    func closed(_ channel: any Channel) {
        _ = entries.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// A request head arrived (`busy`), or a response ended.
    func mark(_ channel: any Channel, busy: Bool) {
        entries.withLock { entries in
            entries[ObjectIdentifier(channel)]?.busy = busy
            if !busy { entries[ObjectIdentifier(channel)]?.idleSince = .now }
        }
    }

    /// The number of connections open.
    var count: Int { entries.withLock { $0.count } }
}

/// Reports a connection's life to ``HTTPConnections``: in the pipeline of every HTTP connection,
/// after the HTTP decoder.
final class HTTPConnectionTracker: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let connections: HTTPConnections

    init(connections: HTTPConnections) {
        self.connections = connections
    }

    func handlerAdded(context: ChannelHandlerContext) {
        connections.opened(context.channel)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        connections.closed(context.channel)
    }

    func channelInactive(context: ChannelHandlerContext) {
        connections.closed(context.channel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) { connections.mark(context.channel, busy: true) }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { connections.mark(context.channel, busy: false) }
        context.write(data, promise: promise)
    }
}

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
