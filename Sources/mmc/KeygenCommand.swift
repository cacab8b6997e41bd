import ArgumentParser
import MMCConfiguration
import ZeroMQ

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `mmc keygen --out PREFIX`: writes a fresh CURVE key pair as two Z85 text files.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Write a CURVE key pair: PREFIX.key (secret, mode 0600) and PREFIX.pub (public).",
        discussion: """
            Both files are text: comment lines starting with # (a Z85 key never starts with \
            #) and one line of 40 Z85 characters, the key; concatenated .pub files make an \
            authorized keys file. Give PREFIX.pub to peers: clients pass a server's public key \
            with --curve-server-key, and a server lists the public keys of the clients it \
            admits in its authorized keys file. PREFIX.key stays with its owner: the daemon \
            reads it from security.curve_secret_key_file, mmc feed and mmc watch from \
            --curve-key-file.

            Existing files are not overwritten unless --force. The public key is printed to \
            standard output.
            """
    )

    @Option(help: "Write PREFIX.key and PREFIX.pub.")
    var out: String

    @Flag(help: "Replace existing key files.")
    var force = false

    func validate() throws {
        guard !out.isEmpty, !out.hasSuffix("/") else {
            throw ValidationError("--out needs a file name prefix such as keys/server, got \"\(out)\"")
        }
    }

    func run() throws {
        let secretPath = out + ".key"
        let publicPath = out + ".pub"
        if !force {
            for path in [secretPath, publicPath] where FileManager.default.fileExists(atPath: path) {
                throw FileError(path: path, reason: "exists; pass --force to replace it")
            }
        }
        let pair = try CurveKeyPair.generate()
        // The umask applies to the temporary file replaceFile writes and renames into place, so
        // the secret key is never readable by others, not even for a moment.
        let mask = umask(0o077)
        defer { umask(mask) }
        try Output.replaceFile(secretPath, with: KeyFile.text(
            key: pair.secretKey,
            comments: [
                "mmcd CURVE secret key (Z85). Keep it private: never share, copy or log it.",
                "The public key that belongs to it is in \(KeyFile.baseName(publicPath)).",
            ]))
        umask(mask)
        try Output.replaceFile(publicPath, with: KeyFile.text(
            key: pair.publicKey,
            comments: [
                "mmcd CURVE public key (Z85). Give it to peers: clients use a server's public key,",
                "a server admits the clients whose public keys it lists.",
            ]))
        try Output.writeStandardOutput(Array((pair.publicKey.z85 + "\n").utf8))
        Output.writeStandardError("wrote \(secretPath) (secret, mode 0600) and \(publicPath) (public)\n")
    }
}

/// The key files ``KeygenCommand`` writes: `# ` comment lines and one line holding the key as
/// 40 Z85 characters.
///
/// `#` is a Z85 character, but never the first of a key: a group of 4 bytes is below 2^32, so
/// its first digit is at most 82, and `#` is digit 84. Lines starting with `#` are therefore
/// safe to skip as comments.
enum KeyFile {
    /// The file's text for `key`, each comment on its own `# ` line.
    static func text(key: CurveKey, comments: [String]) -> [UInt8] {
        Array((comments.map { "# \($0)\n" }.joined() + key.z85 + "\n").utf8)
    }

    /// Reads the key from a key file: its only line of exactly 40 Z85 characters.
    ///
    /// - Throws: ``FileError`` when the file cannot be read, has a line that is neither blank,
    ///   a `#` comment nor a key, or does not hold exactly one key.
    static func read(path: String) throws(FileError) -> CurveKey {
        let text = String(decoding: try GzipReader.readAll(path: path), as: UTF8.self)
        var keys: [CurveKey] = []
        for (number, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let trimmed = line.trimmingBlanks()
            if let key = try? CurveKey(z85: trimmed) {
                keys.append(key)
            } else if !trimmed.isEmpty && !trimmed.hasPrefix("#") {
                throw FileError(path: path, reason: "line \(number + 1) is neither a # comment nor a key of 40 Z85 characters")
            }
        }
        guard keys.count == 1 else {
            throw FileError(path: path, reason: "expected one key of 40 Z85 characters, found \(keys.count)")
        }
        return keys[0]
    }

    /// The last path component of `path`.
    static func baseName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}

/// The CURVE options of a client socket (`mmc feed`, `mmc watch`).
struct CurveClientOptions: ParsableArguments {
    @Option(help: "The server's CURVE public key as 40 Z85 characters; turns encryption on. Give it as --curve-server-key=KEY: a Z85 key can begin with '-'.")
    var curveServerKey: String?

    @Option(help: ArgumentHelp(
        "This client's secret key file, as mmc keygen writes it (PREFIX.key).",
        discussion: "Without it, a CURVE client makes a throwaway key pair; a server that admits only listed clients then refuses it."))
    var curveKeyFile: String?

    func validate() throws {
        if let curveServerKey {
            guard (try? CurveKey(z85: curveServerKey)) != nil else {
                throw ValidationError("--curve-server-key must be 40 Z85 characters (the text of a .pub file), got \(curveServerKey.utf8.count) characters")
            }
        }
        if let curveKeyFile {
            guard curveServerKey != nil else {
                throw ValidationError("--curve-key-file needs --curve-server-key")
            }
            guard !curveKeyFile.hasSuffix(".pub") else {
                throw ValidationError("--curve-key-file takes the secret key file (PREFIX.key), not \(curveKeyFile)")
            }
        }
    }

    /// The socket options that make a socket a CURVE client, none without
    /// `--curve-server-key`.
    ///
    /// - Throws: ``FileError`` for an unreadable key file, `ZMQError` when libzmq lacks CURVE.
    func socketOptions() throws -> [ZMQSocketOption] {
        guard let curveServerKey else { return [] }
        let pair = try curveKeyFile.map { path throws in try CurveKeyPair(secretKey: KeyFile.read(path: path)) }
            ?? CurveKeyPair.generate()
        return [
            .curveServerKey(try CurveKey(z85: curveServerKey)),
            .curvePublicKey(pair.publicKey),
            .curveSecretKey(pair.secretKey),
        ]
    }
}
