import CPoPSKernels
import PoPSCore
import Testing

/// im2col and col2im of every kernel path against a plain reference, over
/// strides with and without a constant-stride loop (1, 2, 4 and 3) and with
/// padding (taps outside the input).
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

  @Test(arguments: InstructionSet.supported)
  func im2colMatchesItsDefinitionAndCol2imIsItsAdjoint(isa: InstructionSet) {
    var rng = SeededGenerator(seed: 11)
    for t in Self.geometries {
      var g = Self.geometry(t)
      let positions = g.out_height * g.out_width
      let rows = g.channels * g.kernel_height * g.kernel_width
      let x = (0..<(g.channels * g.height * g.width)).map { _ in rng.uniform(-1, 1) }
      let expected = Self.reference(x, g)
      // Rows padded (ld > positions), filled in two channel ranges as two threads would.
      let ld = positions + 3
      var col = [Float](repeating: .nan, count: rows * ld)
      let half = g.channels / 2
      pops_im2col(isa.code, x, &g, 0, half, &col, ld)
      pops_im2col(isa.code, x, &g, half, g.channels, &col, ld)
      var worst: Float = 0
      for r in 0..<rows {
        for p in 0..<positions { worst = max(worst, abs(col[r * ld + p] - expected[r * positions + p])) }
      }
      #expect(worst == 0, "\(isa) geometry \(t): im2col differs by \(worst)")

      // <im2col(x), y> == <x, col2im(y)> for a random y.
      let y = (0..<(rows * ld)).map { _ in rng.uniform(-1, 1) }
      var dx = [Float](repeating: 0, count: x.count)
      pops_col2im(isa.code, y, &g, ld, &dx)
      var left = 0.0, right = 0.0
      for r in 0..<rows { for p in 0..<positions { left += Double(expected[r * positions + p]) * Double(y[r * ld + p]) } }
      for i in 0..<x.count { right += Double(x[i]) * Double(dx[i]) }
      #expect(abs(left - right) < 1e-3, "\(isa) geometry \(t): col2im is not im2col's adjoint (\(left) vs \(right))")
    }
  }
}

/// Implicit convolution (phase planes read in place by the micro-kernel) of
/// every kernel path against the column matrix's product, over the same
/// geometries (strides 1, 2, 3, 4, with and without padding).
struct ImplicitConvolutionTests {
  @Test(arguments: InstructionSet.supported)
  func implicitConvolutionEqualsTheColumnMatrixProduct(isa: InstructionSet) {
    var rng = SeededGenerator(seed: 12)
    let mr = Int(pops_gemm_mr(isa.code)), nr = Int(pops_gemm_nr(isa.code))
    for t in ConvolutionKernelTests.geometries {
      var g = ConvolutionKernelTests.geometry(t)
      let s = g.stride, positions = g.out_height * g.out_width
      let k = g.channels * g.kernel_height * g.kernel_width
      for oc in [3, 8, 37] {
        let x = (0..<(g.channels * g.height * g.width)).map { _ in rng.uniform(-1, 1) }
        let w = (0..<(oc * k)).map { _ in rng.uniform(-1, 1) }
        let col = ConvolutionKernelTests.reference(x, g)
        var expected = [Double](repeating: 0, count: oc * positions)
        for o in 0..<oc {
          for p in 0..<k {
            for j in 0..<positions { expected[o * positions + j] += Double(w[o * k + p]) * Double(col[p * positions + j]) }
          }
        }
        let rows = ((g.out_height - 1) * s + g.kernel_height + s - 1) / s
        let cols = ((g.out_width - 1) * s + g.kernel_width + s - 1) / s
        let planeFloats = g.channels * s * s * rows * cols
        // NaN slack: a kernel that used what it reads past the planes would show it.
        var planes = [Float](repeating: .nan, count: planeFloats + g.kernel_width + nr)
        for i in planeFloats..<planes.count { planes[i] = 0 }
        pops_conv_planes(isa.code, x, &g, 0, g.channels / 2, &planes)
        pops_conv_planes(isa.code, x, &g, g.channels / 2, g.channels, &planes)
        var offsets = [Int]()
        for c in 0..<g.channels {
          for ki in 0..<g.kernel_height {
            for kj in 0..<g.kernel_width {
              offsets.append(((c * s + ki % s) * s + kj % s) * rows * cols + (ki / s) * cols + kj / s)
            }
          }
        }
        var wpack = [Float](repeating: 0, count: (oc + mr - 1) / mr * mr * k)
        pops_conv_pack_weights(isa.code, w, oc, k, &wpack)
        let extended = g.out_height * cols
        var y = [Float](repeating: 0, count: oc * extended)
        let panels = (extended + nr - 1) / nr
        // Two panel ranges, as two threads would run them.
        pops_conv_implicit(isa.code, wpack, oc, k, planes, offsets, extended, &y, 0, panels / 2)
        pops_conv_implicit(isa.code, wpack, oc, k, planes, offsets, extended, &y, panels / 2, panels)
        var worst = 0.0
        for o in 0..<oc {
          for oy in 0..<g.out_height {
            for ox in 0..<g.out_width {
              let got = Double(y[o * extended + oy * cols + ox])
              worst = max(worst, abs(got - expected[o * positions + oy * g.out_width + ox]))
            }
          }
        }
        #expect(worst < 1e-4, "\(isa) geometry \(t) oc \(oc): implicit convolution differs by \(worst)")
      }
    }
  }
}
