import CPoPSKernels
import PoPSCore

/// Convolutions as implicit GEMMs: no column matrix is stored. Each sample's
/// input is split into zero-padded stride-phase planes in which every kernel
/// tap reads a contiguous run of an "extended" output grid, and the
/// micro-kernel reads those runs in place (forward, dW^T) or adds into them
/// (dx). A batch is split into chunks by the caller, one per thread.
enum ConvKernels {
  struct Geometry {
    let conv: LayerSpec.Conv2D
    let inHeight: Int, inWidth: Int
    let outHeight: Int, outWidth: Int
    let top: Int, left: Int
    /// Rows of the column matrix: in * kh * kw.
    var patch: Int { conv.inChannels * conv.kernelHeight * conv.kernelWidth }
    /// Columns of the column matrix: output positions.
    var positions: Int { outHeight * outWidth }

    /// The same geometry for the C kernels.
    var kernelGeometry: pops_conv_geometry {
      pops_conv_geometry(
        channels: conv.inChannels, height: inHeight, width: inWidth, kernel_height: conv.kernelHeight,
        kernel_width: conv.kernelWidth, stride: conv.stride, top: top, left: left, out_height: outHeight,
        out_width: outWidth)
    }

    init(_ conv: LayerSpec.Conv2D, inputShape: [Int]) {
      self.conv = conv
      inHeight = inputShape[1]
      inWidth = inputShape[2]
      let g = conv.geometry(height: inHeight, width: inWidth)
      outHeight = g.height
      outWidth = g.width
      top = g.top
      left = g.left
    }
  }

  /// The active path's GEMM tile: rows and columns.
  static var tile: (rows: Int, columns: Int) {
    let isa = InstructionSet.active.code
    return (Int(pops_gemm_mr(isa)), Int(pops_gemm_nr(isa)))
  }

  /// Implicit convolution's layout (`pops_conv_planes`): the phase planes'
  /// rows and columns, their floats (with the slack the kernel may read past
  /// them) and the extended output grid's positions.
  static func implicitLayout(_ g: Geometry) -> (rows: Int, cols: Int, planes: Int, extended: Int) {
    let s = g.conv.stride
    let rows = ((g.outHeight - 1) * s + g.conv.kernelHeight + s - 1) / s
    let cols = ((g.outWidth - 1) * s + g.conv.kernelWidth + s - 1) / s
    let planes = g.conv.inChannels * s * s * rows * cols + g.conv.kernelWidth + tile.columns
    return (rows, cols, planes, g.outHeight * cols)
  }

  /// Floats of scratch `forward` needs: the packed weights, the phase
  /// planes and the output on the extended grid.
  static func forwardScratch(_ g: Geometry) -> Int {
    let mr = tile.rows
    let layout = implicitLayout(g)
    return (g.conv.outChannels + mr - 1) / mr * mr * g.patch + layout.planes + g.conv.outChannels * layout.extended
  }

  /// Floats of scratch `backward` needs: the phase planes and their
  /// gradient, the output gradient on the extended grid and its two packs,
  /// the chunk's dW^T, W^T packed, and one sample's column gradient.
  static func backwardScratch(_ g: Geometry) -> Int {
    let (mr, nr) = tile
    let layout = implicitLayout(g)
    let oc = g.conv.outChannels, k = g.patch, ext = layout.extended
    let grids = 2 * layout.planes + oc * ext + ext * ((oc + nr - 1) / nr * nr) + oc * ((ext + nr - 1) / nr * nr)
    return grids + k * oc + (k + mr - 1) / mr * mr * oc + k * ext
  }

