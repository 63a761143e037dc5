// The AVX2 + FMA path: a 6x16 register tile (12 ymm accumulators).
// Optimiser updates round each operation separately (no FMA contraction), as
// torch.optim and pops' earlier Swift code do, on every path.
#pragma clang fp contract(off)
#include "kernels_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define TARGET __attribute__((target("avx2,fma")))
#define MR 6
#define NR 16
#define POPS_PATH avx2

TARGET static inline void kernel(long kb, const float *a, long ars, const long *aoff, long aks, const float *b, long ldb, const long *boff, float *c,
                                 long ldc, float alpha, long rows,
                                 long cols) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  long ao[MR];
  for (int i = 0; i < MR; i++) ao[i] = aoff ? aoff[i] : 0;
  for (long p = 0; p < kb; p++) {
    const float *bp = boff ? b + boff[p] : b;
    __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8);
    __m256 av = _mm256_broadcast_ss(a + (aoff ? ao[0] : 0));
    c00 = _mm256_fmadd_ps(av, b0, c00); c01 = _mm256_fmadd_ps(av, b1, c01);
    av = _mm256_broadcast_ss(a + (aoff ? ao[1] : 1 * ars));
    c10 = _mm256_fmadd_ps(av, b0, c10); c11 = _mm256_fmadd_ps(av, b1, c11);
    av = _mm256_broadcast_ss(a + (aoff ? ao[2] : 2 * ars));
    c20 = _mm256_fmadd_ps(av, b0, c20); c21 = _mm256_fmadd_ps(av, b1, c21);
    av = _mm256_broadcast_ss(a + (aoff ? ao[3] : 3 * ars));
    c30 = _mm256_fmadd_ps(av, b0, c30); c31 = _mm256_fmadd_ps(av, b1, c31);
    av = _mm256_broadcast_ss(a + (aoff ? ao[4] : 4 * ars));
    c40 = _mm256_fmadd_ps(av, b0, c40); c41 = _mm256_fmadd_ps(av, b1, c41);
    av = _mm256_broadcast_ss(a + (aoff ? ao[5] : 5 * ars));
    c50 = _mm256_fmadd_ps(av, b0, c50); c51 = _mm256_fmadd_ps(av, b1, c51);
    a += aks;
    if (!boff) b += ldb;
  }
  __m256 al = _mm256_set1_ps(alpha);
  __m256 acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  if (cols == NR) {
    for (long i = 0; i < rows; i++) {
      float *row = c + i * ldc;
      _mm256_storeu_ps(row, _mm256_fmadd_ps(al, acc[i][0], _mm256_loadu_ps(row)));
      _mm256_storeu_ps(row + 8, _mm256_fmadd_ps(al, acc[i][1], _mm256_loadu_ps(row + 8)));
    }
    return;
  }
  float tile[MR][NR];
  for (int i = 0; i < MR; i++) {
    _mm256_storeu_ps(tile[i], acc[i][0]);
    _mm256_storeu_ps(tile[i] + 8, acc[i][1]);
  }
  for (long i = 0; i < rows; i++)
    for (long j = 0; j < cols; j++) c[i * ldc + j] += alpha * tile[i][j];
}

#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#include "gemm_impl.h"
#include "conv_impl.h"
#pragma clang attribute pop

TARGET static inline float sum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

