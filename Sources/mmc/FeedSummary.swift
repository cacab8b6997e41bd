/// What a feed run did.
struct FeedSummary {
    let points: Int
    let batches: Int
    /// From the first send to the end of the last batch: its send, or with a rate, its share of time.
    let seconds: Double
    let interrupted: Bool

    /// The final line.
    func line(plan: FeedPlan) -> String {
        let rate = seconds > 0 ? Int((Double(points) / seconds).rounded()) : 0
        let secondsText = seconds.printed(decimals: 3)
        return "sent \(points) points in \(batches) batch\(batches == 1 ? "" : "es") in \(secondsText) s (\(rate) points/s) "
            + "to \(plan.endpoint) (\(plan.socket.rawValue), \(plan.role.rawValue), \(plan.format.rawValue), "
            + "topic \(plan.topic))\(interrupted ? ", interrupted" : "")\n"
    }
}
