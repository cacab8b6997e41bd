import CZeroMQ

/// A socket option with a typed value, for ``ZMQSocket/set(_:)``.
///
/// Times are in milliseconds as libzmq takes them; where noted, -1 means "no limit". Set
/// high-water marks, CURVE keys and ``immediate(_:)`` before binding or connecting.
///
/// ```swift
/// try socket.set(.receiveHighWaterMark(100_000))
/// try socket.set(.curveServerKey(try CurveKey(z85: serverPublicKey)))
/// ```
public enum ZMQSocketOption: Sendable, Hashable {
    /// Messages queued per peer before sending drops (`PUB`) or blocks (`PUSH`)
    /// (`ZMQ_SNDHWM`; 0 means no limit).
    case sendHighWaterMark(Int)
    /// Messages queued per peer on the receiving side (`ZMQ_RCVHWM`; 0 means no limit).
    case receiveHighWaterMark(Int)
    /// How long ``ZMQSocket/close()`` keeps unsent messages (`ZMQ_LINGER`; -1 waits forever).
    case linger(milliseconds: Int)
    /// How long a blocking receive waits before reporting "nothing" (`ZMQ_RCVTIMEO`; -1 waits
    /// forever).
    case receiveTimeout(milliseconds: Int)
    /// How long a blocking send waits before reporting "would block" (`ZMQ_SNDTIMEO`; -1
    /// waits forever).
    case sendTimeout(milliseconds: Int)
    /// `SUB`: receive messages whose first frame starts with these bytes; empty subscribes to
    /// everything (`ZMQ_SUBSCRIBE`).
    case subscribe([UInt8])
    /// `SUB`: remove one earlier ``subscribe(_:)`` of the same prefix (`ZMQ_UNSUBSCRIBE`).
    case unsubscribe([UInt8])
    /// `XPUB`: pass every subscription message up, not only the first per topic, so each late
    /// subscriber can be answered (`ZMQ_XPUB_VERBOSE`).
    case xpubVerbose(Bool)
    /// Send a ZMTP heartbeat this often (`ZMQ_HEARTBEAT_IVL`; 0 disables).
    case heartbeatInterval(milliseconds: Int)
    /// Ask the peer to drop the connection after this long without traffic
    /// (`ZMQ_HEARTBEAT_TTL`, whole deciseconds).
    case heartbeatTTL(milliseconds: Int)
    /// Drop the connection when no traffic answers a heartbeat within this time
    /// (`ZMQ_HEARTBEAT_TIMEOUT`).
    case heartbeatTimeout(milliseconds: Int)
    /// Act as the CURVE server: needs ``curveSecretKey(_:)`` (`ZMQ_CURVE_SERVER`).
    case curveServer(Bool)
    /// A CURVE client's own public key (`ZMQ_CURVE_PUBLICKEY`).
    case curvePublicKey(CurveKey)
    /// This socket's CURVE secret key, for a server or a client (`ZMQ_CURVE_SECRETKEY`).
    case curveSecretKey(CurveKey)
    /// A CURVE client's copy of the server's public key (`ZMQ_CURVE_SERVERKEY`).
    case curveServerKey(CurveKey)
    /// Route this socket's handshakes through the ZAP handler of its context under this
    /// domain (`ZMQ_ZAP_DOMAIN`); see ``ZAPAuthenticator``.
    case zapDomain(String)
    /// Queue messages only to completed connections, so nothing waits for a peer that never
    /// comes (`ZMQ_IMMEDIATE`).
    case immediate(Bool)
    /// A `ROUTER` reports a message it cannot route instead of dropping it silently: `EAGAIN`
    /// when the peer's queue is at the high-water mark, `EHOSTUNREACH` when the peer is gone
    /// (`ZMQ_ROUTER_MANDATORY`).
    case routerMandatory(Bool)
    /// Disconnect a peer that sends a message larger than this many bytes
    /// (`ZMQ_MAXMSGSIZE`; -1 means no limit).
    case maxMessageSize(Int)
    /// Let TCP endpoints be IPv6 addresses (`ZMQ_IPV6`); off, libzmq refuses them with
    /// `ENODEV`. An IPv6 wildcard (`tcp://[::]:port`) then accepts IPv4 peers too.
    case ipv6(Bool)
    /// Turn TCP keepalive on (`ZMQ_TCP_KEEPALIVE`): the kernel probes an idle connection and
    /// closes it when the peer is gone. Unlike ZMTP heartbeats it needs no reading by libzmq, so
    /// it does not close a live connection whose receiver is behind.
    case tcpKeepalive(Bool)
    /// Seconds a connection is idle before the first keepalive probe (`ZMQ_TCP_KEEPALIVE_IDLE`).
    case tcpKeepaliveIdle(seconds: Int)
    /// Seconds between keepalive probes (`ZMQ_TCP_KEEPALIVE_INTVL`).
    case tcpKeepaliveInterval(seconds: Int)
    /// Unanswered probes before the connection is closed (`ZMQ_TCP_KEEPALIVE_CNT`).
    case tcpKeepaliveCount(Int)

