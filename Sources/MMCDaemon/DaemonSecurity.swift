internal import Foundation
internal import ZeroMQ

/// ZeroMQ CURVE for the daemon's sockets, from `[security]`.
///
/// With `curve_secret_key_file` set, every daemon socket is a CURVE server with that key; with
/// `curve_authorized_keys_file` also set, a ZAP handler admits only the listed client public
/// keys (ZAP domain `mmcd`). Without either, sockets use ZeroMQ's NULL mechanism.
struct DaemonSecurity: Sendable {
    /// The ZAP domain the daemon's sockets authenticate under.
    static let zapDomain = "mmcd"

    private let secretKey: CurveKey?
    /// Keeps the ZAP handler's object; the handler itself runs until the context shuts down.
    private let authenticator: ZAPAuthenticator?

    /// No CURVE.
    static let none = DaemonSecurity(secretKey: nil, authenticator: nil)

    private init(secretKey: CurveKey?, authenticator: ZAPAuthenticator?) {
        self.secretKey = secretKey
        self.authenticator = authenticator
    }

    /// Reads the key files of `configuration` and starts the ZAP handler in `zmq` if an
    /// allow-list is given.
    ///
    /// - Throws: ``DaemonError`` naming the file and what is wrong with it.
    init(configuration: DaemonConfiguration.Security, zmq: ZMQContext) throws(DaemonError) {
        guard !configuration.curveSecretKeyFile.isEmpty else {
            self = .none
            return
        }
        let secretLines = try Self.keyLines(configuration.curveSecretKeyFile)
        guard secretLines.count == 1, let secret = try? CurveKey(z85: secretLines[0]) else {
            throw DaemonError(
                "security.curve_secret_key_file \(configuration.curveSecretKeyFile): expected one Z85 key of 40 characters")
        }
        var authenticator: ZAPAuthenticator?
        if !configuration.curveAuthorizedKeysFile.isEmpty {
            var keys = Set<CurveKey>()
            for (number, line) in try Self.keyLines(configuration.curveAuthorizedKeysFile).enumerated() {
                guard let key = try? CurveKey(z85: line) else {
                    throw DaemonError(
                        "security.curve_authorized_keys_file \(configuration.curveAuthorizedKeysFile): key \(number + 1) is not a Z85 public key of 40 characters"
                    )
                }
                keys.insert(key)
            }
            do {
                authenticator = try ZAPAuthenticator(context: zmq, allowedKeys: keys)
            } catch {
                throw DaemonError("cannot start the CURVE authenticator: \(error)")
            }
        }
        self.init(secretKey: secret, authenticator: authenticator)
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
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw DaemonError("cannot read the key file \(path)")
        }
        return text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }
}
