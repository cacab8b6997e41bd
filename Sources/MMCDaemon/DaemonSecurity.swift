internal import FoundationEssentials
internal import Logging
internal import MMCConfiguration
internal import Prometheus
internal import ZeroMQ

/// ZeroMQ CURVE for the daemon's sockets, from `[security]`.
///
/// With `curve_secret_key_file` set, every daemon socket is a CURVE server with that key; with
/// `curve_authorized_keys_file` also set, a ZAP handler admits only the listed client public
/// keys (ZAP domain `mmcd`). Without either, sockets use ZeroMQ's NULL mechanism.
///
/// Every decision of the handler is counted (`mmcd_auth_accepted_total`,
/// `mmcd_auth_refused_total{reason}`) and refusals are logged at a limited rate with the
/// client's public key and address. ``reloadAllowList()`` re-reads the allow-list file (on
/// `SIGHUP`); connections already admitted stay open.
struct DaemonSecurity: Sendable {
    /// The ZAP domain the daemon's sockets authenticate under.
    static let zapDomain = "mmcd"

    private let secretKey: CurveKey?
    /// Keeps the ZAP handler's object; the handler itself runs until the context shuts down.
    private let authenticator: ZAPAuthenticator?
    /// The allow-list file ``reloadAllowList()`` reads.
    private let authorizedKeysFile: String

    /// No CURVE.
    static let none = DaemonSecurity(secretKey: nil, authenticator: nil, authorizedKeysFile: "")

    private init(secretKey: CurveKey?, authenticator: ZAPAuthenticator?, authorizedKeysFile: String) {
        self.secretKey = secretKey
        self.authenticator = authenticator
        self.authorizedKeysFile = authorizedKeysFile
    }

    /// Reads the key files of `configuration` and starts the ZAP handler in `zmq` if an
    /// allow-list is given; its decisions go to `context`'s metrics and log.
    ///
    /// - Throws: ``DaemonError`` naming the file and what is wrong with it.
    init(configuration: DaemonConfiguration.Security, zmq: ZMQContext, context: DaemonContext) throws(DaemonError) {
        guard !configuration.curveSecretKeyFile.isEmpty else {
            self = .none
            return
        }
        let secret = try Self.secretKey(configuration.curveSecretKeyFile)
        var authenticator: ZAPAuthenticator?
        if !configuration.curveAuthorizedKeysFile.isEmpty {
            let keys = try Self.allowList(configuration.curveAuthorizedKeysFile)
            for refusal in ZAPDecision.Refusal.allCases { _ = context.metrics.authRefused(reason: refusal.rawValue) }
            let accepted = context.metrics.authAccepted
            do {
                authenticator = try ZAPAuthenticator(context: zmq, allowedKeys: keys) { decision in
                    Self.record(decision, accepted: accepted, context: context)
                }
            } catch {
                throw DaemonError("cannot start the CURVE authenticator: \(error)")
            }
        }
        self.init(
            secretKey: secret, authenticator: authenticator, authorizedKeysFile: configuration.curveAuthorizedKeysFile)
    }

    /// Re-reads the allow-list file; handshakes from now on are judged by it.
    ///
    /// - Returns: the number of keys now allowed, `nil` without an allow-list.
    /// - Throws: ``DaemonError`` when the file cannot be read or holds a bad key; the previous
    ///   list then stays in force.
    func reloadAllowList() throws(DaemonError) -> Int? {
        guard let authenticator else { return nil }
        let keys = try Self.allowList(authorizedKeysFile)
        authenticator.replaceAllowedKeys(keys)
        return keys.count
    }

    /// Counts a decision of the ZAP handler and logs a refusal (at most one line per reason
    /// every 10 s).
    private static func record(_ decision: ZAPDecision, accepted: Counter, context: DaemonContext) {
        switch decision {
        case .accepted:
            accepted.increment()
        case .refused(let refusal, let key, let address):
            context.metrics.authRefused(reason: refusal.rawValue).increment()
            context.rejects.log(
                .warning, key: "auth." + refusal.rawValue, "refused a client",
                metadata: ["reason": "\(refusal.rawValue)", "client.key": "\(key?.z85 ?? "-")", "client.address": "\(address)"])
        }
    }

    /// The key of the secret key file at `path`.
    ///
    /// - Throws: ``DaemonError`` when the file does not hold exactly one Z85 key, or says it
    ///   holds a public key (`mmc keygen` writes "CURVE public key" into `PREFIX.pub`): any 32
    ///   bytes make a valid secret key, so a public key given by mistake would start a server
    ///   no client can ever reach.
    static func secretKey(_ path: String) throws(DaemonError) -> CurveKey {
        let lines = try allLines(path)
        if lines.contains(where: { $0.hasPrefix("#") && $0.contains("CURVE public key") }) {
            throw DaemonError(
                "security.curve_secret_key_file \(path) holds a public key (its comment says so); the server needs "
                    + "its secret key (mmc keygen --out PREFIX writes PREFIX.key)")
        }
        let keys = lines.filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard keys.count == 1, let secret = try? CurveKey(z85: keys[0]) else {
            throw DaemonError("security.curve_secret_key_file \(path): expected one Z85 key of 40 characters")
        }
        return secret
    }

    /// The keys of an allow-list file: Z85 public keys, one a line.
    static func allowList(_ path: String) throws(DaemonError) -> Set<CurveKey> {
        var keys = Set<CurveKey>()
        for (number, line) in try keyLines(path).enumerated() {
            guard let key = try? CurveKey(z85: line) else {
                throw DaemonError(
                    "security.curve_authorized_keys_file \(path): key \(number + 1) is not a Z85 public key of 40 characters")
            }
            keys.insert(key)
        }
        return keys
    }

    /// Makes `socket` a CURVE server (and routes its handshakes through the ZAP handler).
    /// Call before binding or connecting.
    func apply(to socket: ZMQSocket) throws(ZMQError) {
        guard let secretKey else { return }
        try socket.set(.curveServer(true))
        try socket.set(.curveSecretKey(secretKey))
        if authenticator != nil {
            try socket.set(.zapDomain(Self.zapDomain))
        }
    }

    /// The non-empty lines of a key file that are not `#` comments, trimmed.
    private static func keyLines(_ path: String) throws(DaemonError) -> [String] {
        try allLines(path).filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }

    /// Every line of a key file, trimmed.
    private static func allLines(_ path: String) throws(DaemonError) -> [String] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw DaemonError("cannot read the key file \(path)")
        }
        return text.split(whereSeparator: \.isNewline).map { $0.trimmingBlanks() }
    }
}
