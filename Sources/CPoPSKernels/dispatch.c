// Which kernel paths this CPU runs, and the dispatch to them.
#include "pops_kernels.h"
#include "kernels_internal.h"

#if defined(__x86_64__)
#include <cpuid.h>

// XCR0: which register states the operating system saves on a context switch.
static unsigned long long xcr0(void) {
  unsigned int eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return ((unsigned long long)edx << 32) | eax;
}

static int x86_supports(int isa) {
  unsigned int a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
  if (!(fma && osxsave && avx)) return 0;
  unsigned long long x = xcr0();
  if ((x & 0x6) != 0x6) return 0;  // XMM and YMM state
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
  int avx2 = (b >> 5) & 1;
  if (isa == POPS_ISA_AVX2) return avx2;
  int avx512f = (b >> 16) & 1, avx512vl = (b >> 31) & 1;
  // Opmask, upper halves of ZMM0-15 and ZMM16-31.
  return avx2 && avx512f && avx512vl && (x & 0xE0) == 0xE0;
}
#endif

static int detect(int isa) {
  switch (isa) {
  case POPS_ISA_GENERIC: return 1;
#if defined(__x86_64__)
  case POPS_ISA_AVX2:
  case POPS_ISA_AVX512: return x86_supports(isa);
#endif
  default: return 0;
  }
}

// CPUID traps to the hypervisor in a VM (microseconds): detect once per path.
// Racing first calls store the same value.
static int cached[3] = {-1, -1, -1};

int pops_isa_supported(int isa) {
  if (isa < 0 || isa > 2) return 0;
  int known = __atomic_load_n(&cached[isa], __ATOMIC_RELAXED);
  if (known < 0) {
    known = detect(isa);
    __atomic_store_n(&cached[isa], known, __ATOMIC_RELAXED);
  }
  return known;
}

// One path's entry points, indexed by POPS_ISA_*.
struct path {
  int mr, nr;
  void (*gemm_panels)(long, const float *, const float *, long, float *, long, float, long);
  void (*gemv_rows)(long, long, float, const float *, const float *, long, float *);
  void (*gemv_columns)(long, long, float, const float *, const float *, long, float *);
  void (*pack_a)(int, const float *, long, long, long, long, long, float *);
  void (*pack_b)(int, const float *, long, long, long, long, long, float *);
  void (*adam)(long, float *, const float *, float *, float *, float, float, float, float, float);
  void (*rmsprop)(long, float *, const float *, float *, float, float, float);
  double (*fma_peak)(long);
  void (*conv_planes)(const float *, const pops_conv_geometry *, long, long, float *);
  void (*conv_implicit)(const float *, long, long, const float *, const long *, long, float *, long, long);
  void (*conv_weight_gradient)(const float *, const long *, long, long, const float *, long, float *);
  void (*conv_scatter)(const float *, const long *, long, long, float *);
  void (*conv_unplanes)(const float *, const pops_conv_geometry *, float *);
  void (*conv_multiply)(const float *, long, long, const float *, long, long, float *, long, long);
};

