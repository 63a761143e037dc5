import PoPSCore
import Testing

struct GEMMTests {
  static let shapes: [(Int, Int, Int)] = [
    (1, 1, 1), (1, 7, 13), (1, 37, 300), (5, 3, 2), (7, 17, 9), (13, 33, 260),
    (6, 16, 256), (50, 31, 70), (97, 130, 513), (1, 64, 256), (2, 5, 600),
    (8, 32, 64), (1, 70, 33), (1, 131, 19), (17, 65, 31), (16, 96, 3), (1, 45, 10),
  ]

  static let transposes = [(false, false), (false, true), (true, false), (true, true)]

  /// Every kernel path this CPU runs (the test names which were skipped).
  static let paths = InstructionSet.supported

  @Test(arguments: paths)
  func matchesNaiveProduct(isa: InstructionSet) {
    for (transposeA, transposeB) in Self.transposes { matchesNaiveProduct(isa: isa, transposeA: transposeA, transposeB: transposeB) }
  }

  func matchesNaiveProduct(isa: InstructionSet, transposeA: Bool, transposeB: Bool) {
    var rng = SeededGenerator(seed: 11)
    for threads in [1, 2] {
      for (m, n, k) in Self.shapes {
        let a = (0..<(m * k)).map { _ in rng.uniform(-1, 1) }
        let b = (0..<(k * n)).map { _ in rng.uniform(-1, 1) }
        let c0 = (0..<(m * n)).map { _ in rng.uniform(-1, 1) }
        for (alpha, beta) in [(Float(1), Float(0)), (0.5, 1), (-2, 0.25)] {
          var c = c0
          GEMM.multiply(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
            alpha: alpha, a: a, b: b, beta: beta, c: &c, maxThreads: threads, isa: isa)
          let expected = naiveProduct(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
            alpha: alpha, a: a, b: b, beta: beta, c: c0)
          let worst = zip(c, expected).map { abs($0 - $1) }.max() ?? 0
          #expect(worst < 1e-4 * Float(max(k, 1)), "\(isa) m \(m) n \(n) k \(k) tA \(transposeA) tB \(transposeB): error \(worst)")
        }
      }
    }
  }

  @Test(arguments: paths)
  func prePackedBMatchesTheNaiveProduct(isa: InstructionSet) {
    for (transposeA, transposeB) in Self.transposes {
      prePackedBMatchesTheNaiveProduct(isa: isa, transposeA: transposeA, transposeB: transposeB)
    }
  }

  func prePackedBMatchesTheNaiveProduct(isa: InstructionSet, transposeA: Bool, transposeB: Bool) {
    var rng = SeededGenerator(seed: 12)
    let packed = GEMM.PackedB()
    // Reused across shapes, so a smaller pack after a larger one is covered.
    for threads in [1, 2] {
      for (m, n, k) in [(16, 512, 600), (7, 17, 9), (13, 33, 260), (50, 131, 513), (2, 5, 600)] {
        let a = (0..<(m * k)).map { _ in rng.uniform(-1, 1) }
        let b = (0..<(k * n)).map { _ in rng.uniform(-1, 1) }
        let c0 = (0..<(m * n)).map { _ in rng.uniform(-1, 1) }
        var c = c0
        b.withUnsafeBufferPointer { pb in
          packed.pack(
            transposed: transposeB, b: pb.baseAddress!, ldb: transposeB ? k : n, k: k, n: n, maxThreads: threads, isa: isa)
        }
        a.withUnsafeBufferPointer { pa in
          c.withUnsafeMutableBufferPointer { pc in
            GEMM.multiply(
              transposeA: transposeA, m: m, alpha: 0.5, a: pa.baseAddress!, lda: transposeA ? m : k, packed: packed,
              beta: 1, c: pc.baseAddress!, ldc: n, maxThreads: threads)
          }
        }
        let expected = naiveProduct(
          transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.5, a: a, b: b, beta: 1, c: c0)
        let worst = zip(c, expected).map { abs($0 - $1) }.max() ?? 0
        #expect(worst < 1e-4 * Float(k), "\(isa) packed m \(m) n \(n) k \(k) tA \(transposeA) tB \(transposeB): error \(worst)")
      }
    }
  }

  @Test func respectsLeadingDimensions() {
    // A 3x4 block inside a 5x6 matrix, written into a 3x2 block of a 4x9 output.
    var rng = SeededGenerator(seed: 3)
    let big = (0..<30).map { _ in rng.uniform(-1, 1) }
    let b = (0..<8).map { _ in rng.uniform(-1, 1) }
    var c = [Float](repeating: 7, count: 36)
    big.withUnsafeBufferPointer { pa in
      b.withUnsafeBufferPointer { pb in
        c.withUnsafeMutableBufferPointer { pc in
          GEMM.multiply(
            m: 3, n: 2, k: 4, a: pa.baseAddress! + 6 + 1, lda: 6, b: pb.baseAddress!, ldb: 2,
            c: pc.baseAddress! + 9 + 3, ldc: 9)
        }
      }
    }
    for i in 0..<3 {
      for j in 0..<2 {
        var s: Float = 0
        for p in 0..<4 { s += big[(i + 1) * 6 + 1 + p] * b[p * 2 + j] }
        #expect(abs(c[(i + 1) * 9 + 3 + j] - s) < 1e-5)
      }
    }
    #expect(c[0] == 7 && c[9 + 2] == 7 && c[9 + 5] == 7, "entries outside the block are untouched")
  }
}

extension GEMMTests {
  /// Batch-1 products (the GEMV kernels) inside larger matrices: strides
  /// that differ from the shapes, on every path.
  @Test(arguments: paths)
  func singleRowsRespectLeadingDimensions(isa: InstructionSet) {
    var rng = SeededGenerator(seed: 21)
    for transposeB in [false, true] {
      let n = 37, k = 21, ldb = transposeB ? 25 : 41, ldc = 40
      let a = (0..<k).map { _ in rng.uniform(-1, 1) }
      let b = (0..<((transposeB ? n : k) * ldb)).map { _ in rng.uniform(-1, 1) }
      var c = [Float](repeating: 3, count: ldc + 1)
      a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
          c.withUnsafeMutableBufferPointer { pc in
            GEMM.multiply(
              transposeB: transposeB, m: 1, n: n, k: k, alpha: 0.5, a: pa.baseAddress!, lda: 50,
              b: pb.baseAddress!, ldb: ldb, beta: 1, c: pc.baseAddress! + 1, ldc: ldc, isa: isa)
          }
        }
      }
      for j in 0..<n {
        var s: Float = 0
        for p in 0..<k { s += a[p] * (transposeB ? b[j * ldb + p] : b[p * ldb + j]) }
        #expect(abs(c[1 + j] - (3 + 0.5 * s)) < 1e-4, "\(isa) tB \(transposeB) column \(j)")
      }
      #expect(c[0] == 3 && c[1 + n] == 3, "\(isa): entries outside the row are untouched")
    }
  }
}

/// Reference product in double precision.
func naiveProduct(
  transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
  alpha: Float, a: [Float], b: [Float], beta: Float, c: [Float]
) -> [Float] {
  var out = c
  for i in 0..<m {
    for j in 0..<n {
      var s = 0.0
      for p in 0..<k {
        let av = transposeA ? a[p * m + i] : a[i * k + p]
        let bv = transposeB ? b[j * k + p] : b[p * n + j]
        s += Double(av) * Double(bv)
      }
      out[i * n + j] = alpha * Float(s) + beta * c[i * n + j]
    }
  }
  return out
}
