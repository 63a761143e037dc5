// The GEMM code every path shares: packing of A and B into the path's
// micro-tile layout and the sweep of B panels over packed row blocks of A.
// Included by each path's file after its `kernel` (the MR x NR micro-kernel),
// with MR, NR and POPS_PATH defined and, for the SIMD paths, inside that
// file's target attribute region, so the compiler vectorises the same loops
// for each instruction set with the tile sizes as constants.
#define POPS_CAT2(a, b) a##_##b
#define POPS_CAT(a, b) POPS_CAT2(a, b)

// dst[p][w] = src[w * stride + p] for w < width (zero above), p < kb: one
// panel of W columns gathered from W rows (A untransposed, B transposed).
#define POPS_GATHER(W)                                                                                                \
  static void POPS_CAT(gather, W)(const float *src, long stride, long width, long kb, float *dst) {                   \
    if (width == W) {                                                                                                 \
      for (long p = 0; p < kb; p++)                                                                                   \
        for (int w = 0; w < W; w++) dst[p * W + w] = src[w * stride + p];                                            \
      return;                                                                                                         \
    }                                                                                                                 \
    for (long p = 0; p < kb; p++) {                                                                                   \
      for (long w = 0; w < width; w++) dst[p * W + w] = src[w * stride + p];                                         \
      for (long w = width; w < W; w++) dst[p * W + w] = 0;                                                           \
    }                                                                                                                 \
  }

// dst[p][w] = src[p * stride + w] for w < width (zero above): rows copied
// (A transposed, B untransposed).
#define POPS_COPY(W)                                                                                                  \
  static void POPS_CAT(copy, W)(const float *src, long stride, long width, long kb, float *dst) {                     \
    if (width == W) {                                                                                                 \
      for (long p = 0; p < kb; p++)                                                                                   \
        for (int w = 0; w < W; w++) dst[p * W + w] = src[p * stride + w];                                            \
      return;                                                                                                         \
    }                                                                                                                 \
    for (long p = 0; p < kb; p++) {                                                                                   \
      for (long w = 0; w < width; w++) dst[p * W + w] = src[p * stride + w];                                         \
      for (long w = width; w < W; w++) dst[p * W + w] = 0;                                                           \
    }                                                                                                                 \
  }

POPS_GATHER(MR)
POPS_COPY(MR)
#if NR != MR
POPS_GATHER(NR)
POPS_COPY(NR)
#endif

void POPS_CAT(pops_gemm_pack_a, POPS_PATH)(int transposed, const float *a, long lda, long i0, long rows, long p0,
                                            long kb, float *dst) {
  if (transposed)
    POPS_CAT(copy, MR)(a + p0 * lda + i0, lda, rows, kb, dst);
  else
    POPS_CAT(gather, MR)(a + i0 * lda + p0, lda, rows, kb, dst);
}

void POPS_CAT(pops_gemm_pack_b, POPS_PATH)(int transposed, const float *b, long ldb, long p0, long kb, long j0,
                                            long n, float *dst) {
  for (long panel = 0; panel * NR < n; panel++) {
    long first = j0 + panel * NR, cols = n - panel * NR < NR ? n - panel * NR : NR;
    float *d = dst + panel * NR * kb;
    if (transposed) {
#ifdef POPS_GATHER_NR_FAST
      // A path's own transposing copy for full panels (p in blocks it handles,
      // the rest by the loops below).
      long done = cols == NR ? POPS_GATHER_NR_FAST(b + first * ldb + p0, ldb, kb, d) : 0;
      if (done < kb) POPS_CAT(gather, NR)(b + first * ldb + p0 + done, ldb, cols, kb - done, d + done * NR);
#else
      POPS_CAT(gather, NR)(b + first * ldb + p0, ldb, cols, kb, d);
#endif
    }
    else
      POPS_CAT(copy, NR)(b + p0 * ldb + first, ldb, cols, kb, d);
  }
}

// Panels are the outer loop, so each B panel stays in L1 while every row
// block of A (kept in L2) passes over it.
void POPS_CAT(pops_gemm_panels, POPS_PATH)(long kb, const float *a, const float *b, long n, float *c, long ldc,
                                            float alpha, long rows) {
  for (long j0 = 0; j0 < n; j0 += NR) {
    long cols = n - j0 < NR ? n - j0 : NR;
    for (long i0 = 0; i0 < rows; i0 += MR) {
      long r = rows - i0 < MR ? rows - i0 : MR;
      kernel(kb, a + i0 * kb, 1, 0, MR, b + j0 * kb, NR, 0, c + i0 * ldc + j0, ldc, alpha, r, cols);
    }
  }
}