  /// Each tap's offset into the phase planes (`pops_conv_planes`), padded
  /// with the first offset to a whole number of `multiple`s.
  static func planeOffsets(_ g: Geometry, multiple: Int = 1) -> [Int] {
    let s = g.conv.stride, layout = implicitLayout(g)
    var offsets: [Int] = []
    offsets.reserveCapacity(g.patch + multiple)
    for c in 0..<g.conv.inChannels {
      for ki in 0..<g.conv.kernelHeight {
        for kj in 0..<g.conv.kernelWidth {
          offsets.append(((c * s + ki % s) * s + kj % s) * layout.rows * layout.cols + (ki / s) * layout.cols + kj / s)
        }
      }
    }
    while offsets.count % multiple != 0 { offsets.append(offsets[0]) }
    return offsets
  }

  /// y[r, oc, N] = W[oc, K] * col_r[K, N] + b for `samples` samples whose
  /// inputs are `inWidth` floats apart and outputs `outWidth` apart.
  ///
  /// Implicit: no column matrix. Each sample's input is split into zero
  /// padded phase planes (`pops_conv_planes`, by input channel over
  /// `threads`), in which every tap reads a contiguous run of an extended
  /// output grid; the micro-kernel reads those runs in place with the
  /// weights packed once per call (`pops_conv_implicit`, panels of
  /// positions over `threads`), and the extended grid's valid columns are
  /// copied out with the bias. `scratch` holds `forwardScratch(g)` floats.
  static func forward(
    _ x: UnsafePointer<Float>, samples: Int, inWidth: Int, outWidth: Int, _ g: Geometry,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
    scratch: UnsafeMutablePointer<Float>, threads: Int
  ) {
    let oc = g.conv.outChannels, n = g.positions, k = g.patch, s = g.conv.stride
    let (mr, nr) = tile
    let isa = InstructionSet.active.code
    let layout = implicitLayout(g)
    pops_conv_pack_weights(isa, weight, oc, k, scratch)
    let wpack = UnsafePointer(scratch)
    let planes = scratch + (oc + mr - 1) / mr * mr * k
    let slack = g.conv.kernelWidth + nr
    (planes + layout.planes - slack).update(repeating: 0, count: slack)
    let wide = planes + layout.planes
    let extended = layout.extended, ow = g.outWidth
    let panelCount = (extended + nr - 1) / nr
    let parts = max(1, min(threads, panelCount)), channelParts = max(1, min(threads, g.conv.inChannels))
    planeOffsets(g).withUnsafeBufferPointer { offsets in
      let off = UnsafePointer(offsets.baseAddress!)
      for r in 0..<samples {
        let out = y + r * outWidth, input = x + r * inWidth
        Compute.parallelFor(channelParts) { part in
          var c = g.kernelGeometry
          let channels = g.conv.inChannels
          pops_conv_planes(
            isa, input, &c, channels * part / channelParts, channels * (part + 1) / channelParts, planes)
        }
        wide.update(repeating: 0, count: oc * extended)
        Compute.parallelFor(parts) { part in
          pops_conv_implicit(
            isa, wpack, oc, k, planes, off, extended, wide, panelCount * part / parts, panelCount * (part + 1) / parts)
        }
        for o in 0..<oc {
          let b = bias[o]
          for oy in 0..<g.outHeight {
            let src = wide + o * extended + oy * layout.cols, dst = out + o * n + oy * ow
            for ox in 0..<ow { dst[ox] = src[ox] + b }
          }
        }
      }
    }
  }

