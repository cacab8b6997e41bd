import Synchronization

/// A ZAP handler (ZeroMQ RFC 27) that admits CURVE clients whose public key is on an
/// allow-list and refuses every other client.
///
/// libzmq asks the handler bound at `inproc://zeromq.zap.01` in a socket's context about each
/// handshake of a CURVE server socket (and of any socket with a
/// ``ZMQSocketOption/zapDomain(_:)``). This one answers on its own thread: status 200 when
/// the mechanism is CURVE and the client's key is listed, 400 otherwise (including the NULL
/// and PLAIN mechanisms), 500 for a request that does not follow RFC 27. The accepted
/// client's key is its user id, in Z85. The list can be replaced at any time, for example on
/// `SIGHUP`; it applies to handshakes from then on.
///
/// ```swift
/// let authenticator = try ZAPAuthenticator(context: context, allowedKeys: [client.publicKey])
/// try server.set(.curveServer(true))
/// try server.set(.curveSecretKey(serverKeys.secretKey))
/// try server.set(.zapDomain("mmcd"))
/// ```
///
/// There is one handler per context. It runs until ``stop()`` or ``ZMQContext/shutdown()``,
/// even after this object is released: once it stops, libzmq asks no one and admits every
/// CURVE client that knows the server key, so it must never end by accident. Stop it only
/// together with the sockets it guards.
public final class ZAPAuthenticator: Sendable {
    /// The endpoint libzmq sends ZAP requests to (RFC 27).
    public static let endpoint = "inproc://zeromq.zap.01"

    private let policy: ZAPPolicy
    private let state = SocketThreadState()

    /// Binds the handler in `context` and starts its thread.
    ///
    /// - Parameters:
    ///   - context: The context whose sockets it authenticates.
    ///   - allowedKeys: The CURVE public keys of the clients to admit.
    ///   - pollIntervalMilliseconds: The longest the thread waits before checking for
    ///     ``stop()``.
    ///   - observer: Told of every decision, on the handler's thread, before the reply leaves
    ///     (so it must be quick): for metrics and logs.
    /// - Throws: ``ZMQError`` (`EADDRINUSE` when the context already has a ZAP handler,
    ///   `ETERM` after ``ZMQContext/shutdown()``).
    public init(
        context: ZMQContext, allowedKeys: Set<CurveKey>, pollIntervalMilliseconds: Int = 100,
        observer: (@Sendable (ZAPDecision) -> Void)? = nil
    ) throws(ZMQError) {
        precondition(pollIntervalMilliseconds > 0, "pollIntervalMilliseconds must be positive")
        let socket = try ZMQSocket(context: context, type: .rep)
        try socket.set(.linger(milliseconds: 0))
        try socket.set(.receiveTimeout(milliseconds: pollIntervalMilliseconds))
        try socket.bind(Self.endpoint)
        policy = ZAPPolicy(allowedKeys: allowedKeys, observer: observer)
        try startSocketThread(named: "zeromq.zap", handing: socket) { [policy, state] socket in
            Self.serve(socket: socket, policy: policy, state: state)
        }
    }

    /// The keys admitted now.
    public var allowedKeys: Set<CurveKey> {
        policy.allowedKeys.withLock { $0 }
    }

    /// Replaces the allow-list; handshakes from now on are judged by `keys`. Connections
    /// already admitted stay open.
    public func replaceAllowedKeys(_ keys: Set<CurveKey>) {
        policy.allowedKeys.withLock { $0 = keys }
    }

    /// Handshakes admitted so far.
    public var accepted: Int {
        policy.accepted.load(ordering: .relaxed)
    }

    /// Handshakes refused so far (unknown key, other mechanism, or malformed request).
    public var refused: Int {
        policy.refused.load(ordering: .relaxed)
    }

    /// The error that ended the handler, if one did; `nil` while it runs and after
    /// ``stop()`` or a context shutdown.
    public var failure: ZMQError? {
        state.failure
    }

    /// Asks the handler to end; it does within the poll interval, closing its socket.
    public func stop() {
        state.requestStop()
    }

    /// Answers ZAP requests until stopped or shut down, then closes the socket.
    private static func serve(socket: ZMQSocket, policy: ZAPPolicy, state: SocketThreadState) {
        defer { socket.close() }
        do {
            while !state.stopRequested {
                if let request = try socket.receive() {
                    try socket.send(policy.reply(to: request))
                }
            }
        } catch {
            state.end(with: error)
        }
    }
}

/// One decision of a ``ZAPAuthenticator``.
public enum ZAPDecision: Sendable, Hashable {
    /// Why a handshake was refused.
    public enum Refusal: String, Sendable, Hashable, CaseIterable {
        /// A CURVE client whose public key is not on the allow-list.
        case unknownKey = "unknown_key"
        /// A client of another mechanism (NULL, PLAIN) on a socket with a ZAP domain.
        case mechanism
        /// A request that does not follow RFC 27.
        case malformed
    }

    /// The client with this key was admitted.
    case accepted(CurveKey)
    /// The client was refused; `key` is its CURVE public key when it sent one.
    case refused(Refusal, key: CurveKey?, address: String)
}

/// The allow-list and counters, shared by the handler thread and its owner.
private final class ZAPPolicy: Sendable {
    static let version = Array("1.0".utf8)
    static let curve = Array("CURVE".utf8)

    let allowedKeys: Mutex<Set<CurveKey>>
    let accepted = Atomic<Int>(0)
    let refused = Atomic<Int>(0)
    let observer: (@Sendable (ZAPDecision) -> Void)?

    init(allowedKeys: Set<CurveKey>, observer: (@Sendable (ZAPDecision) -> Void)?) {
        self.allowedKeys = Mutex(allowedKeys)
        self.observer = observer
    }

    /// The RFC 27 reply to `request`, counting the decision.
    ///
    /// A request is: version, request id, domain, address, routing id, mechanism, then the
    /// mechanism's credentials (for CURVE, one frame: the client's 32-byte public key). A
    /// reply is: version, the same request id, status code, status text, user id, metadata.
    func reply(to request: ZMQMessage) -> ZMQMessage {
        let frames = request.frames
        let requestID = frames.count > 1 ? frames[1] : []
        func answer(_ status: String, _ text: String, userID: String = "") -> ZMQMessage {
            ZMQMessage([Self.version, requestID, Array(status.utf8), Array(text.utf8), Array(userID.utf8), []])
        }
        let address = frames.count > 3 ? String(decoding: frames[3], as: UTF8.self) : ""
        func refuse(_ refusal: ZAPDecision.Refusal, key: CurveKey?, _ status: String, _ text: String) -> ZMQMessage {
            refused.add(1, ordering: .relaxed)
            observer?(.refused(refusal, key: key, address: address))
            return answer(status, text)
        }
        guard frames.count >= 6, frames[0] == Self.version else {
            return refuse(.malformed, key: nil, "500", "Malformed ZAP request")
        }
        guard frames[5] == Self.curve, frames.count == 7, let key = try? CurveKey(bytes: frames[6]) else {
            return refuse(.mechanism, key: nil, "400", "Only CURVE clients are admitted")
        }
        guard allowedKeys.withLock({ $0.contains(key) }) else {
            return refuse(.unknownKey, key: key, "400", "Unknown client key")
        }
        accepted.add(1, ordering: .relaxed)
        observer?(.accepted(key))
        return answer("200", "OK", userID: key.z85)
    }
}
