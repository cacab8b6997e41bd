import ArgumentParser
import ZeroMQ

/// `--connect` (the default) or `--bind`: which side of a ZeroMQ connection a command takes.
enum EndpointRole: String, EnumerableFlag, Sendable {
    case connect
    case bind

    static func help(for value: EndpointRole) -> ArgumentHelp? {
        switch value {
        case .connect: "Connect to the endpoint, which mmcd binds."
        case .bind: "Bind the endpoint, and let mmcd connect to it."
        }
    }

    /// Binds or connects `socket` to `endpoint`.
    ///
    /// - Throws: `ZMQError` naming the endpoint.
    func attach(_ socket: ZMQSocket, to endpoint: String) throws(ZMQError) {
        switch self {
        case .connect: try socket.connect(endpoint)
        case .bind: try socket.bind(endpoint)
        }
    }
}
