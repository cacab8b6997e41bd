/// The checked settings of one `mmc feed` run.
struct FeedPlan: Sendable {
    let source: SourcePlan
    let endpoint: String
    let role: EndpointRole
    let socket: FeedCommand.SocketKind
    let topic: String
    let format: FeedCommand.PayloadFormat
    /// Points per message, already cut to a tenth of a second's worth with a rate.
    let batchSize: Int
    let rate: Double?
    let count: Int?
    let firstID: UInt64
    /// The rate of synthetic timestamps (`--timestamps stream`), `nil` for the wall clock.
    let streamRate: Double?
    let warmupMilliseconds: Int
    let highWaterMark: Int
    let labelsOut: String?
}
