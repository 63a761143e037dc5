import CPoPSKernels

/// Single-precision matrix multiplication for row-major storage:
///
///     C[m, n] = alpha * op(A)[m, k] * op(B)[k, n] + beta * C[m, n]
///
/// with `op(X) = X` or `X^T`. These three forms cover a dense layer's
/// forward pass (`X * W^T`) and backward pass (`dY * W`, `dY^T * X`).
///
/// Large products pack A and B into the micro-tile layout of the active
/// kernel path (`InstructionSet.active`: 8x32 for AVX-512, 6x16 for AVX2 and
/// the portable C) with K blocked by 256 and rows split across up to
/// `Compute.maxThreads` threads; the register-blocked micro-kernels are C
/// (Sources/CPoPSKernels). Single-row products (batch-1 inference) use the
/// path's GEMV kernels with no packing, on several threads only when B is large.
public enum GEMM {
  static let kc = 256
  /// Row blocks of A packed at a time (128 rows x 256 x 4 bytes = 128 KiB for AVX-512).
  static let mcBlocks = 16
  /// Columns of B packed at a time: 512 x 256 x 4 bytes = 512 KiB.
  static let nc = 512
  /// Products smaller than this many multiply-adds run on one thread.
  static let parallelThreshold = 1 << 20
  /// Single-row products with more weights than this split over threads
  /// (1 MiB of B: more than half an L2).
  static let gemvParallelThreshold = 1 << 18

  public static func multiply(
    transposeA: Bool = false, transposeB: Bool = false,
    m: Int, n: Int, k: Int, alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    maxThreads: Int = Compute.maxThreads, isa: InstructionSet = .active
  ) {
    precondition(m >= 0 && n >= 0 && k >= 0, "GEMM dimensions must be non-negative (m \(m), n \(n), k \(k))")
    precondition(ldc >= n, "GEMM: ldc (\(ldc)) must be >= n (\(n))")
    precondition(lda >= (transposeA ? m : k), "GEMM: lda (\(lda)) too small")
    precondition(ldb >= (transposeB ? k : n), "GEMM: ldb (\(ldb)) too small")
    if m == 0 || n == 0 { return }
    scale(c: c, m: m, n: n, ldc: ldc, by: beta)
    if k == 0 || alpha == 0 { return }

    if m == 1 && !transposeA {
      // Large single-row products stream B from L3 or memory: split its
      // rows (or columns) over the threads, 64 at a time.
      let parts = n * k >= gemvParallelThreshold ? max(1, min(maxThreads, n / 64)) : 1
      Compute.parallelFor(parts) { part in
        let j0 = (n / 64) * part / parts * 64
        let j1 = part == parts - 1 ? n : (n / 64) * (part + 1) / parts * 64
        if transposeB {
          pops_gemv_rows(isa.code, j1 - j0, k, alpha, a, b + j0 * ldb, ldb, c + j0)
        } else {
          pops_gemv_columns(isa.code, j1 - j0, k, alpha, a, b + j0, ldb, c + j0)
        }
      }
      return
    }
    blocked(
      isa: isa, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
      a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, maxThreads: maxThreads)
  }

  /// The same product on whole arrays (no leading-dimension padding).
  public static func multiply(
    transposeA: Bool = false, transposeB: Bool = false,
    m: Int, n: Int, k: Int, alpha: Float = 1,
    a: [Float], b: [Float], beta: Float = 0, c: inout [Float],
    maxThreads: Int = Compute.maxThreads, isa: InstructionSet = .active
  ) {
    precondition(a.count >= m * k && b.count >= k * n && c.count >= m * n, "GEMM: array too small for the shapes")
    a.withUnsafeBufferPointer { pa in
      b.withUnsafeBufferPointer { pb in
        c.withUnsafeMutableBufferPointer { pc in
          multiply(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
            a: pa.baseAddress!, lda: transposeA ? m : k,
            b: pb.baseAddress!, ldb: transposeB ? k : n,
            beta: beta, c: pc.baseAddress!, ldc: n, maxThreads: maxThreads, isa: isa)
        }
      }
    }
  }

  @inline(__always)
  static func scale(c: UnsafeMutablePointer<Float>, m: Int, n: Int, ldc: Int, by beta: Float) {
    if beta == 1 { return }
    for i in 0..<m {
      let row = c + i * ldc
      if beta == 0 {
        row.update(repeating: 0, count: n)
      } else {
        for j in 0..<n { row[j] *= beta }
      }
    }
  }

