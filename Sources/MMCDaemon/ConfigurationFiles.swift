public import MMCConfiguration

extension DaemonConfiguration {
    /// What is wrong with the files and directories the configuration names, which
    /// ``validate()`` does not read: the state directory (``StateDirectory/problem(_:)``) and
    /// the CURVE key files. `mmcd --check-config` fails on any of them; a start fails on a bad
    /// key file, and serves with a `failing` health on a bad state directory.
    public func fileProblems() -> [String] {
        var problems: [String] = []
        if !state.directory.isEmpty, let problem = StateDirectory.problem(state.directory) {
            problems.append(problem)
        }
        if !security.curveSecretKeyFile.isEmpty {
            do {
                _ = try DaemonSecurity.secretKey(security.curveSecretKeyFile)
            } catch {
                problems.append(error.description)
            }
        }
        if !security.curveAuthorizedKeysFile.isEmpty {
            do {
                _ = try DaemonSecurity.allowList(security.curveAuthorizedKeysFile)
            } catch {
                problems.append(error.description)
            }
        }
        return problems
    }
}
