import Foundation
import Glibc

/// TCP ports on 127.0.0.1 for tests that start servers on fixed addresses.
public enum LoopbackPorts {
    /// `count` distinct TCP ports that were free on 127.0.0.1 a moment ago: each is bound to
    /// port 0, and all are held until every one is known, so the system cannot hand one out
    /// twice.
    public static func free(_ count: Int) throws -> [Int] {
        var descriptors: [Int32] = []
        defer { descriptors.forEach { _ = close($0) } }
        var ports: [Int] = []
        for _ in 0..<count {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard descriptor >= 0 else { throw TestFailure("socket(AF_INET): errno \(errno)") }
            descriptors.append(descriptor)
            var address = loopback(port: 0)
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
                }
            }
            guard bound else { throw TestFailure("cannot bind a loopback port: errno \(errno)") }
            ports.append(Int(UInt16(bigEndian: address.sin_port)))
        }
        return ports
    }

    /// Whether a TCP connection to 127.0.0.1:`port` is accepted now.
    public static func acceptsConnections(port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = loopback(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// The established TCP connections whose server end is 127.0.0.1:`port`, from
    /// `/proc/net/tcp`: a test sees its client (another process's too) is connected without
    /// waiting a fixed time.
    public static func establishedConnections(toPort port: Int) -> Int {
        // FileHandle reads to the end; String(contentsOfFile:) stops after the first page of a
        // /proc file (27 of 1,961 lines on a busy machine).
        guard let handle = FileHandle(forReadingAtPath: "/proc/net/tcp"), let data = try? handle.readToEnd() else {
            return 0
        }
        let table = String(decoding: data, as: UTF8.self)
        // Columns: sl local_address rem_address st ...; addresses are HEX_IP:HEX_PORT, state 01
        // is ESTABLISHED. The server end of a loopback connection has the listening port as its
        // local port.
        let local = String(format: "0100007F:%04X", port)
        return table.split(separator: "\n").dropFirst().filter { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            return fields.count > 3 && fields[1] == local && fields[3] == "01"
        }.count
    }

    /// The port of a `tcp://host:port` endpoint.
    public static func port(ofEndpoint endpoint: String) throws -> Int {
        guard let colon = endpoint.lastIndex(of: ":"), let port = Int(endpoint[endpoint.index(after: colon)...]) else {
            throw TestFailure("\(endpoint) is not a tcp://host:port endpoint")
        }
        return port
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }
}