  /// Writes dW and db for a chunk of samples and, if `dx` is given, dx.
  ///
  /// Implicit like `forward`: each sample's input is split into phase
  /// planes again (cheaper than keeping a batch's), and dW^T = B * d^T reads
  /// them in place (`pops_conv_weight_gradient`), summed over the chunk and
  /// transposed once. dx: the column gradient W^T * d (W^T packed once per
  /// chunk) is added into the planes' gradient tap by tap (contiguous runs)
  /// and mapped back to the input (`pops_conv_scatter`, `pops_conv_unplanes`).
  /// `scratch` holds `backwardScratch(g)` floats.
  static func backward(
    _ g: Geometry, samples: Int, x: UnsafePointer<Float>, inWidth: Int, outWidth: Int,
    weight: UnsafePointer<Float>, dOut: UnsafePointer<Float>, dWeight: UnsafeMutablePointer<Float>,
    dBias: UnsafeMutablePointer<Float>, dx: UnsafeMutablePointer<Float>?, scratch: UnsafeMutablePointer<Float>
  ) {
    let oc = g.conv.outChannels, n = g.positions, k = g.patch
    let (mr, nr) = tile
    let isa = InstructionSet.active.code
    let layout = implicitLayout(g)
    let ext = layout.extended, cols = layout.cols, ow = g.outWidth
    let planes = scratch, dplanes = planes + layout.planes
    let dExt = dplanes + layout.planes
    let dT = dExt + oc * ext
    let dPack = dT + ext * ((oc + nr - 1) / nr * nr)
    let dwt = dPack + oc * ((ext + nr - 1) / nr * nr)
    let wt = dwt + k * oc
    let dcol = wt + (k + mr - 1) / mr * mr * oc
    let slack = g.conv.kernelWidth + nr
    (planes + layout.planes - slack).update(repeating: 0, count: slack)
    dwt.update(repeating: 0, count: k * oc)
    for o in 0..<oc { dBias[o] = 0 }
    if dx != nil {
      // W^T [K, oc] packed as row blocks of A.
      for rb in stride(from: 0, to: k, by: mr) {
        pops_gemm_pack_a(isa, 1, weight, k, rb, min(mr, k - rb), 0, oc, wt + rb * oc)
      }
    }
    var c = g.kernelGeometry
    planeOffsets(g, multiple: mr).withUnsafeBufferPointer { offsets in
      let off = offsets.baseAddress!
      for r in 0..<samples {
        let d = dOut + r * outWidth
        pops_conv_planes(isa, x + r * inWidth, &c, 0, g.conv.inChannels, planes)
        // d on the extended grid (zero in the dropped columns).
        for o in 0..<oc {
          for oy in 0..<g.outHeight {
            let dst = dExt + o * ext + oy * cols
            dst.update(from: d + o * n + oy * ow, count: ow)
            (dst + ow).update(repeating: 0, count: cols - ow)
          }
        }
        // dW^T[K, oc] += B[K, ext] * d^T, B read in place from the planes.
        pops_gemm_pack_b(isa, 1, dExt, ext, 0, ext, 0, oc, dT)
        pops_conv_weight_gradient(isa, planes, off, k, ext, dT, oc, dwt)
        for o in 0..<oc {
          var total: Float = 0
          let row = d + o * n
          for j in 0..<n { total += row[j] }
          dBias[o] += total
        }
        guard let dx else { continue }
        // dcol[K, ext] = W^T[K, oc] * d[oc, ext], then back through the planes.
        pops_gemm_pack_b(isa, 0, dExt, ext, 0, oc, 0, ext, dPack)
        dcol.update(repeating: 0, count: k * ext)
        pops_gemm_panels(isa, oc, wt, dPack, ext, dcol, ext, 1, k)
        dplanes.update(repeating: 0, count: layout.planes)
        pops_conv_scatter(isa, dcol, off, k, ext, dplanes)
        pops_conv_unplanes(isa, dplanes, &c, dx + r * inWidth)
      }
    }
    for o in 0..<oc {
      for kk in 0..<k { dWeight[o * k + kk] = dwt[kk * oc + o] }
    }
  }
}

extension Architecture {
  /// Floats of scratch one thread's share of a batch needs in the
  /// convolution kernels (forward, and backward unless `forwardOnly`).
  func convolutionScratch(forwardOnly: Bool = false) -> Int {
    var shape = inputShape
    var largest = 0
    for (layer, next) in zip(layers, outputShapes) {
      if case .conv2d(let c) = layer {
        let g = ConvKernels.Geometry(c, inputShape: shape)
        largest = max(largest, ConvKernels.forwardScratch(g), forwardOnly ? 0 : ConvKernels.backwardScratch(g))
      }
      shape = next
    }
    return largest
  }
}
