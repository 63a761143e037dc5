// The per-path entry points behind pops_kernels.h's dispatch.
#ifndef POPS_KERNELS_INTERNAL_H
#define POPS_KERNELS_INTERNAL_H

#include "pops_kernels.h"

#define POPS_DECLARE_PATH(name)                                                                          \
  void pops_gemm_panels_##name(long kb, const float *a, const float *b, long n, float *c, long ldc,      \
                               float alpha, long rows);                                                  \
  void pops_gemv_rows_##name(long n, long k, float alpha, const float *x, const float *b, long ldb,      \
                             float *y);                                                                  \
  void pops_gemv_columns_##name(long n, long k, float alpha, const float *x, const float *b, long ldb,   \
                                float *y);                                                               \
  double pops_fma_peak_##name(long iterations);                                                          \
  void pops_gemm_pack_a_##name(int transposed, const float *a, long lda, long i0, long rows, long p0, long kb, \
                               float *dst);                                                               \
  void pops_adam_##name(long n, float *p, const float *g, float *m, float *v, float step, float b1, float b2,   \
                        float eps, float root_c2);                                                        \
  void pops_rmsprop_##name(long n, float *p, const float *g, float *v, float lr, float rho, float eps);                                                               \
  void pops_gemm_pack_b_##name(int transposed, const float *b, long ldb, long p0, long kb, long j0, long n,   \
                               float *dst);                                                               \
  void pops_conv_planes_##name(const float *x, const pops_conv_geometry *g, long ch0, long ch1, float *planes); \
  void pops_conv_implicit_##name(const float *wpack, long oc, long k, const float *planes, const long *off,     \
                                 long n, float *y, long panel0, long panel1);                                   \
  void pops_conv_weight_gradient_##name(const float *planes, const long *off, long k, long n,                 \
                                        const float *dpack, long oc, float *dwt);                                \
  void pops_conv_scatter_##name(const float *dcol, const long *off, long k, long n, float *dplanes);            \
  void pops_conv_unplanes_##name(const float *dplanes, const pops_conv_geometry *g, float *dx);                  \
  void pops_conv_multiply_##name(const float *wpack, long oc, long k, const float *col, long ldcol, long n,    \
                                 float *y, long panel0, long panel1);

POPS_DECLARE_PATH(generic)
#if defined(__x86_64__)
POPS_DECLARE_PATH(avx2)
POPS_DECLARE_PATH(avx512)
#endif

#endif
