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

  /// y[r, oc, N] = W[oc, K] * col_r[K, N] + b for `samples` samples whose
  /// inputs are `inWidth` floats apart and outputs `outWidth` apart.
  ///
  /// `col` receives the chunk's column matrix (rows `ld` apart, ld >=
  /// samples * positions) and is kept for backward; `scratch` holds
  /// oc * samples * positions floats (unused for one sample).
  static func forward(
    _ x: UnsafePointer<Float>, samples: Int, inWidth: Int, outWidth: Int, _ g: Geometry,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
    col: UnsafeMutablePointer<Float>, ld: Int, scratch: UnsafeMutablePointer<Float>, threads: Int
  ) {
    let oc = g.conv.outChannels, n = g.positions, wide = samples * n
    if samples == 1 {
      // One sample (inference): its input channels' rows split over the threads.
      let parts = min(threads, g.conv.inChannels)
      Compute.parallelFor(parts) { part in
        let c = g.conv.inChannels
        im2col(x, g, into: col, ld: ld, channels: c * part / parts..<c * (part + 1) / parts)
      }
      for o in 0..<oc { (y + o * n).update(repeating: bias[o], count: n) }
      GEMM.multiply(
        m: oc, n: n, k: g.patch, a: weight, lda: g.patch, b: col, ldb: ld, beta: 1, c: y, ldc: n, maxThreads: threads)
      return
    }
    for r in 0..<samples { im2col(x + r * inWidth, g, into: col + r * n, ld: ld) }
    GEMM.multiply(
      m: oc, n: wide, k: g.patch, a: weight, lda: g.patch, b: col, ldb: ld, c: scratch, ldc: wide,
      maxThreads: threads)
    // [oc, samples * N] -> [samples, oc, N], adding the bias.
    for r in 0..<samples {
      for o in 0..<oc {
        let src = scratch + o * wide + r * n
        let dst = y + r * outWidth + o * n
        let b = bias[o]
        for j in 0..<n { dst[j] = src[j] + b }
      }
    }
  }

  /// Writes dW and db for a chunk of samples and, if `dx` is given, dx.
  /// `col` holds the chunk's column matrix from forward (rows `ld` apart);
  /// `scratch` holds (oc + patch) * samples * positions floats.
  static func backward(
    _ g: Geometry, samples: Int, inWidth: Int, outWidth: Int, weight: UnsafePointer<Float>,
    dOut: UnsafePointer<Float>, dWeight: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>,
    dx: UnsafeMutablePointer<Float>?, col: UnsafePointer<Float>, ld: Int,
    scratch: UnsafeMutablePointer<Float>, threads: Int
  ) {
    let oc = g.conv.outChannels, n = g.positions, k = g.patch, wide = samples * n
    // dOut [samples, oc, N] -> d [oc, samples * N]
    let d = scratch
    for r in 0..<samples {
      for o in 0..<oc {
        (d + o * wide + r * n).update(from: dOut + r * outWidth + o * n, count: n)
      }
    }
    // dW[oc, K] = d[oc, wide] * col[K, wide]^T
    GEMM.multiply(
      transposeB: true, m: oc, n: k, k: wide, a: d, lda: wide, b: col, ldb: ld, c: dWeight, ldc: k,
      maxThreads: threads)
    for o in 0..<oc {
      var total: Float = 0
      let row = d + o * wide
      for j in 0..<wide { total += row[j] }
      dBias[o] = total
    }
    guard let dx else { return }
    // dcol[K, wide] = W[oc, K]^T * d[oc, wide]
    let dcol = scratch + oc * wide
    GEMM.multiply(
      transposeA: true, m: k, n: wide, k: oc, a: weight, lda: k, b: d, ldb: wide, c: dcol, ldc: wide,
      maxThreads: threads)
    for r in 0..<samples {
      let target = dx + r * inWidth
      target.update(repeating: 0, count: g.conv.inChannels * g.inHeight * g.inWidth)
      col2im(dcol + r * n, g, ld: wide, into: target)
    }
  }
}

extension Architecture {
  /// Floats of per-sample scratch the batched convolution kernels need: the
  /// largest (outChannels + patch) * positions of any convolution.
  var convolutionScratch: Int {
    var shape = inputShape
    var largest = 0
    for (layer, next) in zip(layers, outputShapes) {
      if case .conv2d(let c) = layer {
        let g = ConvKernels.Geometry(c, inputShape: shape)
        largest = max(largest, (c.outChannels + g.patch) * g.positions)
      }
      shape = next
    }
    return largest
  }

  /// The largest im2col matrix of any convolution (0 without convolutions).
  var largestColumnMatrix: Int {
    var shape = inputShape
    var largest = 0
    for (layer, next) in zip(layers, outputShapes) {
      if case .conv2d(let c) = layer {
        let g = ConvKernels.Geometry(c, inputShape: shape)
        largest = max(largest, g.patch * g.positions)
      }
      shape = next
    }
    return largest
  }
}
