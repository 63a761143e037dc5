import CPoPSKernels
import Foundation
import PoPSCore

/// The index of the largest value (the first on ties).
public func argmax(_ values: [Float]) -> Int {
  var best = 0
  for i in values.indices where values[i] > values[best] { best = i }
  return best
}

/// Elementwise and layer kernels shared by forward and prediction.
enum Kernels {
  /// y[batch, outputs] = x[batch, inputs] * W[outputs, inputs]^T + b
  @inline(__always)
  static func linear(
    x: UnsafePointer<Float>, batch: Int, inputs: Int, outputs: Int,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, threads: Int
  ) {
    for r in 0..<batch { (y + r * outputs).update(from: bias, count: outputs) }
    GEMM.multiply(
      transposeB: true, m: batch, n: outputs, k: inputs,
      a: x, lda: inputs, b: weight, ldb: inputs, beta: 1, c: y, ldc: outputs, maxThreads: threads)
  }

  /// dx[rows, inputs] = g[rows, outputs] * W[outputs, inputs] with W read in
  /// place by the micro-kernel (`pops_conv_multiply`) and g packed: a large
  /// layer's weights are not copied for every pass. Column panels are split
  /// over `threads`; the columns past the last full panel go through GEMM.
  static func inputGradientInPlace(
    _ g: UnsafePointer<Float>, rows: Int, outputs: Int, weight: UnsafePointer<Float>, inputs: Int,
    into dx: UnsafeMutablePointer<Float>, threads: Int
  ) {
    let isa = InstructionSet.active.code
    let (mr, nr) = ConvKernels.tile
    let panels = inputs / nr, full = panels * nr
    dx.update(repeating: 0, count: rows * inputs)
    withUnsafeTemporaryAllocation(of: Float.self, capacity: (rows + mr - 1) / mr * mr * outputs) { apack in
      let a = UnsafeMutablePointer(apack.baseAddress!)
      pops_conv_pack_weights(isa, g, rows, outputs, a)
      let parts = max(1, min(threads, panels))
      Compute.parallelFor(parts) { part in
        pops_conv_multiply(isa, a, rows, outputs, weight, inputs, inputs, dx, panels * part / parts, panels * (part + 1) / parts)
      }
    }
    if full < inputs {
      GEMM.multiply(
        m: rows, n: inputs - full, k: outputs, a: g, lda: outputs, b: weight + full, ldb: inputs, c: dx + full,
        ldc: inputs, maxThreads: 1)
    }
  }

  @inline(__always)
  static func relu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { y[i] = max(x[i], 0) }
  }

  /// g[i] = 0 where the ReLU's output y[i] is 0 (branch-free, eight at a time).
  @inline(__always)
  static func reluBackward(_ y: UnsafePointer<Float>, _ g: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    let zero = SIMD8<Float>()
    while i + 8 <= count {
      let keep = SIMD8<Float>.load(y + i) .> zero
      zero.replacing(with: SIMD8<Float>.load(g + i), where: keep).store(g + i)
      i += 8
    }
    while i < count {
      if y[i] <= 0 { g[i] = 0 }
      i += 1
    }
  }

  @inline(__always)
  static func tanh(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { y[i] = Foundation.tanh(x[i]) }
  }

  /// g[i] *= 1 - y[i]^2, the derivative of tanh through its output y.
  @inline(__always)
  static func tanhBackward(_ y: UnsafePointer<Float>, _ g: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { g[i] *= 1 - y[i] * y[i] }
  }

  static func sumRows(_ g: UnsafePointer<Float>, rows: Int, columns: Int, into out: UnsafeMutablePointer<Float>) {
    out.update(repeating: 0, count: columns)
    for r in 0..<rows {
      let row = g + r * columns
      for j in 0..<columns { out[j] += row[j] }
    }
  }
}