  // MARK: - Pre-packed B

  /// op(B) packed once into the kernel's panel layout, so that several
  /// products with the same B (the batch chunks of a dense layer running on
  /// different threads) share one packing: [kc block][panel][kb][nr].
  /// `pack` must not run while a product reads the same instance.
  public final class PackedB: @unchecked Sendable {
    public private(set) var k = 0
    public private(set) var n = 0
    /// The kernel path whose tile layout the storage holds.
    private(set) var isa = InstructionSet.active
    var storage = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    var capacity = 1

    public init() {}
    deinit { storage.deallocate() }

    var panels: Int { (n + isa.tileColumns - 1) / isa.tileColumns }

    /// Packs op(B) [k, n], splitting the panels over up to `maxThreads` threads.
    public func pack(
      transposed: Bool, b: UnsafePointer<Float>, ldb: Int, k: Int, n: Int, maxThreads: Int = Compute.maxThreads,
      isa: InstructionSet = .active
    ) {
      precondition(k > 0 && n > 0, "GEMM.PackedB: k (\(k)) and n (\(n)) must be positive")
      self.k = k
      self.n = n
      self.isa = isa
      let nr = isa.tileColumns
      let size = panels * nr * k
      if size > capacity {
        storage.deallocate()
        storage = .allocate(capacity: size)
        capacity = size
      }
      let panels = self.panels
      let threads = k * n >= GEMM.parallelThreshold / 4 ? max(1, min(maxThreads, panels)) : 1
      let box = UncheckedSendable(storage)
      Compute.parallelFor(threads) { t in
        let lo = panels * t / threads, hi = panels * (t + 1) / threads
        if lo == hi { return }
        let j0 = lo * nr
        let columns = min(n, hi * nr) - j0
        var p0 = 0
        while p0 < k {
          let kb = min(GEMM.kc, k - p0)
          GEMM.packB(
            isa: isa, transposed: transposed, b: b, ldb: ldb, p0: p0, kb: kb, j0: j0, n: columns,
            into: box.value + p0 * panels * nr + lo * nr * kb)
          p0 += kb
        }
      }
    }
  }

  /// C[m, n] = alpha * op(A)[m, k] * B + beta * C with B packed beforehand.
  public static func multiply(
    transposeA: Bool = false, m: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
    packed: PackedB, beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
    maxThreads: Int = Compute.maxThreads
  ) {
    let n = packed.n, k = packed.k
    precondition(m >= 0 && ldc >= n, "GEMM: m (\(m)) must be >= 0 and ldc (\(ldc)) >= n (\(n))")
    precondition(lda >= (transposeA ? m : k), "GEMM: lda (\(lda)) too small")
    if m == 0 || n == 0 { return }
    scale(c: c, m: m, n: n, ldc: ldc, by: beta)
    if k == 0 || alpha == 0 { return }
    let isa = packed.isa
    let panels = packed.panels, mr = isa.tileRows, nr = isa.tileColumns
    let rowBlocks = (m + mr - 1) / mr
    let threads = m * n * k >= parallelThreshold ? max(1, min(maxThreads, rowBlocks / 2)) : 1
    let packedA = UnsafeMutablePointer<Float>.allocate(capacity: threads * mcBlocks * mr * kc)
    defer { packedA.deallocate() }
    let storage = UnsafePointer(packed.storage)
    var p0 = 0
    while p0 < k {
      let kb = min(kc, k - p0)
      multiplyPackedBlock(
        isa: isa, transposeA: transposeA, m: m, n: n, alpha: alpha, a: a, lda: lda, p0: p0, kb: kb,
        packedB: storage + p0 * panels * nr, c: c, ldc: ldc, packedA: packedA, threads: threads)
      p0 += kb
    }
  }