TARGET void pops_gemv_rows_avx2(long n, long k, float alpha, const float *x, const float *b, long ldb, float *y) {
  long k8 = k & ~7L, j = 0;
  for (; j + 4 <= n; j += 4) {
    const float *r0 = b + j * ldb, *r1 = r0 + ldb, *r2 = r1 + ldb, *r3 = r2 + ldb;
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (long p = 0; p < k8; p += 8) {
      __m256 xv = _mm256_loadu_ps(x + p);
      s0 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(r0 + p), s0);
      s1 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(r1 + p), s1);
      s2 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(r2 + p), s2);
      s3 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(r3 + p), s3);
    }
    float t0 = sum8(s0), t1 = sum8(s1), t2 = sum8(s2), t3 = sum8(s3);
    for (long p = k8; p < k; p++) {
      t0 += x[p] * r0[p]; t1 += x[p] * r1[p]; t2 += x[p] * r2[p]; t3 += x[p] * r3[p];
    }
    y[j] += alpha * t0; y[j + 1] += alpha * t1; y[j + 2] += alpha * t2; y[j + 3] += alpha * t3;
  }
  for (; j < n; j++) {
    const float *r = b + j * ldb;
    __m256 s = _mm256_setzero_ps();
    for (long p = 0; p < k8; p += 8) s = _mm256_fmadd_ps(_mm256_loadu_ps(x + p), _mm256_loadu_ps(r + p), s);
    float t = sum8(s);
    for (long p = k8; p < k; p++) t += x[p] * r[p];
    y[j] += alpha * t;
  }
}

TARGET void pops_gemv_columns_avx2(long n, long k, float alpha, const float *x, const float *b, long ldb,
                                   float *y) {
  long j = 0;
  __m256 al = _mm256_set1_ps(alpha);
  for (; j + 32 <= n; j += 32) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (long p = 0; p < k; p++) {
      __m256 xv = _mm256_broadcast_ss(x + p);
      const float *row = b + p * ldb + j;
      s0 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(row), s0);
      s1 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(row + 8), s1);
      s2 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(row + 16), s2);
      s3 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(row + 24), s3);
    }
    _mm256_storeu_ps(y + j, _mm256_fmadd_ps(al, s0, _mm256_loadu_ps(y + j)));
    _mm256_storeu_ps(y + j + 8, _mm256_fmadd_ps(al, s1, _mm256_loadu_ps(y + j + 8)));
    _mm256_storeu_ps(y + j + 16, _mm256_fmadd_ps(al, s2, _mm256_loadu_ps(y + j + 16)));
    _mm256_storeu_ps(y + j + 24, _mm256_fmadd_ps(al, s3, _mm256_loadu_ps(y + j + 24)));
  }
  for (; j + 8 <= n; j += 8) {
    __m256 s = _mm256_setzero_ps();
    for (long p = 0; p < k; p++) s = _mm256_fmadd_ps(_mm256_broadcast_ss(x + p), _mm256_loadu_ps(b + p * ldb + j), s);
    _mm256_storeu_ps(y + j, _mm256_fmadd_ps(al, s, _mm256_loadu_ps(y + j)));
  }
  for (; j < n; j++) {
    float t = 0;
    for (long p = 0; p < k; p++) t += x[p] * b[p * ldb + j];
    y[j] += alpha * t;
  }
}
// Twelve independent FMA chains (16 registers: twelve plus the two operands)
// cover the FMA latency on current x86 cores without spilling.
TARGET double pops_fma_peak_avx2(long iterations) {
  __m256 acc[12];
  for (int i = 0; i < 12; i++) acc[i] = _mm256_set1_ps(0.001f * (float)i);
  __m256 m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(1e-7f);
  for (long it = 0; it < iterations; it++)
    for (int i = 0; i < 12; i++) acc[i] = _mm256_fmadd_ps(acc[i], m, a);
  float sink = 0;
  for (int i = 0; i < 12; i++) sink += sum8(acc[i]);
  return sink == 12345.0f ? 0 : 2.0 * 8 * 12 * (double)iterations;
}

#define VEC __m256
#define VW 8
#define VLOAD _mm256_loadu_ps
#define VSTORE _mm256_storeu_ps
#define VSET1 _mm256_set1_ps
#define VADD _mm256_add_ps
#define VSUB _mm256_sub_ps
#define VMUL _mm256_mul_ps
#define VDIV _mm256_div_ps
#define VSQRT _mm256_sqrt_ps
#include "optim_impl.h"
#endif