    /// What `zmq_setsockopt` is given for this option.
    fileprivate enum Value {
        case int32(Int32)
        case int64(Int64)
        case bytes([UInt8])
    }

    /// The libzmq option name (for messages), number and value.
    ///
    /// - Throws: ``ZMQError`` with `EINVAL` when an integer does not fit libzmq's `int`.
    fileprivate func encoded() throws(ZMQError) -> (name: String, option: Int32, value: Value) {
        func int(_ name: String, _ option: Int32, _ value: Int) throws(ZMQError) -> (String, Int32, Value) {
            guard let value = Int32(exactly: value) else {
                throw ZMQError(code: EINVAL, operation: "set \(name) \(value)")
            }
            return (name, option, .int32(value))
        }
        func bool(_ name: String, _ option: Int32, _ value: Bool) -> (String, Int32, Value) {
            (name, option, .int32(value ? 1 : 0))
        }
        switch self {
        case .sendHighWaterMark(let count): return try int("ZMQ_SNDHWM", ZMQ_SNDHWM, count)
        case .receiveHighWaterMark(let count): return try int("ZMQ_RCVHWM", ZMQ_RCVHWM, count)
        case .linger(let time): return try int("ZMQ_LINGER", ZMQ_LINGER, time)
        case .receiveTimeout(let time): return try int("ZMQ_RCVTIMEO", ZMQ_RCVTIMEO, time)
        case .sendTimeout(let time): return try int("ZMQ_SNDTIMEO", ZMQ_SNDTIMEO, time)
        case .subscribe(let prefix): return ("ZMQ_SUBSCRIBE", ZMQ_SUBSCRIBE, .bytes(prefix))
        case .unsubscribe(let prefix): return ("ZMQ_UNSUBSCRIBE", ZMQ_UNSUBSCRIBE, .bytes(prefix))
        case .xpubVerbose(let on): return bool("ZMQ_XPUB_VERBOSE", ZMQ_XPUB_VERBOSE, on)
        case .heartbeatInterval(let time): return try int("ZMQ_HEARTBEAT_IVL", ZMQ_HEARTBEAT_IVL, time)
        case .heartbeatTTL(let time): return try int("ZMQ_HEARTBEAT_TTL", ZMQ_HEARTBEAT_TTL, time)
        case .heartbeatTimeout(let time): return try int("ZMQ_HEARTBEAT_TIMEOUT", ZMQ_HEARTBEAT_TIMEOUT, time)
        case .curveServer(let on): return bool("ZMQ_CURVE_SERVER", ZMQ_CURVE_SERVER, on)
        case .curvePublicKey(let key): return ("ZMQ_CURVE_PUBLICKEY", ZMQ_CURVE_PUBLICKEY, .bytes(key.bytes))
        case .curveSecretKey(let key): return ("ZMQ_CURVE_SECRETKEY", ZMQ_CURVE_SECRETKEY, .bytes(key.bytes))
        case .curveServerKey(let key): return ("ZMQ_CURVE_SERVERKEY", ZMQ_CURVE_SERVERKEY, .bytes(key.bytes))
        case .zapDomain(let domain): return ("ZMQ_ZAP_DOMAIN", ZMQ_ZAP_DOMAIN, .bytes(Array(domain.utf8)))
        case .immediate(let on): return bool("ZMQ_IMMEDIATE", ZMQ_IMMEDIATE, on)
        case .routerMandatory(let on): return bool("ZMQ_ROUTER_MANDATORY", ZMQ_ROUTER_MANDATORY, on)
        case .maxMessageSize(let size): return ("ZMQ_MAXMSGSIZE", ZMQ_MAXMSGSIZE, .int64(Int64(size)))
        case .ipv6(let on): return bool("ZMQ_IPV6", ZMQ_IPV6, on)
        case .tcpKeepalive(let on): return bool("ZMQ_TCP_KEEPALIVE", ZMQ_TCP_KEEPALIVE, on)
        case .tcpKeepaliveIdle(let time): return try int("ZMQ_TCP_KEEPALIVE_IDLE", ZMQ_TCP_KEEPALIVE_IDLE, time)
        case .tcpKeepaliveInterval(let time): return try int("ZMQ_TCP_KEEPALIVE_INTVL", ZMQ_TCP_KEEPALIVE_INTVL, time)
        case .tcpKeepaliveCount(let count): return try int("ZMQ_TCP_KEEPALIVE_CNT", ZMQ_TCP_KEEPALIVE_CNT, count)
        }
    }
}

