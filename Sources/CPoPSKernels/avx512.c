// The AVX-512 path: an 8x32 register tile (16 zmm accumulators); partial
// tiles use masked loads and stores.
// Optimiser updates round each operation separately (no FMA contraction), as
// torch.optim and pops' earlier Swift code do, on every path.
#pragma clang fp contract(off)
#include "kernels_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f,avx512vl,avx2,fma")))
#define MR 8
#define NR 32

// 16x16 transpose in registers: r[i] holds row i; afterwards r[c] holds
// column c. Four stages: 32-bit and 64-bit interleaves within 128-bit lanes,
// then two 128-bit lane shuffles.
TARGET static inline void transpose16(__m512 r[16]) {
  __m512 t[16], u[16];
  for (int i = 0; i < 8; i++) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; i++) {
    u[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
    u[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
    u[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    u[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
  }
  // u[4g + c] holds, per 128-bit lane l, column 4l + c of rows 4g..4g+3.
  for (int c = 0; c < 4; c++) {
    __m512 x0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88), x1 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xDD);
    __m512 y0 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88), y1 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xDD);
    r[c] = _mm512_shuffle_f32x4(x0, y0, 0x88);
    r[8 + c] = _mm512_shuffle_f32x4(x0, y0, 0xDD);
    r[4 + c] = _mm512_shuffle_f32x4(x1, y1, 0x88);
    r[12 + c] = _mm512_shuffle_f32x4(x1, y1, 0xDD);
  }
}

// dst[p][w] = src[w * stride + p] for a full 32-column panel, p in blocks of
// 16 (16 loads, the transpose, 16 stores per 16x16 block). Returns the p done.
TARGET static long gather32_blocks(const float *src, long stride, long kb, float *dst) {
  long p = 0;
  for (; p + 16 <= kb; p += 16) {
    for (int g = 0; g < 2; g++) {
      __m512 r[16];
      for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + (g * 16 + i) * stride + p);
      transpose16(r);
      for (int q = 0; q < 16; q++) _mm512_storeu_ps(dst + (p + q) * NR + g * 16, r[q]);
    }
  }
  return p;
}
#define POPS_GATHER_NR_FAST gather32_blocks
#define POPS_PATH avx512

#define STEP(i)                                                                                                      \
  av = _mm512_set1_ps(a[aoff ? ao[i] : (i) * ars]);                                                                                          \
  acc[i][0] = _mm512_fmadd_ps(av, b0, acc[i][0]);                                                                     \
  acc[i][1] = _mm512_fmadd_ps(av, b1, acc[i][1]);

TARGET static inline void kernel(long kb, const float *a, long ars, const long *aoff, long aks, const float *b, long ldb, const long *boff, float *c,
                                 long ldc, float alpha, long rows,
                                 long cols) {
  __m512 acc[MR][2];
  for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  long ao[MR];
  for (int i = 0; i < MR; i++) ao[i] = aoff ? aoff[i] : 0;
  for (long p = 0; p < kb; p++) {
    const float *bp = boff ? b + boff[p] : b;
    __m512 b0 = _mm512_loadu_ps(bp), b1 = _mm512_loadu_ps(bp + 16), av;
    STEP(0) STEP(1) STEP(2) STEP(3) STEP(4) STEP(5) STEP(6) STEP(7)
    a += aks;
    if (!boff) b += ldb;
  }
  __m512 al = _mm512_set1_ps(alpha);
  long lo = cols < 16 ? cols : 16, hi = cols - lo;
  __mmask16 m0 = (__mmask16)((1u << lo) - 1), m1 = (__mmask16)((1u << hi) - 1);
  for (long i = 0; i < rows; i++) {
    float *row = c + i * ldc;
    if (cols == NR) {
      _mm512_storeu_ps(row, _mm512_fmadd_ps(al, acc[i][0], _mm512_loadu_ps(row)));
      _mm512_storeu_ps(row + 16, _mm512_fmadd_ps(al, acc[i][1], _mm512_loadu_ps(row + 16)));
    } else {
      _mm512_mask_storeu_ps(row, m0, _mm512_fmadd_ps(al, acc[i][0], _mm512_maskz_loadu_ps(m0, row)));
      if (hi > 0)
        _mm512_mask_storeu_ps(row + 16, m1, _mm512_fmadd_ps(al, acc[i][1], _mm512_maskz_loadu_ps(m1, row + 16)));
    }
  }
}

#pragma clang attribute push(__attribute__((target("avx512f,avx512vl,avx2,fma"))), apply_to = function)
#include "gemm_impl.h"
#include "conv_impl.h"
#pragma clang attribute pop

