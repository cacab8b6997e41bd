/// The pixel position of every point, as two flat arrays.
struct Pixels {
    let x: [Double]
    let y: [Double]
}