  /// C[:, 0..<n] += alpha * op(A)[:, p0..<p0+kb] * Bblock, with the k-block of
  /// B already packed into panels; row blocks are split over `threads`, each
  /// packing its rows of A into its own part of `packedA` (mcBlocks * mr * kc floats each).
  static func multiplyPackedBlock(
    isa: InstructionSet, transposeA: Bool, m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
    p0: Int, kb: Int, packedB: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int,
    packedA: UnsafeMutablePointer<Float>, threads: Int
  ) {
    let mr = isa.tileRows
    let rowBlocks = (m + mr - 1) / mr
    Compute.parallelFor(threads) { t in
      let lo = rowBlocks * t / threads
      let hi = rowBlocks * (t + 1) / threads
      let pa = packedA + t * mcBlocks * mr * kc
      // Up to mcBlocks row blocks of A are packed together (they stay in L2)
      // and the kernel sweeps every B panel over all of them.
      var first = lo
      while first < hi {
        let last = min(hi, first + mcBlocks)
        for rb in first..<last {
          let rows = min(mr, m - rb * mr)
          packA(
            isa: isa, transposed: transposeA, a: a, lda: lda, i0: rb * mr, rows: rows, p0: p0, kb: kb,
            into: pa + (rb - first) * mr * kb)
        }
        let i0 = first * mr
        pops_gemm_panels(isa.code, kb, pa, packedB, n, c + i0 * ldc, ldc, alpha, min(m, last * mr) - i0)
        first = last
      }
    }
  }

  // MARK: - Blocked kernel

  static func blocked(
    isa: InstructionSet, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int, maxThreads: Int
  ) {
    let mr = isa.tileRows, nr = isa.tileColumns
    let work = m * n * k
    // Wide products split their columns: each thread packs its own B panels
    // and all of A (small next to its share of the work), with no serial
    // packing and one dispatch per product.
    let allPanels = (n + nr - 1) / nr
    let columnThreads = work >= parallelThreshold ? min(maxThreads, allPanels / 2) : 1
    if columnThreads > 1 {
      Compute.parallelFor(columnThreads) { t in
        let lo = allPanels * t / columnThreads, hi = allPanels * (t + 1) / columnThreads
        let j0 = lo * nr
        let columns = min(n, hi * nr) - j0
        guard columns > 0 else { return }
        blocked(
          isa: isa, transposeA: transposeA, transposeB: transposeB, m: m, n: columns, k: k, alpha: alpha,
          a: a, lda: lda, b: transposeB ? b + j0 * ldb : b + j0, ldb: ldb, c: c + j0, ldc: ldc, maxThreads: 1)
      }
      return
    }
    let panels = (min(n, nc) + nr - 1) / nr
    let rowBlocks = (m + mr - 1) / mr
    let kcMax = min(k, kc)
    let packedB = UnsafeMutablePointer<Float>.allocate(capacity: panels * nr * kcMax)
    defer { packedB.deallocate() }
    let threads = work >= parallelThreshold ? max(1, min(maxThreads, rowBlocks / 2)) : 1
    let packedA = UnsafeMutablePointer<Float>.allocate(capacity: threads * mcBlocks * mr * kc)
    defer { packedA.deallocate() }

    // Columns are taken `nc` at a time so the packed B block stays in L2.
    var j0 = 0
    while j0 < n {
      let nb = min(nc, n - j0)
      var p0 = 0
      while p0 < k {
        let kb = min(kc, k - p0)
        packB(isa: isa, transposed: transposeB, b: b, ldb: ldb, p0: p0, kb: kb, j0: j0, n: nb, into: packedB)
        multiplyPackedBlock(
          isa: isa, transposeA: transposeA, m: m, n: nb, alpha: alpha, a: a, lda: lda, p0: p0, kb: kb,
          packedB: UnsafePointer(packedB), c: c + j0, ldc: ldc, packedA: packedA, threads: threads)
        p0 += kb
      }
      j0 += nb
    }
  }

  /// Packs rows i0..<i0+rows, columns p0..<p0+kb of op(A) as [kb][mr], zero
  /// padded, in C for the path (`pops_gemm_pack_a`).
  @inline(__always)
  static func packA(
    isa: InstructionSet, transposed: Bool, a: UnsafePointer<Float>, lda: Int, i0: Int, rows: Int,
    p0: Int, kb: Int, into dst: UnsafeMutablePointer<Float>
  ) {
    pops_gemm_pack_a(isa.code, transposed ? 1 : 0, a, lda, i0, rows, p0, kb, dst)
  }

  /// Packs rows p0..<p0+kb, columns j0..<j0+n of op(B) into panels of nr
  /// columns: [panel][kb][nr], zero padded (`pops_gemm_pack_b`).
  @inline(__always)
  static func packB(
    isa: InstructionSet, transposed: Bool, b: UnsafePointer<Float>, ldb: Int, p0: Int, kb: Int, j0: Int, n: Int,
    into dst: UnsafeMutablePointer<Float>
  ) {
    pops_gemm_pack_b(isa.code, transposed ? 1 : 0, b, ldb, p0, kb, j0, n, dst)
  }
}