TARGET void pops_gemv_rows_avx512(long n, long k, float alpha, const float *x, const float *b, long ldb,
                                  float *y) {
  long k16 = k & ~15L, j = 0;
  __mmask16 tail = (__mmask16)((1u << (k - k16)) - 1);
  // Eight rows at a time: eight independent FMA chains keep both FMA units busy.
  for (; j + 8 <= n; j += 8) {
    const float *r = b + j * ldb;
    __m512 s[8];
    for (int q = 0; q < 8; q++) s[q] = _mm512_setzero_ps();
    for (long p = 0; p < k16; p += 16) {
      __m512 xv = _mm512_loadu_ps(x + p);
      for (int q = 0; q < 8; q++) s[q] = _mm512_fmadd_ps(xv, _mm512_loadu_ps(r + q * ldb + p), s[q]);
    }
    if (tail) {
      __m512 xv = _mm512_maskz_loadu_ps(tail, x + k16);
      for (int q = 0; q < 8; q++) s[q] = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(tail, r + q * ldb + k16), s[q]);
    }
    for (int q = 0; q < 8; q++) y[j + q] += alpha * _mm512_reduce_add_ps(s[q]);
  }
  for (; j + 4 <= n; j += 4) {
    const float *r0 = b + j * ldb, *r1 = r0 + ldb, *r2 = r1 + ldb, *r3 = r2 + ldb;
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (long p = 0; p < k16; p += 16) {
      __m512 xv = _mm512_loadu_ps(x + p);
      s0 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(r0 + p), s0);
      s1 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(r1 + p), s1);
      s2 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(r2 + p), s2);
      s3 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(r3 + p), s3);
    }
    if (tail) {
      __m512 xv = _mm512_maskz_loadu_ps(tail, x + k16);
      s0 = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(tail, r0 + k16), s0);
      s1 = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(tail, r1 + k16), s1);
      s2 = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(tail, r2 + k16), s2);
      s3 = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(tail, r3 + k16), s3);
    }
    y[j] += alpha * _mm512_reduce_add_ps(s0);
    y[j + 1] += alpha * _mm512_reduce_add_ps(s1);
    y[j + 2] += alpha * _mm512_reduce_add_ps(s2);
    y[j + 3] += alpha * _mm512_reduce_add_ps(s3);
  }
  for (; j < n; j++) {
    const float *r = b + j * ldb;
    __m512 s = _mm512_setzero_ps();
    for (long p = 0; p < k16; p += 16) s = _mm512_fmadd_ps(_mm512_loadu_ps(x + p), _mm512_loadu_ps(r + p), s);
    if (tail) s = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, x + k16), _mm512_maskz_loadu_ps(tail, r + k16), s);
    y[j] += alpha * _mm512_reduce_add_ps(s);
  }
}

TARGET void pops_gemv_columns_avx512(long n, long k, float alpha, const float *x, const float *b, long ldb,
                                     float *y) {
  long j = 0;
  __m512 al = _mm512_set1_ps(alpha);
  for (; j + 64 <= n; j += 64) {
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (long p = 0; p < k; p++) {
      __m512 xv = _mm512_set1_ps(x[p]);
      const float *row = b + p * ldb + j;
      s0 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(row), s0);
      s1 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(row + 16), s1);
      s2 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(row + 32), s2);
      s3 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(row + 48), s3);
    }
    _mm512_storeu_ps(y + j, _mm512_fmadd_ps(al, s0, _mm512_loadu_ps(y + j)));
    _mm512_storeu_ps(y + j + 16, _mm512_fmadd_ps(al, s1, _mm512_loadu_ps(y + j + 16)));
    _mm512_storeu_ps(y + j + 32, _mm512_fmadd_ps(al, s2, _mm512_loadu_ps(y + j + 32)));
    _mm512_storeu_ps(y + j + 48, _mm512_fmadd_ps(al, s3, _mm512_loadu_ps(y + j + 48)));
  }
  for (; j < n; j += 16) {
    long w = n - j < 16 ? n - j : 16;
    __mmask16 m = (__mmask16)((1u << w) - 1);
    __m512 s = _mm512_setzero_ps();
    for (long p = 0; p < k; p++)
      s = _mm512_fmadd_ps(_mm512_set1_ps(x[p]), _mm512_maskz_loadu_ps(m, b + p * ldb + j), s);
    _mm512_mask_storeu_ps(y + j, m, _mm512_fmadd_ps(al, s, _mm512_maskz_loadu_ps(m, y + j)));
  }
}
// Sixteen independent FMA chains: enough to cover the FMA latency on every
// current x86 core, so the loop runs at the FMA units' throughput.
TARGET double pops_fma_peak_avx512(long iterations) {
  __m512 acc[16];
  for (int i = 0; i < 16; i++) acc[i] = _mm512_set1_ps(0.001f * (float)i);
  __m512 m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(1e-7f);
  for (long it = 0; it < iterations; it++)
    for (int i = 0; i < 16; i++) acc[i] = _mm512_fmadd_ps(acc[i], m, a);
  float sink = 0;
  for (int i = 0; i < 16; i++) sink += _mm512_reduce_add_ps(acc[i]);
  return sink == 12345.0f ? 0 : 2.0 * 16 * 16 * (double)iterations;
}

#define VEC __m512
#define VW 16
#define VLOAD _mm512_loadu_ps
#define VSTORE _mm512_storeu_ps
#define VSET1 _mm512_set1_ps
#define VADD _mm512_add_ps
#define VSUB _mm512_sub_ps
#define VMUL _mm512_mul_ps
#define VDIV _mm512_div_ps
#define VSQRT _mm512_sqrt_ps
#include "optim_impl.h"
#endif
