// The portable path: plain C that the compiler vectorises for the baseline
// of the target (SSE2 on x86-64, NEON on arm64). Micro-tile 6x16.
// Optimiser updates round each operation separately (no FMA contraction), as
// torch.optim and pops' earlier Swift code do, on every path.
#pragma clang fp contract(off)
#include "kernels_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define MR 6
#define NR 16
#define POPS_PATH generic

static inline void kernel(long kb, const float *a, long ars, const long *aoff, long aks, const float *b, long ldb, const long *boff, float *c,
                                 long ldc, float alpha, long rows, long cols) {
  float acc[MR][NR] = {{0}};
  for (long p = 0; p < kb; p++) {
    const float *bp = boff ? b + boff[p] : b;
    for (int i = 0; i < MR; i++) {
      float av = a[aoff ? aoff[i] : i * ars];
      for (int j = 0; j < NR; j++) acc[i][j] += av * bp[j];
    }
    a += aks;
    if (!boff) b += ldb;
  }
  for (long i = 0; i < rows; i++)
    for (long j = 0; j < cols; j++) c[i * ldc + j] += alpha * acc[i][j];
}

#include "gemm_impl.h"
#include "conv_impl.h"

void pops_gemv_rows_generic(long n, long k, float alpha, const float *x, const float *b, long ldb, float *y) {
  for (long j = 0; j < n; j++) {
    const float *r = b + j * ldb;
    float s[8] = {0};
    long p = 0;
    for (; p + 8 <= k; p += 8)
      for (int q = 0; q < 8; q++) s[q] += x[p + q] * r[p + q];
    float t = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    for (; p < k; p++) t += x[p] * r[p];
    y[j] += alpha * t;
  }
}

void pops_gemv_columns_generic(long n, long k, float alpha, const float *x, const float *b, long ldb, float *y) {
  long j = 0;
  for (; j + 16 <= n; j += 16) {
    float s[16] = {0};
    for (long p = 0; p < k; p++) {
      float xv = x[p];
      const float *row = b + p * ldb + j;
      for (int q = 0; q < 16; q++) s[q] += xv * row[q];
    }
    for (int q = 0; q < 16; q++) y[j + q] += alpha * s[q];
  }
  for (; j < n; j++) {
    float t = 0;
    for (long p = 0; p < k; p++) t += x[p] * b[p * ldb + j];
    y[j] += alpha * t;
  }
}

// Independent multiply-adds the compiler can vectorise for the baseline.
double pops_fma_peak_generic(long iterations) {
  float acc[12][4];
  for (int i = 0; i < 12; i++)
    for (int j = 0; j < 4; j++) acc[i][j] = 0.001f * (float)(i + j);
  for (long it = 0; it < iterations; it++)
    for (int i = 0; i < 12; i++)
      for (int j = 0; j < 4; j++) acc[i][j] = acc[i][j] * 0.999999f + 1e-7f;
  float sink = 0;
  for (int i = 0; i < 12; i++)
    for (int j = 0; j < 4; j++) sink += acc[i][j];
  return sink == 12345.0f ? 0 : 2.0 * 4 * 12 * (double)iterations;
}

#define TARGET
#if defined(__x86_64__)
// SSE is part of every x86-64 CPU: four lanes without any target attribute.
#define VEC __m128
#define VW 4
#define VLOAD _mm_loadu_ps
#define VSTORE _mm_storeu_ps
#define VSET1 _mm_set1_ps
#define VADD _mm_add_ps
#define VSUB _mm_sub_ps
#define VMUL _mm_mul_ps
#define VDIV _mm_div_ps
#define VSQRT _mm_sqrt_ps
#include "optim_impl.h"
#else
#include "optim_impl.h"
#endif