#define POPS_PATH_ENTRY(name, mr, nr)                                                                            \
  {mr, nr, pops_gemm_panels_##name, pops_gemv_rows_##name, pops_gemv_columns_##name, pops_gemm_pack_a_##name,  \
   pops_gemm_pack_b_##name, pops_adam_##name, pops_rmsprop_##name, pops_fma_peak_##name,      \
   pops_conv_planes_##name, pops_conv_implicit_##name,  \
   pops_conv_weight_gradient_##name, pops_conv_scatter_##name, pops_conv_unplanes_##name, pops_conv_multiply_##name}

static const struct path paths[3] = {
  [POPS_ISA_GENERIC] = POPS_PATH_ENTRY(generic, 6, 16),
#if defined(__x86_64__)
  [POPS_ISA_AVX2] = POPS_PATH_ENTRY(avx2, 6, 16),
  [POPS_ISA_AVX512] = POPS_PATH_ENTRY(avx512, 8, 32),
#endif
};

// A path the CPU cannot run is never executed: every entry point falls back
// to the portable code (and its tile), so a wrong argument is slow, not SIGILL.
static const struct path *usable(int isa) { return &paths[pops_isa_supported(isa) ? isa : POPS_ISA_GENERIC]; }

int pops_gemm_mr(int isa) { return usable(isa)->mr; }
int pops_gemm_nr(int isa) { return usable(isa)->nr; }

void pops_gemm_panels(
  int isa, long kb, const float *a, const float *b, long n, float *c, long ldc, float alpha, long rows) {
  usable(isa)->gemm_panels(kb, a, b, n, c, ldc, alpha, rows);
}

void pops_gemv_rows(int isa, long n, long k, float alpha, const float *x, const float *b, long ldb, float *y) {
  usable(isa)->gemv_rows(n, k, alpha, x, b, ldb, y);
}

void pops_gemv_columns(int isa, long n, long k, float alpha, const float *x, const float *b, long ldb, float *y) {
  usable(isa)->gemv_columns(n, k, alpha, x, b, ldb, y);
}

double pops_fma_peak(int isa, long iterations) { return usable(isa)->fma_peak(iterations); }

void pops_gemm_pack_a(int isa, int transposed, const float *a, long lda, long i0, long rows, long p0, long kb,
                      float *dst) {
  usable(isa)->pack_a(transposed, a, lda, i0, rows, p0, kb, dst);
}

void pops_gemm_pack_b(int isa, int transposed, const float *b, long ldb, long p0, long kb, long j0, long n,
                      float *dst) {
  usable(isa)->pack_b(transposed, b, ldb, p0, kb, j0, n, dst);
}

void pops_adam(int isa, long n, float *p, const float *g, float *m, float *v, float step, float b1, float b2,
               float eps, float root_c2) {
  usable(isa)->adam(n, p, g, m, v, step, b1, b2, eps, root_c2);
}

void pops_rmsprop(int isa, long n, float *p, const float *g, float *v, float lr, float rho, float eps) {
  usable(isa)->rmsprop(n, p, g, v, lr, rho, eps);
}

void pops_conv_pack_weights(int isa, const float *w, long oc, long k, float *dst) {
  const struct path *p = usable(isa);
  for (long i0 = 0; i0 < oc; i0 += p->mr) p->pack_a(0, w, k, i0, oc - i0 < p->mr ? oc - i0 : p->mr, 0, k, dst + i0 * k);
}

void pops_conv_planes(int isa, const float *x, const pops_conv_geometry *g, long ch0, long ch1, float *planes) {
  usable(isa)->conv_planes(x, g, ch0, ch1, planes);
}

void pops_conv_implicit(int isa, const float *wpack, long oc, long k, const float *planes, const long *off, long n,
                        float *y, long panel0, long panel1) {
  usable(isa)->conv_implicit(wpack, oc, k, planes, off, n, y, panel0, panel1);
}

void pops_conv_weight_gradient(int isa, const float *planes, const long *off, long k, long n, const float *dpack,
                               long oc, float *dwt) {
  usable(isa)->conv_weight_gradient(planes, off, k, n, dpack, oc, dwt);
}

void pops_conv_scatter(int isa, const float *dcol, const long *off, long k, long n, float *dplanes) {
  usable(isa)->conv_scatter(dcol, off, k, n, dplanes);
}

void pops_conv_unplanes(int isa, const float *dplanes, const pops_conv_geometry *g, float *dx) {
  usable(isa)->conv_unplanes(dplanes, g, dx);
}

void pops_conv_multiply(int isa, const float *wpack, long oc, long k, const float *col, long ldcol, long n, float *y,
                        long panel0, long panel1) {
  usable(isa)->conv_multiply(wpack, oc, k, col, ldcol, n, y, panel0, panel1);
}
