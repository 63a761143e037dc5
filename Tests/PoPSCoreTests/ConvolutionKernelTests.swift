import CPoPSKernels
import PoPSCore
import Testing

/// The implicit convolution's data maps of every kernel path, over strides
/// 1-4 and padding (taps outside the input), and the column-matrix
/// reference the products are checked against.
struct ConvolutionKernelTests {
  /// channels, height, width, kernel h, kernel w, stride, top, left
  static let geometries: [(Int, Int, Int, Int, Int, Int, Int, Int)] = [
    (4, 84, 84, 8, 8, 4, 0, 0), (3, 20, 20, 4, 4, 2, 0, 0), (5, 9, 9, 3, 3, 1, 0, 0), (2, 11, 13, 3, 2, 3, 0, 0),
    (2, 7, 7, 3, 3, 1, 1, 1), (3, 8, 10, 4, 4, 2, 1, 2), (1, 5, 6, 5, 5, 1, 2, 2),
  ]

  static func geometry(_ t: (Int, Int, Int, Int, Int, Int, Int, Int)) -> pops_conv_geometry {
    let (c, h, w, kh, kw, s, top, left) = t
    // Output size as "same"-style padding gives when top/left > 0, else valid.
    let oh = top > 0 ? (h + s - 1) / s : (h - kh) / s + 1
    let ow = left > 0 ? (w + s - 1) / s : (w - kw) / s + 1
    return pops_conv_geometry(
      channels: c, height: h, width: w, kernel_height: kh, kernel_width: kw, stride: s, top: top, left: left,
      out_height: oh, out_width: ow)
  }

  /// The column matrix by its definition.
  static func reference(_ x: [Float], _ g: pops_conv_geometry) -> [Float] {
    let positions = g.out_height * g.out_width
    var col = [Float](repeating: 0, count: g.channels * g.kernel_height * g.kernel_width * positions)
    var row = 0
    for c in 0..<g.channels {
      for ki in 0..<g.kernel_height {
        for kj in 0..<g.kernel_width {
          for oy in 0..<g.out_height {
            for ox in 0..<g.out_width {
              let iy = oy * g.stride + ki - g.top, ix = ox * g.stride + kj - g.left
              let inside = iy >= 0 && iy < g.height && ix >= 0 && ix < g.width
              col[row * positions + oy * g.out_width + ox] = inside ? x[(c * g.height + iy) * g.width + ix] : 0
            }
          }
          row += 1
        }
      }
    }
    return col
  }

  /// pops_conv_unplanes is the adjoint of pops_conv_planes, and
  /// pops_conv_scatter the adjoint of reading the taps' runs (dx of the
  /// implicit convolution), on every path: <P(x), y> == <x, P^T(y)>.
  @Test(arguments: InstructionSet.supported)
  func theBackwardMapsAreTheAdjointsOfTheForwardOnes(isa: InstructionSet) {
    var rng = SeededGenerator(seed: 11)
    for t in Self.geometries {
      var g = Self.geometry(t)
      let s = g.stride
      let rows = ((g.out_height - 1) * s + g.kernel_height + s - 1) / s
      let cols = ((g.out_width - 1) * s + g.kernel_width + s - 1) / s
      let planeFloats = g.channels * s * s * rows * cols
      let x = (0..<(g.channels * g.height * g.width)).map { _ in rng.uniform(-1, 1) }
      var planes = [Float](repeating: .nan, count: planeFloats)
      pops_conv_planes(isa.code, x, &g, 0, g.channels, &planes)
      let y = (0..<planeFloats).map { _ in rng.uniform(-1, 1) }
      var dx = [Float](repeating: .nan, count: x.count)
      pops_conv_unplanes(isa.code, y, &g, &dx)
      let left = zip(planes, y).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
      let right = zip(x, dx).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
      #expect(abs(left - right) < 1e-3, "\(isa) geometry \(t): unplanes is not planes' adjoint (\(left) vs \(right))")

      // Reading: B[p, j] = planes[off[p] + j] over the extended grid; scatter adds back.
      let k = g.channels * g.kernel_height * g.kernel_width, n = g.out_height * cols
      var offsets: [Int] = []
      for c in 0..<g.channels {
        for ki in 0..<g.kernel_height {
          for kj in 0..<g.kernel_width { offsets.append(((c * s + ki % s) * s + kj % s) * rows * cols + (ki / s) * cols + kj / s) }
        }
      }
      let slack = g.kernel_width + 16
      let p = (0..<(planeFloats + slack)).map { _ in rng.uniform(-1, 1) }
      let d = (0..<(k * n)).map { _ in rng.uniform(-1, 1) }
      var scattered = [Float](repeating: 0, count: planeFloats + slack)
      pops_conv_scatter(isa.code, d, offsets, k, n, &scattered)
      var read = 0.0
      for r in 0..<k { for j in 0..<n { read += Double(p[offsets[r] + j]) * Double(d[r * n + j]) } }
      let back = zip(p, scattered).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
      #expect(abs(read - back) < 1e-3, "\(isa) geometry \(t): scatter is not the read's adjoint (\(read) vs \(back))")
    }
  }
}