extension ZMQSocket {
    /// Sets one socket option.
    ///
    /// The value goes to `zmq_setsockopt` in the width libzmq expects for that option. Secret
    /// keys never appear in error messages: they name only the option.
    ///
    /// - Throws: ``ZMQError`` (`EINVAL` for a value libzmq rejects or an option the socket
    ///   type does not have, such as ``ZMQSocketOption/subscribe(_:)`` on a `PUB`; `ETERM`).
    public func set(_ option: ZMQSocketOption) throws(ZMQError) {
        let (name, number, value) = try option.encoded()
        let handle = try openHandle(for: "set \(name)")
        _ = try zmqCall("set \(name)") {
            switch value {
            case .int32(var int):
                zmq_setsockopt(handle, number, &int, MemoryLayout<Int32>.size)
            case .int64(var int):
                zmq_setsockopt(handle, number, &int, MemoryLayout<Int64>.size)
            case .bytes(let bytes):
                bytes.withUnsafeBytes { zmq_setsockopt(handle, number, $0.baseAddress, $0.count) }
            }
        }
    }

    /// The endpoint this socket last bound or connected, resolved: after binding
    /// `tcp://127.0.0.1:*` it names the port the system chose (`ZMQ_LAST_ENDPOINT`).
    ///
    /// - Throws: ``ZMQError`` when the socket is closed or the context shut down.
    public var lastEndpoint: String {
        get throws(ZMQError) {
            let handle = try openHandle(for: "get ZMQ_LAST_ENDPOINT")
            var buffer = [CChar](repeating: 0, count: 1024)
            var size = buffer.count
            _ = try zmqCall("get ZMQ_LAST_ENDPOINT") { zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size) }
            // libzmq counts the terminating NUL in `size`.
            return String(decoding: buffer.prefix(max(size - 1, 0)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// What the socket could do right now without blocking: ``ZMQPollEvents/pollIn`` when a
    /// message can be received, ``ZMQPollEvents/pollOut`` when one can be sent
    /// (`ZMQ_EVENTS`).
    ///
    /// - Throws: ``ZMQError`` when the socket is closed or the context shut down.
    public var events: ZMQPollEvents {
        get throws(ZMQError) {
            let handle = try openHandle(for: "get ZMQ_EVENTS")
            var events: Int32 = 0
            var size = MemoryLayout<Int32>.size
            _ = try zmqCall("get ZMQ_EVENTS") { zmq_getsockopt(handle, ZMQ_EVENTS, &events, &size) }
            return ZMQPollEvents(rawValue: Int16(truncatingIfNeeded: events))
        }
    }
}
