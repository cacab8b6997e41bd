/// "Did you mean": the nearest known name by edit distance, else the same key name in another
/// section (`window.trees` -> `forest.trees`).
enum Suggestion {
    static func closest(to name: String, among candidates: [String]) -> String? {
        let scored = candidates.map { (candidate: $0, distance: editDistance(name, $0)) }
        if let best = scored.min(by: { $0.distance < $1.distance }), best.distance <= max(2, name.count / 4) {
            return best.candidate
        }
        guard let dot = name.lastIndex(of: ".") else { return nil }
        let leaf = name[dot...]
        return candidates.first { $0.hasSuffix(leaf) }
    }

    /// Levenshtein distance over characters.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        var previous = Array(0...b.count)
        var current = previous
        for i in a.indices {
            current[0] = i + 1
            for j in b.indices {
                let substitution = previous[j] + (a[i] == b[j] ? 0 : 1)
                current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
