import PoPSCore

/// Convolution by im2col + GEMM, one sample at a time (the batch is split
/// across threads by the caller).
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

  /// col[(c, ki, kj), (oy, ox)] = x[c, oy * s + ki - top, ox * s + kj - left] (0 outside).
  static func im2col(_ x: UnsafePointer<Float>, _ g: Geometry, into col: UnsafeMutablePointer<Float>) {
    let c = g.conv, s = c.stride
    var row = 0
    for ch in 0..<c.inChannels {
      let plane = x + ch * g.inHeight * g.inWidth
      for ki in 0..<c.kernelHeight {
        for kj in 0..<c.kernelWidth {
          let dst = col + row * g.positions
          if g.top == 0 && g.left == 0 && (g.outHeight - 1) * s + ki < g.inHeight && (g.outWidth - 1) * s + kj < g.inWidth {
            // Every tap is inside the input (always so for valid padding): no bounds checks.
            for oy in 0..<g.outHeight {
              let src = plane + (oy * s + ki) * g.inWidth + kj
              let line = dst + oy * g.outWidth
              if s == 1 {
                line.update(from: src, count: g.outWidth)
              } else {
                for ox in 0..<g.outWidth { line[ox] = src[ox * s] }
              }
            }
            row += 1
            continue
          }
          for oy in 0..<g.outHeight {
            let iy = oy * s + ki - g.top
            let line = dst + oy * g.outWidth
            if iy < 0 || iy >= g.inHeight {
              line.update(repeating: 0, count: g.outWidth)
              continue
            }
            let src = plane + iy * g.inWidth
            for ox in 0..<g.outWidth {
              let ix = ox * s + kj - g.left
              line[ox] = ix >= 0 && ix < g.inWidth ? src[ix] : 0
            }
          }
          row += 1
        }
      }
    }
  }

  /// The adjoint of im2col: dx[c, iy, ix] += dcol[...] (dx must start at zero).
  static func col2im(_ dcol: UnsafePointer<Float>, _ g: Geometry, into dx: UnsafeMutablePointer<Float>) {
    let c = g.conv, s = c.stride
    var row = 0
    for ch in 0..<c.inChannels {
      let plane = dx + ch * g.inHeight * g.inWidth
      for ki in 0..<c.kernelHeight {
        for kj in 0..<c.kernelWidth {
          let src = dcol + row * g.positions
          for oy in 0..<g.outHeight {
            let iy = oy * s + ki - g.top
            if iy < 0 || iy >= g.inHeight { continue }
            let line = plane + iy * g.inWidth
            for ox in 0..<g.outWidth {
              let ix = ox * s + kj - g.left
              if ix >= 0 && ix < g.inWidth { line[ix] += src[oy * g.outWidth + ox] }
            }
          }
          row += 1
        }
      }
    }
  }

  /// y[oc, N] = W[oc, K] * col[K, N] + b for one sample.
  static func forward(
    _ x: UnsafePointer<Float>, _ g: Geometry, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
    y: UnsafeMutablePointer<Float>, col: UnsafeMutablePointer<Float>, threads: Int
  ) {
    im2col(x, g, into: col)
    let oc = g.conv.outChannels, n = g.positions
    for o in 0..<oc { (y + o * n).update(repeating: bias[o], count: n) }
    GEMM.multiply(
      m: oc, n: n, k: g.patch, a: weight, lda: g.patch, b: col, ldb: n, beta: 1, c: y, ldc: n, maxThreads: threads)
  }

  /// Accumulates dW and db for one sample and, if `dx` is given, writes dx.
  /// `col` holds the sample's im2col matrix from the forward pass.
  static func backward(
    _ g: Geometry, weight: UnsafePointer<Float>, dOut: UnsafePointer<Float>,
    dWeight: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>, dx: UnsafeMutablePointer<Float>?,
    col: UnsafePointer<Float>, dcol: UnsafeMutablePointer<Float>, threads: Int
  ) {
    let oc = g.conv.outChannels, n = g.positions, k = g.patch
    // dW[oc, K] += dOut[oc, N] * col[K, N]^T
    GEMM.multiply(
      transposeB: true, m: oc, n: k, k: n, a: dOut, lda: n, b: col, ldb: n, beta: 1, c: dWeight, ldc: k,
      maxThreads: threads)
    for o in 0..<oc {
      var total: Float = 0
      let row = dOut + o * n
      for j in 0..<n { total += row[j] }
      dBias[o] += total
    }
    guard let dx else { return }
    // dcol[K, N] = W[oc, K]^T * dOut[oc, N]
    GEMM.multiply(
      transposeA: true, m: k, n: n, k: oc, a: weight, lda: k, b: dOut, ldb: n, c: dcol, ldc: n, maxThreads: threads)
    dx.update(repeating: 0, count: g.conv.inChannels * g.inHeight * g.inWidth)
    col2im(dcol, g, into: dx)
  }
}

extension Architecture {
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
