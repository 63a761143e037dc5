import CPoPSKernels
import PoPSCore
import Testing

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
