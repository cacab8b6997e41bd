internal import Logging
internal import MMCConfiguration
internal import Prometheus
internal import ZeroMQ

/// `security.max_peers` and `security.max_peers_per_address` as one ZeroMQ socket applies them:
/// the limits its receive loop enforces and what the loop reports, turned into
/// `mmcd_zmq_peers{socket}`, `mmcd_zmq_peers_refused_total{socket,reason}` and a warning per
/// limit at most every 10 s.
struct DaemonPeerLimit: Sendable {
    /// The most connections the socket holds.
    let limit: Int
    /// The most TCP connections one remote address holds; `nil` when only ``limit`` applies
    /// (`max_peers_per_address` 0, or not below `max_peers`).
    let perAddressLimit: Int?
    /// Told by the loop thread what a read of the gate's events changed.
    let observe: @Sendable (ZMQPeerReport) -> Void

    /// The limits of the socket named `socket` (`input`, `output` or `control`).
    init(_ security: DaemonConfiguration.Security, socket: String, context: DaemonContext) {
        let maxPeers = security.maxPeers, maxPerAddress = security.maxPeersPerAddress
        limit = maxPeers
        perAddressLimit = (1..<maxPeers).contains(maxPerAddress) ? maxPerAddress : nil
        let metrics = context.metrics, log = context.rejects
        let open = metrics.zmqPeers(socket: socket)
        let atLimit = metrics.zmqPeersRefused(socket: socket, reason: "max_peers")
        let atAddressLimit = metrics.zmqPeersRefused(socket: socket, reason: "max_peers_per_address")
        open.set(Int64(0))
        observe = { report in
            open.set(Int64(report.open))
            if report.refusedAtLimit > 0 {
                atLimit.increment(by: Int64(report.refusedAtLimit))
                log.log(
                    .warning, key: "peers.\(socket)",
                    "\(socket) socket at security.max_peers = \(maxPeers): connections closed on arrival",
                    metadata: ["refused": "\(report.refusedAtLimit)"])
            }
            if report.refusedAtAddressLimit > 0 {
                atAddressLimit.increment(by: Int64(report.refusedAtAddressLimit))
                log.log(
                    .warning, key: "peers.\(socket).address",
                    "\(socket) socket: an address at security.max_peers_per_address = \(maxPerAddress): "
                        + "connections closed on arrival",
                    metadata: [
                        "refused": "\(report.refusedAtAddressLimit)",
                        "peer.addresses": "\(report.crowdedAddresses.joined(separator: " "))",
                    ])
            }
        }
    }

    /// The gate that enforces the limits on `socket`; made before the socket binds, so that no
    /// connection escapes the count.
    func gate(watching socket: ZMQSocket) throws(ZMQError) -> sending ZMQPeerGate {
        try ZMQPeerGate.watching(socket, limit: limit, perAddressLimit: perAddressLimit, observe: observe)
    }
}
