// Matrix-vector products: the GEMM paths for a single row of A (batch-1
// inference), where packing would cost more than it saves.

extension GEMM {
  /// y[j] += alpha * dot(x, B[j, :]) for B stored [n, k].
  static func gemvRows(
    n: Int, k: Int, alpha: Float, x: UnsafePointer<Float>,
    b: UnsafePointer<Float>, ldb: Int, y: UnsafeMutablePointer<Float>
  ) {
    let k8 = k & ~7
    var j = 0
    while j + 4 <= n {
      let r0 = b + j * ldb, r1 = r0 + ldb, r2 = r1 + ldb, r3 = r2 + ldb
      var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
      var p = 0
      while p < k8 {
        let xv = SIMD8<Float>.load(x + p)
        s0 = s0.addingProduct(xv, SIMD8<Float>.load(r0 + p))
        s1 = s1.addingProduct(xv, SIMD8<Float>.load(r1 + p))
        s2 = s2.addingProduct(xv, SIMD8<Float>.load(r2 + p))
        s3 = s3.addingProduct(xv, SIMD8<Float>.load(r3 + p))
        p += 8
      }
      var t0 = s0.sum(), t1 = s1.sum(), t2 = s2.sum(), t3 = s3.sum()
      while p < k {
        let xv = x[p]
        t0 += xv * r0[p]
        t1 += xv * r1[p]
        t2 += xv * r2[p]
        t3 += xv * r3[p]
        p += 1
      }
      y[j] += alpha * t0
      y[j + 1] += alpha * t1
      y[j + 2] += alpha * t2
      y[j + 3] += alpha * t3
      j += 4
    }
    while j < n {
      let r = b + j * ldb
      var s = SIMD8<Float>()
      var p = 0
      while p < k8 {
        s = s.addingProduct(SIMD8<Float>.load(x + p), SIMD8<Float>.load(r + p))
        p += 8
      }
      var t = s.sum()
      while p < k {
        t += x[p] * r[p]
        p += 1
      }
      y[j] += alpha * t
      j += 1
    }
  }

  /// y[:] += alpha * sum_p x[p] * B[p, :] for B stored [k, n].
  static func gemvColumns(
    n: Int, k: Int, alpha: Float, x: UnsafePointer<Float>,
    b: UnsafePointer<Float>, ldb: Int, y: UnsafeMutablePointer<Float>
  ) {
    var j = 0
    while j + 32 <= n {
      var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
      for p in 0..<k {
        let xv = SIMD8<Float>(repeating: x[p])
        let row = b + p * ldb + j
        s0 = s0.addingProduct(xv, SIMD8<Float>.load(row))
        s1 = s1.addingProduct(xv, SIMD8<Float>.load(row + 8))
        s2 = s2.addingProduct(xv, SIMD8<Float>.load(row + 16))
        s3 = s3.addingProduct(xv, SIMD8<Float>.load(row + 24))
      }
      let av = SIMD8<Float>(repeating: alpha)
      SIMD8<Float>.load(y + j).addingProduct(av, s0).store(y + j)
      SIMD8<Float>.load(y + j + 8).addingProduct(av, s1).store(y + j + 8)
      SIMD8<Float>.load(y + j + 16).addingProduct(av, s2).store(y + j + 16)
      SIMD8<Float>.load(y + j + 24).addingProduct(av, s3).store(y + j + 24)
      j += 32
    }
    while j < n {
      var t: Float = 0
      for p in 0..<k { t += x[p] * b[p * ldb + j] }
      y[j] += alpha * t
      j += 1
    }
  }
}
