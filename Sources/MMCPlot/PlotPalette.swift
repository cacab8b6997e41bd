/// The colours of a plot: Paul Tol's *muted* qualitative scheme for clusters and his pale grey
/// for points in no cluster.
///
/// Tol's muted scheme (P. Tol, "Colour schemes", SRON/EPS/TN/09-002, 2021) stays distinct for
/// the common forms of colour blindness and on grey-scale print. A cluster's colour depends on
/// its id alone (`id mod 9`), so a cluster keeps its colour from one re-clustering to the next
/// and in every plot of the same clustering; ids 9 apart share a colour, which the id drawn at
/// every centroid disambiguates.
///
/// ```swift
/// PlotPalette.colour(forCluster: 3)   // "#117733"
/// PlotPalette.colour(forCluster: 12)  // "#117733" again
/// ```
public enum PlotPalette {
    /// The cluster colours, in Tol's order.
    public static let clusterColours = [
        "#CC6677", "#332288", "#DDCC77", "#117733", "#88CCEE", "#882255", "#44AA99", "#999933", "#AA4499",
    ]

    /// Noise points: Tol's pale grey for "bad data", light enough to stay behind the clusters.
    public static let noiseColour = "#DDDDDD"

    /// The outline of points that joined after the clustering (hollow, so they read as pending).
    public static let unassignedColour = "#777777"

    /// The colour of cluster `id` (`id >= 0`).
    public static func colour(forCluster id: Int64) -> String {
        clusterColours[Int(id.magnitude % UInt64(clusterColours.count))]
    }
}
