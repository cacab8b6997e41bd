internal import Logging
internal import MMCConfiguration
internal import Prometheus
internal import ZeroMQ

/// `security.max_peers` as one ZeroMQ socket applies it: the limit its receive loop enforces
/// and what the loop reports, turned into `mmcd_zmq_peers{socket}`,
/// `mmcd_zmq_peers_refused_total{socket}` and a warning at most every 10 s.
struct DaemonPeerLimit: Sendable {
    /// The most connections the socket holds.
    let limit: Int
    /// Told by the loop thread the connections open and those just refused.
    let observe: @Sendable (_ open: Int, _ refused: Int) -> Void

    /// The limit of the socket named `socket` (`input`, `output` or `control`).
    init(_ security: DaemonConfiguration.Security, socket: String, context: DaemonContext) {
        limit = security.maxPeers
        let open = context.metrics.zmqPeers(socket: socket), refusedTotal = context.metrics.zmqPeersRefused(socket: socket)
        open.set(Int64(0))
        let log = context.rejects, maxPeers = security.maxPeers
        observe = { count, refused in
            open.set(Int64(count))
            guard refused > 0 else { return }
            refusedTotal.increment(by: Int64(refused))
            log.log(
                .warning, key: "peers.\(socket)",
                "\(socket) socket at security.max_peers = \(maxPeers): connections closed on arrival",
                metadata: ["refused": "\(refused)"])
        }
    }

    /// The gate that enforces the limit on `socket`; made before the socket binds, so that no
    /// connection escapes the count.
    func gate(watching socket: ZMQSocket) throws(ZMQError) -> sending ZMQPeerGate {
        try ZMQPeerGate.watching(socket, limit: limit, observe: observe)
    }
}
