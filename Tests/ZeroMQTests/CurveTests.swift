import Foundation
import MMCTestSupport
import Testing
import ZeroMQ

/// A CURVE server (`PUB` on an ephemeral TCP port) and a way to test clients against it.
private struct CurveServer {
    let socket: ZMQSocket
    let endpoint: String
    let keys: CurveKeyPair

    init(context: ZMQContext, zapDomain: String? = nil) throws {
        keys = try CurveKeyPair.generate()
        socket = try ZMQSocket(context: context, type: .pub)
        try socket.set(.curveServer(true))
        try socket.set(.curveSecretKey(keys.secretKey))
        if let zapDomain {
            try socket.set(.zapDomain(zapDomain))
        }
        endpoint = try socket.bindEphemeralTCP()
    }

    /// Whether a new client with `clientKeys` that trusts `serverKey` receives anything
    /// published within `limit`.
    func reaches(client clientKeys: CurveKeyPair, trusting serverKey: CurveKey, within limit: Duration) throws -> Bool {
        let client = try ZMQSocket(context: socket.context, type: .sub)
        try client.set(.curveServerKey(serverKey))
        try client.set(.curvePublicKey(clientKeys.publicKey))
        try client.set(.curveSecretKey(clientKeys.secretKey))
        try client.set(.subscribe([]))
        try client.set(.receiveTimeout(milliseconds: 20))
        try client.connect(endpoint)
        return try sendUntilReceived(ZMQMessage(strings: "secret"), from: socket, to: client, within: limit) != nil
    }
}

@Suite("CURVE keys, encryption and ZAP", .timeLimit(.minutes(1)), .tags(.unit))
struct CurveTests {
    @Test("Z85 matches the specification's example and rejects bad input")
    func z85() throws {
        let helloWorld: [UInt8] = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]
        #expect(try Z85.encode(helloWorld) == "HelloWorld")
        #expect(try Z85.decode("HelloWorld") == helloWorld)
        let all = (0...255).map(UInt8.init)
        #expect(try Z85.decode(Z85.encode(all)) == all)

