import CPoPSKernels
import PoPSCore

/// Convolution by im2col + GEMM. A chunk of samples shares one column matrix
/// [patch, samples * positions] (sample r owns columns r * positions ..<
/// (r + 1) * positions), so each layer costs one wide GEMM per chunk instead
/// of one small GEMM per sample; the batch is split across threads by the
/// caller.
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

  /// col[(c, ki, kj), (oy, ox)] = x[c, oy * s + ki - top, ox * s + kj - left] (0 outside),
  /// rows `ld` floats apart; `channels` limits the work to those input
  /// channels' rows (a thread's share). In C for the active kernel path
  /// (`pops_im2col`, Sources/CPoPSKernels/conv_impl.h).
  static func im2col(
    _ x: UnsafePointer<Float>, _ g: Geometry, into col: UnsafeMutablePointer<Float>, ld: Int,
    channels: Range<Int>? = nil
  ) {
    let channels = channels ?? 0..<g.conv.inChannels
    var c = g.kernelGeometry
    pops_im2col(InstructionSet.active.code, x, &c, channels.lowerBound, channels.upperBound, col, ld)
  }

  /// The adjoint of im2col: dx[c, iy, ix] += dcol[...] (dx must start at zero).
  static func col2im(_ dcol: UnsafePointer<Float>, _ g: Geometry, ld: Int, into dx: UnsafeMutablePointer<Float>) {
    var c = g.kernelGeometry
    pops_col2im(InstructionSet.active.code, dcol, &c, ld, dx)
  }

  /// The active path's GEMM tile: rows and columns.
  static var tile: (rows: Int, columns: Int) {
    let isa = InstructionSet.active.code
    return (Int(pops_gemm_mr(isa)), Int(pops_gemm_nr(isa)))
  }

  /// Floats of scratch `forward` needs: the packed weights and one
  /// sample's column matrix (plus a tile's width it may read past the end).
  static func forwardScratch(_ g: Geometry) -> Int {
    let (mr, nr) = tile
    return (g.conv.outChannels + mr - 1) / mr * mr * g.patch + g.patch * g.positions + nr
  }

  /// Floats of scratch `backward` needs: one sample's column matrix and its gradient.
  static func backwardScratch(_ g: Geometry) -> Int { 2 * g.patch * g.positions }

  /// y[r, oc, N] = W[oc, K] * col_r[K, N] + b for `samples` samples whose
  /// inputs are `inWidth` floats apart and outputs `outWidth` apart.
  ///
  /// One sample at a time: its column matrix (a few hundred KB) stays in L2
  /// and the micro-kernel reads it in place, with the weights packed once per
  /// call (`pops_conv_multiply`): no packing of the column matrix and no
  /// batch-sized buffer. One sample's im2col (by input channel) and product
  /// (by panel of positions) are split over `threads`; `scratch` holds
  /// `forwardScratch(g)` floats.
  static func forward(
    _ x: UnsafePointer<Float>, samples: Int, inWidth: Int, outWidth: Int, _ g: Geometry,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
    scratch: UnsafeMutablePointer<Float>, threads: Int
  ) {
    let oc = g.conv.outChannels, n = g.positions, k = g.patch
    let (mr, nr) = tile
    let isa = InstructionSet.active.code
    pops_conv_pack_weights(isa, weight, oc, k, scratch)
    let wpack = UnsafePointer(scratch)
    let col = scratch + (oc + mr - 1) / mr * mr * k
    (col + k * n).update(repeating: 0, count: nr)
    let panelCount = (n + nr - 1) / nr
    let parts = max(1, min(threads, panelCount)), channelParts = max(1, min(threads, g.conv.inChannels))
    for r in 0..<samples {
      let out = y + r * outWidth, input = x + r * inWidth
      for o in 0..<oc { (out + o * n).update(repeating: bias[o], count: n) }
      Compute.parallelFor(channelParts) { part in
        let c = g.conv.inChannels
        im2col(input, g, into: col, ld: n, channels: c * part / channelParts..<c * (part + 1) / channelParts)
      }
      Compute.parallelFor(parts) { part in
        pops_conv_multiply(
          isa, wpack, oc, k, col, n, n, out, panelCount * part / parts, panelCount * (part + 1) / parts)
      }
    }
  }

  /// Writes dW and db for a chunk of samples and, if `dx` is given, dx.
  /// Each sample's column matrix is made again from its input `x` (cheaper
  /// than keeping a batch's in memory); `scratch` holds `backwardScratch(g)` floats.
  static func backward(
    _ g: Geometry, samples: Int, x: UnsafePointer<Float>, inWidth: Int, outWidth: Int,
    weight: UnsafePointer<Float>, dOut: UnsafePointer<Float>, dWeight: UnsafeMutablePointer<Float>,
    dBias: UnsafeMutablePointer<Float>, dx: UnsafeMutablePointer<Float>?, scratch: UnsafeMutablePointer<Float>,
    threads: Int
  ) {
    let oc = g.conv.outChannels, n = g.positions, k = g.patch
    let col = scratch, dcol = scratch + k * n
    for o in 0..<oc { dBias[o] = 0 }
    for r in 0..<samples {
      let d = dOut + r * outWidth
      im2col(x + r * inWidth, g, into: col, ld: n)
      // dW[oc, K] += d[oc, N] * col[K, N]^T
      GEMM.multiply(
        transposeB: true, m: oc, n: k, k: n, a: d, lda: n, b: col, ldb: n, beta: r == 0 ? 0 : 1, c: dWeight,
        ldc: k, maxThreads: threads)
      for o in 0..<oc {
        var total: Float = 0
        let row = d + o * n
        for j in 0..<n { total += row[j] }
        dBias[o] += total
      }
      guard let dx else { continue }
      // dcol[K, N] = W[oc, K]^T * d[oc, N]
      GEMM.multiply(
        transposeA: true, m: k, n: n, k: oc, a: weight, lda: k, b: d, ldb: n, c: dcol, ldc: n, maxThreads: threads)
      let target = dx + r * inWidth
      target.update(repeating: 0, count: g.conv.inChannels * g.inHeight * g.inWidth)
      col2im(dcol, g, ld: n, into: target)
    }
  }
}

extension Architecture {
  /// Floats of scratch one thread's share of a batch needs in the
  /// convolution kernels (forward or backward).
  var convolutionScratch: Int {
    var shape = inputShape
    var largest = 0
    for (layer, next) in zip(layers, outputShapes) {
      if case .conv2d(let c) = layer {
        let g = ConvKernels.Geometry(c, inputShape: shape)
        largest = max(largest, ConvKernels.forwardScratch(g), ConvKernels.backwardScratch(g))
      }
      shape = next
    }
    return largest
  }
}