        let oddLength = try #require(throws: ZMQError.self) { try Z85.encode([1, 2, 3]) }
        #expect(oddLength.code == EINVAL)
        #expect(throws: ZMQError.self) { try Z85.decode("Hello World") }
        #expect(throws: ZMQError.self) { try Z85.decode("Hell\"") }
    }

    @Test("Key pairs are fresh, and the public key derives from the secret one")
    func keyPairs() throws {
        let first = try CurveKeyPair.generate()
        let second = try CurveKeyPair.generate()
        #expect(first != second)
        #expect(try CurveKeyPair(secretKey: first.secretKey) == first)
        #expect(first.publicKey.z85.utf8.count == 40)
        #expect(try CurveKey(z85: first.publicKey.z85) == first.publicKey)
        #expect(try CurveKey(bytes: first.publicKey.bytes) == first.publicKey)

        let short = try #require(throws: ZMQError.self) { try CurveKey(bytes: [1, 2, 3]) }
        #expect(short.code == EINVAL)
        #expect(throws: ZMQError.self) { try CurveKey(z85: "HelloWorld") }
    }

    @Test("A CURVE client that trusts the server's key gets its messages")
    func curveHandshakeWithRightServerKey() throws {
        let context = try ZMQContext()
        let server = try CurveServer(context: context)
        let client = try CurveKeyPair.generate()
        #expect(try server.reaches(client: client, trusting: server.keys.publicKey, within: .seconds(20)))
    }

    @Test("A CURVE client with a wrong server key, or without CURVE, gets nothing")
    func curveHandshakeWithWrongServerKey() throws {
        let context = try ZMQContext()
        let server = try CurveServer(context: context)
        let client = try CurveKeyPair.generate()
        let impostor = try CurveKeyPair.generate()
        #expect(try !server.reaches(client: client, trusting: impostor.publicKey, within: .milliseconds(500)))

        let plain = try ZMQSocket(context: context, type: .sub)
        try plain.set(.subscribe([]))
        try plain.set(.receiveTimeout(milliseconds: 20))
        try plain.connect(server.endpoint)
        #expect(try sendUntilReceived(ZMQMessage(strings: "secret"), from: server.socket, to: plain, within: .milliseconds(500)) == nil)
    }

    @Test("ZAP admits listed client keys, refuses others, counts both, and reloads its list")
    func zapAllowList() async throws {
        let context = try ZMQContext()
        let listed = try CurveKeyPair.generate()
        let unlisted = try CurveKeyPair.generate()
        let authenticator = try ZAPAuthenticator(context: context, allowedKeys: [listed.publicKey])
        defer { authenticator.stop() }
        let server = try CurveServer(context: context, zapDomain: "mmcd-test")

        #expect(try server.reaches(client: listed, trusting: server.keys.publicKey, within: .seconds(20)))
        #expect(authenticator.accepted == 1)
        #expect(try !server.reaches(client: unlisted, trusting: server.keys.publicKey, within: .milliseconds(500)))
        #expect(try await eventually { authenticator.refused == 1 })
        #expect(authenticator.accepted == 1)

        // A reload: from now on only the other key is admitted.
        authenticator.replaceAllowedKeys([unlisted.publicKey])
        #expect(authenticator.allowedKeys == [unlisted.publicKey])
        #expect(try server.reaches(client: unlisted, trusting: server.keys.publicKey, within: .seconds(20)))
        #expect(try !server.reaches(client: listed, trusting: server.keys.publicKey, within: .milliseconds(500)))
        #expect(try await eventually { authenticator.refused == 2 })
        #expect(authenticator.accepted == 2)
        #expect(authenticator.failure == nil)
    }

    @Test("ZAP refuses clients without CURVE on a socket with a ZAP domain")
    func zapRefusesNullMechanism() async throws {
        let context = try ZMQContext()
        let authenticator = try ZAPAuthenticator(context: context, allowedKeys: [])
        defer { authenticator.stop() }
        let server = try ZMQSocket(context: context, type: .pub)
        try server.set(.zapDomain("mmcd-test"))
        let endpoint = try server.bindEphemeralTCP()
        let client = try ZMQSocket(context: context, type: .sub)
        try client.set(.subscribe([]))
        try client.set(.receiveTimeout(milliseconds: 20))
        try client.connect(endpoint)
        #expect(try sendUntilReceived(ZMQMessage(strings: "secret"), from: server, to: client, within: .milliseconds(500)) == nil)
        #expect(try await eventually { authenticator.refused == 1 })
        #expect(authenticator.accepted == 0)
    }

    @Test("ZAP guards a CURVE server even without a ZAP domain")
    func zapGuardsCurveServerWithoutDomain() async throws {
        let context = try ZMQContext()
        let authenticator = try ZAPAuthenticator(context: context, allowedKeys: [])
        defer { authenticator.stop() }
        let server = try CurveServer(context: context)
        let client = try CurveKeyPair.generate()
        #expect(try !server.reaches(client: client, trusting: server.keys.publicKey, within: .milliseconds(500)))
        #expect(try await eventually { authenticator.refused == 1 })
    }

    @Test("A context has one ZAP handler, until it is stopped")
    func oneHandlerPerContext() async throws {
        let context = try ZMQContext()
        let first = try ZAPAuthenticator(context: context, allowedKeys: [])
        defer { first.stop() }
        let second = try #require(throws: ZMQError.self) { try ZAPAuthenticator(context: context, allowedKeys: []) }
        #expect(second.code == EADDRINUSE)
        #expect(second.operation == "bind \(ZAPAuthenticator.endpoint)")

        first.stop()
        var replacement: ZAPAuthenticator?
        let replaced = try await eventually {
            replacement = try? ZAPAuthenticator(context: context, allowedKeys: [], pollIntervalMilliseconds: 10)
            return replacement != nil
        }
        #expect(replaced)
        replacement?.stop()
        #expect(first.failure == nil)
    }
}
